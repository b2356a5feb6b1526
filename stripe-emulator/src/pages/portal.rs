//! The hosted Customer Portal: `GET /p/session/{id}` (subscriptions, payment
//! method, invoices); its actions, the cancel step and the payment-method form, are
//! in [`actions`]. Each honours the session's `billing_portal.configuration`.

pub(super) mod actions;

use std::collections::HashMap;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use serde_json::Value;

use super::{date, document, esc, not_found, price_phrase};
use crate::{app::App, billing, state::Db};

/// A portal session with what it shows.
struct Portal {
    id: String,
    headline: String,
    return_url: String,
    email: String,
    customer: String,
    features: Features,
    cancel_mode: CancelMode,
    /// Live subscriptions (not canceled), newest first.
    subscriptions: Vec<Value>,
    invoices: Vec<Value>,
    payment_method: Option<Value>,
    /// How each subscribed price is charged, in words (by price id).
    phrases: HashMap<String, String>,
}

#[derive(Debug, Clone, Copy)]
struct Features {
    payment_method_update: bool,
    invoice_history: bool,
    subscription_cancel: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CancelMode {
    Immediately,
    AtPeriodEnd,
}

impl Portal {
    fn load(db: &Db, id: &str) -> Option<Self> {
        let session = db
            .get(id)
            .filter(|s| s["object"] == "billing_portal.session")?
            .clone();
        let config = session["configuration"]
            .as_str()
            .and_then(|c| db.get(c))
            .cloned()
            .unwrap_or(Value::Null);
        let customer_id = session["customer"].as_str()?.to_string();
        let customer = db.get(&customer_id).cloned().unwrap_or(Value::Null);
        let enabled = |feature: &str| config["features"][feature]["enabled"] == Value::Bool(true);
        let subscriptions: Vec<Value> = db
            .all("subscription")
            .into_iter()
            .filter(|s| s["customer"] == customer_id.as_str())
            .filter(|s| {
                !matches!(
                    s["status"].as_str(),
                    Some("canceled" | "incomplete_expired")
                )
            })
            .collect();
        let invoices = db
            .all("invoice")
            .into_iter()
            .filter(|i| i["customer"] == customer_id.as_str() && i["status"] != "draft")
            .collect();
        let payment_method = customer["invoice_settings"]["default_payment_method"]
            .as_str()
            .or_else(|| {
                subscriptions
                    .first()
                    .and_then(|s| s["default_payment_method"].as_str())
            })
            .and_then(|pm| db.get(pm))
            .cloned();
        let phrases = subscriptions
            .iter()
            .filter_map(|s| s["items"]["data"].as_array())
            .flatten()
            .filter_map(|item| {
                let price = &item["price"];
                Some((price["id"].as_str()?.to_string(), price_phrase(db, price)))
            })
            .collect();
        Some(Self {
            id: id.to_string(),
            headline: config["business_profile"]["headline"]
                .as_str()
                .filter(|h| !h.is_empty())
                .unwrap_or("Manage your billing")
                .to_string(),
            return_url: session["return_url"].as_str().unwrap_or("/").to_string(),
            email: customer["email"].as_str().unwrap_or_default().to_string(),
            customer: customer_id,
            features: Features {
                payment_method_update: enabled("payment_method_update"),
                invoice_history: enabled("invoice_history"),
                subscription_cancel: enabled("subscription_cancel"),
            },
            cancel_mode: if config["features"]["subscription_cancel"]["mode"] == "at_period_end" {
                CancelMode::AtPeriodEnd
            } else {
                CancelMode::Immediately
            },
            subscriptions,
            invoices,
            payment_method,
            phrases,
        })
    }

    fn home_url(&self) -> String {
        format!("/p/session/{}", self.id)
    }

    /// A live subscription of this customer, if `sub` is one.
    fn subscription(&self, sub: &str) -> Option<&Value> {
        self.subscriptions.iter().find(|s| s["id"] == sub)
    }

    /// The frame every portal page shares: the business side with the return link,
    /// and `main` on the other.
    fn page(&self, status: StatusCode, title: &str, main: &str) -> Response {
        let body = format!(
            r#"<div class="portal">
<aside class="portal-business">
  <p class="portal-headline">{headline}</p>
  <span class="test-badge">Test mode</span>
  <a class="return-link" data-testid="return-to-business-link" href="{return_url}">&larr; Return to {headline}</a>
  <p class="portal-note">{headline} partners with Stripe for simplified billing.</p>
</aside>
<main class="portal-main">
{main}
</main>
</div>"#,
            headline = esc(&self.headline),
            return_url = esc(&self.return_url),
        );
        document(status, &format!("{title} – {}", self.headline), &body)
    }

    fn home(&self, notice: Option<&str>) -> Response {
        let notice = notice
            .map(|n| format!(r#"<div class="notice" role="status">{}</div>"#, esc(n)))
            .unwrap_or_default();
        let subscriptions = if self.subscriptions.is_empty() {
            r#"<p class="empty" id="no-subscriptions">You have no current subscriptions.</p>"#
                .to_string()
        } else {
            self.subscriptions
                .iter()
                .map(|s| self.subscription_card(s))
                .collect()
        };
        let payment = if self.features.payment_method_update {
            let current = match &self.payment_method {
                Some(pm) => format!(
                    r#"<p class="pm" id="payment-method"><span class="brand">{}</span> •••• {} <span class="muted">Expires {:02}/{}</span> <span class="badge">Default</span></p>"#,
                    esc(&capitalize(pm["card"]["brand"].as_str().unwrap_or("card"))),
                    esc(pm["card"]["last4"].as_str().unwrap_or("")),
                    pm["card"]["exp_month"].as_i64().unwrap_or(0),
                    pm["card"]["exp_year"].as_i64().unwrap_or(0),
                ),
                None => r#"<p class="empty">No payment method on file.</p>"#.to_string(),
            };
            format!(
                r#"<section class="portal-section"><h2>Payment method</h2>{current}<a class="text-link" data-testid="update-payment-method" href="{}/payment-method">+ Add payment method</a></section>"#,
                esc(&self.home_url())
            )
        } else {
            String::new()
        };
        let invoices = if self.features.invoice_history {
            let rows: String = if self.invoices.is_empty() {
                r#"<tr><td colspan="4" class="empty">No invoices yet.</td></tr>"#.to_string()
            } else {
                self.invoices
                    .iter()
                    .map(|i| {
                        format!(
                            r#"<tr class="invoice-row"><td><a href="{url}">{}</a></td><td>{}</td><td><span class="badge status-{status}">{}</span></td><td class="muted">{}</td></tr>"#,
                            esc(&date(i["created"].as_i64().unwrap_or(0))),
                            esc(&billing::money(
                                i["total"].as_i64().or_else(|| i["amount_due"].as_i64()).unwrap_or(0),
                                i["currency"].as_str().unwrap_or("usd"),
                            )),
                            esc(&capitalize(i["status"].as_str().unwrap_or(""))),
                            esc(i["number"].as_str().unwrap_or("")),
                            status = esc(i["status"].as_str().unwrap_or("")),
                            url = esc(i["hosted_invoice_url"].as_str().unwrap_or("")),
                        )
                    })
                    .collect()
            };
            format!(
                r#"<section class="portal-section" id="invoice-history"><h2>Invoice history</h2><table class="invoices"><tbody>{rows}</tbody></table></section>"#
            )
        } else {
            String::new()
        };
        let main = format!(
            r#"{notice}
<section class="portal-section"><h2>Current subscription</h2>{subscriptions}</section>
{payment}
{invoices}
<section class="portal-section"><h2>Account information</h2><p class="muted" id="customer-email">{email}</p></section>"#,
            email = esc(&self.email),
        );
        self.page(StatusCode::OK, "Billing", &main)
    }

    fn subscription_card(&self, sub: &Value) -> String {
        let items = sub["items"]["data"].as_array().cloned().unwrap_or_default();
        let names: String = items
            .iter()
            .map(|item| {
                format!(
                    r#"<p class="sub-name">{}</p>"#,
                    esc(item["price"]["nickname"].as_str().unwrap_or("Subscription"))
                )
            })
            .collect();
        let status = sub["status"].as_str().unwrap_or("");
        let period_end = items
            .first()
            .and_then(|i| i["current_period_end"].as_i64())
            .or_else(|| sub["current_period_end"].as_i64());
        let detail = if sub["cancel_at_period_end"] == Value::Bool(true) {
            sub["cancel_at"]
                .as_i64()
                .or(period_end)
                .map(|t| format!("Cancels {}", date(t)))
        } else {
            match status {
                "trialing" => sub["trial_end"].as_i64().map(|t| format!("Your trial ends on {}", date(t))),
                "past_due" => Some("Your last payment failed. Update your payment method to keep your subscription.".to_string()),
                _ => period_end.map(|t| format!("Renews on {}", date(t))),
            }
        }
        .unwrap_or_default();
        let cancel = if self.features.subscription_cancel
            && sub["cancel_at_period_end"] != Value::Bool(true)
        {
            format!(
                r#"<a class="button-link danger" data-test="cancel-subscription" href="{}/subscriptions/{}/cancel">Cancel subscription</a>"#,
                esc(&self.home_url()),
                esc(sub["id"].as_str().unwrap_or(""))
            )
        } else {
            String::new()
        };
        format!(
            r#"<div class="subscription" data-subscription-id="{id}">
  <div class="sub-head">{names}<span class="badge status-{status}">{status_label}</span></div>
  <p class="sub-price">{prices}</p>
  <p class="muted sub-detail">{detail}</p>
  {cancel}
</div>"#,
            id = esc(sub["id"].as_str().unwrap_or("")),
            status = esc(status),
            status_label = esc(status_label(status)),
            prices = items
                .iter()
                .map(|i| esc(&self.price_text(i)))
                .collect::<Vec<_>>()
                .join("<br>"),
            detail = esc(&detail),
        )
    }

    fn price_text(&self, item: &Value) -> String {
        let price = &item["price"];
        let phrase = self
            .phrases
            .get(price["id"].as_str().unwrap_or(""))
            .cloned()
            .unwrap_or_else(|| billing::price_label(price));
        match item["quantity"].as_i64() {
            Some(q) if q > 1 => format!("{phrase} × {q}"),
            _ => phrase,
        }
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "trialing" => "Trial",
        "active" => "Active",
        "past_due" => "Past due",
        "unpaid" => "Unpaid",
        "incomplete" => "Incomplete",
        "paused" => "Paused",
        "canceled" => "Canceled",
        _ => "",
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    #[serde(default)]
    notice: Option<String>,
}

pub async fn home(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(q): Query<HomeQuery>,
) -> Response {
    let Some(portal) = app.read(|db| Portal::load(db, &id)) else {
        return not_found();
    };
    let notice = match q.notice.as_deref() {
        Some("canceled") => Some("Your subscription has been canceled."),
        Some("cancel_scheduled") => {
            Some("Your subscription will be canceled at the end of the billing period.")
        }
        Some("payment_method_updated") => Some("Your payment method has been updated."),
        _ => None,
    };
    portal.home(notice)
}
