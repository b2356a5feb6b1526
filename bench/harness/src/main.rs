//! `make bench`: measures every function binary the way Lambda runs it and writes
//! `bench/RESULTS.md`, `bench/results.json` and `bench/README-snippet.md`.
//!
//! 1. Cold init: fresh processes against our Runtime API; Init Duration and first response, vs a hello-world floor.
//! 2. Warm latency: invocations per route; time in the emulator and moto beside the function's own.
//! 3. Stripe round trips per user action from the emulator's request log.
//! 4. Size: binary and zipped `bootstrap`.  5. Memory: peak RSS.
//! 6. Throughput through `cargo lambda watch` at a fixed concurrency.

mod events;
mod load;
mod proxy;
mod report;
mod runtime;
mod scenario;
mod stack;
mod stats;

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use clap::Parser;
use serde::Serialize;

use crate::{
    events::cfn_create,
    proxy::busy_within,
    runtime::Instance,
    scenario::{Action, FLOOR, FUNCTIONS, Fixtures, Fleet},
    stack::Stack,
    stats::{Summary, ms, summarize},
};

pub type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

#[derive(Debug, Parser)]
#[command(about = "Benchmarks the /dev/chat Lambda functions (make bench)")]
struct Cli {
    /// Directory of the release binaries (functions and hello).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// The Stripe emulator (a dependency: its time is measured and subtracted).
    #[arg(long, default_value = "target/debug/stripe-emulator")]
    emulator: PathBuf,
    /// moto server (DynamoDB).
    #[arg(long, default_value = ".venv/bin/moto_server")]
    moto: PathBuf,
    /// cargo-lambda, for the throughput run through `cargo lambda watch`.
    #[arg(long, default_value = ".venv/bin/cargo-lambda")]
    cargo_lambda: PathBuf,
    /// Where RESULTS.md, results.json and README-snippet.md go.
    #[arg(long, default_value = "bench")]
    out: PathBuf,
    /// Cold starts per function.
    #[arg(long, default_value_t = 20)]
    cold_runs: usize,
    /// Warm invocations per route.
    #[arg(long, default_value_t = 500)]
    warm: usize,
    /// Concurrency of the load generator.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Seconds of load per route.
    #[arg(long, default_value_t = 10)]
    load_seconds: u64,
    /// Upper bound on requests per load run.
    #[arg(long, default_value_t = 50_000)]
    load_max: usize,
    /// Instances per function `cargo lambda watch` may run at once (its --concurrency).
    #[arg(long, default_value_t = 1)]
    watch_concurrency: usize,
    /// Skip the throughput run (no cargo lambda watch).
    #[arg(long)]
    no_load: bool,
}

#[derive(Debug, Serialize)]
pub struct Cold {
    pub function: String,
    pub init_ms: Summary,
    pub first_response_ms: Summary,
    /// Median Init Duration / the floor's.
    pub init_ratio: f64,
    pub first_response_ratio: f64,
    pub peak_rss_kib: u64,
    /// Invocations that did not answer 2xx.
    pub errors: usize,
}

#[derive(Debug, Serialize)]
pub struct Warm {
    pub action: String,
    pub function: String,
    pub errors: usize,
    /// Event handed over → answer posted (Lambda's Duration).
    pub function_ms: Summary,
    /// Waiting on the Stripe emulator (proxy-timed).
    pub stripe_ms: Summary,
    /// Waiting on moto (proxy-timed).
    pub dynamo_ms: Summary,
    /// function − Stripe − DynamoDB: our own code, runtime and HTTP clients, plus any
    /// wait for a CPU on a busy machine.
    pub overhead_ms: Summary,
    /// CPU time the function process used per invocation (all threads, schedstat):
    /// what our code costs, free of waiting on the dependencies or for a CPU.
    pub cpu_ms_per_invocation: f64,
    pub stripe_calls_per_invocation: f64,
    pub dynamo_calls_per_invocation: f64,
    /// Mean time the emulator itself logged per invocation (`duration_ms`).
    pub emulator_logged_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct Size {
    pub function: String,
    pub binary_bytes: u64,
    pub zip_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Memory {
    pub function: String,
    /// VmHWM after the warm run (every warm action of this function).
    pub warm_peak_rss_kib: Option<u64>,
    /// Highest VmHWM after one cold invocation.
    pub cold_peak_rss_kib: u64,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub memory_mib: u64,
    pub kernel: String,
}

#[derive(Debug, Serialize)]
pub struct Results {
    pub date: String,
    pub machine: Machine,
    pub cold_runs: usize,
    pub warm_invocations: usize,
    pub floor: Cold,
    pub cold: Vec<Cold>,
    pub warm: Vec<Warm>,
    pub round_trips: Vec<scenario::RoundTrips>,
    pub size: Vec<Size>,
    pub memory: Vec<Memory>,
    pub throughput: Vec<load::Throughput>,
    pub throughput_note: String,
    pub targets: Vec<report::Target>,
}

fn progress(msg: impl std::fmt::Display) {
    eprintln!("bench: {msg}");
    let _ = std::io::stderr().flush();
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let bin = |name: &str| stack::binary(&cli.bin_dir, name);
    for name in FUNCTIONS.iter().chain([&FLOOR]) {
        bin(name)?;
    }
    if !cli.moto.is_file() {
        return Err(format!(
            "{} is missing (make up installs moto server into .venv)",
            cli.moto.display()
        )
        .into());
    }
    progress("starting moto server and the Stripe emulator");
    if !cli.emulator.is_file() {
        return Err(format!(
            "{} is missing: cargo build -p stripe-emulator",
            cli.emulator.display()
        )
        .into());
    }
    let stack = Stack::start(&cli.moto, &cli.emulator).await?;
    stack.provision(&bin("provision")?, true).await?;
    let env = stack.env();
    let tag = format!("{:x}", uuid::Uuid::new_v4().as_u128() as u32);

    progress("fixtures and Stripe round trips per action");
    let mut fleet = Fleet::new(&cli.bin_dir, env.clone());
    let (fixtures, round_trips) =
        scenario::prepare(&stack, &mut fleet, &tag, &bin("provision")?).await?;
    for trip in &round_trips {
        progress(format_args!(
            "  {}: {} {:?}",
            trip.action, trip.count, trip.calls
        ));
    }

    progress(format_args!(
        "warm latency: {} invocations per route",
        cli.warm
    ));
    let mut warm = Vec::new();
    for action in Action::WARM {
        let result = warm_run(&stack, &mut fleet, &fixtures, action, cli.warm).await?;
        progress(format_args!(
            "  {}: p50 {:.2} ms p99 {:.2} ms; own overhead p50 {:.2} p99 {:.2}; CPU {:.3} ms/invocation",
            result.action,
            result.function_ms.p50,
            result.function_ms.p99,
            result.overhead_ms.p50,
            result.overhead_ms.p99,
            result.cpu_ms_per_invocation
        ));
        warm.push(result);
    }
    let warm_rss: BTreeMap<String, Option<u64>> = FUNCTIONS
        .iter()
        .chain([&FLOOR])
        .map(|f| (f.to_string(), fleet.peak_rss_kib(f)))
        .collect();
    fleet.stop().await;

    progress(format_args!(
        "cold starts: {} per function, interleaved",
        cli.cold_runs
    ));
    let (floor, cold) = cold_runs(&cli.bin_dir, &env, &fixtures, cli.cold_runs).await?;

    let size = FUNCTIONS
        .iter()
        .chain([&FLOOR])
        .map(|f| size_of(f, &bin(f)?))
        .collect::<Result<Vec<_>>>()?;
    let memory = FUNCTIONS
        .iter()
        .chain([&FLOOR])
        .map(|f| Memory {
            function: f.to_string(),
            warm_peak_rss_kib: warm_rss.get(*f).copied().flatten(),
            cold_peak_rss_kib: cold
                .iter()
                .chain([&floor])
                .find(|c| c.function == *f)
                .map_or(0, |c| c.peak_rss_kib),
        })
        .collect();

    let (throughput, throughput_note) = if cli.no_load {
        (Vec::new(), "skipped (--no-load)".to_string())
    } else {
        throughput(&cli, &env, &fixtures).await?
    };

    let mut results = Results {
        date: report::utc_now(),
        machine: report::machine(),
        cold_runs: cli.cold_runs,
        warm_invocations: cli.warm,
        floor,
        cold,
        warm,
        round_trips,
        size,
        memory,
        throughput,
        throughput_note,
        targets: Vec::new(),
    };
    results.targets = report::targets(&results);
    report::write(&cli.out, &results)?;
    progress(format_args!(
        "wrote {}/RESULTS.md and results.json",
        cli.out.display()
    ));
    for t in &results.targets {
        progress(format_args!(
            "  [{}] {}: {}",
            if t.met { "met" } else { "MISSED" },
            t.target,
            t.measured
        ));
    }
    Ok(())
}

async fn warm_run(
    stack: &Stack,
    fleet: &mut Fleet,
    fx: &Fixtures,
    action: Action,
    n: usize,
) -> Result<Warm> {
    let function = action.function();
    for _ in 0..3 {
        let event = action.request(fx).event();
        fleet.instance(function).await?.invoke(&event).await?;
    }
    stack.clear_log().await?;
    stack.stripe.drain();
    stack.dynamo.drain();
    let (mut total, mut stripe, mut dynamo, mut own) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut stripe_calls, mut dynamo_calls, mut errors) = (0, 0, 0);
    let cpu_before = fleet.instance(function).await?.cpu_time();
    for _ in 0..n {
        let event = action.request(fx).event();
        let inv = fleet.instance(function).await?.invoke(&event).await?;
        if !(200..300).contains(&inv.status()) {
            errors += 1;
        }
        let s = stack.stripe.drain();
        let d = stack.dynamo.drain();
        stripe_calls += s.len();
        dynamo_calls += d.len();
        let in_stripe = busy_within(&s, inv.delivered, inv.answered);
        let in_dynamo = busy_within(&d, inv.delivered, inv.answered);
        total.push(ms(inv.duration));
        stripe.push(ms(in_stripe));
        dynamo.push(ms(in_dynamo));
        own.push(ms(inv.duration.saturating_sub(in_stripe + in_dynamo)));
    }
    let cpu_after = fleet.instance(function).await?.cpu_time();
    let cpu = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => ms(after.saturating_sub(before)),
        _ => f64::NAN,
    };
    let logged: f64 = stack
        .stripe_log()
        .await?
        .iter()
        .filter_map(|e| e["duration_ms"].as_f64())
        .sum();
    let per = |x: f64| ((x / n.max(1) as f64) * 1000.0).round() / 1000.0;
    Ok(Warm {
        action: action.label().to_string(),
        function: function.to_string(),
        errors,
        function_ms: summarize(&total),
        stripe_ms: summarize(&stripe),
        dynamo_ms: summarize(&dynamo),
        overhead_ms: summarize(&own),
        cpu_ms_per_invocation: per(cpu),
        stripe_calls_per_invocation: per(stripe_calls as f64),
        dynamo_calls_per_invocation: per(dynamo_calls as f64),
        emulator_logged_ms: per(logged),
    })
}

/// The event a cold instance of `function` gets first.
fn first_event(function: &str, fx: &Fixtures, instance: &Instance) -> serde_json::Value {
    let action = match function {
        "offerings" => Action::Offerings,
        "signup" => Action::SignupNew,
        "get-user" => Action::GetUser,
        "checkout" => Action::Checkout,
        "schedule" => Action::Schedule,
        "portal" => Action::Portal,
        "webhook" => Action::Webhook,
        "site" => Action::Site,
        "provision" => {
            return cfn_create(&format!("http://{}/cfn-response", instance.runtime_addr));
        }
        _ => Action::Floor,
    };
    action.request(fx).event()
}

#[derive(Default)]
struct ColdSamples {
    init: Vec<f64>,
    first_response: Vec<f64>,
    peak_rss_kib: u64,
    errors: usize,
}

impl ColdSamples {
    fn cold(&self, function: &str, floor: Option<&Cold>) -> Cold {
        let (init_ms, first_response_ms) = (summarize(&self.init), summarize(&self.first_response));
        let ratio = |a: f64, floor: Option<f64>| match floor {
            Some(b) if b > 0.0 => (a / b * 100.0).round() / 100.0,
            Some(_) => 0.0,
            None => 1.0,
        };
        Cold {
            function: function.to_string(),
            init_ratio: ratio(init_ms.p50, floor.map(|f| f.init_ms.p50)),
            first_response_ratio: ratio(
                first_response_ms.p50,
                floor.map(|f| f.first_response_ms.p50),
            ),
            init_ms,
            first_response_ms,
            peak_rss_kib: self.peak_rss_kib,
            errors: self.errors,
        }
    }
}

async fn cold_runs(
    dir: &Path,
    env: &[(String, String)],
    fx: &Fixtures,
    runs: usize,
) -> Result<(Cold, Vec<Cold>)> {
    let names: Vec<&str> = FUNCTIONS.iter().copied().chain([FLOOR]).collect();
    let mut samples: BTreeMap<&str, ColdSamples> = BTreeMap::new();
    for round in 0..runs {
        // Round-robin, so load from other work on the machine spreads over every function.
        for name in &names {
            let binary = stack::binary(dir, name)?;
            let mut instance = Instance::spawn(name, &binary, env).await?;
            let started = instance.started;
            let event = first_event(name, fx, &instance);
            let inv = instance.invoke(&event).await?;
            let init = instance.init_duration().await?;
            let rss = instance.peak_rss_kib().unwrap_or(0);
            // provision answers CloudFormation at its ResponseURL, not in the response.
            let failure = if *name == "provision" {
                let answers = instance.cfn_answers();
                (answers.len() != 1 || answers[0]["Status"] != "SUCCESS")
                    .then(|| format!("CloudFormation answers {answers:?}"))
            } else {
                (!(200..300).contains(&inv.status()))
                    .then(|| format!("{} {}", inv.status(), inv.response["body"]))
            };
            instance.stop().await;
            let entry = samples.entry(name).or_default();
            if let Some(failure) = failure {
                entry.errors += 1;
                progress(format_args!("  cold {name}: {failure}"));
            }
            entry.init.push(ms(init));
            entry.first_response.push(ms(inv.answered - started));
            entry.peak_rss_kib = entry.peak_rss_kib.max(rss);
        }
        progress(format_args!("  round {}/{runs}", round + 1));
    }
    let empty = ColdSamples::default();
    let floor = samples.get(FLOOR).unwrap_or(&empty).cold(FLOOR, None);
    let cold = FUNCTIONS
        .iter()
        .map(|name| samples.get(name).unwrap_or(&empty).cold(name, Some(&floor)))
        .collect();
    Ok((floor, cold))
}

fn size_of(function: &str, binary: &Path) -> Result<Size> {
    let bytes = std::fs::read(binary)?;
    let mut zipped = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut zipped);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(0o755);
        zip.start_file("bootstrap", options)?;
        zip.write_all(&bytes)?;
        zip.finish()?;
    }
    Ok(Size {
        function: function.to_string(),
        binary_bytes: bytes.len() as u64,
        zip_bytes: zipped.into_inner().len() as u64,
    })
}

async fn throughput(
    cli: &Cli,
    env: &[(String, String)],
    fx: &Fixtures,
) -> Result<(Vec<load::Throughput>, String)> {
    if !cli.cargo_lambda.is_file() {
        return Err(format!(
            "{} is missing (make up installs cargo-lambda into .venv)",
            cli.cargo_lambda.display()
        )
        .into());
    }
    progress("throughput: starting cargo lambda watch --release (builds what is missing)");
    let workspace = std::env::current_dir()?;
    let watch = load::Watch::start(
        &cli.cargo_lambda,
        &workspace,
        env,
        true,
        cli.watch_concurrency,
        &Action::Offerings.request(fx),
    )
    .await?;
    // Every function the load touches is started (and built) before timing.
    let payload = fx.webhook_payload();
    let webhook: Arc<dyn Fn() -> events::HttpRequest + Send + Sync> =
        Arc::new(move || scenario::webhook(&payload));
    watch_probe(&watch.url, webhook.clone()).await?;
    let duration = Duration::from_secs(cli.load_seconds);
    let mut results = Vec::new();
    let offerings: Arc<dyn Fn() -> events::HttpRequest + Send + Sync> =
        Arc::new(|| events::HttpRequest::new("GET", "/offerings"));
    results.push(
        load::run(
            &watch.url,
            "GET /offerings",
            cli.concurrency,
            duration,
            cli.load_max,
            offerings,
        )
        .await,
    );
    results.push(
        load::run(
            &watch.url,
            "POST /webhook (signed)",
            cli.concurrency,
            duration,
            cli.load_max,
            webhook,
        )
        .await,
    );
    for r in &results {
        progress(format_args!(
            "  {}: {:.1} req/s, {} requests, {} errors, p50 {:.1} ms p99 {:.1} ms",
            r.route,
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
            "cargo lambda watch --release, its --concurrency {} (instances per function), load generator: this harness, {} connections, {} s per route, loopback",
            cli.watch_concurrency, cli.concurrency, cli.load_seconds
        ),
    ))
}

/// Waits until `make()` answers 2xx through cargo lambda watch (its function started).
async fn watch_probe(
    url: &str,
    make: Arc<dyn Fn() -> events::HttpRequest + Send + Sync>,
) -> Result<()> {
    let until = std::time::Instant::now() + Duration::from_secs(20 * 60);
    loop {
        let summary = load::run(url, "probe", 1, Duration::from_secs(60), 1, make.clone()).await;
        if summary.errors == 0 {
            return Ok(());
        }
        if std::time::Instant::now() > until {
            return Err(format!("{url}: never answered 2xx through cargo lambda watch").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
