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

use std::{collections::HashMap, future::Future, time::Duration};

use serde::{Deserialize, de::DeserializeOwned};
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

    /// One Stripe call with retries (see the module docs). `Ok(None)` when Stripe
    /// answers 404 (`resource_missing`); what still fails becomes [`Error::Stripe`].
    async fn call<T: DeserializeOwned>(
        &self,
        method: StripeMethod,
        path: &str,
        params: &Value,
        key: Key<'_>,
    ) -> Result<Option<T>> {
        self.try_call(method, path, params, key)
            .await?
            .map_err(|err| Error::Stripe(format!("{path}: {}", describe(&err))))
    }

    /// [`Self::call`], leaving Stripe's final refusal to the caller (the inner error).
    async fn try_call<T: DeserializeOwned>(
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
            .await
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
            .ok_or_else(|| Error::Stripe(format!("{path}: not found")))
    }
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

// What we read from Stripe's answers: only the fields we use.

#[derive(Deserialize)]
struct List<T> {
    data: Vec<T>,
}

type Metadata = Option<HashMap<String, String>>;

fn challenge_of(metadata: &Metadata) -> Option<String> {
    metadata
        .as_ref()
        .and_then(|m| m.get("challenge_id").cloned())
}

#[derive(Deserialize)]
struct Product {
    id: String,
    name: String,
    active: bool,
    url: Option<String>,
    unit_label: Option<String>,
    metadata: Metadata,
}

impl From<Product> for ProductState {
    fn from(p: Product) -> Self {
        ProductState {
            challenge_id: challenge_of(&p.metadata),
            id: p.id,
            name: p.name,
            active: p.active,
            url: p.url,
            unit_label: p.unit_label,
        }
    }
}

/// An id, whether Stripe sent it alone or as the expanded object.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdOr<T> {
    Id(String),
    Object(T),
}

#[derive(Deserialize)]
struct Object {
    id: String,
}

impl IdOr<Object> {
    fn id(self) -> String {
        match self {
            IdOr::Id(id) | IdOr::Object(Object { id }) => id,
        }
    }
}

#[derive(Deserialize)]
struct Recurring {
    interval: String,
    meter: Option<String>,
}

#[derive(Deserialize)]
struct Price {
    id: String,
    product: IdOr<Object>,
    active: bool,
    currency: String,
    unit_amount: Option<i64>,
    lookup_key: Option<String>,
    nickname: Option<String>,
    recurring: Option<Recurring>,
    metadata: Metadata,
}

impl From<Price> for PriceState {
    fn from(p: Price) -> Self {
        PriceState {
            challenge_id: challenge_of(&p.metadata),
            id: p.id,
            product: p.product.id(),
            lookup_key: p.lookup_key,
            nickname: p.nickname,
            currency: p.currency,
            unit_amount: p.unit_amount,
            interval: p.recurring.as_ref().map(|r| r.interval.clone()),
            meter: p.recurring.and_then(|r| r.meter),
            active: p.active,
        }
    }
}

#[derive(Deserialize)]
struct Meter {
    id: String,
    event_name: String,
    display_name: String,
    status: String,
}

impl From<Meter> for MeterState {
    fn from(m: Meter) -> Self {
        MeterState {
            active: m.status == "active",
            id: m.id,
            event_name: m.event_name,
            display_name: m.display_name,
        }
    }
}

#[derive(Deserialize, Default)]
struct Enabled {
    #[serde(default)]
    enabled: bool,
    mode: Option<String>,
}

#[derive(Deserialize, Default)]
struct Features {
    #[serde(default)]
    payment_method_update: Enabled,
    #[serde(default)]
    invoice_history: Enabled,
    #[serde(default)]
    subscription_cancel: Enabled,
}

#[derive(Deserialize, Default)]
struct BusinessProfile {
    headline: Option<String>,
}

#[derive(Deserialize)]
struct PortalConfiguration {
    id: String,
    active: bool,
    #[serde(default)]
    business_profile: Option<BusinessProfile>,
    default_return_url: Option<String>,
    #[serde(default)]
    features: Features,
    metadata: Metadata,
}

impl From<PortalConfiguration> for PortalState {
    fn from(c: PortalConfiguration) -> Self {
        PortalState {
            challenge_id: challenge_of(&c.metadata),
            id: c.id,
            active: c.active,
            headline: c.business_profile.and_then(|b| b.headline),
            default_return_url: c.default_return_url,
            payment_method_update: c.features.payment_method_update.enabled,
            invoice_history: c.features.invoice_history.enabled,
            subscription_cancel: c.features.subscription_cancel.enabled,
            cancel_mode_immediately: c.features.subscription_cancel.mode.as_deref()
                == Some("immediately"),
        }
    }
}

#[derive(Deserialize)]
struct Url {
    url: Option<String>,
}

#[derive(Deserialize)]
struct SubscriptionItem {
    price: IdOr<Object>,
}

#[derive(Deserialize)]
struct Subscription {
    id: String,
    customer: IdOr<Object>,
    status: String,
    items: List<SubscriptionItem>,
}

impl From<Subscription> for SubscriptionState {
    fn from(s: Subscription) -> Self {
        SubscriptionState {
            id: s.id,
            customer: s.customer.id(),
            status: s.status,
            prices: s
                .items
                .data
                .into_iter()
                .map(|item| item.price.id())
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct CheckoutSession {
    id: String,
    customer: Option<IdOr<Object>>,
    subscription: Option<IdOr<Subscription>>,
}

#[derive(Deserialize)]
struct MeterEvent {
    identifier: String,
}

fn product_params(spec: &ProductSpec) -> Value {
    json!({
        "name": spec.name,
        "url": spec.url,
        "unit_label": spec.unit_label,
        "active": true,
        "metadata": { "challenge_id": spec.challenge_id },
    })
}

fn meter_params(spec: &MeterSpec) -> Value {
    json!({ "display_name": spec.display_name })
}

fn portal_params(spec: &PortalSpec) -> Value {
    json!({
        "business_profile": { "headline": spec.headline },
        "default_return_url": spec.default_return_url,
        "features": {
            "payment_method_update": { "enabled": true },
            "invoice_history": { "enabled": true },
            "subscription_cancel": { "enabled": true, "mode": "immediately" },
        },
        "metadata": { "challenge_id": spec.challenge_id },
    })
}

fn not_found(what: &str) -> Error {
    Error::Stripe(format!("{what} vanished while we wrote it"))
}

impl StripeApi for StripeClient {
    async fn find_product_by_url(&self, url: &str) -> Result<Option<ProductState>> {
        let list: Option<List<Product>> = self
            .get("/products", json!({ "url": url, "limit": 100 }))
            .await?;
        // Prefer an active product if an archived one shares the url.
        let mut products = list.map(|l| l.data).unwrap_or_default();
        products.sort_by_key(|p| !p.active);
        Ok(products.into_iter().next().map(Into::into))
    }

    async fn create_product(&self, spec: &ProductSpec) -> Result<ProductState> {
        let product: Product = self
            .post("/products", product_params(spec), Key::Content)
            .await?;
        Ok(product.into())
    }

    async fn update_product(&self, id: &str, spec: &ProductSpec) -> Result<ProductState> {
        let id = path_id(id).ok_or_else(|| not_found("product"))?;
        let product: Product = self
            .post(
                &format!("/products/{id}"),
                product_params(spec),
                Key::Content,
            )
            .await?;
        Ok(product.into())
    }

    async fn find_prices_by_lookup_keys(&self, lookup_keys: &[&str]) -> Result<Vec<PriceState>> {
        let list: Option<List<Price>> = self
            .get(
                "/prices",
                json!({ "lookup_keys": lookup_keys, "limit": 100 }),
            )
            .await?;
        Ok(list
            .map(|l| l.data)
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn create_price(
        &self,
        spec: &PriceSpec,
        transfer_lookup_key: bool,
    ) -> Result<PriceState> {
        let mut recurring = json!({ "interval": spec.interval });
        if let Some(meter) = &spec.meter {
            recurring["usage_type"] = json!("metered");
            recurring["meter"] = json!(meter);
        }
        let mut params = json!({
            "product": spec.product,
            "currency": spec.currency,
            "unit_amount": spec.unit_amount,
            "recurring": recurring,
            "lookup_key": spec.lookup_key,
            "nickname": spec.nickname,
            "metadata": { "challenge_id": spec.challenge_id },
        });
        if transfer_lookup_key {
            params["transfer_lookup_key"] = json!(true);
        }
        let price: Price = self.post("/prices", params, Key::Content).await?;
        Ok(price.into())
    }

    async fn update_price(
        &self,
        id: &str,
        nickname: Option<&str>,
        challenge_id: Option<&str>,
        active: Option<bool>,
    ) -> Result<PriceState> {
        let id = path_id(id).ok_or_else(|| not_found("price"))?;
        let mut params = json!({});
        if let Some(nickname) = nickname {
            params["nickname"] = json!(nickname);
        }
        if let Some(challenge_id) = challenge_id {
            params["metadata"] = json!({ "challenge_id": challenge_id });
        }
        if let Some(active) = active {
            params["active"] = json!(active);
        }
        let price: Price = self
            .post(&format!("/prices/{id}"), params, Key::Content)
            .await?;
        Ok(price.into())
    }

    async fn find_meter_by_event_name(&self, event_name: &str) -> Result<Option<MeterState>> {
        // Meters cannot be filtered by event name; there are few of them.
        let list: Option<List<Meter>> =
            self.get("/billing/meters", json!({ "limit": 100 })).await?;
        Ok(list
            .map(|l| l.data)
            .unwrap_or_default()
            .into_iter()
            .find(|m| m.event_name == event_name)
            .map(Into::into))
    }

    async fn create_meter(&self, spec: &MeterSpec) -> Result<MeterState> {
        let params = json!({
            "display_name": spec.display_name,
            "event_name": spec.event_name,
            "default_aggregation": { "formula": "sum" },
            "customer_mapping": { "type": "by_id", "event_payload_key": "stripe_customer_id" },
            "value_settings": { "event_payload_key": "value" },
        });
        let meter: Meter = self.post("/billing/meters", params, Key::Content).await?;
        Ok(meter.into())
    }

    async fn update_meter(
        &self,
        id: &str,
        spec: &MeterSpec,
        reactivate: bool,
    ) -> Result<MeterState> {
        let id = path_id(id).ok_or_else(|| not_found("meter"))?;
        if reactivate {
            let _: Meter = self
                .post(
                    &format!("/billing/meters/{id}/reactivate"),
                    json!({}),
                    Key::Content,
                )
                .await?;
        }
        let meter: Meter = self
            .post(
                &format!("/billing/meters/{id}"),
                meter_params(spec),
                Key::Content,
            )
            .await?;
        Ok(meter.into())
    }

    async fn find_portal_configuration(&self, challenge_id: &str) -> Result<Option<PortalState>> {
        let list: Option<List<PortalConfiguration>> = self
            .get("/billing_portal/configurations", json!({ "limit": 100 }))
            .await?;
        Ok(list
            .map(|l| l.data)
            .unwrap_or_default()
            .into_iter()
            .map(PortalState::from)
            .find(|c| c.challenge_id.as_deref() == Some(challenge_id)))
    }

    async fn create_portal_configuration(&self, spec: &PortalSpec) -> Result<PortalState> {
        let config: PortalConfiguration = self
            .post(
                "/billing_portal/configurations",
                portal_params(spec),
                Key::Content,
            )
            .await?;
        Ok(config.into())
    }

    async fn update_portal_configuration(
        &self,
        id: &str,
        spec: &PortalSpec,
    ) -> Result<PortalState> {
        let id = path_id(id).ok_or_else(|| not_found("portal configuration"))?;
        let mut params = portal_params(spec);
        params["active"] = json!(true);
        let config: PortalConfiguration = self
            .post(
                &format!("/billing_portal/configurations/{id}"),
                params,
                Key::Content,
            )
            .await?;
        Ok(config.into())
    }

    async fn create_customer(
        &self,
        email: &str,
        challenge_id: &str,
        idempotency_key: &str,
    ) -> Result<String> {
        let params = json!({ "email": email, "metadata": { "challenge_id": challenge_id } });
        let customer: Object = self
            .post("/customers", params, Key::Given(idempotency_key))
            .await?;
        Ok(customer.id)
    }

    async fn create_checkout_session(&self, spec: &CheckoutSpec) -> Result<String> {
        let mut item = json!({ "price": spec.price });
        if spec.kind == SubscriptionType::Monthly {
            // One seat, fixed: the customer cannot change the quantity on the page.
            item["quantity"] = json!(1);
            item["adjustable_quantity"] = json!({ "enabled": false });
        }
        let mut subscription_data = json!({ "metadata": { "challenge_id": spec.challenge_id } });
        if let Some(days) = spec.trial_days {
            subscription_data["trial_period_days"] = json!(days);
        }
        let params = json!({
            "mode": "subscription",
            "customer": spec.customer,
            "line_items": [item],
            "payment_method_collection": "always",
            "subscription_data": subscription_data,
            "success_url": spec.success_url,
            "cancel_url": spec.cancel_url,
            "metadata": { "challenge_id": spec.challenge_id },
        });
        let session: Url = self.post("/checkout/sessions", params, Key::Random).await?;
        session
            .url
            .ok_or_else(|| Error::Stripe("Checkout Session without a url".into()))
    }

    async fn retrieve_checkout_session(&self, id: &str) -> Result<Option<CheckoutState>> {
        let Some(id) = path_id(id) else {
            return Ok(None);
        };
        let session: Option<CheckoutSession> = self
            .get(
                &format!("/checkout/sessions/{id}"),
                json!({ "expand": ["subscription"] }),
            )
            .await?;
        Ok(session.map(|s| CheckoutState {
            id: s.id,
            customer: s.customer.map(IdOr::id),
            subscription: match s.subscription {
                Some(IdOr::Object(subscription)) => Some(subscription.into()),
                // Not expanded (should not happen, we asked): read it.
                Some(IdOr::Id(_)) | None => None,
            },
        }))
    }

    async fn retrieve_subscription(&self, id: &str) -> Result<Option<SubscriptionState>> {
        let Some(id) = path_id(id) else {
            return Ok(None);
        };
        let subscription: Option<Subscription> =
            self.get(&format!("/subscriptions/{id}"), json!({})).await?;
        Ok(subscription.map(Into::into))
    }

    async fn create_portal_session(
        &self,
        customer: &str,
        configuration: &str,
        return_url: &str,
    ) -> Result<String> {
        let params = json!({ "customer": customer, "configuration": configuration, "return_url": return_url });
        let session: Url = self
            .post("/billing_portal/sessions", params, Key::Random)
            .await?;
        session
            .url
            .ok_or_else(|| Error::Stripe("portal session without a url".into()))
    }

    async fn record_meter_event(
        &self,
        event_name: &str,
        customer: &str,
        identifier: &str,
    ) -> Result<String> {
        // The identifier makes Stripe count the event once; the content-derived
        // idempotency key makes our retries of this very request safe too.
        let params = json!({
            "event_name": event_name,
            "identifier": identifier,
            "payload": { "stripe_customer_id": customer, "value": "1" },
        });
        let path = "/billing/meter_events";
        match self
            .try_call::<MeterEvent>(StripeMethod::Post, path, &params, Key::Content)
            .await?
        {
            Ok(Some(event)) => Ok(event.identifier),
            // Stripe already holds an event with this identifier (unique for 24 hours):
            // this click is recorded. v1 answers a repeat with a 400 naming the
            // `identifier` parameter and no code (`duplicate_meter_event` exists only in
            // v2). Our identifier is checked well-formed before sending (`usage::identifier`),
            // so a 400 on it can only be the repeat. A retry of this very request is
            // covered earlier, by its idempotency key, which replays the first answer.
            Err(StripeError::Stripe(api, 400)) if api.param.as_deref() == Some("identifier") => {
                Ok(identifier.to_owned())
            }
            Ok(None) => Err(Error::Stripe(format!("{path}: not found"))),
            Err(err) => Err(Error::Stripe(format!("{path}: {}", describe(&err)))),
        }
    }
}

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
