//! An emulator started in-process on a free port, and a small Stripe-speaking client.

use std::net::SocketAddr;

use serde_json::Value;
use stripe_emulator::Config;

pub const KEY: &str = "sk_test_emulator_tests";

pub struct Emu {
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

impl Emu {
    pub async fn start() -> Emu {
        Self::start_with(None).await
    }

    /// Starts on a `--data` file (to begin from a prepared state).
    pub async fn start_with(data: Option<std::path::PathBuf>) -> Emu {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let base = format!("http://{addr}");
        let config = Config {
            public_url: base.clone(),
            webhook_secret: "whsec_test_listen".into(),
            data,
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            stripe_emulator::serve(addr, config, move |bound| {
                let _ = tx.send(bound);
            })
            .await
            .unwrap();
        });
        rx.await.unwrap();
        Emu {
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
            .request(method, format!("{}{path}", self.base))
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
        let p = self
            .post("/v1/products", &format!("name={name}"))
            .await
            .ok();
        p["id"].as_str().unwrap().to_string()
    }

    /// Creates a customer and returns its id.
    pub async fn customer(&self, email: &str) -> String {
        let c = self
            .post("/v1/customers", &format!("email={email}"))
            .await
            .ok();
        c["id"].as_str().unwrap().to_string()
    }

    /// Creates a `sum` meter for `event_name` and returns its id.
    pub async fn meter(&self, event_name: &str) -> String {
        let m = self
            .post(
                "/v1/billing/meters",
                &format!(
                    "display_name=Usage&event_name={event_name}&default_aggregation[formula]=sum"
                ),
            )
            .await
            .ok();
        m["id"].as_str().unwrap().to_string()
    }
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

#[test]
fn parses_as_rejects_incomplete_objects() {
    let incomplete = serde_json::json!({"id": "price_1", "object": "price"});
    let result = std::panic::catch_unwind(|| parses_as::<stripe_shared::Price>(&incomplete));
    assert!(
        result.is_err(),
        "a price without its required fields must not pass"
    );
}
