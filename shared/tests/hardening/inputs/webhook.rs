//! The matrix's rows for `POST /webhook`: signatures missing, malformed, wrong or stale,
//! bodies altered after signing, and signed bodies that are not events.

use devchat_kit::Route;
use serde_json::json;
use stripe_webhook::Webhook;

use super::{Case, Cast};

pub(super) fn cases(cast: &Cast) -> Vec<Case> {
    let app = cast.app;
    let event = json!({ "id": "evt_1", "object": "event", "type": "customer.subscription.updated", "created": devchat_kit::now(),
        "data": { "object": { "id": "sub_x", "object": "subscription", "customer": cast.subscriber.id, "status": "canceled" } } })
    .to_string();
    let secret = app.config.webhook_secret().unwrap();
    let signed = |payload: &str| Webhook::generate_test_header(payload, secret, None);
    let hook = |name: &str, status, says| {
        Case::new(format!("webhook: {name}"), Route::Webhook, status, says)
    };
    let unparseable = "Unable to extract timestamp and signatures from header";
    let no_match = "No signatures found matching";
    let now = devchat_kit::now();
    let mut cases =
        vec![hook("no signature", 400, "No Stripe-Signature header").body(event.clone())];
    // The event, under a `Stripe-Signature` that must not pass: (case, message, header).
    for (name, says, header) in [
        ("empty signature", unparseable, String::new()),
        (
            "garbage signature",
            unparseable,
            "<script>alert(1)</script>".to_owned(),
        ),
        (
            "no v1",
            "No signatures found with expected scheme",
            format!("t={now}"),
        ),
        (
            "wrong signature",
            no_match,
            format!("t={now},v1={}", "ab".repeat(32)),
        ),
        (
            "wrong secret",
            no_match,
            Webhook::generate_test_header(&event, "whsec_not_ours", None),
        ),
        (
            "timestamp an hour old",
            "Timestamp outside the tolerance zone",
            Webhook::generate_test_header(&event, secret, Some(now - 3_600)),
        ),
    ] {
        cases.push(
            hook(name, 400, says)
                .body(event.clone())
                .header("stripe-signature", header),
        );
    }
    let altered = event.replace("canceled", "cancelez");
    cases.push(
        hook("body altered after signing", 400, no_match)
            .body(altered)
            .header("stripe-signature", signed(&event)),
    );
    cases.push(
        hook("signed, not an event", 400, "not a Stripe event")
            .body(r#"{"hello":"world"}"#)
            .header("stripe-signature", signed(r#"{"hello":"world"}"#)),
    );
    cases.push(
        hook("signed, not JSON", 400, "not a Stripe event")
            .body("<xml/>")
            .header("stripe-signature", signed("<xml/>")),
    );
    cases.push(
        hook("body not UTF-8", 400, "not UTF-8")
            .body(vec![0xc3, 0x28])
            .header("stripe-signature", signed("x")),
    );
    cases.push(
        hook("missing body", 400, "not a Stripe event").header("stripe-signature", signed("")),
    );
    cases
}
