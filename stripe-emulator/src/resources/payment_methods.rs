//! `/v1/payment_methods`: retrieve, list (`customer`, `type`), attach, detach; and
//! `/v1/customers/{id}/payment_methods`. Cards are created by the hosted pages.

use super::{
    customers,
    rest::{self, prelude::*},
};
use crate::state::previous_attributes;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/payment_methods", rest::found(list_payment_methods))
        .route(
            "/v1/payment_methods/{id}",
            rest::retrieve("payment_method", "PaymentMethod", "payment_method"),
        )
        .route("/v1/payment_methods/{id}/attach", rest::act(attach))
        .route("/v1/payment_methods/{id}/detach", rest::call(detach))
        .route(
            "/v1/customers/{id}/payment_methods",
            rest::sublist(for_customer),
        )
}

/// A customer's payment methods (of one `type`, if given).
fn listed(db: &Db, customer: &str, kind: Option<&str>) -> ApiResult<Vec<Value>> {
    db.fetch_param("customer", customer, "customer", "customer")?;
    Ok(db
        .all("payment_method")
        .into_iter()
        .filter(|o| o["customer"] == customer)
        .filter(|o| kind.is_none_or(|k| o["type"] == k))
        .collect())
}

fn list_payment_methods(p: &mut Params) -> ApiResult<impl Found + use<>> {
    let customer = p.str("customer")?;
    let kind = p.str("type")?;
    Ok(move |db: &Db| match &customer {
        Some(c) => listed(db, c, kind.as_deref()),
        // Without a customer Stripe lists the account's unattached ones: none here.
        None => Ok(Vec::new()),
    })
}

fn for_customer(p: &mut Params) -> ApiResult<impl Items + use<>> {
    let kind = p.str("type")?;
    p.str("allow_redisplay")?;
    Ok(move |db: &Db, id: &str| listed(db, id, kind.as_deref()))
}

fn attach(p: &mut Params) -> ApiResult<impl Act + use<>> {
    let customer = p.req_str("customer")?;
    Ok(move |db: &mut Db, id: &str| {
        // The path's payment method first (404), then the customer (400).
        db.fetch("payment_method", id, "PaymentMethod", "payment_method")?;
        db.fetch_param("customer", &customer, "customer", "customer")?;
        customers::attach(db, &customer, id, None)
    })
}

fn detach(db: &mut Db, id: &str) -> ApiResult<Value> {
    let before = db.fetch("payment_method", id, "PaymentMethod", "payment_method")?;
    if before["customer"].is_null() {
        return Err(ApiError::invalid(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
        )
        .code("payment_method_unexpected_state"));
    }
    let mut pm = before.clone();
    pm["customer"] = Value::Null;
    let pm = db.put(pm);
    db.emit(
        "payment_method.detached",
        &pm,
        previous_attributes(&before, &pm),
    );
    Ok(pm)
}
