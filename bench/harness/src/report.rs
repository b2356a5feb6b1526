//! The report: `RESULTS.md` (tables), `results.json` (everything), `README-snippet.md`
//! (the headline table for the README), plus the targets of issue 8 checked.

use std::{fmt::Write as _, path::Path, time::SystemTime};

use serde::Serialize;

use crate::{Result, Results};

/// Issue 8's limits. Sizes are decimal (1 MB = 1,000,000 bytes), the stricter reading.
const COLD_RATIO: f64 = 1.5;
const OVERHEAD_P99_MS: f64 = 2.0;
const ZIP_BYTES: u64 = 4_000_000;
const RSS_BYTES: u64 = 40_000_000;

#[derive(Debug, Serialize)]
pub struct Target {
    pub target: String,
    pub measured: String,
    pub met: bool,
}

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
    let app_warm = r
        .warm
        .iter()
        .filter(|w| w.function != crate::scenario::FLOOR);
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
        .map(|t| format!("{} {} (allowed {})", t.action, t.count, t.allowed))
        .collect();
    out.push(Target {
        target: "every action at its minimum Stripe round trips".into(),
        measured: if trips.is_empty() {
            format!(
                "{}/{} at the minimum",
                r.round_trips.len(),
                r.round_trips.len()
            )
        } else {
            format!("over: {}", trips.join(", "))
        },
        met: trips.is_empty(),
    });
    let app_sizes = r
        .size
        .iter()
        .filter(|s| s.function != crate::scenario::FLOOR);
    if let Some(s) = app_sizes.clone().max_by_key(|s| s.zip_bytes) {
        out.push(Target {
            target: "zipped package ≤ 4 MB".into(),
            measured: format!("largest {} {}", s.function, mb(s.zip_bytes)),
            met: app_sizes.clone().all(|s| s.zip_bytes <= ZIP_BYTES),
        });
    }
    let rss = |m: &crate::Memory| m.warm_peak_rss_kib.unwrap_or(0).max(m.cold_peak_rss_kib) * 1024;
    let app_memory = r
        .memory
        .iter()
        .filter(|m| m.function != crate::scenario::FLOOR);
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

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn kib_mb(kib: u64) -> String {
    mb(kib * 1024)
}

pub fn write(dir: &Path, r: &Results) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(r)? + "\n",
    )?;
    std::fs::write(dir.join("RESULTS.md"), markdown(r)?)?;
    std::fs::write(dir.join("README-snippet.md"), snippet(r)?)?;
    Ok(())
}

fn machine_line(r: &Results) -> String {
    format!(
        "{} · {} CPUs ({}) · {} MiB RAM · Linux {}",
        r.date, r.machine.nproc, r.machine.cpu, r.machine.memory_mib, r.machine.kernel
    )
}

fn targets_table(out: &mut String, r: &Results) -> std::fmt::Result {
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

fn markdown(r: &Results) -> Result<String> {
    let mut o = String::new();
    writeln!(o, "# Benchmark results\n")?;
    writeln!(
        o,
        "Generated by `make bench` (bench/harness) — do not edit by hand.\n"
    )?;
    writeln!(o, "**{}**\n", machine_line(r))?;
    writeln!(
        o,
        "Release binaries, loopback only: our Runtime API harness, the Stripe emulator and moto server, each behind a timing proxy. Dummy AWS credentials, `AWS_EC2_METADATA_DISABLED=true`.\n"
    )?;
    writeln!(o, "## Targets\n")?;
    targets_table(&mut o, r)?;

    writeln!(
        o,
        "\n## 1. Cold start ({} fresh processes per function, interleaved)\n",
        r.cold_runs
    )?;
    writeln!(
        o,
        "Init = process start → first `GET /runtime/invocation/next` (Lambda's Init Duration). First response = process start → the answer to one real invocation.\n"
    )?;
    writeln!(
        o,
        "| Function | Init median | Init p90 | × floor | First response median | First response p90 | × floor |\n|---|---:|---:|---:|---:|---:|---:|"
    )?;
    for c in std::iter::once(&r.floor).chain(&r.cold) {
        writeln!(
            o,
            "| {}{} | {:.2} ms | {:.2} ms | {:.2} | {:.2} ms | {:.2} ms | {:.2} |",
            c.function,
            if c.function == crate::scenario::FLOOR {
                " (floor)"
            } else {
                ""
            },
            c.init_ms.p50,
            c.init_ms.p90,
            c.init_ratio,
            c.first_response_ms.p50,
            c.first_response_ms.p90,
            c.first_response_ratio
        )?;
    }

    writeln!(
        o,
        "\n## 2. Warm latency ({} invocations per route, one at a time)\n",
        r.warm_invocations
    )?;
    writeln!(
        o,
        "Function = event handed over → answer posted (Lambda's Duration). Stripe and DynamoDB = time the function waited on the emulator / moto (timed by the proxies; the emulator's own logged time per invocation beside it). Own = function − Stripe − DynamoDB: our code, the runtime and the HTTP clients, plus any wait for a CPU (every process of the stack shares this machine's cores). CPU = CPU time the function process used per invocation (all threads, from schedstat): what our code costs, free of waiting.\n"
    )?;
    writeln!(
        o,
        "| Route | Function p50 | Function p99 | Stripe p50 (emulator logged) | DynamoDB p50 | Own p50 | Own p99 | CPU / invocation | Stripe calls | DynamoDB calls | Errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    for w in &r.warm {
        writeln!(
            o,
            "| {} | {:.2} ms | {:.2} ms | {:.2} ms ({:.2}) | {:.2} ms | {:.2} ms | {:.2} ms | {:.3} ms | {} | {} | {} |",
            w.action,
            w.function_ms.p50,
            w.function_ms.p99,
            w.stripe_ms.p50,
            w.emulator_logged_ms,
            w.dynamo_ms.p50,
            w.overhead_ms.p50,
            w.overhead_ms.p99,
            w.cpu_ms_per_invocation,
            w.stripe_calls_per_invocation,
            w.dynamo_calls_per_invocation,
            w.errors
        )?;
    }

    writeln!(
        o,
        "\n## 3. Stripe round trips per user action (emulator request log)\n"
    )?;
    writeln!(
        o,
        "| Action | Calls | Minimum | Allowed | Writes | Requests | |\n|---|---:|---:|---:|---:|---|---|"
    )?;
    for t in &r.round_trips {
        let note = if t.note.is_empty() {
            String::new()
        } else {
            format!(" — {}", t.note)
        };
        writeln!(
            o,
            "| {}{} | {} | {} | {} | {} | {} | {} |",
            t.action,
            note,
            t.count,
            t.minimum,
            t.allowed,
            t.writes,
            if t.calls.is_empty() {
                "—".into()
            } else {
                format!("`{}`", t.calls.join("`, `"))
            },
            if t.ok { "✅" } else { "❌" }
        )?;
    }

    writeln!(o, "\n## 4–5. Size and memory\n")?;
    writeln!(
        o,
        "Zip = the binary as `bootstrap`, deflated: what Lambda downloads. Peak RSS = `VmHWM` after the warm run (all warm actions of that function) and after one cold invocation.\n"
    )?;
    writeln!(
        o,
        "| Function | Binary | Zip | Peak RSS warm | Peak RSS cold |\n|---|---:|---:|---:|---:|"
    )?;
    for s in &r.size {
        let m = r.memory.iter().find(|m| m.function == s.function);
        writeln!(
            o,
            "| {} | {} | {} | {} | {} |",
            s.function,
            mb(s.binary_bytes),
            mb(s.zip_bytes),
            m.and_then(|m| m.warm_peak_rss_kib)
                .map_or("—".into(), kib_mb),
            m.map_or("—".into(), |m| kib_mb(m.cold_peak_rss_kib))
        )?;
    }

    writeln!(o, "\n## 6. Throughput of the local stack\n")?;
    writeln!(o, "{}\n", r.throughput_note)?;
    if !r.throughput.is_empty() {
        writeln!(
            o,
            "| Route | Concurrency | Requests | Errors | Requests/s | p50 | p99 |\n|---|---:|---:|---:|---:|---:|---:|"
        )?;
        for t in &r.throughput {
            writeln!(
                o,
                "| {} | {} | {} | {} | {:.1} | {:.1} ms | {:.1} ms |",
                t.route,
                t.concurrency,
                t.requests,
                t.errors,
                t.requests_per_second,
                t.latency_ms.p50,
                t.latency_ms.p99
            )?;
        }
    }
    Ok(o)
}

fn snippet(r: &Results) -> Result<String> {
    let mut o = String::new();
    writeln!(o, "### Benchmarks (`make bench`)\n")?;
    writeln!(
        o,
        "{}. Full report: [bench/RESULTS.md](bench/RESULTS.md).\n",
        machine_line(r)
    )?;
    writeln!(
        o,
        "| Function | Init (median) | × floor | Warm p50 / p99 | Own p99 | Stripe calls | Zip | Peak RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    )?;
    writeln!(
        o,
        "| hello-world floor | {:.1} ms | 1.00 | | | | {} | |",
        r.floor.init_ms.p50,
        r.size
            .iter()
            .find(|s| s.function == crate::scenario::FLOOR)
            .map_or("—".into(), |s| mb(s.zip_bytes))
    )?;
    for c in &r.cold {
        let w = r.warm.iter().find(|w| w.function == c.function);
        let s = r.size.iter().find(|s| s.function == c.function);
        let m = r.memory.iter().find(|m| m.function == c.function);
        writeln!(
            o,
            "| {} | {:.1} ms | {:.2} | {} | {} | {} | {} | {} |",
            c.function,
            c.init_ms.p50,
            c.init_ratio,
            w.map_or("—".into(), |w| format!(
                "{:.1} / {:.1} ms",
                w.function_ms.p50, w.function_ms.p99
            )),
            w.map_or("—".into(), |w| format!("{:.2} ms", w.overhead_ms.p99)),
            w.map_or("—".into(), |w| format!(
                "{}",
                w.stripe_calls_per_invocation
            )),
            s.map_or("—".into(), |s| mb(s.zip_bytes)),
            m.map(|m| m.warm_peak_rss_kib.unwrap_or(0).max(m.cold_peak_rss_kib))
                .map_or("—".into(), kib_mb)
        )?;
    }
    for t in &r.throughput {
        writeln!(
            o,
            "\nThroughput {}: {:.0} req/s at concurrency {}, {} errors.",
            t.route, t.requests_per_second, t.concurrency, t.errors
        )?;
    }
    writeln!(o)?;
    targets_table(&mut o, r)?;
    Ok(o)
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

pub fn machine() -> crate::Machine {
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
    crate::Machine {
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
