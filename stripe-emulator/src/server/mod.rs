//! The top of the house: the router that merges every surface (API resources, hosted
//! pages, the CLI protocol, the controls), the `/v1` middleware, and what runs after
//! every change: event dispatch and persistence, also for the clock's own ticks.

use std::net::SocketAddr;

use axum::{Router, http::StatusCode};

use crate::{
    app::{self, App, Config},
    billing,
    error::ApiError,
    state::Db,
    webhooks,
};

mod auth;
mod controls;
mod faults;
mod middleware;

/// The whole server: API resources, hosted pages, the CLI protocol and the controls.
pub fn router(app: App) -> Router {
    Router::new()
        .merge(crate::resources::routes())
        .merge(controls::routes())
        .merge(crate::pages::routes())
        .merge(crate::cli::routes())
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "invalid_request_error",
                "Unrecognized request URL. Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::middleware,
        ))
        .with_state(app)
}

/// Sends the events emitted since the last flush to webhook endpoints and `stripe
/// listen` sessions, then saves the state when `--data` is set. Runs after every
/// request and every clock tick that changed something.
pub async fn flush(app: &App) {
    for event in app.take_outbox() {
        webhooks::dispatch(app, event);
    }
    app.persist().await;
}

/// Checks the clock every second so trials and periods end on their own too
/// (dispatching and saving only when something came due).
pub fn spawn_clock(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let changed = app.write(|db| {
                let before = db.outbox.len();
                billing::run_due(db);
                Ok(db.outbox.len() > before)
            });
            if changed.unwrap_or(false) {
                flush(&app).await;
            }
        }
    });
}

/// Binds and serves until the process ends. Returns the bound address through `ready`.
pub async fn serve(
    addr: SocketAddr,
    config: Config,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let db = match &config.data {
        Some(path) => app::load(path)?,
        None => Db::default(),
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    ready(listener.local_addr()?);
    serve_app(listener, App::new(config, db)).await
}

/// Serves `app` on `listener` until the process ends, for a host that keeps the app's
/// handle (the app's test kit reads the request log through it).
pub async fn serve_app(listener: tokio::net::TcpListener, app: App) -> std::io::Result<()> {
    spawn_clock(app.clone());
    axum::serve(listener, router(app)).await
}
