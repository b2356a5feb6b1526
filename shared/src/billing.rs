//! Where a customer stands, from our own records and the offer (no Stripe call):
//! the `billing` object of `GET /users`; and the invoices the `invoice.*` webhooks
//! report, recorded per invoice in Stripe's order.
//!
//! Invoices are ordered like subscriptions ([`crate::sync`]): each stored state
//! carries the `created` of the event it came from and the rank of its status
//! (`draft` < `open` < `paid`/`void`/`uncollectible`); a state replaces the stored
//! one only when (time, rank) is greater, checked by the store's conditional write,
//! so a late `invoice.finalized` never turns a paid invoice back to open.

use serde::Serialize;

use crate::{
    Result,
    catalog::{OFFER, money},
    model::{Invoice, SessionRequest, Subscription, SubscriptionType, User},
    store::{BillingStore, Store},
    stripe::webhook::Delivery,
    sync::Outcome,
};

/// How many invoices the dashboard shows, and the user's record keeps.
pub const INVOICES_SHOWN: usize = 12;
/// How long a settled session request is kept once its period is over: a click
/// retried with its key within this time still finds its request (and is not stored,
/// billed or, monthly, counted against the new period again). Longer than the 24 hours
/// in which Stripe counts a meter event identifier once.
pub const SESSION_KEPT_SECONDS: i64 = 2 * 86_400;
/// Most entries one write drops, so that an expression stays small; more go next time.
pub const PRUNE_LIMIT: usize = 40;

/// Statuses after which a subscription is over: nothing more is charged.
pub fn has_ended(subscription: &Subscription) -> bool {
    matches!(
        subscription.status.as_str(),
        "canceled" | "incomplete_expired"
    )
}

/// Statuses in which a failed payment stops new sessions.
pub fn payment_failed(subscription: &Subscription) -> bool {
    matches!(
        subscription.status.as_str(),
        "past_due" | "unpaid" | "incomplete"
    )
}

/// The plan in words, for the owner's email.
pub fn plan_text(kind: SubscriptionType) -> String {
    match kind {
        SubscriptionType::Monthly => format!(
            "monthly, {} session(s) a {} for {}",
            OFFER.monthly_sessions,
            OFFER.interval,
            money(OFFER.monthly_amount, OFFER.currency)
        ),
        SubscriptionType::Ondemand => format!(
            "on demand, {} per session",
            money(OFFER.ondemand_amount, OFFER.currency)
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Billing {
    pub period_start: Option<i64>,
    pub period_end: Option<i64>,
    pub trial_end: Option<i64>,
    /// When a cancelled subscription ended.
    pub ended_at: Option<i64>,
    pub next_charge: Option<Charge>,
    pub sessions: Vec<SessionView>,
    pub invoices: Vec<InvoiceView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Charge {
    pub amount: i64,
    pub currency: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub id: String,
    pub requested_at: i64,
    /// `included` (monthly), `recorded` (on demand, on the meter) or `pending`
    /// (on demand, its meter event not yet accepted).
    pub status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvoiceView {
    pub id: String,
    pub number: Option<String>,
    pub created_at: i64,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub currency: String,
    pub status: String,
    pub url: Option<String>,
}

/// The requests of the period starting at `period_start`, newest first.
pub fn sessions_of_period(user: &User, period_start: Option<i64>) -> Vec<&SessionRequest> {
    let mut sessions: Vec<&SessionRequest> = user
        .sessions
        .values()
        .filter(|s| s.period_start == period_start)
        .collect();
    sessions.sort_by(|a, b| (b.requested_at, &b.id).cmp(&(a.requested_at, &a.id)));
    sessions
}

/// The session requests the record no longer needs (pruned by the click's own write):
/// settled (nothing left to send), of another period than `period_start` (the
/// dashboard shows this period's), and requested more than [`SESSION_KEPT_SECONDS`]
/// before `now`. A monthly period stays used in `monthlyPeriods` when its request goes.
pub fn stale_sessions(user: &User, period_start: Option<i64>, now: i64) -> Vec<String> {
    user.sessions
        .values()
        .filter(|s| {
            s.is_settled()
                && s.period_start != period_start
                && s.requested_at < now - SESSION_KEPT_SECONDS
        })
        .map(|s| s.id.clone())
        .take(PRUNE_LIMIT)
        .collect()
}

/// Which stored invoices fall out of the [`INVOICES_SHOWN`] newest once `invoice` is
/// stored (pruned by its own write); `None` when `invoice` itself is older than those.
pub fn invoices_to_drop(user: &User, invoice: &Invoice) -> Option<Vec<String>> {
    let mut all: Vec<(i64, &str)> = user
        .invoices
        .values()
        .filter(|i| i.id != invoice.id)
        .map(|i| (i.created_at, i.id.as_str()))
        .chain([(invoice.created_at, invoice.id.as_str())])
        .collect();
    all.sort_by(|a, b| b.cmp(a));
    let older = all.split_off(all.len().min(INVOICES_SHOWN));
    if older.iter().any(|(_, id)| *id == invoice.id) {
        return None;
    }
    Some(
        older
            .into_iter()
            .take(PRUNE_LIMIT)
            .map(|(_, id)| id.to_owned())
            .collect(),
    )
}

/// The dashboard's `billing` object for `user`.
pub fn view(user: &User) -> Billing {
    let subscription = user.subscription.as_ref();
    let period = subscription.and_then(|s| s.period);
    let live = subscription.filter(|s| !has_ended(s));
    let sessions: Vec<SessionView> = match live {
        Some(_) => sessions_of_period(user, period.map(|p| p.start))
            .into_iter()
            .map(|s| SessionView {
                id: s.id.clone(),
                requested_at: s.requested_at,
                status: match (s.kind, s.metered) {
                    (SubscriptionType::Monthly, _) => "included",
                    (SubscriptionType::Ondemand, true) => "recorded",
                    (SubscriptionType::Ondemand, false) => "pending",
                },
            })
            .collect(),
        None => Vec::new(),
    };
    let next_charge = match (live, period) {
        (Some(s), Some(period)) => Some(match s.kind {
            SubscriptionType::Monthly => Charge {
                amount: OFFER.monthly_amount,
                currency: OFFER.currency.into(),
                at: period
                    .trial_end
                    .filter(|_| s.status == "trialing")
                    .unwrap_or(period.end),
            },
            SubscriptionType::Ondemand => Charge {
                amount: OFFER.ondemand_amount * sessions.len() as i64,
                currency: OFFER.currency.into(),
                at: period.end,
            },
        }),
        _ => None,
    };
    let mut invoices: Vec<&Invoice> = user.invoices.values().collect();
    invoices.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    Billing {
        period_start: period.map(|p| p.start),
        period_end: period.map(|p| p.end),
        trial_end: period.and_then(|p| p.trial_end),
        ended_at: subscription
            .filter(|s| has_ended(s))
            .and_then(|s| s.period.and_then(|p| p.ended_at)),
        next_charge,
        sessions,
        invoices: invoices
            .into_iter()
            .take(INVOICES_SHOWN)
            .map(|i| InvoiceView {
                id: i.id.clone(),
                number: i.number.clone(),
                created_at: i.created_at,
                amount_due: i.amount_due,
                amount_paid: i.amount_paid,
                currency: i.currency.clone(),
                status: i.status.clone(),
                url: i.url.clone(),
            })
            .collect(),
    }
}

/// Records the invoice an `invoice.*` delivery carries, if its customer is ours and
/// the state is newer than ours. `None` when the delivery carries no invoice.
pub async fn record_invoice(
    store: &(impl Store + BillingStore),
    delivery: &Delivery,
    read: Option<&User>,
) -> Result<Option<Outcome>> {
    let Some((customer, invoice)) = &delivery.invoice else {
        return Ok(None);
    };
    let Some(user) = crate::sync::record_of(store, read, customer).await? else {
        return Ok(Some(Outcome::UnknownCustomer));
    };
    if let Some(stored) = user.invoices.get(&invoice.id)
        && (stored.as_of, stored.rank) >= (invoice.as_of, invoice.rank)
    {
        return Ok(Some(Outcome::Unchanged));
    }
    let Some(drop) = invoices_to_drop(&user, invoice) else {
        // Older than every invoice the record keeps: nothing to show it in.
        return Ok(Some(Outcome::Unchanged));
    };
    Ok(Some(
        if store.save_invoice(&user.id, invoice, &drop).await? {
            Outcome::Updated
        } else {
            Outcome::Unchanged
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Period;

    fn user(kind: SubscriptionType, status: &str) -> User {
        User {
            id: "cus_1".into(),
            email: "ada@example.com".into(),
            session_epoch: 0,
            outbox_adds: 0,
            subscription: Some(Subscription {
                id: "sub_1".into(),
                status: status.into(),
                kind,
                as_of: Some(1),
                period: Some(Period {
                    start: 1_000,
                    end: 2_000,
                    trial_end: (status == "trialing").then_some(1_300),
                    ended_at: (status == "canceled").then_some(1_500),
                }),
            }),
            sessions: Default::default(),
            invoices: Default::default(),
        }
    }

    /// A paid monthly invoice `in_{n}`, created at `n`.
    fn invoice(n: i64) -> Invoice {
        Invoice {
            id: format!("in_{n:02}"),
            number: None,
            created_at: n,
            amount_due: 6_000,
            amount_paid: 6_000,
            currency: "usd".into(),
            status: "paid".into(),
            url: None,
            as_of: n,
            rank: 3,
        }
    }

    fn session(id: &str, at: i64, period: i64) -> SessionRequest {
        SessionRequest {
            id: id.into(),
            requested_at: at,
            kind: SubscriptionType::Ondemand,
            period_start: Some(period),
            metered: true,
            notified: true,
            mail_claim: None,
            mail_claim_by: None,
        }
    }

    #[test]
    fn on_demand_charges_each_session_of_the_period_at_its_end() {
        let mut user = user(SubscriptionType::Ondemand, "active");
        for s in [
            session("a", 1_100, 1_000),
            session("b", 1_200, 1_000),
            session("c", 1_300, 1_000),
            session("old", 900, 0),
        ] {
            user.sessions.insert(s.id.clone(), s);
        }
        let billing = view(&user);
        assert_eq!(
            billing.next_charge,
            Some(Charge {
                amount: 24_000,
                currency: "usd".into(),
                at: 2_000
            })
        );
        let ids: Vec<&str> = billing.sessions.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"], "this period's, newest first");
    }

    #[test]
    fn monthly_charges_at_the_trial_end_then_at_the_period_end() {
        let trialing = view(&user(SubscriptionType::Monthly, "trialing"));
        assert_eq!(trialing.trial_end, Some(1_300));
        assert_eq!(trialing.next_charge.unwrap().at, 1_300);
        let active = view(&user(SubscriptionType::Monthly, "active"));
        let charge = active.next_charge.unwrap();
        assert_eq!((charge.amount, charge.at), (6_000, 2_000));
    }

    #[test]
    fn nothing_is_charged_once_cancelled() {
        let billing = view(&user(SubscriptionType::Monthly, "canceled"));
        assert_eq!(billing.next_charge, None);
        assert_eq!(billing.ended_at, Some(1_500));
    }

    #[test]
    fn settled_requests_of_past_periods_go_once_a_retry_could_no_longer_come() {
        let mut user = user(SubscriptionType::Ondemand, "active");
        let now = 10 * 86_400;
        let old = now - SESSION_KEPT_SECONDS - 1;
        let mut unsent = session("unsent", old, 0);
        unsent.notified = false;
        for s in [
            session("old", old, 0),
            session("recent", now - 3_600, 0),
            session("this-period", old, 1_000),
            unsent,
        ] {
            user.sessions.insert(s.id.clone(), s);
        }
        assert_eq!(stale_sessions(&user, Some(1_000), now), ["old"]);
    }

    #[test]
    fn invoices_past_the_newest_twelve_go_with_the_write_of_a_newer_one() {
        let mut user = user(SubscriptionType::Monthly, "active");
        for n in 1..=12 {
            user.invoices.insert(invoice(n).id.clone(), invoice(n));
        }
        assert_eq!(
            invoices_to_drop(&user, &invoice(13)),
            Some(vec!["in_01".into()])
        );
        assert_eq!(
            invoices_to_drop(&user, &invoice(5)),
            Some(vec![]),
            "an update"
        );
        assert_eq!(
            invoices_to_drop(&user, &invoice(0)),
            None,
            "older than all kept"
        );
    }

    #[test]
    fn the_last_twelve_invoices_newest_first() {
        let mut user = user(SubscriptionType::Monthly, "active");
        for n in 0..15 {
            user.invoices.insert(invoice(n).id.clone(), invoice(n));
        }
        let invoices = view(&user).invoices;
        assert_eq!(invoices.len(), 12);
        assert_eq!(invoices[0].id, "in_14");
        assert_eq!(invoices[11].id, "in_03");
    }
}
