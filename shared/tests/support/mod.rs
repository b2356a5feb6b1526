//! Test harness: real components on free ports, nothing mocked.
//!
//! [`Stack::start`] starts moto server (DynamoDB, from the project's `.venv`) and the
//! Stripe emulator (the `stripe-emulator` crate, served in-process on a free port),
//! creates a fresh table, and gives
//! an in-process [`App`] wired to them. [`Stack::watch`] adds `cargo lambda watch` on a
//! free port for tests over HTTP. Every process is killed when its owner is dropped.
//! Use it from a test crate with `mod support;`.
#![allow(dead_code)]

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    sync::OnceLock,
    time::{Duration, Instant},
};

use devchat::{api::App, config::Config, store::DynamoStore, stripe::StripeClient};
use serde_json::Value;
use tokio::process::{Child, Command};

pub const SECRET_KEY: &str = "sk_test_devchat_tests";
pub const WEBHOOK_SECRET: &str = "whsec_devchat_local_emulator_secret";
pub const TABLE: &str = "devchat-test";
pub const CHALLENGE_ID: &str = "test";
pub const SESSION_SECRET: &str = "devchat-test-session-secret-0123456789";

/// The `Cookie` header of a browser signed in as `user_id` (what `POST /users` set).
/// Requests built here for a `user_id` carry it, so tests about other things act as
/// the user they name; the hardening suites test sessions themselves.
pub fn session_cookie(user_id: &str) -> String {
    let set_cookie =
        devchat::session::cookie(SESSION_SECRET, user_id, devchat::session::now(), false)
            .expect("session cookie");
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `target/debug`, from where this test binary runs (`target/debug/deps/…`).
pub fn target_debug() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/debug")
        .to_path_buf()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The functions the watch tests call.
pub const FUNCTIONS: [&str; 4] = ["offerings", "signup", "get-user", "checkout"];

/// Builds the function binaries `cargo lambda watch` runs, once per test process, each
/// the way watch does (`cargo run --bin NAME`: features resolved for that package alone),
/// so watch finds them fresh. A no-op when `make test` built them first.
fn build_functions() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        for function in FUNCTIONS {
            let status = std::process::Command::new(env!("CARGO"))
                .current_dir(workspace_root())
                .args(["build", "--bin", function])
                .status()
                .expect("cargo build");
            assert!(status.success(), "building {function} failed");
        }
    });
}

fn spawn(command: &mut Command, log: &str) -> Child {
    let log_dir = target_debug().join("test-logs");
    std::fs::create_dir_all(&log_dir).expect("log dir");
    let file = std::fs::File::create(log_dir.join(log)).expect("log file");
    let err = file.try_clone().expect("log file");
    command
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {log}: {e}"))
}

/// Waits until `url` answers at all (any status).
pub async fn wait_for(url: &str, timeout: Duration) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if client
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_ok()
        {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "{url} did not answer within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// moto server and the Stripe emulator, with a fresh table.
pub struct Stack {
    pub emulator: String,
    pub dynamo: String,
    pub config: Config,
    pub http: reqwest::Client,
    moto: Child,
    emulator_task: tokio::task::JoinHandle<()>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.emulator_task.abort();
    }
}

impl Stack {
    pub async fn start() -> Stack {
        let (moto_port, emulator_port) = (free_port(), free_port());
        let moto = spawn(
            Command::new(workspace_root().join(".venv/bin/moto_server")).args([
                "-H",
                "127.0.0.1",
                "-p",
                &moto_port.to_string(),
            ]),
            &format!("moto-{moto_port}.log"),
        );
        let emulator_config = stripe_emulator::Config {
            public_url: format!("http://127.0.0.1:{emulator_port}"),
            webhook_secret: WEBHOOK_SECRET.into(),
            data: None,
            checkout_confirm_delay_ms: 0,
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], emulator_port));
        let emulator_task = tokio::spawn(async move {
            if let Err(err) = stripe_emulator::serve(addr, emulator_config, |_| {}).await {
                panic!("the emulator stopped: {err}");
            }
        });
        let emulator = format!("http://127.0.0.1:{emulator_port}");
        let dynamo = format!("http://127.0.0.1:{moto_port}");
        wait_for(
            &format!("{emulator}/_emulator/health"),
            Duration::from_secs(30),
        )
        .await;
        wait_for(&format!("{dynamo}/"), Duration::from_secs(60)).await;
        let config = Config::from_lookup(|name| {
            Some(match name {
                "STRIPE_SECRET_KEY" => SECRET_KEY.to_owned(),
                "STRIPE_API_BASE" => emulator.clone(),
                "STRIPE_WEBHOOK_SECRET" => WEBHOOK_SECRET.to_owned(),
                "CHALLENGE_ID" => CHALLENGE_ID.to_owned(),
                "APP_URL" => "http://127.0.0.1:9000".to_owned(),
                "TABLE_NAME" => TABLE.to_owned(),
                "SESSION_SECRET" => SESSION_SECRET.to_owned(),
                _ => return None,
            })
        })
        .expect("test config");
        let stack = Stack {
            emulator,
            dynamo,
            config,
            http: reqwest::Client::new(),
            moto,
            emulator_task,
        };
        stack
            .store()
            .ensure_table()
            .await
            .expect("creating the table");
        stack
    }

    /// A store on this stack's moto server, configured explicitly (no process env).
    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(DynamoStore::local_client(&self.dynamo).unwrap(), TABLE)
    }

    /// The in-process app every handler borrows.
    pub fn app(&self) -> App {
        App {
            config: self.config.clone(),
            stripe: StripeClient::new(&self.config).expect("client"),
            store: self.store(),
        }
    }

    /// The environment the function binaries get (as `make up` sets it).
    pub fn env(&self, app_url: &str) -> Vec<(&'static str, String)> {
        vec![
            ("STRIPE_SECRET_KEY", SECRET_KEY.into()),
            ("STRIPE_API_BASE", self.emulator.clone()),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
            ("CHALLENGE_ID", CHALLENGE_ID.into()),
            ("APP_URL", app_url.into()),
            ("TABLE_NAME", TABLE.into()),
            ("SESSION_SECRET", SESSION_SECRET.into()),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamo.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }

    /// `cargo lambda watch` on a free port, serving every route with this stack's env.
    pub async fn watch(&self) -> Watch {
        build_functions();
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let venv_bin = workspace_root().join(".venv/bin");
        let path = format!(
            "{}:{}",
            venv_bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new(env!("CARGO"));
        command
            .current_dir(workspace_root())
            .args([
                "lambda",
                "watch",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port.to_string(),
                "--ignore-changes",
            ])
            .env("PATH", path)
            .envs(self.env(&url));
        let process = spawn(&mut command, &format!("watch-{port}.log"));
        // A path no function serves: watch answers it itself, without compiling anything.
        wait_for(&format!("{url}/_ready"), Duration::from_secs(120)).await;
        Watch { url, process }
    }

    pub async fn stripe_get(&self, path_and_query: &str) -> Value {
        self.http
            .get(format!("{}/v1{path_and_query}", self.emulator))
            .bearer_auth(SECRET_KEY)
            .send()
            .await
            .expect("emulator")
            .json()
            .await
            .expect("emulator JSON")
    }

    pub async fn stripe_post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        self.http
            .post(format!("{}/v1{path}", self.emulator))
            .bearer_auth(SECRET_KEY)
            .form(form)
            .send()
            .await
            .expect("emulator")
            .json()
            .await
            .expect("emulator JSON")
    }

    /// The emulator's request log: `{method, path, params, status, idempotency_key, …}`.
    pub async fn requests(&self) -> Vec<Value> {
        let log: Value = self
            .http
            .get(format!("{}/_emulator/requests", self.emulator))
            .send()
            .await
            .expect("emulator")
            .json()
            .await
            .expect("request log");
        log["data"].as_array().cloned().unwrap_or_default()
    }

    pub async fn clear_requests(&self) {
        self.http
            .delete(format!("{}/_emulator/requests", self.emulator))
            .send()
            .await
            .expect("emulator");
    }

    /// Pays a Checkout Session on the emulator's hosted page with `card`, as a
    /// customer would; returns where the page redirects (the success URL).
    pub async fn pay_checkout(&self, checkout_url: &str, card: &str) -> String {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let page = client
            .get(checkout_url)
            .send()
            .await
            .expect("checkout page");
        assert!(
            page.status().is_success(),
            "checkout page: {}",
            page.status()
        );
        let answer = client
            .post(checkout_url)
            .form(&[
                ("email", "payer@example.com"),
                ("cardNumber", card),
                ("cardExpiry", "12 / 34"),
                ("cardCvc", "123"),
                ("billingName", "Ada Lovelace"),
                ("billingCountry", "US"),
                ("billingPostalCode", "94110"),
            ])
            .send()
            .await
            .expect("paying");
        let status = answer.status();
        let location = answer
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let body = answer.text().await.unwrap_or_default();
        location.unwrap_or_else(|| panic!("paying did not redirect ({status}): {body:.400}"))
    }
}

/// A running `cargo lambda watch`.
pub struct Watch {
    pub url: String,
    process: Child,
}

/// Builds a `lambda_http` request as API Gateway would hand it to a function.
pub fn request(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&str>,
) -> lambda_http::Request {
    use lambda_http::RequestExt;
    let request = http::Request::builder()
        .method(method)
        .uri(format!("https://api.example.com{path}"))
        .header("content-type", "application/json")
        .header(
            "cookie",
            query
                .iter()
                .find(|(name, _)| *name == "user_id")
                .map(|(_, id)| session_cookie(id))
                .unwrap_or_default(),
        )
        .body(
            body.map(|b| lambda_http::Body::from(b.to_owned()))
                .unwrap_or_default(),
        )
        .expect("request");
    let params: std::collections::HashMap<String, String> = query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    request.with_query_string_parameters(params)
}

/// A response's status and JSON body.
pub fn parts(response: devchat::http::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(Value::Null);
    (status, body)
}
