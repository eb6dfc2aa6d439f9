//! Matching: lowest price, then earliest bid; re-checks of eligibility; expiry; surplus refund.

use akash_types::common::Attribute;
use akash_types::market::{BidsResponse, ExecuteMsg, LeaseState, OrderState, QueryMsg};
use akash_types::registry::ExecuteMsg as RegistryExecuteMsg;
use cosmwasm_std::Uint128;
use cw_utils::PaymentError;

use super::{attr, spec, Suite, HASH_A};
use crate::error::ContractError;

#[test]
fn match_before_window_closes() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    s.bid(&p, id, 50).unwrap();
    s.advance(59);
    let ends_at = s.order(id).bid_window_ends_at;
    let err = s.do_match(id).unwrap_err();
    assert_eq!(
        err,
        ContractError::MatchBeforeWindowCloses {
            order_id: id,
            now: s.now(),
            ends_at,
        }
    );
    assert!(err.to_string().contains(&ends_at.to_string()));
    s.advance(1);
    s.do_match(id).unwrap();
}

#[test]
fn match_lowest_price_wins() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let (a, b, c) = (s.provider("a"), s.provider("b"), s.provider("c"));
    s.bid(&a, id, 80).unwrap();
    s.bid(&b, id, 30).unwrap();
    s.bid(&c, id, 55).unwrap();
    s.advance(60);
    let resp = s.do_match(id).unwrap();
    assert_eq!(attr(&resp, "action"), "match_order");
    assert_eq!(attr(&resp, "provider"), b.as_str());
    assert_eq!(attr(&resp, "price"), "30");
    let lease = s.get_lease(attr(&resp, "lease_id").parse().unwrap());
    assert_eq!(lease.provider, b);
    assert_eq!(lease.price_per_second, Uint128::new(30));
}

#[test]
fn match_equal_price_earliest_bid_wins() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let (a, b, c) = (s.provider("a"), s.provider("b"), s.provider("c"));
    // Sequence is global: bids on another order in between do not change the order here.
    let other = s.create_order(spec());
    s.bid(&b, id, 40).unwrap();
    s.bid(&a, other, 40).unwrap();
    s.bid(&a, id, 40).unwrap();
    s.bid(&c, id, 40).unwrap();
    s.advance(60);
    let resp = s.do_match(id).unwrap();
    assert_eq!(attr(&resp, "provider"), b.as_str());
    // Key order must not depend on address bytes: try the reverse registration order too.
    let id2 = s.create_order(spec());
    s.bid(&c, id2, 40).unwrap();
    s.bid(&b, id2, 40).unwrap();
    s.advance(60);
    assert_eq!(attr(&s.do_match(id2).unwrap(), "provider"), c.as_str());
}

#[test]
fn match_compares_prices_numerically() {
    // 9 < 10 < 100 numerically, but "10" < "100" < "9" as strings.
    let mut s = Suite::new();
    let mut sp = spec();
    sp.max_price_per_second = Uint128::new(1_000);
    let id = s.create_order(sp);
    let (a, b, c) = (s.provider("a"), s.provider("b"), s.provider("c"));
    s.bid(&a, id, 100).unwrap();
    s.bid(&b, id, 10).unwrap();
    s.bid(&c, id, 9).unwrap();
    s.advance(60);
    assert_eq!(attr(&s.do_match(id).unwrap(), "provider"), c.as_str());
}

#[test]
fn match_skips_a_deregistered_winner() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let (a, b) = (s.provider("a"), s.provider("b"));
    s.bid(&a, id, 20).unwrap();
    s.bid(&b, id, 30).unwrap();
    s.advance(60);
    s.deregister(&a);
    let resp = s.do_match(id).unwrap();
    assert_eq!(attr(&resp, "provider"), b.as_str());
    assert_eq!(attr(&resp, "skipped_bids"), "1");
}

#[test]
fn match_skips_a_winner_whose_stake_fell() {
    let mut s = Suite::new();
    let mut sp = spec();
    sp.requirements.min_stake = Uint128::new(500);
    let id = s.create_order(sp);
    let (a, b) = (s.provider("a"), s.provider("b"));
    s.bid(&a, id, 20).unwrap();
    s.bid(&b, id, 30).unwrap();
    s.set_stake(&a, 499); // slashed or unbonded after bidding
    s.advance(60);
    assert_eq!(attr(&s.do_match(id).unwrap(), "provider"), b.as_str());
}

#[test]
fn match_skips_a_winner_whose_reputation_fell() {
    let mut s = Suite::new();
    let mut sp = spec();
    sp.requirements.min_reputation = 4_000;
    let id = s.create_order(sp);
    let (a, b) = (s.provider("a"), s.provider("b"));
    s.bid(&a, id, 20).unwrap();
    s.bid(&b, id, 30).unwrap();
    s.set_score(&a, 3_999);
    s.advance(60);
    assert_eq!(attr(&s.do_match(id).unwrap(), "provider"), b.as_str());
}

#[test]
fn match_skips_a_winner_that_lost_a_required_attribute() {
    let mut s = Suite::new();
    let mut sp = spec();
    sp.requirements.attributes = vec![Attribute::new("region", "us-west")];
    let id = s.create_order(sp);
    let (a, b) = (s.provider("a"), s.provider("b"));
    s.bid(&a, id, 20).unwrap();
    s.bid(&b, id, 30).unwrap();
    // `a` moves to another region after bidding (registry Update).
    s.register_with(
        "a",
        vec![Attribute::new("region", "eu-central")],
        1_000,
        5_000,
    );
    s.advance(60);
    assert_eq!(attr(&s.do_match(id).unwrap(), "provider"), b.as_str());
}

#[test]
fn match_without_bids_expires_and_refunds() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    s.advance(60);
    let resp = s.do_match(id).unwrap();
    assert_eq!(attr(&resp, "action"), "order_expired");
    assert_eq!(attr(&resp, "order_id"), id.to_string());
    assert_eq!(attr(&resp, "tenant"), s.tenant.as_str());
    let order = s.order(id);
    assert_eq!(order.state, OrderState::Expired);
    assert!(order.escrow.is_zero());
    assert_eq!(order.lease_id, None);
    assert_eq!(s.paid_to(&s.tenant.clone()), Uint128::new(100_000));
    assert!(s.registry_msgs.is_empty());
}

#[test]
fn match_with_only_ineligible_bids_expires() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let (a, b) = (s.provider("a"), s.provider("b"));
    s.bid(&a, id, 20).unwrap();
    s.bid(&b, id, 30).unwrap();
    s.deregister(&a);
    s.deregister(&b);
    s.advance(60);
    let resp = s.do_match(id).unwrap();
    assert_eq!(attr(&resp, "action"), "order_expired");
    assert_eq!(attr(&resp, "skipped_bids"), "2");
    assert_eq!(s.paid_to(&s.tenant.clone()), Uint128::new(100_000));
}

#[test]
fn match_opens_the_lease_refunds_the_surplus_and_records_the_start() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    s.bid(&p, id, 40).unwrap();
    s.advance(75);
    let resp = s.do_match(id).unwrap();
    assert_eq!(attr(&resp, "order_id"), id.to_string());
    assert_eq!(attr(&resp, "tenant"), s.tenant.as_str());
    assert_eq!(attr(&resp, "manifest_sha256"), HASH_A);
    assert_eq!(attr(&resp, "surplus_refund"), "60000");
    let lease_id: u64 = attr(&resp, "lease_id").parse().unwrap();

    let lease = s.get_lease(lease_id);
    assert_eq!(lease.order_id, id);
    assert_eq!(lease.tenant, s.tenant);
    assert_eq!(lease.started_at, s.now());
    assert_eq!(lease.ends_at, s.now().plus_seconds(1_000));
    assert_eq!(lease.escrow, Uint128::new(40_000));
    assert!(lease.withdrawn.is_zero());
    assert_eq!(lease.state, LeaseState::Active);
    assert_eq!(lease.manifest_sha256, HASH_A);
    assert_eq!(lease.manifest_version, 1);

    let order = s.order(id);
    assert_eq!(order.state, OrderState::Matched);
    assert_eq!(order.lease_id, Some(lease_id));
    assert!(order.escrow.is_zero());
    // Surplus (100 - 40) x 1000 back to the tenant at once.
    assert_eq!(s.paid_to(&s.tenant.clone()), Uint128::new(60_000));
    assert_eq!(
        s.registry_msgs,
        vec![RegistryExecuteMsg::RecordLeaseStarted {
            provider: p.to_string(),
            lease_id
        }]
    );
}

#[test]
fn match_at_the_max_price_sends_no_zero_refund() {
    let mut s = Suite::new();
    let (_, lease_id, _) = s.lease_with(spec(), 100);
    assert!(s.paid.is_empty());
    assert_eq!(s.get_lease(lease_id).escrow, Uint128::new(100_000));
}

#[test]
fn match_keeps_losing_bids_as_history() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let (a, b, c) = (s.provider("a"), s.provider("b"), s.provider("c"));
    s.bid(&a, id, 20).unwrap();
    s.bid(&b, id, 30).unwrap();
    s.bid(&c, id, 40).unwrap();
    s.advance(60);
    s.do_match(id).unwrap();
    let bids: BidsResponse = s.query(QueryMsg::Bids {
        order_id: id,
        start_after: None,
        limit: None,
    });
    assert_eq!(bids.bids.len(), 3);
    assert_eq!(s.order(id).bid_count, 3);
    // And they are dead: no withdrawal, no second match.
    assert!(matches!(
        s.execute(&b, ExecuteMsg::WithdrawBid { order_id: id }),
        Err(ContractError::OrderNotOpen { .. })
    ));
    assert_eq!(
        s.do_match(id).unwrap_err(),
        ContractError::OrderNotOpen {
            order_id: id,
            state: OrderState::Matched
        }
    );
}

#[test]
fn match_reads_one_bid_whatever_the_number_of_bids() {
    // Gas proxy: the number of cross-contract queries of a match does not grow with the
    // number of bids on the order (or of other orders) when the best bidder is eligible.
    let mut per_match = vec![];
    for n in [1u32, 10, 200] {
        let mut s = Suite::new();
        s.check_every_step = false;
        let mut sp = spec();
        sp.requirements.min_stake = Uint128::new(1);
        sp.max_price_per_second = Uint128::new(1_000);
        for _ in 0..3 {
            s.create_order(sp.clone());
        }
        let id = s.create_order(sp);
        for i in 0..n {
            let p = s.provider(&format!("p{i}"));
            s.bid(&p, id, 1_000 - u128::from(i)).unwrap();
        }
        s.advance(60);
        let before = s.queries.get();
        s.do_match(id).unwrap();
        per_match.push(s.queries.get() - before);
        s.check_invariants();
    }
    assert_eq!(per_match, vec![2, 2, 2], "provider + stake, once");
}

#[test]
fn match_by_anyone_and_no_native_funds() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    s.advance(60);
    let anyone = s.addr("anyone");
    assert_eq!(
        s.execute_with_funds(&anyone, ExecuteMsg::Match { order_id: id }, 3)
            .unwrap_err(),
        ContractError::Payment(PaymentError::NonPayable {})
    );
    let tenant = s.tenant.clone();
    s.execute(&tenant, ExecuteMsg::Match { order_id: id })
        .unwrap();
}

#[test]
fn match_unknown_order() {
    let mut s = Suite::new();
    assert_eq!(
        s.do_match(3).unwrap_err(),
        ContractError::OrderNotFound { order_id: 3 }
    );
}
