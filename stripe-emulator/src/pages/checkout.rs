//! The hosted Checkout page: `GET /c/pay/{session}` shows it, `POST` pays (from the
//! page's script as JSON, or as a plain form post without scripts).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde_json::{Value, json};

use super::{
    Refusal, accepted, business_name,
    card_form::{CardForm, EmailField, FieldErrors, Posted, alert},
    date, document, esc, message_page, missing, not_found, price_phrase, product_name,
};
use crate::{
    app::App,
    billing::{self, Card},
    error::ApiResult,
    state::Db,
};

/// A Checkout Session as the page shows it.
struct View {
    id: String,
    business: String,
    /// Why it cannot be paid any more, if so.
    closed: Option<Closed>,
    /// The email Checkout already knows (read-only), or `None` to ask for it.
    email: Option<String>,
    /// Whether to show the email field at all.
    ask_email: bool,
    cancel_url: Option<String>,
    title: String,
    summary: String,
    lines: Vec<Line>,
    trial_days: Option<i64>,
    /// The date the trial ends if it started now.
    trial_end: Option<String>,
    due_today: String,
    /// The big figure without a trial: (amount, what it is per), e.g. ("$60.00", "per month").
    price: Option<(String, String)>,
    /// How long the page keeps showing "Processing" after the payment went through.
    confirm_delay_ms: u64,
}

/// A session that can no longer be paid: what the page says instead.
struct Closed {
    title: &'static str,
    message: &'static str,
    /// Where to go from here: (URL, link text).
    link: Option<(String, &'static str)>,
}

struct Line {
    name: String,
    quantity: Option<i64>,
    phrase: String,
    amount: String,
}

impl View {
    fn load(db: &Db, id: &str, confirm_delay_ms: u64) -> Option<Self> {
        let session = db
            .fetch("checkout.session", id, "checkout session", "session")
            .ok()?;
        let setup = billing::session_setup(db, id).unwrap_or(Value::Null);
        let now = db.now();
        let cancel_url = session["cancel_url"].as_str().map(str::to_string);
        let closed = match session["status"].as_str() {
            Some("complete") => Some(Closed {
                title: "You're all set",
                message: "This checkout is complete: the payment details were received and the subscription has started.",
                link: success_url(&session, id).map(|u| (u, "Continue")),
            }),
            _ if session["status"] != "open"
                || session["expires_at"].as_i64().is_some_and(|t| t <= now) =>
            {
                Some(Closed {
                    title: "This checkout session has expired",
                    message: "The link you followed is no longer valid. Go back and start the checkout again.",
                    link: cancel_url.clone().map(|u| (u, "Go back")),
                })
            }
            _ => None,
        };
        let customer = session["customer"]
            .as_str()
            .and_then(|c| db.get(c))
            .cloned()
            .unwrap_or(Value::Null);
        let email = customer["email"]
            .as_str()
            .or_else(|| session["customer_email"].as_str())
            .or_else(|| session["customer_details"]["email"].as_str())
            .map(str::to_string);
        let ask_email = email.is_none() && customer.is_null();
        let items = setup["line_items"]["data"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let trial_days = setup["subscription_data"]["trial_period_days"].as_i64();
        let currency = session["currency"].as_str().unwrap_or("usd").to_string();
        let lines: Vec<Line> = items
            .iter()
            .map(|item| {
                let price = price_of(db, &item["price"]);
                let quantity = item["quantity"].as_i64();
                let amount = match quantity {
                    Some(q) => {
                        billing::money(q * price["unit_amount"].as_i64().unwrap_or(0), &currency)
                    }
                    None => "Billed by usage".to_string(),
                };
                Line {
                    name: product_name(db, &price),
                    quantity,
                    phrase: price_phrase(db, &price),
                    amount,
                }
            })
            .collect();
        let then = match lines.as_slice() {
            [one] => Some(one.phrase.clone()),
            _ => None,
        };
        let summary = match (trial_days, &then) {
            (Some(days), Some(then)) => format!("{}, then {then}", days_free(days)),
            (Some(days), None) => format!("{}, then billed as below", days_free(days)),
            (None, _) => String::new(),
        };
        let price = match (items.as_slice(), &then) {
            ([item], Some(then)) => {
                let unit_price = price_of(db, &item["price"]);
                let amount =
                    billing::money(unit_price["unit_amount"].as_i64().unwrap_or(0), &currency);
                let per = then
                    .strip_prefix(&amount)
                    .unwrap_or(then)
                    .trim()
                    .to_string();
                Some((amount, per))
            }
            _ => None,
        };
        let title = match lines.as_slice() {
            [one] => one.name.clone(),
            _ => "Subscription".to_string(),
        };
        Some(Self {
            id: id.to_string(),
            business: business_name(db),
            closed,
            email,
            ask_email,
            cancel_url,
            title,
            summary,
            lines,
            trial_days,
            trial_end: trial_days.map(|days| date(now + days * 86_400)),
            due_today: billing::money(
                if trial_days.is_some() {
                    0
                } else {
                    session["amount_total"].as_i64().unwrap_or(0)
                },
                &currency,
            ),
            price,
            confirm_delay_ms,
        })
    }

    fn render(
        &self,
        form: &CardForm,
        errors: &FieldErrors,
        banner: Option<&str>,
        status: StatusCode,
    ) -> Response {
        if let Some(closed) = &self.closed {
            return message_page(
                StatusCode::OK,
                closed.title,
                closed.message,
                closed
                    .link
                    .as_ref()
                    .map(|(href, text)| (href.as_str(), *text)),
            );
        }
        let back = match &self.cancel_url {
            Some(url) => format!(
                r#"<a class="back" href="{}" id="cancel-link" data-testid="business-link">&larr; <span>{}</span></a>"#,
                esc(url),
                esc(&self.business)
            ),
            None => format!(r#"<span class="back">{}</span>"#, esc(&self.business)),
        };
        let headline = match (self.trial_days, &self.price) {
            (Some(days), _) => format!(r#"<p class="amount">{}</p>"#, esc(&days_free(days))),
            (None, Some((amount, per))) => format!(
                r#"<p class="amount">{} <span class="per">{}</span></p>"#,
                esc(amount),
                esc(per)
            ),
            (None, None) => format!(r#"<p class="amount">{}</p>"#, esc(&self.due_today)),
        };
        let summary = if self.summary.is_empty() {
            String::new()
        } else {
            format!(
                r#"<p class="summary" id="ProductSummary-description">{}</p>"#,
                esc(&self.summary)
            )
        };
        let lines: String = self
            .lines
            .iter()
            .map(|l| {
                let qty = l.quantity.map(|q| format!("Qty {q} · ")).unwrap_or_default();
                format!(
                    r#"<li class="line-item"><div><p class="line-name">{}</p><p class="line-detail">{}{}</p></div><p class="line-amount">{}</p></li>"#,
                    esc(&l.name),
                    esc(&qty),
                    esc(&l.phrase),
                    esc(&l.amount)
                )
            })
            .collect();
        let trial_note = match (self.trial_days, &self.trial_end) {
            (Some(days), Some(end)) => format!(
                r#"<li class="total-row"><span>Free trial</span><span>{}</span></li><li class="total-row"><span>Trial ends</span><span>{}</span></li>"#,
                esc(&days_free(days)),
                esc(end)
            ),
            _ => String::new(),
        };
        let email = match (&self.email, self.ask_email) {
            (_, true) => EmailField::Asked,
            (Some(email), false) => EmailField::Known(email),
            (None, false) => EmailField::Hidden,
        };
        let fields = form.fields_html(email, errors);
        let submit = if self.trial_days.is_some() {
            "Start trial"
        } else {
            "Subscribe"
        };
        let body = format!(
            r#"<div class="checkout">
<section class="summary-pane">
  <header>{back}<span class="test-badge">Test mode</span></header>
  <div class="product-summary">
    <p class="product-title">{title_prefix} {title}</p>
    {headline}
    {summary}
  </div>
  <ul class="line-items">{lines}</ul>
  <ul class="totals">{trial_note}<li class="total-row total"><span>Total due today</span><span id="total-due-today">{due}</span></li></ul>
</section>
<section class="payment-pane">
  <form method="post" action="/c/pay/{id}" class="payment-form" data-confirm-delay-ms="{delay}" novalidate>
    <h2>Pay with card</h2>
    {banner}
    {fields}
    <label class="stripe-pass"><input type="checkbox" name="enableStripePass" value="true"> <span>Securely save my information for 1-click checkout</span></label>
    <button type="submit" class="pay SubmitButton" data-testid="hosted-payment-submit-button"><span>{submit}</span></button>
    <p class="fine-print">By confirming your subscription, you allow {business} to charge your card for this payment and future payments in accordance with their terms.</p>
  </form>
  <footer>Powered by the Stripe emulator</footer>
</section>
</div>"#,
            title_prefix = if self.trial_days.is_some() {
                "Try"
            } else {
                "Subscribe to"
            },
            title = esc(&self.title),
            due = esc(&self.due_today),
            id = esc(&self.id),
            delay = self.confirm_delay_ms,
            banner = alert(banner),
            business = esc(&self.business),
        );
        document(status, &format!("{} – Checkout", self.business), &body)
    }
}

fn days_free(days: i64) -> String {
    if days == 1 {
        "1 day free".into()
    } else {
        format!("{days} days free")
    }
}

fn price_of(db: &Db, price: &Value) -> Value {
    match price {
        Value::String(id) => db.get(id).cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

fn view(app: &App, id: &str) -> Option<View> {
    let delay = app.config.checkout_confirm_delay_ms;
    app.read(|db| View::load(db, id, delay))
}

pub async fn show(State(app): State<App>, Path(id): Path<String>) -> Response {
    match view(&app, &id) {
        Some(view) => view.render(&CardForm::default(), &Vec::new(), None, StatusCode::OK),
        None => not_found(),
    }
}

/// Pays. The page's script gets JSON: where to go (`success_url`) or what to show
/// inline; a plain form post gets a 303 to `success_url` or the page again.
pub async fn pay(
    State(app): State<App>,
    Path(id): Path<String>,
    Posted { json, form }: Posted,
) -> Response {
    let Some(view) = view(&app, &id) else {
        return missing(json, "checkout session", &id, "session");
    };
    if view.closed.is_some() && !json {
        return view.render(&form, &Vec::new(), None, StatusCode::OK);
    }
    let paid = form
        .parse(view.ask_email)
        .map_err(Refusal::fields)
        .and_then(|card| {
            let email = view.ask_email.then(|| form.email.clone());
            app.write(|db| pay_session(db, &id, &card, email.as_deref()))
                .map_err(Refusal::error)
        });
    match paid {
        Ok(url) => accepted(json, &url),
        Err(refusal) if json => refusal.json(),
        Err(refusal) => {
            let view = self::view(&app, &id).unwrap_or(view);
            view.render(
                &form,
                &refusal.fields,
                refusal.banner.as_deref(),
                refusal.status(),
            )
        }
    }
}

/// Completes the session; an email typed on the page becomes its `customer_email`
/// (restored if the payment fails, so a failure changes nothing). A session already
/// completed answers where its payment went: a second submit of the same payment (a
/// double click, a retry after a lost answer) starts nothing twice.
fn pay_session(db: &mut Db, id: &str, card: &Card, email: Option<&str>) -> ApiResult<String> {
    let before = db.fetch("checkout.session", id, "checkout session", "session")?;
    if before["status"] == "complete"
        && let Some(url) = success_url(&before, id)
    {
        return Ok(url);
    }
    if let Some(email) = email {
        let mut session = before.clone();
        session["customer_email"] = json!(email);
        session["customer_details"] = json!({
            "address": null, "business_name": null, "email": email, "individual_name": null,
            "name": null, "phone": null, "tax_exempt": "none", "tax_ids": null,
        });
        db.put(session);
    }
    billing::complete_checkout(db, id, card).inspect_err(|_| {
        db.put(before);
    })
}

/// Where a completed session sends the browser (`{CHECKOUT_SESSION_ID}` filled in).
fn success_url(session: &Value, id: &str) -> Option<String> {
    session["success_url"]
        .as_str()
        .map(|u| u.replace("{CHECKOUT_SESSION_ID}", id))
}
