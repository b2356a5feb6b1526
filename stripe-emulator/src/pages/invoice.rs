//! The hosted invoice page, `GET /i/{token}`: where an invoice's `hosted_invoice_url`
//! leads once it is finalized. It shows what Stripe's page shows a customer: the
//! amount, whether and when it was paid, the number, dates, who was billed, the
//! lines and the totals. Paying an open invoice on the page is not emulated (a new
//! card in the portal, or `POST /v1/invoices/{id}/pay`, settles it).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde_json::Value;

use super::{business_name, date, document, esc, not_found};
use crate::{
    app::App,
    billing::{self, money},
};

pub async fn show(State(app): State<App>, Path(token): Path<String>) -> Response {
    let found = app.read(|db| {
        billing::invoice::by_hosted_token(db, &token).map(|inv| (inv, business_name(db)))
    });
    match found {
        Some((invoice, business)) => render(&invoice, &business),
        None => not_found(),
    }
}

fn render(inv: &Value, business: &str) -> Response {
    let currency = inv["currency"].as_str().unwrap_or("usd");
    let amount = |field: &str| money(inv[field].as_i64().unwrap_or(0), currency);
    let status = inv["status"].as_str().unwrap_or("open");
    let number = inv["number"].as_str().unwrap_or_default();
    let when = match status {
        "paid" => inv["status_transitions"]["paid_at"]
            .as_i64()
            .map(|t| format!("Paid {}", date(t))),
        "open" if inv["attempted"] == Value::Bool(true) => Some(
            "The last payment attempt failed. Update your payment method to pay this invoice."
                .to_string(),
        ),
        "open" => Some("Due now".to_string()),
        _ => None,
    }
    .unwrap_or_default();
    let issued = inv["effective_at"]
        .as_i64()
        .or_else(|| inv["created"].as_i64())
        .map(date)
        .unwrap_or_default();
    let billed_to = inv["customer_email"]
        .as_str()
        .or_else(|| inv["customer_name"].as_str())
        .unwrap_or_default();
    let lines: String = inv["lines"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|line| {
            let period = match (
                line["period"]["start"].as_i64(),
                line["period"]["end"].as_i64(),
            ) {
                (Some(start), Some(end)) if start != end => {
                    format!("{} – {}", date(start), date(end))
                }
                (Some(at), _) => date(at),
                _ => String::new(),
            };
            format!(
                r#"<tr class="invoice-line"><td><p class="line-name">{}</p><p class="line-detail">{}</p></td><td class="qty">{}</td><td class="num">{}</td></tr>"#,
                esc(line["description"].as_str().unwrap_or_default()),
                esc(&period),
                line["quantity"].as_i64().unwrap_or(0),
                esc(&money(line["amount"].as_i64().unwrap_or(0), currency)),
            )
        })
        .collect();
    let title = format!("Invoice {number}");
    let body = format!(
        r#"<main class="invoice-page"><div class="invoice">
<header class="invoice-head"><p class="invoice-business">{business}</p><span class="test-badge">Test mode</span></header>
<p class="muted">Invoice from {business}</p>
<p class="amount" id="invoice-amount">{total}</p>
<p><span class="badge status-{status_class}" id="invoice-status">{status_label}</span> <span class="muted" id="invoice-when">{when}</span></p>
<dl class="invoice-facts">
<dt>Invoice number</dt><dd id="invoice-number">{number}</dd>
<dt>Date of issue</dt><dd>{issued}</dd>
<dt>Billed to</dt><dd id="invoice-customer">{billed_to}</dd>
</dl>
<table class="invoice-lines"><thead><tr><th>Description</th><th class="qty">Qty</th><th class="num">Amount</th></tr></thead>
<tbody>{lines}</tbody></table>
<ul class="totals">
<li class="total-row"><span>Subtotal</span><span>{subtotal}</span></li>
<li class="total-row total"><span>Total</span><span>{total}</span></li>
<li class="total-row"><span>Amount paid</span><span id="invoice-amount-paid">{paid}</span></li>
<li class="total-row"><span>Amount remaining</span><span id="invoice-amount-remaining">{remaining}</span></li>
</ul>
</div></main>"#,
        business = esc(business),
        total = esc(&amount("total")),
        subtotal = esc(&amount("subtotal")),
        paid = esc(&amount("amount_paid")),
        remaining = esc(&amount("amount_remaining")),
        status_class = esc(status),
        status_label = esc(&label(status)),
        when = esc(&when),
        number = esc(number),
        issued = esc(&issued),
        billed_to = esc(billed_to),
    );
    document(StatusCode::OK, &title, &body)
}

/// `Paid`, `Open`, `Uncollectible`…
fn label(status: &str) -> String {
    let mut chars = status.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
