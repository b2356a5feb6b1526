//! Storage, behind a small trait, and its DynamoDB implementation ([`DynamoStore`]),
//! with items mapped by serde_dynamo. One table, keyed by `pk`:
//! `USER#{customer id}` (the user), `EMAIL#{normalised email}` (the one-user-per-email
//! claim, written conditionally), `CATALOG` (what provisioning converged to).

use crate::{
    Result,
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
    fn put_user(&self, user: &User) -> impl Future<Output = Result<()>> + Send;
    /// Writes the subscription unless the stored one is newer (`as_of`), conditionally.
    /// Returns whether it was written.
    fn save_subscription(
        &self,
        user_id: &str,
        subscription: &Subscription,
    ) -> impl Future<Output = Result<bool>> + Send;
}

/// [`Store`] on one DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStore {
    /// A store on `table`, configured the AWS SDK's standard way (region, credentials,
    /// and `AWS_ENDPOINT_URL_DYNAMODB` for a local DynamoDB). Operations give up after
    /// a few seconds so an unreachable database answers 503 promptly.
    pub async fn from_env(table: &str) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(2))
            .operation_attempt_timeout(std::time::Duration::from_secs(3))
            .operation_timeout(std::time::Duration::from_secs(8))
            .build();
        let sdk = aws_config::from_env().timeout_config(timeouts).load().await;
        DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)
    }

    pub fn new(client: aws_sdk_dynamodb::Client, table: &str) -> Self {
        DynamoStore {
            client,
            table: table.to_owned(),
        }
    }
}
