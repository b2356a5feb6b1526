//! Integration tests of the billing side of the emulator over HTTP: Checkout
//! Sessions, subscriptions, invoices, payment methods, portal sessions, the
//! clock (trial ends, renewals, metered usage) and persistence. Each test serves
//! its own emulator in-process on a free port.

mod checkout;
mod clock;
mod invoices;
mod persistence;
mod portal;
mod subscriptions;
#[path = "../support/mod.rs"]
mod support;
