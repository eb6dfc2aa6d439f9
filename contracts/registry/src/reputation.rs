//! The reputation score (basis points, 0..=10_000) from fulfilment history and stake.
//! The formula is documented in the crate README.

use akash_types::registry::{FulfilmentHistory, MAX_REPUTATION};
use cosmwasm_std::{OverflowError, OverflowOperation, StdError, StdResult, Uint128};

const BPS: u128 = MAX_REPUTATION as u128;
const HISTORY_WEIGHT: u128 = 7;
const STAKE_WEIGHT: u128 = 3;
const TOTAL_WEIGHT: u128 = HISTORY_WEIGHT + STAKE_WEIGHT;

fn overflow(op: OverflowOperation) -> StdError {
    StdError::overflow(OverflowError::new(op))
}

fn add(a: u128, b: u128) -> StdResult<u128> {
    a.checked_add(b)
        .ok_or_else(|| overflow(OverflowOperation::Add))
}

fn mul(a: u128, b: u128) -> StdResult<u128> {
    a.checked_mul(b)
        .ok_or_else(|| overflow(OverflowOperation::Mul))
}

fn div(a: u128, b: u128) -> StdResult<u128> {
    a.checked_div(b)
        .ok_or_else(|| StdError::generic_err("reputation: division by zero"))
}

/// `10_000 * (good + 1) / (ended + 2)` where ended = completed + closed_by_tenant +
/// closed_by_provider and good = completed + closed_by_tenant (Laplace smoothing: no history
/// gives 5_000).
pub fn history_bps(history: &FulfilmentHistory) -> StdResult<u128> {
    let good = add(
        u128::from(history.leases_completed),
        u128::from(history.leases_closed_by_tenant),
    )?;
    let ended = add(good, u128::from(history.leases_closed_by_provider))?;
    div(mul(BPS, add(good, 1)?)?, add(ended, 2)?)
}

/// `10_000 * min(stake, full) / full` (rounded down), or 10_000 when `full` is zero.
pub fn stake_bps(stake: Uint128, stake_for_full_reputation: Uint128) -> StdResult<u128> {
    if stake_for_full_reputation.is_zero() {
        return Ok(BPS);
    }
    // 256-bit intermediate: stake and the full amount may be anywhere up to u128::MAX.
    let bps = Uint128::new(BPS)
        .checked_multiply_ratio(
            stake.min(stake_for_full_reputation),
            stake_for_full_reputation,
        )
        .map_err(|e| StdError::generic_err(format!("reputation: {e}")))?;
    Ok(bps.u128())
}

/// `(7 * history_bps + 3 * stake_bps) / 10`, in 0..=10_000.
pub fn score(
    history: &FulfilmentHistory,
    stake: Uint128,
    stake_for_full_reputation: Uint128,
) -> StdResult<u32> {
    let weighted = add(
        mul(HISTORY_WEIGHT, history_bps(history)?)?,
        mul(STAKE_WEIGHT, stake_bps(stake, stake_for_full_reputation)?)?,
    )?;
    let score = div(weighted, TOTAL_WEIGHT)?;
    u32::try_from(score)
        .map_err(|_| StdError::generic_err(format!("reputation {score} overflows u32")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(completed: u64, by_tenant: u64, by_provider: u64) -> FulfilmentHistory {
        FulfilmentHistory {
            leases_started: completed
                .saturating_add(by_tenant)
                .saturating_add(by_provider),
            leases_active: 0,
            leases_completed: completed,
            leases_closed_by_tenant: by_tenant,
            leases_closed_by_provider: by_provider,
        }
    }

    #[test]
    fn history_part_is_laplace_smoothed() {
        assert_eq!(history_bps(&FulfilmentHistory::default()), Ok(5_000));
        // 1 good of 1: 2/3.
        assert_eq!(history_bps(&history(1, 0, 0)), Ok(6_666));
        // A tenant closing early counts as good.
        assert_eq!(history_bps(&history(0, 1, 0)), Ok(6_666));
        // 1 bad of 1: 1/3.
        assert_eq!(history_bps(&history(0, 0, 1)), Ok(3_333));
        // 8 good, 2 bad: 9/12.
        assert_eq!(history_bps(&history(6, 2, 2)), Ok(7_500));
        // 98 good: 99/100.
        assert_eq!(history_bps(&history(98, 0, 0)), Ok(9_900));
        // 0 good of 98: 1/100.
        assert_eq!(history_bps(&history(0, 0, 98)), Ok(100));
        // Active leases do not count.
        let mut active = history(1, 0, 0);
        active.leases_active = 50;
        assert_eq!(history_bps(&active), Ok(6_666));
        // Extreme counters do not overflow the u128 intermediates.
        assert_eq!(history_bps(&history(u64::MAX, u64::MAX, 0)), Ok(9_999));
        assert_eq!(history_bps(&history(0, 0, u64::MAX)), Ok(0));
    }

    #[test]
    fn stake_part_is_capped() {
        let full = Uint128::new(1_000_000);
        assert_eq!(stake_bps(Uint128::zero(), full), Ok(0));
        assert_eq!(stake_bps(Uint128::new(250_000), full), Ok(2_500));
        assert_eq!(stake_bps(Uint128::new(333_333), full), Ok(3_333));
        assert_eq!(stake_bps(full, full), Ok(10_000));
        assert_eq!(stake_bps(Uint128::MAX, full), Ok(10_000));
        assert_eq!(stake_bps(Uint128::zero(), Uint128::zero()), Ok(10_000));
        assert_eq!(stake_bps(Uint128::MAX, Uint128::MAX), Ok(10_000));
        assert_eq!(stake_bps(Uint128::new(1), Uint128::MAX), Ok(0));
    }

    #[test]
    fn score_weights_history_seven_tenths() {
        let full = Uint128::new(1_000);
        // New provider, no stake: 0.7 * 5000.
        assert_eq!(
            score(&FulfilmentHistory::default(), Uint128::zero(), full),
            Ok(3_500)
        );
        // New provider, full stake: 0.7 * 5000 + 0.3 * 10000.
        assert_eq!(score(&FulfilmentHistory::default(), full, full), Ok(6_500));
        // 8 good / 2 bad, half stake: (7 * 7500 + 3 * 5000) / 10.
        assert_eq!(score(&history(6, 2, 2), Uint128::new(500), full), Ok(6_750));
        // (7 * 6666 + 3 * 10000) / 10 = 7666.2 -> 7666.
        assert_eq!(score(&history(1, 0, 0), full, full), Ok(7_666));
        // Best possible is bounded by MAX_REPUTATION.
        let best = score(&history(u64::MAX, 0, 0), Uint128::MAX, full).unwrap();
        assert_eq!(best, 9_999);
        assert!(best <= MAX_REPUTATION);
        assert_eq!(
            score(&history(0, 0, u64::MAX), Uint128::zero(), full),
            Ok(0)
        );
    }
}
