//! The dependencies of a bench run, started by the harness on free loopback ports so a
//! developer's `make up` stack (9000/12111/8000) keeps running undisturbed: moto server
//! (DynamoDB), the Stripe emulator, a timing [`Proxy`] in front of each, and the catalog
//! provisioned once.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::{Result, proxy::Proxy};

pub const SECRET_KEY: &str = "sk_test_bench";
pub const WEBHOOK_SECRET: &str = "whsec_devchat_bench_secret";
pub const CHALLENGE_ID: &str = "bench";
pub const TABLE_NAME: &str = "devchat-bench";
pub const SESSION_SECRET: &str = "devchat-bench-session-secret-0123456789";

pub struct Stack {
    _moto: Child,
    _emulator: Child,
    /// The emulator itself (hosted pages, request log): the harness's own calls go here.
    pub emulator_url: String,
    pub stripe: Proxy,
    pub dynamo: Proxy,
    http: reqwest::Client,
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn quiet(cmd: &mut Command) -> &mut Command {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
}

impl Stack {
    pub async fn start(moto: &Path, emulator: &Path) -> Result<Self> {
        let http = reqwest::Client::new();
        let moto_port = free_port()?;
        let moto_child =
            quiet(Command::new(moto).args(["-H", "127.0.0.1", "-p", &moto_port.to_string()]))
                .spawn()
                .map_err(|e| format!("{}: {e}", moto.display()))?;
        let emu_port = free_port()?;
        let emulator_child = quiet(Command::new(emulator).args([
            "--port",
            &emu_port.to_string(),
            "--webhook-secret",
            WEBHOOK_SECRET,
        ]))
        .env("RUST_LOG", "warn")
        .spawn()
        .map_err(|e| format!("{}: {e}", emulator.display()))?;
        let moto_url = format!("http://127.0.0.1:{moto_port}");
        let emulator_url = format!("http://127.0.0.1:{emu_port}");
        wait_for(&http, &format!("{moto_url}/moto-api/")).await?;
        wait_for(&http, &format!("{emulator_url}/_emulator/health")).await?;
        Ok(Stack {
            _moto: moto_child,
            _emulator: emulator_child,
            stripe: Proxy::start(&emulator_url).await?,
            dynamo: Proxy::start(&moto_url).await?,
            emulator_url,
            http,
        })
    }

    /// What every function process gets: the app's configuration pointing at the
    /// proxies, dummy AWS credentials, and nothing that could leave the machine.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("STRIPE_API_BASE", self.stripe.url.as_str()),
            ("STRIPE_SECRET_KEY", SECRET_KEY),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("CHALLENGE_ID", CHALLENGE_ID),
            ("APP_URL", "http://127.0.0.1:9000"),
            ("TABLE_NAME", TABLE_NAME),
            ("SESSION_SECRET", SESSION_SECRET),
            ("AWS_ENDPOINT_URL_DYNAMODB", self.dynamo.url.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        // An empty HOME: no ~/.aws profile files to read, as on Lambda.
        env.push(("HOME".into(), std::env::temp_dir().display().to_string()));
        // Experiments: the tokio runtime's size, as Lambda would set it in the environment.
        if let Ok(threads) = std::env::var("TOKIO_WORKER_THREADS") {
            env.push(("TOKIO_WORKER_THREADS".into(), threads));
        }
        if let Ok(path) = std::env::var("PATH") {
            env.push(("PATH".into(), path));
        }
        env
    }

    /// Runs `provision` as a CLI (creates the table, converges the catalog).
    pub async fn provision(&self, binary: &Path, create_table: bool) -> Result<()> {
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if create_table {
            cmd.arg("--create-table");
        }
        let out = cmd.output().await?;
        if !out.status.success() {
            return Err(format!(
                "provision failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(())
    }

    /// The emulator's request log since the last [`Stack::clear_log`]: `/v1` calls only.
    pub async fn stripe_log(&self) -> Result<Vec<Value>> {
        let log: Value = self
            .http
            .get(format!("{}/_emulator/requests", self.emulator_url))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(log["data"]
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["path"].as_str().is_some_and(|p| p.starts_with("/v1/")))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn clear_log(&self) -> Result<()> {
        self.http
            .delete(format!("{}/_emulator/requests", self.emulator_url))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// A Stripe API call of the harness's own (not counted: it bypasses the proxy,
    /// and the log is cleared before each measured action).
    pub async fn stripe_get(&self, path: &str) -> Result<Value> {
        Ok(self
            .http
            .get(format!("{}{path}", self.emulator_url))
            .bearer_auth(SECRET_KEY)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Pays a Checkout Session on the emulator's hosted page with a card that succeeds.
    pub async fn pay(&self, id: &str) -> Result<()> {
        let answer = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?
            .post(format!("{}/c/pay/{id}", self.emulator_url))
            .form(&[
                ("cardNumber", "4242 4242 4242 4242"),
                ("cardExpiry", "12 / 34"),
                ("cardCvc", "123"),
                ("billingName", "Bench Mark"),
                ("billingPostalCode", "10001"),
                ("billingCountry", "US"),
            ])
            .send()
            .await?;
        if !answer.status().is_redirection() {
            return Err(
                format!("paying {id}: {} {}", answer.status(), answer.text().await?).into(),
            );
        }
        Ok(())
    }
}

async fn wait_for(http: &reqwest::Client, url: &str) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if http.get(url).send().await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{url} did not answer within 60 s").into())
}

/// `target/release/<name>`, checked to exist.
pub fn binary(dir: &Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    if !path.is_file() {
        return Err(format!(
            "{} is missing: build it first (make bench builds it)",
            path.display()
        )
        .into());
    }
    Ok(path)
}
