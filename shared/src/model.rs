//! What we store and return: users, their subscription, and the catalog.

use serde::{Deserialize, Serialize};

/// Which of our offers a subscription is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionType {
    Monthly,
    Ondemand,
}

/// A user's subscription as the client sees it: `{"id","status","type"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    /// Stripe's status: `trialing`, `active`, `past_due`, `canceled`, …
    pub status: String,
    #[serde(rename = "type")]
    pub kind: SubscriptionType,
    /// Stripe time of the state we hold (event `created`, or when we read it),
    /// so an older state never overwrites a newer one. Not shown to the client.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "asOf")]
    pub as_of: Option<i64>,
}

impl Subscription {
    /// A subscription that still entitles its holder to sessions.
    pub fn is_live(&self) -> bool {
        matches!(
            self.status.as_str(),
            "trialing" | "active" | "past_due" | "incomplete" | "unpaid"
        )
    }
}

/// A user: their id is their Stripe Customer id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<Subscription>,
    /// Which sessions count (see [`crate::session`]): a cookie minted at another epoch
    /// does not. "Sign out everywhere" adds one. Not shown to the client.
    #[serde(default, rename = "sessionEpoch")]
    pub session_epoch: u64,
}

/// The sign-in state of one email, as stored under `SIGNIN#{email}`: the code last sent
/// (only its keyed hash), how it has been used, and how many codes went out in the
/// current hour (see [`crate::sign_in`]). `rev` makes every change a conditional write
/// on the state it was decided from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInCode {
    /// HMAC-SHA256 (hex) of the code with the session secret; never the code.
    pub code_mac: String,
    /// When it was sent and until when it works (unix seconds).
    pub sent_at: i64,
    pub expires: i64,
    /// Wrong codes tried against it.
    pub wrong: u32,
    /// It opened a session (or was withdrawn): it works no more.
    pub used: bool,
    /// Start of the hour the count below is for, and how many codes went out in it.
    pub window: i64,
    pub sent_in_window: u32,
    pub rev: u64,
    /// DynamoDB's TTL attribute: the item may go once both the code and the count are over.
    pub ttl: i64,
}

/// A price as `GET /offerings` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub id: String,
    pub nickname: String,
    pub currency: String,
    pub unit_amount: i64,
    pub lookup_key: String,
}

/// What provisioning converged Stripe to, stored once and read by every function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    pub product_id: String,
    pub product_name: String,
    pub monthly_price: Price,
    pub ondemand_price: Price,
    pub meter_id: String,
    pub meter_event_name: String,
    pub portal_configuration_id: String,
}

impl Catalog {
    /// Which offer a price id belongs to, if it is one of ours.
    pub fn offer_of(&self, price_id: &str) -> Option<SubscriptionType> {
        if price_id == self.monthly_price.id {
            Some(SubscriptionType::Monthly)
        } else if price_id == self.ondemand_price.id {
            Some(SubscriptionType::Ondemand)
        } else {
            None
        }
    }
}
