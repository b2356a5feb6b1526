//! A client for what the emulator has and Stripe does not: its `/_emulator/*` controls
//! (clock, faults, request log, state, reset) and its hosted Checkout form. Test
//! harnesses and the bench drive the emulator through this, so only the emulator knows
//! its own routes and form fields.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What a control call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("the emulator at {0}: {1}")]
    Http(String, reqwest::Error),
    #[error("{what}: the emulator answered {status}: {body:.400}")]
    Refused {
        what: String,
        status: u16,
        body: String,
    },
    #[error("{0} did not answer within {1:?}")]
    Timeout(String, Duration),
}

pub type ControlResult<T> = Result<T, ControlError>;

/// A card typed into the hosted Checkout form (the number as a customer types it).
#[derive(Debug, Clone, Copy)]
pub struct Card<'a> {
    pub number: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub country: &'a str,
    pub postal_code: &'a str,
}

impl<'a> Card<'a> {
    /// `number` with a valid expiry and CVC, an email (used when the page asks for
    /// one) and a US billing address.
    pub fn new(number: &'a str) -> Self {
        Card {
            number,
            email: "payer@example.com",
            name: "Ada Lovelace",
            country: "US",
            postal_code: "94110",
        }
    }
}

/// Succeeds.
pub const CARD_OK: &str = "4242 4242 4242 4242";
/// Attaches fine, every charge fails.
pub const CARD_CHARGE_FAILS: &str = "4000 0000 0000 0341";

/// Where the hosted Checkout page sent the customer after paying.
#[derive(Debug, Clone)]
pub struct Paid {
    /// The `Location` of the redirect (the session's success URL).
    pub location: String,
}

impl Paid {
    /// The Checkout Session id, when the success URL carries `{CHECKOUT_SESSION_ID}`.
    pub fn session_id(&self) -> Option<&str> {
        let rest = self.location.split("session_id=").nth(1)?;
        rest.split('&').next()
    }
}

/// The emulator at `url`, seen from outside.
#[derive(Debug, Clone)]
pub struct Control {
    url: String,
    http: reqwest::Client,
}

impl Control {
    pub fn new(url: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Control {
            url: url.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The emulator's base URL (its API is under `/v1`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Waits until the emulator answers its health check.
    pub async fn ready(&self, timeout: Duration) -> ControlResult<()> {
        let url = self.control("health");
        let start = Instant::now();
        loop {
            if self.http.get(&url).send().await.is_ok() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(ControlError::Timeout(url, timeout));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Pays on the hosted Checkout page at `checkout_url` (the session's `url`) by
    /// posting its form, as a browser without scripts does.
    pub async fn pay(&self, checkout_url: &str, card: Card<'_>) -> ControlResult<Paid> {
        let form = [
            ("email", card.email),
            ("cardNumber", card.number),
            ("cardExpiry", "12 / 34"),
            ("cardCvc", "123"),
            ("billingName", card.name),
            ("billingCountry", card.country),
            ("billingPostalCode", card.postal_code),
        ];
        let answer = self
            .http
            .post(checkout_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| ControlError::Http(checkout_url.to_owned(), e))?;
        let status = answer.status();
        let location = answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        match location {
            Some(location) if status.is_redirection() => Ok(Paid { location }),
            _ => Err(ControlError::Refused {
                what: format!("paying at {checkout_url}"),
                status: status.as_u16(),
                body: answer.text().await.unwrap_or_default(),
            }),
        }
    }

    /// Pays the Checkout Session `id` on its hosted page.
    pub async fn pay_session(&self, id: &str, card: Card<'_>) -> ControlResult<Paid> {
        self.pay(&format!("{}/c/pay/{id}", self.url), card).await
    }

    /// The emulator's clock (Unix seconds).
    pub async fn now(&self) -> ControlResult<i64> {
        let clock = self.send(self.http.get(self.control("clock"))).await?;
        Ok(clock["now"].as_i64().unwrap_or_default())
    }

    /// Moves the clock forward by `seconds` and runs what came due (trial ends,
    /// renewals); the new time.
    pub async fn advance(&self, seconds: i64) -> ControlResult<i64> {
        let request = self
            .http
            .post(self.control("clock/advance"))
            .json(&json!({ "seconds": seconds }));
        Ok(self.send(request).await?["now"]
            .as_i64()
            .unwrap_or_default())
    }

    /// Injects a fault: `{"path_prefix", "method", "status", "count", "delay_ms", "drop"}`
    /// (see the README's "Stripe emulator" section).
    pub async fn inject(&self, fault: &Value) -> ControlResult<()> {
        let request = self.http.post(self.control("faults")).json(fault);
        self.send(request).await.map(drop)
    }

    /// The faults not yet spent.
    pub async fn faults(&self) -> ControlResult<Vec<Value>> {
        let faults = self.send(self.http.get(self.control("faults"))).await?;
        Ok(faults["data"].as_array().cloned().unwrap_or_default())
    }

    pub async fn clear_faults(&self) -> ControlResult<()> {
        let request = self.http.delete(self.control("faults"));
        self.send(request).await.map(drop)
    }

    /// Every request the emulator has logged: `{method, path, params, status, idempotency_key, …}`.
    pub async fn requests(&self) -> ControlResult<Vec<Value>> {
        let log = self.send(self.http.get(self.control("requests"))).await?;
        Ok(log["data"].as_array().cloned().unwrap_or_default())
    }

    /// The API calls (`/v1/…`) the emulator has logged.
    pub async fn api_requests(&self) -> ControlResult<Vec<Value>> {
        let mut log = self.requests().await?;
        log.retain(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v1/")));
        Ok(log)
    }

    /// The logged API writes (every method but GET).
    pub async fn writes(&self) -> ControlResult<Vec<Value>> {
        let mut log = self.requests().await?;
        log.retain(|r| r["method"] != "GET");
        Ok(log)
    }

    pub async fn clear_requests(&self) -> ControlResult<()> {
        let request = self.http.delete(self.control("requests"));
        self.send(request).await.map(drop)
    }

    /// The emulator's whole state, as it saves it.
    pub async fn state(&self) -> ControlResult<Value> {
        self.send(self.http.get(self.control("state"))).await
    }

    /// How many objects of `kind` (`customer`, `checkout.session`, …) the emulator holds.
    pub async fn count(&self, kind: &str) -> ControlResult<usize> {
        Ok(self.state().await?["order"][kind]
            .as_array()
            .map_or(0, Vec::len))
    }

    /// Forgets every object, the request log and the faults.
    pub async fn reset(&self) -> ControlResult<()> {
        self.send(self.http.post(self.control("reset")))
            .await
            .map(drop)
    }

    fn control(&self, route: &str) -> String {
        format!("{}/_emulator/{route}", self.url)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> ControlResult<Value> {
        let what = request
            .try_clone()
            .and_then(|r| r.build().ok())
            .map(|r| format!("{} {}", r.method(), r.url()))
            .unwrap_or_default();
        let answer = request
            .send()
            .await
            .map_err(|e| ControlError::Http(self.url.clone(), e))?;
        let status = answer.status();
        let body = answer.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(ControlError::Refused {
                what,
                status: status.as_u16(),
                body,
            });
        }
        Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
    }
}
