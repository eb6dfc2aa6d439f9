//! The whole marketplace flow with two providers, balances checked to the unit at every step
//! from the rules: escrow = max price x duration, surplus returned at match, linear accrual.

use akash_types::common::Attribute;
use akash_types::market::{LeaseState, OrderState, PlacementRequirements};
use akash_types::registry::FulfilmentHistory;
use cosmwasm_std::{Addr, Uint128};

use crate::suite::{order_spec, Suite};

const START_BALANCE: u128 = 1_000_000;

/// Expected AKASH balances of every holder in the flow.
struct Expected {
    tenant: u128,
    provider_1: u128,
    provider_2: u128,
    market: u128,
    staking: u128,
}

/// Asserts each balance and that together they are the whole supply (nothing leaked).
fn assert_balances(suite: &Suite, step: &str, expected: Expected) {
    let rows = [
        (suite.tenant(0), expected.tenant, "tenant"),
        (suite.provider(0), expected.provider_1, "provider 1"),
        (suite.provider(1), expected.provider_2, "provider 2"),
        (suite.market.clone(), expected.market, "market"),
        (suite.staking.clone(), expected.staking, "staking"),
    ];
    for (addr, amount, name) in &rows {
        assert_eq!(suite.balance(addr), *amount, "{step}: balance of {name}");
    }
    let listed: u128 = rows.iter().map(|(_, amount, _)| amount).sum();
    assert_eq!(
        listed,
        suite.total_supply(),
        "{step}: balances must add up to the supply"
    );
}

#[test]
fn two_providers_full_flow_balances_exact_at_every_step() {
    let mut suite = Suite::builder()
        .with_providers(2)
        .with_tenants(1)
        .with_provider_balance(START_BALANCE)
        .with_tenant_balance(START_BALANCE)
        .with_stranger_balance(0)
        .build();
    let (p1, p2, tenant) = (suite.provider(0), suite.provider(1), suite.tenant(0));
    let stranger = suite.stranger.clone();
    assert_balances(
        &suite,
        "start",
        Expected {
            tenant: START_BALANCE,
            provider_1: START_BALANCE,
            provider_2: START_BALANCE,
            market: 0,
            staking: 0,
        },
    );

    // Register and stake.
    suite
        .register_provider(&p1, &[("region", "us-west")])
        .unwrap();
    suite
        .register_provider(&p2, &[("region", "us-west"), ("tier", "premium")])
        .unwrap();
    suite.stake(&p1, 200_000).unwrap();
    suite.stake(&p2, 100_000).unwrap();
    let (p1_free, p2_free) = (START_BALANCE - 200_000, START_BALANCE - 100_000);
    assert_balances(
        &suite,
        "staked",
        Expected {
            tenant: START_BALANCE,
            provider_1: p1_free,
            provider_2: p2_free,
            market: 0,
            staking: 300_000,
        },
    );
    assert_eq!(suite.stake_of(&p1), 200_000);
    assert_eq!(suite.stake_of(&p2), 100_000);

    // The tenant's order escrows max price x duration.
    let max_price = 10u128;
    let duration = 1_000u64;
    let window = 60u64;
    let mut spec = order_spec();
    spec.max_price_per_second = Uint128::new(max_price);
    spec.lease_duration_secs = duration;
    spec.bid_window_secs = window;
    spec.requirements = PlacementRequirements {
        attributes: vec![Attribute::new("region", "us-west")],
        min_stake: Uint128::new(50_000),
        min_reputation: 0,
    };
    let escrow = max_price * u128::from(duration);
    let created_at = suite.now_secs();
    let order_id = suite.create_order(&tenant, spec.clone()).unwrap();
    assert_balances(
        &suite,
        "order created",
        Expected {
            tenant: START_BALANCE - escrow,
            provider_1: p1_free,
            provider_2: p2_free,
            market: escrow,
            staking: 300_000,
        },
    );
    let order = suite.order(order_id);
    assert_eq!(order.state, OrderState::Open);
    assert_eq!(order.escrow.u128(), escrow);
    assert_eq!(order.tenant, tenant);
    assert_eq!(order.spec, spec);
    assert_eq!(order.bid_window_ends_at.seconds(), created_at + window);

    // Two bids inside the window; bids move no funds.
    suite.advance_secs(10);
    suite.bid(&p1, order_id, 7).unwrap();
    suite.advance_secs(10);
    suite.bid(&p2, order_id, 6).unwrap();
    assert_balances(
        &suite,
        "bids placed",
        Expected {
            tenant: START_BALANCE - escrow,
            provider_1: p1_free,
            provider_2: p2_free,
            market: escrow,
            staking: 300_000,
        },
    );
    let bids = suite.bids(order_id);
    let bidders: Vec<&Addr> = bids.iter().map(|b| &b.provider).collect();
    assert_eq!(bidders, [&p2, &p1], "bids are listed best first");
    assert_eq!(suite.order(order_id).bid_count, 2);

    // The window passes; anyone matches; the lowest bid (provider 2 at 6) wins.
    suite.advance_secs(window - 20);
    let lease_id = suite
        .match_order(&stranger, order_id)
        .unwrap()
        .expect("a lease opens");
    let price = 6u128;
    let lease_escrow = price * u128::from(duration);
    let surplus = (max_price - price) * u128::from(duration);
    assert_eq!(surplus + lease_escrow, escrow);
    let tenant_after_match = START_BALANCE - escrow + surplus;
    assert_balances(
        &suite,
        "matched",
        Expected {
            tenant: tenant_after_match,
            provider_1: p1_free,
            provider_2: p2_free,
            market: lease_escrow,
            staking: 300_000,
        },
    );
    let order = suite.order(order_id);
    assert_eq!(order.state, OrderState::Matched);
    assert_eq!(order.escrow, Uint128::zero());
    assert_eq!(order.lease_id, Some(lease_id));
    let lease = suite.lease(lease_id);
    let started_at = suite.now_secs();
    assert_eq!(lease.order_id, order_id);
    assert_eq!(lease.tenant, tenant);
    assert_eq!(lease.provider, p2);
    assert_eq!(lease.price_per_second.u128(), price);
    assert_eq!(lease.started_at.seconds(), started_at);
    assert_eq!(lease.ends_at.seconds(), started_at + duration);
    assert_eq!(lease.escrow.u128(), lease_escrow);
    assert_eq!(lease.withdrawn, Uint128::zero());
    assert_eq!(lease.state, LeaseState::Active);
    assert_eq!(lease.manifest_sha256, spec.manifest_sha256);
    assert_eq!(lease.manifest_version, 1);
    assert_eq!(suite.provider_info(&p2).history.leases_started, 1);
    assert_eq!(suite.provider_info(&p2).history.leases_active, 1);
    assert_eq!(suite.leases_by_tenant(&tenant), vec![lease.clone()]);
    assert_eq!(suite.leases_by_provider(&p2), vec![lease]);
    assert!(suite.leases_by_provider(&p1).is_empty());

    // 100 s later the provider withdraws what accrued: price x elapsed.
    suite.advance_secs(100);
    let accrued = price * 100;
    let split = suite.lease_balance(lease_id);
    assert_eq!(split.provider_withdrawable.u128(), accrued);
    assert_eq!(split.tenant_refundable.u128(), lease_escrow - accrued);
    assert_eq!(split.escrow.u128(), lease_escrow);
    suite.withdraw(&p2, lease_id).unwrap();
    assert_balances(
        &suite,
        "provider withdrew",
        Expected {
            tenant: tenant_after_match,
            provider_1: p1_free,
            provider_2: p2_free + accrued,
            market: lease_escrow - accrued,
            staking: 300_000,
        },
    );
    let lease = suite.lease(lease_id);
    assert_eq!(lease.withdrawn.u128(), accrued);
    assert_eq!(lease.escrow.u128(), lease_escrow - accrued);

    // 50 s later the tenant closes early: the provider gets accrued - withdrawn, the tenant
    // the rest.
    suite.advance_secs(50);
    let accrued_total = price * 150;
    let provider_share = accrued_total - accrued;
    let tenant_share = lease_escrow - accrued_total;
    suite.close_lease(&tenant, lease_id).unwrap();
    assert_balances(
        &suite,
        "tenant closed",
        Expected {
            tenant: tenant_after_match + tenant_share,
            provider_1: p1_free,
            provider_2: p2_free + accrued_total,
            market: 0,
            staking: 300_000,
        },
    );
    assert_eq!(provider_share, 300);
    assert_eq!(
        suite.balance(&tenant),
        START_BALANCE - accrued_total,
        "the tenant paid exactly price x seconds used"
    );
    let lease = suite.lease(lease_id);
    assert_eq!(lease.state, LeaseState::ClosedByTenant);
    assert_eq!(lease.closed_at.map(|t| t.seconds()), Some(started_at + 150));
    assert_eq!(lease.escrow, Uint128::zero());

    // The registry's public history records the outcome; the loser has none.
    assert_eq!(
        suite.provider_info(&p2).history,
        FulfilmentHistory {
            leases_started: 1,
            leases_active: 0,
            leases_completed: 0,
            leases_closed_by_tenant: 1,
            leases_closed_by_provider: 0,
        }
    );
    assert_eq!(suite.reputation(&p2).history.leases_closed_by_tenant, 1);
    assert_eq!(
        suite.provider_info(&p1).history,
        FulfilmentHistory::default()
    );
    // Stakes are untouched by the market.
    assert_eq!(suite.stake_of(&p1), 200_000);
    assert_eq!(suite.stake_of(&p2), 100_000);
}
