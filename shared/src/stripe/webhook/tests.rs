//! The webhook wire format: signatures, Stripe's messages, and decoding through
//! async-stripe's typed model (objects from `shared/tests/fixtures`, as the emulator
//! renders them).

use super::*;
use serde_json::{Value, json};

const SECRET: &str = "whsec_unit_test";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn event(kind: &str, created: i64, object: Value) -> String {
    json!({
        "id": "evt_1", "object": "event", "created": created, "livemode": false,
        "pending_webhooks": 1, "type": kind, "data": { "object": object }
    })
    .to_string()
}

/// `sub_1` of `cus_1`, one item of `price_x` whose period is 100–200, trial to 150.
fn subscription_object(status: &str, usage_type: &str) -> Value {
    let mut sub = fixture(include_str!("../../../tests/fixtures/subscription.json"));
    for (field, value) in [
        ("id", json!("sub_1")),
        ("customer", json!("cus_1")),
        ("status", json!(status)),
        ("trial_end", json!(150)),
        ("ended_at", Value::Null),
    ] {
        sub[field] = value;
    }
    let item = &mut sub["items"]["data"][0];
    item["current_period_start"] = json!(100);
    item["current_period_end"] = json!(200);
    item["price"]["id"] = json!("price_x");
    item["price"]["recurring"]["usage_type"] = json!(usage_type);
    sub
}

/// `payload`, delivered signed with [`SECRET`] now.
fn read(payload: &str) -> Result<Delivery> {
    let header = Webhook::generate_test_header(payload, SECRET, None);
    delivery(payload, Some(&header), SECRET)
}

fn message(result: Result<Delivery>) -> String {
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
    assert!(delivery(&payload, Some(&good), SECRET).is_ok());
    let other = Webhook::generate_test_header(&payload, "whsec_other", None);
    let (_, other_v1) = other.split_once(',').unwrap();
    let (t, good_v1) = good.split_once(',').unwrap();
    let both = format!("{t},{other_v1},{good_v1}");
    assert!(delivery(&payload, Some(&both), SECRET).is_ok());
}

#[test]
fn rejects_bad_signatures_with_stripes_messages() {
    let payload = event(
        "customer.subscription.updated",
        now(),
        subscription_object("active", "licensed"),
    );
    let check = |payload: &str, header: Option<&str>| message(delivery(payload, header, SECRET));
    let good = Webhook::generate_test_header(&payload, SECRET, None);
    let altered = payload.replacen("active", "activf", 1);
    assert_eq!(check(&altered, Some(&good)), BAD_SIGNATURE);
    let wrong = Webhook::generate_test_header(&payload, "whsec_wrong", None);
    assert_eq!(check(&payload, Some(&wrong)), BAD_SIGNATURE);
    let old = Webhook::generate_test_header(&payload, SECRET, Some(now() - 301));
    assert_eq!(check(&payload, Some(&old)), BAD_TIMESTAMP);
    for malformed in ["", "garbage", "t=abc,v1=00", "v1=00", "t=1,v1"] {
        assert_eq!(
            check(&payload, Some(malformed)),
            UNPARSEABLE_HEADER,
            "{malformed:?}"
        );
    }
    assert_eq!(
        check(&payload, Some(&format!("t={}", now()))),
        NO_V1_SIGNATURE
    );
    assert_eq!(check(&payload, None), MISSING_HEADER);
}

#[test]
fn authentic_payloads_that_are_no_event_of_our_version_are_refused() {
    // Not an event at all; and a subscription missing what the API version requires.
    let mut incomplete = subscription_object("active", "licensed");
    incomplete.as_object_mut().unwrap().remove("items");
    for payload in [
        r#"{"id":"evt_9","type":"some.future_event","created":1}"#.to_owned(),
        event("customer.subscription.updated", 1, incomplete),
    ] {
        assert!(
            message(read(&payload)).starts_with(NOT_AN_EVENT),
            "{payload}"
        );
    }
}

#[test]
fn events_of_types_the_model_does_not_know_are_nothing_for_us() {
    let payload = event(
        "some.future_event",
        1,
        json!({ "id": "x_1", "object": "x" }),
    );
    let delivery = read(&payload).unwrap();
    assert_eq!(delivery.event_type, "some.future_event");
    assert_eq!((delivery.news, delivery.invoice), (News::Nothing, None));
}

#[test]
fn reads_subscription_events() {
    let delivery = read(&event(
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

/// `in_1` of `cus_1`, paid, of subscription `sub_1`.
fn invoice_object() -> Value {
    let mut invoice = fixture(include_str!("../../../tests/fixtures/invoice.json"));
    for (field, value) in [
        ("id", json!("in_1")),
        ("customer", json!("cus_1")),
        ("number", json!("ABC-0001")),
        ("created", json!(90)),
        ("amount_due", json!(24000)),
        ("amount_paid", json!(24000)),
        ("currency", json!("usd")),
        ("status", json!("paid")),
        (
            "hosted_invoice_url",
            json!("https://invoice.stripe.com/i/x"),
        ),
    ] {
        invoice[field] = value;
    }
    invoice["parent"]["subscription_details"]["subscription"] = json!("sub_1");
    invoice
}

#[test]
fn reads_invoice_events() {
    let invoice = invoice_object();
    for kind in [
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_failed",
    ] {
        let (customer, read) = read(&event(kind, 95, invoice.clone()))
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
    let other = read(&event("invoice.created", 95, invoice)).unwrap();
    assert_eq!(other.invoice, None, "not an event we subscribe to");
}

/// `cus_1`'s `sub_1`, named by an event at `created`.
fn mentioned_sub_1(created: i64, new_subscription_is_news: bool) -> News {
    News::Mentioned {
        customer: "cus_1".into(),
        subscription: "sub_1".into(),
        created,
        new_subscription_is_news,
    }
}

#[test]
fn reads_events_that_name_a_subscription() {
    let mut session = fixture(include_str!(
        "../../../tests/fixtures/checkout_session.json"
    ));
    session["customer"] = json!("cus_1");
    session["subscription"] = json!("sub_1");
    let news = read(&event("checkout.session.completed", 7, session))
        .unwrap()
        .news;
    assert_eq!(news, mentioned_sub_1(7, true));
    let news = read(&event("invoice.payment_failed", 8, invoice_object()))
        .unwrap()
        .news;
    assert_eq!(news, mentioned_sub_1(8, false));
    let mut one_off = invoice_object();
    one_off["parent"] = Value::Null;
    assert_eq!(
        read(&event("invoice.payment_failed", 8, one_off))
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
