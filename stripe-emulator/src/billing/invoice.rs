//! The invoice object through its life: a draft (`invoice.created`), then open once
//! finalized (`invoice.finalized`: it gets its `number` and its hosted page,
//! `hosted_invoice_url`); [`super::invoicing`] charges it.
//!
//! When Stripe finalizes: an invoice that starts a subscription is finalized and
//! charged at once; one a subscription makes as its period renews (or its trial ends
//! by the clock) stays a draft for the account's finalization grace period, one hour
//! by default, so the integration can react to `invoice.created` and add items; then
//! it is finalized and charged. The emulator keeps that hour on its own clock
//! ([`FINALIZATION_GRACE`], `automatically_finalizes_at`): advancing the clock to a
//! period's end drafts the invoice, and another hour finalizes and charges it.

use serde_json::{Value, json};

use crate::{
    error::ApiResult,
    state::{Db, base_object, str_of},
};

/// How long a renewal invoice stays a draft before it is finalized and charged
/// (Stripe's default invoice finalization grace period).
pub const FINALIZATION_GRACE: i64 = 3_600;

/// Where an invoice's hosted page lives: `/i/{token}` on the emulator.
pub const HOSTED_PATH: &str = "/i/";

/// Drafts a subscription invoice with `lines` (emits `invoice.created`). With
/// `finalizes_at`, it waits for the clock to finalize it ([`finalize`] by
/// [`super::run_due`]); without, the caller finalizes it now.
pub(super) fn draft(
    db: &mut Db,
    sub: &Value,
    lines: Vec<Value>,
    (reason, period): (&str, (i64, i64)),
    id: &str,
    finalizes_at: Option<i64>,
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
        ("automatically_finalizes_at", json!(finalizes_at)),
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
        ("next_payment_attempt", json!(finalizes_at)),
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
    Ok(inv)
}

/// Finalizes a draft (emits `invoice.finalized`): it is `open`, numbered with the
/// customer's prefix and next sequence (`ABCD1234-0001`), and has its hosted page.
pub(super) fn finalize(db: &mut Db, invoice_id: &str) -> ApiResult<Value> {
    let inv = db.fetch("invoice", invoice_id, "invoice", "invoice")?;
    let customer = db.fetch(
        "customer",
        &str_of(&inv["customer"]),
        "customer",
        "customer",
    )?;
    let sequence = customer["next_invoice_sequence"].as_i64().unwrap_or(1);
    let prefix = customer["invoice_prefix"]
        .as_str()
        .unwrap_or("INV")
        .to_string();
    let now = db.now();
    let mut open = inv;
    open["status"] = json!("open");
    if open["number"].is_null() {
        open["number"] = json!(format!("{prefix}-{sequence:04}"));
        let mut cust = customer;
        cust["next_invoice_sequence"] = json!(sequence + 1);
        db.put(cust);
    }
    open["automatically_finalizes_at"] = Value::Null;
    open["effective_at"] = json!(now);
    open["ending_balance"] = json!(0);
    open["hosted_invoice_url"] = json!(format!(
        "{}{HOSTED_PATH}{}",
        db.public_url,
        crate::state::random_id("test_", 48)
    ));
    open["next_payment_attempt"] = json!(now);
    open["status_transitions"]["finalized_at"] = json!(now);
    let open = db.put(open);
    db.emit("invoice.finalized", &open, None);
    Ok(open)
}

/// The invoice whose hosted page is `/i/{token}`.
pub fn by_hosted_token(db: &Db, token: &str) -> Option<Value> {
    let suffix = format!("{HOSTED_PATH}{token}");
    db.all("invoice").into_iter().find(|i| {
        i["hosted_invoice_url"]
            .as_str()
            .is_some_and(|url| url.ends_with(&suffix))
    })
}
