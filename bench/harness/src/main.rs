//! `make bench`: measures every function binary the way Lambda runs it and writes
//! `bench/RESULTS.md`, `bench/results.json` and `bench/README-snippet.md`.
//!
//! 1. Cold init: fresh processes against our Runtime API; Init Duration and first response, vs a hello-world floor.
//! 2. Warm latency on loopback: time in the emulator and moto beside the function's own.
//! 3. Round trips: Stripe and DynamoDB calls per action, in all and on the critical path, beside the minimum.
//! 4. Latency under a network model (Stripe 150 ms, DynamoDB 5 ms per call) against each action's floor.
//! 5. Size (x86_64 and arm64, zipped) and peak memory.
//! 6. Throughput through `cargo lambda watch` at each concurrency.
//!
//! `--phases warm,latency,cold,size,load` runs a subset (`make bench BENCH_ARGS=…`).

mod actions;
mod codes;
mod cold;
mod events;
mod load;
mod proxy;
mod report;
mod results;
mod runtime;
mod scenario;
mod size;
mod stack;
mod stats;
mod tables;
mod trips;
mod warm;

use std::{collections::BTreeMap, io::Write, path::PathBuf, sync::Arc};

use clap::Parser;

use crate::{
    actions::{ACTIONS, Action, FLOOR, FUNCTIONS},
    results::{Memory, Results},
    scenario::Fleet,
    stack::Stack,
};

/// Invocations before each measured run (warm.rs), which use up codes too.
const WARM_UP: usize = warm::WARM_UP;

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
    /// Concurrencies of the load generator (each route is loaded at each).
    #[arg(long, value_delimiter = ',', default_values_t = [16, 64])]
    concurrency: Vec<usize>,
    /// Invocations per action under the network model (Stripe 150 ms, DynamoDB 5 ms).
    #[arg(long, default_value_t = 100)]
    latency: usize,
    /// cargo lambda's arm64 output (`<function>/bootstrap`), sized beside x86_64.
    #[arg(long, default_value = "target/deploy/lambda")]
    arm64_dir: PathBuf,
    /// The phases to run (the others are reported as skipped).
    #[arg(long, value_delimiter = ',', default_values_t = Phase::ALL.map(|p| p.to_string()))]
    phases: Vec<String>,
    /// Seconds of load per route.
    #[arg(long, default_value_t = 10)]
    load_seconds: u64,
    /// Upper bound on requests per load run.
    #[arg(long, default_value_t = 50_000)]
    load_max: usize,
    /// Instances per function `cargo lambda watch` may run at once (its --concurrency).
    #[arg(long, default_value_t = 1)]
    watch_concurrency: usize,
    /// Skip the throughput run (no cargo lambda watch); the same as leaving out `load`.
    #[arg(long)]
    no_load: bool,
}

/// The phases of a run, in order (`--phases warm,latency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warm,
    Latency,
    Cold,
    Size,
    Load,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Warm,
        Phase::Latency,
        Phase::Cold,
        Phase::Size,
        Phase::Load,
    ];
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Warm => "warm",
            Phase::Latency => "latency",
            Phase::Cold => "cold",
            Phase::Size => "size",
            Phase::Load => "load",
        })
    }
}

impl Cli {
    fn runs(&self, phase: Phase) -> bool {
        self.phases.iter().any(|p| *p == phase.to_string())
            && !(phase == Phase::Load && self.no_load)
    }
}

pub fn progress(msg: impl std::fmt::Display) {
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
    for (tool, hint) in [
        (&cli.moto, "make up installs moto server into .venv"),
        (&cli.emulator, "cargo build -p stripe-emulator"),
    ] {
        if !tool.is_file() {
            return Err(format!("{} is missing ({hint})", tool.display()).into());
        }
    }
    progress("starting moto server and the Stripe emulator");
    let stack = Stack::start(&cli.moto, &cli.emulator).await?;
    stack.network_model(true);
    let first = scenario::provisioning(&stack, &bin("provision")?, true).await?;
    stack.network_model(false);
    let env = stack.env();
    let tag = format!("{:x}", uuid::Uuid::new_v4().as_u128() as u32);

    progress("fixtures, and the round trips of webhooks and provisioning");
    let mut fleet = Fleet::new(&cli.bin_dir, env.clone());
    let (fixtures, one_offs) =
        scenario::prepare(&stack, &mut fleet, &tag, &bin("provision")?).await?;
    let fixtures = Arc::new(fixtures);

    let mut warm = Vec::new();
    if cli.runs(Phase::Warm) {
        progress(format_args!(
            "warm latency on loopback: {} invocations per action",
            cli.warm
        ));
        for spec in &ACTIONS {
            if spec.action == Action::SignIn {
                codes::top_up(&stack, &mut fleet, &fixtures, cli.warm + WARM_UP).await?;
            }
            let result =
                warm::warm_run(&stack, &mut fleet, &fixtures, spec.action, cli.warm).await?;
            progress(format_args!(
                "  {}: p50 {:.2} ms p99 {:.2} ms; own p50 {:.2} p99 {:.2}; CPU {:.3} ms/invocation",
                result.action,
                result.function_ms.p50,
                result.function_ms.p99,
                result.overhead_ms.p50,
                result.overhead_ms.p99,
                result.cpu_ms_per_invocation
            ));
            warm.push(result);
        }
    }
    let (mut latency, mut round_trips) = (Vec::new(), Vec::new());
    if cli.runs(Phase::Latency) {
        progress(format_args!(
            "latency under the network model: {} invocations per action",
            cli.latency
        ));
        for spec in ACTIONS.iter().filter(|s| s.action != Action::Floor) {
            if spec.action == Action::SignIn {
                codes::top_up(&stack, &mut fleet, &fixtures, cli.latency + WARM_UP).await?;
            }
            let (result, trips) =
                warm::latency_run(&stack, &mut fleet, &fixtures, spec.action, cli.latency).await?;
            progress(format_args!(
                "  {}: p50 {:.1} ms p99 {:.1} ms, floor {} ms; Stripe {} DynamoDB {} (total / depth)",
                result.action,
                result.function_ms.p50,
                result.function_ms.p99,
                result.floor_ms,
                result.trips.stripe,
                result.trips.dynamo
            ));
            latency.push(result);
            round_trips.push(trips);
        }
    }
    round_trips.extend(one_offs);
    round_trips.push(first);
    let warm_rss: BTreeMap<String, Option<u64>> = FUNCTIONS
        .iter()
        .chain([&FLOOR])
        .map(|f| (f.to_string(), fleet.peak_rss_kib(f)))
        .collect();
    if cli.runs(Phase::Cold) {
        // The first response of each cold sign-in instance uses up a code.
        codes::top_up(&stack, &mut fleet, &fixtures, cli.cold_runs).await?;
    }
    fleet.stop().await;

    let empty_floor = || cold::ColdSamples::default().cold(FLOOR, None);
    let (floor, cold) = if cli.runs(Phase::Cold) {
        progress(format_args!(
            "cold starts: {} per function, interleaved",
            cli.cold_runs
        ));
        cold::cold_runs(&cli.bin_dir, &env, &fixtures, cli.cold_runs).await?
    } else {
        (empty_floor(), Vec::new())
    };

    let size = if cli.runs(Phase::Size) {
        FUNCTIONS
            .iter()
            .chain([&FLOOR])
            .map(|f| size::size_of(f, &cli.bin_dir, &cli.arm64_dir))
            .collect::<Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
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

    let (throughput, throughput_note) = if cli.runs(Phase::Load) {
        let plan = load::Plan {
            cargo_lambda: &cli.cargo_lambda,
            concurrency: &cli.concurrency,
            watch_concurrency: cli.watch_concurrency,
            seconds: cli.load_seconds,
            max_requests: cli.load_max,
        };
        load::throughput(&plan, &env, fixtures.clone()).await?
    } else {
        (
            Vec::new(),
            "skipped (--phases without load, or --no-load)".to_string(),
        )
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
        latency,
        size,
        memory,
        throughput,
        throughput_note,
        targets: Vec::new(),
    };
    results.targets = report::targets(&results);
    tables::write(&cli.out, &results)?;
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
