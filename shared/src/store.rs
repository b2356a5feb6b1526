//! Storage, behind a small trait, and its DynamoDB implementation ([`DynamoStore`]),
//! with items mapped by serde_dynamo. One table, keyed by `pk`:
//! `USER#{customer id}` (the user), `EMAIL#{normalised email}` (the one-user-per-email
//! claim, written conditionally), `CATALOG` (what provisioning converged to),
//! `SIGNIN#{normalised email}` (the sign-in code and its hourly count) and
//! `LIMIT#SIGNIN#{source IP}#{hour}` (codes sent to one source in one hour); the last two
//! carry a `ttl` (DynamoDB's TTL attribute) and go by themselves.

use crate::{
    Error, Result,
    model::{Catalog, SignInCode, Subscription, User},
};

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
            let plausible = !id.is_empty()
                && id.len() <= 255
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let user = if plausible {
                self.get_user(id).await?
            } else {
                None
            };
            user.ok_or_else(|| Error::NotFound(format!("unknown user {id:?}")))
        }
    }
    fn put_user(&self, user: &User) -> impl Future<Output = Result<()>> + Send;
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
    /// Adds one to the user's session epoch ("sign out everywhere"). Returns whether
    /// the user exists.
    fn bump_session_epoch(&self, user_id: &str) -> impl Future<Output = Result<bool>> + Send;
}

mod dynamo;
pub use dynamo::DynamoStore;
