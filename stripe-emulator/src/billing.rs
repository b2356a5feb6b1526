//! The billing engine: what happens when money moves — completing a Checkout
//! Session, charging an invoice with the test-card rules, ending trials and renewing
//! subscriptions as the emulator's clock passes their dates.
//!
//! The hosted pages (`pages.rs`) and the API resources call these functions; they
//! mutate the state and emit the events Stripe would, in Stripe's order.
//! Every function validates before it mutates (the state has no rollback).

use serde_json::{Value, json};

use crate::{
    App,
    error::{ApiError, ApiResult},
    state::{Db, base_object, new_id, previous_attributes},
};

/// A card typed into the hosted Checkout page or the portal.
#[derive(Debug, Clone)]
pub struct Card {
    /// Digits only.
    pub number: String,
    pub exp_month: u32,
    pub exp_year: u32,
    pub cvc: String,
    pub name: String,
    pub country: String,
    pub postal_code: Option<String>,
}

/// What a test card does (Stripe's documented test numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBehaviour {
    /// `4242 4242 4242 4242`: every charge succeeds.
    Succeeds,
    /// `4000 0000 0000 0341`: attaches fine, every later charge fails.
    AttachesThenFails,
    /// `4000 0000 0000 0002`: declined straight away.
    Declined,
}

impl Card {
    pub fn behaviour(&self) -> Option<CardBehaviour> {
        match self.number.as_str() {
            "4242424242424242" => Some(CardBehaviour::Succeeds),
            "4000000000000341" => Some(CardBehaviour::AttachesThenFails),
            "4000000000000002" => Some(CardBehaviour::Declined),
            _ => None,
        }
    }

    /// What this card does when attached, or the 402 the page shows.
    /// Other well-formed numbers (Luhn-valid, e.g. `5555 5555 5555 4444`) succeed.
    fn check(&self, now: i64) -> ApiResult<CardBehaviour> {
        let digits = self.number.len() >= 12
            && self.number.len() <= 19
            && self.number.chars().all(|c| c.is_ascii_digit());
        if !digits || !luhn(&self.number) {
            let mut e =
                ApiError::card_declined("Your card number is incorrect.", "incorrect_number");
            e.code = Some("incorrect_number");
            e.param = Some("number".into());
            return Err(e);
        }
        let (year, month, _) = civil(now);
        let expired = (self.exp_year as i64) < year
            || ((self.exp_year as i64) == year && (self.exp_month as i64) < month);
        if !(1..=12).contains(&self.exp_month) || expired {
            let mut e = ApiError::card_declined("Your card has expired.", "expired_card");
            e.code = Some("expired_card");
            e.param = Some("exp_year".into());
            return Err(e);
        }
        match self.behaviour() {
            Some(CardBehaviour::Declined) => Err(declined()),
            Some(b) => Ok(b),
            None => Ok(CardBehaviour::Succeeds),
        }
    }

    fn brand(&self) -> &'static str {
        let n = &self.number;
        let two: u32 = n.get(..2).and_then(|s| s.parse().ok()).unwrap_or(0);
        let four: u32 = n.get(..4).and_then(|s| s.parse().ok()).unwrap_or(0);
        if n.starts_with('4') {
            "visa"
        } else if (51..=55).contains(&two) || (2221..=2720).contains(&four) {
            "mastercard"
        } else if two == 34 || two == 37 {
            "amex"
        } else if four == 6011 || two == 65 {
            "discover"
        } else {
            "unknown"
        }
    }
}

fn declined() -> ApiError {
    ApiError::card_declined("Your card was declined.", "generic_decline")
}

fn luhn(number: &str) -> bool {
    let sum: u32 = number
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

// ---------------------------------------------------------------------------
// Calendar arithmetic (UTC), for month and year periods anchored like Stripe's.

/// (year, month 1–12, day 1–31) of a Unix timestamp (proleptic Gregorian, after
/// Howard Hinnant's algorithm).
pub(crate) fn civil(ts: i64) -> (i64, i64, i64) {
    let z = ts.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)
}

/// `ts` plus `n` intervals (`day`, `week`, `month`, `year`); month ends clamp
/// (Jan 31 + 1 month = Feb 28/29), as Stripe's billing cycle anchors do.
fn add_interval(ts: i64, interval: &str, n: i64) -> i64 {
    let secs = ts.rem_euclid(86_400);
    let months = match interval {
        "day" => return ts + n * 86_400,
        "week" => return ts + n * 7 * 86_400,
        "year" => 12 * n,
        _ => n,
    };
    let (y, m, d) = civil(ts);
    let total = y * 12 + (m - 1) + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) * 86_400 + secs
}

/// The first period boundary after `after`, counting whole intervals from `anchor`.
fn next_boundary(anchor: i64, after: i64, interval: &str, count: i64) -> i64 {
    let count = count.max(1);
    let mut k = 1;
    loop {
        let t = add_interval(anchor, interval, k * count);
        if t > after {
            return t;
        }
        k += 1;
    }
}

// ---------------------------------------------------------------------------
// Object builders.

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Stripe-style id with a longer random tail (Checkout Session ids are long).
fn long_id(prefix: &str, len: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..len)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// A new Checkout Session id, as long as Stripe's (`cs_test_a1…`, 66 characters).
pub fn checkout_session_id() -> String {
    long_id("cs_test_a1", 56)
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

fn card_key(pm_id: &str) -> String {
    format!("{pm_id}#card")
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

fn payment_method_object(db: &Db, card: &Card, customer: &Value) -> Value {
    let mut pm = base_object(db, "pm", "payment_method");
    let last4 = card
        .number
        .get(card.number.len().saturating_sub(4)..)
        .unwrap_or_default();
    let brand = card.brand();
    pm["allow_redisplay"] = json!("always");
    pm["billing_details"] = json!({
        "address": {
            "city": null, "country": card.country, "line1": null, "line2": null,
            "postal_code": card.postal_code, "state": null,
        },
        "email": customer["email"],
        "name": if card.name.is_empty() { Value::Null } else { json!(card.name) },
        "phone": null,
        "tax_id": null,
    });
    pm["card"] = json!({
        "brand": brand,
        "checks": {"address_line1_check": null, "address_postal_code_check": card.postal_code.as_ref().map(|_| "pass"), "cvc_check": "pass"},
        "country": "US",
        "display_brand": brand,
        "exp_month": card.exp_month,
        "exp_year": card.exp_year,
        "fingerprint": fingerprint(&card.number),
        "funding": "credit",
        "generated_from": null,
        "last4": last4,
        "networks": {"available": [brand], "preferred": null},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": true},
        "wallet": null,
    });
    pm["customer"] = customer["id"].clone();
    pm["customer_account"] = Value::Null;
    pm["type"] = json!("card");
    pm
}

/// The same card number always gets the same fingerprint, as in Stripe.
fn fingerprint(number: &str) -> String {
    use sha2::Digest;
    let hash = sha2::Sha256::digest(number.as_bytes());
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    hash.iter()
        .take(16)
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

/// Attaches a card to a customer as its default payment method; emits
/// `payment_method.attached` and `customer.updated`. Returns the payment method.
fn attach_card(
    db: &mut Db,
    card: &Card,
    behaviour: CardBehaviour,
    customer_id: &str,
) -> ApiResult<Value> {
    let customer = db.fetch("customer", customer_id, "customer", "customer")?;
    let pm = db.insert(payment_method_object(db, card, &customer));
    let pm_id = str_of(&pm["id"]);
    let fails = behaviour == CardBehaviour::AttachesThenFails;
    db.objects
        .insert(card_key(&pm_id), json!({ "charges_fail": fails }));
    db.emit("payment_method.attached", &pm, None);
    let mut updated = customer.clone();
    updated["invoice_settings"]["default_payment_method"] = json!(pm_id);
    let updated = db.put(updated);
    if let Some(prev) = previous_attributes(&customer, &updated) {
        db.emit("customer.updated", &updated, Some(prev));
    }
    Ok(pm)
}

/// Whether a charge on this payment method succeeds.
fn charge_succeeds(db: &Db, pm_id: Option<&str>) -> bool {
    let Some(pm_id) = pm_id else { return false };
    db.get(pm_id)
        .is_some_and(|pm| pm["object"] == "payment_method")
        && !db
            .get(&card_key(pm_id))
            .is_some_and(|c| c["charges_fail"] == json!(true))
}

/// A Plan, as Stripe still embeds it in subscription items, derived from a Price.
fn plan_of(price: &Value) -> Value {
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

fn interval(price: &Value) -> String {
    price["recurring"]["interval"]
        .as_str()
        .unwrap_or("month")
        .to_string()
}

fn interval_count(price: &Value) -> i64 {
    price["recurring"]["interval_count"].as_i64().unwrap_or(1)
}

fn usage_type(price: &Value) -> &str {
    price["recurring"]["usage_type"]
        .as_str()
        .unwrap_or("licensed")
}

fn is_metered(price: &Value) -> bool {
    usage_type(price) == "metered"
}

fn unit_amount(price: &Value) -> i64 {
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

fn product_name(db: &Db, price: &Value) -> String {
    let product = match &price["product"] {
        Value::String(id) => db.get(id).cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    product["name"]
        .as_str()
        .unwrap_or("Subscription")
        .to_string()
}

/// The subscription items list object, as embedded in a subscription.
fn items_list(sub_id: &str, items: Vec<Value>) -> Value {
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

fn set_item_periods(sub: &mut Value, start: i64, end: i64) {
    if let Some(items) = sub["items"]["data"].as_array_mut() {
        for item in items {
            item["current_period_start"] = json!(start);
            item["current_period_end"] = json!(end);
        }
    }
}

fn period_of(sub: &Value) -> (i64, i64) {
    let item = &sub["items"]["data"][0];
    (
        item["current_period_start"].as_i64().unwrap_or(0),
        item["current_period_end"].as_i64().unwrap_or(0),
    )
}

fn first_price(sub: &Value) -> Value {
    sub["items"]["data"][0]["price"].clone()
}

// ---------------------------------------------------------------------------
// Invoices.

/// How a line is billed.
enum Bill {
    /// Licensed, in advance, for the coming period.
    Licensed,
    /// A trial line: the licensed quantity at zero.
    Trial,
    /// Metered, in arrears: the usage recorded in the ended period.
    Usage { start: i64, end: i64 },
}

/// Usage of a metered price for a customer in `[start, end)`: meter events whose
/// name is the price's meter's `event_name`, aggregated by the meter's formula.
pub fn usage(db: &Db, price: &Value, customer: &str, start: i64, end: i64) -> i64 {
    let Some(meter) = price["recurring"]["meter"].as_str().and_then(|m| db.get(m)) else {
        return 0;
    };
    let event_name = meter["event_name"].as_str().unwrap_or_default();
    let values: Vec<i64> = db
        .meter_events
        .iter()
        .filter(|e| e.event_name == event_name && e.customer == customer)
        .filter(|e| e.timestamp >= start && e.timestamp < end)
        .map(|e| e.value)
        .collect();
    match meter["default_aggregation"]["formula"].as_str() {
        Some("count") => values.len() as i64,
        Some("last") => values.last().copied().unwrap_or(0),
        _ => values.iter().sum(),
    }
}

fn line_item(db: &Db, sub: &Value, item: &Value, bill: &Bill, period: (i64, i64)) -> Value {
    let price = &item["price"];
    let currency = str_of(&price["currency"]);
    let name = product_name(db, price);
    let (quantity, amount, description, period) = match bill {
        Bill::Licensed => {
            let q = item["quantity"].as_i64().unwrap_or(1);
            (
                q,
                q * unit_amount(price),
                format!("{q} × {name} (at {})", price_label(price)),
                period,
            )
        }
        Bill::Trial => {
            let q = item["quantity"].as_i64().unwrap_or(1);
            (q, 0, format!("Trial period for {name}"), period)
        }
        Bill::Usage { start, end } => {
            let q = usage(db, price, &str_of(&sub["customer"]), *start, *end);
            (
                q,
                q * unit_amount(price),
                format!("{q} × {name} (at {})", price_label(price)),
                (*start, *end),
            )
        }
    };
    json!({
        "id": new_id("il"),
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": [],
        "discountable": true,
        "discounts": [],
        "invoice": null,
        "livemode": false,
        "metadata": {},
        "parent": {
            "invoice_item_details": null,
            "subscription_item_details": {
                "invoice_item": null,
                "proration": false,
                "proration_details": {"credited_items": null},
                "subscription": sub["id"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        "period": {"end": period.1, "start": period.0},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": price["unit_amount_decimal"].as_str().map(str::to_string).unwrap_or_else(|| unit_amount(price).to_string()),
        },
        "quantity": quantity,
        "quantity_decimal": quantity.to_string(),
        "subtotal": amount,
        "taxes": [],
    })
}

/// Creates, finalizes and tries to pay a subscription invoice with the given
/// lines; emits `invoice.created`, `invoice.finalized`, then `invoice.paid` +
/// `invoice.payment_succeeded` or `invoice.payment_failed`. Returns the invoice.
fn invoice_subscription(
    db: &mut Db,
    sub: &Value,
    lines: Vec<Value>,
    reason: &str,
    period: (i64, i64),
    id: &str,
) -> ApiResult<Value> {
    let customer = db.fetch(
        "customer",
        &str_of(&sub["customer"]),
        "customer",
        "customer",
    )?;
    let mut inv = base_object(db, "in", "invoice");
    inv["id"] = json!(id);
    let now = db.now();
    let lines: Vec<Value> = lines
        .into_iter()
        .map(|mut l| {
            l["invoice"] = json!(id);
            l
        })
        .collect();
    let total: i64 = lines.iter().filter_map(|l| l["amount"].as_i64()).sum();
    let sequence = customer["next_invoice_sequence"].as_i64().unwrap_or(1);
    let prefix = customer["invoice_prefix"]
        .as_str()
        .unwrap_or("INV")
        .to_string();
    for (k, v) in [
        ("account_country", json!("US")),
        ("account_name", Value::Null),
        ("account_tax_ids", Value::Null),
        ("amount_due", json!(total)),
        ("amount_overpaid", json!(0)),
        ("amount_paid", json!(0)),
        ("amount_remaining", json!(total)),
        ("amount_shipping", json!(0)),
        ("application", Value::Null),
        ("attempt_count", json!(0)),
        ("attempted", json!(false)),
        ("auto_advance", json!(true)),
        (
            "automatic_tax",
            json!({"disabled_reason": null, "enabled": false, "liability": null, "provider": null, "status": null}),
        ),
        ("automatically_finalizes_at", Value::Null),
        ("billing_reason", json!(reason)),
        ("collection_method", json!("charge_automatically")),
        ("confirmation_secret", Value::Null),
        ("currency", sub["currency"].clone()),
        ("custom_fields", Value::Null),
        ("customer", customer["id"].clone()),
        ("customer_account", Value::Null),
        ("customer_address", customer["address"].clone()),
        ("customer_email", customer["email"].clone()),
        ("customer_name", customer["name"].clone()),
        ("customer_phone", customer["phone"].clone()),
        ("customer_shipping", Value::Null),
        ("customer_tax_exempt", json!("none")),
        ("customer_tax_ids", json!([])),
        ("default_payment_method", Value::Null),
        ("default_source", Value::Null),
        ("default_tax_rates", json!([])),
        ("description", Value::Null),
        ("discounts", json!([])),
        ("due_date", Value::Null),
        ("effective_at", Value::Null),
        ("ending_balance", Value::Null),
        ("footer", Value::Null),
        ("from_invoice", Value::Null),
        ("hosted_invoice_url", Value::Null),
        ("invoice_pdf", Value::Null),
        ("issuer", json!({"type": "self"})),
        ("last_finalization_error", Value::Null),
        ("latest_revision", Value::Null),
        (
            "lines",
            json!({
                "object": "list",
                "data": lines,
                "has_more": false,
                "total_count": lines.len(),
                "url": format!("/v1/invoices/{id}/lines"),
            }),
        ),
        ("next_payment_attempt", Value::Null),
        ("number", Value::Null),
        ("on_behalf_of", Value::Null),
        (
            "parent",
            json!({
                "quote_details": null,
                "subscription_details": {"metadata": sub["metadata"], "subscription": sub["id"]},
                "type": "subscription_details",
            }),
        ),
        (
            "payment_settings",
            json!({"default_mandate": null, "payment_method_options": null, "payment_method_types": null}),
        ),
        ("period_end", json!(period.1)),
        ("period_start", json!(period.0)),
        ("post_payment_credit_notes_amount", json!(0)),
        ("pre_payment_credit_notes_amount", json!(0)),
        ("receipt_number", Value::Null),
        ("rendering", Value::Null),
        ("shipping_cost", Value::Null),
        ("shipping_details", Value::Null),
        ("starting_balance", json!(0)),
        ("statement_descriptor", Value::Null),
        ("status", json!("draft")),
        (
            "status_transitions",
            json!({"finalized_at": null, "marked_uncollectible_at": null, "paid_at": null, "voided_at": null}),
        ),
        ("subtotal", json!(total)),
        ("subtotal_excluding_tax", json!(total)),
        ("test_clock", Value::Null),
        ("total", json!(total)),
        ("total_discount_amounts", json!([])),
        ("total_excluding_tax", json!(total)),
        ("total_pretax_credit_amounts", json!([])),
        ("total_taxes", json!([])),
        ("webhooks_delivered_at", json!(now)),
    ] {
        inv[k] = v;
    }
    let inv = db.insert(inv);
    db.emit("invoice.created", &inv, None);

    let mut open = inv.clone();
    open["status"] = json!("open");
    open["number"] = json!(format!("{prefix}-{sequence:04}"));
    open["effective_at"] = json!(now);
    open["ending_balance"] = json!(0);
    open["status_transitions"]["finalized_at"] = json!(now);
    let open = db.put(open);
    let mut cust = customer.clone();
    cust["next_invoice_sequence"] = json!(sequence + 1);
    db.put(cust);
    db.emit("invoice.finalized", &open, None);

    let pm = sub["default_payment_method"].as_str().map(str::to_string);
    pay_invoice(db, id, pm.as_deref())
}

/// Tries to collect an open invoice with a payment method (nothing to collect when
/// the amount is 0). Emits `invoice.paid` + `invoice.payment_succeeded`, or
/// `invoice.payment_failed`. Returns the invoice as it ends up.
fn pay_invoice(db: &mut Db, invoice_id: &str, pm: Option<&str>) -> ApiResult<Value> {
    let before = db.fetch("invoice", invoice_id, "invoice", "invoice")?;
    let now = db.now();
    let due = before["amount_due"].as_i64().unwrap_or(0);
    let mut inv = before.clone();
    if due == 0 || charge_succeeds(db, pm) {
        if due > 0 {
            inv["attempt_count"] = json!(before["attempt_count"].as_i64().unwrap_or(0) + 1);
            inv["attempted"] = json!(true);
        }
        inv["status"] = json!("paid");
        inv["amount_paid"] = json!(due);
        inv["amount_remaining"] = json!(0);
        inv["auto_advance"] = json!(false);
        inv["next_payment_attempt"] = Value::Null;
        inv["status_transitions"]["paid_at"] = json!(now);
        let inv = db.put(inv);
        db.emit("invoice.paid", &inv, None);
        db.emit("invoice.payment_succeeded", &inv, None);
        Ok(inv)
    } else {
        inv["attempt_count"] = json!(before["attempt_count"].as_i64().unwrap_or(0) + 1);
        inv["attempted"] = json!(true);
        inv["next_payment_attempt"] = json!(now + 3 * 86_400);
        let inv = db.put(inv);
        db.emit("invoice.payment_failed", &inv, None);
        Ok(inv)
    }
}

fn lines_for(
    db: &Db,
    sub: &Value,
    bill: impl Fn(&Value) -> Bill,
    period: (i64, i64),
) -> Vec<Value> {
    sub["items"]["data"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| line_item(db, sub, item, &bill(item), period))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Checkout.

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
        "subscription_create",
        (now, now),
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

fn period_end_anchor(now: i64, trial_end: Option<i64>) -> i64 {
    trial_end.unwrap_or(now)
}

// ---------------------------------------------------------------------------
// Subscriptions over time.

fn fetch_sub(db: &Db, id: &str) -> ApiResult<Value> {
    db.fetch("subscription", id, "subscription", "id")
}

fn emit_sub_updated(db: &mut Db, before: &Value, after: &Value) {
    if let Some(prev) = previous_attributes(before, after) {
        db.emit("customer.subscription.updated", after, Some(prev));
    }
}

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
        (at, end),
    );
    let inv = invoice_subscription(
        db,
        &sub,
        lines,
        "subscription_cycle",
        (at, at),
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

/// Starts the next period of an `active` or `past_due` subscription whose period
/// ended: licensed items are billed in advance for the new period, metered ones
/// for the usage of the ended period.
fn renew(db: &mut Db, subscription_id: &str) -> ApiResult<Value> {
    let before = fetch_sub(db, subscription_id)?;
    let (start, end) = period_of(&before);
    let price = first_price(&before);
    let anchor = before["billing_cycle_anchor"].as_i64().unwrap_or(start);
    let next_end = next_boundary(anchor, end, &interval(&price), interval_count(&price));
    let mut sub = before.clone();
    set_item_periods(&mut sub, end, next_end);
    let lines = lines_for(
        db,
        &sub,
        |item| {
            if is_metered(&item["price"]) {
                Bill::Usage { start, end }
            } else {
                Bill::Licensed
            }
        },
        (end, next_end),
    );
    let inv = invoice_subscription(
        db,
        &sub,
        lines,
        "subscription_cycle",
        (start, end),
        &new_id("in"),
    )?;
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

fn has_open_invoice(db: &Db, subscription_id: &str) -> bool {
    db.all("invoice").iter().any(|i| {
        i["status"] == "open"
            && i["parent"]["subscription_details"]["subscription"] == subscription_id
    })
}

fn end_subscription(db: &mut Db, subscription_id: &str, at: i64) -> ApiResult<Value> {
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

/// `POST /v1/invoices/{id}/pay`: charges an open invoice with `payment_method`, else
/// its subscription's default, else the customer's. A `past_due` subscription left
/// with no open invoice becomes `active`. A failed charge is recorded (attempt,
/// `invoice.payment_failed`) and answers a 402 `card_error`.
pub fn pay_open_invoice(db: &mut Db, invoice_id: &str, pm: Option<&str>) -> ApiResult<Value> {
    let inv = db.fetch("invoice", invoice_id, "invoice", "invoice")?;
    if inv["status"] == "paid" {
        return Err(ApiError::invalid("Invoice is already paid"));
    }
    if inv["status"] != "open" {
        return Err(ApiError::invalid(format!(
            "You can only pay an invoice whose status is open (this one is {}).",
            inv["status"].as_str().unwrap_or_default()
        )));
    }
    if let Some(pm) = pm {
        let obj = db.fetch_param("payment_method", pm, "PaymentMethod", "payment_method")?;
        if obj["customer"] != inv["customer"] {
            return Err(ApiError::invalid_param(
                "payment_method",
                "The payment method must be attached to the invoice's customer.",
            ));
        }
    }
    let sub_id = str_of(&inv["parent"]["subscription_details"]["subscription"]);
    let sub = db.get(&sub_id).cloned().unwrap_or(Value::Null);
    let customer = db
        .get(&str_of(&inv["customer"]))
        .cloned()
        .unwrap_or(Value::Null);
    let pm = pm
        .map(str::to_string)
        .or_else(|| sub["default_payment_method"].as_str().map(str::to_string))
        .or_else(|| {
            customer["invoice_settings"]["default_payment_method"]
                .as_str()
                .map(str::to_string)
        });
    let after = pay_invoice(db, invoice_id, pm.as_deref())?;
    if after["status"] != "paid" {
        return Err(declined());
    }
    if sub["status"] == "past_due" && !has_open_invoice(db, &sub_id) {
        let mut active = sub.clone();
        active["status"] = json!("active");
        let active = save_subscription(db, active);
        emit_sub_updated(db, &sub, &active);
    }
    Ok(after)
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

/// Checks the clock every second so trials and periods end on their own too
/// (dispatching and saving only when something came due).
pub fn spawn_clock(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let changed = app.write(|db| {
                let before = db.outbox.len();
                run_due(db);
                Ok(db.outbox.len() > before)
            });
            if changed.unwrap_or(false) {
                app.flush().await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_clamp_and_keep_the_time_of_day() {
        // 2026-01-31 10:00:00 UTC
        let jan31 = days_from_civil(2026, 1, 31) * 86_400 + 36_000;
        let feb = add_interval(jan31, "month", 1);
        assert_eq!(civil(feb), (2026, 2, 28));
        assert_eq!(feb.rem_euclid(86_400), 36_000);
        assert_eq!(civil(add_interval(jan31, "month", 2)), (2026, 3, 31));
        assert_eq!(civil(add_interval(jan31, "year", 1)), (2027, 1, 31));
        assert_eq!(add_interval(jan31, "week", 1) - jan31, 7 * 86_400);
        // Anchored boundaries do not drift after a short month.
        assert_eq!(civil(next_boundary(jan31, feb, "month", 1)), (2026, 3, 31));
    }

    #[test]
    fn luhn_and_brands() {
        let card = |n: &str| Card {
            number: n.into(),
            exp_month: 12,
            exp_year: 2099,
            cvc: "123".into(),
            name: String::new(),
            country: "US".into(),
            postal_code: None,
        };
        assert!(luhn("4242424242424242"));
        assert!(!luhn("4242424242424241"));
        assert_eq!(card("5555555555554444").brand(), "mastercard");
        assert_eq!(
            card("4000000000000341").check(0).unwrap(),
            CardBehaviour::AttachesThenFails
        );
        assert_eq!(
            card("4000000000000002")
                .check(0)
                .unwrap_err()
                .status
                .as_u16(),
            402
        );
        assert_eq!(
            card("1234").check(0).unwrap_err().code,
            Some("incorrect_number")
        );
    }

    #[test]
    fn usage_follows_the_meters_formula_customer_and_period() {
        let mut db = Db::default();
        let mut meter = base_object(&db, "mtr", "billing.meter");
        meter["event_name"] = json!("clicks");
        meter["default_aggregation"] = json!({"formula": "sum"});
        let meter = db.insert(meter);
        let price = json!({"recurring": {"meter": meter["id"], "usage_type": "metered"}});
        for (customer, value, timestamp) in [
            ("cus_a", 2, 100),
            ("cus_a", 3, 150),
            ("cus_b", 7, 150),
            ("cus_a", 5, 200),
        ] {
            db.meter_events.push(crate::state::MeterEvent {
                identifier: new_id("id"),
                event_name: "clicks".into(),
                customer: customer.into(),
                value,
                timestamp,
                created: timestamp,
            });
        }
        // [start, end): the event at 200 belongs to the next period.
        assert_eq!(usage(&db, &price, "cus_a", 100, 200), 5);
        assert_eq!(usage(&db, &price, "cus_a", 100, 201), 10);
        assert_eq!(usage(&db, &price, "cus_b", 0, 1000), 7);
        let mut m = db.get(&str_of(&meter["id"])).cloned().unwrap();
        m["default_aggregation"]["formula"] = json!("count");
        db.put(m.clone());
        assert_eq!(usage(&db, &price, "cus_a", 0, 1000), 3);
        m["default_aggregation"]["formula"] = json!("last");
        db.put(m);
        assert_eq!(usage(&db, &price, "cus_a", 0, 1000), 5);
        assert_eq!(
            usage(
                &db,
                &json!({"recurring": {"meter": "mtr_missing"}}),
                "cus_a",
                0,
                1000
            ),
            0
        );
    }
}
