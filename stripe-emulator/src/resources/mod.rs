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
    let catalog = products::routes()
        .merge(prices::routes())
        .merge(meters::routes());
    let billing = customers::routes()
        .merge(payment_methods::routes())
        .merge(subscriptions::routes())
        .merge(invoices::routes());
    let hosted = checkout_sessions::routes()
        .merge(portal_configurations::routes())
        .merge(portal_sessions::routes());
    let events = events::routes().merge(webhook_endpoints::routes());
    catalog.merge(billing).merge(hosted).merge(events)
}
