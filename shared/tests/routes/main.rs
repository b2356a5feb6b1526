//! Every route against real components (moto server, the Stripe emulator, `cargo
//! lambda watch`, the Stripe CLI), one module per feature.

mod billing;
mod checkout;
mod mail;
mod offerings;
mod portal;
mod schedule;
mod sessions;
mod sign_in;
mod signup;
mod spec;
mod webhook;

/// `error.message` of an error body; panics naming the body otherwise.
fn error_message(body: &serde_json::Value) -> &str {
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"))
}
