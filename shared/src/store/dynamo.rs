//! [`DynamoStore`]: the [`Store`] on one DynamoDB table (hash key `pk`), items
//! mapped with serde_dynamo. Any DynamoDB failure is [`Error::Storage`] (503).

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use aws_config::{
    environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider},
    meta::region::ProvideRegion,
};
use aws_sdk_dynamodb::{
    Client,
    config::{
        BehaviorVersion, Credentials, ProvideCredentials, Region, SharedHttpClient,
        timeout::TimeoutConfig,
    },
    error::{DisplayErrorContext, ProvideErrorMetadata, SdkError},
    types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType,
    },
};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_dynamo::{from_item, to_attribute_value, to_item};

use super::{CATALOG_LIFETIME, Cached, Store};
use crate::{
    Error, Result,
    model::{Catalog, Subscription, User},
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

fn user_key(id: &str) -> String {
    format!("USER#{id}")
}

fn email_key(email: &str) -> String {
    format!("EMAIL#{email}")
}

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

/// The roots of Amazon Trust Services, which sign the certificates of every AWS service
/// endpoint, DynamoDB's included. Trusting these five instead of the OS store keeps the
/// cold start free of reading and parsing every root certificate on the system (the AWS
/// SDK's default HTTPS client does that at init; see bench/NOTES.md).
const AMAZON_ROOTS: [&[u8]; 5] = [
    include_bytes!("certs/AmazonRootCA1.pem"),
    include_bytes!("certs/AmazonRootCA2.pem"),
    include_bytes!("certs/AmazonRootCA3.pem"),
    include_bytes!("certs/AmazonRootCA4.pem"),
    include_bytes!("certs/SFSRootCAG2.pem"),
];

/// Operations give up after a few seconds so an unreachable database answers 503 promptly.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build()
}

/// The SDK's HTTPS client on rustls with ring (the one crypto provider in our binaries)
/// trusting [`AMAZON_ROOTS`]. Plain `http://` endpoints (a local DynamoDB) work as well.
fn http_client() -> Result<SharedHttpClient> {
    let roots = AMAZON_ROOTS.iter().fold(TrustStore::empty(), |roots, pem| {
        roots.with_pem_certificate(*pem)
    });
    let tls = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .map_err(|err| Error::Internal(format!("configuration: DynamoDB TLS: {err}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https())
}

/// A DynamoDB client: region, credentials, endpoint (`None`: AWS's own), with our HTTPS
/// client and timeouts.
fn client(
    region: Region,
    credentials: impl ProvideCredentials + 'static,
    endpoint: Option<String>,
) -> Result<Client> {
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(credentials)
        .http_client(http_client()?)
        .timeout_config(timeouts());
    config.set_endpoint_url(endpoint);
    Ok(Client::from_conf(config.build()))
}

impl DynamoStore {
    /// A store on `table`, configured from the environment the way Lambda provides it:
    /// `AWS_REGION`, the function role's credentials in `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and `AWS_ENDPOINT_URL_DYNAMODB`
    /// (or `AWS_ENDPOINT_URL`) for a local DynamoDB. Deliberately not aws-config's whole
    /// default chain (profiles, SSO, STS web identity, IMDS): a function never needs it,
    /// and it would cost every cold start and package (see bench/NOTES.md).
    pub async fn from_env(table: &str) -> Result<Self> {
        let region = EnvironmentVariableRegionProvider::new()
            .region()
            .await
            .ok_or_else(|| Error::Internal("configuration: AWS_REGION is not set".into()))?;
        let endpoint = ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty()));
        let credentials = EnvironmentVariableCredentialsProvider::new();
        Ok(DynamoStore::new(
            client(region, credentials, endpoint)?,
            table,
        ))
    }

    /// A client for a local DynamoDB at `endpoint` with dummy credentials and nothing
    /// read from the environment (tests, benchmarks), otherwise as [`Self::from_env`]'s.
    pub fn local_client(endpoint: &str) -> Result<Client> {
        let credentials = Credentials::new("test", "test", None, None, "local");
        client(
            Region::new("us-east-1"),
            credentials,
            Some(endpoint.to_owned()),
        )
    }

    pub fn new(client: Client, table: &str) -> Self {
        DynamoStore {
            client,
            table: table.to_owned(),
            catalog: Arc::new(Mutex::new(Cached::new(CATALOG_LIFETIME))),
        }
    }

    /// Creates the table (hash key `pk`, on-demand) unless it exists: for the local
    /// stack and tests; in AWS the SAM template owns the table.
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
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| Error::Internal(e.to_string()))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(|e| Error::Internal(e.to_string()))?,
            )
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
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

    async fn claim_email(&self, email: &str, customer_id: &str) -> Result<String> {
        let claim = EmailClaim {
            customer_id: customer_id.to_owned(),
        };
        if self.put(email_key(email), &claim, true).await? {
            return Ok(customer_id.to_owned());
        }
        // Lost the race: the winner's claim stands.
        self.get_email_claim(email)
            .await?
            .ok_or_else(|| Error::Storage(format!("the claim on {email} vanished")))
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
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::{CertificateDer, pem::PemObject};

    use super::*;

    #[test]
    fn the_trust_store_holds_amazons_five_roots_and_nothing_else() {
        let mut roots = rustls::RootCertStore::empty();
        for pem in AMAZON_ROOTS {
            let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
                .collect::<std::result::Result<_, _>>()
                .unwrap();
            assert_eq!(certs.len(), 1, "one certificate per file");
            roots.add(certs[0].clone()).unwrap();
        }
        assert_eq!(roots.len(), 5);
        for root in &roots.roots {
            let subject: &[u8] = root.subject.as_ref();
            let issued_to = |name: &[u8]| subject.windows(name.len()).any(|w| w == name);
            assert!(issued_to(b"Amazon") || issued_to(b"Starfield Services"));
        }
        assert!(http_client().is_ok());
    }
}
