//! Storage layout. See README.md ("Index layout") for why each index exists.

use akash_types::market::{Lease, Order, OrderState};
use cosmwasm_schema::cw_serde;
use cosmwasm_std::{Addr, Empty, StdError, StdResult, Storage};
use cw_storage_plus::{Item, Map};

use crate::error::ContractError;

#[cw_serde]
pub struct Config {
    /// The only cw20 accepted by the hooks.
    pub token: Addr,
    pub registry: Addr,
    pub staking: Addr,
}

pub const CONFIG: Item<Config> = Item::new("config");

/// Next id to hand out; ids start at 1.
pub const NEXT_ORDER_ID: Item<u64> = Item::new("next_order_id");
pub const NEXT_LEASE_ID: Item<u64> = Item::new("next_lease_id");
/// Global bid sequence: breaks price ties in favour of the earlier bid.
pub const NEXT_BID_SEQUENCE: Item<u64> = Item::new("next_bid_seq");

pub const ORDERS: Map<u64, Order> = Map::new("orders");
/// (state name, order id) for every order; kept in step with `Order::state`.
pub const ORDERS_BY_STATE: Map<(&str, u64), Empty> = Map::new("orders_by_state");

/// (order id, provider) -> bid: one bid per provider per order.
pub const BIDS: Map<(u64, &Addr), akash_types::market::Bid> = Map::new("bids");
/// (order id, price per second as raw u128, sequence) -> provider. Big-endian u128 keys sort
/// numerically, so an ascending walk of one order's sub-prefix yields the lowest price first
/// and, at equal price, the earliest bid.
pub const BID_INDEX: Map<(u64, u128, u64), Addr> = Map::new("bid_index");

pub const LEASES: Map<u64, Lease> = Map::new("leases");
pub const LEASES_BY_TENANT: Map<(&Addr, u64), Empty> = Map::new("leases_by_tenant");
pub const LEASES_BY_PROVIDER: Map<(&Addr, u64), Empty> = Map::new("leases_by_provider");

/// Hands out the next id of a counter (starting at 1) and advances it.
pub fn next_id(store: &mut dyn Storage, counter: &Item<u64>) -> StdResult<u64> {
    let id = counter.may_load(store)?.unwrap_or(1);
    let next = id
        .checked_add(1)
        .ok_or_else(|| StdError::generic_err("id counter overflow"))?;
    counter.save(store, &next)?;
    Ok(id)
}

pub fn load_order(store: &dyn Storage, order_id: u64) -> Result<Order, ContractError> {
    ORDERS
        .may_load(store, order_id)?
        .ok_or(ContractError::OrderNotFound { order_id })
}

pub fn load_lease(store: &dyn Storage, lease_id: u64) -> Result<Lease, ContractError> {
    LEASES
        .may_load(store, lease_id)?
        .ok_or(ContractError::LeaseNotFound { lease_id })
}

/// Saves a new order and its state index entry.
pub fn save_new_order(store: &mut dyn Storage, order: &Order) -> StdResult<()> {
    ORDERS.save(store, order.id, order)?;
    ORDERS_BY_STATE.save(store, (order.state.as_str(), order.id), &Empty {})
}

/// Moves an order to `state`, keeping `ORDERS_BY_STATE` in step, and saves it.
pub fn transition_order(
    store: &mut dyn Storage,
    order: &mut Order,
    state: OrderState,
) -> StdResult<()> {
    ORDERS_BY_STATE.remove(store, (order.state.as_str(), order.id));
    order.state = state;
    ORDERS_BY_STATE.save(store, (order.state.as_str(), order.id), &Empty {})?;
    ORDERS.save(store, order.id, order)
}

/// Saves a new lease and its tenant and provider index entries.
pub fn save_new_lease(store: &mut dyn Storage, lease: &Lease) -> StdResult<()> {
    LEASES.save(store, lease.id, lease)?;
    LEASES_BY_TENANT.save(store, (&lease.tenant, lease.id), &Empty {})?;
    LEASES_BY_PROVIDER.save(store, (&lease.provider, lease.id), &Empty {})
}
