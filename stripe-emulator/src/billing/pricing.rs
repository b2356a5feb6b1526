//! Reading a Price: its plan, interval, usage type and amount, and how people read it.

use serde_json::{Value, json};

use crate::state::{Db, str_of};

/// A Plan, as Stripe still embeds it in subscription items, derived from a Price.
pub(super) fn plan_of(price: &Value) -> Value {
    let r = &price["recurring"];
    json!({
        "id": price["id"],
        "object": "plan",
        "active": price["active"],
        "amount": price["unit_amount"],
        "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": if price["billing_scheme"].is_string() { price["billing_scheme"].clone() } else { json!("per_unit") },
        "created": price["created"],
        "currency": price["currency"],
        "interval": interval(price),
        "interval_count": interval_count(price),
        "livemode": false,
        "metadata": price["metadata"],
        "meter": r["meter"],
        "nickname": price["nickname"],
        "product": price["product"],
        "tiers_mode": null,
        "transform_usage": null,
        "trial_period_days": r["trial_period_days"],
        "usage_type": usage_type(price),
    })
}

pub(super) fn interval(price: &Value) -> String {
    price["recurring"]["interval"]
        .as_str()
        .unwrap_or("month")
        .to_string()
}

pub(super) fn interval_count(price: &Value) -> i64 {
    price["recurring"]["interval_count"].as_i64().unwrap_or(1)
}

pub(super) fn usage_type(price: &Value) -> &str {
    price["recurring"]["usage_type"]
        .as_str()
        .unwrap_or("licensed")
}

pub(super) fn is_metered(price: &Value) -> bool {
    usage_type(price) == "metered"
}

pub(super) fn unit_amount(price: &Value) -> i64 {
    price["unit_amount"]
        .as_i64()
        .or_else(|| {
            price["unit_amount_decimal"]
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .map(|f| f as i64)
        })
        .unwrap_or(0)
}

/// "$60.00 / month", "€8.00 / 3 months".
pub fn price_label(price: &Value) -> String {
    let count = interval_count(price);
    let every = if count == 1 {
        interval(price)
    } else {
        format!("{count} {}s", interval(price))
    };
    format!(
        "{} / {every}",
        money(unit_amount(price), &str_of(&price["currency"]))
    )
}

/// Amounts in minor units as people read them: `$60.00`, `80.00 EUR`.
pub fn money(amount: i64, currency: &str) -> String {
    let major = format!("{}.{:02}", amount / 100, (amount % 100).abs());
    if currency.eq_ignore_ascii_case("usd") {
        format!("${major}")
    } else {
        format!("{major} {}", currency.to_uppercase())
    }
}

pub(super) fn product_name(db: &Db, price: &Value) -> String {
    let product = match &price["product"] {
        Value::String(id) => db.get(id).cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    product["name"]
        .as_str()
        .unwrap_or("Subscription")
        .to_string()
}
