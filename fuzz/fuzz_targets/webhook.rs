//! The webhook path as `POST /webhook` runs it: `Stripe-Signature` parsing and
//! verification (`devchat::stripe::webhook::verify`), then event decoding
//! (`devchat::stripe::webhook::read_event`).
//! Arbitrary headers and bodies must never panic; and a body signed with the secret
//! (so the fuzzer gets past the HMAC) must be decoded or rejected as a 400.
#![no_main]

use arbitrary::Arbitrary;
use devchat::{Error, stripe::webhook};
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
    if webhook::verify(input.payload, input.header, SECRET).is_ok() {
        // Only a header signed with SECRET over this very body may pass.
        let _ = webhook::read_event(input.payload);
    }
    if input.sign {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let header =
            Webhook::generate_test_header(input.payload, SECRET, Some(now + i64::from(input.skew)));
        let verified = webhook::verify(input.payload, Some(&header), SECRET);
        // Stripe's tolerance is 300 s either way (a few seconds of slack for the clock ticking).
        let skew = i64::from(input.skew).abs();
        assert!(
            skew >= 295 || verified.is_ok(),
            "refused a fresh signature (skew {skew})"
        );
        assert!(
            skew <= 305 || verified.is_err(),
            "took a stale signature (skew {skew})"
        );
        if verified.is_ok()
            && let Err(err) = webhook::read_event(input.payload)
        {
            assert!(matches!(err, Error::BadRequest(_)), "{err}");
        }
    }
});
