//! `POST /webhook`: Stripe's events. Verified against `STRIPE_WEBHOOK_SECRET` over the
//! exact raw body (lambda_http has already base64-decoded it when API Gateway sent it
//! encoded), then applied by [`crate::sync`] (subscriptions) and [`crate::billing`]
//! (invoices). 400 for anything not authentic (nothing
//! written); 2xx only once the new state is durably written (or there was nothing to
//! write); a storage or Stripe failure answers 5xx so Stripe delivers again.

use ::http::{Method, StatusCode};
use serde_json::json;

use super::App;
use crate::{
    Error, Result, billing,
    http::{self, Request, Response},
    store::Store,
    stripe::webhook,
    sync,
};

pub async fn handle(app: &App, req: Request) -> Result<Response> {
    http::require_method(&req, Method::POST)?;
    let payload = std::str::from_utf8(http::raw_body(&req)?)
        .map_err(|_| Error::BadRequest("the body is not UTF-8 text".into()))?;
    let delivery = webhook::delivery(
        payload,
        http::header(&req, "stripe-signature"),
        app.config.webhook_secret()?,
    )?;
    // The customer's record, read once for the subscription and the invoice. The two
    // are written at once: the invoice's write touches only `invoices`, which the
    // subscription's leaves alone, and each is conditional on being newer, so a
    // failure of either (5xx, Stripe delivers again) leaves nothing to undo.
    let user = match delivery.customer() {
        Some(customer) => app.store.get_user(customer).await?,
        None => None,
    };
    let (outcome, invoice) = tokio::try_join!(
        sync::apply(&app.stripe, &app.store, &delivery, user.as_ref()),
        billing::record_invoice(&app.store, &delivery, user.as_ref()),
    )?;
    tracing::info!(
        event_id = %delivery.event_id,
        event_type = %delivery.event_type,
        ?outcome,
        ?invoice,
        "webhook delivery handled"
    );
    let mut body = json!({ "received": true, "outcome": outcome });
    if let Some(invoice) = invoice {
        body["invoice"] = json!(invoice);
    }
    http::respond(StatusCode::OK, &body)
}
