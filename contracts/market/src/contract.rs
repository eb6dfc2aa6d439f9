//! Entry points and dispatch.

use akash_types::market::{ExecuteMsg, InstantiateMsg, QueryMsg, ReceiveMsg};
#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{
    from_json, to_json_binary, Binary, Deps, DepsMut, Env, MessageInfo, Response, StdResult,
};
use cw20::Cw20ReceiveMsg;

use crate::error::ContractError;
use crate::state::{Config, CONFIG};
use crate::{bid, lease, order, query as q};

pub const CONTRACT_NAME: &str = "crates.io:akash-market";
pub const CONTRACT_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn instantiate(
    deps: DepsMut,
    _env: Env,
    info: MessageInfo,
    msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    cw2::set_contract_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    let cfg = Config {
        token: deps.api.addr_validate(&msg.token)?,
        registry: deps.api.addr_validate(&msg.registry)?,
        staking: deps.api.addr_validate(&msg.staking)?,
    };
    CONFIG.save(deps.storage, &cfg)?;
    Ok(Response::new()
        .add_attribute("action", "instantiate")
        .add_attribute("token", cfg.token)
        .add_attribute("registry", cfg.registry)
        .add_attribute("staking", cfg.staking))
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn execute(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    match msg {
        ExecuteMsg::Receive(wrapper) => receive(deps, env, info, wrapper),
        ExecuteMsg::CancelOrder { order_id } => order::cancel_order(deps, info, order_id),
        ExecuteMsg::PlaceBid {
            order_id,
            price_per_second,
            resources,
        } => bid::place_bid(deps, env, info, order_id, price_per_second, resources),
        ExecuteMsg::WithdrawBid { order_id } => bid::withdraw_bid(deps, env, info, order_id),
        ExecuteMsg::Match { order_id } => bid::match_order(deps, env, info, order_id),
        ExecuteMsg::WithdrawEarnings { lease_id } => {
            lease::withdraw_earnings(deps, env, info, lease_id)
        }
        ExecuteMsg::CloseLease { lease_id, reason } => {
            lease::close_lease(deps, env, info, lease_id, reason)
        }
        ExecuteMsg::CompleteLease { lease_id } => lease::complete_lease(deps, env, info, lease_id),
        ExecuteMsg::UpdateManifest {
            lease_id,
            manifest_sha256,
        } => lease::update_manifest(deps, info, lease_id, manifest_sha256),
    }
}

/// cw20 hook: only the configured token, no native funds. The cw20 `sender` is the tenant.
fn receive(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    wrapper: Cw20ReceiveMsg,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    let cfg = CONFIG.load(deps.storage)?;
    if info.sender != cfg.token {
        return Err(ContractError::WrongToken {
            sent_by: info.sender.into_string(),
            expected: cfg.token.into_string(),
        });
    }
    let sender = deps.api.addr_validate(&wrapper.sender)?;
    match from_json(&wrapper.msg)? {
        ReceiveMsg::CreateOrder(spec) => {
            order::create_order(deps, env, sender, wrapper.amount, spec)
        }
        ReceiveMsg::DepositLease { lease_id } => {
            lease::deposit_lease(deps, env, sender, wrapper.amount, lease_id)
        }
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::Config {} => to_json_binary(&q::config(deps)?),
        QueryMsg::Order { order_id } => to_json_binary(&q::order(deps, order_id)?),
        QueryMsg::Orders {
            state,
            start_after,
            limit,
        } => to_json_binary(&q::orders(deps, state, start_after, limit)?),
        QueryMsg::Bid { order_id, provider } => to_json_binary(&q::bid(deps, order_id, provider)?),
        QueryMsg::Bids {
            order_id,
            start_after,
            limit,
        } => to_json_binary(&q::bids(deps, order_id, start_after, limit)?),
        QueryMsg::Lease { lease_id } => to_json_binary(&q::lease(deps, lease_id)?),
        QueryMsg::LeasesByTenant {
            tenant,
            start_after,
            limit,
        } => to_json_binary(&q::leases_by_tenant(deps, tenant, start_after, limit)?),
        QueryMsg::LeasesByProvider {
            provider,
            start_after,
            limit,
        } => to_json_binary(&q::leases_by_provider(deps, provider, start_after, limit)?),
        QueryMsg::LeaseBalance { lease_id } => {
            to_json_binary(&q::lease_balance(deps, env, lease_id)?)
        }
    }
}
