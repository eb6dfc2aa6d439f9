//! Orders and leases over time: expiry, cancellation, extension by deposit, completion, closes
//! by either party and manifest versions, with the token balances they imply.

use akash_types::market::{LeaseState, OrderSpec, OrderState};
use akash_types::registry::FulfilmentHistory;
use cosmwasm_std::Uint128;

use crate::assert_err;
use crate::suite::{order_spec, MarketError, Suite, MANIFEST_V1, MANIFEST_V2};

/// Order price 10/s for 1000 s; provider 1 wins at `price`. Returns (suite, lease id).
fn active_lease(price: u128) -> (Suite, u64) {
    let mut suite = Suite::builder().with_providers(2).build();
    suite.onboard_providers(&[("region", "us-west")], 100_000);
    let tenant = suite.tenant(0);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    suite.bid(&suite.provider(0), order_id, price).unwrap();
    suite.advance_secs(order_spec().bid_window_secs);
    let lease_id = suite.match_order(&tenant, order_id).unwrap().unwrap();
    (suite, lease_id)
}

#[test]
fn expiry_without_bids_refunds_the_tenant() {
    let mut suite = Suite::builder().build();
    let tenant = suite.tenant(0);
    let start = suite.balance(&tenant);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    assert_eq!(suite.balance(&tenant), start - 10_000);
    assert_eq!(suite.balance(&suite.market), 10_000);

    suite.advance_secs(order_spec().bid_window_secs);
    let stranger = suite.stranger.clone();
    assert_eq!(suite.match_order(&stranger, order_id).unwrap(), None);
    let order = suite.order(order_id);
    assert_eq!(order.state, OrderState::Expired);
    assert_eq!(order.escrow, Uint128::zero());
    assert_eq!(order.lease_id, None);
    assert_eq!(suite.balance(&tenant), start);
    assert_eq!(suite.balance(&suite.market), 0);
    assert_eq!(suite.orders(Some(OrderState::Expired)), vec![order]);
    assert!(suite.orders(Some(OrderState::Open)).is_empty());

    // An expired order cannot be matched again, bid on or cancelled.
    assert_err!(
        suite.match_order(&stranger, order_id),
        MarketError::OrderNotOpen { .. }
    );
    assert_err!(
        suite.cancel_order(&tenant, order_id),
        MarketError::OrderNotOpen { .. }
    );
}

#[test]
fn cancel_refunds_the_whole_escrow_and_drops_bids() {
    let mut suite = Suite::builder().build();
    suite.onboard_providers(&[], 1_000);
    let tenant = suite.tenant(0);
    let start = suite.balance(&tenant);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    suite.bid(&suite.provider(0), order_id, 5).unwrap();
    suite.cancel_order(&tenant, order_id).unwrap();
    assert_eq!(suite.order(order_id).state, OrderState::Cancelled);
    assert_eq!(suite.balance(&tenant), start);
    assert_eq!(suite.balance(&suite.market), 0);
    assert_err!(
        suite.bid(&suite.provider(1), order_id, 5),
        MarketError::OrderNotOpen { .. }
    );
    suite.advance_secs(order_spec().bid_window_secs);
    assert_err!(
        suite.match_order(&tenant, order_id),
        MarketError::OrderNotOpen { .. }
    );
}

#[test]
fn create_order_escrow_must_be_exact() {
    let mut suite = Suite::builder().build();
    let tenant = suite.tenant(0);
    let start = suite.balance(&tenant);
    for escrow in [9_999, 10_001] {
        assert_err!(
            suite.create_order_with_escrow(&tenant, order_spec(), escrow),
            MarketError::EscrowMismatch { .. }
        );
    }
    assert_err!(
        suite.create_order(
            &tenant,
            OrderSpec {
                manifest_sha256: "not-a-hash".to_string(),
                ..order_spec()
            }
        ),
        MarketError::InvalidManifestHash { .. }
    );
    assert_eq!(suite.balance(&tenant), start);
    assert_eq!(suite.balance(&suite.market), 0);
}

#[test]
fn deposit_extends_the_lease_and_returns_the_remainder() {
    let price = 6;
    let (mut suite, lease_id) = active_lease(price);
    let tenant = suite.tenant(0);
    let lease = suite.lease(lease_id);
    let tenant_before = suite.balance(&tenant);
    let market_before = suite.balance(&suite.market);

    // 100 s worth plus 5 units that buy less than a second.
    suite.advance_secs(10);
    suite
        .deposit_lease(&tenant, lease_id, price * 100 + 5)
        .unwrap();
    let extended = suite.lease(lease_id);
    assert_eq!(extended.ends_at.seconds(), lease.ends_at.seconds() + 100);
    assert_eq!(extended.escrow.u128(), lease.escrow.u128() + price * 100);
    assert_eq!(suite.balance(&tenant), tenant_before - price * 100);
    assert_eq!(suite.balance(&suite.market), market_before + price * 100);

    // Less than one second's price buys nothing and is refused.
    assert_err!(
        suite.deposit_lease(&tenant, lease_id, price - 1),
        MarketError::DepositTooSmall { .. }
    );
    assert_eq!(suite.balance(&tenant), tenant_before - price * 100);

    // The provider is paid over the extended duration.
    let provider = suite.provider(0);
    let provider_before = suite.balance(&provider);
    let total_secs = extended.ends_at.seconds() - extended.started_at.seconds();
    suite.advance_secs(total_secs);
    let stranger = suite.stranger.clone();
    suite.complete_lease(&stranger, lease_id).unwrap();
    assert_eq!(
        suite.balance(&provider),
        provider_before + price * u128::from(total_secs)
    );
    assert_eq!(suite.balance(&suite.market), 0);
}

#[test]
fn completion_pays_the_provider_the_whole_lease_escrow() {
    let price = 7;
    let (mut suite, lease_id) = active_lease(price);
    let provider = suite.provider(0);
    let tenant = suite.tenant(0);
    let stranger = suite.stranger.clone();
    let provider_start = suite.balance(&provider);
    let tenant_after_match = suite.balance(&tenant);
    let lease = suite.lease(lease_id);
    let duration = order_spec().lease_duration_secs;
    assert_eq!(lease.escrow.u128(), price * u128::from(duration));

    // A withdrawal midway, then completion pays the rest.
    suite.advance_secs(400);
    suite.withdraw(&provider, lease_id).unwrap();
    assert_eq!(suite.balance(&provider), provider_start + price * 400);
    assert_err!(
        suite.complete_lease(&stranger, lease_id),
        MarketError::LeaseNotEnded { .. }
    );
    assert_err!(
        suite.withdraw(&provider, lease_id),
        MarketError::NothingToWithdraw { .. }
    );

    suite.advance_secs(duration - 400);
    // Once the end is reached the lease can only be completed.
    assert_err!(
        suite.close_lease(&tenant, lease_id),
        MarketError::LeaseEnded { .. }
    );
    assert_err!(
        suite.deposit_lease(&tenant, lease_id, 1_000),
        MarketError::LeaseEnded { .. }
    );
    suite.complete_lease(&stranger, lease_id).unwrap();
    assert_eq!(
        suite.balance(&provider),
        provider_start + price * u128::from(duration)
    );
    assert_eq!(suite.balance(&tenant), tenant_after_match);
    assert_eq!(suite.balance(&suite.market), 0);
    let lease = suite.lease(lease_id);
    assert_eq!(lease.state, LeaseState::Completed);
    assert_eq!(lease.escrow, Uint128::zero());
    assert_eq!(lease.withdrawn.u128(), price * u128::from(duration));
    assert_eq!(
        suite.provider_info(&provider).history,
        FulfilmentHistory {
            leases_started: 1,
            leases_active: 0,
            leases_completed: 1,
            leases_closed_by_tenant: 0,
            leases_closed_by_provider: 0,
        }
    );
    // A completed lease stays completed.
    assert_err!(
        suite.complete_lease(&stranger, lease_id),
        MarketError::LeaseNotActive { .. }
    );
    assert_err!(
        suite.close_lease(&tenant, lease_id),
        MarketError::LeaseNotActive { .. }
    );
}

#[test]
fn lease_past_its_end_accrues_no_more_than_its_escrow() {
    let price = 3;
    let (mut suite, lease_id) = active_lease(price);
    let provider = suite.provider(0);
    let provider_start = suite.balance(&provider);
    let duration = order_spec().lease_duration_secs;
    suite.advance_secs(duration * 3);
    let split = suite.lease_balance(lease_id);
    assert_eq!(
        split.provider_withdrawable.u128(),
        price * u128::from(duration)
    );
    assert_eq!(split.tenant_refundable, Uint128::zero());
    let stranger = suite.stranger.clone();
    suite.complete_lease(&stranger, lease_id).unwrap();
    assert_eq!(
        suite.balance(&provider),
        provider_start + price * u128::from(duration)
    );
}

#[test]
fn provider_closing_keeps_accrued_and_is_recorded() {
    let price = 4;
    let (mut suite, lease_id) = active_lease(price);
    let provider = suite.provider(0);
    let tenant = suite.tenant(0);
    let provider_start = suite.balance(&provider);
    let tenant_start = suite.balance(&tenant);
    let escrow = suite.lease(lease_id).escrow.u128();
    suite.advance_secs(250);
    suite.close_lease(&provider, lease_id).unwrap();
    assert_eq!(suite.balance(&provider), provider_start + price * 250);
    assert_eq!(suite.balance(&tenant), tenant_start + escrow - price * 250);
    assert_eq!(suite.balance(&suite.market), 0);
    assert_eq!(suite.lease(lease_id).state, LeaseState::ClosedByProvider);
    let history = suite.provider_info(&provider).history;
    assert_eq!(history.leases_closed_by_provider, 1);
    assert_eq!(history.leases_active, 0);
}

#[test]
fn tenant_updates_the_manifest_of_a_running_lease() {
    let (mut suite, lease_id) = active_lease(5);
    let tenant = suite.tenant(0);
    assert_err!(
        suite.update_manifest(&tenant, lease_id, MANIFEST_V1),
        MarketError::ManifestUnchanged { .. }
    );
    assert_err!(
        suite.update_manifest(&tenant, lease_id, "ABCD"),
        MarketError::InvalidManifestHash { .. }
    );
    suite
        .update_manifest(&tenant, lease_id, MANIFEST_V2)
        .unwrap();
    let lease = suite.lease(lease_id);
    assert_eq!(lease.manifest_sha256, MANIFEST_V2);
    assert_eq!(lease.manifest_version, 2);
}
