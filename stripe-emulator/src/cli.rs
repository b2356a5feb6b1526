//! The Stripe CLI's `listen` protocol: `POST /v1/stripecli/sessions` and the websocket.

use axum::Router;

use crate::App;

pub fn routes() -> Router<App> {
    Router::new()
}
