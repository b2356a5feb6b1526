//! Test cards: what a card typed into a hosted page does (Stripe's documented test
//! numbers), the payment method it becomes, and whether a charge on it succeeds.

use serde_json::{Value, json};

use super::calendar::civil;
use crate::{
    error::{ApiError, ApiResult},
    state::{Db, base_object, previous_attributes, str_of},
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
    pub(super) fn check(&self, now: i64) -> ApiResult<CardBehaviour> {
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

pub(super) fn declined() -> ApiError {
    ApiError::card_declined("Your card was declined.", "generic_decline")
}

pub(super) fn luhn(number: &str) -> bool {
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

pub(super) fn card_key(pm_id: &str) -> String {
    format!("{pm_id}#card")
}

pub(super) fn payment_method_object(db: &Db, card: &Card, customer: &Value) -> Value {
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
pub(super) fn fingerprint(number: &str) -> String {
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
pub(super) fn attach_card(
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
pub(super) fn charge_succeeds(db: &Db, pm_id: Option<&str>) -> bool {
    let Some(pm_id) = pm_id else { return false };
    db.get(pm_id)
        .is_some_and(|pm| pm["object"] == "payment_method")
        && !db
            .get(&card_key(pm_id))
            .is_some_and(|c| c["charges_fail"] == json!(true))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
