//! Hosted pages: Checkout (`/c/pay/{session}`) and the Customer Portal (`/p/session/{id}`).

use axum::Router;

use crate::App;

pub fn routes() -> Router<App> {
    Router::new()
}
