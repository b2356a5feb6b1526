//! `/v1/payment_methods`: retrieve, list (`customer`, `type`), attach, detach; and
//! `/v1/customers/{id}/payment_methods`. Cards are created by the hosted pages.

use axum::{
    Json, Router,
    extract::{Path, State},
    routing::{get, post},
};
use serde_json::Value;

use crate::{
    app::App,
    error::{ApiError, ApiResult},
    list,
    resources::customers,
    respond::{StripeRequest, respond},
    state::previous_attributes,
};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/payment_methods", get(list_payment_methods))
        .route(
            "/v1/payment_methods/{id}",
            super::rest::retrieve("payment_method", "PaymentMethod", "payment_method"),
        )
        .route("/v1/payment_methods/{id}/attach", post(attach))
        .route("/v1/payment_methods/{id}/detach", post(detach))
        .route("/v1/customers/{id}/payment_methods", get(list_for_customer))
}

fn listed(app: &App, customer: &str, kind: Option<&str>) -> ApiResult<Vec<Value>> {
    app.read(|db| {
        db.fetch_param("customer", customer, "customer", "customer")?;
        Ok(db
            .all("payment_method")
            .into_iter()
            .filter(|o| o["customer"] == customer)
            .filter(|o| kind.is_none_or(|k| o["type"] == k))
            .collect())
    })
}

async fn list_payment_methods(
    State(app): State<App>,
    req: StripeRequest,
) -> ApiResult<Json<Value>> {
    let mut p = req.params;
    let customer = p.str("customer")?;
    let kind = p.str("type")?;
    let items = match &customer {
        Some(c) => listed(&app, c, kind.as_deref())?,
        // Without a customer Stripe lists the account's unattached ones: none here.
        None => Vec::new(),
    };
    list::answer(&app, p, &req.expand, items, "/v1/payment_methods")
}

async fn list_for_customer(
    State(app): State<App>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> ApiResult<Json<Value>> {
    let mut p = req.params;
    let kind = p.str("type")?;
    p.str("allow_redisplay")?;
    let items = listed(&app, &id, kind.as_deref())?;
    let url = format!("/v1/customers/{id}/payment_methods");
    list::answer(&app, p, &req.expand, items, &url)
}

async fn attach(
    State(app): State<App>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> ApiResult<Json<Value>> {
    let mut p = req.params;
    let customer = p.req_str("customer")?;
    p.finish()?;
    let pm = app.write(|db| {
        // The path's payment method first (404), then the customer (400).
        db.fetch("payment_method", &id, "PaymentMethod", "payment_method")?;
        db.fetch_param("customer", &customer, "customer", "customer")?;
        customers::attach(db, &customer, &id, None)
    })?;
    respond(&app, pm, &req.expand)
}

async fn detach(
    State(app): State<App>,
    Path(id): Path<String>,
    req: StripeRequest,
) -> ApiResult<Json<Value>> {
    req.params.finish()?;
    let pm = app.write(|db| {
        let before = db.fetch("payment_method", &id, "PaymentMethod", "payment_method")?;
        if before["customer"].is_null() {
            return Err(ApiError::invalid(
                "The payment method you provided is not attached to a customer so detachment is impossible.",
            )
            .code("payment_method_unexpected_state"));
        }
        let mut pm = before.clone();
        pm["customer"] = Value::Null;
        let pm = db.put(pm);
        db.emit("payment_method.detached", &pm, previous_attributes(&before, &pm));
        Ok(pm)
    })?;
    respond(&app, pm, &req.expand)
}
