//! Storage layout.

use akash_types::common::Attribute;
use akash_types::registry::FulfilmentHistory;
use cosmwasm_schema::cw_serde;
use cosmwasm_std::{Addr, Timestamp, Uint128};
use cw_storage_plus::{Item, Map};

#[cw_serde]
pub struct Config {
    pub admin: Addr,
    pub staking: Addr,
    /// Set once by the admin; the only writer of fulfilment history.
    pub market: Option<Addr>,
    pub stake_for_full_reputation: Uint128,
}

/// A registered provider's published record (history is kept apart, see [`HISTORY`]).
#[cw_serde]
pub struct Provider {
    pub host_uri: String,
    /// Sorted by key, keys unique.
    pub attributes: Vec<Attribute>,
    pub root_certificate_pem: String,
    pub registered_at: Timestamp,
    pub updated_at: Timestamp,
    pub certificate_version: u64,
}

pub const CONFIG: Item<Config> = Item::new("config");
/// Registered providers; removed on deregistration.
pub const PROVIDERS: Map<&Addr, Provider> = Map::new("providers");
/// Fulfilment history per provider address; survives deregistration so re-registering
/// does not reset reputation.
pub const HISTORY: Map<&Addr, FulfilmentHistory> = Map::new("history");
/// Last certificate version per provider address; survives deregistration so a version
/// number is never reused for a different certificate of the same address.
pub const CERTIFICATE_VERSION: Map<&Addr, u64> = Map::new("certificate_version");
/// Leases recorded as started and not yet ended, per (provider, lease_id): each lease is
/// counted as started at most once and ends at most once.
pub const ACTIVE_LEASES: Map<(&Addr, u64), ()> = Map::new("active_leases");
