//! Order creation (validation, escrow, token check) and cancellation.

use akash_types::common::Attribute;
use akash_types::market::{
    ExecuteMsg, OrderSpec, OrderState, ReceiveMsg, MAX_BID_WINDOW_SECS, MAX_LEASE_DURATION_SECS,
    MAX_ORDER_COUNT, MAX_REQUIRED_ATTRIBUTES,
};
use cosmwasm_std::{StdError, Uint128};
use cw_utils::PaymentError;

use super::{attr, escrow_of, spec, Suite, HASH_A};
use crate::error::ContractError;

/// The field named by an `InvalidOrderSpec` error of creating an order from `spec`.
fn invalid_field(spec: OrderSpec) -> String {
    let mut s = Suite::new();
    match s.try_create_order(spec).unwrap_err() {
        ContractError::InvalidOrderSpec { field, .. } => field,
        other => panic!("expected InvalidOrderSpec, got {other:?}"),
    }
}

#[test]
fn create_order_escrows_and_opens_the_bid_window() {
    let mut s = Suite::new();
    let resp = s.try_create_order(spec()).unwrap();
    assert_eq!(attr(&resp, "action"), "create_order");
    assert_eq!(attr(&resp, "order_id"), "1");
    assert_eq!(attr(&resp, "tenant"), s.tenant.as_str());
    assert_eq!(attr(&resp, "manifest_sha256"), HASH_A);
    assert!(resp.messages.is_empty());

    let order = s.order(1);
    assert_eq!(order.tenant, s.tenant);
    assert_eq!(order.state, OrderState::Open);
    assert_eq!(order.escrow, Uint128::new(100_000));
    assert_eq!(order.created_at, s.now());
    assert_eq!(order.bid_window_ends_at, s.now().plus_seconds(60));
    assert_eq!(order.bid_count, 0);
    assert_eq!(order.lease_id, None);
    assert_eq!(s.market_balance, Uint128::new(100_000));

    assert_eq!(s.create_order(spec()), 2, "ids increase");
}

#[test]
fn create_order_refuses_another_cw20() {
    let mut s = Suite::new();
    let other = s.addr("other-token");
    let tenant = s.tenant.clone();
    let err = s
        .send_via(
            &other,
            &tenant,
            escrow_of(&spec()),
            &ReceiveMsg::CreateOrder(spec()),
        )
        .unwrap_err();
    assert_eq!(
        err,
        ContractError::WrongToken {
            sent_by: other.to_string(),
            expected: s.token.to_string(),
        }
    );
    assert!(err.to_string().contains(other.as_str()));
}

#[test]
fn hooks_refuse_native_funds() {
    let mut s = Suite::new();
    let token = s.token.clone();
    let msg = ExecuteMsg::Receive(cw20::Cw20ReceiveMsg {
        sender: s.tenant.to_string(),
        amount: escrow_of(&spec()),
        msg: cosmwasm_std::to_json_binary(&ReceiveMsg::CreateOrder(spec())).unwrap(),
    });
    let err = s.execute_with_funds(&token, msg, 5).unwrap_err();
    assert_eq!(err, ContractError::Payment(PaymentError::NonPayable {}));
}

#[test]
fn create_order_escrow_must_be_exact() {
    let mut s = Suite::new();
    let tenant = s.tenant.clone();
    for sent in [99_999u128, 100_001] {
        let err = s
            .send(
                &tenant,
                Uint128::new(sent),
                &ReceiveMsg::CreateOrder(spec()),
            )
            .unwrap_err();
        assert_eq!(
            err,
            ContractError::EscrowMismatch {
                expected: Uint128::new(100_000),
                sent: Uint128::new(sent),
            }
        );
        assert!(err.to_string().contains("100000") && err.to_string().contains(&sent.to_string()));
    }
}

#[test]
fn create_order_escrow_overflow_is_an_error() {
    let mut s = Suite::new();
    let tenant = s.tenant.clone();
    let mut sp = spec();
    sp.max_price_per_second = Uint128::MAX;
    let err = s
        .send(&tenant, Uint128::MAX, &ReceiveMsg::CreateOrder(sp))
        .unwrap_err();
    assert!(matches!(err, ContractError::Overflow(_)), "{err:?}");
}

#[test]
fn create_order_refuses_bad_json() {
    let mut s = Suite::new();
    let token = s.token.clone();
    let msg = ExecuteMsg::Receive(cw20::Cw20ReceiveMsg {
        sender: s.tenant.to_string(),
        amount: Uint128::new(1),
        msg: cosmwasm_std::Binary::from(b"{\"nope\":{}}".to_vec()),
    });
    let err = s.execute(&token, msg).unwrap_err();
    assert!(matches!(err, ContractError::Std(StdError::ParseErr { .. })));
}

#[test]
fn spec_count_bounds() {
    let mut sp = spec();
    sp.count = 0;
    assert_eq!(invalid_field(sp.clone()), "count");
    sp.count = MAX_ORDER_COUNT + 1;
    assert_eq!(invalid_field(sp.clone()), "count");
    sp.count = MAX_ORDER_COUNT;
    Suite::new().try_create_order(sp).unwrap();
}

#[test]
fn spec_cpu_must_be_positive() {
    let mut sp = spec();
    sp.resources.cpu_millis = 0;
    assert_eq!(invalid_field(sp), "resources.cpu_millis");
}

#[test]
fn spec_memory_must_be_positive() {
    let mut sp = spec();
    sp.resources.memory_bytes = 0;
    assert_eq!(invalid_field(sp), "resources.memory_bytes");
}

#[test]
fn spec_storage_and_bandwidth_may_be_zero() {
    let mut sp = spec();
    sp.resources.storage_bytes = 0;
    sp.resources.bandwidth_bytes_per_sec = 0;
    Suite::new().try_create_order(sp).unwrap();
}

#[test]
fn spec_max_price_must_be_positive() {
    let mut sp = spec();
    sp.max_price_per_second = Uint128::zero();
    assert_eq!(invalid_field(sp), "max_price_per_second");
}

#[test]
fn spec_lease_duration_bounds() {
    let mut sp = spec();
    sp.lease_duration_secs = 0;
    assert_eq!(invalid_field(sp.clone()), "lease_duration_secs");
    sp.lease_duration_secs = MAX_LEASE_DURATION_SECS + 1;
    assert_eq!(invalid_field(sp.clone()), "lease_duration_secs");
    sp.lease_duration_secs = MAX_LEASE_DURATION_SECS;
    Suite::new().try_create_order(sp).unwrap();
}

#[test]
fn spec_bid_window_bounds() {
    let mut sp = spec();
    sp.bid_window_secs = 0;
    assert_eq!(invalid_field(sp.clone()), "bid_window_secs");
    sp.bid_window_secs = MAX_BID_WINDOW_SECS + 1;
    assert_eq!(invalid_field(sp.clone()), "bid_window_secs");
    sp.bid_window_secs = MAX_BID_WINDOW_SECS;
    Suite::new().try_create_order(sp.clone()).unwrap();
    sp.bid_window_secs = 1;
    Suite::new().try_create_order(sp).unwrap();
}

#[test]
fn spec_too_many_required_attributes() {
    let mut sp = spec();
    sp.requirements.attributes = (0..=MAX_REQUIRED_ATTRIBUTES)
        .map(|i| Attribute::new(format!("k{i}"), "v"))
        .collect();
    assert_eq!(invalid_field(sp.clone()), "requirements.attributes");
    sp.requirements.attributes.pop();
    Suite::new().try_create_order(sp).unwrap();
}

#[test]
fn spec_required_attribute_keys_are_checked() {
    let mut sp = spec();
    sp.requirements.attributes = vec![Attribute::new("", "v")];
    assert_eq!(invalid_field(sp.clone()), "requirements.attributes");
    sp.requirements.attributes = vec![Attribute::new("region", "a"), Attribute::new("region", "b")];
    assert_eq!(invalid_field(sp.clone()), "requirements.attributes");
    sp.requirements.attributes = vec![Attribute::new("region", "x".repeat(129))];
    assert_eq!(invalid_field(sp), "requirements.attributes");
}

#[test]
fn spec_min_reputation_at_most_10000() {
    let mut sp = spec();
    sp.requirements.min_reputation = 10_001;
    assert_eq!(invalid_field(sp.clone()), "requirements.min_reputation");
    sp.requirements.min_reputation = 10_000;
    Suite::new().try_create_order(sp).unwrap();
}

#[test]
fn spec_manifest_hash_must_be_64_lowercase_hex() {
    for bad in [
        String::new(),
        "ab".repeat(31),
        "ab".repeat(33),
        HASH_A.to_uppercase(),
        format!("{}g", &HASH_A[..63]),
        format!("0x{}", &HASH_A[..62]),
    ] {
        let mut s = Suite::new();
        let mut sp = spec();
        sp.manifest_sha256 = bad.clone();
        assert_eq!(
            s.try_create_order(sp).unwrap_err(),
            ContractError::InvalidManifestHash { value: bad }
        );
    }
}

#[test]
fn cancel_order_refunds_the_escrow_in_full() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let tenant = s.tenant.clone();
    let resp = s
        .execute(&tenant, ExecuteMsg::CancelOrder { order_id: id })
        .unwrap();
    assert_eq!(attr(&resp, "action"), "cancel_order");
    assert_eq!(attr(&resp, "order_id"), "1");
    assert_eq!(attr(&resp, "tenant"), tenant.as_str());
    assert_eq!(s.paid_to(&tenant), Uint128::new(100_000));
    let order = s.order(id);
    assert_eq!(order.state, OrderState::Cancelled);
    assert!(order.escrow.is_zero());
    assert!(s.market_balance.is_zero());
}

#[test]
fn cancel_order_allowed_after_the_window_until_matched() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let p = s.provider("p");
    s.bid(&p, id, 50).unwrap();
    s.advance(3_600);
    let tenant = s.tenant.clone();
    s.execute(&tenant, ExecuteMsg::CancelOrder { order_id: id })
        .unwrap();
    assert_eq!(s.paid_to(&tenant), Uint128::new(100_000));
    // The bid cannot be matched any more.
    assert!(matches!(
        s.do_match(id).unwrap_err(),
        ContractError::OrderNotOpen {
            state: OrderState::Cancelled,
            ..
        }
    ));
}

#[test]
fn cancel_order_stranger_refused() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    for name in ["stranger", "token"] {
        let who = s.addr(name);
        assert_eq!(
            s.execute(&who, ExecuteMsg::CancelOrder { order_id: id })
                .unwrap_err(),
            ContractError::NotOrderTenant {
                order_id: id,
                sender: who.to_string(),
                tenant: s.tenant.to_string(),
            }
        );
    }
    // A bidder cannot cancel either.
    let p = s.provider("p");
    s.bid(&p, id, 10).unwrap();
    assert!(matches!(
        s.execute(&p, ExecuteMsg::CancelOrder { order_id: id }),
        Err(ContractError::NotOrderTenant { .. })
    ));
    assert!(s.paid.is_empty());
}

#[test]
fn cancel_order_only_when_open() {
    let mut s = Suite::new();
    let (order_id, _, _) = s.lease();
    let tenant = s.tenant.clone();
    assert_eq!(
        s.execute(&tenant, ExecuteMsg::CancelOrder { order_id })
            .unwrap_err(),
        ContractError::OrderNotOpen {
            order_id,
            state: OrderState::Matched,
        }
    );
}

#[test]
fn cancel_order_unknown_order() {
    let mut s = Suite::new();
    let tenant = s.tenant.clone();
    assert_eq!(
        s.execute(&tenant, ExecuteMsg::CancelOrder { order_id: 7 })
            .unwrap_err(),
        ContractError::OrderNotFound { order_id: 7 }
    );
}

#[test]
fn cancel_order_refuses_native_funds() {
    let mut s = Suite::new();
    let id = s.create_order(spec());
    let tenant = s.tenant.clone();
    assert_eq!(
        s.execute_with_funds(&tenant, ExecuteMsg::CancelOrder { order_id: id }, 1)
            .unwrap_err(),
        ContractError::Payment(PaymentError::NonPayable {})
    );
}

#[test]
fn create_order_time_overflow_is_an_error() {
    let mut s = Suite::new();
    s.env.block.time = cosmwasm_std::Timestamp::from_nanos(u64::MAX - 30_000_000_000);
    assert!(matches!(
        s.try_create_order(spec()).unwrap_err(),
        ContractError::TimeOverflow { .. }
    ));
}
