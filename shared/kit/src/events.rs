//! Stripe events made by hand for `POST /webhook`: complete objects as the emulator
//! renders them (`shared/tests/fixtures`, in the shapes of async-stripe's API
//! version, whose typed model the webhook reads them with), with the fields a test
//! is about set on top.

use serde_json::{Value, json};

/// A fixture object: `subscription`, `invoice`, `checkout_session` or `product`.
pub fn stripe_object(name: &str) -> Value {
    let text = match name {
        "subscription" => include_str!("../../tests/fixtures/subscription.json"),
        "invoice" => include_str!("../../tests/fixtures/invoice.json"),
        "checkout_session" => include_str!("../../tests/fixtures/checkout_session.json"),
        "product" => include_str!("../../tests/fixtures/product.json"),
        other => panic!("no fixture for {other}"),
    };
    serde_json::from_str(text).expect("a fixture is JSON")
}

/// An event of `kind` at `created` carrying `object`, as Stripe delivers it.
pub fn event(kind: &str, created: i64, object: Value) -> String {
    json!({
        "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
        "object": "event",
        "api_version": "2026-09-30.endive",
        "created": created,
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": kind,
        "data": { "object": object },
    })
    .to_string()
}

/// `customer`'s subscription `id` in `status`, with one item of `price`
/// (`usage_type` `licensed` or `metered`).
pub fn subscription(
    id: &str,
    customer: &str,
    status: &str,
    price: &str,
    usage_type: &str,
) -> Value {
    let mut sub = stripe_object("subscription");
    sub["id"] = json!(id);
    sub["customer"] = json!(customer);
    sub["status"] = json!(status);
    let price_of_item = &mut sub["items"]["data"][0]["price"];
    price_of_item["id"] = json!(price);
    price_of_item["recurring"]["usage_type"] = json!(usage_type);
    sub
}

/// `customer`'s invoice `id` in `status`, of no subscription (`parent` null).
pub fn invoice(id: &str, customer: &str, status: &str) -> Value {
    let mut invoice = stripe_object("invoice");
    invoice["id"] = json!(id);
    invoice["customer"] = json!(customer);
    invoice["status"] = json!(status);
    invoice["parent"] = Value::Null;
    invoice
}
