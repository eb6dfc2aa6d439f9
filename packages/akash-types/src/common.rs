//! Types shared by more than one contract.

use cosmwasm_schema::cw_serde;

/// A provider attribute or a placement requirement, e.g. `region=us-west`.
#[cw_serde]
pub struct Attribute {
    pub key: String,
    pub value: String,
}

impl Attribute {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Attribute {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Resources of one unit of a deployment order (multiplied by the order's `count`).
#[cw_serde]
#[derive(Default, Copy)]
pub struct ResourceUnits {
    /// CPU in thousandths of a core.
    pub cpu_millis: u64,
    pub memory_bytes: u64,
    pub storage_bytes: u64,
    /// Sustained network bandwidth, bytes per second.
    pub bandwidth_bytes_per_sec: u64,
}

impl ResourceUnits {
    /// Names and values of every resource, in a fixed order (used for error messages and
    /// for comparing a bid's offer with an order's minimum field by field).
    pub fn fields(&self) -> [(&'static str, u64); 4] {
        [
            ("cpu_millis", self.cpu_millis),
            ("memory_bytes", self.memory_bytes),
            ("storage_bytes", self.storage_bytes),
            ("bandwidth_bytes_per_sec", self.bandwidth_bytes_per_sec),
        ]
    }
}

/// How a lease ended; the market writes it to the registry as fulfilment history.
#[cw_serde]
#[derive(Copy)]
pub enum LeaseOutcome {
    /// The lease ran to the end of its duration.
    Completed,
    /// The tenant closed it early (not held against the provider).
    ClosedByTenant,
    /// The provider gave it up or failed to run it.
    ClosedByProvider,
}
