//! [`StripeClient`]: the [`StripeApi`] over async-stripe 1.0's client.
//!
//! async-stripe carries each request (authentication, `Stripe-Version`, base URL,
//! per-attempt timeout, `Idempotency-Key` header, form encoding with serde_qs). We
//! send our own small parameter trees and read only the fields we use, so a new
//! field in a Stripe answer never breaks us.
//!
//! Retries: async-stripe's `ExponentialBackoff` strategy would retry 409, 424, 429
//! and 5xx (we checked its `RequestStrategy::test`), but without its `uuid` feature
//! it sends no idempotency key, and the `Idempotent(key)` strategy makes a single
//! attempt. So every call runs in [`StripeClient::call`]: one idempotency key per
//! logical write (random, derived from the parameters, or given — the sign-up key comes
//! from the normalised email), then attempts under that same key, deciding retry and
//! backoff (1 s, 2 s, 4 s) with async-stripe's own `RequestStrategy::test`. Network
//! errors and timeouts are retried too. What still fails becomes [`Error::Stripe`] (502).

use std::{future::Future, time::Duration};

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use stripe::StripeError;
use stripe_client_core::{IdempotencyKey, Outcome, RequestBuilder, RequestStrategy, StripeMethod};

use super::*;
use crate::{Error, config::Config, model::SubscriptionType};

/// Attempts per call, the first included.
const ATTEMPTS: u32 = 4;
/// How long one attempt may take before it counts as a network failure and is retried.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);

/// [`StripeApi`] over async-stripe's hyper client.
#[derive(Clone)]
pub struct StripeClient {
    client: stripe::Client,
}

/// Which idempotency key a write carries (reads carry none).
enum Key<'a> {
    /// A fresh one: a new object per call (Checkout and portal sessions).
    Random,
    /// Derived from the method, path and parameters: the same request made twice
    /// (concurrent provisioning, a replay) yields one object.
    Content,
    /// Given by the caller (sign-up: from the normalised email).
    Given(&'a str),
}

/// The sign-up idempotency key: one per challenge and normalised email, so two
/// sign-ups (concurrent, or one retried after our write failed) get one Customer.
pub fn email_idempotency_key(challenge_id: &str, normalised_email: &str) -> String {
    format!(
        "devchat-signup-{challenge_id}-{}",
        sha256_hex(normalised_email.as_bytes())
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl StripeClient {
    /// A client for `config`'s key and base URL (api.stripe.com when `STRIPE_API_BASE` is unset).
    pub fn new(config: &Config) -> Result<Self> {
        // ring is the one crypto provider linked in; installing it explicitly keeps
        // hyper-rustls working should a dependency ever enable a second one. (An `Err`
        // means one is installed already.)
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = stripe::ClientBuilder::new(&config.stripe_secret_key)
            .app_info("devchat", Some(env!("CARGO_PKG_VERSION").into()), None)
            .timeout(ATTEMPT_TIMEOUT);
        if let Some(base) = &config.stripe_api_base {
            // async-stripe joins `{base}v1/…`, so the base ends with a slash.
            builder = builder.url(format!("{base}/"));
        }
        let client = builder
            .build()
            .map_err(|err| Error::Internal(format!("configuration: Stripe client: {err}")))?;
        Ok(StripeClient { client })
    }

    /// One Stripe call with retries (see the module docs). `Ok(Ok(None))` when Stripe
    /// answers 404 (`resource_missing`); Stripe's final refusal is the inner error, for
    /// the caller to read or to turn into [`Error::Stripe`] ([`refused`]).
    async fn call<T: DeserializeOwned>(
        &self,
        method: StripeMethod,
        path: &str,
        params: &Value,
        key: Key<'_>,
    ) -> Result<Result<Option<T>, StripeError>> {
        // serde_qs renders an empty object as "=", which is not an empty query.
        let encoded = match params.as_object() {
            Some(map) if map.is_empty() => String::new(),
            _ => serde_qs::to_string(params)
                .map_err(|err| Error::Internal(format!("encoding Stripe parameters: {err}")))?,
        };
        let is_write = !matches!(method, StripeMethod::Get);
        let key = match (is_write, key) {
            (false, _) => None,
            (true, Key::Random) => Some(uuid::Uuid::new_v4().to_string()),
            (true, Key::Content) => Some(format!(
                "devchat-{}",
                sha256_hex(format!("{path}?{encoded}").as_bytes())
            )),
            (true, Key::Given(key)) => Some(key.to_owned()),
        };
        let strategy = match &key {
            Some(key) => RequestStrategy::Idempotent(
                IdempotencyKey::new(key).map_err(|err| Error::Internal(err.to_string()))?,
            ),
            None => RequestStrategy::Once,
        };
        let attempt = || {
            let mut request = RequestBuilder::new(method, path);
            if !encoded.is_empty() {
                if is_write {
                    request.body = Some(encoded.clone());
                } else {
                    request.query = Some(encoded.clone());
                }
            }
            request
                .customize::<miniserde::json::Value>()
                .request_strategy(strategy.clone())
                .send(&self.client)
        };
        let answer = retrying(path, attempt).await;
        match answer {
            Ok(value) => {
                let text = miniserde::json::to_string(&value);
                serde_json::from_str(&text)
                    .map(|value| Ok(Some(value)))
                    .map_err(|err| Error::Stripe(format!("{path}: unexpected answer: {err}")))
            }
            Err(StripeError::Stripe(_, 404)) => Ok(Ok(None)),
            Err(err) => Ok(Err(err)),
        }
    }

    async fn get<T: DeserializeOwned>(&self, path: &str, params: Value) -> Result<Option<T>> {
        self.call(StripeMethod::Get, path, &params, Key::Content)
            .await?
            .map_err(|err| refused(path, &err))
    }

    /// A list's `data` (empty when Stripe answers 404).
    async fn list<T: DeserializeOwned>(&self, path: &str, params: Value) -> Result<Vec<T>> {
        let list: Option<wire::List<T>> = self.get(path, params).await?;
        Ok(list.map(|l| l.data).unwrap_or_default())
    }

    /// A write under a content-derived key, its answer (Stripe's shape `W`) read as ours.
    async fn write<W: DeserializeOwned + Into<S>, S>(
        &self,
        path: &str,
        params: Value,
    ) -> Result<S> {
        Ok(self.post::<W>(path, params, Key::Content).await?.into())
    }

    /// A write that must find its object: a 404 here is Stripe misbehaving.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        params: Value,
        key: Key<'_>,
    ) -> Result<T> {
        self.call(StripeMethod::Post, path, &params, key)
            .await?
            .map_err(|err| refused(path, &err))?
            .ok_or_else(|| Error::Stripe(format!("{path}: not found")))
    }
}

/// What Stripe's final refusal of a call to `path` is to us.
fn refused(path: &str, err: &StripeError) -> Error {
    Error::Stripe(format!("{path}: {}", describe(err)))
}

/// Runs `attempt` until it succeeds or async-stripe's retry policy says stop.
async fn retrying<T, F, Fut>(what: &str, attempt: F) -> Result<T, StripeError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, StripeError>>,
{
    let policy = RequestStrategy::ExponentialBackoff(ATTEMPTS);
    let mut tries = 0;
    loop {
        let result = attempt().await;
        tries += 1;
        let err = match result {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let status = match &err {
            StripeError::Stripe(_, status) => Some(*status),
            // Network errors and timeouts: retried like a 5xx.
            StripeError::ClientError(_) | StripeError::Timeout => None,
            StripeError::JSONDeserialize(_) | StripeError::ConfigError(_) => return Err(err),
        };
        match policy.test(status, None, tries) {
            Outcome::Continue(delay) => {
                tracing::warn!(path = what, attempt = tries, error = %describe(&err), "Stripe call failed; retrying");
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
            }
            Outcome::Stop => return Err(err),
        }
    }
}

/// A one-line description of a Stripe failure (Stripe's message and code, or the transport error).
fn describe(err: &StripeError) -> String {
    match err {
        StripeError::Stripe(api, status) => format!(
            "{status} {}{}",
            api.message.as_deref().unwrap_or("(no message)"),
            api.code
                .as_ref()
                .map(|code| format!(" ({code:?})"))
                .unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

/// An id that is safe to put in a URL path; anything else cannot exist in Stripe.
fn path_id(id: &str) -> Option<&str> {
    let ok = !id.is_empty()
        && id.len() <= 255
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(id)
}

mod calls;
mod wire;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signup_key_is_stable_and_short() {
        let a = email_idempotency_key("local", "ada@example.com");
        assert_eq!(a, email_idempotency_key("local", "ada@example.com"));
        assert_ne!(a, email_idempotency_key("local", "bob@example.com"));
        assert_ne!(a, email_idempotency_key("other", "ada@example.com"));
        assert!(a.len() < 255 && !a.contains('@'));
    }

    #[test]
    fn path_ids_cannot_escape_the_path() {
        assert_eq!(path_id("cs_test_123"), Some("cs_test_123"));
        for bad in ["", "../customers", "cs_1?expand[]=x", "cs 1", "cs/1"] {
            assert_eq!(path_id(bad), None, "{bad}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_failures_then_gives_up() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let calls = AtomicU32::new(0);
        let result: Result<(), StripeError> = retrying("/x", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StripeError::ClientError("connection refused".into()))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);
    }
}
