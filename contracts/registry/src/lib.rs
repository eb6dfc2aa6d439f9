//! akash-registry: the provider registry of the AKASH marketplace.
//!
//! Providers register a host URI, attributes and a root CA certificate; the market records
//! fulfilment history; the reputation score combines that history with the provider's stake
//! (queried from the staking contract). See README.md and SECURITY.md.

pub mod certificate;
pub mod contract;
pub mod error;
pub mod execute;
pub mod query;
pub mod reputation;
pub mod state;
pub mod validate;

#[cfg(test)]
mod tests;

pub use crate::error::ContractError;
