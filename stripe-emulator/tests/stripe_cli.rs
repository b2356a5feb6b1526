//! The official Stripe CLI (npm `@stripe/cli`, installed by `npm ci`) run with
//! `listen` against the emulator: it connects, prints the emulator's signing
//! secret, and forwards emulator events to a local HTTP server with a signature
//! that async-stripe's webhook crate accepts.

use std::{
    path::PathBuf,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, extract::State, http::HeaderMap, routing::post};
use serde_json::Value;
use stripe_emulator::{App, Config, state::Db};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, BufReader},
    net::TcpListener,
    process::Command,
    sync::mpsc,
};

const SECRET: &str = "whsec_cli_listen_test_secret";
const API_KEY: &str = "sk_test_emulator_cli_listen";

/// `node_modules/.bin/stripe` of the workspace; failing (not skipping) without it.
fn stripe_cli() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../node_modules/.bin/stripe");
    assert!(
        path.exists(),
        "the Stripe CLI is not installed at {}: run `npm ci` in the workspace root (make test does)",
        path.display()
    );
    path
}

async fn start_emulator() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let config = Config {
        public_url: base.clone(),
        webhook_secret: SECRET.to_string(),
        data: None,
        checkout_confirm_delay_ms: 0,
    };
    let router = stripe_emulator::server::router(App::new(config, Db::default()));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// A webhook receiver: every POST's `Stripe-Signature` and body, answered 200.
async fn start_sink() -> (String, mpsc::UnboundedReceiver<(String, String)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let router = Router::new()
        .route(
            "/webhook",
            post(
                |State(tx): State<mpsc::UnboundedSender<(String, String)>>,
                 headers: HeaderMap,
                 body: String| async move {
                    let sig = headers
                        .get("stripe-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send((sig, body));
                    "ok"
                },
            ),
        )
        .with_state(tx);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, rx)
}

/// The CLI in its own process group (the npm shim starts the real binary as a
/// child), with a throwaway HOME so it writes no config, and no telemetry.
struct Cli {
    child: tokio::process::Child,
    output: Arc<Mutex<String>>,
    _home: TempDir,
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("stripe-cli-home-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cli_command(home: &TempDir, args: &[&str]) -> Command {
    let mut cmd = Command::new(stripe_cli());
    cmd.args(args)
        .env("HOME", &home.0)
        .env("STRIPE_CLI_TELEMETRY_OPTOUT", "1")
        .env_remove("STRIPE_API_KEY")
        .env_remove("STRIPE_DEVICE_NAME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    cmd
}

fn collect(stream: impl AsyncRead + Unpin + Send + 'static, output: Arc<Mutex<String>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            eprintln!("[stripe listen] {line}");
            output.lock().unwrap().push_str(&(line + "\n"));
        }
    });
}

impl Cli {
    fn listen(api_base: &str, forward_to: &str) -> Self {
        let home = TempDir::new();
        let mut child = cli_command(
            &home,
            &[
                "listen",
                "--api-key",
                API_KEY,
                "--api-base",
                api_base,
                "--events",
                "customer.created",
                "--forward-to",
                forward_to,
                "--skip-update",
            ],
        )
        .spawn()
        .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        collect(child.stdout.take().unwrap(), output.clone());
        collect(child.stderr.take().unwrap(), output.clone());
        Self {
            child,
            output,
            _home: home,
        }
    }

    async fn wait_for(&self, text: &str, timeout: Duration) {
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
}

impl Drop for Cli {
    fn drop(&mut self) {
        // The whole group: the npm shim and the CLI binary it started.
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-s", "TERM", "--", &format!("-{pid}")])
                .status();
        }
    }
}

async fn create_customer(base: &str, email: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/customers"))
        .bearer_auth(API_KEY)
        .form(&[("email", email)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Waits until the `customer.created` events of `customer_ids` have all been
/// forwarded, verifying every delivery's signature with async-stripe's webhook
/// crate, and failing on any event delivered twice.
async fn receive(
    rx: &mut mpsc::UnboundedReceiver<(String, String)>,
    customer_ids: &[&str],
) -> Vec<stripe_webhook::Event> {
    let mut seen: Vec<String> = Vec::new();
    let mut events = Vec::new();
    while !customer_ids.iter().all(|id| seen.iter().any(|s| s == id)) {
        let (sig, payload) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("not forwarded: {customer_ids:?} (got {seen:?})"))
            .unwrap();
        let event = stripe_webhook::Webhook::construct_event(&payload, &sig, SECRET)
            .unwrap_or_else(|e| panic!("forwarded event does not verify: {e:?}\n{payload}"));
        let json: Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(json["type"], "customer.created");
        let id = json["data"]["object"]["id"].as_str().unwrap().to_string();
        assert!(!seen.contains(&id), "{id} was forwarded twice");
        seen.push(id);
        events.push(event);
    }
    events
}

#[tokio::test]
async fn print_secret_prints_the_emulators_signing_secret() {
    let base = start_emulator().await;
    let home = TempDir::new();
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        cli_command(
            &home,
            &[
                "listen",
                "--print-secret",
                "--api-key",
                API_KEY,
                "--api-base",
                &base,
                "--skip-update",
            ],
        )
        .output(),
    )
    .await
    .expect("stripe listen --print-secret did not exit")
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), SECRET);
}

#[tokio::test]
async fn listen_forwards_signed_events_across_reconnects() {
    let base = start_emulator().await;
    let (sink, mut rx) = start_sink().await;
    let cli = Cli::listen(&base, &sink);
    cli.wait_for("Ready!", Duration::from_secs(30)).await;
    cli.wait_for(SECRET, Duration::from_secs(1)).await;

    let customer = create_customer(&base, "cli-listen@example.com").await;
    let id = customer["id"].as_str().unwrap();
    let events = receive(&mut rx, &[id]).await;
    assert_eq!(events[0].type_, stripe_webhook::EventType::CustomerCreated);
    cli.wait_for("<--  [200] POST", Duration::from_secs(5))
        .await;

    // The CLI resets its websocket every few seconds (`reconnect_delay`): events
    // emitted meanwhile arrive once each, none lost and none repeated.
    let mut ids = Vec::new();
    for i in 0..4 {
        tokio::time::sleep(Duration::from_millis(1700)).await;
        let customer = create_customer(&base, &format!("cli-listen-{i}@example.com")).await;
        ids.push(customer["id"].as_str().unwrap().to_string());
    }
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    receive(&mut rx, &ids).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(rx.try_recv().is_err(), "an event was forwarded twice");
}
