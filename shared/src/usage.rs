//! Arrange session: a **session request** stored for the customer, and then, for an
//! on-demand subscriber, one unit of usage (a Billing Meter event); the owner is
//! emailed either way ([`crate::outbox`]).
//!
//! The request's id is the meter event's `identifier`: the client's `Idempotency-Key`
//! when given. Stripe counts an identifier once within a rolling 24 hours (it refuses a
//! repeat with a 400, `param: identifier`, which the Stripe adapter reports as success),
//! so a retried click is stored once and billed once.
//!
//! Order, so that the record and the meter never disagree: the request is written
//! first (one conditional write; a retried click finds it), and only then is its meter
//! event sent and marked on it. A crash between the two leaves a stored request whose
//! event is unsent: the retried click, or the next drain of the outbox, sends it under
//! the same identifier, so it is neither lost nor billed twice. A persistent Stripe
//! failure answers 502 and leaves the request stored for the same reasons.
//!
//! A monthly subscriber's request sends no meter event: the package includes one
//! session per billing period, held by the same conditional write (a second request in
//! the period is a 409). Nobody whose last payment failed may arrange one.

use crate::{
    Error, Result,
    billing::{has_ended, payment_failed},
    catalog::OFFER,
    mail::Mailer,
    model::{SessionRequest, SubscriptionType, User},
    outbox::{self, MAIL_CLAIM_SECONDS, Senders},
    store::{BillingStore, SessionAdded, Store},
    stripe::StripeApi,
};

/// The refusal while a payment has failed; the dashboard shows the same sentence.
pub const PAYMENT_FAILED: &str =
    "your last payment failed: update your card in Manage subscription";

/// Longest identifier Stripe accepts for a meter event.
pub const MAX_IDENTIFIER_LEN: usize = 100;

/// The meter event identifier for this click: the client's `Idempotency-Key` when
/// given (1–100 characters of `A–Z a–z 0–9 - _ . :`, else 400), a new UUID otherwise.
pub fn identifier(idempotency_key: Option<&str>) -> Result<String> {
    let Some(key) = idempotency_key else {
        return Ok(uuid::Uuid::new_v4().to_string());
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if key.is_empty() || key.len() > MAX_IDENTIFIER_LEN || !key.chars().all(allowed) {
        return Err(Error::BadRequest(format!(
            "the Idempotency-Key header must be 1 to {MAX_IDENTIFIER_LEN} characters of letters, digits, '-', '_', '.' or ':'"
        )));
    }
    Ok(key.to_owned())
}

/// A second monthly request in one period.
pub fn period_taken() -> String {
    format!(
        "your monthly package includes {} session a {}, and this {}'s is already arranged",
        OFFER.monthly_sessions, OFFER.interval, OFFER.interval
    )
}

/// Stores a session request for `user` (as the session read it) under `identifier`, records it on the meter
/// (on demand) and tells the owner; returns the identifier. 409
/// without a live subscription, while a payment has failed, or for a second monthly
/// request in one period.
pub async fn arrange_session<S, D, M>(
    senders: &Senders<'_, S, D, M>,
    user: &User,
    identifier: &str,
) -> Result<String>
where
    S: StripeApi,
    D: Store + BillingStore,
    M: Mailer,
{
    let store = senders.store;
    let mut user = user.clone();
    let subscription = user.subscription.clone().ok_or_else(|| {
        Error::Conflict("you have no subscription: subscribe to arrange sessions".into())
    })?;
    if has_ended(&subscription) || !subscription.is_live() {
        return Err(Error::Conflict(format!(
            "your subscription is {}: subscribe again to arrange sessions",
            subscription.status
        )));
    }
    if payment_failed(&subscription) {
        return Err(Error::Conflict(PAYMENT_FAILED.into()));
    }
    let kind = subscription.kind;
    // The click that stores the request holds its email's claim from the start (one
    // write less than claiming after): this token tells our write from another's.
    let token = uuid::Uuid::new_v4().to_string();
    let requested_at = outbox::now();
    let request = SessionRequest {
        id: identifier.to_owned(),
        requested_at,
        kind,
        period_start: subscription.period.map(|p| p.start),
        metered: false,
        notified: false,
        mail_claim: Some(requested_at),
        mail_claim_by: Some(token.clone()),
    };
    // The same write drops the requests the record no longer needs (no extra call).
    let stale = crate::billing::stale_sessions(&user, request.period_start, request.requested_at);
    let one_per_period = kind == SubscriptionType::Monthly;
    let added = store
        .add_session(&user.id, &request, one_per_period, &stale)
        .await;
    let added = match added {
        Ok(added) => added,
        Err(err) => {
            // It may have been written, answer lost: give up our claim, so the retried
            // click or the next drain sends the email without waiting for it to go stale.
            senders.release(&user, &request, &token).await;
            return Err(err);
        }
    };
    let (stored, held) = match added {
        SessionAdded::New => (request, Some(token.clone())),
        // Our own write, whose answer was lost and retried by the SDK.
        SessionAdded::Existing(existing) if existing.mail_claim_by.as_ref() == Some(&token) => {
            (existing, Some(token.clone()))
        }
        // A retried click: its request as stored, the email's claim taken if free.
        SessionAdded::Existing(existing) => (existing, None),
        // Our write did not happen: the user's outbox count is as it was.
        SessionAdded::PeriodTaken => return Err(Error::Conflict(period_taken())),
    };
    // Earlier requests of this customer still unsettled (the pruned ones were settled).
    let waiting_since = outbox::now() - MAIL_CLAIM_SECONDS;
    let others: Vec<&SessionRequest> = user
        .sessions
        .values()
        .filter(|s| s.id != stored.id && !s.is_settled() && !stale.contains(&s.id))
        .collect();
    // Stored by this write, with nothing else waiting: settling it takes the user off
    // the outbox, unless a request was stored since the user was read.
    let clear = (held.as_deref() == Some(token.as_str()) && others.is_empty())
        .then_some(user.outbox_adds + 1);
    // This click's request: its meter event and the owner's email, at once; a meter
    // event Stripe refuses fails the click (the request stays stored: a retry or the
    // next drain sends it under the same identifier).
    let earlier: Vec<SessionRequest> = (others.into_iter())
        .filter(|s| s.requested_at < waiting_since)
        .cloned()
        .collect();
    user.sessions.insert(stored.id.clone(), stored.clone());
    senders
        .settle(&user, &stored, held.as_deref(), clear)
        .await?;
    // Earlier ones, past a sender's claim: the next drain takes the user off the outbox.
    senders
        .settle_all(&user, &earlier.iter().collect::<Vec<_>>())
        .await;
    Ok(stored.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_a_well_formed_idempotency_key() {
        assert_eq!(
            identifier(Some("click-1f9c:2.x_y")).unwrap(),
            "click-1f9c:2.x_y"
        );
        assert_eq!(identifier(Some(&"k".repeat(100))).unwrap().len(), 100);
    }

    #[test]
    fn generates_one_without_a_key() {
        let (a, b) = (identifier(None).unwrap(), identifier(None).unwrap());
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }

    #[test]
    fn rejects_malformed_keys() {
        for bad in [
            "",
            "has space",
            "ünïcode",
            "semi;colon",
            "<script>",
            &"k".repeat(101),
        ] {
            let err = identifier(Some(bad)).unwrap_err();
            assert!(matches!(err, Error::BadRequest(_)), "{bad:?}");
        }
    }
}
