//! Query handlers.

use akash_types::registry::{
    ConfigResponse, ProviderResponse, ProvidersResponse, ReputationResponse, DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
};
use akash_types::staking::{QueryMsg as StakingQueryMsg, StakeResponse};
use cosmwasm_std::{Addr, Deps, Order, StdError, StdResult};
use cw_storage_plus::Bound;

use crate::reputation;
use crate::state::{Provider, CONFIG, HISTORY, PROVIDERS};

pub fn config(deps: Deps) -> StdResult<ConfigResponse> {
    let config = CONFIG.load(deps.storage)?;
    Ok(ConfigResponse {
        admin: config.admin,
        staking: config.staking,
        market: config.market,
        stake_for_full_reputation: config.stake_for_full_reputation,
    })
}

fn provider_response(deps: Deps, address: Addr, record: Provider) -> StdResult<ProviderResponse> {
    let history = HISTORY
        .may_load(deps.storage, &address)?
        .unwrap_or_default();
    Ok(ProviderResponse {
        address,
        host_uri: record.host_uri,
        attributes: record.attributes,
        root_certificate_pem: record.root_certificate_pem,
        registered_at: record.registered_at,
        updated_at: record.updated_at,
        certificate_version: record.certificate_version,
        history,
    })
}

pub fn provider(deps: Deps, address: String) -> StdResult<ProviderResponse> {
    let address = deps.api.addr_validate(&address)?;
    let record = PROVIDERS
        .may_load(deps.storage, &address)?
        .ok_or_else(|| StdError::not_found(format!("provider {address}")))?;
    provider_response(deps, address, record)
}

pub fn providers(
    deps: Deps,
    start_after: Option<String>,
    limit: Option<u32>,
) -> StdResult<ProvidersResponse> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT).min(MAX_PAGE_LIMIT) as usize;
    let start = start_after
        .map(|s| deps.api.addr_validate(&s))
        .transpose()?;
    let providers = PROVIDERS
        .range(
            deps.storage,
            start.as_ref().map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(limit)
        .map(|item| {
            let (address, record) = item?;
            provider_response(deps, address, record)
        })
        .collect::<StdResult<_>>()?;
    Ok(ProvidersResponse { providers })
}

pub fn reputation(deps: Deps, address: String) -> StdResult<ReputationResponse> {
    let address = deps.api.addr_validate(&address)?;
    let config = CONFIG.load(deps.storage)?;
    let history = HISTORY
        .may_load(deps.storage, &address)?
        .unwrap_or_default();
    let registered = PROVIDERS.has(deps.storage, &address);
    let stake: StakeResponse = deps.querier.query_wasm_smart(
        &config.staking,
        &StakingQueryMsg::Stake {
            address: address.to_string(),
        },
    )?;
    let score = reputation::score(&history, stake.stake, config.stake_for_full_reputation)?;
    Ok(ReputationResponse {
        address,
        registered,
        history,
        stake: stake.stake,
        score,
    })
}
