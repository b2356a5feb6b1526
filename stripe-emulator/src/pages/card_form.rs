//! The card form both pages share (Checkout's payment form and the portal's
//! "Add payment method"): what was typed, how Stripe's card element checks it,
//! and how it is drawn with each field's error under it.

use std::collections::HashMap;

use axum::{
    Form,
    extract::{FromRequest, Request},
    response::{IntoResponse, Response},
};

use super::{esc, wants_json};
use crate::{billing::Card, error::ApiError};

/// A card form as posted, and whether the page's script sent it (it asks for JSON).
pub(super) struct Posted {
    pub(super) json: bool,
    pub(super) form: CardForm,
}

impl<S: Send + Sync> FromRequest<S> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = wants_json(req.headers());
        let Form(fields) = Form::<HashMap<String, String>>::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self {
            json,
            form: CardForm::from_fields(&fields),
        })
    }
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
pub(super) struct CardForm {
    pub(super) email: String,
    number: String,
    expiry: String,
    cvc: String,
    name: String,
    country: String,
    postal_code: String,
}

/// The email row of a card form.
#[derive(Debug, Clone, Copy)]
pub(super) enum EmailField<'a> {
    /// Already known: shown read-only.
    Known(&'a str),
    /// Unknown: typed in, required.
    Asked,
    /// Not part of this form.
    Hidden,
}

/// Problems with the form: (field name, message).
pub(super) type FieldErrors = Vec<(&'static str, String)>;

impl CardForm {
    pub(super) fn from_fields(fields: &HashMap<String, String>) -> Self {
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
    pub(super) fn parse(&self, ask_email: bool) -> Result<Card, FieldErrors> {
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
    pub(super) fn fields_html(&self, email: EmailField<'_>, errors: &FieldErrors) -> String {
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
pub(super) fn card_error(e: &ApiError) -> (FieldErrors, Option<String>) {
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
pub(super) fn alert(message: Option<&str>) -> String {
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
