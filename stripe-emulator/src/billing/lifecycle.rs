//! Subscriptions over time: trials that end, periods that renew, cancellation, a
//! new card for a past-due subscription, and [`run_due`] as the clock passes.

use serde_json::{Value, json};

use super::{
    calendar::{add_interval, next_boundary},
    cards::{Card, attach_card},
    invoicing::{invoice_cycle, pay_invoice},
    pricing::{interval, interval_count},
    subscriptions::{
        emit_sub_updated, fetch_sub, first_price, has_open_invoice, period_of, save_subscription,
        set_item_periods,
    },
};
use crate::{
    error::{ApiError, ApiResult},
    state::{Db, str_of},
};

/// Ends a trial at `at` (`trial_end=now`, or the clock passing `trial_end`): a new
/// period starts, an invoice for the licensed amount is charged to the default
/// payment method, and the subscription becomes `active` (or `past_due`).
pub fn end_trial(db: &mut Db, subscription_id: &str, at: i64) -> ApiResult<Value> {
    let before = fetch_sub(db, subscription_id)?;
    if before["status"] != "trialing" {
        return Ok(before);
    }
    let price = first_price(&before);
    let end = add_interval(at, &interval(&price), interval_count(&price));
    let mut sub = before.clone();
    sub["trial_end"] = json!(at);
    sub["billing_cycle_anchor"] = json!(at);
    set_item_periods(&mut sub, at, end);
    let inv = invoice_cycle(db, &sub, (at, at), (at, end))?;
    sub["latest_invoice"] = inv["id"].clone();
    sub["status"] = json!(if inv["status"] == "paid" {
        "active"
    } else {
        "past_due"
    });
    let sub = save_subscription(db, sub);
    emit_sub_updated(db, &before, &sub);
    Ok(sub)
}

/// Starts the next period of an `active` or `past_due` subscription whose period
/// ended: licensed items are billed in advance for the new period, metered ones
/// for the usage of the ended period.
pub(super) fn renew(db: &mut Db, subscription_id: &str) -> ApiResult<Value> {
    let before = fetch_sub(db, subscription_id)?;
    let (start, end) = period_of(&before);
    let price = first_price(&before);
    let anchor = before["billing_cycle_anchor"].as_i64().unwrap_or(start);
    let next_end = next_boundary(anchor, end, &interval(&price), interval_count(&price));
    let mut sub = before.clone();
    set_item_periods(&mut sub, end, next_end);
    let inv = invoice_cycle(db, &sub, (start, end), (end, next_end))?;
    sub["latest_invoice"] = inv["id"].clone();
    if inv["status"] != "paid" {
        sub["status"] = json!("past_due");
    } else if before["status"] == "past_due" && !has_open_invoice(db, subscription_id) {
        sub["status"] = json!("active");
    }
    let sub = save_subscription(db, sub);
    emit_sub_updated(db, &before, &sub);
    Ok(sub)
}

pub(super) fn end_subscription(db: &mut Db, subscription_id: &str, at: i64) -> ApiResult<Value> {
    let before = fetch_sub(db, subscription_id)?;
    let mut sub = before.clone();
    sub["status"] = json!("canceled");
    if sub["canceled_at"].is_null() {
        sub["canceled_at"] = json!(at);
    }
    sub["ended_at"] = json!(at);
    if sub["cancellation_details"]["reason"].is_null() {
        sub["cancellation_details"]["reason"] = json!("cancellation_requested");
    }
    let sub = save_subscription(db, sub);
    db.emit("customer.subscription.deleted", &sub, None);
    Ok(sub)
}

/// Cancels a subscription now (portal "cancel" in `immediately` mode, or
/// `DELETE /v1/subscriptions/{id}`), emitting `customer.subscription.deleted`.
pub fn cancel_now(db: &mut Db, subscription_id: &str) -> ApiResult<Value> {
    let sub = fetch_sub(db, subscription_id)?;
    if sub["status"] == "canceled" || sub["status"] == "incomplete_expired" {
        return Err(ApiError::invalid(
            "A canceled subscription can only update its cancellation_details and metadata.",
        ));
    }
    let now = db.now();
    end_subscription(db, subscription_id, now)
}

/// Sets `cancel_at_period_end` (portal cancel in `at_period_end` mode).
pub fn cancel_at_period_end(db: &mut Db, subscription_id: &str) -> ApiResult<Value> {
    set_cancel_at_period_end(db, subscription_id, true)
}

/// Sets or clears `cancel_at_period_end`, emitting `customer.subscription.updated`.
pub fn set_cancel_at_period_end(db: &mut Db, subscription_id: &str, on: bool) -> ApiResult<Value> {
    let before = fetch_sub(db, subscription_id)?;
    if before["status"] == "canceled" {
        return Err(ApiError::invalid(
            "A canceled subscription can only update its cancellation_details and metadata.",
        ));
    }
    let mut sub = before.clone();
    sub["cancel_at_period_end"] = json!(on);
    if on {
        sub["cancel_at"] = json!(period_of(&before).1);
        sub["canceled_at"] = json!(db.now());
        sub["cancellation_details"]["reason"] = json!("cancellation_requested");
    } else {
        sub["cancel_at"] = Value::Null;
        sub["canceled_at"] = Value::Null;
        sub["cancellation_details"]["reason"] = Value::Null;
    }
    let sub = save_subscription(db, sub);
    emit_sub_updated(db, &before, &sub);
    Ok(sub)
}

/// Attaches a new card to the customer and makes it the default of their
/// subscriptions (portal "update payment method"). Open invoices of `past_due`
/// subscriptions are retried with it. Returns the payment method.
pub fn replace_payment_method(db: &mut Db, customer_id: &str, card: &Card) -> ApiResult<Value> {
    db.fetch("customer", customer_id, "customer", "customer")?;
    let behaviour = card.check(db.now())?;
    let pm = attach_card(db, card, behaviour, customer_id)?;
    let pm_id = str_of(&pm["id"]);
    let subs: Vec<Value> = db
        .all("subscription")
        .into_iter()
        .filter(|s| s["customer"] == customer_id && s["status"] != "canceled")
        .collect();
    for before in subs {
        let sub_id = str_of(&before["id"]);
        let mut sub = before.clone();
        sub["default_payment_method"] = json!(pm_id);
        if before["status"] == "past_due" {
            let open: Vec<String> = db
                .all("invoice")
                .iter()
                .filter(|i| {
                    i["status"] == "open"
                        && i["parent"]["subscription_details"]["subscription"] == sub_id.as_str()
                })
                .map(|i| str_of(&i["id"]))
                .collect();
            for inv in open {
                pay_invoice(db, &inv, Some(&pm_id))?;
            }
            if !has_open_invoice(db, &sub_id) {
                sub["status"] = json!("active");
            }
        }
        let sub = save_subscription(db, sub);
        emit_sub_updated(db, &before, &sub);
    }
    Ok(pm)
}

/// Runs everything that has come due at `db.now()`: trials that end, periods that
/// end (renewal, or cancellation when `cancel_at_period_end`), possibly several
/// periods when the clock jumped far; and open Checkout Sessions that expire.
pub fn run_due(db: &mut Db) {
    let now = db.now();
    for session in db.all("checkout.session") {
        if session["status"] == "open" && session["expires_at"].as_i64().is_some_and(|t| t <= now) {
            let mut s = session.clone();
            s["status"] = json!("expired");
            let s = db.put(s);
            db.emit("checkout.session.expired", &s, None);
        }
    }
    let ids: Vec<String> = db
        .all("subscription")
        .iter()
        .rev()
        .map(|s| str_of(&s["id"]))
        .collect();
    for id in ids {
        // Each step moves the subscription forward; stop when nothing is due.
        for _ in 0..1000 {
            let Ok(sub) = fetch_sub(db, &id) else { break };
            let (_, end) = period_of(&sub);
            let result = match sub["status"].as_str() {
                Some("trialing") if sub["trial_end"].as_i64().is_some_and(|t| t <= now) => {
                    let at = sub["trial_end"].as_i64().unwrap_or(now);
                    if sub["cancel_at_period_end"] == json!(true) {
                        end_subscription(db, &id, at)
                    } else {
                        end_trial(db, &id, at)
                    }
                }
                Some("active" | "past_due") if end > 0 && end <= now => {
                    if sub["cancel_at_period_end"] == json!(true) {
                        end_subscription(db, &id, end)
                    } else {
                        renew(db, &id)
                    }
                }
                _ => break,
            };
            if let Err(e) = result {
                tracing::warn!(subscription = %id, error = %e, "billing step failed");
                break;
            }
        }
    }
}
