//! Throughput of the whole local stack: `cargo lambda watch` (the router from the
//! workspace's Cargo.toml, as `make up` runs it) in front of the functions, the emulator
//! and moto, loaded at a fixed concurrency for a bounded time on loopback.

use std::{
    path::Path,
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;
use tokio::process::{Child, Command};

use crate::{
    Result,
    events::HttpRequest,
    stats::{Summary, ms, summarize},
};

pub struct Watch {
    child: Child,
    pub url: String,
}

impl Watch {
    /// Starts `cargo lambda watch` in `workspace` on a free port with the app's
    /// environment, and waits until `probe` answers (the first request starts, and
    /// may first build, the function).
    pub async fn start(
        cargo_lambda: &Path,
        workspace: &Path,
        env: &[(String, String)],
        release: bool,
        concurrency: usize,
        probe: &HttpRequest,
    ) -> Result<Self> {
        let port = devchat_kit::free_port();
        let mut cmd = Command::new(cargo_lambda);
        cmd.current_dir(workspace)
            .args([
                "lambda",
                "watch",
                "--ignore-changes",
                "-q",
                "-A",
                "127.0.0.1",
            ])
            .args(["-P", &port.to_string()])
            .args(["--concurrency", &concurrency.to_string()]);
        if release {
            cmd.arg("--release");
        }
        for (k, v) in env {
            if k != "HOME" && k != "PATH" {
                cmd.arg("--env-var").arg(format!("{k}={v}"));
            }
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("{}: {e}", cargo_lambda.display()))?;
        let watch = Watch {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let until = Instant::now() + Duration::from_secs(20 * 60);
        loop {
            if let Ok(answer) = send(&client, &watch.url, probe).await
                && answer.is_success()
            {
                return Ok(watch);
            }
            if Instant::now() > until {
                return Err("cargo lambda watch did not answer within 20 minutes".into());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    req: &HttpRequest,
) -> reqwest::Result<reqwest::StatusCode> {
    let query = req.raw_query();
    let url = if query.is_empty() {
        format!("{base}{}", req.path)
    } else {
        format!("{base}{}?{query}", req.path)
    };
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = client.request(method, url);
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    if let Some(body) = &req.body {
        builder = builder.body(body.clone());
    }
    let answer = builder.send().await?;
    let status = answer.status();
    answer.bytes().await?;
    Ok(status)
}

#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    pub route: String,
    pub concurrency: usize,
    pub seconds: f64,
    pub requests: usize,
    pub errors: usize,
    pub requests_per_second: f64,
    pub latency_ms: Summary,
}

/// `concurrency` workers send `make()` requests back to back for `duration` (and at
/// most `max_requests` in all); every non-2xx answer or transport failure is an error.
pub async fn run(
    url: &str,
    route: &str,
    concurrency: usize,
    duration: Duration,
    max_requests: usize,
    make: Arc<dyn Fn() -> HttpRequest + Send + Sync>,
) -> Throughput {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default();
    let started = Instant::now();
    let budget = Arc::new(std::sync::atomic::AtomicUsize::new(max_requests));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, make, budget) = (
            client.clone(),
            url.to_string(),
            make.clone(),
            budget.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while started.elapsed() < duration
                && budget
                    .fetch_update(
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                        |n| n.checked_sub(1),
                    )
                    .is_ok()
            {
                let req = make();
                let sent = Instant::now();
                match send(&client, &url, &req).await {
                    Ok(status) if status.is_success() => {}
                    _ => errors += 1,
                }
                latencies.push(ms(sent.elapsed()));
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in workers {
        if let Ok((l, e)) = worker.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Throughput {
        route: route.to_string(),
        concurrency,
        seconds: (seconds * 100.0).round() / 100.0,
        requests: latencies.len(),
        errors,
        requests_per_second: ((latencies.len() as f64 / seconds) * 10.0).round() / 10.0,
        latency_ms: summarize(&latencies),
    }
}
