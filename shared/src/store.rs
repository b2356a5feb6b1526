//! Storage, behind a small trait, and its DynamoDB implementation ([`DynamoStore`]),
//! with items mapped by serde_dynamo. One table, keyed by `pk`:
//! `USER#{customer id}` (the user), `EMAIL#{normalised email}` (the one-user-per-email
//! claim, written conditionally), `CATALOG` (what provisioning converged to), `OUTBOX`
//! (session requests with work still to send, see [`crate::outbox`]). A user's session
//! requests and invoices live on the user's item ([`BillingStore`]), so `GET /users`
//! reads one item.

use crate::{
    Error, Result,
    model::{Catalog, Subscription, User},
};

/// The storage our rules use.
pub trait Store: Send + Sync {
    fn get_catalog(&self) -> impl Future<Output = Result<Option<Catalog>>> + Send;
    fn put_catalog(&self, catalog: &Catalog) -> impl Future<Output = Result<()>> + Send;

    fn get_user(&self, id: &str) -> impl Future<Output = Result<Option<User>>> + Send;
    /// The customer id that claimed this normalised email, if any.
    fn get_email_claim(&self, email: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Claims the email for `customer_id` with a conditional write. Returns the
    /// customer id that holds the claim afterwards (ours, or the one that won a race).
    fn claim_email(
        &self,
        email: &str,
        customer_id: &str,
    ) -> impl Future<Output = Result<String>> + Send;
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
}

mod billing;
mod dynamo;
pub use billing::{BillingStore, SessionAdded, SessionMark};
pub use dynamo::DynamoStore;
