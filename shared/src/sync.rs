//! Webhooks: verify `Stripe-Signature`, then sync the user's subscription from the
//! event, never letting an older state overwrite a newer one.
//!
//! # Ordering: we compare the event's `created`, we do not re-read Stripe
//!
//! Every state we store carries `as_of`, the Stripe time it describes (for an event,
//! its `created`). A state replaces the stored one only when it is *newer* by the
//! total order [`order_key`] = (`as_of`, status rank, subscription id), checked here
//! before writing and enforced again by [`Store::save_subscription`]'s conditional
//! write (it refuses anything whose `as_of` is older than what is stored), so two
//! deliveries racing each other cannot put an older state back.
//!
//! Why not re-read the subscription from Stripe on every event? It is simpler to
//! reason about, but it costs a Stripe round trip per delivery (and Stripe rate
//! limits), makes the webhook fail whenever Stripe is slow, and still needs an
//! ordering rule for two deliveries re-reading concurrently. The subscription events
//! carry the whole subscription, so comparing `created` syncs them with **no** Stripe
//! call. Only `checkout.session.completed` and `invoice.payment_failed`, which name a
//! subscription without its status, re-read it (one call), and only when they
//! carry news (a subscription we do not know yet, or a state newer than ours).
//!
//! Events of the same second (`created` equal, e.g. `customer.subscription.created`
//! then `.updated` when a payment succeeds at once) are ordered by status rank:
//! `incomplete` < `trialing` < `active` < `paused` < `past_due` < `unpaid` <
//! `incomplete_expired` < `canceled` — a subscription moves forward within a second,
//! and the terminal `canceled` always wins. The subscription id breaks the last tie,
//! so the order is total: any set of deliveries, in any order, with any duplicates,
//! ends in the same state (the greatest), and a duplicate changes nothing.
//! (The one transition this rule cannot see is a move *down* the ranks within one
//! second, e.g. `past_due` → `active`; the next event of a later second corrects it.)
//!
//! Signatures are verified by async-stripe's `stripe_webhook::Webhook` (HMAC-SHA256
//! over `"{t}.{raw body}"`, any matching `v1`, 300 s tolerance). We then read only the
//! fields we need with serde_json, so an event our typed model does not know (a newer
//! API version, an unknown type) is still acknowledged rather than rejected.

use serde::Deserialize;
use serde_json::Value;
use stripe_webhook::{Webhook, WebhookError};

use crate::{
    Error, Result,
    model::{Catalog, Subscription, SubscriptionType},
    store::Store,
    stripe::StripeApi,
};

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
}

#[derive(Debug, Default, Deserialize)]
struct ItemList {
    #[serde(default)]
    data: Vec<Item>,
}

#[derive(Debug, Deserialize)]
struct Item {
    price: Option<PriceObject>,
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
    Ok(Delivery {
        event_id: envelope.id,
        event_type: envelope.kind,
        news,
    })
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

/// Which offer a subscription is for: a metered item means on demand; otherwise
/// our catalog decides, and a licensed price we don't know counts as monthly.
pub fn kind_of(prices: &[ItemPrice], catalog: Option<&Catalog>) -> SubscriptionType {
    let from_catalog =
        catalog.and_then(|catalog| prices.iter().find_map(|price| catalog.offer_of(&price.id)));
    let metered = prices
        .iter()
        .any(|price| price.usage_type.as_deref() == Some("metered"));
    match from_catalog {
        Some(kind) => kind,
        None if metered => SubscriptionType::Ondemand,
        None => SubscriptionType::Monthly,
    }
}

/// [`kind_of`], reading the catalog only when `usage_type` alone cannot tell
/// (events carry it; a re-read [`crate::stripe::SubscriptionState`] does not).
async fn offer_of(store: &impl Store, prices: &[ItemPrice]) -> Result<SubscriptionType> {
    let usage_known = !prices.is_empty() && prices.iter().all(|price| price.usage_type.is_some());
    let catalog = if usage_known {
        None
    } else {
        store.get_catalog().await?
    };
    Ok(kind_of(prices, catalog.as_ref()))
}

/// How far along its life a status is; within one second, a later stage wins.
pub fn status_rank(status: &str) -> u8 {
    match status {
        "incomplete" => 1,
        "trialing" => 2,
        "active" => 3,
        "paused" => 4,
        "past_due" => 5,
        "unpaid" => 6,
        "incomplete_expired" => 7,
        "canceled" => 8,
        _ => 0,
    }
}

/// The total order of subscription states: (`as_of`, status rank, id).
pub fn order_key(subscription: &Subscription) -> (i64, u8, &str) {
    (
        subscription.as_of.unwrap_or(i64::MIN),
        status_rank(&subscription.status),
        subscription.id.as_str(),
    )
}

/// Whether `candidate` should replace `stored`: only a strictly greater state does,
/// so duplicates and older states change nothing.
pub fn supersedes(candidate: &Subscription, stored: Option<&Subscription>) -> bool {
    stored.is_none_or(|stored| order_key(candidate) > order_key(stored))
}

/// What a delivery did, for the response and the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The user's subscription now holds the event's state.
    Updated,
    /// We already hold this state or a newer one (duplicate or late delivery).
    Unchanged,
    /// The customer is not one of our users.
    UnknownCustomer,
    /// The event tells us nothing (another type, or no news).
    Ignored,
}

/// Applies a verified delivery.
pub async fn apply(
    stripe: &impl StripeApi,
    store: &impl Store,
    delivery: &Delivery,
) -> Result<Outcome> {
    let (customer, state) = match &delivery.news {
        News::Nothing => return Ok(Outcome::Ignored),
        News::Subscription {
            customer,
            id,
            status,
            prices,
            created,
        } => {
            let Some(user) = store.get_user(customer).await? else {
                return Ok(Outcome::UnknownCustomer);
            };
            let state = Subscription {
                id: id.clone(),
                status: status.clone(),
                kind: offer_of(store, prices).await?,
                as_of: Some(*created),
            };
            if !supersedes(&state, user.subscription.as_ref()) {
                return Ok(Outcome::Unchanged);
            }
            (customer, state)
        }
        News::Mentioned {
            customer,
            subscription,
            created,
            new_subscription_is_news,
        } => {
            let Some(user) = store.get_user(customer).await? else {
                return Ok(Outcome::UnknownCustomer);
            };
            let is_news = match &user.subscription {
                None => true,
                Some(stored) if stored.id == *subscription => {
                    stored.as_of.is_none_or(|as_of| as_of < *created)
                }
                Some(_) => *new_subscription_is_news,
            };
            if !is_news {
                return Ok(Outcome::Unchanged);
            }
            let Some(current) = stripe.retrieve_subscription(subscription).await? else {
                tracing::warn!(%subscription, "an event names a subscription Stripe does not know");
                return Ok(Outcome::Ignored);
            };
            if current.customer != *customer {
                tracing::warn!(%subscription, %customer, "an event names another customer's subscription");
                return Ok(Outcome::Ignored);
            }
            let prices: Vec<ItemPrice> = current
                .prices
                .iter()
                .map(|id| ItemPrice {
                    id: id.clone(),
                    usage_type: None,
                })
                .collect();
            // What we just read is at least as new as the event: stamp it with the
            // event's time (a lower bound in Stripe's clock), so newer events still win.
            let state = Subscription {
                id: current.id,
                status: current.status,
                kind: offer_of(store, &prices).await?,
                as_of: Some(*created),
            };
            if !supersedes(&state, user.subscription.as_ref()) {
                return Ok(Outcome::Unchanged);
            }
            (customer, state)
        }
    };
    Ok(if store.save_subscription(customer, &state).await? {
        Outcome::Updated
    } else {
        Outcome::Unchanged
    })
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
            "items": { "object": "list", "data": [
                { "id": "si_1", "price": { "id": "price_x", "recurring": { "interval": "month", "usage_type": usage_type } } }
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
        assert_eq!(
            read_event(payload).unwrap_err().status(),
            http::StatusCode::BAD_REQUEST
        );
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
        } = delivery.news
        else {
            panic!()
        };
        assert_eq!(
            (customer.as_str(), id.as_str(), status.as_str(), created),
            ("cus_1", "sub_1", "canceled", 42)
        );
        assert_eq!(kind_of(&prices, None), SubscriptionType::Ondemand);
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

    fn state(id: &str, status: &str, as_of: i64) -> Subscription {
        Subscription {
            id: id.into(),
            status: status.into(),
            kind: SubscriptionType::Monthly,
            as_of: Some(as_of),
        }
    }

    #[test]
    fn only_strictly_newer_states_supersede() {
        assert!(supersedes(&state("sub_1", "trialing", 10), None));
        assert!(supersedes(
            &state("sub_1", "active", 11),
            Some(&state("sub_1", "canceled", 10))
        ));
        assert!(!supersedes(
            &state("sub_1", "active", 9),
            Some(&state("sub_1", "past_due", 10))
        ));
        assert!(
            !supersedes(
                &state("sub_1", "active", 10),
                Some(&state("sub_1", "active", 10))
            ),
            "a duplicate"
        );
        // Same second: forward through the life cycle, canceled last.
        assert!(supersedes(
            &state("sub_1", "active", 10),
            Some(&state("sub_1", "incomplete", 10))
        ));
        assert!(supersedes(
            &state("sub_1", "past_due", 10),
            Some(&state("sub_1", "active", 10))
        ));
        assert!(supersedes(
            &state("sub_1", "canceled", 10),
            Some(&state("sub_1", "past_due", 10))
        ));
        assert!(!supersedes(
            &state("sub_1", "active", 10),
            Some(&state("sub_1", "canceled", 10))
        ));
    }

    #[test]
    fn any_delivery_order_converges_to_the_greatest_state() {
        let states = [
            state("sub_1", "incomplete", 10),
            state("sub_1", "active", 10),
            state("sub_1", "past_due", 12),
            state("sub_1", "canceled", 12),
            state("sub_1", "active", 11),
        ];
        // Every permutation (5! = 120), each state delivered twice.
        let mut order: Vec<usize> = (0..states.len()).collect();
        let mut finals = std::collections::HashSet::new();
        permute(&mut order, 0, &mut |order| {
            let mut stored: Option<Subscription> = None;
            for &i in order.iter().chain(order.iter()) {
                if supersedes(&states[i], stored.as_ref()) {
                    stored = Some(states[i].clone());
                }
            }
            finals.insert(stored.unwrap().status);
        });
        assert_eq!(
            finals.into_iter().collect::<Vec<_>>(),
            vec!["canceled".to_string()]
        );
    }

    fn permute(items: &mut Vec<usize>, k: usize, visit: &mut impl FnMut(&[usize])) {
        if k == items.len() {
            return visit(items);
        }
        for i in k..items.len() {
            items.swap(k, i);
            permute(items, k + 1, visit);
            items.swap(k, i);
        }
    }

    #[test]
    fn the_catalog_names_the_offer_before_usage_type() {
        let price = |id: &str, usage: Option<&str>| ItemPrice {
            id: id.into(),
            usage_type: usage.map(str::to_owned),
        };
        assert_eq!(
            kind_of(&[price("price_m", Some("licensed"))], None),
            SubscriptionType::Monthly
        );
        assert_eq!(
            kind_of(&[price("price_o", Some("metered"))], None),
            SubscriptionType::Ondemand
        );
        assert_eq!(
            kind_of(&[price("price_o", None)], None),
            SubscriptionType::Monthly
        );
    }
}
