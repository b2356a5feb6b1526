//! Storage, behind a small trait, and its DynamoDB implementation ([`DynamoStore`]),
//! with items mapped by serde_dynamo. One table, keyed by `pk`:
//! `USER#{customer id}` (the user), `EMAIL#{normalised email}` (the one-user-per-email
//! claim, written conditionally), `CATALOG` (what provisioning converged to),
//! `SIGNIN#{normalised email}` (the sign-in code and its hourly count) and
//! `LIMIT#SIGNIN#{source IP}#{hour}` (codes sent to one source in one hour); the last two
//! carry a `ttl` (DynamoDB's TTL attribute) and go by themselves. A user's session
//! requests and invoices live on the user's item ([`BillingStore`]), so `GET /users`
//! reads one item; a user with a request that may still have work to send carries
//! `pendingSince`, which puts them in the `outbox` index (see [`crate::outbox`]).
//!
//! The catalog changes only when provisioning runs (a deploy), yet most routes need
//! it, so [`DynamoStore`] keeps the last one it read or wrote in the warm instance's
//! memory for [`CATALOG_LIFETIME`] ([`Cached`]): most requests skip that read, and a
//! catalog provisioned elsewhere reaches every warm instance within a minute.

use crate::{
    Error, Result,
    model::{Catalog, SignInCode, Subscription, User},
};

/// 404 for an id that cannot be a Stripe Customer id, without asking anyone.
pub fn check_user_id(id: &str) -> Result<()> {
    let plausible = !id.is_empty()
        && id.len() <= 255
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plausible {
        Ok(())
    } else {
        Err(Error::NotFound(format!("unknown user {id:?}")))
    }
}

/// Who holds an email after [`Store::claim_email`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub customer_id: String,
    /// This call wrote the claim (it did not exist before).
    pub ours: bool,
}

/// The storage our rules use.
pub trait Store: Send + Sync {
    fn get_catalog(&self) -> impl Future<Output = Result<Option<Catalog>>> + Send;
    fn put_catalog(&self, catalog: &Catalog) -> impl Future<Output = Result<()>> + Send;

    fn get_user(&self, id: &str) -> impl Future<Output = Result<Option<User>>> + Send;
    /// The customer id that claimed this normalised email, if any.
    fn get_email_claim(&self, email: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Claims the email for `customer_id` with a conditional write. Returns who holds
    /// the claim afterwards (ours, or the one that won a race) and whether this call wrote it.
    fn claim_email(
        &self,
        email: &str,
        customer_id: &str,
    ) -> impl Future<Output = Result<Claim>> + Send;
    /// The user, or 404. An id that cannot be a Stripe Customer id is unknown
    /// without asking the database.
    fn require_user(&self, id: &str) -> impl Future<Output = Result<User>> + Send {
        async move {
            check_user_id(id)?;
            self.get_user(id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("unknown user {id:?}")))
        }
    }
    /// Writes the user unless a record with this id exists; returns whether it wrote.
    fn put_user(&self, user: &User) -> impl Future<Output = Result<bool>> + Send;
    /// Writes the subscription unless the stored one is newer (`as_of`), conditionally.
    /// Returns whether it was written.
    fn save_subscription(
        &self,
        user_id: &str,
        subscription: &Subscription,
    ) -> impl Future<Output = Result<bool>> + Send;

    // Sign-in (crate::sign_in) and sessions (crate::session).

    /// The sign-in state of a normalised email, if any.
    fn get_sign_in(&self, email: &str) -> impl Future<Output = Result<Option<SignInCode>>> + Send;
    /// Writes the sign-in state if the stored one is still at `expected_rev` (`None`:
    /// there is none). Returns whether it was written.
    fn put_sign_in(
        &self,
        email: &str,
        code: &SignInCode,
        expected_rev: Option<u64>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Counts one more code sent to `source` in the hour starting at `window`, unless
    /// `limit` are counted already. Returns whether it was counted.
    fn count_source(
        &self,
        source: &str,
        window: i64,
        limit: u32,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Moves the user's session epoch on from `epoch` ("sign out everywhere"), in one
    /// conditional write: only if the user exists and `epoch` is still theirs. Returns
    /// whether it moved (false: no such user, or that session had ended already).
    fn bump_session_epoch(
        &self,
        user_id: &str,
        epoch: u64,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// How long a warm instance answers from the catalog it last read (see the module docs).
pub const CATALOG_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

/// A value kept for a fixed lifetime from when it was stored (the clock is passed in,
/// so the rule is tested without waiting).
#[derive(Debug)]
pub struct Cached<T> {
    lifetime: std::time::Duration,
    entry: Option<(std::time::Instant, T)>,
}

impl<T: Clone> Cached<T> {
    pub fn new(lifetime: std::time::Duration) -> Self {
        Cached {
            lifetime,
            entry: None,
        }
    }

    /// The value, if it was stored less than the lifetime before `now`.
    pub fn get(&self, now: std::time::Instant) -> Option<T> {
        self.entry
            .as_ref()
            .filter(|(stored, _)| now.saturating_duration_since(*stored) < self.lifetime)
            .map(|(_, value)| value.clone())
    }

    pub fn set(&mut self, value: T, now: std::time::Instant) {
        self.entry = Some((now, value));
    }
}

mod billing;
mod dynamo;
pub use billing::{BillingStore, SessionAdded, SessionMarks};
pub use dynamo::DynamoStore;

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_cached_value_lives_exactly_its_lifetime() {
        let t0 = Instant::now();
        let mut cache = Cached::new(Duration::from_secs(60));
        assert_eq!(cache.get(t0), None, "empty");
        cache.set("v1", t0);
        assert_eq!(cache.get(t0), Some("v1"));
        assert_eq!(cache.get(t0 + Duration::from_millis(59_999)), Some("v1"));
        assert_eq!(cache.get(t0 + Duration::from_secs(60)), None, "expired");
        // A later store starts a new lifetime, with the new value.
        cache.set("v2", t0 + Duration::from_secs(61));
        assert_eq!(cache.get(t0 + Duration::from_secs(120)), Some("v2"));
        // A clock reading before the store (another thread's) still counts as fresh.
        assert_eq!(cache.get(t0), Some("v2"));
    }
}
