//! The webhook path as `POST /webhook` runs it: `Stripe-Signature` parsing,
//! verification and event decoding (`devchat::stripe::webhook::delivery`).
//! Arbitrary headers and bodies must never panic; and a body signed with the secret
//! (so the fuzzer gets past the HMAC) must be decoded or refused as a 400 that says
//! it is no event, never as a bad signature.
#![no_main]

use arbitrary::Arbitrary;
use devchat::{
    Error,
    stripe::webhook::{self, BAD_TIMESTAMP, NOT_AN_EVENT},
};
use libfuzzer_sys::fuzz_target;
use stripe_webhook::Webhook;

const SECRET: &str = "whsec_fuzz";

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    /// The `Stripe-Signature` header (absent, or any text).
    header: Option<&'a str>,
    /// The raw body.
    payload: &'a str,
    /// Also deliver the body with a valid signature, to reach the event decoding.
    sign: bool,
    /// A timestamp offset for the valid signature (outside ±300 s must be refused).
    skew: i16,
}

fuzz_target!(|input: Input<'_>| {
    // Any header and body: an answer, never a panic.
    let _ = webhook::delivery(input.payload, input.header, SECRET);
    if input.sign {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let header =
            Webhook::generate_test_header(input.payload, SECRET, Some(now + i64::from(input.skew)));
        let read = webhook::delivery(input.payload, Some(&header), SECRET);
        let refused = |prefix: &str| {
            matches!(&read, Err(Error::BadRequest(message)) if message.starts_with(prefix))
        };
        // Stripe's tolerance is 300 s either way (a few seconds of slack for the clock
        // ticking). Within it the signature holds: the body is read, or refused as no event.
        let skew = i64::from(input.skew).abs();
        assert!(
            skew >= 295 || read.is_ok() || refused(NOT_AN_EVENT),
            "refused a fresh signature (skew {skew}): {read:?}"
        );
        assert!(
            skew <= 305 || refused(BAD_TIMESTAMP),
            "took a stale signature (skew {skew}): {read:?}"
        );
    }
});
