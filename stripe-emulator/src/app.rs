//! The shared application handle: the state behind its lock, the events channel,
//! the request log and faults the server keeps, and persistence (`--data`).
//! It knows nothing of HTTP routes or of where events go: the server drains the
//! outbox ([`App::take_outbox`]) and dispatches.

use std::{
    collections::HashSet,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::{error::ApiResult, state::Db};

/// How the emulator was started.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL of this server as browsers and clients reach it (hosted page links).
    pub public_url: String,
    /// Signing secret of every `stripe listen` session.
    pub webhook_secret: String,
    /// Where state is kept across restarts (`--data`), if anywhere.
    pub data: Option<PathBuf>,
    /// How long hosted Checkout keeps showing "Processing" after a payment is
    /// confirmed, before it loads `success_url` (`--checkout-confirm-delay-ms`).
    pub checkout_confirm_delay_ms: u64,
}

/// One line of the request log (`GET /_emulator/requests`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub params: Value,
    pub status: u16,
    pub duration_ms: f64,
    pub idempotency_key: Option<String>,
}

/// A fault to inject: the next `count` requests matching `method` and `path_prefix`
/// wait `delay_ms`, then answer `status` (Stripe-shaped error body) or drop the connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    #[serde(default)]
    pub method: Option<String>,
    pub path_prefix: String,
    #[serde(default = "one")]
    pub count: u32,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub drop: bool,
}

fn one() -> u32 {
    1
}

pub struct Inner {
    pub config: Config,
    db: Mutex<Db>,
    pub events: broadcast::Sender<Value>,
    pub log: Mutex<Vec<LogEntry>>,
    pub faults: Mutex<Vec<Fault>>,
    /// Idempotency keys of requests being answered right now.
    pub inflight: Mutex<HashSet<String>>,
    persist_lock: tokio::sync::Mutex<()>,
    pub http: reqwest::Client,
}

#[derive(Clone)]
pub struct App(pub Arc<Inner>);

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Locks `m`, even when a panic poisoned it.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock must not take the whole emulator down.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl App {
    pub fn new(config: Config, mut db: Db) -> Self {
        let (events, _) = broadcast::channel(4096);
        db.public_url = config.public_url.clone();
        Self(Arc::new(Inner {
            config,
            db: Mutex::new(db),
            events,
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            inflight: Mutex::new(HashSet::new()),
            persist_lock: tokio::sync::Mutex::new(()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }))
    }

    /// Reads the state.
    pub fn read<T>(&self, f: impl FnOnce(&Db) -> T) -> T {
        f(&lock(&self.db))
    }

    /// Changes the state. Validate before mutating: an error does not roll back.
    pub fn write<T>(&self, f: impl FnOnce(&mut Db) -> ApiResult<T>) -> ApiResult<T> {
        f(&mut lock(&self.db))
    }

    /// Replaces the whole state (reset); the server's own URL stays.
    pub fn replace(&self, mut db: Db) {
        db.public_url = self.config.public_url.clone();
        *lock(&self.db) = db;
    }

    pub fn public_url(&self) -> &str {
        &self.config.public_url
    }

    /// Takes the events emitted since the last call, for the server to dispatch.
    pub fn take_outbox(&self) -> Vec<Value> {
        std::mem::take(&mut lock(&self.db).outbox)
    }

    /// Atomic save: write a temporary file, fsync, rename over the old one.
    pub async fn persist(&self) {
        let Some(path) = self.config.data.clone() else {
            return;
        };
        let _guard = self.persist_lock.lock().await;
        let snapshot = match serde_json::to_vec(&*lock(&self.db)) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize state");
                return;
            }
        };
        let tmp = path.with_extension("tmp");
        let result = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&snapshot)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &path)
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "cannot save state"),
            Err(e) => tracing::error!(error = %e, "cannot save state"),
        }
    }
}

/// Loads `--data` if it exists.
pub fn load(path: &std::path::Path) -> std::io::Result<Db> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Db::default()),
        Err(e) => Err(e),
    }
}
