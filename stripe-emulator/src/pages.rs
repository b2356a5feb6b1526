//! Hosted pages: Checkout (`/c/pay/{session}`), the Customer Portal (`/p/session/{id}`)
//! and invoices (`/i/{token}`, an invoice's `hosted_invoice_url`).
//!
//! Server-rendered HTML carrying the same test hooks as Stripe's real pages, so browser
//! suites written against Stripe run unchanged:
//! Checkout — `select#billingCountry`, `input[name="cardNumber"]`, placeholders
//! `MM / YY`, `CVC` and `ZIP`, `input[name="billingName"]`, `[name="enableStripePass"]`,
//! `[data-testid="hosted-payment-submit-button"]`; Portal — `[data-test="cancel-subscription"]`,
//! `[data-testid="confirm"]`, `[data-testid="return-to-business-link"]`.
//!
//! Like Stripe's, the pages act by script (`pages/hosted.js`, loaded from [`SCRIPT_PATH`]):
//! a form is sent with `fetch` and `Accept: application/json` to its own `action`, which
//! then answers JSON — `{"redirect_url"}` on success, Stripe's error object plus the
//! per-field messages (`fields`) when refused — and the page shows the outcome without a
//! page load (Checkout keeps its button processing for `--checkout-confirm-delay-ms`,
//! then loads `success_url`). Without scripts the same forms post as plain HTML forms
//! and are answered with a page or a 303, so the pages work either way.

mod card_form;
mod checkout;
mod invoice;
mod portal;

use axum::{
    Json, Router,
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use serde_json::{Value, json};

use crate::{app::App, error::ApiError, state::Db};
use card_form::{FieldErrors, card_error};

const CSS: &str = include_str!("pages/style.css");
const SCRIPT: &str = include_str!("pages/hosted.js");
/// Where both pages load their script from.
pub const SCRIPT_PATH: &str = "/assets/hosted.js";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/c/pay/{id}", get(checkout::show).post(checkout::pay))
        .route("/p/session/{id}", get(portal::home))
        .route(
            &format!("{}{{token}}", crate::billing::invoice::HOSTED_PATH),
            get(invoice::show),
        )
        .route(
            "/p/session/{id}/subscriptions/{sub}/cancel",
            get(portal::actions::cancel_step).post(portal::actions::cancel),
        )
        .route(
            "/p/session/{id}/payment-method",
            get(portal::actions::payment_method_step).post(portal::actions::update_payment_method),
        )
        .route(
            SCRIPT_PATH,
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=300"),
                    ],
                    SCRIPT,
                )
            }),
        )
}

/// Whether a form was sent by the page's script, which asks for JSON.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}

/// There is no such session (or subscription): a page, or Stripe's 404 for the script.
fn missing(json: bool, what: &str, id: &str, param: &str) -> Response {
    if json {
        ApiError::no_such(what, id, param).into_response()
    } else {
        not_found()
    }
}

/// A form that went through: the script goes to `url`, a plain form post is sent there.
fn accepted(json: bool, url: &str) -> Response {
    if json {
        Json(json!({ "redirect_url": url })).into_response()
    } else {
        Redirect::to(url).into_response()
    }
}

/// A form the page refuses: messages under fields, or one above the form.
struct Refusal {
    fields: FieldErrors,
    banner: Option<String>,
    error: Box<ApiError>,
}

impl Refusal {
    /// Mistakes in the form itself, found before anything is charged (Stripe.js calls
    /// these `validation_error`s).
    fn fields(fields: FieldErrors) -> Self {
        let (field, message) = fields.first().cloned().unwrap_or(("", String::new()));
        let error =
            ApiError::new(StatusCode::BAD_REQUEST, "validation_error", message).param(field);
        Self {
            fields,
            banner: None,
            error: Box::new(error),
        }
    }

    /// An error of the billing engine: a card field's, or the whole form's.
    fn error(error: ApiError) -> Self {
        let (fields, banner) = card_error(&error);
        Self {
            fields,
            banner,
            error: Box::new(error),
        }
    }

    fn status(&self) -> StatusCode {
        error_status(&self.error)
    }

    /// What the script gets: Stripe's error object and each field's message.
    fn json(&self) -> Response {
        let mut body = self.error.body();
        body["fields"] = self
            .fields
            .iter()
            .map(|(name, message)| json!({ "name": name, "message": message }))
            .collect();
        (self.status(), Json(body)).into_response()
    }
}

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole HTML document, with the pages' script.
fn document(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{CSS}</style>
<script src="{SCRIPT_PATH}" defer></script>
</head>
<body>
{body}
</body>
</html>
"#,
        title = esc(title),
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// A page with only a message (unknown, expired or finished sessions).
fn message_page(
    status: StatusCode,
    title: &str,
    message: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let link = link
        .map(|(href, text)| {
            format!(
                r#"<p><a class="button-link" href="{}">{}</a></p>"#,
                esc(href),
                esc(text)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"<main class="message-page"><div class="card"><span class="test-badge">Test mode</span><h1>{}</h1><p>{}</p>{link}</div></main>"#,
        esc(title),
        esc(message)
    );
    document(status, title, &body)
}

fn not_found() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "Something went wrong",
        "The page you were looking for could not be found. Please check the URL or contact the merchant.",
        None,
    )
}

/// The status a rejected form is answered with (the page is shown again either way).
fn error_status(e: &ApiError) -> StatusCode {
    if e.status.is_server_error() {
        tracing::error!(error = %e, "hosted page failed");
    }
    e.status
}

/// `November 24, 2026` (UTC) for a Unix timestamp.
fn date(ts: i64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (year, month, day) = crate::billing::civil(ts);
    format!("{} {day}, {year}", MONTHS[(month - 1) as usize])
}

/// How a price is charged, in words: `$60.00 per month`, `$10.00 every 3 months`,
/// or for a metered price `$80.00 per session, billed monthly by usage`.
fn price_phrase(db: &Db, price: &Value) -> String {
    let amount = crate::billing::money(
        price["unit_amount"].as_i64().unwrap_or(0),
        price["currency"].as_str().unwrap_or("usd"),
    );
    let interval = price["recurring"]["interval"].as_str().unwrap_or("month");
    let count = price["recurring"]["interval_count"].as_i64().unwrap_or(1);
    if price["recurring"]["usage_type"] == "metered" {
        let unit = product(db, price)["unit_label"]
            .as_str()
            .filter(|u| !u.is_empty())
            .unwrap_or("unit")
            .to_string();
        let billed = if count == 1 {
            match interval {
                "day" => "daily".to_string(),
                other => format!("{other}ly"),
            }
        } else {
            format!("every {count} {interval}s")
        };
        format!("{amount} per {unit}, billed {billed} by usage")
    } else if count == 1 {
        format!("{amount} per {interval}")
    } else {
        format!("{amount} every {count} {interval}s")
    }
}

/// The business the pages speak for: the default portal configuration's headline,
/// as the emulator has no account settings.
fn business_name(db: &Db) -> String {
    let configs = db.all("billing_portal.configuration");
    configs
        .iter()
        .find(|c| c["is_default"] == json!(true))
        .or_else(|| configs.first())
        .and_then(|c| c["business_profile"]["headline"].as_str())
        .filter(|h| !h.is_empty())
        .unwrap_or("Test business")
        .to_string()
}

/// The product of a price (embedded or by id).
fn product(db: &Db, price: &Value) -> Value {
    match &price["product"] {
        Value::String(id) => db.get(id).cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// The name a price is shown under: its product's name.
fn product_name(db: &Db, price: &Value) -> String {
    product(db, price)["name"]
        .as_str()
        .or_else(|| price["nickname"].as_str())
        .unwrap_or("Subscription")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_people_write_them() {
        assert_eq!(date(0), "January 1, 1970");
        assert_eq!(date(1_795_303_173), "November 21, 2026");
        assert_eq!(date(951_782_400), "February 29, 2000");
    }
}
