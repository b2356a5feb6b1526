//! A local, stateful emulator of the Stripe API (the parts /dev/chat uses), its
//! hosted Checkout and Customer Portal pages, signed webhooks and the Stripe CLI's
//! `listen` protocol. See the README's "Stripe emulator" section.

pub mod app;
pub mod billing;
pub mod cli;
pub mod controls;
pub mod error;
pub mod form;
pub mod list;
pub mod pages;
pub mod resources;
pub mod retention;
pub mod spec;
pub mod state;
pub mod webhooks;

/// The API version whose shapes the emulator answers with: the one async-stripe 1.0 pins.
pub const API_VERSION: &str = "2026-09-30.endive";

use std::net::SocketAddr;

pub use app::{App, Config};

/// Binds and serves until the process ends. Returns the bound address through `ready`.
pub async fn serve(
    addr: SocketAddr,
    config: Config,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let db = match &config.data {
        Some(path) => app::load(path)?,
        None => state::Db::default(),
    };
    let app = App::new(config, db);
    billing::spawn_clock(app.clone());
    let listener = tokio::net::TcpListener::bind(addr).await?;
    ready(listener.local_addr()?);
    axum::serve(listener, app::router(app)).await
}
