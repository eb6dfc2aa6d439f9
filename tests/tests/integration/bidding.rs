//! Bidding and matching: who wins, and every refused bid or match with its own error.

use akash_types::common::{Attribute, ResourceUnits};
use akash_types::market::{OrderSpec, OrderState, PlacementRequirements};
use akash_types::registry;
use cosmwasm_std::{Decimal, Uint128};

use crate::assert_err;
use crate::suite::{attrs, order_spec, MarketError, Suite, DEFAULT_RESOURCES};

/// Three registered providers in us-west with 100_000 staked each, one tenant.
fn three_providers() -> Suite {
    let mut suite = Suite::builder().with_providers(3).build();
    suite.onboard_providers(&[("region", "us-west"), ("tier", "premium")], 100_000);
    suite
}

/// One step of a bidding round: provider index and price, a withdrawal, or time passing.
enum Round {
    Bid(usize, u128),
    Withdraw(usize),
    Advance(u64),
}

struct WinnerCase {
    name: &'static str,
    rounds: &'static [Round],
    winner: usize,
    price: u128,
}

#[test]
fn best_bid_wins_lowest_price_then_earliest() {
    use Round::*;
    let cases = [
        WinnerCase {
            name: "lowest price wins",
            rounds: &[Bid(0, 9), Advance(1), Bid(1, 5), Advance(1), Bid(2, 7)],
            winner: 1,
            price: 5,
        },
        WinnerCase {
            name: "equal prices: the earliest bid wins",
            rounds: &[Bid(2, 8), Advance(5), Bid(0, 8), Bid(1, 8)],
            winner: 2,
            price: 8,
        },
        WinnerCase {
            name: "equal prices in one block: the earlier bid wins",
            rounds: &[Bid(1, 8), Bid(0, 8), Bid(2, 8)],
            winner: 1,
            price: 8,
        },
        WinnerCase {
            name: "a lower bid placed later beats an earlier tie",
            rounds: &[Bid(0, 8), Bid(1, 8), Advance(5), Bid(2, 7)],
            winner: 2,
            price: 7,
        },
        WinnerCase {
            name: "a withdrawn bid is not matched",
            rounds: &[Bid(0, 4), Bid(1, 6), Withdraw(0), Bid(2, 7)],
            winner: 1,
            price: 6,
        },
    ];
    for case in cases {
        let mut suite = three_providers();
        let tenant = suite.tenant(0);
        let order_id = suite.create_order(&tenant, order_spec()).unwrap();
        for round in case.rounds {
            match *round {
                Bid(p, price) => suite.bid(&suite.provider(p), order_id, price).map(drop),
                Withdraw(p) => suite.withdraw_bid(&suite.provider(p), order_id).map(drop),
                Advance(secs) => {
                    suite.advance_secs(secs);
                    Ok(())
                }
            }
            .unwrap_or_else(|e| panic!("{}: {e:?}", case.name));
        }
        // The bid list is best first: the winner leads it.
        let bids = suite.bids(order_id);
        assert_eq!(
            bids[0].provider,
            suite.provider(case.winner),
            "{}",
            case.name
        );
        assert!(
            bids.windows(2)
                .all(|w| (w[0].price_per_second, w[0].sequence)
                    < (w[1].price_per_second, w[1].sequence)),
            "{}: bids out of order",
            case.name
        );

        suite.advance_secs(order_spec().bid_window_secs);
        let lease_id = suite.match_order(&tenant, order_id).unwrap().unwrap();
        let lease = suite.lease(lease_id);
        assert_eq!(lease.provider, suite.provider(case.winner), "{}", case.name);
        assert_eq!(lease.price_per_second.u128(), case.price, "{}", case.name);
    }
}

#[test]
fn withdrawn_bid_is_gone() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    suite.bid(&suite.provider(0), order_id, 4).unwrap();
    suite.withdraw_bid(&suite.provider(0), order_id).unwrap();
    assert_eq!(suite.order(order_id).bid_count, 0);
    assert!(suite.try_bid_of(order_id, &suite.provider(0)).is_err());
    assert!(suite.bids(order_id).is_empty());
    // The provider may bid again while the window is open.
    suite.bid(&suite.provider(0), order_id, 5).unwrap();
    assert_eq!(suite.order(order_id).bid_count, 1);
}

#[test]
fn bid_after_window_is_refused() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    suite.advance_secs(order_spec().bid_window_secs - 1);
    suite.bid(&suite.provider(0), order_id, 5).unwrap();
    suite.advance_secs(2);
    assert_err!(
        suite.bid(&suite.provider(1), order_id, 5),
        MarketError::BidWindowClosed { .. }
    );
    assert_err!(
        suite.withdraw_bid(&suite.provider(0), order_id),
        MarketError::BidWindowClosed { .. }
    );
}

#[test]
fn bid_window_is_exact_to_the_second() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    let ends_at = suite.order(order_id).bid_window_ends_at.seconds();
    suite.advance_secs(ends_at - suite.now_secs() - 1);
    // The last second of the window: bids are taken, the match must wait.
    suite.bid(&suite.provider(0), order_id, 5).unwrap();
    assert_err!(
        suite.match_order(&tenant, order_id),
        MarketError::MatchBeforeWindowCloses { .. }
    );
    // At `bid_window_ends_at` the window is closed: no bid, and the match may run.
    suite.advance_secs(1);
    assert_eq!(suite.now_secs(), ends_at);
    assert_err!(
        suite.bid(&suite.provider(1), order_id, 4),
        MarketError::BidWindowClosed { .. }
    );
    let lease_id = suite.match_order(&tenant, order_id).unwrap().unwrap();
    assert_eq!(suite.lease(lease_id).provider, suite.provider(0));
}

#[test]
fn match_before_window_closes_is_refused() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    suite.bid(&suite.provider(0), order_id, 5).unwrap();
    suite.advance_secs(order_spec().bid_window_secs - 1);
    let before = suite.all_balances();
    assert_err!(
        suite.match_order(&tenant, order_id),
        MarketError::MatchBeforeWindowCloses { .. }
    );
    assert_eq!(suite.all_balances(), before);
    assert_eq!(suite.order(order_id).state, OrderState::Open);
}

#[test]
fn second_bid_by_same_provider_is_refused() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    suite.bid(&suite.provider(0), order_id, 5).unwrap();
    assert_err!(
        suite.bid(&suite.provider(0), order_id, 4),
        MarketError::DuplicateBid { .. }
    );
    assert_eq!(suite.order(order_id).bid_count, 1);
    assert_eq!(
        suite
            .try_bid_of(order_id, &suite.provider(0))
            .unwrap()
            .price_per_second,
        Uint128::new(5)
    );
}

/// `resources` with the field named `field` one below the default order's.
fn one_below(field: &str) -> ResourceUnits {
    let mut r = DEFAULT_RESOURCES;
    match field {
        "cpu_millis" => r.cpu_millis -= 1,
        "memory_bytes" => r.memory_bytes -= 1,
        "storage_bytes" => r.storage_bytes -= 1,
        "bandwidth_bytes_per_sec" => r.bandwidth_bytes_per_sec -= 1,
        other => panic!("unknown resource {other}"),
    }
    r
}

#[test]
fn bid_below_each_resource_minimum_is_refused() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    for (field, _) in DEFAULT_RESOURCES.fields() {
        let err = suite
            .bid_with_resources(&suite.provider(0), order_id, 5, one_below(field))
            .unwrap_err();
        let err = crate::suite::contract_error::<MarketError>(&err);
        match err {
            MarketError::BidBelowMinimum {
                resource,
                offered,
                required,
            } => {
                assert_eq!(resource, field);
                assert_eq!(*offered + 1, *required, "{field}");
            }
            other => panic!("{field}: expected BidBelowMinimum, got {other:?}"),
        }
    }
    // More than asked is fine.
    let mut generous = DEFAULT_RESOURCES;
    generous.cpu_millis *= 2;
    suite
        .bid_with_resources(&suite.provider(0), order_id, 5, generous)
        .unwrap();
}

/// One requirement the providers (us-west, premium, 100_000 staked, no history) miss, and
/// the error it must produce.
struct RequirementCase {
    name: &'static str,
    requirements: PlacementRequirements,
    expected: fn(&MarketError) -> bool,
}

#[test]
fn bid_below_each_placement_requirement_is_refused() {
    let cases = [
        RequirementCase {
            name: "attribute with another value",
            requirements: PlacementRequirements {
                attributes: vec![Attribute::new("region", "eu-central")],
                ..Default::default()
            },
            expected: |e| {
                matches!(e, MarketError::MissingAttribute { key, value }
                    if key == "region" && value == "eu-central")
            },
        },
        RequirementCase {
            name: "attribute key missing",
            requirements: PlacementRequirements {
                attributes: vec![
                    Attribute::new("region", "us-west"),
                    Attribute::new("gpu", "a100"),
                ],
                ..Default::default()
            },
            expected: |e| {
                matches!(e, MarketError::MissingAttribute { key, value }
                    if key == "gpu" && value == "a100")
            },
        },
        RequirementCase {
            name: "stake one below the minimum",
            requirements: PlacementRequirements {
                min_stake: Uint128::new(100_001),
                ..Default::default()
            },
            expected: |e| {
                matches!(e, MarketError::InsufficientStake { stake, min_stake }
                    if stake.u128() == 100_000 && min_stake.u128() == 100_001)
            },
        },
        RequirementCase {
            name: "reputation above the provider's",
            requirements: PlacementRequirements {
                min_reputation: 10_000,
                ..Default::default()
            },
            expected: |e| {
                matches!(e, MarketError::InsufficientReputation { score, min_reputation }
                    if *score < 10_000 && *min_reputation == 10_000)
            },
        },
    ];
    for case in cases {
        let mut suite = three_providers();
        let tenant = suite.tenant(0);
        let spec = OrderSpec {
            requirements: case.requirements.clone(),
            ..order_spec()
        };
        let order_id = suite.create_order(&tenant, spec).unwrap();
        let before = suite.all_balances();
        let err = suite.bid(&suite.provider(0), order_id, 5).unwrap_err();
        let err = crate::suite::contract_error::<MarketError>(&err);
        assert!((case.expected)(err), "{}: got {err:?}", case.name);
        assert_eq!(suite.all_balances(), before, "{}", case.name);
        assert_eq!(suite.order(order_id).bid_count, 0, "{}", case.name);
    }
}

#[test]
fn requirements_met_exactly_are_accepted() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let reputation = suite.reputation(&suite.provider(0)).score;
    let spec = OrderSpec {
        requirements: PlacementRequirements {
            attributes: vec![
                Attribute::new("tier", "premium"),
                Attribute::new("region", "us-west"),
            ],
            min_stake: Uint128::new(100_000),
            min_reputation: reputation,
        },
        ..order_spec()
    };
    let order_id = suite.create_order(&tenant, spec).unwrap();
    suite.bid(&suite.provider(0), order_id, 5).unwrap();
}

#[test]
fn bid_price_and_bidder_checks() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let unregistered = suite.addr_make("unregistered-provider");
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    let max = order_spec().max_price_per_second.u128();
    assert_err!(
        suite.bid(&suite.provider(0), order_id, max + 1),
        MarketError::BidPriceOutOfRange { .. }
    );
    assert_err!(
        suite.bid(&suite.provider(0), order_id, 0),
        MarketError::BidPriceOutOfRange { .. }
    );
    assert_err!(
        suite.bid(&unregistered, order_id, 5),
        MarketError::ProviderNotRegistered { .. }
    );
    assert_err!(
        suite.bid(&suite.provider(0), order_id + 1, 5),
        MarketError::OrderNotFound { .. }
    );
    // A tenant that is also a registered provider may not bid on its own order.
    suite.register_provider(&tenant, &[]).unwrap();
    assert_err!(
        suite.bid(&tenant, order_id, 5),
        MarketError::TenantCannotBid { .. }
    );
    // The max itself is a valid price.
    suite.bid(&suite.provider(0), order_id, max).unwrap();
}

#[test]
fn provider_slashed_below_min_stake_after_bidding_is_skipped_by_match() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let spec = OrderSpec {
        requirements: PlacementRequirements {
            min_stake: Uint128::new(100_000),
            ..Default::default()
        },
        ..order_spec()
    };
    let order_id = suite.create_order(&tenant, spec).unwrap();
    // Provider 1 is cheapest, provider 2 next; provider 1 is slashed after bidding.
    suite.bid(&suite.provider(0), order_id, 3).unwrap();
    suite.bid(&suite.provider(1), order_id, 6).unwrap();
    suite
        .slash(&suite.provider(0), Decimal::percent(10))
        .unwrap();
    assert_eq!(suite.stake_of(&suite.provider(0)), 90_000);

    suite.advance_secs(order_spec().bid_window_secs);
    let lease_id = suite.match_order(&tenant, order_id).unwrap().unwrap();
    let lease = suite.lease(lease_id);
    assert_eq!(lease.provider, suite.provider(1));
    assert_eq!(lease.price_per_second, Uint128::new(6));
}

#[test]
fn no_eligible_bid_left_expires_the_order() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let tenant_start = suite.balance(&tenant);
    let spec = OrderSpec {
        requirements: PlacementRequirements {
            min_stake: Uint128::new(100_000),
            ..Default::default()
        },
        ..order_spec()
    };
    let order_id = suite.create_order(&tenant, spec).unwrap();
    suite.bid(&suite.provider(0), order_id, 3).unwrap();
    // Unbonding lowers the bonded stake just like a slash does.
    suite.unbond(&suite.provider(0), 1).unwrap();
    suite.advance_secs(order_spec().bid_window_secs);
    assert_eq!(suite.match_order(&tenant, order_id).unwrap(), None);
    assert_eq!(suite.order(order_id).state, OrderState::Expired);
    assert_eq!(suite.balance(&tenant), tenant_start);
    assert_eq!(suite.balance(&suite.market), 0);
}

#[test]
fn provider_deregistered_after_bidding_is_skipped_by_match() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    suite.bid(&suite.provider(0), order_id, 3).unwrap();
    suite.bid(&suite.provider(1), order_id, 6).unwrap();
    let provider = suite.provider(0);
    suite
        .execute_registry(&provider, &registry::ExecuteMsg::Deregister {})
        .unwrap();
    suite.advance_secs(order_spec().bid_window_secs);
    let lease_id = suite.match_order(&tenant, order_id).unwrap().unwrap();
    assert_eq!(suite.lease(lease_id).provider, suite.provider(1));
}

/// DESIGN: a bid is "eligible only if it meets every minimum of the order and its
/// requirements", and the match picks "the lowest eligible bid". The market re-checks
/// registration, stake and reputation at match time; a provider that moved away from a
/// required attribute after bidding must be skipped the same way.
#[test]
fn provider_losing_a_required_attribute_after_bidding_is_skipped_by_match() {
    let mut suite = three_providers();
    let tenant = suite.tenant(0);
    let spec = OrderSpec {
        requirements: PlacementRequirements {
            attributes: vec![Attribute::new("region", "us-west")],
            ..Default::default()
        },
        ..order_spec()
    };
    let order_id = suite.create_order(&tenant, spec).unwrap();
    suite.bid(&suite.provider(0), order_id, 3).unwrap();
    suite.bid(&suite.provider(1), order_id, 6).unwrap();
    let provider = suite.provider(0);
    suite
        .execute_registry(
            &provider,
            &registry::ExecuteMsg::Update {
                host_uri: None,
                attributes: Some(attrs(&[("region", "eu-central"), ("tier", "premium")])),
                root_certificate_pem: None,
            },
        )
        .unwrap();
    suite.advance_secs(order_spec().bid_window_secs);
    let lease_id = suite.match_order(&tenant, order_id).unwrap().unwrap();
    let lease = suite.lease(lease_id);
    assert_eq!(
        lease.provider,
        suite.provider(1),
        "the lease went to a provider no longer in region=us-west"
    );
}
