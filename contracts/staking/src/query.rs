//! Query handlers, including the cw4 ones cw3-flex-multisig calls.

use akash_types::staking::{
    ClaimsResponse, ConfigResponse, StakeResponse, TotalStakeResponse, DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
};
use cosmwasm_std::{Deps, Order, StdResult};
use cw4::{HooksResponse, Member, MemberListResponse, MemberResponse, TotalWeightResponse};
use cw_storage_plus::Bound;

use crate::state::{CLAIMS, CONFIG, HOOKS, MEMBERS, STAKES, TOTAL, TOTAL_STAKE};

pub fn config(deps: Deps) -> StdResult<ConfigResponse> {
    let cfg = CONFIG.load(deps.storage)?;
    Ok(ConfigResponse {
        token: cfg.token,
        governance: cfg.governance,
        unbonding_period_secs: cfg.unbonding_period_secs,
        slash_destination: cfg.slash_destination,
        tokens_per_weight: cfg.tokens_per_weight,
    })
}

pub fn stake(deps: Deps, address: String) -> StdResult<StakeResponse> {
    let address = deps.api.addr_validate(&address)?;
    let stake = STAKES.may_load(deps.storage, &address)?.unwrap_or_default();
    Ok(StakeResponse { address, stake })
}

/// Every unpaid claim of `address` (at most `MAX_CLAIMS_PER_ADDRESS + 1` entries).
pub fn claims(deps: Deps, address: String) -> StdResult<ClaimsResponse> {
    let address = deps.api.addr_validate(&address)?;
    let claims = CLAIMS.may_load(deps.storage, &address)?.unwrap_or_default();
    Ok(ClaimsResponse { claims })
}

pub fn total_stake(deps: Deps) -> StdResult<TotalStakeResponse> {
    Ok(TotalStakeResponse {
        total_stake: TOTAL_STAKE.load(deps.storage)?,
    })
}

/// cw4: `at_height` gives the weight at the start of that block (changes made in block `h`
/// are visible from `h + 1`), as in cw4-stake.
pub fn member(deps: Deps, addr: String, at_height: Option<u64>) -> StdResult<MemberResponse> {
    let addr = deps.api.addr_validate(&addr)?;
    let weight = match at_height {
        Some(h) => MEMBERS.may_load_at_height(deps.storage, &addr, h)?,
        None => MEMBERS.may_load(deps.storage, &addr)?,
    };
    Ok(MemberResponse { weight })
}

pub fn total_weight(deps: Deps, at_height: Option<u64>) -> StdResult<TotalWeightResponse> {
    let weight = match at_height {
        Some(h) => TOTAL.may_load_at_height(deps.storage, h)?,
        None => TOTAL.may_load(deps.storage)?,
    }
    .unwrap_or_default();
    Ok(TotalWeightResponse { weight })
}

/// cw4: members in address order; `limit` defaults to `DEFAULT_PAGE_LIMIT`, capped at
/// `MAX_PAGE_LIMIT`.
pub fn list_members(
    deps: Deps,
    start_after: Option<String>,
    limit: Option<u32>,
) -> StdResult<MemberListResponse> {
    let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT).min(MAX_PAGE_LIMIT) as usize;
    let start = start_after
        .map(|s| deps.api.addr_validate(&s))
        .transpose()?;
    let members = MEMBERS
        .range(
            deps.storage,
            start.as_ref().map(Bound::exclusive),
            None,
            Order::Ascending,
        )
        .take(limit)
        .map(|item| {
            item.map(|(addr, weight)| Member {
                addr: addr.into(),
                weight,
            })
        })
        .collect::<StdResult<_>>()?;
    Ok(MemberListResponse { members })
}

pub fn hooks(deps: Deps) -> StdResult<HooksResponse> {
    let hooks = HOOKS
        .may_load(deps.storage)?
        .unwrap_or_default()
        .into_iter()
        .map(String::from)
        .collect();
    Ok(HooksResponse { hooks })
}
