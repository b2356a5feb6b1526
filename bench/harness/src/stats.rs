//! Percentiles over samples in milliseconds.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub n: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub mean: f64,
    pub max: f64,
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted samples (`p` in 0..=100).
fn rank(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

pub fn summarize(samples: &[f64]) -> Summary {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    Summary {
        n: sorted.len(),
        p50: round(rank(&sorted, 50.0)),
        p90: round(rank(&sorted, 90.0)),
        p99: round(rank(&sorted, 99.0)),
        mean: round(sorted.iter().sum::<f64>() / sorted.len().max(1) as f64),
        max: round(sorted.last().copied().unwrap_or(0.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = summarize(&samples);
        assert_eq!(
            (s.p50, s.p90, s.p99, s.max, s.n),
            (50.0, 90.0, 99.0, 100.0, 100)
        );
        assert_eq!(summarize(&[7.0]).p99, 7.0);
        assert_eq!(summarize(&[]).p50, 0.0);
    }
}
