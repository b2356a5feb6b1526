//! The API resources under `/v1`, one module each.

use axum::Router;

use crate::App;

pub mod products;

pub fn routes() -> Router<App> {
    Router::new().merge(products::routes())
}
