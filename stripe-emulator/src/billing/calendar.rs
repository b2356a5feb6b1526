//! Calendar arithmetic (UTC), for month and year periods anchored like Stripe's.

/// (year, month 1–12, day 1–31) of a Unix timestamp (proleptic Gregorian, after
/// Howard Hinnant's algorithm).
pub fn civil(ts: i64) -> (i64, i64, i64) {
    let z = ts.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub(super) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) fn days_in_month(y: i64, m: i64) -> i64 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(ny, nm, 1) - days_from_civil(y, m, 1)
}

/// `ts` plus `n` intervals (`day`, `week`, `month`, `year`); month ends clamp
/// (Jan 31 + 1 month = Feb 28/29), as Stripe's billing cycle anchors do.
pub(super) fn add_interval(ts: i64, interval: &str, n: i64) -> i64 {
    let secs = ts.rem_euclid(86_400);
    let months = match interval {
        "day" => return ts + n * 86_400,
        "week" => return ts + n * 7 * 86_400,
        "year" => 12 * n,
        _ => n,
    };
    let (y, m, d) = civil(ts);
    let total = y * 12 + (m - 1) + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) * 86_400 + secs
}

/// The first period boundary after `after`, counting whole intervals from `anchor`.
pub(super) fn next_boundary(anchor: i64, after: i64, interval: &str, count: i64) -> i64 {
    let count = count.max(1);
    let mut k = 1;
    loop {
        let t = add_interval(anchor, interval, k * count);
        if t > after {
            return t;
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_clamp_and_keep_the_time_of_day() {
        // 2026-01-31 10:00:00 UTC
        let jan31 = days_from_civil(2026, 1, 31) * 86_400 + 36_000;
        let feb = add_interval(jan31, "month", 1);
        assert_eq!(civil(feb), (2026, 2, 28));
        assert_eq!(feb.rem_euclid(86_400), 36_000);
        assert_eq!(civil(add_interval(jan31, "month", 2)), (2026, 3, 31));
        assert_eq!(civil(add_interval(jan31, "year", 1)), (2027, 1, 31));
        assert_eq!(add_interval(jan31, "week", 1) - jan31, 7 * 86_400);
        // Anchored boundaries do not drift after a short month.
        assert_eq!(civil(next_boundary(jan31, feb, "month", 1)), (2026, 3, 31));
    }
}
