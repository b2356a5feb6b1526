//! Stripe, behind a small trait of the calls our rules make, and its implementation
//! with async-stripe 1.0 ([`StripeClient`]).
//!
//! The client's base URL is `STRIPE_API_BASE` when set (the local emulator) and
//! api.stripe.com otherwise; nothing else differs. Every write carries an
//! idempotency key, and network errors, 409, 429 and 5xx are retried with backoff
//! under the same key.

use crate::{Result, model::SubscriptionType};

/// A product as provisioning sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductSpec {
    pub name: String,
    pub url: String,
    pub unit_label: String,
    pub challenge_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductState {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub url: Option<String>,
    pub unit_label: Option<String>,
    pub challenge_id: Option<String>,
}

/// A recurring monthly price as provisioning wants it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceSpec {
    pub product: String,
    pub lookup_key: String,
    pub nickname: String,
    pub currency: String,
    pub unit_amount: i64,
    pub interval: String,
    /// `Some(meter id)` for a metered (usage-based) price.
    pub meter: Option<String>,
    pub challenge_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceState {
    pub id: String,
    pub product: String,
    pub lookup_key: Option<String>,
    pub nickname: Option<String>,
    pub currency: String,
    pub unit_amount: Option<i64>,
    pub interval: Option<String>,
    pub meter: Option<String>,
    pub active: bool,
    pub challenge_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterSpec {
    pub event_name: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterState {
    pub id: String,
    pub event_name: String,
    pub display_name: String,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSpec {
    pub headline: String,
    pub default_return_url: String,
    pub challenge_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalState {
    pub id: String,
    pub active: bool,
    pub headline: Option<String>,
    pub default_return_url: Option<String>,
    pub payment_method_update: bool,
    pub invoice_history: bool,
    pub subscription_cancel: bool,
    pub cancel_mode_immediately: bool,
    pub challenge_id: Option<String>,
}

/// A Checkout Session to create (subscription mode, for one customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSpec {
    pub customer: String,
    pub price: String,
    pub kind: SubscriptionType,
    /// Trial days (monthly: 3; on demand: none).
    pub trial_days: Option<u32>,
    pub success_url: String,
    pub cancel_url: String,
    pub challenge_id: String,
}

/// A subscription as Stripe reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    pub id: String,
    pub customer: String,
    pub status: String,
    /// Price ids of its items.
    pub prices: Vec<String>,
    /// Stripe's time of this state, as Stripe reports it: the latest of the
    /// subscription's `created`, `start_date`, its items' `current_period_start`,
    /// `canceled_at` and `ended_at` (a lower bound of when it took this state).
    pub as_of: i64,
    /// Its current period and trial (from its items).
    pub period: Option<crate::model::Period>,
}

/// A Checkout Session as Stripe reports it, with its subscription expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutState {
    pub id: String,
    pub customer: Option<String>,
    pub subscription: Option<SubscriptionState>,
}

/// The Stripe calls our rules make.
pub trait StripeApi: Send + Sync {
    // Provisioning (catalog).
    fn find_product_by_url(
        &self,
        url: &str,
    ) -> impl Future<Output = Result<Option<ProductState>>> + Send;
    fn create_product(
        &self,
        spec: &ProductSpec,
    ) -> impl Future<Output = Result<ProductState>> + Send;
    fn update_product(
        &self,
        id: &str,
        spec: &ProductSpec,
    ) -> impl Future<Output = Result<ProductState>> + Send;
    /// The prices holding any of these lookup keys, in one request.
    fn find_prices_by_lookup_keys(
        &self,
        lookup_keys: &[&str],
    ) -> impl Future<Output = Result<Vec<PriceState>>> + Send;
    /// Creates the price; `transfer_lookup_key` moves the key from a price that holds it.
    fn create_price(
        &self,
        spec: &PriceSpec,
        transfer_lookup_key: bool,
    ) -> impl Future<Output = Result<PriceState>> + Send;
    /// Fixes the mutable attributes (nickname, metadata) and/or deactivates.
    fn update_price(
        &self,
        id: &str,
        nickname: Option<&str>,
        challenge_id: Option<&str>,
        active: Option<bool>,
    ) -> impl Future<Output = Result<PriceState>> + Send;
    fn find_meter_by_event_name(
        &self,
        event_name: &str,
    ) -> impl Future<Output = Result<Option<MeterState>>> + Send;
    fn create_meter(&self, spec: &MeterSpec) -> impl Future<Output = Result<MeterState>> + Send;
    /// Fixes the display name and reactivates the meter if it was deactivated.
    fn update_meter(
        &self,
        id: &str,
        spec: &MeterSpec,
        reactivate: bool,
    ) -> impl Future<Output = Result<MeterState>> + Send;
    /// Looks through the most recent 100 portal configurations for ours.
    fn find_portal_configuration(
        &self,
        challenge_id: &str,
    ) -> impl Future<Output = Result<Option<PortalState>>> + Send;
    fn create_portal_configuration(
        &self,
        spec: &PortalSpec,
    ) -> impl Future<Output = Result<PortalState>> + Send;
    fn update_portal_configuration(
        &self,
        id: &str,
        spec: &PortalSpec,
    ) -> impl Future<Output = Result<PortalState>> + Send;

    // Users.
    /// Creates a customer; `idempotency_key` is derived from the normalised email,
    /// so a retried or repeated sign-up cannot create a second one.
    fn create_customer(
        &self,
        email: &str,
        challenge_id: &str,
        idempotency_key: &str,
    ) -> impl Future<Output = Result<String>> + Send;
    fn create_checkout_session(
        &self,
        spec: &CheckoutSpec,
    ) -> impl Future<Output = Result<String>> + Send;
    fn retrieve_checkout_session(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<CheckoutState>>> + Send;
    fn retrieve_subscription(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<SubscriptionState>>> + Send;
    fn create_portal_session(
        &self,
        customer: &str,
        configuration: &str,
        return_url: &str,
    ) -> impl Future<Output = Result<String>> + Send;
    /// Records one unit on the meter for the customer; returns the meter event's identifier.
    /// Stripe refusing the identifier as a repeat (a 400 with `param: identifier`: the
    /// click was already recorded within 24 hours) is success: the identifier is returned.
    fn record_meter_event(
        &self,
        event_name: &str,
        customer: &str,
        identifier: &str,
    ) -> impl Future<Output = Result<String>> + Send;
}

mod client;
pub mod webhook;
pub use client::{StripeClient, email_idempotency_key};
