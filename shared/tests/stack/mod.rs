//! A real local stack for the Milestone 2 and 3 tests, one per test so they run in
//! parallel: the Stripe emulator (in-process, free port), moto server (its own
//! process, free port, killed on drop), the app's [`App`] wired to both with the
//! catalog provisioned, the function handlers served over HTTP (lambda_http
//! requests, as `cargo lambda watch` builds them), and the official Stripe CLI
//! (`stripe listen`) forwarding the emulator's events to `/webhook`.
#![allow(dead_code)]

use std::{
    collections::HashMap,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use devchat::{
    api::App,
    config::Config,
    http::{Request, Response},
    model::{Catalog, User},
    store::{DynamoStore, Store},
    stripe::StripeClient,
};
use lambda_http::{Body, RequestExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

pub const API_KEY: &str = "sk_test_devchat_milestones";
pub const APP_URL: &str = "http://127.0.0.1:9000";
/// Signs the test sessions; [`request`] signs in as the user a request names.
pub const SESSION_SECRET: &str = "devchat-test-session-secret-0123456789";
pub const CARD_OK: &str = "4242 4242 4242 4242";
/// Attaches fine, every charge fails.
pub const CARD_CHARGE_FAILS: &str = "4000 0000 0000 0341";

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not start listening on port {port}");
}

/// moto server, stopped when dropped.
struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_moto() -> (Moto, String) {
    let bin = workspace().join(".venv/bin/moto_server");
    assert!(
        bin.exists(),
        "moto server is not installed at {}: `make test` installs it",
        bin.display()
    );
    let port = free_port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let moto = Moto(child);
    wait_for_port(port, "moto server").await;
    (moto, format!("http://127.0.0.1:{port}"))
}

async fn start_emulator(secret: &str) -> String {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let config = stripe_emulator::Config {
        public_url: String::new(),
        webhook_secret: secret.into(),
        data: None,
        checkout_confirm_delay_ms: 0,
    };
    // The hosted pages link to `public_url`: bind first to know it.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = stripe_emulator::Config {
        public_url: base.clone(),
        ..config
    };
    tokio::spawn(async move {
        stripe_emulator::serve(([127, 0, 0, 1], port).into(), config, |_| {
            let _ = tx.send(());
        })
        .await
        .unwrap()
    });
    rx.await.unwrap();
    base
}

/// A DynamoDB client for `endpoint` with dummy credentials: nothing leaves the machine.
pub fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    DynamoStore::local_client(endpoint).unwrap()
}

pub struct Stack {
    pub app: &'static App,
    pub emulator: String,
    pub secret: String,
    pub catalog: Catalog,
    pub http: reqwest::Client,
    moto: Option<Moto>,
}

impl Stack {
    pub async fn start() -> Stack {
        let _ = rustls::crypto::ring::default_provider().install_default();
        devchat::telemetry::init();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let secret = format!("whsec_{id}");
        let emulator = start_emulator(&secret).await;
        let (moto, moto_url) = start_moto().await;
        let vars: HashMap<&str, String> = HashMap::from([
            ("STRIPE_SECRET_KEY", API_KEY.to_string()),
            ("STRIPE_API_BASE", emulator.clone()),
            ("STRIPE_WEBHOOK_SECRET", secret.clone()),
            ("CHALLENGE_ID", format!("t{}", &id[..10])),
            ("APP_URL", APP_URL.to_string()),
            ("TABLE_NAME", "devchat-test".to_string()),
            ("SESSION_SECRET", SESSION_SECRET.to_string()),
        ]);
        let config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
        let store = DynamoStore::new(dynamo_client(&moto_url), &config.table_name);
        store.ensure_table().await.unwrap();
        let stripe = StripeClient::new(&config).unwrap();
        let app: &'static App = Box::leak(Box::new(App {
            config,
            stripe,
            store,
        }));
        let catalog = devchat::catalog::provision(&app.stripe, &app.store, &app.config)
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Stack {
            app,
            emulator,
            secret,
            catalog,
            http,
            moto: Some(moto),
        }
    }

    /// Stops moto server: every store call fails from now on.
    pub fn stop_database(&mut self) {
        self.moto = None;
    }

    // Stripe, as the test sees it (straight to the emulator).

    pub async fn stripe_get(&self, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.emulator))
            .bearer_auth(API_KEY)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    pub async fn stripe_post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.emulator))
            .bearer_auth(API_KEY)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    pub async fn advance_clock(&self, seconds: i64) -> i64 {
        let response = self
            .http
            .post(format!("{}/_emulator/clock/advance", self.emulator))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.json::<Value>().await.unwrap()["now"]
            .as_i64()
            .unwrap()
    }

    pub async fn stripe_now(&self) -> i64 {
        let clock: Value = self
            .http
            .get(format!("{}/_emulator/clock", self.emulator))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        clock["now"]
            .as_i64()
            .unwrap_or_else(|| panic!("clock: {clock}"))
    }

    /// The meter's total for `customer` over the whole day around now.
    pub async fn meter_total(&self, customer: &str) -> i64 {
        let now = self.stripe_now().await;
        let start = (now - 86_400) / 3_600 * 3_600;
        let end = (now + 7_200) / 3_600 * 3_600;
        let summaries = self
            .stripe_get(&format!(
                "/v1/billing/meters/{}/event_summaries?customer={customer}&start_time={start}&end_time={end}",
                self.catalog.meter_id
            ))
            .await;
        summaries["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["aggregated_value"].as_f64().unwrap() as i64)
            .sum()
    }

    // The app, through its handlers.

    pub async fn user(&self, id: &str) -> User {
        self.app.store.get_user(id).await.unwrap().unwrap()
    }

    pub async fn sign_up(&self, email: &str) -> User {
        let (status, body) = call(
            devchat::api::signup::handle(
                self.app,
                request(
                    "POST",
                    "/users",
                    &[],
                    &[],
                    &json!({ "email": email }).to_string(),
                ),
            )
            .await,
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body).unwrap()
    }

    /// Subscribes a new user to `price` through the hosted Checkout page paid with
    /// `card`, then records it as the success redirect does (`GET /users?session_id=`).
    pub async fn subscribe(&self, email: &str, price: &str, card: &str) -> User {
        let user = self.sign_up(email).await;
        let body = json!({ "price": price }).to_string();
        let (status, checkout) = call(
            devchat::api::checkout::handle(
                self.app,
                request(
                    "POST",
                    "/offerings/paircode",
                    &[("user_id", &user.id)],
                    &[],
                    &body,
                ),
            )
            .await,
        );
        assert_eq!(status, 200, "{checkout}");
        let url = checkout["url"].as_str().unwrap();
        let session_id = self.pay(url, card).await;
        let query = [
            ("user_id", user.id.as_str()),
            ("session_id", session_id.as_str()),
        ];
        let (status, body) = call(
            devchat::api::get_user::handle(self.app, request("GET", "/users", &query, &[], ""))
                .await,
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_value(body["user"].clone()).unwrap()
    }

    /// Pays on the hosted Checkout page (POSTs its form); the Checkout Session id.
    pub async fn pay(&self, url: &str, card: &str) -> String {
        let form = [
            ("cardNumber", card),
            ("cardExpiry", "12 / 34"),
            ("cardCvc", "123"),
            ("billingName", "Test Person"),
            ("billingCountry", "US"),
            ("billingPostalCode", "10001"),
        ];
        let response = self.http.post(url).form(&form).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "checkout page answered {}",
            response.status()
        );
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let session_id = location
            .split("session_id=")
            .nth(1)
            .unwrap_or_else(|| panic!("redirect {location}"));
        session_id.split('&').next().unwrap().to_string()
    }

    /// Waits until the user's stored subscription has `status`; fails after `timeout`.
    pub async fn wait_for_status(&self, user_id: &str, status: &str, timeout: Duration) -> User {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let user = self.user(user_id).await;
            if user
                .subscription
                .as_ref()
                .is_some_and(|s| s.status == status)
            {
                return user;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{status:?} not recorded within {timeout:?}: {user:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Serves the webhook function over HTTP (request → lambda_http → handler) and
    /// starts `stripe listen` forwarding the emulator's events to it.
    pub async fn listen(&self) -> Listen {
        let url = serve_webhook(self.app).await;
        Listen::start(&self.emulator, &format!("{url}/webhook")).await
    }
}

/// A lambda_http request, as API Gateway (or `cargo lambda watch`) hands it over.
pub fn request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &str,
) -> Request {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    // A browser signed in as the user the request names (what `POST /users` set).
    if let Some((_, user_id)) = query.iter().find(|(name, _)| *name == "user_id") {
        let set_cookie =
            devchat::session::cookie(SESSION_SECRET, user_id, devchat::session::now(), false)
                .unwrap();
        builder = builder.header("cookie", set_cookie.split(';').next().unwrap());
    }
    let body = if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body.to_string())
    };
    let query: HashMap<String, String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    builder
        .body(body)
        .unwrap()
        .with_query_string_parameters(query)
}

/// A handler's result as the client sees it: status and JSON body.
pub fn call(result: devchat::Result<Response>) -> (u16, Value) {
    let response = devchat::http::finish(result);
    let status = response.status().as_u16();
    let bytes: &[u8] = response.body().as_ref();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap()
    };
    (status, body)
}

/// `POST /webhook` over HTTP on a free port: the raw body and headers become a
/// lambda_http request for the webhook function's handler.
async fn serve_webhook(app: &'static App) -> String {
    use axum::{body::Bytes, http::HeaderMap, response::IntoResponse, routing::post};
    let router = axum::Router::new().route(
        "/webhook",
        post(move |headers: HeaderMap, body: Bytes| async move {
            let mut req = http::Request::builder().method("POST").uri("/webhook");
            for (name, value) in &headers {
                req = req.header(name, value);
            }
            let req = req.body(Body::Binary(body.to_vec())).unwrap();
            let response = devchat::http::finish(devchat::api::webhook::handle(app, req).await);
            let status = axum::http::StatusCode::from_u16(response.status().as_u16()).unwrap();
            let body: Vec<u8> = response.body().as_ref().to_vec();
            (status, body).into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// The events `POST /webhook` acts on (the CLI requires a list).
const WEBHOOK_EVENTS: &str = "customer.subscription.created,customer.subscription.updated,customer.subscription.deleted,checkout.session.completed,invoice.payment_failed";

/// The official Stripe CLI running `listen` against the emulator, in its own process
/// group (the npm shim starts the real binary as a child), stopped on drop.
pub struct Listen {
    child: tokio::process::Child,
    output: Arc<Mutex<String>>,
    home: PathBuf,
}

impl Listen {
    async fn start(api_base: &str, forward_to: &str) -> Listen {
        let cli = workspace().join("node_modules/.bin/stripe");
        assert!(
            cli.exists(),
            "the Stripe CLI is not installed at {}: `npm ci` (make test does)",
            cli.display()
        );
        let home = std::env::temp_dir().join(format!("stripe-cli-home-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&home).unwrap();
        let mut child = tokio::process::Command::new(cli)
            .args([
                "listen",
                "--api-key",
                API_KEY,
                "--api-base",
                api_base,
                "--events",
                WEBHOOK_EVENTS,
            ])
            .args(["--forward-to", forward_to, "--skip-update"])
            .env("HOME", &home)
            .env("STRIPE_CLI_TELEMETRY_OPTOUT", "1")
            .env_remove("STRIPE_API_KEY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("[stripe listen] {line}");
                    output.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        let listen = Listen {
            child,
            output,
            home,
        };
        listen.wait_for("Ready!", Duration::from_secs(30)).await;
        listen
    }

    pub async fn wait_for(&self, text: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.output.lock().unwrap().contains(text) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "stripe listen did not print {text:?}; output:\n{}",
                self.output.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Every forwarded event so far was answered 2xx (none refused, none failed).
    pub fn assert_all_acknowledged(&self) {
        let output = self.output();
        let answers: Vec<&str> = output.lines().filter(|l| l.contains("<--  [")).collect();
        assert!(!answers.is_empty(), "nothing was forwarded:\n{output}");
        for line in answers {
            assert!(
                line.contains("<--  [20"),
                "a forwarded event was not acknowledged: {line}\n{output}"
            );
        }
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-s", "TERM", "--", &format!("-{pid}")])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
