use akash_types::market::{LeaseState, OrderState};
use cosmwasm_std::{DivideByZeroError, OverflowError, StdError, Timestamp, Uint128};
use cw_utils::PaymentError;
use thiserror::Error;

/// Every error names the value that was wrong and, where there is one, the bound it broke.
#[derive(Error, Debug, PartialEq)]
pub enum ContractError {
    #[error("{0}")]
    Std(#[from] StdError),

    #[error("{0}")]
    Overflow(#[from] OverflowError),

    #[error("{0}")]
    DivideByZero(#[from] DivideByZeroError),

    #[error("{0}")]
    Payment(#[from] PaymentError),

    #[error("time overflow: {what}")]
    TimeOverflow { what: String },

    #[error("cw20 {sent_by} is not accepted: this market only takes the token {expected}")]
    WrongToken { sent_by: String, expected: String },

    #[error("invalid order spec: {field}: {reason}")]
    InvalidOrderSpec { field: String, reason: String },

    #[error("invalid manifest_sha256 {value:?}: expected exactly 64 lowercase hex characters")]
    InvalidManifestHash { value: String },

    #[error("escrow must be exactly max_price_per_second x lease_duration_secs = {expected}, sent {sent}")]
    EscrowMismatch { expected: Uint128, sent: Uint128 },

    #[error("order {order_id} not found")]
    OrderNotFound { order_id: u64 },

    #[error("lease {lease_id} not found")]
    LeaseNotFound { lease_id: u64 },

    #[error("no bid of {provider} on order {order_id}")]
    BidNotFound { order_id: u64, provider: String },

    #[error("{sender} is not the tenant ({tenant}) of order {order_id}")]
    NotOrderTenant {
        order_id: u64,
        sender: String,
        tenant: String,
    },

    #[error("{sender} is not the tenant ({tenant}) of lease {lease_id}")]
    NotLeaseTenant {
        lease_id: u64,
        sender: String,
        tenant: String,
    },

    #[error("{sender} is not the provider ({provider}) of lease {lease_id}")]
    NotLeaseProvider {
        lease_id: u64,
        sender: String,
        provider: String,
    },

    #[error("{sender} is neither the tenant nor the provider of lease {lease_id}")]
    NotLeaseParty { lease_id: u64, sender: String },

    #[error("order {order_id} is {state:?}, not Open")]
    OrderNotOpen { order_id: u64, state: OrderState },

    #[error("lease {lease_id} is {state:?}, not Active")]
    LeaseNotActive { lease_id: u64, state: LeaseState },

    #[error("{provider} is not a registered provider")]
    ProviderNotRegistered { provider: String },

    #[error("the tenant may not bid on its own order {order_id}")]
    TenantCannotBid { order_id: u64 },

    #[error("bid window of order {order_id} closed at {ends_at} (now {now})")]
    BidWindowClosed {
        order_id: u64,
        now: Timestamp,
        ends_at: Timestamp,
    },

    #[error("bid price {price} per second must be between 1 and the order's max {max}")]
    BidPriceOutOfRange { price: Uint128, max: Uint128 },

    #[error("bid offers {offered} {resource}, the order requires at least {required}")]
    BidBelowMinimum {
        resource: String,
        offered: u64,
        required: u64,
    },

    #[error("provider lacks the required attribute {key}={value}")]
    MissingAttribute { key: String, value: String },

    #[error("provider stake {stake} is below the order's min_stake {min_stake}")]
    InsufficientStake { stake: Uint128, min_stake: Uint128 },

    #[error("provider reputation {score} is below the order's min_reputation {min_reputation}")]
    InsufficientReputation { score: u32, min_reputation: u32 },

    #[error("{provider} already has a bid on order {order_id}")]
    DuplicateBid { order_id: u64, provider: String },

    #[error("order {order_id} already has the maximum of {max} bids")]
    TooManyBids { order_id: u64, max: u32 },

    #[error("order {order_id} can be matched once its bid window closes at {ends_at} (now {now})")]
    MatchBeforeWindowCloses {
        order_id: u64,
        now: Timestamp,
        ends_at: Timestamp,
    },

    #[error("nothing to withdraw from lease {lease_id} yet")]
    NothingToWithdraw { lease_id: u64 },

    #[error("lease {lease_id} ended at {ends_at} (now {now}); use CompleteLease")]
    LeaseEnded {
        lease_id: u64,
        ends_at: Timestamp,
        now: Timestamp,
    },

    #[error("lease {lease_id} runs until {ends_at} (now {now}); CompleteLease only after that")]
    LeaseNotEnded {
        lease_id: u64,
        ends_at: Timestamp,
        now: Timestamp,
    },

    #[error("deposit {sent} buys no time: the lease costs {price} per second")]
    DepositTooSmall { sent: Uint128, price: Uint128 },

    #[error(
        "deposit would put the lease end {remaining_secs} s ahead; at most {max_secs} s allowed"
    )]
    ExtensionTooLong { remaining_secs: u128, max_secs: u64 },

    #[error("close reason is {len} characters; at most {max}")]
    ReasonTooLong { len: usize, max: usize },

    #[error("lease {lease_id} already runs manifest {manifest_sha256}")]
    ManifestUnchanged {
        lease_id: u64,
        manifest_sha256: String,
    },
}
