//! Arrange session: one unit of usage (a Billing Meter event) for an on-demand
//! subscriber, recorded once per `Idempotency-Key`.
//!
//! Stripe removed legacy usage records from its current API; a meter event is
//! today's usage record. Its `identifier` is unique per Stripe account within a rolling
//! 24 hours, so the client's `Idempotency-Key` becomes the identifier and a retried
//! click is recorded once: Stripe refuses the second event (400, `param: identifier`),
//! which the Stripe adapter reports as success with the same identifier. (The adapter's
//! own retries of one request are replayed by Stripe under their idempotency key.)

use crate::{
    Error, Result,
    model::{Catalog, SubscriptionType, User},
    stripe::StripeApi,
};

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

/// Records one session for `user` on our meter, under `identifier`, and returns the
/// meter event's identifier as Stripe recorded it. Only a user
/// whose subscription is on demand and live may (409 otherwise).
pub async fn arrange_session(
    stripe: &impl StripeApi,
    catalog: &Catalog,
    user: &User,
    identifier: &str,
) -> Result<String> {
    let subscription = user.subscription.as_ref().ok_or_else(|| {
        Error::Conflict("you have no subscription: subscribe on demand to arrange sessions".into())
    })?;
    if subscription.kind != SubscriptionType::Ondemand {
        return Err(Error::Conflict(
            "your monthly subscription already includes sessions: nothing is billed per session"
                .into(),
        ));
    }
    if !subscription.is_live() {
        return Err(Error::Conflict(format!(
            "your on-demand subscription is {}: subscribe again to arrange sessions",
            subscription.status
        )));
    }
    let recorded = stripe
        .record_meter_event(&catalog.meter_event_name, &user.id, identifier)
        .await?;
    tracing::info!(customer = %user.id, identifier = %recorded, "session recorded on the meter");
    Ok(recorded)
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
