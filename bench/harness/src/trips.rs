//! Round trips per user action, for both dependencies: how many calls to Stripe and to
//! DynamoDB an action makes, and how many of them lie one after another on its critical
//! path (its sequential depth), beside the minimum the action needs.
//!
//! The critical path is read from the proxies' spans of one invocation: the chain of
//! calls, each starting after the previous one answered, that costs the most under the
//! network model ([`STRIPE_MS`] per Stripe call, [`DYNAMO_MS`] per DynamoDB call). Calls
//! that overlap ran concurrently and count once. Measured with the model's delays
//! injected, so "overlap" is never a matter of microseconds.

use std::time::Instant;

use serde::Serialize;

use crate::proxy::Span;

/// The network model of the latency phase (issue 16): a Stripe call from AWS.
pub const STRIPE_MS: u64 = 150;
/// A DynamoDB call within a region.
pub const DYNAMO_MS: u64 = 5;

/// Calls to one dependency: all of them, and those on the critical path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Calls {
    pub total: usize,
    pub depth: usize,
}

impl Calls {
    pub const fn new(total: usize, depth: usize) -> Self {
        Calls { total, depth }
    }

    /// No more calls and no deeper than `max`.
    pub fn within(self, max: Calls) -> bool {
        self.total <= max.total && self.depth <= max.depth
    }
}

impl std::fmt::Display for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.total, self.depth)
    }
}

/// Stripe and DynamoDB calls of one invocation (or what an action needs at least).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Trips {
    pub stripe: Calls,
    pub dynamo: Calls,
}

impl Trips {
    pub const fn new(stripe: (usize, usize), dynamo: (usize, usize)) -> Self {
        Trips {
            stripe: Calls::new(stripe.0, stripe.1),
            dynamo: Calls::new(dynamo.0, dynamo.1),
        }
    }

    /// What the network model makes a customer wait at least: the critical path's calls.
    pub fn floor_ms(&self) -> u64 {
        self.stripe.depth as u64 * STRIPE_MS + self.dynamo.depth as u64 * DYNAMO_MS
    }

    pub fn within(&self, minimum: &Trips) -> bool {
        self.stripe.within(minimum.stripe) && self.dynamo.within(minimum.dynamo)
    }

    /// The calls of both proxies inside `[from, to]`, and the critical path through them.
    pub fn of(stripe: &[Span], dynamo: &[Span], from: Instant, to: Instant) -> Trips {
        let inside = |spans: &[Span]| -> Vec<(Instant, Instant)> {
            spans
                .iter()
                .filter(|s| s.start >= from && s.end <= to)
                .map(|s| (s.start, s.end))
                .collect()
        };
        let (s, d) = (inside(stripe), inside(dynamo));
        let (stripe_depth, dynamo_depth) = critical_path(&s, &d);
        Trips {
            stripe: Calls::new(s.len(), stripe_depth),
            dynamo: Calls::new(d.len(), dynamo_depth),
        }
    }
}

/// The heaviest chain of non-overlapping calls (each starts once the one before has
/// answered), weighted by the network model: its (Stripe, DynamoDB) call counts.
pub fn critical_path(
    stripe: &[(Instant, Instant)],
    dynamo: &[(Instant, Instant)],
) -> (usize, usize) {
    let mut calls: Vec<(Instant, Instant, bool)> = stripe
        .iter()
        .map(|&(s, e)| (s, e, true))
        .chain(dynamo.iter().map(|&(s, e)| (s, e, false)))
        .collect();
    calls.sort_by_key(|&(start, end, _)| (start, end));
    // best[i]: (weight, stripe, dynamo) of the heaviest chain ending with call i.
    let mut best: Vec<(u64, usize, usize)> = Vec::with_capacity(calls.len());
    for (i, &(start, _, is_stripe)) in calls.iter().enumerate() {
        let before = (0..i)
            .filter(|&j| calls[j].1 <= start)
            .map(|j| best[j])
            .max_by_key(|b| b.0)
            .unwrap_or((0, 0, 0));
        best.push(if is_stripe {
            (before.0 + STRIPE_MS, before.1 + 1, before.2)
        } else {
            (before.0 + DYNAMO_MS, before.1, before.2 + 1)
        });
    }
    best.iter()
        .max_by_key(|b| b.0)
        .map_or((0, 0), |&(_, s, d)| (s, d))
}

/// The calls one action made, beside its minimum.
#[derive(Debug, Clone, Serialize)]
pub struct RoundTrips {
    pub action: String,
    pub measured: Trips,
    pub minimum: Trips,
    /// Why the minimum is what it is.
    pub note: String,
    /// The requests, in order (`POST /v1/customers`, `GetItem`, …).
    pub calls: Vec<String>,
    pub ok: bool,
}

impl RoundTrips {
    pub fn new(
        action: &str,
        measured: Trips,
        minimum: Trips,
        note: &str,
        calls: Vec<String>,
    ) -> Self {
        RoundTrips {
            action: action.to_string(),
            ok: measured.within(&minimum),
            measured,
            minimum,
            note: note.to_string(),
            calls,
        }
    }

    /// The action did not succeed, so its calls could not be counted.
    pub fn failed(action: &str, error: &str) -> Self {
        RoundTrips {
            action: action.to_string(),
            measured: Trips::default(),
            minimum: Trips::default(),
            note: format!("FAILED: {error}"),
            calls: Vec::new(),
            ok: false,
        }
    }
}

/// The requests of both proxies inside `[from, to]`, in the order they started.
pub fn calls_within(stripe: &[Span], dynamo: &[Span], from: Instant, to: Instant) -> Vec<String> {
    let mut inside: Vec<&Span> = stripe
        .iter()
        .chain(dynamo)
        .filter(|s| s.start >= from && s.end <= to)
        .collect();
    inside.sort_by_key(|s| s.start);
    inside.iter().map(|s| s.what.clone()).collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn concurrent_calls_count_once_on_the_critical_path() {
        let t = Instant::now();
        let at = |a: u64, b: u64| (t + Duration::from_millis(a), t + Duration::from_millis(b));
        // User read (0–5) beside the Stripe read (0–150), then a write (151–156).
        assert_eq!(
            critical_path(&[at(0, 150)], &[at(0, 5), at(151, 156)]),
            (1, 1)
        );
        // Claim read, Stripe, then the claim and the user written at once.
        assert_eq!(
            critical_path(&[at(6, 156)], &[at(0, 5), at(157, 162), at(157, 163)]),
            (1, 2)
        );
        // Everything one after another.
        assert_eq!(
            critical_path(&[at(6, 156)], &[at(0, 5), at(157, 162), at(163, 168)]),
            (1, 3)
        );
        // A chain of DynamoDB calls outweighed by one Stripe call beside it.
        assert_eq!(
            critical_path(&[at(0, 150)], &[at(0, 5), at(6, 11), at(12, 17)]),
            (1, 0)
        );
        assert_eq!(critical_path(&[], &[]), (0, 0));
        let trips = Trips::new((1, 1), (3, 2));
        assert_eq!(trips.floor_ms(), 160);
        assert!(trips.within(&Trips::new((1, 1), (3, 2))));
        assert!(!trips.within(&Trips::new((1, 1), (3, 1))));
    }
}
