//! Readers for the quantities an SDL writes as text: CPU units, byte sizes, durations and
//! token amounts. Every reader is exact (integer arithmetic, no floats) and returns a reason
//! the caller puts in its error next to the value seen.

/// Most digits after the decimal point any quantity may carry.
const MAX_FRACTION_DIGITS: usize = 18;

/// `text` (digits, optionally `.` and more digits) times `multiplier`, which must come out a
/// whole number.
fn scaled(text: &str, multiplier: u128) -> Result<u128, String> {
    if text.starts_with('-') {
        return Err("must not be negative".to_string());
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty())
        || !digits_only(whole)
        || !digits_only(fraction)
        || (text.contains('.') && fraction.is_empty())
    {
        return Err("not a number".to_string());
    }
    if fraction.len() > MAX_FRACTION_DIGITS {
        return Err(format!(
            "more than {MAX_FRACTION_DIGITS} digits after the decimal point"
        ));
    }
    let too_large = || "too large".to_string();
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let mut value = whole.checked_mul(multiplier).ok_or_else(too_large)?;
    if !fraction.is_empty() {
        let numerator: u128 = fraction.parse().map_err(|_| too_large())?;
        let denominator = 10u128.pow(fraction.len() as u32);
        let scaled = numerator.checked_mul(multiplier).ok_or_else(too_large)?;
        if scaled % denominator != 0 {
            return Err("has more decimal places than the unit allows".to_string());
        }
        value = value
            .checked_add(scaled / denominator)
            .ok_or_else(too_large)?;
    }
    Ok(value)
}

fn to_u64(value: u128) -> Result<u64, String> {
    u64::try_from(value).map_err(|_| "too large".to_string())
}

/// A plain non-negative integer.
pub fn parse_u64(text: &str) -> Result<u64, String> {
    if text.starts_with('-') {
        return Err("must not be negative".to_string());
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a whole number".to_string());
    }
    text.parse().map_err(|_| "too large".to_string())
}

/// CPU in thousandths of a core: `1`, `0.5`, `"0.25"` (cores) or `"500m"` (millicores).
pub fn parse_cpu_millis(text: &str) -> Result<u64, String> {
    let millis = match text.strip_suffix('m') {
        Some(millis) => parse_u64(millis)? as u128,
        None => scaled(text, 1_000).map_err(|reason| {
            if reason.starts_with("has more decimal") {
                "finer than a thousandth of a core".to_string()
            } else {
                reason
            }
        })?,
    };
    to_u64(millis)
}

/// Byte suffixes: decimal (k, M, G, T, P, E; also written kB, MB...) and binary
/// (Ki, Mi, Gi, Ti, Pi, Ei; also KiB, MiB...).
const SIZE_SUFFIXES: &[(&str, u128)] = &[
    ("Ki", 1 << 10),
    ("Mi", 1 << 20),
    ("Gi", 1 << 30),
    ("Ti", 1 << 40),
    ("Pi", 1 << 50),
    ("Ei", 1 << 60),
    ("k", 1_000),
    ("K", 1_000),
    ("M", 1_000_000),
    ("G", 1_000_000_000),
    ("T", 1_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("E", 1_000_000_000_000_000_000),
];

/// A size in bytes: `1073741824`, `512Mi`, `1Gi`, `128M`, `1.5Gi`, `64MiB`.
pub fn parse_size_bytes(text: &str) -> Result<u64, String> {
    let trimmed = text.strip_suffix('B').unwrap_or(text);
    for (suffix, multiplier) in SIZE_SUFFIXES {
        if let Some(number) = trimmed.strip_suffix(suffix) {
            return scaled(number, *multiplier)
                .map_err(size_reason)
                .and_then(to_u64);
        }
    }
    if trimmed.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(
            "unknown unit (use a number of bytes or a suffix: k M G T, Ki Mi Gi Ti)".to_string(),
        );
    }
    scaled(trimmed, 1).map_err(size_reason).and_then(to_u64)
}

fn size_reason(reason: String) -> String {
    if reason.starts_with("has more decimal") {
        "not a whole number of bytes".to_string()
    } else {
        reason
    }
}

/// A duration in seconds: `3600` or a number with one unit: `90s`, `30m`, `1h`, `30d`, `2w`.
pub fn parse_duration_secs(text: &str) -> Result<u64, String> {
    let units: &[(char, u128)] = &[
        ('s', 1),
        ('m', 60),
        ('h', 3_600),
        ('d', 86_400),
        ('w', 604_800),
    ];
    for (unit, multiplier) in units {
        if let Some(number) = text.strip_suffix(*unit) {
            return scaled(number, *multiplier)
                .map_err(|reason| {
                    if reason.starts_with("has more decimal") {
                        "not a whole number of seconds".to_string()
                    } else {
                        reason
                    }
                })
                .and_then(to_u64);
        }
    }
    if text.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return Err("unknown unit (use seconds or a suffix: s m h d w)".to_string());
    }
    parse_u64(text)
}

/// Base units of the AKASH token per whole token (6 decimals).
pub const BASE_UNITS_PER_AKT: u128 = 1_000_000;

/// A token amount in base units (uakt): `denom` `uakt` takes whole numbers, `akt` up to six
/// decimals.
pub fn parse_amount(text: &str, denom: &str) -> Result<u128, String> {
    let multiplier = match denom {
        "uakt" => 1,
        "akt" => BASE_UNITS_PER_AKT,
        _ => return Err(format!("unsupported denom {denom:?}")),
    };
    scaled(text, multiplier).map_err(|reason| {
        if reason.starts_with("has more decimal") {
            if multiplier == 1 {
                "uakt is the base unit: amounts must be whole numbers".to_string()
            } else {
                "akt has at most 6 decimals".to_string()
            }
        } else {
            reason
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_units() {
        assert_eq!(parse_cpu_millis("1"), Ok(1_000));
        assert_eq!(parse_cpu_millis("0.5"), Ok(500));
        assert_eq!(parse_cpu_millis(".25"), Ok(250));
        assert_eq!(parse_cpu_millis("1.125"), Ok(1_125));
        assert_eq!(parse_cpu_millis("500m"), Ok(500));
        assert_eq!(parse_cpu_millis("2.0"), Ok(2_000));
        assert!(parse_cpu_millis("0.0005").is_err());
        assert!(parse_cpu_millis("-1").is_err());
        assert!(parse_cpu_millis("1.5m").is_err());
        assert!(parse_cpu_millis("one").is_err());
        assert!(parse_cpu_millis("").is_err());
        assert!(parse_cpu_millis("1.").is_err());
        assert!(parse_cpu_millis("1e3").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size_bytes("512Mi"), Ok(512 << 20));
        assert_eq!(parse_size_bytes("1Gi"), Ok(1 << 30));
        assert_eq!(parse_size_bytes("128M"), Ok(128_000_000));
        assert_eq!(parse_size_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size_bytes("2GB"), Ok(2_000_000_000));
        assert_eq!(parse_size_bytes("1.5Gi"), Ok(3 << 29));
        assert_eq!(parse_size_bytes("1k"), Ok(1_000));
        assert_eq!(parse_size_bytes("4096"), Ok(4096));
        assert!(parse_size_bytes("0.5").is_err());
        assert!(parse_size_bytes("12Xi").is_err());
        assert!(parse_size_bytes("-1Gi").is_err());
        assert!(parse_size_bytes("Gi").is_err());
        assert!(parse_size_bytes("100000000Ei").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("3600"), Ok(3_600));
        assert_eq!(parse_duration_secs("1h"), Ok(3_600));
        assert_eq!(parse_duration_secs("30d"), Ok(2_592_000));
        assert_eq!(parse_duration_secs("1.5m"), Ok(90));
        assert_eq!(parse_duration_secs("2w"), Ok(1_209_600));
        assert!(parse_duration_secs("1y").is_err());
        assert!(parse_duration_secs("1.5").is_err());
        assert!(parse_duration_secs("-5s").is_err());
    }

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("100", "uakt"), Ok(100));
        assert_eq!(parse_amount("0.5", "akt"), Ok(500_000));
        assert_eq!(parse_amount("1.000001", "akt"), Ok(1_000_001));
        assert!(parse_amount("0.5", "uakt").is_err());
        assert!(parse_amount("1.0000001", "akt").is_err());
        assert!(parse_amount("-1", "uakt").is_err());
        assert!(parse_amount("10", "usd").is_err());
    }
}
