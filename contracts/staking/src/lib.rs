//! akash-staking: providers stake the AKASH cw20 (through cw20 `Send`), unbond through
//! time-locked claims, can be slashed by governance, and the stake doubles as cw4 voting weight
//! (same storage layout as cw-plus `cw4-stake`, so a stock cw3-flex-multisig can read it).
//!
//! Messages live in [`akash_types::staking`].

pub mod contract;
pub mod error;
pub mod execute;
pub mod members;
pub mod query;
pub mod state;

#[cfg(test)]
mod tests;

pub use crate::error::ContractError;
