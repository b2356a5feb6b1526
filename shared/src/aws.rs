//! What our AWS clients (DynamoDB in [`crate::store`], SES in [`crate::mail`]) share: the
//! HTTPS client, timeouts, and the environment Lambda provides.

use std::time::Duration;

use aws_config::{
    BehaviorVersion, Region, SdkConfig,
    environment::{EnvironmentVariableCredentialsProvider, EnvironmentVariableRegionProvider},
    meta::region::ProvideRegion,
    timeout::TimeoutConfig,
};
use aws_credential_types::{Credentials, provider::SharedCredentialsProvider};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

use crate::{Error, Result};

/// The roots of Amazon Trust Services, which sign the certificates of every AWS service
/// endpoint (DynamoDB's and SES's included). Trusting these five instead of the OS store
/// keeps the cold start free of reading and parsing every root certificate on the system
/// (the AWS SDK's default HTTPS client does that at init; see bench/NOTES.md).
const AMAZON_ROOTS: [&[u8]; 5] = [
    include_bytes!("aws/certs/AmazonRootCA1.pem"),
    include_bytes!("aws/certs/AmazonRootCA2.pem"),
    include_bytes!("aws/certs/AmazonRootCA3.pem"),
    include_bytes!("aws/certs/AmazonRootCA4.pem"),
    include_bytes!("aws/certs/SFSRootCAG2.pem"),
];

/// Connecting gives up after 2 s, an attempt after `attempt` seconds and the operation
/// (with the SDK's retries) after `operation`.
fn timeouts(attempt: u64, operation: u64) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(attempt))
        .operation_timeout(Duration::from_secs(operation))
        .build()
}

/// In AWS operations give up after a few seconds, so an unreachable service answers 503
/// promptly.
const AWS_TIMEOUTS: (u64, u64) = (3, 8);
/// A local moto server applies DynamoDB writes one at a time (scripts/moto_server.py)
/// at tens of milliseconds each on a busy machine, so a test's burst of writes queues
/// for seconds: the local clients wait for it (an unreachable moto still fails at once).
const LOCAL_TIMEOUTS: (u64, u64) = (20, 60);

/// The SDK's configuration with our HTTPS client (rustls on ring, the one crypto provider
/// in our binaries, trusting [`AMAZON_ROOTS`]; plain `http://` endpoints work as well)
/// and the given timeouts.
fn sdk_config(
    region: Region,
    credentials: SharedCredentialsProvider,
    timeouts: TimeoutConfig,
) -> Result<SdkConfig> {
    let roots = AMAZON_ROOTS.iter().fold(TrustStore::empty(), |roots, pem| {
        roots.with_pem_certificate(*pem)
    });
    let tls = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .map_err(|err| Error::Internal(format!("configuration: AWS TLS: {err}")))?;
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(tls)
        .build_https();
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(credentials)
        .http_client(http)
        .timeout_config(timeouts)
        .build())
}

/// The configuration Lambda provides: `AWS_REGION`, and the function role's credentials in
/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`. Deliberately not
/// aws-config's whole default chain (profiles, SSO, STS web identity, IMDS): a function
/// never needs it, and it would cost every cold start and package (see bench/NOTES.md).
pub(crate) async fn from_env() -> Result<SdkConfig> {
    let region = EnvironmentVariableRegionProvider::new()
        .region()
        .await
        .ok_or_else(|| Error::Internal("configuration: AWS_REGION is not set".into()))?;
    let credentials = SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new());
    sdk_config(
        region,
        credentials,
        timeouts(AWS_TIMEOUTS.0, AWS_TIMEOUTS.1),
    )
}

/// Dummy credentials in us-east-1, nothing read from the environment: for a local
/// moto server (tests, benchmarks).
pub(crate) fn local() -> Result<SdkConfig> {
    let credentials = Credentials::new("test", "test", None, None, "local");
    sdk_config(
        Region::new("us-east-1"),
        SharedCredentialsProvider::new(credentials),
        timeouts(LOCAL_TIMEOUTS.0, LOCAL_TIMEOUTS.1),
    )
}

/// A service's endpoint from the environment as the AWS SDKs name it: `AWS_ENDPOINT_URL_{SERVICE}`
/// (e.g. `DYNAMODB`, `SESV2`), else `AWS_ENDPOINT_URL`; `None` means AWS's own.
pub(crate) fn endpoint_from_env(service: &str) -> Option<String> {
    [
        format!("AWS_ENDPOINT_URL_{service}"),
        "AWS_ENDPOINT_URL".into(),
    ]
    .into_iter()
    .find_map(|name| std::env::var(name).ok().filter(|url| !url.is_empty()))
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
        assert!(local().is_ok());
    }
}
