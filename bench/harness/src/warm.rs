//! Warm invocations, one at a time through the Runtime API: on loopback (our own time
//! beside the dependencies') and under the network model (each action's wall time
//! beside its floor, the critical path's calls at 150 ms per Stripe call and 5 ms per
//! DynamoDB call).

use std::{collections::HashMap, time::Duration};

use crate::{
    Result,
    actions::{Action, Fixtures},
    proxy::{Span, busy_within},
    results::{Latency, Warm},
    runtime::Invocation,
    scenario::Fleet,
    stack::Stack,
    stats::{ms, summarize},
    trips::{RoundTrips, Trips, calls_within},
};

/// Invocations of an action before it is measured: the instance warm, its caches full.
pub const WARM_UP: usize = 3;

async fn warm_up(fleet: &mut Fleet, fx: &Fixtures, action: Action) -> Result<()> {
    for _ in 0..WARM_UP {
        let event = action.request(fx).event();
        fleet
            .instance(action.function())
            .await?
            .invoke(&event)
            .await?;
    }
    Ok(())
}

/// `n` invocations of `action`, one at a time, each handed to `measure` with the
/// proxies' spans of its calls (Stripe, DynamoDB, SES); returns how many answered
/// other than 2xx.
async fn invocations(
    stack: &Stack,
    fleet: &mut Fleet,
    fx: &Fixtures,
    action: Action,
    n: usize,
    mut measure: impl FnMut(&Invocation, Vec<Span>, Vec<Span>, Vec<Span>),
) -> Result<usize> {
    stack.drain();
    let mut errors = 0;
    for _ in 0..n {
        let event = action.request(fx).event();
        let inv = fleet
            .instance(action.function())
            .await?
            .invoke(&event)
            .await?;
        if !(200..300).contains(&inv.status()) {
            errors += 1;
        }
        let ((s, d), m) = stack.drain_all();
        measure(&inv, s, d, m);
    }
    Ok(errors)
}

/// The invocation's time outside every call it made (Stripe, DynamoDB, SES): calls
/// made at once overlap, so this is not its time less the calls' sum.
fn own_time(inv: &Invocation, calls: [&[Span]; 3]) -> Duration {
    let all: Vec<Span> = calls.into_iter().flatten().cloned().collect();
    inv.duration
        .saturating_sub(busy_within(&all, inv.delivered, inv.answered))
}

pub async fn warm_run(
    stack: &Stack,
    fleet: &mut Fleet,
    fx: &Fixtures,
    action: Action,
    n: usize,
) -> Result<Warm> {
    let function = action.function();
    warm_up(fleet, fx, action).await?;
    stack.clear_log().await?;
    let (mut total, mut stripe, mut dynamo, mut mail, mut own) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut stripe_calls, mut dynamo_calls) = (0, 0);
    let cpu_before = fleet.instance(function).await?.cpu_time();
    let errors = invocations(stack, fleet, fx, action, n, |inv, s, d, m| {
        stripe_calls += s.len();
        dynamo_calls += d.len();
        let in_stripe = busy_within(&s, inv.delivered, inv.answered);
        let in_dynamo = busy_within(&d, inv.delivered, inv.answered);
        let in_mail = busy_within(&m, inv.delivered, inv.answered);
        let own_time = own_time(inv, [&s, &d, &m]);
        total.push(ms(inv.duration));
        stripe.push(ms(in_stripe));
        dynamo.push(ms(in_dynamo));
        mail.push(ms(in_mail));
        own.push(ms(own_time));
    })
    .await?;
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
        mail_ms: summarize(&mail),
        overhead_ms: summarize(&own),
        cpu_ms_per_invocation: per(cpu),
        stripe_calls_per_invocation: per(stripe_calls as f64),
        dynamo_calls_per_invocation: per(dynamo_calls as f64),
        emulator_logged_ms: per(logged),
    })
}

/// `n` invocations of `action` with the network model on: wall time, and the calls of
/// each invocation with their critical path. Also the action's row of the round-trip
/// table (the calls most invocations made, beside the minimum).
pub async fn latency_run(
    stack: &Stack,
    fleet: &mut Fleet,
    fx: &Fixtures,
    action: Action,
    n: usize,
) -> Result<(Latency, RoundTrips)> {
    let function = action.function();
    stack.network_model(true);
    warm_up(fleet, fx, action).await?;
    let mut total = Vec::new();
    let mut shapes: HashMap<Trips, (usize, Vec<String>)> = HashMap::new();
    let (mut outside, mut past) = (Vec::new(), Vec::new());
    let errors = invocations(stack, fleet, fx, action, n, |inv, s, d, m| {
        let own = own_time(inv, [&s, &d, &m]);
        outside.push(ms(own));
        let trips = Trips::of(&s, &d, inv.delivered, inv.answered);
        let floor = Duration::from_millis(trips.floor_ms());
        past.push(ms(inv.duration.saturating_sub(own + floor)));
        let shape = shapes
            .entry(trips)
            .or_insert_with(|| (0, calls_within(&s, &d, inv.delivered, inv.answered)));
        shape.0 += 1;
        total.push(ms(inv.duration));
    })
    .await;
    stack.network_model(false);
    let errors = errors?;
    let (trips, (count, calls)) = shapes
        .into_iter()
        .max_by_key(|(_, (count, _))| *count)
        .unwrap_or_default();
    let spec = action.spec();
    Ok((
        Latency {
            action: spec.label.to_string(),
            function: function.to_string(),
            errors,
            function_ms: summarize(&total),
            own_ms: summarize(&outside),
            past_model_ms: summarize(&past),
            trips,
            floor_ms: trips.floor_ms(),
            other_shapes: n - count,
        },
        RoundTrips::new(spec.label, trips, spec.minimum, spec.why, calls),
    ))
}
