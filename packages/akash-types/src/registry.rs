//! Provider registry: host URI, attributes, root certificate, fulfilment history and the
//! reputation score derived from history and stake.

use cosmwasm_schema::{cw_serde, QueryResponses};
use cosmwasm_std::{Addr, Timestamp, Uint128};

use crate::common::{Attribute, LeaseOutcome};

/// Most attributes one provider may publish.
pub const MAX_ATTRIBUTES: usize = 32;
pub const MAX_ATTRIBUTE_KEY_LEN: usize = 64;
pub const MAX_ATTRIBUTE_VALUE_LEN: usize = 128;
pub const MAX_HOST_URI_LEN: usize = 256;
/// Largest accepted root certificate, PEM text.
pub const MAX_CERTIFICATE_PEM_LEN: usize = 8 * 1024;
pub const DEFAULT_PAGE_LIMIT: u32 = 10;
pub const MAX_PAGE_LIMIT: u32 = 30;
/// Reputation is expressed in basis points: 0..=10_000.
pub const MAX_REPUTATION: u32 = 10_000;

#[cw_serde]
pub struct InstantiateMsg {
    /// May call `SetMarket` (once) and nothing else.
    pub admin: String,
    /// Staking contract whose stake feeds the reputation score.
    pub staking: String,
    /// Stake (base units) at which the stake part of the reputation score is full.
    pub stake_for_full_reputation: Uint128,
}

#[cw_serde]
pub enum ExecuteMsg {
    /// Register the sender as a provider.
    Register {
        /// https URI of the provider's gateway, e.g. `https://provider.example.com:8443`.
        host_uri: String,
        attributes: Vec<Attribute>,
        /// PEM of the provider's root CA certificate (never a private key).
        root_certificate_pem: String,
    },
    /// Change any of the sender's registration fields.
    Update {
        host_uri: Option<String>,
        attributes: Option<Vec<Attribute>>,
        root_certificate_pem: Option<String>,
    },
    /// Remove the sender's registration; refused while it has active leases.
    Deregister {},
    /// Admin only, once: the market contract, the only writer of fulfilment history.
    SetMarket { market: String },
    /// Market only: a lease started for `provider`.
    RecordLeaseStarted { provider: String, lease_id: u64 },
    /// Market only: a lease of `provider` ended with `outcome`.
    RecordLeaseOutcome {
        provider: String,
        lease_id: u64,
        outcome: LeaseOutcome,
    },
}

#[cw_serde]
#[derive(QueryResponses)]
pub enum QueryMsg {
    #[returns(ConfigResponse)]
    Config {},
    /// Errors if `address` is not registered.
    #[returns(ProviderResponse)]
    Provider { address: String },
    #[returns(ProvidersResponse)]
    Providers {
        start_after: Option<String>,
        limit: Option<u32>,
    },
    /// History, stake and score; works for unregistered addresses too (history may survive
    /// deregistration).
    #[returns(ReputationResponse)]
    Reputation { address: String },
}

#[cw_serde]
pub struct ConfigResponse {
    pub admin: Addr,
    pub staking: Addr,
    pub market: Option<Addr>,
    pub stake_for_full_reputation: Uint128,
}

/// Counts of ended leases and of leases running now.
#[cw_serde]
#[derive(Default)]
pub struct FulfilmentHistory {
    pub leases_started: u64,
    pub leases_active: u64,
    pub leases_completed: u64,
    pub leases_closed_by_tenant: u64,
    pub leases_closed_by_provider: u64,
}

#[cw_serde]
pub struct ProviderResponse {
    pub address: Addr,
    pub host_uri: String,
    pub attributes: Vec<Attribute>,
    pub root_certificate_pem: String,
    pub registered_at: Timestamp,
    pub updated_at: Timestamp,
    /// Increments each time the root certificate changes, so peers can tell rotations apart.
    pub certificate_version: u64,
    pub history: FulfilmentHistory,
}

#[cw_serde]
pub struct ProvidersResponse {
    pub providers: Vec<ProviderResponse>,
}

#[cw_serde]
pub struct ReputationResponse {
    pub address: Addr,
    pub registered: bool,
    pub history: FulfilmentHistory,
    pub stake: Uint128,
    /// 0..=10_000 basis points; see the registry README for the formula.
    pub score: u32,
}
