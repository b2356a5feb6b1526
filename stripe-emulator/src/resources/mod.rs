//! The API resources under `/v1`, one module each, and the handler they share.

use axum::{
    Router,
    extract::{Path, State},
    routing::{MethodRouter, get},
};

use crate::{
    App,
    app::{StripeRequest, respond},
};

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
pub mod subscriptions;

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
}

/// `GET …/{id}` of a stored object of type `kind`: no parameters but `expand[]`;
/// a missing one is Stripe's 404 (`No such {what}: '{id}'`, naming `param`).
pub(crate) fn retrieve(
    kind: &'static str,
    what: &'static str,
    param: &'static str,
) -> MethodRouter<App> {
    get(
        move |State(app): State<App>, Path(id): Path<String>, req: StripeRequest| async move {
            req.params.finish()?;
            let obj = app.read(|db| db.fetch(kind, &id, what, param))?;
            respond(&app, obj, &req.expand)
        },
    )
}
