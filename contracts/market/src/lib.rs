//! akash-market: deployment orders with escrow, bids, matching (lowest price, then earliest
//! bid), leases that pay the provider linearly, and deployment versions.
//! See README.md for the matching algorithm, the index layout and the accrual formulas.

pub mod bid;
pub mod contract;
pub mod error;
pub mod external;
pub mod lease;
pub mod order;
pub mod query;
pub mod state;
pub mod validation;

#[cfg(test)]
mod testing;

pub use crate::error::ContractError;
