//! The stack over HTTP: `cargo lambda watch` serving the function binaries, the
//! webhook function served in process, and the official Stripe CLI forwarding the
//! emulator's events to it.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use devchat::api::App;
use lambda_http::Body;
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

use crate::{Route, SECRET_KEY, Stack, free_port, stack::spawn, wait_for, workspace_root};

/// The functions the watch tests call.
pub const FUNCTIONS: [&str; 4] = ["offerings", "signup", "get-user", "checkout"];

/// A running `cargo lambda watch`.
pub struct Watch {
    pub url: String,
    _process: Child,
}

impl Watch {
    pub(crate) async fn start(stack: &Stack) -> Watch {
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
            .args(["lambda", "watch", "--invoke-address", "127.0.0.1"])
            .args(["--invoke-port", &port.to_string(), "--ignore-changes"])
            .env("PATH", path)
            .envs(stack.env(stack.emulator.url(), &stack.dynamo, &url));
        let process = spawn(&mut command, &format!("watch-{port}"));
        // A path no function serves: watch answers it itself, without compiling anything.
        wait_for(&format!("{url}/_ready"), Duration::from_secs(120)).await;
        Watch {
            url,
            _process: process,
        }
    }
}

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

/// `POST /webhook` over HTTP on a free port (the raw body and headers become a
/// `lambda_http` request for the webhook handler, as `cargo lambda watch` does), with
/// the status of every answer recorded. It listens at once (so a Stripe webhook
/// endpoint can be registered, which gives the signing secret) and answers 503 until
/// [`WebhookServer::serve`] hands it the app.
pub struct WebhookServer {
    pub url: String,
    pub answers: Arc<Mutex<Vec<u16>>>,
    app: Arc<OnceLock<&'static App>>,
}

impl WebhookServer {
    pub async fn start() -> WebhookServer {
        use axum::{body::Bytes, http::HeaderMap, routing::post};
        let answers = Arc::new(Mutex::new(Vec::new()));
        let app = Arc::new(OnceLock::<&'static App>::new());
        let (recorded, handler_app) = (answers.clone(), app.clone());
        let router = axum::Router::new().route(
            "/webhook",
            post(move |headers: HeaderMap, body: Bytes| {
                let (recorded, app) = (recorded.clone(), handler_app.clone());
                async move {
                    let Some(app) = app.get().copied() else {
                        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new());
                    };
                    let mut req = http::Request::builder().method("POST").uri("/webhook");
                    for (name, value) in &headers {
                        req = req.header(name.as_str(), value.as_bytes());
                    }
                    let req = req.body(Body::Binary(body.to_vec())).expect("request");
                    let answer = Route::Webhook.call(app, req).await;
                    recorded.lock().expect("answers").push(answer.status);
                    (
                        axum::http::StatusCode::from_u16(answer.status).expect("status"),
                        answer.body.to_string(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let url = format!("http://{}/webhook", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, router).await.expect("webhook server") });
        WebhookServer { url, answers, app }
    }

    pub fn serve(&self, app: &'static App) {
        let _ = self.app.set(app);
    }

    /// How many deliveries were answered with a 5xx so far.
    pub fn failed(&self) -> usize {
        let answers = self.answers.lock().expect("answers");
        answers.iter().filter(|s| **s >= 500).count()
    }
}

/// The official Stripe CLI running `listen` against the emulator, in its own process
/// group (the npm shim starts the real binary as a child), stopped on drop.
pub struct Listen {
    pub server: WebhookServer,
    child: Child,
    output: Arc<Mutex<String>>,
    home: PathBuf,
}

impl Listen {
    /// `stripe listen` against `api_base`, forwarding the events we handle to `server`.
    pub async fn start(api_base: &str, server: WebhookServer) -> Listen {
        let cli = workspace_root().join("node_modules/.bin/stripe");
        assert!(
            cli.exists(),
            "the Stripe CLI is not installed at {}: `npm ci` (make test does)",
            cli.display()
        );
        let home = std::env::temp_dir().join(format!("stripe-cli-home-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&home).expect("CLI home");
        let events = devchat::stripe::webhook::HANDLED_EVENTS.join(",");
        let mut child = Command::new(cli)
            .args(["listen", "--api-key", SECRET_KEY, "--api-base", api_base])
            .args(["--events", &events])
            .args(["--forward-to", &server.url, "--skip-update"])
            .env("HOME", &home)
            .env("STRIPE_CLI_TELEMETRY_OPTOUT", "1")
            .env_remove("STRIPE_API_KEY")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("stripe listen");
        let output = Arc::new(Mutex::new(String::new()));
        let streams: [Box<dyn tokio::io::AsyncRead + Unpin + Send>; 2] = [
            Box::new(child.stdout.take().expect("stdout")),
            Box::new(child.stderr.take().expect("stderr")),
        ];
        for stream in streams {
            let output = output.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stream).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("[stripe listen] {line}");
                    output.lock().expect("output").push_str(&(line + "\n"));
                }
            });
        }
        let listen = Listen {
            server,
            child,
            output,
            home,
        };
        listen.wait_for("Ready!", Duration::from_secs(30)).await;
        listen
    }

    pub async fn wait_for(&self, text: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.output().contains(text) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "stripe listen did not print {text:?}; output:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn output(&self) -> String {
        self.output.lock().expect("output").clone()
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
            let _ = std::process::Command::new("kill")
                .args(["-s", "TERM", "--", &format!("-{pid}")])
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
