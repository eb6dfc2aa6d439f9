//! Storage layout.
//!
//! The cw4 part (`MEMBERS`, `TOTAL`) is public API: cw3-flex-multisig reads it by raw query
//! (`cw4::Cw4Contract::total_weight` and `is_member(.., None)`), so keys and encodings are
//! exactly those of cw-plus `cw4-stake`.

use akash_types::staking::Claim;
use cosmwasm_schema::cw_serde;
use cosmwasm_std::{Addr, Uint128};
use cw_storage_plus::{Item, Map, SnapshotItem, SnapshotMap, Strategy};

#[cw_serde]
pub struct Config {
    /// The only cw20 accepted for staking.
    pub token: Addr,
    pub governance: Addr,
    pub unbonding_period_secs: u64,
    pub slash_destination: Addr,
    /// Never zero (checked at instantiate, not updatable).
    pub tokens_per_weight: Uint128,
}

pub const CONFIG: Item<Config> = Item::new("config");

/// Bonded stake per provider. Entries are removed when they reach zero.
pub const STAKES: Map<&Addr, Uint128> = Map::new("stakes");

/// Unpaid claims per address: at most `MAX_CLAIMS_PER_ADDRESS` still unbonding, plus at most
/// one entry aggregating the matured ones (see `execute::unbond`). Removed when empty.
pub const CLAIMS: Map<&Addr, Vec<Claim>> = Map::new("claims");

/// Sum of `STAKES`.
pub const TOTAL_STAKE: Item<Uint128> = Item::new("total_stake");

/// Sum of every amount in `CLAIMS`. `TOTAL_STAKE + TOTAL_CLAIMS` is what the contract holds of
/// the token (tokens sent to it by a plain cw20 `Transfer` aside).
pub const TOTAL_CLAIMS: Item<Uint128> = Item::new("total_claims");

/// cw4 members: weight = stake / tokens_per_weight; members of weight 0 are absent.
pub const MEMBERS: SnapshotMap<&Addr, u64> = SnapshotMap::new(
    cw4::MEMBERS_KEY,
    cw4::MEMBERS_CHECKPOINTS,
    cw4::MEMBERS_CHANGELOG,
    Strategy::EveryBlock,
);

/// cw4 total weight (sum of `MEMBERS`). Saved at instantiate so the raw query always finds it.
pub const TOTAL: SnapshotItem<u64> = SnapshotItem::new(
    cw4::TOTAL_KEY,
    cw4::TOTAL_KEY_CHECKPOINTS,
    cw4::TOTAL_KEY_CHANGELOG,
    Strategy::EveryBlock,
);

/// Member-changed hooks, at most `MAX_HOOKS`.
pub const HOOKS: Item<Vec<Addr>> = Item::new("hooks");
