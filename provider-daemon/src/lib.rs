//! The provider daemon: one process per Docker host. Each module owns one responsibility.

pub mod bidding;
pub mod config;
pub mod daemon;
pub mod distribution;
pub mod gateway;
pub mod identity;
pub mod leases;
pub mod overlay;
pub mod runtime;
