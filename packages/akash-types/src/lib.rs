//! Messages and shared types of the four AKASH marketplace contracts.
//! Contracts, tests, the provider daemon and the tenant CLI all speak through these types.

pub mod common;
pub mod market;
pub mod registry;
pub mod staking;
pub mod token;

pub use common::{Attribute, ResourceUnits};
