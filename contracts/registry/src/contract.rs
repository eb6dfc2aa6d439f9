//! Entry points, dispatch and the cw2 version.

use akash_types::registry::{ExecuteMsg, InstantiateMsg, QueryMsg};
#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{to_json_binary, Binary, Deps, DepsMut, Env, MessageInfo, Response, StdResult};
use cw_utils::nonpayable;

use crate::error::ContractError;
use crate::state::{Config, CONFIG};
use crate::{execute, query};

pub const CONTRACT_NAME: &str = "crates.io:akash-registry";
pub const CONTRACT_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn instantiate(
    deps: DepsMut,
    _env: Env,
    info: MessageInfo,
    msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    nonpayable(&info)?;
    let config = Config {
        admin: deps.api.addr_validate(&msg.admin)?,
        staking: deps.api.addr_validate(&msg.staking)?,
        market: None,
        stake_for_full_reputation: msg.stake_for_full_reputation,
    };
    CONFIG.save(deps.storage, &config)?;
    cw2::set_contract_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    Ok(Response::new()
        .add_attribute("action", "instantiate")
        .add_attribute("admin", config.admin)
        .add_attribute("staking", config.staking)
        .add_attribute(
            "stake_for_full_reputation",
            config.stake_for_full_reputation,
        ))
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn execute(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    // No message of the registry takes funds.
    nonpayable(&info)?;
    match msg {
        ExecuteMsg::Register {
            host_uri,
            attributes,
            root_certificate_pem,
        } => execute::register(deps, env, info, host_uri, attributes, root_certificate_pem),
        ExecuteMsg::Update {
            host_uri,
            attributes,
            root_certificate_pem,
        } => execute::update(deps, env, info, host_uri, attributes, root_certificate_pem),
        ExecuteMsg::Deregister {} => execute::deregister(deps, info),
        ExecuteMsg::SetMarket { market } => execute::set_market(deps, info, market),
        ExecuteMsg::RecordLeaseStarted { provider, lease_id } => {
            execute::record_lease_started(deps, info, provider, lease_id)
        }
        ExecuteMsg::RecordLeaseOutcome {
            provider,
            lease_id,
            outcome,
        } => execute::record_lease_outcome(deps, info, provider, lease_id, outcome),
    }
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, _env: Env, msg: QueryMsg) -> StdResult<Binary> {
    match msg {
        QueryMsg::Config {} => to_json_binary(&query::config(deps)?),
        QueryMsg::Provider { address } => to_json_binary(&query::provider(deps, address)?),
        QueryMsg::Providers { start_after, limit } => {
            to_json_binary(&query::providers(deps, start_after, limit)?)
        }
        QueryMsg::Reputation { address } => to_json_binary(&query::reputation(deps, address)?),
    }
}
