//! Staking through the real token: unbonding and claims, the claim limit, slashing of stake and
//! pending claims, and cw4 weights that follow the stake.

use akash_types::staking::MAX_CLAIMS_PER_ADDRESS;
use cosmwasm_std::Decimal;

use crate::assert_err;
use crate::suite::{StakingError, Suite};

const UNBONDING: u64 = 1_000;

fn suite() -> Suite {
    Suite::builder()
        .with_providers(2)
        .with_provider_balance(100_000)
        .with_unbonding_period(UNBONDING)
        .with_tokens_per_weight(1_000)
        .build()
}

#[test]
fn unbonded_tokens_are_claimable_after_the_unbonding_period() {
    let mut suite = suite();
    let provider = suite.provider(0);
    suite.stake(&provider, 10_000).unwrap();
    assert_eq!(suite.balance(&provider), 90_000);

    let unbonded_at = suite.now_secs();
    suite.unbond(&provider, 3_000).unwrap();
    assert_eq!(suite.stake_of(&provider), 7_000);
    let claims = suite.claims(&provider);
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].amount.u128(), 3_000);
    assert_eq!(claims[0].release_at.seconds(), unbonded_at + UNBONDING);
    // Unbonding moves no tokens: the claim is still held by staking.
    assert_eq!(suite.balance(&suite.staking), 10_000);

    suite.advance_secs(UNBONDING - 1);
    assert_err!(suite.claim(&provider), StakingError::NothingToClaim { .. });
    assert_eq!(suite.balance(&provider), 90_000);

    suite.advance_secs(1);
    suite.claim(&provider).unwrap();
    assert_eq!(suite.balance(&provider), 93_000);
    assert_eq!(suite.balance(&suite.staking), 7_000);
    assert!(suite.claims(&provider).is_empty());
    assert_err!(suite.claim(&provider), StakingError::NothingToClaim { .. });
}

#[test]
fn claims_mature_one_by_one() {
    let mut suite = suite();
    let provider = suite.provider(0);
    suite.stake(&provider, 10_000).unwrap();
    suite.unbond(&provider, 1_000).unwrap();
    suite.advance_secs(300);
    suite.unbond(&provider, 2_000).unwrap();
    suite.advance_secs(UNBONDING - 300);
    suite.claim(&provider).unwrap();
    assert_eq!(suite.balance(&provider), 91_000);
    assert_eq!(suite.pending_claims_total(&provider), 2_000);
    suite.advance_secs(300);
    suite.claim(&provider).unwrap();
    assert_eq!(suite.balance(&provider), 93_000);
    assert_eq!(suite.stake_of(&provider), 7_000);
}

#[test]
fn unbond_is_bounded_by_stake_and_claim_limit() {
    let mut suite = suite();
    let provider = suite.provider(0);
    suite.stake(&provider, 10_000).unwrap();
    assert_err!(
        suite.unbond(&provider, 10_001),
        StakingError::InsufficientStake { .. }
    );
    assert_err!(suite.unbond(&provider, 0), StakingError::ZeroAmount {});

    for _ in 0..MAX_CLAIMS_PER_ADDRESS {
        suite.unbond(&provider, 10).unwrap();
        suite.advance_secs(1);
    }
    assert_eq!(suite.claims(&provider).len(), MAX_CLAIMS_PER_ADDRESS);
    assert_err!(
        suite.unbond(&provider, 10),
        StakingError::TooManyClaims { .. }
    );
    let unbonded = 10 * MAX_CLAIMS_PER_ADDRESS as u128;
    assert_eq!(suite.stake_of(&provider), 10_000 - unbonded);

    // Once the first claim matures there is room again.
    suite.advance_secs(UNBONDING - MAX_CLAIMS_PER_ADDRESS as u64);
    suite.unbond(&provider, 10).unwrap();
    suite.claim(&provider).unwrap();
    assert_eq!(suite.balance(&provider), 90_000 + 10);
}

#[test]
fn slashing_takes_stake_and_pending_claims_to_the_destination() {
    let mut suite = suite();
    let (provider, bystander) = (suite.provider(0), suite.provider(1));
    let destination = suite.slash_destination.clone();
    suite.stake(&provider, 10_000).unwrap();
    suite.stake(&bystander, 5_000).unwrap();
    suite.unbond(&provider, 4_000).unwrap();

    suite.slash(&provider, Decimal::percent(50)).unwrap();
    assert_eq!(suite.stake_of(&provider), 3_000);
    assert_eq!(suite.pending_claims_total(&provider), 2_000);
    assert_eq!(suite.balance(&destination), 5_000);
    assert_eq!(suite.balance(&suite.staking), 3_000 + 2_000 + 5_000);
    assert_eq!(suite.total_stake(), 3_000 + 5_000);
    assert_eq!(suite.stake_of(&bystander), 5_000, "others are untouched");

    // Rounding goes down: 25% of 3_000 = 750, of 2_000 = 500.
    suite.slash(&provider, Decimal::percent(25)).unwrap();
    assert_eq!(suite.stake_of(&provider), 2_250);
    assert_eq!(suite.pending_claims_total(&provider), 1_500);
    assert_eq!(suite.balance(&destination), 6_250);

    suite.advance_secs(UNBONDING);
    suite.claim(&provider).unwrap();
    assert_eq!(suite.balance(&provider), 90_000 + 1_500);

    // Invalid fractions and nothing to slash.
    for fraction in [Decimal::zero(), Decimal::percent(101)] {
        assert_err!(
            suite.slash(&provider, fraction),
            StakingError::InvalidFraction { .. }
        );
    }
    let stranger = suite.stranger.clone();
    assert_err!(
        suite.slash(&stranger, Decimal::percent(50)),
        StakingError::NothingToSlash { .. }
    );
    suite.slash(&provider, Decimal::one()).unwrap();
    assert_eq!(suite.stake_of(&provider), 0);
    assert_eq!(suite.balance(&destination), 6_250 + 2_250);
    assert_eq!(suite.balance(&suite.staking), 5_000);
}

#[test]
fn cw4_weights_follow_stake() {
    let mut suite = suite();
    let (p1, p2) = (suite.provider(0), suite.provider(1));
    assert_eq!(suite.total_weight(), 0);
    assert_eq!(suite.member_weight(&p1, None), None);

    suite.stake(&p1, 5_000).unwrap();
    suite.stake(&p2, 2_999).unwrap();
    let staked_height = suite.height();
    assert_eq!(suite.member_weight(&p1, None), Some(5));
    assert_eq!(
        suite.member_weight(&p2, None),
        Some(2),
        "weight rounds down"
    );
    assert_eq!(suite.total_weight(), 7);
    let mut members = suite.all_members();
    members.sort_by(|a, b| a.addr.cmp(&b.addr));
    let mut expected = vec![
        cw4::Member {
            addr: p1.to_string(),
            weight: 5,
        },
        cw4::Member {
            addr: p2.to_string(),
            weight: 2,
        },
    ];
    expected.sort_by(|a, b| a.addr.cmp(&b.addr));
    assert_eq!(members, expected);

    suite.advance_secs(10);
    let changed_height = suite.height();
    suite.unbond(&p1, 3_000).unwrap();
    suite.slash(&p2, Decimal::percent(50)).unwrap();
    assert_eq!(suite.member_weight(&p1, None), Some(2));
    assert_eq!(suite.member_weight(&p2, None), Some(1));
    assert_eq!(suite.total_weight(), 3);
    // cw4 history: the weight at the start of a block excludes that block's changes.
    assert_eq!(suite.member_weight(&p1, Some(changed_height)), Some(5));
    assert_eq!(suite.member_weight(&p1, Some(staked_height)), None);
    suite.advance_secs(5);
    assert_eq!(suite.member_weight(&p1, Some(changed_height + 1)), Some(2));

    // A stake below one weight unit leaves the member list.
    suite.unbond(&p1, 1_500).unwrap();
    assert_eq!(suite.member_weight(&p1, None), None);
    assert_eq!(suite.total_weight(), 1);
    assert_eq!(
        suite.all_members(),
        vec![cw4::Member {
            addr: p2.to_string(),
            weight: 1,
        }]
    );
}
