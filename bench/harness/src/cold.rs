//! Cold starts: fresh processes against our Runtime API, interleaved round-robin, each
//! timed to its first `GET /next` (Init Duration) and to its first answer.

use std::{collections::BTreeMap, path::Path};

use crate::{
    Result,
    actions::{Action, FLOOR, FUNCTIONS, Fixtures},
    events::cfn_create,
    progress,
    results::Cold,
    runtime::Instance,
    stack,
    stats::{ms, summarize},
};

/// The event a cold instance of `function` gets first.
fn first_event(function: &str, fx: &Fixtures, instance: &Instance) -> serde_json::Value {
    if function == "provision" {
        return cfn_create(&format!("http://{}/cfn-response", instance.runtime_addr));
    }
    Action::first_of(function).request(fx).event()
}

#[derive(Default)]
pub struct ColdSamples {
    init: Vec<f64>,
    first_response: Vec<f64>,
    peak_rss_kib: u64,
    errors: usize,
}

impl ColdSamples {
    pub fn cold(&self, function: &str, floor: Option<&Cold>) -> Cold {
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

pub async fn cold_runs(
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
