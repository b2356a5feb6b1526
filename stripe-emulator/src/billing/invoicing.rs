//! Invoicing a subscription: the lines (licensed in advance, trial, metered usage in
//! arrears), the invoice of each cycle, and collecting it with the test-card rules
//! (the invoice object's own life, draft to open, is [`super::invoice`]).

use serde_json::{Value, json};

use super::{
    cards::{charge_succeeds, declined},
    invoice,
    pricing::{is_metered, price_label, product_name, unit_amount},
    subscriptions::{emit_sub_updated, has_open_invoice, save_subscription},
};
use crate::{
    error::{ApiError, ApiResult},
    state::{Db, new_id, str_of},
};

/// How a line is billed.
pub(super) enum Bill {
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

pub(super) fn line_item(
    db: &Db,
    sub: &Value,
    item: &Value,
    bill: &Bill,
    period: (i64, i64),
) -> Value {
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

/// Drafts, finalizes and tries to pay a subscription invoice with the given lines
/// at once, as Stripe does for the invoice that starts a subscription or one an API
/// update makes: `invoice.created`, `invoice.finalized`, then `invoice.paid` +
/// `invoice.payment_succeeded` or `invoice.payment_failed`. Returns the invoice.
pub(super) fn invoice_subscription(
    db: &mut Db,
    sub: &Value,
    lines: Vec<Value>,
    why: (&str, (i64, i64)),
    id: &str,
) -> ApiResult<Value> {
    invoice::draft(db, sub, lines, why, id, None)?;
    collect(db, id)
}

/// Finalizes a draft and charges it with its subscription's default payment method
/// as it is now (a card replaced during the grace period is the one charged).
pub(super) fn collect(db: &mut Db, invoice_id: &str) -> ApiResult<Value> {
    let inv = invoice::finalize(db, invoice_id)?;
    let sub_id = str_of(&inv["parent"]["subscription_details"]["subscription"]);
    let pm = db
        .get(&sub_id)
        .and_then(|s| s["default_payment_method"].as_str())
        .map(str::to_string);
    pay_invoice(db, invoice_id, pm.as_deref())
}

/// Tries to collect an open invoice with a payment method (nothing to collect when
/// the amount is 0). Emits `invoice.paid` + `invoice.payment_succeeded`, or
/// `invoice.payment_failed`. Returns the invoice as it ends up.
pub(super) fn pay_invoice(db: &mut Db, invoice_id: &str, pm: Option<&str>) -> ApiResult<Value> {
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

/// Drafts the invoice of a new billing cycle of `sub` (`invoice.created`):
/// licensed items in advance for `period`, metered ones for their usage in `used`,
/// which is also the invoice's period. It is finalized and charged
/// [`invoice::FINALIZATION_GRACE`] later, when the clock gets there.
pub(super) fn draft_cycle(
    db: &mut Db,
    sub: &Value,
    used: (i64, i64),
    period: (i64, i64),
) -> ApiResult<Value> {
    let (start, end) = used;
    let lines = lines_for(
        db,
        sub,
        |item| {
            if is_metered(&item["price"]) {
                Bill::Usage { start, end }
            } else {
                Bill::Licensed
            }
        },
        period,
    );
    let finalizes_at = db.now() + invoice::FINALIZATION_GRACE;
    invoice::draft(
        db,
        sub,
        lines,
        ("subscription_cycle", used),
        &new_id("in"),
        Some(finalizes_at),
    )
}

pub(super) fn lines_for(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::base_object;

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
