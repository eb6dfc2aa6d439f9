//! Placing and withdrawing bids: every refusal, and the index entries a bid makes.

use akash_types::common::{Attribute, ResourceUnits};
use akash_types::market::{
    Bid, BidsResponse, ExecuteMsg, OrderState, QueryMsg, MAX_BIDS_PER_ORDER,
};
use cosmwasm_std::Uint128;
use cw_utils::PaymentError;

use super::{attr, spec, Suite};
use crate::error::ContractError;
use crate::state::BID_INDEX;

fn place(
    s: &mut Suite,
    provider: &cosmwasm_std::Addr,
    order_id: u64,
    price: u128,
    resources: ResourceUnits,
) -> Result<cosmwasm_std::Response, ContractError> {
    s.execute(
        provider,
        ExecuteMsg::PlaceBid {
            order_id,
            price_per_second: Uint128::new(price),
            resources,
        },
    )
}

#[test]
fn place_bid_stores_the_bid_and_its_index_entry() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    let resp = s.bid(&p, id, 70).unwrap();
    assert_eq!(attr(&resp, "action"), "place_bid");
    assert_eq!(attr(&resp, "order_id"), id.to_string());
    assert_eq!(attr(&resp, "provider"), p.as_str());
    assert_eq!(attr(&resp, "tenant"), s.tenant.as_str());
    assert_eq!(attr(&resp, "price"), "70");
    assert!(resp.messages.is_empty());

    let bid: Bid = s.query(QueryMsg::Bid {
        order_id: id,
        provider: p.to_string(),
    });
    assert_eq!(bid.price_per_second, Uint128::new(70));
    assert_eq!(bid.provider, p);
    assert_eq!(bid.sequence, 1);
    assert_eq!(bid.placed_at, s.now());
    assert_eq!(
        BID_INDEX
            .load(&s.deps.storage, (id, 70, bid.sequence))
            .unwrap(),
        p
    );
    assert_eq!(s.order(id).bid_count, 1);
}

#[test]
fn place_bid_at_the_max_price_and_just_before_the_window_closes() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    s.advance(59);
    s.bid(&p, id, 100).unwrap();
}

#[test]
fn place_bid_unregistered_provider() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let nobody = s.addr("nobody");
    assert_eq!(
        s.bid(&nobody, id, 50).unwrap_err(),
        ContractError::ProviderNotRegistered {
            provider: nobody.to_string()
        }
    );
}

#[test]
fn place_bid_window_closed() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    let ends_at = s.order(id).bid_window_ends_at;
    s.advance(60);
    let err = s.bid(&p, id, 50).unwrap_err();
    assert_eq!(
        err,
        ContractError::BidWindowClosed {
            order_id: id,
            now: ends_at,
            ends_at,
        }
    );
    assert!(err.to_string().contains(&ends_at.to_string()));
}

#[test]
fn place_bid_price_out_of_range() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    for price in [0u128, 101] {
        let err = s.bid(&p, id, price).unwrap_err();
        assert_eq!(
            err,
            ContractError::BidPriceOutOfRange {
                price: Uint128::new(price),
                max: Uint128::new(100),
            }
        );
        assert!(err.to_string().contains("100"));
    }
}

#[test]
fn place_bid_below_minimum_names_the_resource() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    let want = spec().resources;
    type Shrink = fn(&mut ResourceUnits);
    let cases: [(&str, Shrink); 4] = [
        ("cpu_millis", |r| r.cpu_millis -= 1),
        ("memory_bytes", |r| r.memory_bytes -= 1),
        ("storage_bytes", |r| r.storage_bytes -= 1),
        ("bandwidth_bytes_per_sec", |r| {
            r.bandwidth_bytes_per_sec -= 1
        }),
    ];
    for (name, shrink) in cases {
        let mut offered = want;
        shrink(&mut offered);
        let required = want
            .fields()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1;
        assert_eq!(
            place(&mut s, &p, id, 50, offered).unwrap_err(),
            ContractError::BidBelowMinimum {
                resource: name.to_string(),
                offered: required - 1,
                required,
            }
        );
    }
    // More than asked is fine.
    let mut more = want;
    more.cpu_millis *= 2;
    place(&mut s, &p, id, 50, more).unwrap();
}

#[test]
fn place_bid_missing_required_attribute() {
    let mut s = Suite::new();
    let mut sp = spec();
    sp.requirements.attributes = vec![
        Attribute::new("region", "us-west"),
        Attribute::new("tier", "gold"),
    ];
    let id = s.create_order(sp);
    let lacks_key = s.provider("p1");
    let wrong_value = s.register_with(
        "p2",
        vec![
            Attribute::new("region", "us-west"),
            Attribute::new("tier", "silver"),
        ],
        1_000,
        5_000,
    );
    for p in [&lacks_key, &wrong_value] {
        let err = s.bid(p, id, 50).unwrap_err();
        assert_eq!(
            err,
            ContractError::MissingAttribute {
                key: "tier".into(),
                value: "gold".into()
            }
        );
        assert!(err.to_string().contains("tier=gold"));
    }
    let ok = s.register_with(
        "p3",
        vec![
            Attribute::new("tier", "gold"),
            Attribute::new("gpu", "none"),
            Attribute::new("region", "us-west"),
        ],
        1_000,
        5_000,
    );
    s.bid(&ok, id, 50).unwrap();
}

#[test]
fn place_bid_insufficient_stake() {
    let mut s = Suite::new();
    let mut sp = spec();
    sp.requirements.min_stake = Uint128::new(1_001);
    let id = s.create_order(sp);
    let p = s.provider("p");
    assert_eq!(
        s.bid(&p, id, 50).unwrap_err(),
        ContractError::InsufficientStake {
            stake: Uint128::new(1_000),
            min_stake: Uint128::new(1_001),
        }
    );
    s.set_stake(&p, 1_001);
    s.bid(&p, id, 50).unwrap();
}

#[test]
fn place_bid_insufficient_reputation() {
    let mut s = Suite::new();
    let mut sp = spec();
    sp.requirements.min_reputation = 5_001;
    let id = s.create_order(sp);
    let p = s.provider("p");
    assert_eq!(
        s.bid(&p, id, 50).unwrap_err(),
        ContractError::InsufficientReputation {
            score: 5_000,
            min_reputation: 5_001,
        }
    );
    s.set_score(&p, 5_001);
    s.bid(&p, id, 50).unwrap();
}

#[test]
fn place_bid_duplicate() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    s.bid(&p, id, 50).unwrap();
    assert_eq!(
        s.bid(&p, id, 40).unwrap_err(),
        ContractError::DuplicateBid {
            order_id: id,
            provider: p.to_string()
        }
    );
    // The same provider may bid on another order.
    let other = s.create_order(spec());
    s.bid(&p, other, 40).unwrap();
}

#[test]
fn place_bid_cap_per_order() {
    let mut s = Suite::new();
    s.check_every_step = false;
    let id = s.create_order(spec());
    for i in 0..MAX_BIDS_PER_ORDER {
        let p = s.provider(&format!("p{i}"));
        s.bid(&p, id, 100 - u128::from(i % 100)).unwrap();
    }
    s.check_invariants();
    assert_eq!(s.order(id).bid_count, MAX_BIDS_PER_ORDER);
    let late = s.provider("late");
    let err = s.bid(&late, id, 1).unwrap_err();
    assert_eq!(
        err,
        ContractError::TooManyBids {
            order_id: id,
            max: MAX_BIDS_PER_ORDER
        }
    );
    assert!(err.to_string().contains("1024"));
    // Withdrawing one frees a slot.
    let p0 = s.addr("p0");
    s.execute(&p0, ExecuteMsg::WithdrawBid { order_id: id })
        .unwrap();
    s.bid(&late, id, 1).unwrap();
    s.check_invariants();
}

#[test]
fn place_bid_tenant_on_own_order() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let tenant = s.tenant.clone();
    s.provider("tenant"); // even if the tenant is a registered provider
    assert_eq!(
        s.bid(&tenant, id, 50).unwrap_err(),
        ContractError::TenantCannotBid { order_id: id }
    );
}

#[test]
fn place_bid_order_not_open() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let tenant = s.tenant.clone();
    s.execute(&tenant, ExecuteMsg::CancelOrder { order_id: id })
        .unwrap();
    let p = s.provider("p");
    assert_eq!(
        s.bid(&p, id, 50).unwrap_err(),
        ContractError::OrderNotOpen {
            order_id: id,
            state: OrderState::Cancelled
        }
    );
}

#[test]
fn place_bid_unknown_order() {
    let mut s = Suite::new();
    let p = s.provider("p");
    assert_eq!(
        place(&mut s, &p, 9, 50, spec().resources).unwrap_err(),
        ContractError::OrderNotFound { order_id: 9 }
    );
}

#[test]
fn place_bid_refuses_native_funds() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    let msg = ExecuteMsg::PlaceBid {
        order_id: id,
        price_per_second: Uint128::new(50),
        resources: spec().resources,
    };
    assert_eq!(
        s.execute_with_funds(&p, msg, 10).unwrap_err(),
        ContractError::Payment(PaymentError::NonPayable {})
    );
}

#[test]
fn place_bid_skips_queries_for_zero_thresholds() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    let before = s.queries.get();
    s.bid(&p, id, 50).unwrap();
    assert_eq!(s.queries.get() - before, 1, "only the Provider query");
}

#[test]
fn withdraw_bid_removes_both_entries_and_allows_a_new_bid() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    let q = s.provider("q");
    s.bid(&p, id, 50).unwrap();
    s.bid(&q, id, 60).unwrap();
    let resp = s
        .execute(&p, ExecuteMsg::WithdrawBid { order_id: id })
        .unwrap();
    assert_eq!(attr(&resp, "action"), "withdraw_bid");
    assert_eq!(attr(&resp, "provider"), p.as_str());
    assert_eq!(attr(&resp, "price"), "50");
    assert!(!BID_INDEX.has(&s.deps.storage, (id, 50, 1)));
    assert_eq!(s.order(id).bid_count, 1);
    let bids: BidsResponse = s.query(QueryMsg::Bids {
        order_id: id,
        start_after: None,
        limit: None,
    });
    assert_eq!(bids.bids.len(), 1);
    assert_eq!(bids.bids[0].provider, q);

    // Re-bidding gets a new, later sequence.
    s.bid(&p, id, 55).unwrap();
    let bid: Bid = s.query(QueryMsg::Bid {
        order_id: id,
        provider: p.to_string(),
    });
    assert_eq!(bid.sequence, 3);
    assert_eq!(s.order(id).bid_count, 2);
}

#[test]
fn withdraw_bid_stranger_has_no_bid() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    s.bid(&p, id, 50).unwrap();
    for who in [s.addr("stranger"), s.tenant.clone()] {
        assert_eq!(
            s.execute(&who, ExecuteMsg::WithdrawBid { order_id: id })
                .unwrap_err(),
            ContractError::BidNotFound {
                order_id: id,
                provider: who.to_string()
            }
        );
    }
    assert_eq!(s.order(id).bid_count, 1);
}

#[test]
fn withdraw_bid_window_closed() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    s.bid(&p, id, 50).unwrap();
    s.advance(60);
    assert!(matches!(
        s.execute(&p, ExecuteMsg::WithdrawBid { order_id: id })
            .unwrap_err(),
        ContractError::BidWindowClosed { order_id, .. } if order_id == id
    ));
}

#[test]
fn withdraw_bid_order_not_open() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    s.bid(&p, id, 50).unwrap();
    let tenant = s.tenant.clone();
    s.execute(&tenant, ExecuteMsg::CancelOrder { order_id: id })
        .unwrap();
    assert!(matches!(
        s.execute(&p, ExecuteMsg::WithdrawBid { order_id: id })
            .unwrap_err(),
        ContractError::OrderNotOpen { .. }
    ));
}
