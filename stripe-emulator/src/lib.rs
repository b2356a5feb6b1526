//! A local, stateful emulator of the Stripe API (the parts /dev/chat uses), its
//! hosted Checkout and Customer Portal pages, signed webhooks and the Stripe CLI's
//! `listen` protocol. See the README's "Stripe emulator" section.
//!
//! Imports run one way, top to bottom:
//! - [`server`]: the router, the `/v1` middleware (auth, faults, idempotency, the
//!   request log), the `/_emulator` controls, dispatch and persistence after requests;
//! - the surfaces it merges: [`resources`] (`/v1`), [`pages`] (hosted pages),
//!   [`cli`] (`stripe listen`);
//! - [`billing`] (what happens when money moves) and [`webhooks`] (event delivery);
//! - the bottom: [`app`] (the state handle), [`state`] and what it keeps for 24
//!   hours ([`retention`]), the check of every request against Stripe's OpenAPI
//!   spec ([`spec`]), and the wire format: [`respond`], [`list`], [`form`], [`error`].

pub mod app;
pub mod billing;
pub mod cli;
pub mod control_client;
pub mod error;
pub mod form;
pub mod list;
pub mod pages;
pub mod resources;
pub mod respond;
pub mod retention;
pub mod server;
pub mod spec;
pub mod state;
pub mod webhooks;

pub use app::{App, Config};
pub use server::{serve, serve_app};
pub use state::API_VERSION;
