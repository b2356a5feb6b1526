//! The dependencies of a bench run: the test kit's stack (moto server and the Stripe
//! emulator's release binary on free loopback ports, so a developer's `make up` stack
//! keeps running undisturbed), a timing [`Proxy`] in front of each, and the catalog
//! provisioned once.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use devchat_kit::{APP_URL, Card, Emulator, Options};
use serde_json::Value;
use tokio::process::Command;

use crate::{
    Result,
    proxy::{Proxy, Span},
    trips::{DYNAMO_MS, STRIPE_MS},
};

pub use devchat_kit::WEBHOOK_SECRET;

pub struct Stack {
    kit: devchat_kit::Stack,
    pub stripe: Proxy,
    pub dynamo: Proxy,
    /// SES (moto too), timed apart so its wait is not counted as our own time.
    pub mail: Proxy,
}

impl Stack {
    pub async fn start(moto: &Path, emulator: &Path) -> Result<Self> {
        let kit = devchat_kit::Stack::start(Options {
            emulator: Emulator::Binary(emulator.to_path_buf()),
            moto: moto.to_path_buf(),
            provision: false,
        })
        .await;
        Ok(Stack {
            stripe: Proxy::start(kit.emulator.url()).await?,
            dynamo: Proxy::start(&kit.dynamo).await?,
            mail: Proxy::start(&kit.dynamo).await?,
            kit,
        })
    }

    /// What every function process gets: the app's configuration pointing at the
    /// proxies, dummy AWS credentials, and nothing that could leave the machine.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .kit
            .env(&self.stripe.url, &self.dynamo.url, APP_URL)
            .into_iter()
            .map(|(k, v)| match k {
                "AWS_ENDPOINT_URL_SESV2" => (k.to_string(), self.mail.url.clone()),
                _ => (k.to_string(), v),
            })
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
        Ok(self.kit.emulator.api_requests().await?)
    }

    pub async fn clear_log(&self) -> Result<()> {
        Ok(self.kit.emulator.clear_requests().await?)
    }

    /// A Stripe API call of the harness's own, `GET /v1{path}` (not counted: it
    /// bypasses the proxy, and the log is cleared before each measured action).
    pub async fn stripe_get(&self, path: &str) -> Value {
        self.kit.stripe_get(path).await
    }

    /// `DELETE /v1{path}`, the harness's own (cancels a subscription at once).
    pub async fn stripe_delete(&self, path: &str) -> Value {
        self.kit.stripe_delete(path).await
    }

    /// Every email the functions sent through moto's SES, oldest first.
    pub async fn sent_mail(&self) -> Vec<devchat_kit::SentMail> {
        self.kit.sent_mail().await
    }

    /// Pays a Checkout Session on the emulator's hosted page with `card`.
    pub async fn pay(&self, id: &str, card: &str) -> Result<()> {
        self.kit.emulator.pay_session(id, Card::new(card)).await?;
        Ok(())
    }

    /// Moves the emulator's clock on (trials end, periods renew, charges happen).
    pub async fn advance_clock(&self, seconds: i64) -> Result<()> {
        self.kit.emulator.advance(seconds).await?;
        Ok(())
    }

    /// The spans the Stripe and DynamoDB proxies recorded since the last drain:
    /// (Stripe, DynamoDB); SES's are dropped (see [`Self::drain_all`]).
    pub fn drain(&self) -> (Vec<Span>, Vec<Span>) {
        self.drain_all().0
    }

    /// ((Stripe, DynamoDB), SES): every proxy's spans since the last drain.
    pub fn drain_all(&self) -> ((Vec<Span>, Vec<Span>), Vec<Span>) {
        (
            (self.stripe.drain(), self.dynamo.drain()),
            self.mail.drain(),
        )
    }

    /// The latency phase's network model on every dependency call (Stripe 150 ms,
    /// DynamoDB 5 ms, held by the proxies), or loopback as it is.
    pub fn network_model(&self, on: bool) {
        let ms = |n: u64| std::time::Duration::from_millis(if on { n } else { 0 });
        self.stripe.set_delay(ms(STRIPE_MS));
        self.dynamo.set_delay(ms(DYNAMO_MS));
    }
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
