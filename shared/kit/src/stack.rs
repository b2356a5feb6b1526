//! moto server and the Stripe emulator on free ports, a fresh table, and the app
//! wired to them.

use std::{collections::HashMap, path::PathBuf, process::Stdio, time::Duration};

use aws_sdk_dynamodb::types::AttributeValue;
use devchat::{
    api::App,
    config::Config,
    mail::SesMailer,
    model::{Catalog, User},
    store::{DynamoStore, Store},
    stripe::StripeClient,
};
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::{
    CHALLENGE_ID, Control, FROM_EMAIL, Listen, SECRET_KEY, SESSION_SECRET, TABLE, WEBHOOK_SECRET,
    Watch, WebhookServer, free_port, wait_for, workspace_root,
};

/// Where the Stripe emulator runs.
#[derive(Debug, Clone, Default)]
pub enum Emulator {
    /// In this process, on the test's runtime.
    #[default]
    InProcess,
    /// Its binary, as its own process (the bench measures without it on its runtime).
    Binary(PathBuf),
}

/// What [`Stack::start`] starts.
#[derive(Debug, Clone)]
pub struct Options {
    pub emulator: Emulator,
    /// moto server's executable in a virtualenv: run through `scripts/moto_server.py`
    /// with its `python` (DynamoDB writes one at a time, atomic as in DynamoDB).
    pub moto: PathBuf,
    /// Provisions the catalog (as `make up` does) before the test starts.
    pub provision: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            emulator: Emulator::InProcess,
            moto: workspace_root().join(".venv/bin/moto_server"),
            provision: false,
        }
    }
}

impl Options {
    /// The default stack with the catalog provisioned.
    pub fn provisioned() -> Self {
        Options {
            provision: true,
            ..Options::default()
        }
    }
}

/// A running stack; every process stops when it is dropped.
pub struct Stack {
    /// The emulator's controls and hosted pages; its API is at `emulator.url()`.
    pub emulator: Control,
    /// moto server's URL (DynamoDB and SES).
    pub dynamo: String,
    pub config: Config,
    /// The in-process app every handler borrows, on this stack's moto and emulator.
    pub app: &'static App,
    /// A plain HTTP client that does not follow redirects (a page's answer as it is).
    pub http: reqwest::Client,
    catalog: Option<Catalog>,
    moto: Option<Child>,
    _emulator: EmulatorProcess,
}

enum EmulatorProcess {
    /// In process: the server task, and the emulator's handle for its request log.
    Task(tokio::task::JoinHandle<()>, stripe_emulator::App),
    Child(#[allow(dead_code)] Child),
}

impl Drop for EmulatorProcess {
    /// Stops the in-process emulator, then holds every request the test sent it to
    /// Stripe's published spec, whatever the emulator answered: a change that sends what
    /// Stripe would refuse fails the test even if the emulator were lenient.
    fn drop(&mut self) {
        let EmulatorProcess::Task(task, app) = self else {
            return;
        };
        task.abort();
        if std::thread::panicking() {
            return;
        }
        let log = app.log.lock().map(|log| log.clone()).unwrap_or_default();
        let refused: Vec<String> = log
            .iter()
            .filter_map(|entry| {
                stripe_emulator::spec::check_request(&entry.method, &entry.path, &entry.params)
                    .err()
                    .map(|why| format!("{} {} {}: {why}", entry.method, entry.path, entry.params))
            })
            .collect();
        assert!(
            refused.is_empty(),
            "requests Stripe's spec refuses:\n{}",
            refused.join("\n")
        );
    }
}

impl Stack {
    pub async fn start(options: Options) -> Stack {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let moto_port = free_port();
        assert!(
            options.moto.exists(),
            "moto server is not installed at {}: `make test` installs it",
            options.moto.display()
        );
        let python = options.moto.with_file_name("python");
        let launcher = workspace_root().join("scripts/moto_server.py");
        let moto = spawn(
            Command::new(python)
                .arg(launcher)
                .args(["-p", &moto_port.to_string()]),
            &format!("moto-{moto_port}"),
        );
        let (emulator_url, process) = start_emulator(&options.emulator);
        let emulator = Control::new(&emulator_url);
        let dynamo = format!("http://127.0.0.1:{moto_port}");
        emulator
            .ready(Duration::from_secs(30))
            .await
            .expect("the emulator");
        wait_for(&format!("{dynamo}/"), Duration::from_secs(60)).await;
        let config = config(&emulator_url);
        let app = app_on(&config, &dynamo, &dynamo);
        app.store.ensure_table().await.expect("creating the table");
        app.mail
            .ensure_sender()
            .await
            .expect("verifying the sender in SES");
        let mut stack = Stack {
            emulator,
            dynamo,
            config,
            app,
            catalog: None,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
            moto: Some(moto),
            _emulator: process,
        };
        if options.provision {
            stack.catalog = Some(stack.provision().await);
        }
        stack
    }

    /// Provisions the catalog (as `make up` and the custom resource do): must succeed.
    pub async fn provision(&self) -> Catalog {
        let app = self.app;
        devchat::catalog::provision(&app.stripe, &app.store, &app.config)
            .await
            .expect("provisioning")
    }

    /// The catalog provisioned at start ([`Options::provision`]).
    pub fn catalog(&self) -> &Catalog {
        self.catalog
            .as_ref()
            .expect("the stack was started without provisioning")
    }

    /// The app with DynamoDB at `dynamo` and SES at `ses` (proxies in front of moto, say).
    pub fn app_reaching(&self, dynamo: &str, ses: &str) -> &'static App {
        app_on(&self.config, dynamo, ses)
    }

    /// The app with `dynamo` as its DynamoDB endpoint (a proxy in front of moto, say)
    /// and, if given, another webhook signing secret.
    pub fn app_on(&self, dynamo: &str, webhook_secret: Option<&str>) -> &'static App {
        let mut config = self.config.clone();
        if let Some(secret) = webhook_secret {
            config.stripe_webhook_secret = Some(secret.to_owned());
        }
        app_on(&config, dynamo, &self.dynamo)
    }

    /// The app with another configuration (e.g. a short `sign_in_code_ttl_seconds`), on
    /// this stack's moto and emulator.
    pub fn app_with(&self, change: impl FnOnce(&mut Config)) -> &'static App {
        let mut config = self.config.clone();
        change(&mut config);
        app_on(&config, &self.dynamo, &self.dynamo)
    }

    /// Stops moto server: every store call fails from now on.
    pub fn stop_database(&mut self) {
        self.moto = None;
    }

    /// The environment a function process gets (as `make up` sets it), with Stripe
    /// and DynamoDB at the given URLs (this stack's, or proxies in front of them).
    pub fn env(&self, stripe: &str, dynamo: &str, app_url: &str) -> Vec<(&'static str, String)> {
        let mut env = app_env(stripe, app_url);
        env.extend([
            ("AWS_ENDPOINT_URL_DYNAMODB", dynamo.into()),
            ("AWS_ENDPOINT_URL_SESV2", self.dynamo.clone()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_DEFAULT_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]);
        env
    }

    /// `cargo lambda watch` on a free port, serving every route with this stack's env.
    pub async fn watch(&self) -> Watch {
        Watch::start(self).await
    }

    /// Serves the webhook function over HTTP (in process) and starts `stripe listen`
    /// forwarding the emulator's events to it.
    pub async fn listen(&self) -> Listen {
        let server = WebhookServer::start().await;
        server.serve(self.app);
        Listen::start(self.emulator.url(), server).await
    }

    // Stripe, as the test sees it (straight to the emulator's API).

    /// `GET /v1{path}`: must succeed.
    pub async fn stripe_get(&self, path: &str) -> Value {
        let request = self.http.get(format!("{}/v1{path}", self.emulator.url()));
        stripe_answer(request, path).await
    }

    /// `POST /v1{path}` with a form: must succeed.
    pub async fn stripe_post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let request = self
            .http
            .post(format!("{}/v1{path}", self.emulator.url()))
            .form(form);
        stripe_answer(request, path).await
    }

    /// `DELETE /v1{path}`: must succeed.
    pub async fn stripe_delete(&self, path: &str) -> Value {
        let request = self
            .http
            .delete(format!("{}/v1{path}", self.emulator.url()));
        stripe_answer(request, path).await
    }

    /// The meter's total for `customer` over the day around the emulator's now.
    pub async fn meter_total(&self, customer: &str) -> i64 {
        let now = self.emulator.now().await.expect("the emulator's clock");
        let (start, end) = (
            (now - 86_400) / 3_600 * 3_600,
            (now + 7_200) / 3_600 * 3_600,
        );
        let meter = &self.catalog().meter_id;
        let summaries = self
            .stripe_get(&format!("/billing/meters/{meter}/event_summaries?customer={customer}&start_time={start}&end_time={end}"))
            .await;
        summaries["data"]
            .as_array()
            .expect("summaries")
            .iter()
            .map(|s| s["aggregated_value"].as_f64().unwrap_or_default() as i64)
            .sum()
    }

    // Our records.

    pub async fn user(&self, id: &str) -> User {
        self.app
            .store
            .get_user(id)
            .await
            .expect("store")
            .expect("the user")
    }

    /// Every item in the table (consistently read), for "wrote nothing" checks.
    pub async fn items(&self) -> Vec<HashMap<String, AttributeValue>> {
        let output = dynamo_client(&self.dynamo)
            .scan()
            .table_name(TABLE)
            .consistent_read(true)
            .send()
            .await
            .expect("scan");
        output.items.unwrap_or_default()
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
}

async fn stripe_answer(request: reqwest::RequestBuilder, path: &str) -> Value {
    let response = request
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .expect("emulator");
    let status = response.status();
    let body: Value = response.json().await.expect("emulator JSON");
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

/// The app's own settings on this stack, with Stripe at `stripe` and the client at `app_url`.
fn app_env(stripe: &str, app_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("STRIPE_SECRET_KEY", SECRET_KEY.into()),
        ("STRIPE_API_BASE", stripe.into()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
        ("CHALLENGE_ID", CHALLENGE_ID.into()),
        ("APP_URL", app_url.into()),
        ("TABLE_NAME", TABLE.into()),
        ("SESSION_SECRET", SESSION_SECRET.into()),
        ("FROM_EMAIL", FROM_EMAIL.into()),
        ("OWNER_EMAIL", crate::OWNER_EMAIL.into()),
    ]
}

/// The app's configuration on this stack (no process environment).
fn config(emulator: &str) -> Config {
    let vars: HashMap<&str, String> = app_env(emulator, crate::APP_URL).into_iter().collect();
    Config::from_lookup(|name| vars.get(name).cloned()).expect("test config")
}

/// The app on this stack's emulator, with DynamoDB at `dynamo` and SES at `ses`.
fn app_on(config: &Config, dynamo: &str, ses: &str) -> &'static App {
    Box::leak(Box::new(App {
        config: config.clone(),
        stripe: StripeClient::new(config).expect("Stripe client"),
        store: DynamoStore::new(dynamo_client(dynamo), TABLE),
        mail: SesMailer::local(ses, FROM_EMAIL).expect("SES client"),
    }))
}

/// A DynamoDB client for `endpoint` with dummy credentials: nothing leaves the machine.
pub fn dynamo_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    DynamoStore::local_client(endpoint).expect("DynamoDB client")
}

fn start_emulator(how: &Emulator) -> (String, EmulatorProcess) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let process = match how {
        Emulator::InProcess => {
            let app = stripe_emulator::App::new(
                stripe_emulator::Config {
                    public_url: url.clone(),
                    webhook_secret: WEBHOOK_SECRET.into(),
                    data: None,
                    checkout_confirm_delay_ms: 0,
                },
                Default::default(),
            );
            let served = app.clone();
            EmulatorProcess::Task(
                tokio::spawn(async move {
                    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
                    let served = match tokio::net::TcpListener::bind(addr).await {
                        Ok(listener) => stripe_emulator::serve_app(listener, served).await,
                        Err(err) => Err(err),
                    };
                    if let Err(err) = served {
                        panic!("the emulator stopped: {err}");
                    }
                }),
                app,
            )
        }
        Emulator::Binary(binary) => EmulatorProcess::Child(spawn(
            Command::new(binary)
                .args([
                    "--port",
                    &port.to_string(),
                    "--webhook-secret",
                    WEBHOOK_SECRET,
                ])
                .env("RUST_LOG", "warn"),
            &format!("emulator-{port}"),
        )),
    };
    (url, process)
}

/// Starts `command` with its output in `target/test-logs/{log}.log`, killed on drop.
pub(crate) fn spawn(command: &mut Command, log: &str) -> Child {
    let dir = workspace_root().join("target/test-logs");
    std::fs::create_dir_all(&dir).expect("log dir");
    let file = std::fs::File::create(dir.join(format!("{log}.log"))).expect("log file");
    let err = file.try_clone().expect("log file");
    command
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {log}: {e}"))
}
