//! Entry points, dispatch and the cw2 version.

use akash_types::staking::{ExecuteMsg, InstantiateMsg, QueryMsg};
#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{
    to_json_binary, Binary, Deps, DepsMut, Env, MessageInfo, Response, StdResult, Uint128,
};
use cw_utils::nonpayable;

use crate::error::ContractError;
use crate::execute;
use crate::query;
use crate::state::{Config, CONFIG, TOTAL, TOTAL_CLAIMS, TOTAL_STAKE};

pub const CONTRACT_NAME: &str = env!("CARGO_PKG_NAME");
pub const CONTRACT_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn instantiate(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    nonpayable(&info)?;
    if msg.tokens_per_weight.is_zero() {
        return Err(ContractError::ZeroTokensPerWeight {});
    }
    let cfg = Config {
        token: deps.api.addr_validate(&msg.token)?,
        governance: deps.api.addr_validate(&msg.governance)?,
        unbonding_period_secs: msg.unbonding_period_secs,
        slash_destination: deps.api.addr_validate(&msg.slash_destination)?,
        tokens_per_weight: msg.tokens_per_weight,
    };
    cw2::set_contract_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    CONFIG.save(deps.storage, &cfg)?;
    TOTAL_STAKE.save(deps.storage, &Uint128::zero())?;
    TOTAL_CLAIMS.save(deps.storage, &Uint128::zero())?;
    // cw3-flex-multisig reads the total by raw query: it must exist from the start.
    TOTAL.save(deps.storage, &0, env.block.height)?;

    Ok(Response::new()
        .add_attribute("action", "instantiate")
        .add_attribute("token", cfg.token)
        .add_attribute("governance", cfg.governance))
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn execute(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    match msg {
        ExecuteMsg::Receive(wrapper) => execute::receive(deps, env, info, wrapper),
        ExecuteMsg::Unbond { amount } => execute::unbond(deps, env, info, amount),
        ExecuteMsg::Claim {} => execute::claim(deps, env, info),
        ExecuteMsg::Slash {
            provider,
            fraction,
            reason,
        } => execute::slash(deps, env, info, provider, fraction, reason),
        ExecuteMsg::UpdateConfig {
            governance,
            unbonding_period_secs,
            slash_destination,
        } => execute::update_config(
            deps,
            info,
            governance,
            unbonding_period_secs,
            slash_destination,
        ),
        ExecuteMsg::AddHook { addr } => execute::add_hook(deps, info, addr),
        ExecuteMsg::RemoveHook { addr } => execute::remove_hook(deps, info, addr),
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, _env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::Config {} => to_json_binary(&query::config(deps)?),
        QueryMsg::Stake { address } => to_json_binary(&query::stake(deps, address)?),
        QueryMsg::Claims { address } => to_json_binary(&query::claims(deps, address)?),
        QueryMsg::Member { addr, at_height } => {
            to_json_binary(&query::member(deps, addr, at_height)?)
        }
        QueryMsg::TotalWeight { at_height } => {
            to_json_binary(&query::total_weight(deps, at_height)?)
        }
        QueryMsg::ListMembers { start_after, limit } => {
            to_json_binary(&query::list_members(deps, start_after, limit)?)
        }
        QueryMsg::Hooks {} => to_json_binary(&query::hooks(deps)?),
        QueryMsg::TotalStake {} => to_json_binary(&query::total_stake(deps)?),
    }
}
