//! The billing engine: what happens when money moves — completing a Checkout
//! Session, charging an invoice with the test-card rules, ending trials and renewing
//! subscriptions as the emulator's clock passes their dates.
//!
//! The hosted pages and the API resources call these functions; they mutate the
//! state and emit the events Stripe would, in Stripe's order. Every function
//! validates before it mutates (the state has no rollback).
//!
//! Seams, from the bottom: [`calendar`], [`pricing`], [`cards`], [`subscriptions`]
//! (the object), [`invoice`] (an invoice's life, draft to open, and its hosted page)
//! and [`invoicing`], then [`checkout`] completion and the subscription [`lifecycle`].

pub mod calendar;
pub mod cards;
pub mod checkout;
pub mod invoice;
pub mod invoicing;
pub mod lifecycle;
pub mod pricing;
pub mod subscriptions;

pub use calendar::civil;
pub use cards::{Card, CardBehaviour};
pub use checkout::{
    checkout_session_id, complete_checkout, new_customer, session_setup, session_setup_key,
};
pub use invoicing::{pay_open_invoice, usage};
pub use lifecycle::{
    cancel_at_period_end, cancel_now, end_trial, replace_payment_method, run_due,
    set_cancel_at_period_end,
};
pub use pricing::{money, price_label};
pub use subscriptions::save_subscription;
