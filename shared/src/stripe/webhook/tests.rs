//! The webhook wire format: signatures, Stripe's messages, and decoding.

use super::*;
use serde_json::json;

const SECRET: &str = "whsec_unit_test";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn event(kind: &str, created: i64, object: Value) -> String {
    json!({
        "id": "evt_1", "object": "event", "created": created, "livemode": false,
        "pending_webhooks": 1, "type": kind, "data": { "object": object }
    })
    .to_string()
}

fn subscription_object(status: &str, usage_type: &str) -> Value {
    json!({
        "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": status,
        "trial_end": 150, "current_period_start": 1, "current_period_end": 2,
        "items": { "object": "list", "data": [
            { "id": "si_1", "current_period_start": 100, "current_period_end": 200,
              "price": { "id": "price_x", "recurring": { "interval": "month", "usage_type": usage_type } } }
        ] }
    })
}

fn message(result: Result<()>) -> String {
    match result.unwrap_err() {
        Error::BadRequest(message) => message,
        other => panic!("expected 400, got {other:?}"),
    }
}

#[test]
fn accepts_a_valid_signature_and_any_matching_v1() {
    let payload = event(
        "customer.subscription.updated",
        now(),
        subscription_object("active", "licensed"),
    );
    let good = Webhook::generate_test_header(&payload, SECRET, None);
    assert!(verify(&payload, Some(&good), SECRET).is_ok());
    let other = Webhook::generate_test_header(&payload, "whsec_other", None);
    let (_, other_v1) = other.split_once(',').unwrap();
    let (_, good_v1) = good.split_once(',').unwrap();
    let (t, _) = good.split_once(',').unwrap();
    assert!(verify(&payload, Some(&format!("{t},{other_v1},{good_v1}")), SECRET).is_ok());
}

#[test]
fn rejects_bad_signatures_with_stripes_messages() {
    let payload = event(
        "customer.subscription.updated",
        now(),
        subscription_object("active", "licensed"),
    );
    let good = Webhook::generate_test_header(&payload, SECRET, None);
    let altered = payload.replacen("active", "activf", 1);
    assert_eq!(
        message(verify(&altered, Some(&good), SECRET)),
        BAD_SIGNATURE
    );
    let wrong = Webhook::generate_test_header(&payload, "whsec_wrong", None);
    assert_eq!(
        message(verify(&payload, Some(&wrong), SECRET)),
        BAD_SIGNATURE
    );
    let old = Webhook::generate_test_header(&payload, SECRET, Some(now() - 301));
    assert_eq!(message(verify(&payload, Some(&old), SECRET)), BAD_TIMESTAMP);
    for malformed in ["", "garbage", "t=abc,v1=00", "v1=00", "t=1,v1"] {
        assert_eq!(
            message(verify(&payload, Some(malformed), SECRET)),
            UNPARSEABLE_HEADER,
            "{malformed:?}"
        );
    }
    assert_eq!(
        message(verify(&payload, Some(&format!("t={}", now())), SECRET)),
        NO_V1_SIGNATURE
    );
    assert_eq!(message(verify(&payload, None, SECRET)), MISSING_HEADER);
}

#[test]
fn authentic_payloads_outside_the_typed_model_are_accepted() {
    let payload = r#"{"id":"evt_9","type":"some.future_event","created":1}"#;
    let header = Webhook::generate_test_header(payload, SECRET, None);
    assert!(verify(payload, Some(&header), SECRET).is_ok());
    assert!(matches!(
        read_event(payload).unwrap_err(),
        crate::Error::BadRequest(_)
    ));
}

#[test]
fn reads_subscription_events() {
    let delivery = read_event(&event(
        "customer.subscription.deleted",
        42,
        subscription_object("canceled", "metered"),
    ))
    .unwrap();
    assert_eq!(delivery.event_type, "customer.subscription.deleted");
    let News::Subscription(news) = delivery.news else {
        panic!()
    };
    assert_eq!(
        news.period,
        Some(Period {
            start: 100,
            end: 200,
            trial_end: Some(150),
            ended_at: None
        }),
        "the period is the items'"
    );
    assert_eq!(
        (
            news.customer.as_str(),
            news.id.as_str(),
            news.status.as_str(),
            news.created
        ),
        ("cus_1", "sub_1", "canceled", 42)
    );
    assert_eq!(
        news.prices,
        vec![ItemPrice {
            id: "price_x".into(),
            usage_type: Some("metered".into())
        }]
    );
}

#[test]
fn reads_invoice_events() {
    let invoice = json!({
        "id": "in_1", "object": "invoice", "customer": "cus_1", "number": "ABC-0001",
        "created": 90, "amount_due": 24000, "amount_paid": 24000, "currency": "usd",
        "status": "paid", "hosted_invoice_url": "https://invoice.stripe.com/i/x"
    });
    for kind in [
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_failed",
    ] {
        let (customer, read) = read_event(&event(kind, 95, invoice.clone()))
            .unwrap()
            .invoice
            .expect(kind);
        assert_eq!(customer, "cus_1");
        assert_eq!(
            (read.amount_due, read.status.as_str(), read.as_of, read.rank),
            (24000, "paid", 95, 3)
        );
        assert_eq!(read.url.as_deref(), Some("https://invoice.stripe.com/i/x"));
    }
    let other = read_event(&event("invoice.created", 95, invoice)).unwrap();
    assert_eq!(other.invoice, None, "not an event we subscribe to");
}

#[test]
fn reads_events_that_name_a_subscription() {
    let session = json!({ "id": "cs_1", "object": "checkout.session", "customer": "cus_1", "subscription": "sub_1" });
    let news = read_event(&event("checkout.session.completed", 7, session))
        .unwrap()
        .news;
    assert_eq!(
        news,
        News::Mentioned {
            customer: "cus_1".into(),
            subscription: "sub_1".into(),
            created: 7,
            new_subscription_is_news: true
        }
    );
    for invoice in [
        json!({ "id": "in_1", "customer": "cus_1", "parent": { "subscription_details": { "subscription": "sub_1" } } }),
        json!({ "id": "in_1", "customer": { "id": "cus_1" }, "subscription": "sub_1" }),
    ] {
        let news = read_event(&event("invoice.payment_failed", 8, invoice))
            .unwrap()
            .news;
        assert_eq!(
            news,
            News::Mentioned {
                customer: "cus_1".into(),
                subscription: "sub_1".into(),
                created: 8,
                new_subscription_is_news: false
            }
        );
    }
    let one_off = json!({ "id": "in_2", "customer": "cus_1", "parent": null });
    assert_eq!(
        read_event(&event("invoice.payment_failed", 8, one_off))
            .unwrap()
            .news,
        News::Nothing
    );
    assert_eq!(
        read_event(&event("customer.created", 8, json!({ "id": "cus_1" })))
            .unwrap()
            .news,
        News::Nothing
    );
}

/// `make up` (scripts/up.sh) and the deploy guide subscribe to exactly the events
/// we handle: the list is [`HANDLED_EVENTS`], and this holds them to it.
#[test]
fn the_subscribed_events_are_the_handled_ones() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let read = |path: &str| std::fs::read_to_string(format!("{root}/{path}")).unwrap();
    let up = read("scripts/up.sh");
    let listed = up
        .lines()
        .find_map(|line| line.strip_prefix("WEBHOOK_EVENTS="))
        .expect("WEBHOOK_EVENTS= in scripts/up.sh");
    assert_eq!(listed, HANDLED_EVENTS.join(","), "scripts/up.sh");
    let deploy = read("docs/deploy.md");
    let mut enabled: Vec<&str> = deploy
        .split("enabled_events[]=")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let mut handled = HANDLED_EVENTS.to_vec();
    enabled.sort_unstable();
    handled.sort_unstable();
    assert_eq!(enabled, handled, "docs/deploy.md: enabled_events[]");
    for event in HANDLED_EVENTS {
        assert!(
            deploy.contains(&format!("`{event}`")),
            "docs/deploy.md names {event}"
        );
    }
}
