//! Completing a Checkout Session: the customer, the card, the subscription and its
//! first invoice, in Stripe's order of events.

use serde_json::{Value, json};

use super::{
    calendar::add_interval,
    cards::{Card, CardBehaviour, attach_card, declined},
    invoicing::{Bill, invoice_subscription, lines_for},
    pricing::{interval, interval_count, is_metered, plan_of},
    subscriptions::{items_list, save_subscription},
};
use crate::{
    error::{ApiError, ApiResult},
    state::{Db, base_object, new_id, str_of},
};

/// A new Checkout Session id, as long as Stripe's (`cs_test_a1…`, 66 characters).
pub fn checkout_session_id() -> String {
    crate::state::random_id("cs_test_a1", 56)
}

/// Where a Checkout Session keeps what Stripe does not show on the session itself:
/// its line items and `subscription_data`. Stored beside the objects, never listed.
pub fn session_setup_key(session_id: &str) -> String {
    format!("{session_id}#setup")
}

/// A session's line items (a list object of `item`s) and its `subscription_data`
/// (`trial_period_days`, `metadata`, `description`), as given at creation:
/// `{"line_items": {...list...}, "subscription_data": {...}}`.
pub fn session_setup(db: &Db, session_id: &str) -> Option<Value> {
    db.get(&session_setup_key(session_id)).cloned()
}

/// A customer as `POST /v1/customers` makes it.
pub fn new_customer(db: &mut Db, email: Option<&str>, name: Option<&str>) -> Value {
    let mut c = base_object(db, "cus", "customer");
    let prefix: String = str_of(&c["id"])
        .trim_start_matches("cus_")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_uppercase();
    for (k, v) in [
        ("address", Value::Null),
        ("balance", json!(0)),
        ("currency", Value::Null),
        ("default_source", Value::Null),
        ("delinquent", json!(false)),
        ("description", Value::Null),
        ("discount", Value::Null),
        ("email", json!(email)),
        ("invoice_prefix", json!(prefix)),
        (
            "invoice_settings",
            json!({"custom_fields": null, "default_payment_method": null, "footer": null, "rendering_options": null}),
        ),
        ("name", json!(name)),
        ("next_invoice_sequence", json!(1)),
        ("phone", Value::Null),
        ("preferred_locales", json!([])),
        ("shipping", Value::Null),
        ("tax_exempt", json!("none")),
        ("test_clock", Value::Null),
    ] {
        c[k] = v;
    }
    c
}

/// Pays an open Checkout Session with `card`: attaches a payment method to the
/// customer (creating the customer from `customer_email` if needed), creates the
/// subscription (trialing or active) as the session's default payment method, its
/// first invoice, completes the session, emits the events, and returns the URL to
/// redirect to (`success_url` with `{CHECKOUT_SESSION_ID}` filled in).
/// A declined card answers a 402 `card_error` and changes nothing.
pub fn complete_checkout(db: &mut Db, session_id: &str, card: &Card) -> ApiResult<String> {
    let session = db.fetch(
        "checkout.session",
        session_id,
        "checkout session",
        "session",
    )?;
    let now = db.now();
    if session["status"] != "open" || session["expires_at"].as_i64().is_some_and(|t| t <= now) {
        return Err(
            ApiError::invalid("This Checkout Session is no longer active.")
                .code("checkout_session_inactive"),
        );
    }
    let setup = session_setup(db, session_id)
        .ok_or_else(|| ApiError::no_such("checkout session", session_id, "session"))?;
    let behaviour = card.check(now)?;
    let trial_days = setup["subscription_data"]["trial_period_days"].as_i64();
    let due_now: i64 = if trial_days.is_some() {
        0
    } else {
        setup["line_items"]["data"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter(|i| !is_metered(&i["price"]))
                    .map(|i| i["amount_total"].as_i64().unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0)
    };
    // A card whose charges fail cannot pay what is due now: the page declines it.
    if behaviour == CardBehaviour::AttachesThenFails && due_now > 0 {
        return Err(declined());
    }
    if let Some(cus) = session["customer"].as_str() {
        db.fetch("customer", cus, "customer", "customer")?;
    }

    // Customer.
    let customer_id = match session["customer"].as_str() {
        Some(id) => id.to_string(),
        None => {
            let email = session["customer_email"].as_str().map(str::to_string);
            let name = (!card.name.is_empty()).then(|| card.name.clone());
            let mut c = new_customer(db, email.as_deref(), name.as_deref());
            c["address"] = json!({"city": null, "country": card.country, "line1": null, "line2": null, "postal_code": card.postal_code, "state": null});
            let c = db.insert(c);
            db.emit("customer.created", &c, None);
            str_of(&c["id"])
        }
    };
    let pm = attach_card(db, card, behaviour, &customer_id)?;
    let pm_id = str_of(&pm["id"]);

    // Subscription.
    let items_src = setup["line_items"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let first = items_src
        .first()
        .map(|i| i["price"].clone())
        .unwrap_or(Value::Null);
    let currency = str_of(&first["currency"]);
    let mut sub = base_object(db, "sub", "subscription");
    let sub_id = str_of(&sub["id"]);
    let trial_end = trial_days.map(|d| now + d * 86_400);
    let period_end = match trial_end {
        Some(t) => t,
        None => add_interval(now, &interval(&first), interval_count(&first)),
    };
    let items: Vec<Value> = items_src
        .iter()
        .map(|li| {
            let price = li["price"].clone();
            let mut item = base_object(db, "si", "subscription_item");
            item.as_object_mut().map(|o| o.remove("livemode"));
            item["billing_thresholds"] = Value::Null;
            item["current_period_end"] = json!(period_end);
            item["current_period_start"] = json!(now);
            item["discounts"] = json!([]);
            item["plan"] = plan_of(&price);
            if !is_metered(&price) {
                item["quantity"] = json!(li["quantity"].as_i64().unwrap_or(1));
            }
            item["price"] = price;
            item["subscription"] = json!(sub_id);
            item["tax_rates"] = json!([]);
            item
        })
        .collect();
    let sub_data = &setup["subscription_data"];
    for (k, v) in [
        ("application", Value::Null),
        ("application_fee_percent", Value::Null),
        (
            "automatic_tax",
            json!({"disabled_reason": null, "enabled": false, "liability": null}),
        ),
        (
            "billing_cycle_anchor",
            json!(period_end_anchor(now, trial_end)),
        ),
        ("billing_cycle_anchor_config", Value::Null),
        ("billing_mode", json!({"flexible": null, "type": "classic"})),
        ("billing_schedules", json!([])),
        ("billing_thresholds", Value::Null),
        ("cancel_at", Value::Null),
        ("cancel_at_period_end", json!(false)),
        ("canceled_at", Value::Null),
        (
            "cancellation_details",
            json!({"comment": null, "feedback": null, "reason": null}),
        ),
        ("collection_method", json!("charge_automatically")),
        ("currency", json!(currency)),
        ("customer", json!(customer_id)),
        ("customer_account", Value::Null),
        ("days_until_due", Value::Null),
        ("default_payment_method", json!(pm_id)),
        ("default_source", Value::Null),
        ("default_tax_rates", json!([])),
        ("description", sub_data["description"].clone()),
        ("discounts", json!([])),
        ("ended_at", Value::Null),
        (
            "invoice_settings",
            json!({"account_tax_ids": null, "issuer": {"type": "self"}}),
        ),
        ("items", items_list(&sub_id, items)),
        ("latest_invoice", Value::Null),
        (
            "metadata",
            if sub_data["metadata"].is_object() {
                sub_data["metadata"].clone()
            } else {
                json!({})
            },
        ),
        ("next_pending_invoice_item_invoice", Value::Null),
        ("on_behalf_of", Value::Null),
        ("pause_collection", Value::Null),
        (
            "payment_settings",
            json!({"payment_method_options": null, "payment_method_types": null, "save_default_payment_method": "off"}),
        ),
        ("pending_invoice_item_interval", Value::Null),
        ("pending_setup_intent", Value::Null),
        ("pending_update", Value::Null),
        ("presentment_details", Value::Null),
        ("schedule", Value::Null),
        ("start_date", json!(now)),
        (
            "status",
            json!(if trial_end.is_some() {
                "trialing"
            } else {
                "active"
            }),
        ),
        ("status_details", Value::Null),
        ("test_clock", Value::Null),
        ("transfer_data", Value::Null),
        ("trial_end", json!(trial_end)),
        (
            "trial_settings",
            json!({"end_behavior": {"missing_payment_method": "create_invoice"}}),
        ),
        ("trial_start", json!(trial_end.map(|_| now))),
    ] {
        sub[k] = v;
    }
    let first_lines = lines_for(
        db,
        &sub,
        |item| {
            if trial_end.is_some() && !is_metered(&item["price"]) {
                Bill::Trial
            } else if is_metered(&item["price"]) {
                Bill::Usage {
                    start: now,
                    end: now,
                }
            } else {
                Bill::Licensed
            }
        },
        (now, period_end),
    );
    let invoice_id = new_id("in");
    sub["latest_invoice"] = json!(invoice_id);
    // Customer currency is fixed by its first subscription.
    let cust = db.fetch("customer", &customer_id, "customer", "customer")?;
    if cust["currency"].is_null() {
        let mut c = cust.clone();
        c["currency"] = json!(currency);
        db.put(c);
    }
    db.insert(sub.clone());
    let sub = save_subscription(db, sub);
    db.emit("customer.subscription.created", &sub, None);
    let inv = invoice_subscription(
        db,
        &sub,
        first_lines,
        ("subscription_create", (now, now)),
        &invoice_id,
    )?;

    // Session.
    let mut done = session.clone();
    done["status"] = json!("complete");
    done["payment_status"] = json!(if inv["amount_paid"].as_i64().unwrap_or(0) > 0 {
        "paid"
    } else {
        "no_payment_required"
    });
    done["customer"] = json!(customer_id);
    done["subscription"] = json!(sub_id);
    done["invoice"] = json!(invoice_id);
    let customer = db.fetch("customer", &customer_id, "customer", "customer")?;
    done["customer_details"] = json!({
        "address": {"city": null, "country": card.country, "line1": null, "line2": null, "postal_code": card.postal_code, "state": null},
        "business_name": null,
        "email": customer["email"],
        "individual_name": null,
        "name": if card.name.is_empty() { customer["name"].clone() } else { json!(card.name) },
        "phone": null,
        "tax_exempt": "none",
        "tax_ids": [],
    });
    done["collected_information"] =
        json!({"business_name": null, "individual_name": null, "shipping_details": null});
    let done = db.put(done);
    db.emit("checkout.session.completed", &done, None);

    let success = str_of(&session["success_url"]);
    Ok(success.replace("{CHECKOUT_SESSION_ID}", session_id))
}

pub(super) fn period_end_anchor(now: i64, trial_end: Option<i64>) -> i64 {
    trial_end.unwrap_or(now)
}
