//! What a bench run measured: everything `results.json` holds and the report reads.

use serde::Serialize;

use crate::{
    load::Throughput,
    stats::Summary,
    trips::{RoundTrips, Trips},
};

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
    /// Waiting on moto's SES (proxy-timed): the owner's email of a click, sign-in codes.
    pub mail_ms: Summary,
    /// The function's time outside every dependency call (overlapping calls counted
    /// once): our own code, runtime and HTTP clients, plus any wait for a CPU.
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
    /// The arm64 build the template deploys (`cargo lambda build --release --arm64`),
    /// when it was found.
    pub arm64_binary_bytes: Option<u64>,
    pub arm64_zip_bytes: Option<u64>,
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
    pub round_trips: Vec<RoundTrips>,
    pub latency: Vec<Latency>,
    pub size: Vec<Size>,
    pub memory: Vec<Memory>,
    pub throughput: Vec<Throughput>,
    pub throughput_note: String,
    pub targets: Vec<Target>,
}

/// One action under the network model (Stripe 150 ms, DynamoDB 5 ms on every call).
#[derive(Debug, Serialize)]
pub struct Latency {
    pub action: String,
    pub function: String,
    pub errors: usize,
    /// Lambda's Duration of each invocation.
    pub function_ms: Summary,
    /// The part of it outside every dependency call (Stripe, DynamoDB, SES): ours. The
    /// rest of `function_ms − floor_ms` is the local services taking longer than the
    /// model (a proxy holds a call for the model's time, or longer if the service is
    /// slower: moto's writes take 5–10 ms on this machine).
    pub own_ms: Summary,
    /// Wall time − own time − the invocation's floor: the time its calls took past the
    /// model (the local services slower than it, or a proxy's padding waking late).
    pub past_model_ms: Summary,
    /// The calls most invocations made (total, critical path).
    pub trips: Trips,
    /// What the critical path costs under the model: the least any code could take.
    pub floor_ms: u64,
    /// Invocations whose calls differed from `trips`.
    pub other_shapes: usize,
}

/// One target of the report, and whether this run met it.
#[derive(Debug, Serialize)]
pub struct Target {
    pub target: String,
    pub measured: String,
    pub met: bool,
}
