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
    actions::{Action, Fixtures},
    events::HttpRequest,
    progress,
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

/// What the load phase needs from the command line.
pub struct Plan<'a> {
    pub cargo_lambda: &'a Path,
    pub concurrency: &'a [usize],
    pub watch_concurrency: usize,
    pub seconds: u64,
    pub max_requests: usize,
}

type Make = Arc<dyn Fn() -> HttpRequest + Send + Sync>;

/// The routes loaded through `cargo lambda watch`, each at every concurrency of the plan.
fn routes(fx: &Arc<Fixtures>) -> Vec<(&'static str, Make)> {
    let action = |action: Action| -> Make {
        let fx = fx.clone();
        Arc::new(move || action.request(&fx))
    };
    vec![
        ("GET /offerings", action(Action::Offerings)),
        ("GET /users (session)", action(Action::GetUser)),
        (
            "POST /offerings/paircode/schedule",
            action(Action::Schedule),
        ),
        ("POST /webhook (signed)", action(Action::Webhook)),
    ]
}

/// Throughput of every route of [`routes`] at every concurrency of the plan.
pub async fn throughput(
    plan: &Plan<'_>,
    env: &[(String, String)],
    fx: Arc<Fixtures>,
) -> Result<(Vec<Throughput>, String)> {
    if !plan.cargo_lambda.is_file() {
        return Err(format!(
            "{} is missing (make up installs cargo-lambda into .venv)",
            plan.cargo_lambda.display()
        )
        .into());
    }
    progress("throughput: starting cargo lambda watch --release (builds what is missing)");
    let workspace = std::env::current_dir()?;
    let watch = Watch::start(
        plan.cargo_lambda,
        &workspace,
        env,
        true,
        plan.watch_concurrency,
        &Action::Offerings.request(&fx),
    )
    .await?;
    let routes = routes(&fx);
    // Every function the load touches is started (and built) before timing.
    for (_, make) in &routes {
        watch_probe(&watch.url, make.clone()).await?;
    }
    let duration = Duration::from_secs(plan.seconds);
    let mut results = Vec::new();
    for &concurrency in plan.concurrency {
        for (route, make) in &routes {
            results.push(
                run(
                    &watch.url,
                    route,
                    concurrency,
                    duration,
                    plan.max_requests,
                    make.clone(),
                )
                .await,
            );
        }
    }
    for r in &results {
        progress(format_args!(
            "  {} at {}: {:.1} req/s, {} requests, {} errors, p50 {:.1} ms p99 {:.1} ms",
            r.route,
            r.concurrency,
            r.requests_per_second,
            r.requests,
            r.errors,
            r.latency_ms.p50,
            r.latency_ms.p99
        ));
    }
    watch.stop().await;
    Ok((
        results,
        format!(
            "cargo lambda watch --release, its --concurrency {} (instances per function), load generator: this harness, {:?} connections, {} s per route and concurrency, loopback",
            plan.watch_concurrency, plan.concurrency, plan.seconds
        ),
    ))
}

/// Waits until `make()` answers 2xx through cargo lambda watch (its function started).
async fn watch_probe(url: &str, make: Make) -> Result<()> {
    let until = std::time::Instant::now() + Duration::from_secs(20 * 60);
    loop {
        let summary = run(url, "probe", 1, Duration::from_secs(60), 1, make.clone()).await;
        if summary.errors == 0 {
            return Ok(());
        }
        if std::time::Instant::now() > until {
            return Err(format!("{url}: never answered 2xx through cargo lambda watch").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
