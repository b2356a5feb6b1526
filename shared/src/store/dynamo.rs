//! [`DynamoStore`]: the [`Store`] on one DynamoDB table (hash key `pk`), items
//! mapped with serde_dynamo. Any DynamoDB failure is [`Error::Storage`] (503).

use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

use aws_sdk_dynamodb::{
    Client,
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    types::{
        AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
        KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
    },
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_dynamo::{from_item, to_attribute_value, to_item};

mod billing;

use super::{CATALOG_LIFETIME, Cached, Claim, Store};
use crate::{
    Error, Result, aws,
    model::{Catalog, SignInCode, Subscription, User},
};

/// [`Store`] on one DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// The catalog last read or written, for [`CATALOG_LIFETIME`] (shared by clones).
    catalog: Arc<Mutex<Cached<Catalog>>>,
}

#[derive(Serialize, Deserialize)]
struct Item<T> {
    pk: String,
    #[serde(flatten)]
    value: T,
}

#[derive(Serialize, Deserialize)]
struct EmailClaim {
    customer_id: String,
}

const CATALOG_KEY: &str = "CATALOG";

/// The key prefix of a user's item.
const USER_PREFIX: &str = "USER#";

fn user_key(id: &str) -> String {
    format!("{USER_PREFIX}{id}")
}

fn email_key(email: &str) -> String {
    format!("EMAIL#{email}")
}

fn sign_in_key(email: &str) -> String {
    format!("SIGNIN#{email}")
}

fn source_key(source: &str, window: i64) -> String {
    format!("LIMIT#SIGNIN#{source}#{window}")
}

/// An hour's count lives on for a day after its hour, then DynamoDB's TTL removes it.
const COUNT_KEPT_SECONDS: i64 = 24 * 3600;

fn storage<E, R>(what: &str, err: SdkError<E, R>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::Storage(format!("{what}: {}", DisplayErrorContext(err)))
}

fn mapping(what: &str, err: serde_dynamo::Error) -> Error {
    Error::Internal(format!("{what}: item mapping: {err}"))
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// A DynamoDB client on `sdk` at `endpoint` (`None`: AWS's own).
fn client(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
    config.set_endpoint_url(endpoint);
    Client::from_conf(config.build())
}

impl DynamoStore {
    /// A store on `table` with the AWS configuration Lambda provides ([`aws::from_env`]),
    /// at `AWS_ENDPOINT_URL_DYNAMODB` (or `AWS_ENDPOINT_URL`) for a local DynamoDB.
    pub(crate) fn on(sdk: &aws_config::SdkConfig, table: &str) -> Self {
        DynamoStore::new(client(sdk, aws::endpoint_from_env("DYNAMODB")), table)
    }

    /// A client for a local DynamoDB at `endpoint` with dummy credentials and nothing
    /// read from the environment (tests, benchmarks).
    pub fn local_client(endpoint: &str) -> Result<Client> {
        Ok(client(&aws::local()?, Some(endpoint.to_owned())))
    }

    pub fn new(client: Client, table: &str) -> Self {
        DynamoStore {
            client,
            table: table.to_owned(),
            catalog: Arc::new(Mutex::new(Cached::new(CATALOG_LIFETIME))),
        }
    }

    /// Creates the table (hash key `pk`, on-demand, TTL on `ttl`, the outbox index)
    /// unless it exists: for
    /// the local stack and tests; in AWS the SAM template owns the table.
    pub async fn ensure_table(&self) -> Result<()> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) => {}
            Err(err) => return Err(storage("describing the table", err)),
        }
        let built = |e: aws_sdk_dynamodb::error::BuildError| Error::Internal(e.to_string());
        let key = |name: &str| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(KeyType::Hash)
                .build()
                .map_err(built)
        };
        let attribute = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .map_err(built)
        };
        // The outbox, as template.yaml declares it: only items with `pendingSince`.
        let outbox = GlobalSecondaryIndex::builder()
            .index_name(billing::OUTBOX_INDEX)
            .key_schema(key(billing::PENDING)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::KeysOnly)
                    .build(),
            )
            .build()
            .map_err(built)?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("pk", ScalarAttributeType::S)?)
            .attribute_definitions(attribute(billing::PENDING, ScalarAttributeType::N)?)
            .key_schema(key("pk")?)
            .global_secondary_indexes(outbox)
            .send()
            .await;
        match created {
            Ok(_) => {
                // As the template's table: items with an epoch-seconds `ttl` expire.
                let ttl = TimeToLiveSpecification::builder()
                    .attribute_name("ttl")
                    .enabled(true)
                    .build()
                    .map_err(built)?;
                self.client
                    .update_time_to_live()
                    .table_name(&self.table)
                    .time_to_live_specification(ttl)
                    .send()
                    .await
                    .map_err(|err| storage("enabling the table's TTL", err))?;
                Ok(())
            }
            // Someone else created it meanwhile.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(storage("creating the table", err)),
        }
    }

    async fn get<T: DeserializeOwned>(&self, pk: String) -> Result<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| storage("reading an item", err))?;
        output
            .item
            .map(|item| from_item::<_, Item<T>>(item).map(|i| i.value))
            .transpose()
            .map_err(|err| mapping("reading an item", err))
    }

    /// The catalog cache (a poisoned lock still holds a whole value: `set` is one move).
    fn cached_catalog(&self) -> std::sync::MutexGuard<'_, Cached<Catalog>> {
        self.catalog
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `value` under `pk`; with `only_new`, only if no item has that key.
    /// Returns whether it was written.
    async fn put<T: Serialize>(&self, pk: String, value: &T, only_new: bool) -> Result<bool> {
        let item = to_item(Item { pk, value }).map_err(|err| mapping("writing an item", err))?;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        if only_new {
            request = request.condition_expression("attribute_not_exists(pk)");
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if only_new && is_condition_failure(&err) => Ok(false),
            Err(err) => Err(storage("writing an item", err)),
        }
    }
}

impl Store for DynamoStore {
    /// From memory when this instance read or wrote it less than [`CATALOG_LIFETIME`] ago.
    async fn get_catalog(&self) -> Result<Option<Catalog>> {
        if let Some(catalog) = self.cached_catalog().get(Instant::now()) {
            return Ok(Some(catalog));
        }
        let catalog: Option<Catalog> = self.get(CATALOG_KEY.into()).await?;
        if let Some(catalog) = &catalog {
            self.cached_catalog().set(catalog.clone(), Instant::now());
        }
        Ok(catalog)
    }

    async fn put_catalog(&self, catalog: &Catalog) -> Result<()> {
        self.put(CATALOG_KEY.into(), catalog, false).await?;
        self.cached_catalog().set(catalog.clone(), Instant::now());
        Ok(())
    }

    async fn get_user(&self, id: &str) -> Result<Option<User>> {
        self.get(user_key(id)).await
    }

    async fn get_email_claim(&self, email: &str) -> Result<Option<String>> {
        Ok(self
            .get::<EmailClaim>(email_key(email))
            .await?
            .map(|c| c.customer_id))
    }

    async fn claim_email(&self, email: &str, customer_id: &str) -> Result<Claim> {
        let claim = EmailClaim {
            customer_id: customer_id.to_owned(),
        };
        if self.put(email_key(email), &claim, true).await? {
            return Ok(Claim {
                customer_id: customer_id.to_owned(),
                ours: true,
            });
        }
        // Lost the race: the winner's claim stands.
        let holder = self
            .get_email_claim(email)
            .await?
            .ok_or_else(|| Error::Storage(format!("the claim on {email} vanished")))?;
        Ok(Claim {
            customer_id: holder,
            ours: false,
        })
    }

    /// Writes the user unless a record with this id exists, so a repeated sign-up never
    /// overwrites a stored subscription.
    async fn put_user(&self, user: &User) -> Result<bool> {
        self.put(user_key(&user.id), user, true).await
    }

    /// One conditional `UpdateItem`: the user must exist, and a stored state stamped
    /// later than this one (`asOf`) is kept. A state without `asOf` is written as is.
    async fn save_subscription(&self, user_id: &str, subscription: &Subscription) -> Result<bool> {
        let value = to_attribute_value(subscription)
            .map_err(|err| mapping("saving a subscription", err))?;
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(user_key(user_id)))
            .update_expression("SET subscription = :s")
            .expression_attribute_values(":s", value);
        request = match subscription.as_of {
            Some(as_of) => request
                .condition_expression(
                    "attribute_exists(pk) AND (attribute_not_exists(subscription.asOf) OR subscription.asOf <= :asOf)",
                )
                .expression_attribute_values(":asOf", AttributeValue::N(as_of.to_string())),
            None => request.condition_expression("attribute_exists(pk)"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(storage("saving a subscription", err)),
        }
    }

    async fn get_sign_in(&self, email: &str) -> Result<Option<SignInCode>> {
        self.get(sign_in_key(email)).await
    }

    async fn put_sign_in(
        &self,
        email: &str,
        code: &SignInCode,
        expected_rev: Option<u64>,
    ) -> Result<bool> {
        let item = to_item(Item {
            pk: sign_in_key(email),
            value: code,
        })
        .map_err(|err| mapping("writing a sign-in code", err))?;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let request = match expected_rev {
            None => request.condition_expression("attribute_not_exists(pk)"),
            Some(rev) => request
                .condition_expression("rev = :rev")
                .expression_attribute_values(":rev", AttributeValue::N(rev.to_string())),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(storage("writing a sign-in code", err)),
        }
    }

    async fn count_source(&self, source: &str, window: i64, limit: u32) -> Result<bool> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(source_key(source, window)))
            .update_expression("ADD sent :one SET #ttl = :ttl")
            .condition_expression("attribute_not_exists(sent) OR sent < :limit")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
            .expression_attribute_values(
                ":ttl",
                AttributeValue::N((window + COUNT_KEPT_SECONDS).to_string()),
            );
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(storage("counting a sign-in code", err)),
        }
    }

    async fn bump_session_epoch(&self, user_id: &str, epoch: u64) -> Result<bool> {
        // A user who never signed out everywhere has no `sessionEpoch` yet: epoch 0.
        let current = if epoch == 0 {
            "attribute_exists(pk) AND (attribute_not_exists(sessionEpoch) OR sessionEpoch = :epoch)"
        } else {
            "attribute_exists(pk) AND sessionEpoch = :epoch"
        };
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(user_key(user_id)))
            .update_expression("SET sessionEpoch = :next")
            .condition_expression(current)
            .expression_attribute_values(":epoch", AttributeValue::N(epoch.to_string()))
            .expression_attribute_values(":next", AttributeValue::N((epoch + 1).to_string()));
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(storage("ending the sessions", err)),
        }
    }
}
