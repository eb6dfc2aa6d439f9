//! Provider staking: stake AKASH through cw20 `Send`, unbond through claims, slashing by
//! governance, and the cw4 query interface so stock cw3-flex-multisig can use stake as weight.

use cosmwasm_schema::{cw_serde, QueryResponses};
use cosmwasm_std::{Addr, Decimal, Timestamp, Uint128};
use cw20::Cw20ReceiveMsg;

/// Most pending claims one address may hold; `Unbond` beyond it is refused until a claim matures.
pub const MAX_CLAIMS_PER_ADDRESS: usize = 16;
/// Most hooks (member-changed listeners) the contract keeps.
pub const MAX_HOOKS: usize = 16;
/// Default and maximum page size of `ListMembers`.
pub const DEFAULT_PAGE_LIMIT: u32 = 10;
pub const MAX_PAGE_LIMIT: u32 = 30;

#[cw_serde]
pub struct InstantiateMsg {
    /// The AKASH cw20 contract; the only token accepted.
    pub token: String,
    /// May slash, change config and manage hooks.
    pub governance: String,
    /// Seconds between `Unbond` and the claim becoming claimable.
    pub unbonding_period_secs: u64,
    /// Receives slashed tokens (e.g. a community pool).
    pub slash_destination: String,
    /// Base units of stake per unit of cw4 voting weight (e.g. 1_000_000 = 1 AKASH per vote).
    pub tokens_per_weight: Uint128,
}

#[cw_serde]
pub enum ExecuteMsg {
    /// cw20 hook; the embedded message is a [`ReceiveMsg`].
    Receive(Cw20ReceiveMsg),
    /// Move `amount` from the sender's stake into a claim maturing after the unbonding period.
    Unbond { amount: Uint128 },
    /// Pay out every matured claim of the sender.
    Claim {},
    /// Governance only: burn `fraction` of `provider`'s stake and pending claims, sending the
    /// tokens to the slash destination.
    Slash {
        provider: String,
        fraction: Decimal,
        reason: String,
    },
    /// Governance only.
    UpdateConfig {
        governance: Option<String>,
        unbonding_period_secs: Option<u64>,
        slash_destination: Option<String>,
    },
    /// Governance only: register a cw4 member-changed hook.
    AddHook { addr: String },
    /// Governance only.
    RemoveHook { addr: String },
}

/// Messages carried inside a cw20 `Send` to the staking contract.
#[cw_serde]
pub enum ReceiveMsg {
    /// Stake the sent amount for the cw20 sender.
    Stake {},
}

#[cw_serde]
#[derive(QueryResponses)]
pub enum QueryMsg {
    #[returns(ConfigResponse)]
    Config {},
    #[returns(StakeResponse)]
    Stake { address: String },
    #[returns(ClaimsResponse)]
    Claims { address: String },
    /// cw4: weight of one member (stake / tokens_per_weight), optionally at a past height.
    #[returns(cw4::MemberResponse)]
    Member {
        addr: String,
        at_height: Option<u64>,
    },
    /// cw4
    #[returns(cw4::TotalWeightResponse)]
    TotalWeight { at_height: Option<u64> },
    /// cw4
    #[returns(cw4::MemberListResponse)]
    ListMembers {
        start_after: Option<String>,
        limit: Option<u32>,
    },
    /// cw4
    #[returns(cw4::HooksResponse)]
    Hooks {},
    /// Total bonded stake (not counting pending claims).
    #[returns(TotalStakeResponse)]
    TotalStake {},
}

#[cw_serde]
pub struct ConfigResponse {
    pub token: Addr,
    pub governance: Addr,
    pub unbonding_period_secs: u64,
    pub slash_destination: Addr,
    pub tokens_per_weight: Uint128,
}

#[cw_serde]
pub struct StakeResponse {
    pub address: Addr,
    /// Bonded stake in base units.
    pub stake: Uint128,
}

#[cw_serde]
pub struct Claim {
    pub amount: Uint128,
    pub release_at: Timestamp,
}

#[cw_serde]
pub struct ClaimsResponse {
    pub claims: Vec<Claim>,
}

#[cw_serde]
pub struct TotalStakeResponse {
    pub total_stake: Uint128,
}
