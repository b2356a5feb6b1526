//! Syncing the user's subscription from what Stripe tells us (a webhook event, read by
//! [`crate::stripe::webhook`], or a Checkout Session on the success redirect), never
//! letting an older state overwrite a newer one. This module is the one writer of
//! subscription state.
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

use crate::{
    Result,
    model::{Catalog, Subscription, SubscriptionType, User},
    store::Store,
    stripe::{
        StripeApi, SubscriptionState,
        webhook::{Delivery, ItemPrice, News},
    },
};

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

/// [`kind_of`], reading the catalog only when `usage_type` alone cannot tell (events
/// carry it; a re-read [`crate::stripe::SubscriptionState`] does not, so [`apply`]
/// reads the catalog while Stripe answers).
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
    read: Option<&User>,
) -> Result<Outcome> {
    let (user, state) = match &delivery.news {
        News::Nothing => return Ok(Outcome::Ignored),
        News::Subscription(news) => {
            let Some(user) = record_of(store, read, &news.customer).await? else {
                return Ok(Outcome::UnknownCustomer);
            };
            let state = Subscription {
                id: news.id.clone(),
                status: news.status.clone(),
                kind: offer_of(store, &news.prices).await?,
                as_of: Some(news.created),
                period: news.period,
            };
            (user, state)
        }
        News::Mentioned {
            customer,
            subscription,
            created,
            new_subscription_is_news,
        } => {
            let Some(user) = record_of(store, read, customer).await? else {
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
            // The catalog (which offer its prices are) is read while Stripe answers.
            let (current, catalog) = tokio::try_join!(
                stripe.retrieve_subscription(subscription),
                store.get_catalog()
            )?;
            let Some(current) = current else {
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
            // What we just read is at least as new as the event and as the times
            // Stripe reports for it: stamp it with the later (a lower bound in
            // Stripe's clock), so newer events still win.
            let state = Subscription {
                id: current.id,
                status: current.status,
                kind: kind_of(&prices, catalog.as_ref()),
                as_of: Some(current.as_of.max(*created)),
                period: current.period,
            };
            (user, state)
        }
    };
    record(store, &user, state).await
}

/// `customer`'s record: `read` when that is it (the delivery's customer, read once by
/// the handler), else from the store.
pub async fn record_of(
    store: &impl Store,
    read: Option<&User>,
    customer: &str,
) -> Result<Option<User>> {
    match read.filter(|user| user.id == customer) {
        Some(user) => Ok(Some(user.clone())),
        None => store.get_user(customer).await,
    }
}

/// A subscription as Stripe reports it on request (the Checkout Session the customer
/// comes back with), recorded like an event: stamped with Stripe's time of that state
/// ([`SubscriptionState::as_of`]), never our clock, and written only if it supersedes
/// what we hold.
pub async fn record_read(
    store: &impl Store,
    user: &User,
    current: SubscriptionState,
    kind: SubscriptionType,
) -> Result<Write> {
    let state = Subscription {
        id: current.id,
        status: current.status,
        kind,
        as_of: Some(current.as_of),
        period: current.period,
    };
    write(store, user, state).await
}

/// What [`record_read`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Stored: the user's subscription is now this.
    Written(Subscription),
    /// The user's subscription as read supersedes it; nothing asked of the store.
    Kept,
    /// The store refused it: a concurrent writer stored a newer state since the user was read.
    Refused,
}

/// The one write of subscription state: `state` replaces the user's only if it
/// [`supersedes`] it, and the store's conditional write enforces the same order
/// against a concurrent writer.
async fn write(store: &impl Store, user: &User, state: Subscription) -> Result<Write> {
    if !supersedes(&state, user.subscription.as_ref()) {
        return Ok(Write::Kept);
    }
    Ok(if store.save_subscription(&user.id, &state).await? {
        Write::Written(state)
    } else {
        Write::Refused
    })
}

async fn record(store: &impl Store, user: &User, state: Subscription) -> Result<Outcome> {
    Ok(match write(store, user, state).await? {
        Write::Written(_) => Outcome::Updated,
        Write::Kept | Write::Refused => Outcome::Unchanged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: &str, status: &str, as_of: i64) -> Subscription {
        Subscription {
            id: id.into(),
            status: status.into(),
            kind: SubscriptionType::Monthly,
            as_of: Some(as_of),
            period: None,
        }
    }

    #[test]
    fn only_strictly_newer_states_supersede() {
        assert!(supersedes(&state("sub_1", "trialing", 10), None));
        // (new status, its time, stored status, its time, supersedes): older loses, a
        // duplicate changes nothing; in the same second, forward through the life
        // cycle, canceled last.
        for (new, at, old, old_at, wins) in [
            ("active", 11, "canceled", 10, true),
            ("active", 9, "past_due", 10, false),
            ("active", 10, "active", 10, false),
            ("active", 10, "incomplete", 10, true),
            ("past_due", 10, "active", 10, true),
            ("canceled", 10, "past_due", 10, true),
            ("active", 10, "canceled", 10, false),
        ] {
            assert_eq!(
                supersedes(&state("sub_1", new, at), Some(&state("sub_1", old, old_at))),
                wins,
                "{new}@{at} over {old}@{old_at}"
            );
        }
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
