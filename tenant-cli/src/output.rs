//! Plain-text output: aligned tables, amounts, sizes, durations and times.

use std::fmt::Write as _;

use akash_chain_client::{Timestamp, Uint128};
use akash_types::common::ResourceUnits;

/// Name of the token's base unit in output.
pub const DENOM: &str = "uakt";

/// A table with a header row; columns are left-aligned and padded to their widest cell.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i + 1 < row.len() {
                    let _ = write!(line, "{cell:<width$}  ", width = widths[i]);
                } else {
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

pub fn amount(value: Uint128) -> String {
    format!("{value} {DENOM}")
}

pub fn rate(value: Uint128) -> String {
    format!("{value} {DENOM}/s")
}

/// Bytes with a binary unit when exact enough: `64 MiB`, `1.5 GiB`, `100 B`.
pub fn bytes(value: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if value < 1024 {
        return format!("{value} B");
    }
    let mut scaled = value as f64;
    let mut unit = "B";
    for next in UNITS {
        if scaled < 1024.0 {
            break;
        }
        scaled /= 1024.0;
        unit = next;
    }
    if scaled.fract() == 0.0 {
        format!("{scaled:.0} {unit}")
    } else {
        format!("{scaled:.2} {unit}")
    }
}

/// CPU thousandths of a core: `100m`, `2 cores`.
pub fn cpu(millis: u64) -> String {
    if millis / 1000 * 1000 == millis {
        let cores = millis / 1000;
        format!("{cores} core{}", if cores == 1 { "" } else { "s" })
    } else {
        format!("{millis}m")
    }
}

pub fn resources(unit: &ResourceUnits) -> String {
    let mut text = format!(
        "cpu {}, memory {}, storage {}",
        cpu(unit.cpu_millis),
        bytes(unit.memory_bytes),
        bytes(unit.storage_bytes)
    );
    if unit.bandwidth_bytes_per_sec > 0 {
        let _ = write!(
            text,
            ", bandwidth {}/s",
            bytes(unit.bandwidth_bytes_per_sec)
        );
    }
    text
}

/// Seconds as the largest units that divide them: `30s`, `1h`, `1h30m`, `30d`.
pub fn duration(secs: u64) -> String {
    if secs == 0 {
        return "0s".to_string();
    }
    let mut rest = secs;
    let mut text = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if rest >= size {
            let _ = write!(text, "{}{unit}", rest / size);
            rest %= size;
        }
    }
    text
}

/// `then` relative to `now`: `in 25s`, `3m10s ago`, `now`.
pub fn relative(then: Timestamp, now: Timestamp) -> String {
    let (then, now) = (then.seconds(), now.seconds());
    match then.cmp(&now) {
        std::cmp::Ordering::Equal => "now".to_string(),
        std::cmp::Ordering::Greater => format!("in {}", duration(then - now)),
        std::cmp::Ordering::Less => format!("{} ago", duration(now - then)),
    }
}

/// UTC date and time of a timestamp, `2026-11-25 14:03:07Z`.
pub fn utc(time: Timestamp) -> String {
    let secs = time.seconds();
    let days = (secs / 86_400) as i64;
    let of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A long address shortened for tables: `wasm1quyy…c50de3ue`.
pub fn short_address(address: &str) -> String {
    if address.chars().count() <= 24 {
        return address.to_string();
    }
    let head: String = address.chars().take(10).collect();
    let tail: String = address
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let mut table = Table::new(["ID", "STATE"]);
        table.row(["1", "open"]);
        table.row(["12", "matched"]);
        assert_eq!(table.render(), "ID  STATE\n1   open\n12  matched\n");
    }

    #[test]
    fn units_format() {
        assert_eq!(bytes(64 << 20), "64 MiB");
        assert_eq!(bytes(1536 << 20), "1.50 GiB");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(cpu(100), "100m");
        assert_eq!(cpu(2000), "2 cores");
        assert_eq!(duration(3600), "1h");
        assert_eq!(duration(5400), "1h30m");
        assert_eq!(duration(30), "30s");
        assert_eq!(
            relative(Timestamp::from_seconds(100), Timestamp::from_seconds(70)),
            "in 30s"
        );
        assert_eq!(
            relative(Timestamp::from_seconds(10), Timestamp::from_seconds(70)),
            "1m ago"
        );
        assert_eq!(utc(Timestamp::from_seconds(0)), "1970-01-01 00:00:00Z");
        assert_eq!(
            utc(Timestamp::from_seconds(1_764_080_000)),
            "2025-11-25 14:13:20Z"
        );
        assert_eq!(
            short_address("wasm1quyynap5nwhuwz8cd58mfecz2j40azc50de3ue"),
            "wasm1quyyn…c50de3ue"
        );
    }
}
