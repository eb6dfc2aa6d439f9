//! Checks of user input: order specs, manifest hashes, close reasons, time arithmetic.

use akash_types::market::{
    OrderSpec, MAX_BID_WINDOW_SECS, MAX_CLOSE_REASON_LEN, MAX_LEASE_DURATION_SECS, MAX_ORDER_COUNT,
    MAX_REQUIRED_ATTRIBUTES, MIN_BID_WINDOW_SECS,
};
use akash_types::registry::{MAX_ATTRIBUTE_KEY_LEN, MAX_ATTRIBUTE_VALUE_LEN, MAX_REPUTATION};
use cosmwasm_std::Timestamp;

use crate::error::ContractError;

const NANOS_PER_SEC: u64 = 1_000_000_000;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ContractError {
    ContractError::InvalidOrderSpec {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Validates every field of an order spec; the error names the first bad field.
pub fn validate_spec(spec: &OrderSpec) -> Result<(), ContractError> {
    if spec.count == 0 || spec.count > MAX_ORDER_COUNT {
        return Err(invalid(
            "count",
            format!("must be 1..={MAX_ORDER_COUNT}, got {}", spec.count),
        ));
    }
    if spec.resources.cpu_millis == 0 {
        return Err(invalid("resources.cpu_millis", "must be greater than 0"));
    }
    if spec.resources.memory_bytes == 0 {
        return Err(invalid("resources.memory_bytes", "must be greater than 0"));
    }
    if spec.max_price_per_second.is_zero() {
        return Err(invalid("max_price_per_second", "must be greater than 0"));
    }
    if spec.lease_duration_secs == 0 || spec.lease_duration_secs > MAX_LEASE_DURATION_SECS {
        return Err(invalid(
            "lease_duration_secs",
            format!(
                "must be 1..={MAX_LEASE_DURATION_SECS}, got {}",
                spec.lease_duration_secs
            ),
        ));
    }
    if spec.bid_window_secs < MIN_BID_WINDOW_SECS || spec.bid_window_secs > MAX_BID_WINDOW_SECS {
        return Err(invalid(
            "bid_window_secs",
            format!(
                "must be {MIN_BID_WINDOW_SECS}..={MAX_BID_WINDOW_SECS}, got {}",
                spec.bid_window_secs
            ),
        ));
    }
    let req = &spec.requirements;
    if req.attributes.len() > MAX_REQUIRED_ATTRIBUTES {
        return Err(invalid(
            "requirements.attributes",
            format!(
                "at most {MAX_REQUIRED_ATTRIBUTES} attributes, got {}",
                req.attributes.len()
            ),
        ));
    }
    for (i, attr) in req.attributes.iter().enumerate() {
        if attr.key.is_empty() || attr.key.len() > MAX_ATTRIBUTE_KEY_LEN {
            return Err(invalid(
                "requirements.attributes",
                format!(
                    "key {:?} must be 1..={MAX_ATTRIBUTE_KEY_LEN} bytes",
                    attr.key
                ),
            ));
        }
        if attr.value.len() > MAX_ATTRIBUTE_VALUE_LEN {
            return Err(invalid(
                "requirements.attributes",
                format!(
                    "value of {:?} is longer than {MAX_ATTRIBUTE_VALUE_LEN} bytes",
                    attr.key
                ),
            ));
        }
        // At most 16 entries: the quadratic check is bounded.
        if req.attributes[..i].iter().any(|a| a.key == attr.key) {
            return Err(invalid(
                "requirements.attributes",
                format!("key {:?} appears twice", attr.key),
            ));
        }
    }
    if req.min_reputation > MAX_REPUTATION {
        return Err(invalid(
            "requirements.min_reputation",
            format!("must be 0..={MAX_REPUTATION}, got {}", req.min_reputation),
        ));
    }
    validate_manifest_hash(&spec.manifest_sha256)
}

/// Exactly 64 lowercase hex characters.
pub fn validate_manifest_hash(value: &str) -> Result<(), ContractError> {
    let ok = value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ContractError::InvalidManifestHash {
            value: value.chars().take(80).collect(),
        })
    }
}

/// A close reason must be at most [`MAX_CLOSE_REASON_LEN`] characters.
pub fn validate_reason(reason: &Option<String>) -> Result<(), ContractError> {
    if let Some(r) = reason {
        let len = r.chars().count();
        if len > MAX_CLOSE_REASON_LEN {
            return Err(ContractError::ReasonTooLong {
                len,
                max: MAX_CLOSE_REASON_LEN,
            });
        }
    }
    Ok(())
}

/// `t + secs`, checked (cosmwasm's `plus_seconds` panics on overflow).
pub fn add_secs(t: Timestamp, secs: u64) -> Result<Timestamp, ContractError> {
    secs.checked_mul(NANOS_PER_SEC)
        .and_then(|n| t.nanos().checked_add(n))
        .map(Timestamp::from_nanos)
        .ok_or_else(|| ContractError::TimeOverflow {
            what: format!("{t} + {secs} s"),
        })
}

/// Whole seconds from `from` to `to`; zero if `to` is not after `from`.
pub fn whole_secs_between(from: Timestamp, to: Timestamp) -> u64 {
    to.nanos().saturating_sub(from.nanos()) / NANOS_PER_SEC
}
