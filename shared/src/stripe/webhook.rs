//! Stripe's webhook wire format: the `Stripe-Signature` check with Stripe's own
//! messages, the event types we subscribe to, and the decoding of an event into the
//! few fields our rules read ([`Delivery`]).
//!
//! async-stripe's `Webhook::construct_event` checks the signature (HMAC-SHA256 over
//! `"{t}.{raw body}"`, any matching `v1`, 300 s tolerance) and then parses the payload
//! into its typed model, in that order and in one call: it offers no signature-only
//! check. So its parse is the one parse; we read our fields from its typed event. The
//! model is async-stripe's API version (`2026-09-30.endive`, which the emulator speaks
//! too), so the webhook endpoint is created with that `api_version`
//! (docs/deploy.md): an authentic event of another shape is refused with a 400 and
//! logged, and Stripe retries it. An event type the model does not know is read as
//! nothing for us and acknowledged. What the events mean for us is [`crate::sync`]'s.

use stripe_webhook::{Event, EventObject, Webhook, WebhookError};

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

/// Ours: an authentic payload that is not an event async-stripe's model reads.
pub const NOT_AN_EVENT: &str = "the body is not a Stripe event of our API version";

/// An authentic delivery, read: `Stripe-Signature` checked against the exact raw
/// `payload`, then the payload parsed, both by async-stripe. Every failure is a 400
/// with Stripe's wording.
pub fn delivery(payload: &str, header: Option<&str>, secret: &str) -> Result<Delivery> {
    let header = header.ok_or_else(|| Error::BadRequest(MISSING_HEADER.into()))?;
    // async-stripe reports an unparseable header and a wrong signature alike
    // (`BadSignature`); this look at the header's shape only picks the message.
    if let Some(message) = header_shape_problem(header) {
        return Err(Error::BadRequest(message.into()));
    }
    match Webhook::construct_event(payload, header, secret) {
        Ok(event) => Ok(read(event)),
        // The signature and its time held; the payload is not an event of the model.
        Err(WebhookError::BadParse(reason)) => {
            tracing::warn!(%reason, "an authentic payload async-stripe cannot read as an event");
            Err(Error::BadRequest(format!("{NOT_AN_EVENT}: {reason}")))
        }
        Err(WebhookError::BadHeader(_)) => Err(Error::BadRequest(UNPARSEABLE_HEADER.into())),
        Err(WebhookError::BadSignature) => Err(Error::BadRequest(BAD_SIGNATURE.into())),
        Err(WebhookError::BadTimestamp(_)) => Err(Error::BadRequest(BAD_TIMESTAMP.into())),
        Err(WebhookError::BadKey) => Err(Error::Internal(
            "the webhook signing secret is unusable".into(),
        )),
    }
}

/// What Stripe's own libraries answer when the header cannot be parsed at all.
pub const UNPARSEABLE_HEADER: &str = "Unable to extract timestamp and signatures from header";
pub const MISSING_HEADER: &str = "No Stripe-Signature header value was provided.";
pub const NO_V1_SIGNATURE: &str = "No signatures found with expected scheme v1";
pub const BAD_SIGNATURE: &str = "No signatures found matching the expected signature for payload";
pub const BAD_TIMESTAMP: &str = "Timestamp outside the tolerance zone";

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

impl Delivery {
    /// The customer the delivery is about (its news's, else its invoice's), whose
    /// record the handler reads once for both the subscription and the invoice.
    pub fn customer(&self) -> Option<&str> {
        match &self.news {
            News::Subscription(news) => Some(&news.customer),
            News::Mentioned { customer, .. } => Some(customer),
            News::Nothing => self.invoice.as_ref().map(|(customer, _)| customer.as_str()),
        }
    }
}

/// Our fields of async-stripe's typed event.
fn read(event: Event) -> Delivery {
    let created = event.created;
    let (news, invoice) = match &event.data.object {
        EventObject::CustomerSubscriptionCreated(sub)
        | EventObject::CustomerSubscriptionUpdated(sub)
        | EventObject::CustomerSubscriptionDeleted(sub) => (subscription_news(sub, created), None),
        EventObject::CheckoutSessionCompleted(session) => {
            let subscription = session.subscription.as_ref().map(|s| s.id().as_str());
            let news = mentioned(session.customer.as_ref(), subscription, created, true);
            (news, None)
        }
        EventObject::InvoicePaymentFailed(invoice) => {
            let subscription = invoice
                .parent
                .as_ref()
                .and_then(|parent| parent.subscription_details.as_ref())
                .map(|details| details.subscription.id().as_str());
            let news = mentioned(invoice.customer.as_ref(), subscription, created, false);
            (news, read_invoice(invoice, created))
        }
        EventObject::InvoiceFinalized(invoice) | EventObject::InvoicePaid(invoice) => {
            (News::Nothing, read_invoice(invoice, created))
        }
        _ => (News::Nothing, None),
    };
    Delivery {
        event_id: event.id.to_string(),
        event_type: event.type_.as_str().to_owned(),
        news,
        invoice,
    }
}

/// A subscription's state as of the event's `created`; nothing for a customer we
/// could not name.
fn subscription_news(sub: &stripe_shared::Subscription, created: i64) -> News {
    let Some(customer) = non_empty(sub.customer.id().as_str()) else {
        return News::Nothing;
    };
    let items = &sub.items.data;
    // The current period is the items' (they share one).
    let period = items.first().map(|item| Period {
        start: item.current_period_start,
        end: item.current_period_end,
        trial_end: sub.trial_end,
        ended_at: sub.ended_at,
    });
    News::Subscription(SubscriptionNews {
        customer,
        id: sub.id.to_string(),
        status: sub.status.as_str().to_owned(),
        prices: items
            .iter()
            .map(|item| ItemPrice {
                id: item.price.id.to_string(),
                usage_type: item
                    .price
                    .recurring
                    .as_ref()
                    .map(|r| r.usage_type.as_str().to_owned()),
            })
            .collect(),
        created,
        period,
    })
}

/// `(customer, invoice)` of an `invoice.*` event, stamped with the event's `created`.
fn read_invoice(invoice: &stripe_shared::Invoice, created: i64) -> Option<(String, Invoice)> {
    let customer = non_empty(invoice.customer.as_ref()?.id().as_str())?;
    let status = invoice
        .status
        .as_ref()
        .map_or("draft", |status| status.as_str())
        .to_owned();
    Some((
        customer,
        Invoice {
            rank: Invoice::rank_of(&status),
            id: invoice.id.as_ref()?.to_string(),
            number: invoice.number.clone(),
            created_at: invoice.created,
            amount_due: invoice.amount_due,
            amount_paid: invoice.amount_paid,
            currency: invoice.currency.to_string(),
            status,
            url: invoice.hosted_invoice_url.clone(),
            as_of: created,
        },
    ))
}

fn mentioned(
    customer: Option<&stripe_types::Expandable<stripe_shared::Customer>>,
    subscription: Option<&str>,
    created: i64,
    new_subscription_is_news: bool,
) -> News {
    let customer = customer.and_then(|c| non_empty(c.id().as_str()));
    match (customer, subscription.and_then(non_empty)) {
        (Some(customer), Some(subscription)) => News::Mentioned {
            customer,
            subscription,
            created,
            new_subscription_is_news,
        },
        _ => News::Nothing,
    }
}

fn non_empty(id: &str) -> Option<String> {
    (!id.is_empty()).then(|| id.to_owned())
}

#[cfg(test)]
mod tests;
