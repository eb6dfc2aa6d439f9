//! No address moves funds or changes state that is not its own: wrong-token hooks and every
//! privileged message from a stranger are refused, and nothing moves.

use akash_types::common::LeaseOutcome;
use akash_types::market::{self, LeaseState, OrderState};
use akash_types::registry;
use akash_types::staking;
use cosmwasm_std::Decimal;

use crate::assert_err;
use crate::suite::{
    contract_error, order_spec, MarketError, RegistryError, StakingError, Suite, MANIFEST_V2,
};

/// Balances of every holder in both tokens.
fn every_balance(suite: &Suite) -> Vec<(u128, u128)> {
    suite
        .holders()
        .iter()
        .map(|a| (suite.balance(a), suite.balance_of(&suite.other_token, a)))
        .collect()
}

/// A suite with an open order (order 1, a bid from provider 1) and an active lease
/// (provider 1, tenant 1) from a second order.
fn suite_with_order_and_lease() -> (Suite, u64, u64) {
    let mut suite = Suite::builder().with_providers(2).build();
    suite.onboard_providers(&[("region", "us-west")], 100_000);
    let tenant = suite.tenant(0);
    let provider = suite.provider(0);
    let leased_order = suite.create_order(&tenant, order_spec()).unwrap();
    suite.bid(&provider, leased_order, 5).unwrap();
    suite.advance_secs(order_spec().bid_window_secs);
    let lease_id = suite.match_order(&tenant, leased_order).unwrap().unwrap();
    let open_order = suite.create_order(&tenant, order_spec()).unwrap();
    suite.bid(&provider, open_order, 5).unwrap();
    suite.advance_secs(30);
    (suite, open_order, lease_id)
}

#[test]
fn other_cw20_sending_to_staking_is_refused() {
    let mut suite = Suite::builder().build();
    let provider = suite.provider(0);
    suite.register_provider(&provider, &[]).unwrap();
    let before = every_balance(&suite);
    let (other, staking) = (suite.other_token.clone(), suite.staking.clone());
    assert_err!(
        suite.send_cw20(
            &other,
            &provider,
            &staking,
            1_000,
            &staking::ReceiveMsg::Stake {}
        ),
        StakingError::WrongToken { .. }
    );
    assert_eq!(every_balance(&suite), before);
    assert_eq!(suite.stake_of(&provider), 0);
    assert_eq!(suite.total_stake(), 0);
}

#[test]
fn other_cw20_sending_to_market_is_refused() {
    let (mut suite, _, lease_id) = suite_with_order_and_lease();
    let tenant = suite.tenant(0);
    let (other, market_addr) = (suite.other_token.clone(), suite.market.clone());
    let orders_before = suite.orders(None);
    let lease_before = suite.lease(lease_id);
    let before = every_balance(&suite);

    let spec = order_spec();
    let escrow = spec.max_price_per_second.u128() * u128::from(spec.lease_duration_secs);
    assert_err!(
        suite.send_cw20(
            &other,
            &tenant,
            &market_addr,
            escrow,
            &market::ReceiveMsg::CreateOrder(spec),
        ),
        MarketError::WrongToken { .. }
    );
    assert_err!(
        suite.send_cw20(
            &other,
            &tenant,
            &market_addr,
            5_000,
            &market::ReceiveMsg::DepositLease { lease_id },
        ),
        MarketError::WrongToken { .. }
    );
    assert_eq!(every_balance(&suite), before);
    assert_eq!(suite.orders(None), orders_before);
    assert_eq!(suite.lease(lease_id), lease_before);
}

#[test]
fn staking_privileged_messages_refused_for_non_governance() {
    let mut suite = Suite::builder().build();
    let provider = suite.provider(0);
    suite.stake(&provider, 10_000).unwrap();
    let hook = suite.addr_make("hook");
    let governance = suite.governance.clone();
    suite
        .execute_staking(
            &governance,
            &staking::ExecuteMsg::AddHook {
                addr: hook.to_string(),
            },
        )
        .unwrap();
    let messages = [
        staking::ExecuteMsg::Slash {
            provider: provider.to_string(),
            fraction: Decimal::percent(50),
            reason: "stranger wants it".to_string(),
        },
        staking::ExecuteMsg::UpdateConfig {
            governance: Some(suite.stranger.to_string()),
            unbonding_period_secs: Some(0),
            slash_destination: Some(suite.stranger.to_string()),
        },
        staking::ExecuteMsg::AddHook {
            addr: suite.stranger.to_string(),
        },
        staking::ExecuteMsg::RemoveHook {
            addr: hook.to_string(),
        },
    ];
    let config_before: staking::ConfigResponse = suite
        .app
        .wrap()
        .query_wasm_smart(&suite.staking, &staking::QueryMsg::Config {})
        .unwrap();
    let before = every_balance(&suite);
    for sender in [suite.stranger.clone(), provider.clone()] {
        for msg in &messages {
            let err = suite.execute_staking(&sender, msg).unwrap_err();
            assert!(
                matches!(
                    contract_error::<StakingError>(&err),
                    StakingError::NotGovernance { .. }
                ),
                "{msg:?} by {sender}: {err:?}"
            );
        }
    }
    assert_eq!(every_balance(&suite), before);
    assert_eq!(suite.stake_of(&provider), 10_000);
    let config_after: staking::ConfigResponse = suite
        .app
        .wrap()
        .query_wasm_smart(&suite.staking, &staking::QueryMsg::Config {})
        .unwrap();
    assert_eq!(config_after, config_before);
    let hooks: cw4::HooksResponse = suite
        .app
        .wrap()
        .query_wasm_smart(&suite.staking, &staking::QueryMsg::Hooks {})
        .unwrap();
    assert_eq!(hooks.hooks, vec![hook.to_string()]);
}

#[test]
fn registry_privileged_messages_refused_for_others() {
    let (mut suite, _, lease_id) = suite_with_order_and_lease();
    let provider = suite.provider(0);
    let stranger = suite.stranger.clone();
    let messages = [
        registry::ExecuteMsg::SetMarket {
            market: stranger.to_string(),
        },
        registry::ExecuteMsg::RecordLeaseStarted {
            provider: provider.to_string(),
            lease_id: lease_id + 100,
        },
        registry::ExecuteMsg::RecordLeaseOutcome {
            provider: provider.to_string(),
            lease_id,
            outcome: LeaseOutcome::ClosedByProvider,
        },
    ];
    let history_before = suite.provider_info(&provider).history;
    // The provider itself cannot write its own history either.
    for sender in [stranger.clone(), provider.clone()] {
        for msg in &messages {
            let err = suite.execute_registry(&sender, msg).unwrap_err();
            assert!(
                matches!(
                    contract_error::<RegistryError>(&err),
                    RegistryError::Unauthorized { .. }
                ),
                "{msg:?} by {sender}: {err:?}"
            );
        }
    }
    // Even the admin may set the market only once.
    let admin = suite.registry_admin.clone();
    assert_err!(
        suite.execute_registry(&admin, &messages[0]),
        RegistryError::MarketAlreadySet { .. }
    );
    assert_eq!(suite.provider_info(&provider).history, history_before);
    let config: registry::ConfigResponse = suite
        .app
        .wrap()
        .query_wasm_smart(&suite.registry, &registry::QueryMsg::Config {})
        .unwrap();
    assert_eq!(config.market, Some(suite.market.clone()));
}

#[test]
fn market_owner_messages_refused_for_others() {
    let (mut suite, open_order, lease_id) = suite_with_order_and_lease();
    let tenant = suite.tenant(0);
    let provider = suite.provider(0);
    let other_provider = suite.provider(1);
    let stranger = suite.stranger.clone();
    let orders_before = suite.orders(None);
    let lease_before = suite.lease(lease_id);
    let bids_before = suite.bids(open_order);
    let before = every_balance(&suite);

    for sender in [&stranger, &provider, &other_provider] {
        assert_err!(
            suite.cancel_order(sender, open_order),
            MarketError::NotOrderTenant { .. }
        );
        assert_err!(
            suite.update_manifest(sender, lease_id, MANIFEST_V2),
            MarketError::NotLeaseTenant { .. }
        );
        assert_err!(
            suite.deposit_lease(sender, lease_id, 5_000),
            MarketError::NotLeaseTenant { .. }
        );
    }
    for sender in [&stranger, &tenant, &other_provider] {
        assert_err!(
            suite.withdraw(sender, lease_id),
            MarketError::NotLeaseProvider { .. }
        );
    }
    for sender in [&stranger, &other_provider] {
        assert_err!(
            suite.close_lease(sender, lease_id),
            MarketError::NotLeaseParty { .. }
        );
    }
    // Only the bidder can withdraw its bid: others have no bid to withdraw.
    for sender in [&stranger, &tenant, &other_provider] {
        assert_err!(
            suite.withdraw_bid(sender, open_order),
            MarketError::BidNotFound { .. }
        );
    }

    assert_eq!(every_balance(&suite), before);
    assert_eq!(suite.orders(None), orders_before);
    assert_eq!(suite.lease(lease_id), lease_before);
    assert_eq!(suite.bids(open_order), bids_before);
    assert_eq!(suite.order(open_order).state, OrderState::Open);
    assert_eq!(suite.lease(lease_id).state, LeaseState::Active);
}
