//! Chain client of the AKASH marketplace.
//!
//! [`MarketChain`] is one account's typed view of the four contracts (token, staking,
//! registry, market): smart queries, signed executes, chain time and market events. Two
//! implementations:
//! - [`embedded::EmbeddedChain`] (feature `embedded`): the real contract code in an
//!   in-process cw-multi-test chain whose block time follows the wall clock; for the local
//!   sandbox and fast tests;
//! - [`wasmd::WasmdChain`] (feature `wasmd`): a real wasmd node over CometBFT RPC, signing
//!   with a secp256k1 key, gas by simulation, events polled block by block.

mod chain;
mod deployment;
mod error;
mod events;

#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "wasmd")]
pub mod wasmd;

pub use chain::{Contracts, MarketChain, MatchResult, OrderCreated, TxOutcome};
pub use deployment::{Deployment, GasPrice};
pub use error::{contract_message_of, ChainError, ChainResult};
pub use events::{MarketEvent, MarketEventStream, WasmEvent};

#[cfg(feature = "embedded")]
pub use embedded::{EmbeddedChain, EmbeddedConfig, EmbeddedHandle};
#[cfg(feature = "wasmd")]
pub use wasmd::{WasmdChain, WasmdConfig, WasmdKey};

// Re-exported so users name the same types as the trait.
pub use akash_types;
pub use cosmwasm_std::{Timestamp, Uint128};
