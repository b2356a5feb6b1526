//! The billing engine: what happens when money moves — completing a Checkout
//! Session, charging an invoice with the test-card rules, ending trials and renewing
//! subscriptions as the emulator's clock passes their dates.
//!
//! The hosted pages (`pages.rs`) and the API resources call these functions; they
//! mutate the state and emit the events Stripe would, in Stripe's order.

use serde_json::Value;

use crate::{
    App,
    error::{ApiError, ApiResult},
    state::Db,
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
}

/// Pays an open Checkout Session with `card`: attaches a payment method to the
/// customer (creating the customer from `customer_email` if needed), creates the
/// subscription (trialing or active) as the session's default payment method, its
/// first invoice, completes the session, emits the events, and returns the URL to
/// redirect to (`success_url` with `{CHECKOUT_SESSION_ID}` filled in).
/// A declined card answers a 402 `card_error` and changes nothing.
pub fn complete_checkout(_db: &mut Db, session_id: &str, _card: &Card) -> ApiResult<String> {
    Err(ApiError::no_such("checkout session", session_id, "session"))
}

/// Cancels a subscription now (portal "cancel" in `immediately` mode, or
/// `DELETE /v1/subscriptions/{id}`), emitting `customer.subscription.deleted`.
pub fn cancel_now(_db: &mut Db, subscription_id: &str) -> ApiResult<Value> {
    Err(ApiError::no_such("subscription", subscription_id, "id"))
}

/// Sets `cancel_at_period_end` (portal cancel in `at_period_end` mode).
pub fn cancel_at_period_end(_db: &mut Db, subscription_id: &str) -> ApiResult<Value> {
    Err(ApiError::no_such("subscription", subscription_id, "id"))
}

/// Attaches a new card to the customer and makes it the default of their
/// subscriptions (portal "update payment method").
pub fn replace_payment_method(_db: &mut Db, customer_id: &str, _card: &Card) -> ApiResult<Value> {
    Err(ApiError::no_such("customer", customer_id, "customer"))
}

/// Runs everything that has come due at `db.now()`.
pub fn run_due(_db: &mut Db) {}

/// Checks the clock every second so trials and periods end on their own too.
pub fn spawn_clock(app: App) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            tick.tick().await;
            let _ = app.write(|db| {
                run_due(db);
                Ok(())
            });
            app.flush().await;
        }
    });
}
