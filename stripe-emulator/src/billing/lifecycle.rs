//! Subscriptions over time: trials that end, periods that renew, their invoices
//! finalized and charged after the grace hour, cancellation, a new card for a
//! past-due subscription, and [`run_due`] as the clock passes.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{
    calendar::{add_interval, next_boundary},
    cards::{Card, attach_card},
    invoicing::{Bill, collect, draft_cycle, invoice_subscription, lines_for, pay_invoice},
    pricing::{interval, interval_count, is_metered},
    subscriptions::{
        emit_sub_updated, fetch_sub, first_price, has_open_invoice, period_of, save_subscription,
        set_item_periods,
    },
};
use crate::{
    error::{ApiError, ApiResult},
    state::{Db, new_id, str_of},
};

/// Ends a trial now through the API (`trial_end=now`): a new period starts and, as
/// for any update that bills, its invoice (`subscription_update`) is finalized and
/// charged at once: the invoice's events, then one `customer.subscription.updated`
/// (`trialing` to `active`, or to `past_due` when the charge fails).
pub fn end_trial(db: &mut Db, subscription_id: &str, at: i64) -> ApiResult<Value> {
    let before = fetch_sub(db, subscription_id)?;
    if before["status"] != "trialing" {
        return Ok(before);
    }
    let mut sub = next_trial_period(&before, at);
    let lines = lines_for(
        db,
        &sub,
        |item| {
            if is_metered(&item["price"]) {
                Bill::Usage { start: at, end: at }
            } else {
                Bill::Licensed
            }
        },
        period_of(&sub),
    );
    let inv = invoice_subscription(
        db,
        &sub,
        lines,
        ("subscription_update", (at, at)),
        &new_id("in"),
    )?;
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

/// The clock passes `trial_end`: the subscription becomes `active` in its first paid
/// period and drafts that period's invoice (`subscription_cycle`), which the clock
/// finalizes and charges an hour later ([`collect_draft`]). Events now:
/// `invoice.created`, `customer.subscription.updated`.
fn trial_ends(db: &mut Db, subscription_id: &str, at: i64) -> ApiResult<Value> {
    let before = fetch_sub(db, subscription_id)?;
    let mut sub = next_trial_period(&before, at);
    let inv = draft_cycle(db, &sub, (at, at), period_of(&sub))?;
    sub["latest_invoice"] = inv["id"].clone();
    sub["status"] = json!("active");
    let sub = save_subscription(db, sub);
    emit_sub_updated(db, &before, &sub);
    Ok(sub)
}

/// A trialing subscription whose first paid period starts at `at`.
fn next_trial_period(before: &Value, at: i64) -> Value {
    let price = first_price(before);
    let end = add_interval(at, &interval(&price), interval_count(&price));
    let mut sub = before.clone();
    sub["trial_end"] = json!(at);
    sub["billing_cycle_anchor"] = json!(at);
    set_item_periods(&mut sub, at, end);
    sub
}

/// The clock passes the end of an `active` or `past_due` subscription's period: the
/// items move to the next period and its invoice is drafted (licensed items in
/// advance for the new period, metered ones for the usage of the ended one), to be
/// finalized and charged an hour later. The status stays as it is until then.
/// Events now: `invoice.created`, `customer.subscription.updated`.
fn renew(db: &mut Db, subscription_id: &str) -> ApiResult<Value> {
    let before = fetch_sub(db, subscription_id)?;
    let (start, end) = period_of(&before);
    let price = first_price(&before);
    let anchor = before["billing_cycle_anchor"].as_i64().unwrap_or(start);
    let next_end = next_boundary(anchor, end, &interval(&price), interval_count(&price));
    let mut sub = before.clone();
    set_item_periods(&mut sub, end, next_end);
    let inv = draft_cycle(db, &sub, (start, end), (end, next_end))?;
    sub["latest_invoice"] = inv["id"].clone();
    let sub = save_subscription(db, sub);
    emit_sub_updated(db, &before, &sub);
    Ok(sub)
}

/// The clock reaches a draft's `automatically_finalizes_at`: it is finalized and
/// charged (`invoice.finalized`, then `invoice.paid` + `invoice.payment_succeeded`,
/// or `invoice.payment_failed`), and its subscription follows the outcome with a
/// `customer.subscription.updated`: `past_due` when the charge failed, `active` again
/// when a `past_due` subscription has nothing left open.
fn collect_draft(db: &mut Db, invoice_id: &str) -> ApiResult<Value> {
    let inv = collect(db, invoice_id)?;
    let sub_id = str_of(&inv["parent"]["subscription_details"]["subscription"]);
    let Ok(before) = fetch_sub(db, &sub_id) else {
        return Ok(inv);
    };
    let mut sub = before.clone();
    match before["status"].as_str() {
        Some("active") if inv["status"] != "paid" => sub["status"] = json!("past_due"),
        Some("past_due") if !has_open_invoice(db, &sub_id) => sub["status"] = json!("active"),
        _ => {}
    }
    let sub = save_subscription(db, sub);
    emit_sub_updated(db, &before, &sub);
    Ok(inv)
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

/// Something the clock makes happen at a moment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Due {
    /// An open Checkout Session expires.
    SessionExpires(String),
    /// A trial ends (or, with `cancel_at_period_end`, the subscription with it).
    TrialEnds(String),
    /// A period ends: renewal, or cancellation with `cancel_at_period_end`.
    PeriodEnds(String),
    /// A draft invoice is finalized and charged.
    Finalize(String),
}

/// The earliest thing due at or before `until` (ties in [`Due`]'s order), skipping
/// the ones that failed this run.
fn next_due(db: &Db, until: i64, failed: &HashSet<Due>) -> Option<(i64, Due)> {
    let of = |kind: &str| {
        db.order
            .get(kind)
            .into_iter()
            .flatten()
            .filter_map(|id| db.get(id))
    };
    let sessions = of("checkout.session")
        .filter(|s| s["status"] == "open")
        .filter_map(|s| {
            Some((
                s["expires_at"].as_i64()?,
                Due::SessionExpires(str_of(&s["id"])),
            ))
        });
    let subscriptions = of("subscription").filter_map(|sub| {
        let id = str_of(&sub["id"]);
        match sub["status"].as_str() {
            Some("trialing") => Some((sub["trial_end"].as_i64()?, Due::TrialEnds(id))),
            Some("active" | "past_due") => {
                let (_, end) = period_of(sub);
                (end > 0).then_some((end, Due::PeriodEnds(id)))
            }
            _ => None,
        }
    });
    let drafts = of("invoice")
        .filter(|i| i["status"] == "draft")
        .filter_map(|i| {
            Some((
                i["automatically_finalizes_at"].as_i64()?,
                Due::Finalize(str_of(&i["id"])),
            ))
        });
    sessions
        .chain(subscriptions)
        .chain(drafts)
        .filter(|(at, due)| *at <= until && !failed.contains(due))
        .min()
}

/// Runs what is due at `at`, with the clock there.
fn run(db: &mut Db, at: i64, due: &Due) -> ApiResult<()> {
    match due {
        Due::SessionExpires(id) => {
            let mut s = db.fetch("checkout.session", id, "checkout session", "session")?;
            s["status"] = json!("expired");
            let s = db.put(s);
            db.emit("checkout.session.expired", &s, None);
        }
        Due::TrialEnds(id) | Due::PeriodEnds(id) => {
            let sub = fetch_sub(db, id)?;
            if sub["cancel_at_period_end"] == json!(true) {
                end_subscription(db, id, at)?;
            } else if matches!(due, Due::TrialEnds(_)) {
                trial_ends(db, id, at)?;
            } else {
                renew(db, id)?;
            }
        }
        Due::Finalize(id) => {
            collect_draft(db, id)?;
        }
    }
    Ok(())
}

/// Runs everything that has come due by `db.now()`, one moment at a time and in
/// time order across all objects, with the clock set to each moment while it runs,
/// so that a jump of months renews once per period and every object and event
/// carries the time it happened at (Stripe's test clocks do the same): trials that
/// end, periods that end (renewal, or cancellation when `cancel_at_period_end`),
/// renewal invoices finalized and charged after their grace hour, and open
/// Checkout Sessions that expire.
pub fn run_due(db: &mut Db) {
    let until = db.now();
    let mut failed = HashSet::new();
    // Each step moves something forward; the bound only guards against a bug.
    for _ in 0..100_000 {
        let Some((at, due)) = next_due(db, until, &failed) else {
            break;
        };
        db.running_at = Some(at);
        let result = run(db, at, &due);
        db.running_at = None;
        if let Err(e) = result {
            tracing::warn!(?due, error = %e, "billing step failed");
            failed.insert(due);
        }
    }
}
