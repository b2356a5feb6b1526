//! What the emulator's test crates share (`api`, `billing`, `hosted_pages`): an
//! emulator served in-process on a free port, with its `App` at hand so a test can
//! pay a Checkout Session the way the hosted page does (`billing::complete_checkout`),
//! and a small Stripe-speaking client.

// Each test crate uses its own part of this module.
#![allow(dead_code)]

use serde_json::Value;
use stripe_emulator::{App, Config, billing, server, state::Db};

pub const KEY: &str = "sk_test_emulator_tests";

/// A running emulator: `base` is its URL, `app` its state.
pub struct Emu {
    pub app: App,
    pub base: String,
    pub http: reqwest::Client,
}

/// A response: status and JSON body.
pub struct Res {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Res {
    /// The body of a 2xx answer (panics with the body otherwise).
    pub fn ok(self) -> Value {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {}: {}",
            self.status,
            self.body
        );
        self.body
    }

    /// The `error` of a failed answer, checking its status.
    pub fn err(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected answer: {}", self.body);
        self.body["error"].clone()
    }
}

/// A test card as the hosted Checkout page reads it from its form.
pub fn card(number: &str) -> billing::Card {
    billing::Card {
        number: number.into(),
        exp_month: 12,
        exp_year: 2099,
        cvc: "123".into(),
        name: "Ada Lovelace".into(),
        country: "US".into(),
        postal_code: Some("10001".into()),
    }
}

impl Emu {
    pub async fn start() -> Emu {
        Self::start_with(None, Db::default()).await
    }

    /// Serves `db` (e.g. loaded from a `--data` file), saving to `data` if given.
    pub async fn start_with(data: Option<std::path::PathBuf>, db: Db) -> Emu {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = Config {
            public_url: base.clone(),
            webhook_secret: "whsec_test_emulator".into(),
            data,
            checkout_confirm_delay_ms: 0,
        };
        let app = App::new(config, db);
        let router = server::router(app.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Emu {
            app,
            base,
            http: reqwest::Client::new(),
        }
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        key: Option<&str>,
        idem: Option<&str>,
    ) -> Res {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(idem) = idem {
            req = req.header("idempotency-key", idem);
        }
        let res = req.body(body.to_string()).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            // Every answer the suite receives is held to Stripe's spec (and the overlay).
            let path = path.split('?').next().unwrap_or(path);
            if let Err(diff) = stripe_emulator::spec::check_response(method.as_str(), path, &body) {
                panic!("{method} {path}: the answer differs from Stripe's spec:\n{diff}\n{body}");
            }
        }
        Res {
            status,
            body,
            headers,
        }
    }

    pub async fn post(&self, path: &str, body: &str) -> Res {
        self.send(reqwest::Method::POST, path, body, Some(KEY), None)
            .await
    }

    /// A POST that must succeed: its answer.
    pub async fn posted(&self, path: &str, body: &str) -> Value {
        self.post(path, body).await.ok()
    }

    /// A POST that must be refused with a 400: its `error`.
    pub async fn refused(&self, path: &str, body: &str) -> Value {
        self.post(path, body).await.err(400)
    }

    /// POSTs each case, written one a line as `path body => check`, several checks
    /// joined by ` && `: each must be refused with a 400 whose `error[field]` is
    /// `value` (`field: value`) or contains it (`field ~ value`).
    pub async fn refuses(&self, cases: &str) {
        for case in cases.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (request, checks) = case.split_once(" => ").expect(case);
            let (path, body) = request.split_once(' ').unwrap_or((request, ""));
            let err = self.refused(path, body).await;
            for check in checks.split(" && ") {
                if let Some((field, want)) = check.split_once(": ") {
                    assert_eq!(err[field], want, "{case}");
                } else {
                    let (field, part) = check.split_once(" ~ ").expect(check);
                    let got = err[field].as_str().unwrap_or_default();
                    assert!(got.contains(part), "{case}: {err}");
                }
            }
        }
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_idempotent(&self, path: &str, body: &str, key: &str) -> Res {
        self.send(reqwest::Method::POST, path, body, Some(KEY), Some(key))
            .await
    }

    pub async fn get(&self, path: &str) -> Res {
        self.send(reqwest::Method::GET, path, "", Some(KEY), None)
            .await
    }

    pub async fn delete(&self, path: &str) -> Res {
        self.send(reqwest::Method::DELETE, path, "", Some(KEY), None)
            .await
    }

    /// Creates a product and returns its id.
    pub async fn product(&self, name: &str) -> String {
        id(&self
            .post("/v1/products", &format!("name={name}"))
            .await
            .ok())
    }

    /// Creates a customer and returns its id.
    pub async fn customer(&self, email: &str) -> String {
        id(&self
            .post("/v1/customers", &format!("email={email}"))
            .await
            .ok())
    }

    /// Creates a `sum` meter for `event_name` and returns its id.
    pub async fn meter(&self, event_name: &str) -> String {
        id(&self
            .post(
                "/v1/billing/meters",
                &format!(
                    "display_name=Usage&event_name={event_name}&default_aggregation[formula]=sum"
                ),
            )
            .await
            .ok())
    }

    /// Updates a subscription; returns it.
    pub async fn update_sub(&self, sub: &str, body: &str) -> Value {
        self.post(&format!("/v1/subscriptions/{sub}"), body)
            .await
            .ok()
    }

    /// A subscription to `price` on a 3-day trial, its card `number`.
    pub async fn trialing(&self, price: &str, email: &str, number: &str) -> Value {
        let extra = format!("&customer_email={email}&subscription_data[trial_period_days]=3");
        self.subscribe(price, Some(1), &extra, number).await
    }

    /// A $60 monthly subscription paid with 4242, no trial.
    pub async fn monthly_subscriber(&self, price: &str, email: &str) -> Value {
        self.subscribe(
            price,
            Some(1),
            &format!("&customer_email={email}"),
            "4242424242424242",
        )
        .await
    }

    /// A metered subscription to `price` paid with 4242, no trial, with `units`
    /// units of usage already on `event_name`'s meter (one meter event each).
    pub async fn metered_subscriber(
        &self,
        price: &str,
        email: &str,
        event_name: &str,
        units: u32,
    ) -> Value {
        let extra = format!("&customer_email={email}");
        let sub = self
            .subscribe(price, None, &extra, "4242424242424242")
            .await;
        let customer = sub["customer"].as_str().unwrap().to_string();
        for n in 0..units {
            let identifier = format!("{customer}-{n}");
            self.meter_event(event_name, &customer, 1, Some(&identifier))
                .await;
        }
        sub
    }

    /// A meter event of `value` for `customer` on `event_name`'s meter.
    pub async fn meter_event(
        &self,
        event_name: &str,
        customer: &str,
        value: i64,
        identifier: Option<&str>,
    ) -> Value {
        let identifier = identifier
            .map(|i| format!("&identifier={i}"))
            .unwrap_or_default();
        self.posted(
            "/v1/billing/meter_events",
            &format!("event_name={event_name}&payload[stripe_customer_id]={customer}&payload[value]={value}{identifier}"),
        )
        .await
    }

    /// Advances the emulator's clock (which runs what came due).
    pub async fn advance(&self, seconds: i64) {
        let res = self
            .http
            .post(format!("{}/_emulator/clock/advance", self.base))
            .json(&serde_json::json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }

    /// Moves the emulator's clock to `to` (which runs what came due).
    pub async fn advance_to(&self, to: i64) {
        let res = self
            .http
            .post(format!("{}/_emulator/clock/advance", self.base))
            .json(&serde_json::json!({ "to": to }))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }

    /// Events, oldest first (the last 100).
    pub async fn all_events(&self) -> Vec<Value> {
        let list = self.get("/v1/events?limit=100").await.ok();
        let mut events = list["data"].as_array().unwrap().clone();
        events.reverse();
        events
    }

    /// Pays a session with a card as the hosted Checkout page does.
    pub async fn pay(
        &self,
        session: &str,
        number: &str,
    ) -> Result<String, stripe_emulator::error::ApiError> {
        let result = self
            .app
            .write(|db| billing::complete_checkout(db, session, &card(number)));
        server::flush(&self.app).await;
        result
    }

    /// A product with a $60 monthly price and a metered $80 price on a `sum` meter:
    /// (monthly price, metered price, meter event name).
    pub async fn catalog(&self) -> (String, String, String) {
        let product = self.product("Pair%20Coding").await;
        let monthly = self
            .post(
                "/v1/prices",
                &format!("product={product}&currency=usd&unit_amount=6000&recurring[interval]=month&nickname=Monthly"),
            )
            .await
            .ok();
        let event_name = format!("paircode_{}", &product[5..]);
        let meter = self
            .post(
                "/v1/billing/meters",
                &format!(
                    "display_name=Sessions&event_name={event_name}&default_aggregation[formula]=sum&customer_mapping[type]=by_id&customer_mapping[event_payload_key]=stripe_customer_id"
                ),
            )
            .await
            .ok();
        let metered = self
            .post(
                "/v1/prices",
                &format!(
                    "product={product}&currency=usd&unit_amount=8000&recurring[interval]=month&recurring[usage_type]=metered&recurring[meter]={}",
                    meter["id"].as_str().unwrap()
                ),
            )
            .await
            .ok();
        (id(&monthly), id(&metered), event_name)
    }

    /// A subscription-mode session for one price; `extra` is appended to the form.
    pub async fn session(&self, price: &str, quantity: Option<u32>, extra: &str) -> Value {
        let q = quantity
            .map(|q| format!("&line_items[0][quantity]={q}"))
            .unwrap_or_default();
        self.post(
            "/v1/checkout/sessions",
            &format!(
                "mode=subscription&line_items[0][price]={price}{q}&success_url=https://app.test/done?session={{CHECKOUT_SESSION_ID}}&cancel_url=https://app.test/back{extra}"
            ),
        )
        .await
        .ok()
    }

    /// Creates a session, pays it with `number` and returns the subscription.
    pub async fn subscribe(
        &self,
        price: &str,
        quantity: Option<u32>,
        extra: &str,
        number: &str,
    ) -> Value {
        let s = self.session(price, quantity, extra).await;
        self.pay(&id(&s), number).await.unwrap();
        let s = self
            .get(&format!("/v1/checkout/sessions/{}", id(&s)))
            .await
            .ok();
        self.get(&format!(
            "/v1/subscriptions/{}",
            s["subscription"].as_str().unwrap()
        ))
        .await
        .ok()
    }

    /// Event types, oldest first.
    pub async fn event_types(&self) -> Vec<String> {
        let mut types = types(&self.get("/v1/events?limit=100").await.ok());
        types.reverse();
        types
    }

    /// Events of one type, newest first.
    pub async fn events(&self, kind: &str) -> Vec<Value> {
        let events = self
            .get(&format!("/v1/events?type={kind}&limit=100"))
            .await
            .ok();
        events["data"].as_array().unwrap().clone()
    }
}

/// The end of a subscription's current period (on its items, in the current API).
pub fn period_end(sub: &Value) -> i64 {
    sub["items"]["data"][0]["current_period_end"]
        .as_i64()
        .unwrap()
}

/// The id of a newly created object, after checking its prefix and `object` type.
pub fn new_id(obj: &Value, prefix: &str, object: &str) -> String {
    let id = id(obj);
    assert!(id.starts_with(prefix), "{obj}");
    assert_eq!(obj["object"], object);
    id
}

pub fn id(obj: &Value) -> String {
    obj["id"].as_str().unwrap().to_string()
}

/// Both deserializers async-stripe has must accept `body` as `T`: serde (the
/// `deserialize` feature) and miniserde (what its HTTP client uses).
pub fn parses_as<T>(body: &Value)
where
    T: serde::de::DeserializeOwned + miniserde::Deserialize,
{
    if let Err(e) = serde_json::from_value::<T>(body.clone()) {
        panic!(
            "serde cannot read {} as {}: {e}",
            body,
            std::any::type_name::<T>()
        );
    }
    if miniserde::json::from_str::<T>(&body.to_string()).is_err() {
        panic!(
            "miniserde cannot read {} as {}",
            body,
            std::any::type_name::<T>()
        );
    }
}

/// The ids of a list's `data`.
pub fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_string())
        .collect()
}

/// The `type`s of a list of events' `data`.
pub fn types(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn parses_as_rejects_incomplete_objects() {
    let incomplete = serde_json::json!({"id": "price_1", "object": "price"});
    let result = std::panic::catch_unwind(|| parses_as::<stripe_shared::Price>(&incomplete));
    assert!(
        result.is_err(),
        "a price without its required fields must not pass"
    );
}
