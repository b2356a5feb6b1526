//! The API resources under `/v1`, one module each, on the handler skeletons of [`rest`].

use axum::Router;

use crate::app::App;

pub mod checkout_sessions;
pub mod customers;
pub mod events;
pub mod invoices;
pub mod meters;
pub mod payment_methods;
pub mod portal_configurations;
pub mod portal_sessions;
pub mod prices;
pub mod products;
pub mod rest;
pub mod subscriptions;
pub mod webhook_endpoints;

pub fn routes() -> Router<App> {
    Router::new()
        .merge(products::routes())
        .merge(prices::routes())
        .merge(meters::routes())
        .merge(customers::routes())
        .merge(events::routes())
        .merge(portal_configurations::routes())
        .merge(checkout_sessions::routes())
        .merge(subscriptions::routes())
        .merge(invoices::routes())
        .merge(payment_methods::routes())
        .merge(portal_sessions::routes())
        .merge(webhook_endpoints::routes())
}
