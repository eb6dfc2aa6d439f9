//! Calls to the other contracts: smart queries to the registry and staking contracts, and the
//! messages the market sends (cw20 transfers, registry fulfilment records).

use akash_types::common::LeaseOutcome;
use akash_types::registry::{
    ExecuteMsg as RegistryExecuteMsg, ProviderResponse, QueryMsg as RegistryQueryMsg,
    ReputationResponse,
};
use akash_types::staking::{QueryMsg as StakingQueryMsg, StakeResponse};
use cosmwasm_std::{to_json_binary, Addr, CosmosMsg, QuerierWrapper, StdResult, Uint128, WasmMsg};
use cw20::Cw20ExecuteMsg;

use crate::state::Config;

/// The provider's registration; `Err` when the registry does not know it.
pub fn query_provider(
    querier: &QuerierWrapper,
    cfg: &Config,
    provider: &Addr,
) -> StdResult<ProviderResponse> {
    querier.query_wasm_smart(
        &cfg.registry,
        &RegistryQueryMsg::Provider {
            address: provider.to_string(),
        },
    )
}

pub fn query_reputation(
    querier: &QuerierWrapper,
    cfg: &Config,
    provider: &Addr,
) -> StdResult<ReputationResponse> {
    querier.query_wasm_smart(
        &cfg.registry,
        &RegistryQueryMsg::Reputation {
            address: provider.to_string(),
        },
    )
}

pub fn query_stake(querier: &QuerierWrapper, cfg: &Config, provider: &Addr) -> StdResult<Uint128> {
    let res: StakeResponse = querier.query_wasm_smart(
        &cfg.staking,
        &StakingQueryMsg::Stake {
            address: provider.to_string(),
        },
    )?;
    Ok(res.stake)
}

/// A cw20 transfer of `amount` to `recipient`, or nothing when `amount` is zero (cw20-base
/// refuses zero transfers, which would fail the whole transaction).
pub fn transfer(cfg: &Config, recipient: &Addr, amount: Uint128) -> StdResult<Option<CosmosMsg>> {
    if amount.is_zero() {
        return Ok(None);
    }
    Ok(Some(
        WasmMsg::Execute {
            contract_addr: cfg.token.to_string(),
            msg: to_json_binary(&Cw20ExecuteMsg::Transfer {
                recipient: recipient.to_string(),
                amount,
            })?,
            funds: vec![],
        }
        .into(),
    ))
}

fn registry_msg(cfg: &Config, msg: &RegistryExecuteMsg) -> StdResult<CosmosMsg> {
    Ok(WasmMsg::Execute {
        contract_addr: cfg.registry.to_string(),
        msg: to_json_binary(msg)?,
        funds: vec![],
    }
    .into())
}

pub fn record_lease_started(cfg: &Config, provider: &Addr, lease_id: u64) -> StdResult<CosmosMsg> {
    registry_msg(
        cfg,
        &RegistryExecuteMsg::RecordLeaseStarted {
            provider: provider.to_string(),
            lease_id,
        },
    )
}

pub fn record_lease_outcome(
    cfg: &Config,
    provider: &Addr,
    lease_id: u64,
    outcome: LeaseOutcome,
) -> StdResult<CosmosMsg> {
    registry_msg(
        cfg,
        &RegistryExecuteMsg::RecordLeaseOutcome {
            provider: provider.to_string(),
            lease_id,
            outcome,
        },
    )
}
