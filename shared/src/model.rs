//! What we store and return: users, their subscription, and the catalog.

use std::collections::BTreeMap;

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
    /// The billing period and trial as of the same moment, when Stripe told us
    /// (stored with the status, under the same ordering rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
}

/// A subscription's current billing period (Unix seconds, Stripe's clock): since
/// 2025 Stripe reports it on the subscription's items, not the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub start: i64,
    pub end: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_end: Option<i64>,
    /// When the subscription ended (cancelled), if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
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
    /// How many session requests were ever stored for this user: a write that takes
    /// the user off the outbox checks it, so it never drops a request stored after
    /// the writer looked ([`crate::outbox`]). Not shown to the client.
    #[serde(default, rename = "outboxAdds")]
    pub outbox_adds: u64,
    /// Session requests ("Arrange session"), by id (the meter event identifier).
    /// Written even when empty: DynamoDB sets `sessions.{id}` only in an existing map.
    #[serde(default)]
    pub sessions: BTreeMap<String, SessionRequest>,
    /// Invoices as the webhooks reported them, by Stripe invoice id.
    #[serde(default)]
    pub invoices: BTreeMap<String, Invoice>,
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

/// One "Arrange session" click, stored before anything else happens: the meter event
/// (on demand) and the owner's email are sent from it, and marked on it once done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionRequest {
    pub id: String,
    /// Our clock (Unix seconds).
    pub requested_at: i64,
    pub kind: SubscriptionType,
    /// The billing period it belongs to (its start), when known.
    #[serde(default)]
    pub period_start: Option<i64>,
    /// On demand: the meter event was accepted by Stripe.
    #[serde(default)]
    pub metered: bool,
    /// The owner's email was accepted by SES.
    #[serde(default)]
    pub notified: bool,
    /// A sender's claim on the email (Unix seconds): one sender at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_claim: Option<i64>,
    /// Who holds the claim (a token per attempt), so the store's own retry of a claim
    /// that went through still finds it ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_claim_by: Option<String>,
}

impl SessionRequest {
    /// Nothing left to send for it.
    pub fn is_settled(&self) -> bool {
        self.notified && (self.metered || self.kind == SubscriptionType::Monthly)
    }
}

/// An invoice as the `invoice.*` webhooks report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub id: String,
    #[serde(default)]
    pub number: Option<String>,
    pub created_at: i64,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub currency: String,
    pub status: String,
    /// Stripe's hosted invoice page.
    #[serde(default)]
    pub url: Option<String>,
    /// The Stripe time of the event it came from, and how far along its life the
    /// status is: a write replaces only an older (or, same second, earlier) state.
    pub as_of: i64,
    pub rank: u8,
}

impl Invoice {
    /// `draft` < `open` < `paid` / `void` / `uncollectible`.
    pub fn rank_of(status: &str) -> u8 {
        match status {
            "draft" => 1,
            "open" => 2,
            "paid" | "void" | "uncollectible" => 3,
            _ => 0,
        }
    }
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
