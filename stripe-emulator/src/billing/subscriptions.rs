//! The subscription object as billing keeps it: its items, their periods, storing
//! it with its items, and the `customer.subscription.updated` event.

use serde_json::{Value, json};

use crate::{
    error::ApiResult,
    state::{Db, previous_attributes, str_of},
};

/// The subscription items list object, as embedded in a subscription.
pub(super) fn items_list(sub_id: &str, items: Vec<Value>) -> Value {
    json!({
        "object": "list",
        "data": items,
        "has_more": false,
        "total_count": items.len(),
        "url": format!("/v1/subscription_items?subscription={sub_id}"),
    })
}

/// Stores a subscription and each of its items (also retrievable on their own).
pub fn save_subscription(db: &mut Db, sub: Value) -> Value {
    if let Some(items) = sub["items"]["data"].as_array() {
        for item in items {
            if db.get(&str_of(&item["id"])).is_some() {
                db.put(item.clone());
            } else {
                db.insert(item.clone());
            }
        }
    }
    db.put(sub)
}

pub(super) fn set_item_periods(sub: &mut Value, start: i64, end: i64) {
    if let Some(items) = sub["items"]["data"].as_array_mut() {
        for item in items {
            item["current_period_start"] = json!(start);
            item["current_period_end"] = json!(end);
        }
    }
}

pub(super) fn period_of(sub: &Value) -> (i64, i64) {
    let item = &sub["items"]["data"][0];
    (
        item["current_period_start"].as_i64().unwrap_or(0),
        item["current_period_end"].as_i64().unwrap_or(0),
    )
}

pub(super) fn first_price(sub: &Value) -> Value {
    sub["items"]["data"][0]["price"].clone()
}

pub(super) fn fetch_sub(db: &Db, id: &str) -> ApiResult<Value> {
    db.fetch("subscription", id, "subscription", "id")
}

pub(super) fn emit_sub_updated(db: &mut Db, before: &Value, after: &Value) {
    if let Some(prev) = previous_attributes(before, after) {
        db.emit("customer.subscription.updated", after, Some(prev));
    }
}

pub(super) fn has_open_invoice(db: &Db, subscription_id: &str) -> bool {
    db.all("invoice").iter().any(|i| {
        i["status"] == "open"
            && i["parent"]["subscription_details"]["subscription"] == subscription_id
    })
}
