//! Stripe's webhook wire format: the `Stripe-Signature` check (async-stripe's
//! `stripe_webhook::Webhook`: HMAC-SHA256 over `"{t}.{raw body}"`, any matching `v1`,
//! 300 s tolerance) with Stripe's own messages, the event types we subscribe to, and
//! the decoding of an event into the few fields our rules read ([`Delivery`]).
//!
//! We read those fields with serde_json, in one pass over the payload, rather than
//! through async-stripe's typed model, so an authentic event the model does not know
//! (a newer API version, an unknown type) is still acknowledged rather than rejected.
//! (async-stripe's `construct_event` offers no signature-only check: it parses the
//! payload into its model after the signature and timestamp hold; we only read
//! whether that parse failed.) What the events mean for us is [`crate::sync`]'s.

use serde::Deserialize;
use serde_json::Value;
use stripe_webhook::{Webhook, WebhookError};

use crate::{
    Error, Result,
    model::{Invoice, Period},
};

/// The webhook event types we act on: what `stripe listen` (make up, the tests) and
/// the deployed webhook endpoint subscribe to (a test holds scripts/up.sh and the docs
/// to this list).
pub const HANDLED_EVENTS: [&str; 7] = [
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "checkout.session.completed",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
];

/// An authentic delivery, read: `Stripe-Signature` checked against the exact raw
/// `payload`, then the payload decoded. Every failure is a 400 with Stripe's wording.
pub fn delivery(payload: &str, header: Option<&str>, secret: &str) -> Result<Delivery> {
    verify(payload, header, secret)?;
    read_event(payload)
}

/// What Stripe's own libraries answer when the header cannot be parsed at all.
pub const UNPARSEABLE_HEADER: &str = "Unable to extract timestamp and signatures from header";
pub const MISSING_HEADER: &str = "No Stripe-Signature header value was provided.";
pub const NO_V1_SIGNATURE: &str = "No signatures found with expected scheme v1";
pub const BAD_SIGNATURE: &str = "No signatures found matching the expected signature for payload";
pub const BAD_TIMESTAMP: &str = "Timestamp outside the tolerance zone";

/// Checks `header` (the `Stripe-Signature` value) against the exact raw `payload`
/// with async-stripe's verification. Every failure is a 400 with Stripe's wording.
pub fn verify(payload: &str, header: Option<&str>, secret: &str) -> Result<()> {
    let header = header.ok_or_else(|| Error::BadRequest(MISSING_HEADER.into()))?;
    // async-stripe reports an unparseable header and a wrong signature alike
    // (`BadSignature`); this look at the header's shape only picks the message.
    if let Some(message) = header_shape_problem(header) {
        return Err(Error::BadRequest(message.into()));
    }
    match Webhook::construct_event(payload, header, secret) {
        // `construct_event` checks the signature and the timestamp first and only
        // then parses the payload into its typed model: `BadParse` therefore means
        // "authentic, but not a shape async-stripe models", which we read ourselves.
        Ok(_) => Ok(()),
        Err(WebhookError::BadParse(reason)) => {
            tracing::debug!(%reason, "signed event outside async-stripe's typed model");
            Ok(())
        }
        Err(WebhookError::BadHeader(_)) => Err(Error::BadRequest(UNPARSEABLE_HEADER.into())),
        Err(WebhookError::BadSignature) => Err(Error::BadRequest(BAD_SIGNATURE.into())),
        Err(WebhookError::BadTimestamp(_)) => Err(Error::BadRequest(BAD_TIMESTAMP.into())),
        Err(WebhookError::BadKey) => Err(Error::Internal(
            "the webhook signing secret is unusable".into(),
        )),
    }
}

/// Why a header is not of the form `t=<int>,v1=<sig>[,…]`, in Stripe's words.
fn header_shape_problem(header: &str) -> Option<&'static str> {
    let mut timestamp = false;
    let mut v1 = false;
    for pair in header.split(',') {
        let Some((key, value)) = pair.split_once('=') else {
            return Some(UNPARSEABLE_HEADER);
        };
        match key.trim() {
            "t" => timestamp = value.trim().parse::<i64>().is_ok(),
            "v1" => v1 = true,
            _ => {}
        }
    }
    if !timestamp {
        Some(UNPARSEABLE_HEADER)
    } else if !v1 {
        Some(NO_V1_SIGNATURE)
    } else {
        None
    }
}

/// The parts of an event we read.
#[derive(Debug, Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: EnvelopeData,
}

#[derive(Debug, Deserialize)]
struct EnvelopeData {
    object: Value,
}

/// A subscription as events carry it.
#[derive(Debug, Deserialize)]
struct SubscriptionObject {
    id: String,
    customer: Value,
    status: String,
    #[serde(default)]
    items: Option<ItemList>,
    #[serde(default)]
    trial_end: Option<i64>,
    #[serde(default)]
    ended_at: Option<i64>,
    /// API versions before 2025-03 report the period on the subscription.
    #[serde(default)]
    current_period_start: Option<i64>,
    #[serde(default)]
    current_period_end: Option<i64>,
}

impl SubscriptionObject {
    /// The current period: the items' (they share one), else the subscription's.
    fn period(&self) -> Option<Period> {
        let item = self.items.as_ref().and_then(|items| {
            items
                .data
                .iter()
                .find_map(|item| Some((item.current_period_start?, item.current_period_end?)))
        });
        let top = || Some((self.current_period_start?, self.current_period_end?));
        let (start, end) = item.or_else(top)?;
        Some(Period {
            start,
            end,
            trial_end: self.trial_end,
            ended_at: self.ended_at,
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct ItemList {
    #[serde(default)]
    data: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    price: Option<PriceObject>,
    #[serde(default)]
    current_period_start: Option<i64>,
    #[serde(default)]
    current_period_end: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct PriceObject {
    id: String,
    #[serde(default)]
    recurring: Option<Recurring>,
}

#[derive(Debug, Deserialize)]
struct Recurring {
    #[serde(default)]
    usage_type: Option<String>,
}

/// A price of a subscription item: its id and, when known, `recurring.usage_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPrice {
    pub id: String,
    pub usage_type: Option<String>,
}

/// What an authentic event tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// The subscription's state as of `created` (`customer.subscription.*`).
    Subscription {
        customer: String,
        id: String,
        status: String,
        prices: Vec<ItemPrice>,
        created: i64,
        period: Option<Period>,
    },
    /// A subscription named without its state (`checkout.session.completed`,
    /// `invoice.payment_failed`): re-read it if it is news to us.
    Mentioned {
        customer: String,
        subscription: String,
        created: i64,
        /// `checkout.session.completed`: a subscription we don't know yet is news.
        /// `invoice.payment_failed`: only our current subscription is.
        new_subscription_is_news: bool,
    },
    /// Nothing for us (another type, or an event without a subscription).
    Nothing,
}

/// A verified delivery, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    pub news: News,
    /// `invoice.*`: the invoice's state as of the event, for its customer.
    pub invoice: Option<(String, Invoice)>,
}

/// Reads an authentic event's JSON: 400 when it is not an event at all.
pub fn read_event(payload: &str) -> Result<Delivery> {
    let envelope: Envelope = serde_json::from_str(payload)
        .map_err(|err| Error::BadRequest(format!("the body is not a Stripe event: {err}")))?;
    let object = &envelope.data.object;
    let news = match envelope.kind.as_str() {
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let sub: SubscriptionObject =
                serde_json::from_value(object.clone()).map_err(|err| {
                    Error::BadRequest(format!("the event's subscription is malformed: {err}"))
                })?;
            match id_of(&sub.customer) {
                Some(customer) => News::Subscription {
                    customer,
                    period: sub.period(),
                    prices: sub
                        .items
                        .unwrap_or_default()
                        .data
                        .into_iter()
                        .filter_map(|item| item.price)
                        .map(|price| ItemPrice {
                            id: price.id,
                            usage_type: price.recurring.and_then(|r| r.usage_type),
                        })
                        .collect(),
                    id: sub.id,
                    status: sub.status,
                    created: envelope.created,
                },
                None => News::Nothing,
            }
        }
        "checkout.session.completed" => {
            mentioned(object, &object["subscription"], envelope.created, true)
        }
        "invoice.payment_failed" => {
            // API versions since 2025-03 name it under `parent`; older ones at the top.
            let subscription = match &object["parent"]["subscription_details"]["subscription"] {
                Value::Null => &object["subscription"],
                found => found,
            };
            mentioned(object, subscription, envelope.created, false)
        }
        _ => News::Nothing,
    };
    let invoice = match envelope.kind.as_str() {
        "invoice.finalized" | "invoice.paid" | "invoice.payment_failed" => {
            read_invoice(object, envelope.created)?
        }
        _ => None,
    };
    Ok(Delivery {
        event_id: envelope.id,
        event_type: envelope.kind,
        news,
        invoice,
    })
}

/// An invoice as events carry it.
#[derive(Debug, Deserialize)]
struct InvoiceObject {
    id: String,
    customer: Value,
    #[serde(default)]
    number: Option<String>,
    #[serde(default)]
    created: i64,
    #[serde(default)]
    amount_due: i64,
    #[serde(default)]
    amount_paid: i64,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    hosted_invoice_url: Option<String>,
}

/// `(customer, invoice)` of an `invoice.*` event, stamped with the event's `created`.
fn read_invoice(object: &Value, created: i64) -> Result<Option<(String, Invoice)>> {
    let invoice: InvoiceObject = serde_json::from_value(object.clone())
        .map_err(|err| Error::BadRequest(format!("the event's invoice is malformed: {err}")))?;
    let Some(customer) = id_of(&invoice.customer) else {
        return Ok(None);
    };
    let status = invoice.status.unwrap_or_else(|| "draft".into());
    Ok(Some((
        customer,
        Invoice {
            rank: Invoice::rank_of(&status),
            id: invoice.id,
            number: invoice.number,
            created_at: invoice.created,
            amount_due: invoice.amount_due,
            amount_paid: invoice.amount_paid,
            currency: invoice.currency,
            status,
            url: invoice.hosted_invoice_url,
            as_of: created,
        },
    )))
}

fn mentioned(
    object: &Value,
    subscription: &Value,
    created: i64,
    new_subscription_is_news: bool,
) -> News {
    match (id_of(&object["customer"]), id_of(subscription)) {
        (Some(customer), Some(subscription)) => News::Mentioned {
            customer,
            subscription,
            created,
            new_subscription_is_news,
        },
        _ => News::Nothing,
    }
}

/// An id given as a string or as an expanded object.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(id) => Some(id.clone()),
        Value::Object(object) => object.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
    .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
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
        let News::Subscription {
            customer,
            id,
            status,
            prices,
            created,
            period,
        } = delivery.news
        else {
            panic!()
        };
        assert_eq!(
            period,
            Some(Period {
                start: 100,
                end: 200,
                trial_end: Some(150),
                ended_at: None
            }),
            "the period is the items'"
        );
        assert_eq!(
            (customer.as_str(), id.as_str(), status.as_str(), created),
            ("cus_1", "sub_1", "canceled", 42)
        );
        assert_eq!(
            prices,
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
}
