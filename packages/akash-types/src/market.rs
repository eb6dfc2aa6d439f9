//! The market: deployment orders with escrow, bids, matching (lowest price, then earliest
//! bid), leases that pay the provider linearly, and deployment versions.

use cosmwasm_schema::{cw_serde, QueryResponses};
use cosmwasm_std::{Addr, Timestamp, Uint128};
use cw20::Cw20ReceiveMsg;

use crate::common::{Attribute, ResourceUnits};

/// Most live (not withdrawn) bids one order accepts.
pub const MAX_BIDS_PER_ORDER: u32 = 1_024;
/// Most required attributes an order may carry.
pub const MAX_REQUIRED_ATTRIBUTES: usize = 16;
/// Bounds on the times an order may ask for.
pub const MIN_BID_WINDOW_SECS: u64 = 1;
pub const MAX_BID_WINDOW_SECS: u64 = 7 * 24 * 3600;
pub const MAX_LEASE_DURATION_SECS: u64 = 5 * 365 * 24 * 3600;
/// Most units (`count`) of one order.
pub const MAX_ORDER_COUNT: u32 = 1_000;
pub const DEFAULT_PAGE_LIMIT: u32 = 10;
pub const MAX_PAGE_LIMIT: u32 = 100;
/// Longest `reason` accepted by `CloseLease`, in characters.
pub const MAX_CLOSE_REASON_LEN: usize = 256;

#[cw_serde]
pub struct InstantiateMsg {
    /// The AKASH cw20 contract; the only token accepted.
    pub token: String,
    pub registry: String,
    pub staking: String,
}

/// Placement requirements a provider must meet to bid.
#[cw_serde]
#[derive(Default)]
pub struct PlacementRequirements {
    /// Every one must be present, with this exact value, among the provider's attributes.
    pub attributes: Vec<Attribute>,
    /// Minimum bonded stake of the provider, base units.
    pub min_stake: Uint128,
    /// Minimum reputation score, basis points (0..=10_000).
    pub min_reputation: u32,
}

/// What a tenant asks for in one deployment order (one placement group).
#[cw_serde]
pub struct OrderSpec {
    /// Resources of one unit.
    pub resources: ResourceUnits,
    /// Number of units.
    pub count: u32,
    /// Highest acceptable price, base units per second, for the whole order.
    pub max_price_per_second: Uint128,
    pub lease_duration_secs: u64,
    /// Bids are accepted for this many seconds after the order is created.
    pub bid_window_secs: u64,
    pub requirements: PlacementRequirements,
    /// sha256 of the group's manifest document, 64 lowercase hex characters.
    pub manifest_sha256: String,
}

#[cw_serde]
pub enum ExecuteMsg {
    /// cw20 hook; the embedded message is a [`ReceiveMsg`].
    Receive(Cw20ReceiveMsg),
    /// Tenant: cancel an order that has not been matched; the escrow is refunded in full.
    CancelOrder { order_id: u64 },
    /// Registered provider: offer to run the order at `price_per_second` (whole order).
    /// `resources` is what the provider commits per unit; each must reach the order's.
    PlaceBid {
        order_id: u64,
        price_per_second: Uint128,
        resources: ResourceUnits,
    },
    /// Provider: withdraw its bid while the window is open.
    WithdrawBid { order_id: u64 },
    /// Anyone, after the window: pick the lowest eligible bid (earliest on ties) and open the
    /// lease, or expire the order and refund the tenant when no bid is eligible.
    Match { order_id: u64 },
    /// Provider: withdraw what has accrued so far.
    WithdrawEarnings { lease_id: u64 },
    /// Tenant (closed early) or provider (gives the lease up). Accrued funds go to the
    /// provider, the rest to the tenant.
    CloseLease {
        lease_id: u64,
        reason: Option<String>,
    },
    /// Anyone, once the lease's end time has passed: pay out and record completion.
    CompleteLease { lease_id: u64 },
    /// Tenant: new manifest version for a running lease.
    UpdateManifest {
        lease_id: u64,
        manifest_sha256: String,
    },
}

/// Messages carried inside a cw20 `Send` to the market.
#[cw_serde]
pub enum ReceiveMsg {
    /// Create an order; the amount sent must equal max_price_per_second x lease_duration_secs.
    CreateOrder(OrderSpec),
    /// Extend an active lease (tenant only): adds amount / price seconds; the remainder
    /// (less than one second's price) is returned at once.
    DepositLease { lease_id: u64 },
}

#[cw_serde]
#[derive(Copy)]
pub enum OrderState {
    /// Accepting bids until `bid_window_ends_at`, then waiting for `Match`.
    Open,
    Matched,
    /// Matched with no eligible bid; escrow refunded.
    Expired,
    Cancelled,
}

impl OrderState {
    pub fn as_str(&self) -> &'static str {
        match self {
            OrderState::Open => "open",
            OrderState::Matched => "matched",
            OrderState::Expired => "expired",
            OrderState::Cancelled => "cancelled",
        }
    }
}

#[cw_serde]
#[derive(Copy)]
pub enum LeaseState {
    Active,
    Completed,
    ClosedByTenant,
    ClosedByProvider,
}

#[cw_serde]
pub struct Order {
    pub id: u64,
    pub tenant: Addr,
    pub spec: OrderSpec,
    pub state: OrderState,
    pub created_at: Timestamp,
    pub bid_window_ends_at: Timestamp,
    /// Tokens held for this order (zero once matched, expired or cancelled).
    pub escrow: Uint128,
    /// Live bids.
    pub bid_count: u32,
    pub lease_id: Option<u64>,
}

#[cw_serde]
pub struct Bid {
    pub order_id: u64,
    pub provider: Addr,
    pub price_per_second: Uint128,
    pub resources: ResourceUnits,
    /// Global, increasing: breaks price ties in favour of the earlier bid.
    pub sequence: u64,
    pub placed_at: Timestamp,
}

#[cw_serde]
pub struct Lease {
    pub id: u64,
    pub order_id: u64,
    pub tenant: Addr,
    pub provider: Addr,
    pub price_per_second: Uint128,
    pub started_at: Timestamp,
    /// Extended by deposits.
    pub ends_at: Timestamp,
    /// Tokens still held for the lease (accrued-but-unwithdrawn included).
    pub escrow: Uint128,
    /// Paid to the provider so far.
    pub withdrawn: Uint128,
    pub state: LeaseState,
    pub closed_at: Option<Timestamp>,
    pub close_reason: Option<String>,
    pub manifest_sha256: String,
    /// Starts at 1, +1 on every `UpdateManifest`.
    pub manifest_version: u64,
}

#[cw_serde]
#[derive(QueryResponses)]
pub enum QueryMsg {
    #[returns(ConfigResponse)]
    Config {},
    #[returns(Order)]
    Order { order_id: u64 },
    /// Orders by id, optionally only those in `state`.
    #[returns(OrdersResponse)]
    Orders {
        state: Option<OrderState>,
        start_after: Option<u64>,
        limit: Option<u32>,
    },
    #[returns(Bid)]
    Bid { order_id: u64, provider: String },
    /// Live bids of an order, best first (price, then sequence). `start_after` is the
    /// (price, sequence) of the last bid of the previous page.
    #[returns(BidsResponse)]
    Bids {
        order_id: u64,
        start_after: Option<(Uint128, u64)>,
        limit: Option<u32>,
    },
    #[returns(Lease)]
    Lease { lease_id: u64 },
    #[returns(LeasesResponse)]
    LeasesByTenant {
        tenant: String,
        start_after: Option<u64>,
        limit: Option<u32>,
    },
    #[returns(LeasesResponse)]
    LeasesByProvider {
        provider: String,
        start_after: Option<u64>,
        limit: Option<u32>,
    },
    /// Split of the lease's escrow at the current block time.
    #[returns(LeaseBalanceResponse)]
    LeaseBalance { lease_id: u64 },
}

#[cw_serde]
pub struct ConfigResponse {
    pub token: Addr,
    pub registry: Addr,
    pub staking: Addr,
}

#[cw_serde]
pub struct OrdersResponse {
    pub orders: Vec<Order>,
}

#[cw_serde]
pub struct BidsResponse {
    pub bids: Vec<Bid>,
}

#[cw_serde]
pub struct LeasesResponse {
    pub leases: Vec<Lease>,
}

#[cw_serde]
pub struct LeaseBalanceResponse {
    pub lease_id: u64,
    pub now: Timestamp,
    /// Earned by the provider and not yet withdrawn.
    pub provider_withdrawable: Uint128,
    /// What the tenant would get back if it closed the lease now.
    pub tenant_refundable: Uint128,
    pub escrow: Uint128,
}
