//! The targets checked (issues 8 and 16) and the figures' formatting; the files
//! (`RESULTS.md`, `results.json`, `README-snippet.md`) are written by [`crate::tables`].

use std::{fmt::Write as _, time::SystemTime};

use crate::{
    actions::FLOOR,
    results::{Memory, Results, Target},
};

/// The limits. Sizes are decimal (1 MB = 1,000,000 bytes), the stricter reading.
const COLD_RATIO: f64 = 1.5;
const OVERHEAD_P99_MS: f64 = 2.0;
/// Under the network model, p99 may exceed the action's floor by this much.
pub const LATENCY_SLACK_MS: f64 = 3.0;
const ZIP_BYTES: u64 = 4_000_000;
const RSS_BYTES: u64 = 40_000_000;

pub fn targets(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let worst_cold = r
        .cold
        .iter()
        .max_by(|a, b| a.init_ratio.total_cmp(&b.init_ratio));
    if let Some(c) = worst_cold {
        let misses: Vec<String> = r
            .cold
            .iter()
            .filter(|c| c.init_ratio > COLD_RATIO)
            .map(|c| format!("{} {:.2}×", c.function, c.init_ratio))
            .collect();
        out.push(Target {
            target: format!("cold init (median) ≤ {COLD_RATIO}× the hello-world floor"),
            measured: if misses.is_empty() {
                format!(
                    "worst {} {:.2}× ({:.1} ms vs {:.1} ms)",
                    c.function, c.init_ratio, c.init_ms.p50, r.floor.init_ms.p50
                )
            } else {
                format!("over: {}", misses.join(", "))
            },
            met: misses.is_empty(),
        });
    }
    let app_warm = r.warm.iter().filter(|w| w.function != FLOOR);
    if let Some(w) = app_warm
        .clone()
        .max_by(|a, b| a.overhead_ms.p99.total_cmp(&b.overhead_ms.p99))
    {
        let misses: Vec<String> = app_warm
            .clone()
            .filter(|w| w.overhead_ms.p99 > OVERHEAD_P99_MS)
            .map(|w| format!("{} {:.2} ms", w.action, w.overhead_ms.p99))
            .collect();
        out.push(Target {
            target: format!("own warm overhead p99 ≤ {OVERHEAD_P99_MS} ms"),
            measured: if misses.is_empty() {
                format!("worst {} {:.2} ms", w.action, w.overhead_ms.p99)
            } else {
                format!("over: {}", misses.join(", "))
            },
            met: misses.is_empty(),
        });
    }
    let trips: Vec<String> = r
        .round_trips
        .iter()
        .filter(|t| !t.ok)
        .map(|t| {
            format!(
                "{}: Stripe {}, DynamoDB {} (minimum {}, {})",
                t.action, t.measured.stripe, t.measured.dynamo, t.minimum.stripe, t.minimum.dynamo
            )
        })
        .collect();
    out.push(Target {
        target: "every action at its minimum Stripe and DynamoDB calls (total and critical path)"
            .into(),
        measured: if trips.is_empty() {
            format!(
                "{}/{} at the minimum",
                r.round_trips.len(),
                r.round_trips.len()
            )
        } else {
            format!("over: {}", trips.join("; "))
        },
        met: trips.is_empty(),
    });
    if !r.latency.is_empty() {
        let over: Vec<String> = r
            .latency
            .iter()
            .filter(|l| l.function_ms.p99 > l.floor_ms as f64 + LATENCY_SLACK_MS)
            .map(|l| {
                format!(
                    "{} {:.1} ms (floor {} ms)",
                    l.action, l.function_ms.p99, l.floor_ms
                )
            })
            .collect();
        let worst = r
            .latency
            .iter()
            .max_by(|a, b| {
                (a.function_ms.p99 - a.floor_ms as f64)
                    .total_cmp(&(b.function_ms.p99 - b.floor_ms as f64))
            })
            .map(|l| {
                format!(
                    "worst {} +{:.1} ms",
                    l.action,
                    l.function_ms.p99 - l.floor_ms as f64
                )
            })
            .unwrap_or_default();
        out.push(Target {
            target: format!(
                "p99 ≤ floor + {LATENCY_SLACK_MS} ms under the network model (Stripe 150 ms, DynamoDB 5 ms)"
            ),
            measured: if over.is_empty() { worst } else { format!("over: {}", over.join(", ")) },
            met: over.is_empty(),
        });
    }
    let app_sizes = r.size.iter().filter(|s| s.function != FLOOR);
    if let Some(s) = app_sizes.clone().max_by_key(|s| s.zip_bytes) {
        let arm64 = app_sizes
            .clone()
            .filter_map(|s| Some((s, s.arm64_zip_bytes?)));
        let arm64_worst = arm64.clone().max_by_key(|(_, z)| *z);
        let arm64_all = arm64.clone().count() == app_sizes.clone().count();
        out.push(Target {
            target: "zipped package ≤ 4 MB (x86_64 and arm64)".into(),
            measured: format!(
                "largest x86_64 {} {}; arm64 {}",
                s.function,
                mb(s.zip_bytes),
                match arm64_worst {
                    Some((a, z)) if arm64_all => format!("{} {}", a.function, mb(z)),
                    _ => "not built (scripts/deploy-check.sh build)".into(),
                }
            ),
            met: arm64_all
                && app_sizes.clone().all(|s| {
                    s.zip_bytes <= ZIP_BYTES && s.arm64_zip_bytes.is_some_and(|z| z <= ZIP_BYTES)
                }),
        });
    }
    let rss = |m: &Memory| m.warm_peak_rss_kib.unwrap_or(0).max(m.cold_peak_rss_kib) * 1024;
    let app_memory = r.memory.iter().filter(|m| m.function != FLOOR);
    if let Some(m) = app_memory.clone().max_by_key(|m| rss(m)) {
        out.push(Target {
            target: "peak RSS ≤ 40 MB".into(),
            measured: format!("highest {} {}", m.function, mb(rss(m))),
            met: app_memory.clone().all(|m| rss(m) <= RSS_BYTES),
        });
    }
    let failed: Vec<String> = r
        .cold
        .iter()
        .filter(|c| c.errors > 0)
        .map(|c| format!("cold {} {}", c.function, c.errors))
        .chain(
            r.warm
                .iter()
                .filter(|w| w.errors > 0)
                .map(|w| format!("warm {} {}", w.action, w.errors)),
        )
        .chain(
            r.latency
                .iter()
                .filter(|l| l.errors > 0)
                .map(|l| format!("network model {} {}", l.action, l.errors)),
        )
        .collect();
    out.push(Target {
        target: "every cold and warm invocation answered 2xx".into(),
        measured: if failed.is_empty() {
            "no errors".into()
        } else {
            format!("errors: {}", failed.join(", "))
        },
        met: failed.is_empty(),
    });
    if !r.throughput.is_empty() {
        let errors: usize = r.throughput.iter().map(|t| t.errors).sum();
        out.push(Target {
            target: "throughput runs without errors".into(),
            measured: format!(
                "{errors} errors in {} requests",
                r.throughput.iter().map(|t| t.requests).sum::<usize>()
            ),
            met: errors == 0,
        });
    }
    out
}

pub fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

pub fn kib_mb(kib: u64) -> String {
    mb(kib * 1024)
}

pub fn machine_line(r: &Results) -> String {
    format!(
        "{} · {} CPUs ({}) · {} MiB RAM · Linux {}",
        r.date, r.machine.nproc, r.machine.cpu, r.machine.memory_mib, r.machine.kernel
    )
}

pub fn targets_table(out: &mut String, r: &Results) -> std::fmt::Result {
    writeln!(out, "| Target | Measured | |\n|---|---|---|")?;
    for t in &r.targets {
        writeln!(
            out,
            "| {} | {} | {} |",
            t.target,
            t.measured,
            if t.met { "✅" } else { "❌" }
        )?;
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM UTC` from the system clock.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub fn machine() -> crate::results::Machine {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_string(), |(_, v)| v.trim().to_string());
    let memory_mib = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib / 1024);
    crate::results::Machine {
        nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
        cpu,
        memory_mib,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
    }
}
