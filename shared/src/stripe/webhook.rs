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

/// A subscription's state as a `customer.subscription.*` event reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionNews {
    pub customer: String,
    pub id: String,
    pub status: String,
    pub prices: Vec<ItemPrice>,
    /// The event's time: the state is Stripe's as of then.
    pub created: i64,
    pub period: Option<Period>,
}

/// What an authentic event tells us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News {
    /// The subscription's state as of `created` (`customer.subscription.*`).
    Subscription(SubscriptionNews),
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
                Some(customer) => News::Subscription(SubscriptionNews {
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
                }),
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
mod tests;
