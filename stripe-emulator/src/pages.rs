//! Hosted pages: Checkout (`/c/pay/{session}`) and the Customer Portal (`/p/session/{id}`).
//!
//! Plain server-rendered HTML forms that work without JavaScript (a small external
//! script only toggles the ZIP field), carrying the same test hooks as Stripe's real
//! pages so browser suites written against Stripe run unchanged:
//! Checkout — `select#billingCountry`, `input[name="cardNumber"]`, placeholders
//! `MM / YY`, `CVC` and `ZIP`, `input[name="billingName"]`, `[name="enableStripePass"]`,
//! `[data-testid="hosted-payment-submit-button"]`; Portal — `[data-test="cancel-subscription"]`,
//! `[data-testid="confirm"]`, `[data-testid="return-to-business-link"]`.

mod checkout;
mod portal;

use std::collections::HashMap;

use axum::{
    Router,
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use serde_json::Value;

use crate::{app::App, billing::Card, error::ApiError, state::Db};

const CSS: &str = include_str!("pages/style.css");
const SCRIPT: &str = include_str!("pages/checkout.js");
const SCRIPT_PATH: &str = "/c/checkout.js";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/c/pay/{id}", get(checkout::show).post(checkout::pay))
        .route("/p/session/{id}", get(portal::home))
        .route(
            "/p/session/{id}/subscriptions/{sub}/cancel",
            get(portal::cancel_step).post(portal::cancel),
        )
        .route(
            "/p/session/{id}/payment-method",
            get(portal::payment_method_step).post(portal::update_payment_method),
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

/// A whole HTML document. `script` adds the page script (Checkout only).
fn document(status: StatusCode, title: &str, body: &str, script: bool) -> Response {
    let script = if script {
        format!(r#"<script src="{SCRIPT_PATH}" defer></script>"#)
    } else {
        String::new()
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{CSS}</style>
{script}
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
    document(status, title, &body, false)
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

/// The countries the card form offers.
const COUNTRIES: &[(&str, &str)] = &[
    ("US", "United States"),
    ("AU", "Australia"),
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("BR", "Brazil"),
    ("CA", "Canada"),
    ("DK", "Denmark"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("IN", "India"),
    ("IE", "Ireland"),
    ("IT", "Italy"),
    ("JP", "Japan"),
    ("MX", "Mexico"),
    ("NL", "Netherlands"),
    ("NZ", "New Zealand"),
    ("NO", "Norway"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("SG", "Singapore"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("GB", "United Kingdom"),
];

/// What was typed into a card form, kept to show the form again after an error
/// (never the CVC).
#[derive(Debug, Clone, Default)]
struct CardForm {
    email: String,
    number: String,
    expiry: String,
    cvc: String,
    name: String,
    country: String,
    postal_code: String,
}

/// The email row of a card form.
#[derive(Debug, Clone, Copy)]
enum EmailField<'a> {
    /// Already known: shown read-only.
    Known(&'a str),
    /// Unknown: typed in, required.
    Asked,
    /// Not part of this form.
    Hidden,
}

/// Problems with the form: (field name, message).
type FieldErrors = Vec<(&'static str, String)>;

impl CardForm {
    fn from_fields(fields: &HashMap<String, String>) -> Self {
        let get = |k: &str| {
            fields
                .get(k)
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        Self {
            email: get("email"),
            number: get("cardNumber"),
            expiry: get("cardExpiry"),
            cvc: get("cardCvc"),
            name: get("billingName"),
            country: Some(get("billingCountry"))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| "US".into()),
            postal_code: get("billingPostalCode"),
        }
    }

    fn country(&self) -> &str {
        if self.country.is_empty() {
            "US"
        } else {
            &self.country
        }
    }

    /// Checks the form as Stripe's card element does; the card rules (Luhn,
    /// expiry against the emulator's clock, test-card behaviour) are the billing engine's.
    fn parse(&self, ask_email: bool) -> Result<Card, FieldErrors> {
        let mut errors = FieldErrors::new();
        if ask_email {
            if self.email.is_empty() {
                errors.push(("email", "Your email is incomplete.".into()));
            } else if !self.email.contains('@') || self.email.contains(' ') {
                errors.push(("email", "Your email address is invalid.".into()));
            }
        }
        let number: String = self
            .number
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if number.is_empty() || (number.len() < 12 && number.chars().all(|c| c.is_ascii_digit())) {
            errors.push(("cardNumber", "Your card number is incomplete.".into()));
        } else if !number.chars().all(|c| c.is_ascii_digit()) || number.len() > 19 {
            errors.push(("cardNumber", "Your card number is invalid.".into()));
        }
        let expiry: String = self.expiry.chars().filter(char::is_ascii_digit).collect();
        let (exp_month, exp_year) = match expiry.len() {
            4 => (
                expiry[..2].parse().unwrap_or(0),
                2000 + expiry[2..].parse::<u32>().unwrap_or(0),
            ),
            6 => (
                expiry[..2].parse().unwrap_or(0),
                expiry[2..].parse().unwrap_or(0),
            ),
            _ => (0, 0),
        };
        if expiry.len() < 4 || self.expiry.chars().any(|c| c.is_ascii_alphabetic()) {
            errors.push((
                "cardExpiry",
                "Your card's expiration date is incomplete.".into(),
            ));
        } else if !(1..=12).contains(&exp_month) || exp_year == 0 {
            errors.push((
                "cardExpiry",
                "Your card's expiration date is invalid.".into(),
            ));
        }
        if self.cvc.is_empty() {
            errors.push(("cardCvc", "Your card's security code is incomplete.".into()));
        } else if !(3..=4).contains(&self.cvc.len())
            || !self.cvc.chars().all(|c| c.is_ascii_digit())
        {
            errors.push(("cardCvc", "Your card's security code is invalid.".into()));
        }
        if self.name.is_empty() {
            errors.push(("billingName", "Enter the name on your card.".into()));
        }
        let country = self.country();
        if !COUNTRIES.iter().any(|(code, _)| *code == country) {
            errors.push(("billingCountry", "Select a country or region.".into()));
        }
        let postal_code = if country == "US" {
            let digits = self
                .postal_code
                .chars()
                .filter(char::is_ascii_digit)
                .count();
            if self.postal_code.is_empty() {
                errors.push(("billingPostalCode", "Your ZIP is incomplete.".into()));
            } else if !(digits == 5 || digits == 9)
                || !self
                    .postal_code
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '-')
            {
                errors.push(("billingPostalCode", "Your ZIP is invalid.".into()));
            }
            Some(self.postal_code.clone())
        } else {
            Some(self.postal_code.clone()).filter(|p| !p.is_empty())
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Card {
            number,
            exp_month,
            exp_year,
            cvc: self.cvc.clone(),
            name: self.name.clone(),
            country: country.to_string(),
            postal_code,
        })
    }

    /// The card fields, with each field's error under it.
    fn fields_html(&self, email: EmailField<'_>, errors: &FieldErrors) -> String {
        let error = |field: &str| {
            errors
                .iter()
                .filter(|(f, _)| *f == field)
                .map(|(_, m)| format!(r#"<p class="field-error" role="alert">{}</p>"#, esc(m)))
                .collect::<String>()
        };
        let invalid = |field: &str| {
            if errors.iter().any(|(f, _)| *f == field) {
                " invalid"
            } else {
                ""
            }
        };
        let email_row = match email {
            EmailField::Hidden => String::new(),
            EmailField::Known(email) => format!(
                r#"<div class="field"><label for="email">Email</label><input id="email" name="email" type="email" value="{}" readonly class="readonly"></div>"#,
                esc(email)
            ),
            EmailField::Asked => format!(
                r#"<div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" placeholder="email@example.com" value="{}" class="{}">{}</div>"#,
                esc(&self.email),
                invalid("email"),
                error("email")
            ),
        };
        let country = self.country();
        let options: String = COUNTRIES
            .iter()
            .map(|(code, name)| {
                let selected = if *code == country { " selected" } else { "" };
                format!(r#"<option value="{code}"{selected}>{name}</option>"#)
            })
            .collect();
        let zip_hidden = if country == "US" { "" } else { " hidden" };
        format!(
            r#"{email_row}
<fieldset class="field">
  <legend>Card information</legend>
  <div class="card-group">
    <input id="cardNumber" name="cardNumber" type="text" inputmode="numeric" autocomplete="cc-number" placeholder="1234 1234 1234 1234" aria-label="Card number" value="{number}" class="card-number{number_invalid}">
    <div class="card-row">
      <input id="cardExpiry" name="cardExpiry" type="text" inputmode="numeric" autocomplete="cc-exp" placeholder="MM / YY" aria-label="Expiration" value="{expiry}" class="{expiry_invalid}">
      <input id="cardCvc" name="cardCvc" type="text" inputmode="numeric" autocomplete="cc-csc" placeholder="CVC" aria-label="CVC" value="" class="{cvc_invalid}">
    </div>
  </div>
  {number_error}{expiry_error}{cvc_error}
</fieldset>
<div class="field">
  <label for="billingName">Cardholder name</label>
  <input id="billingName" name="billingName" type="text" autocomplete="cc-name" placeholder="Full name on card" value="{name}" class="{name_invalid}">
  {name_error}
</div>
<fieldset class="field">
  <legend>Country or region</legend>
  <div class="card-group">
    <select id="billingCountry" name="billingCountry" autocomplete="country" aria-label="Country or region" class="{country_invalid}">{options}</select>
    <div class="zip-row" id="zipRow"{zip_hidden}>
      <input id="billingPostalCode" name="billingPostalCode" type="text" autocomplete="postal-code" placeholder="ZIP" aria-label="ZIP" value="{postal_code}" class="{zip_invalid}">
    </div>
  </div>
  {country_error}{zip_error}
</fieldset>"#,
            number = esc(&self.number),
            number_invalid = invalid("cardNumber"),
            expiry = esc(&self.expiry),
            expiry_invalid = invalid("cardExpiry"),
            cvc_invalid = invalid("cardCvc"),
            number_error = error("cardNumber"),
            expiry_error = error("cardExpiry"),
            cvc_error = error("cardCvc"),
            name = esc(&self.name),
            name_invalid = invalid("billingName"),
            name_error = error("billingName"),
            country_invalid = invalid("billingCountry"),
            postal_code = esc(&self.postal_code),
            zip_invalid = invalid("billingPostalCode"),
            country_error = error("billingCountry"),
            zip_error = error("billingPostalCode"),
        )
    }
}

/// Splits an error of the billing engine into a field error (card number or
/// expiry, shown under the field) or a message for the whole form.
fn card_error(e: &ApiError) -> (FieldErrors, Option<String>) {
    let field = match e.param.as_deref() {
        Some("number") => Some("cardNumber"),
        Some("exp_month" | "exp_year") => Some("cardExpiry"),
        Some("cvc") => Some("cardCvc"),
        _ => None,
    };
    match field {
        Some(field) => (vec![(field, e.message.clone())], None),
        None => (Vec::new(), Some(e.message.clone())),
    }
}

/// The banner above a form.
fn alert(message: Option<&str>) -> String {
    message
        .map(|m| {
            format!(
                r#"<div class="alert" role="alert" id="form-error">{}</div>"#,
                esc(m)
            )
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(number: &str, expiry: &str, cvc: &str, zip: &str) -> CardForm {
        CardForm {
            number: number.into(),
            expiry: expiry.into(),
            cvc: cvc.into(),
            name: "Ada Lovelace".into(),
            country: "US".into(),
            postal_code: zip.into(),
            ..CardForm::default()
        }
    }

    #[test]
    fn dates_read_as_people_write_them() {
        assert_eq!(date(0), "January 1, 1970");
        assert_eq!(date(1_795_303_173), "November 21, 2026");
        assert_eq!(date(951_782_400), "February 29, 2000");
    }

    #[test]
    fn card_numbers_may_be_typed_with_spaces_and_expiry_in_any_usual_shape() {
        for expiry in ["12 / 34", "12/34", "1234", "12 / 2034"] {
            let card = form("4242 4242 4242 4242", expiry, "123", "10001")
                .parse(false)
                .unwrap();
            assert_eq!(card.number, "4242424242424242");
            assert_eq!((card.exp_month, card.exp_year), (12, 2034));
            assert_eq!(card.postal_code.as_deref(), Some("10001"));
        }
    }

    #[test]
    fn incomplete_fields_are_named() {
        let errors = form("4242", "13 / 30", "", "").parse(true).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                "email",
                "cardNumber",
                "cardExpiry",
                "cardCvc",
                "billingPostalCode"
            ]
        );
    }

    #[test]
    fn zip_is_only_required_in_the_us() {
        let mut f = form("4242424242424242", "12/34", "123", "");
        f.country = "FR".into();
        assert_eq!(f.parse(false).unwrap().postal_code, None);
    }
}
