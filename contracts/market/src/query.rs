//! Smart queries; every list is paginated (`DEFAULT_PAGE_LIMIT`, at most `MAX_PAGE_LIMIT`).

use akash_types::market::{
    Bid, BidsResponse, ConfigResponse, Lease, LeaseBalanceResponse, LeasesResponse, Order,
    OrderState, OrdersResponse, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT,
};
use cosmwasm_std::{Addr, Deps, Empty, Env, Order as SortOrder, StdError, StdResult, Uint128};
use cw_storage_plus::{Bound, Map};

use crate::error::ContractError;
use crate::lease::split;
use crate::state::{
    load_lease, load_order, BIDS, BID_INDEX, CONFIG, LEASES, LEASES_BY_PROVIDER, LEASES_BY_TENANT,
    ORDERS, ORDERS_BY_STATE,
};

fn page_limit(limit: Option<u32>) -> usize {
    limit.unwrap_or(DEFAULT_PAGE_LIMIT).min(MAX_PAGE_LIMIT) as usize
}

fn std_err(e: ContractError) -> StdError {
    match e {
        ContractError::Std(e) => e,
        other => StdError::generic_err(other.to_string()),
    }
}

pub fn config(deps: Deps) -> StdResult<ConfigResponse> {
    let cfg = CONFIG.load(deps.storage)?;
    Ok(ConfigResponse {
        token: cfg.token,
        registry: cfg.registry,
        staking: cfg.staking,
    })
}

pub fn order(deps: Deps, order_id: u64) -> StdResult<Order> {
    load_order(deps.storage, order_id).map_err(std_err)
}

pub fn orders(
    deps: Deps,
    state: Option<OrderState>,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> StdResult<OrdersResponse> {
    let limit = page_limit(limit);
    let min = start_after.map(Bound::exclusive);
    let orders = match state {
        None => ORDERS
            .range(deps.storage, min, None, SortOrder::Ascending)
            .take(limit)
            .map(|item| item.map(|(_, order)| order))
            .collect::<StdResult<Vec<_>>>()?,
        Some(state) => ORDERS_BY_STATE
            .prefix(state.as_str())
            .keys(deps.storage, min, None, SortOrder::Ascending)
            .take(limit)
            .map(|id| ORDERS.load(deps.storage, id?))
            .collect::<StdResult<Vec<_>>>()?,
    };
    Ok(OrdersResponse { orders })
}

pub fn bid(deps: Deps, order_id: u64, provider: String) -> StdResult<Bid> {
    let provider = deps.api.addr_validate(&provider)?;
    BIDS.may_load(deps.storage, (order_id, &provider))?
        .ok_or_else(|| {
            std_err(ContractError::BidNotFound {
                order_id,
                provider: provider.into_string(),
            })
        })
}

/// Bids of an order, best first: (price, sequence) ascending, straight from `BID_INDEX`.
pub fn bids(
    deps: Deps,
    order_id: u64,
    start_after: Option<(Uint128, u64)>,
    limit: Option<u32>,
) -> StdResult<BidsResponse> {
    let min = start_after.map(|(price, seq)| Bound::exclusive((price.u128(), seq)));
    let bids = BID_INDEX
        .sub_prefix(order_id)
        .range(deps.storage, min, None, SortOrder::Ascending)
        .take(page_limit(limit))
        .map(|item| {
            let (_, provider) = item?;
            BIDS.load(deps.storage, (order_id, &provider))
        })
        .collect::<StdResult<Vec<_>>>()?;
    Ok(BidsResponse { bids })
}

pub fn lease(deps: Deps, lease_id: u64) -> StdResult<Lease> {
    load_lease(deps.storage, lease_id).map_err(std_err)
}

fn leases_by(
    deps: Deps,
    index: &Map<(&Addr, u64), Empty>,
    party: String,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> StdResult<LeasesResponse> {
    let party = deps.api.addr_validate(&party)?;
    let leases = index
        .prefix(&party)
        .keys(
            deps.storage,
            start_after.map(Bound::exclusive),
            None,
            SortOrder::Ascending,
        )
        .take(page_limit(limit))
        .map(|id| LEASES.load(deps.storage, id?))
        .collect::<StdResult<Vec<_>>>()?;
    Ok(LeasesResponse { leases })
}

pub fn leases_by_tenant(
    deps: Deps,
    tenant: String,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> StdResult<LeasesResponse> {
    leases_by(deps, &LEASES_BY_TENANT, tenant, start_after, limit)
}

pub fn leases_by_provider(
    deps: Deps,
    provider: String,
    start_after: Option<u64>,
    limit: Option<u32>,
) -> StdResult<LeasesResponse> {
    leases_by(deps, &LEASES_BY_PROVIDER, provider, start_after, limit)
}

/// Split of the escrow at the current block time (all zero once the lease has ended).
pub fn lease_balance(deps: Deps, env: Env, lease_id: u64) -> StdResult<LeaseBalanceResponse> {
    let lease = load_lease(deps.storage, lease_id).map_err(std_err)?;
    let now = env.block.time;
    let s = split(&lease, now).map_err(std_err)?;
    Ok(LeaseBalanceResponse {
        lease_id,
        now,
        provider_withdrawable: s.provider,
        tenant_refundable: s.tenant,
        escrow: lease.escrow,
    })
}
