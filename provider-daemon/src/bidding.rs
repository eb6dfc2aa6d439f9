//! The bid engine: sees open orders (market events, plus a periodic scan that also backfills
//! after a restart), bids on those it can serve at its rate card, and calls `Match` when their
//! bid window closes.
//!
//! Capacity is booked in a [`CapacityLedger`] shared with the lease manager: a bid holds its
//! order's resources until the order is matched to someone else, expires or is cancelled; a
//! won order's hold passes to its lease. Each order we look at has a [`BidPhase`] that moves
//! only along the transitions [`BidPhase::can_become`] allows.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use akash_chain_client::{ChainError, MarketChain, MarketEvent, Timestamp};
use akash_types::common::{Attribute, ResourceUnits};
use akash_types::market::{Order, OrderState, MAX_PAGE_LIMIT};
use cosmwasm_std::{Decimal, Decimal256, Uint128, Uint256};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::config::{CapacityConfig, RateCardConfig};
use crate::runtime::HostCapacity;

const MIB: u128 = 1 << 20;
const GIB: u128 = 1 << 30;
/// Final orders kept for [`BidEngine::phase`] before the oldest are forgotten.
const MAX_FINISHED_ORDERS_KEPT: usize = 4096;

#[derive(Debug, Error)]
pub enum BidError {
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    #[error(transparent)]
    Price(#[from] PriceError),
}

// ---- resources and capacity ------------------------------------------------------------

/// Amounts of every resource, summed over units (u128, so `unit x count` cannot overflow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu_millis: u128,
    pub memory_bytes: u128,
    pub storage_bytes: u128,
    pub bandwidth_bytes_per_sec: u128,
}

impl Resources {
    /// No limit on any resource.
    pub const UNLIMITED: Resources = Resources {
        cpu_millis: u128::MAX,
        memory_bytes: u128::MAX,
        storage_bytes: u128::MAX,
        bandwidth_bytes_per_sec: u128::MAX,
    };

    /// What an order needs in total: its unit resources times its count.
    pub fn of_order(unit: &ResourceUnits, count: u32) -> Self {
        let count = u128::from(count);
        Resources {
            cpu_millis: u128::from(unit.cpu_millis) * count,
            memory_bytes: u128::from(unit.memory_bytes) * count,
            storage_bytes: u128::from(unit.storage_bytes) * count,
            bandwidth_bytes_per_sec: u128::from(unit.bandwidth_bytes_per_sec) * count,
        }
    }

    fn fields(&self) -> [(&'static str, u128); 4] {
        [
            ("cpu_millis", self.cpu_millis),
            ("memory_bytes", self.memory_bytes),
            ("storage_bytes", self.storage_bytes),
            ("bandwidth_bytes_per_sec", self.bandwidth_bytes_per_sec),
        ]
    }

    fn saturating_add(self, other: Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_add(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_add(other.memory_bytes),
            storage_bytes: self.storage_bytes.saturating_add(other.storage_bytes),
            bandwidth_bytes_per_sec: self
                .bandwidth_bytes_per_sec
                .saturating_add(other.bandwidth_bytes_per_sec),
        }
    }

    fn saturating_sub(self, other: Resources) -> Resources {
        Resources {
            cpu_millis: self.cpu_millis.saturating_sub(other.cpu_millis),
            memory_bytes: self.memory_bytes.saturating_sub(other.memory_bytes),
            storage_bytes: self.storage_bytes.saturating_sub(other.storage_bytes),
            bandwidth_bytes_per_sec: self
                .bandwidth_bytes_per_sec
                .saturating_sub(other.bandwidth_bytes_per_sec),
        }
    }

    /// The first resource of `self` that exceeds `available`.
    fn first_excess(&self, available: &Resources) -> Option<CapacityShortfall> {
        self.fields()
            .into_iter()
            .zip(available.fields())
            .find(|((_, needed), (_, free))| needed > free)
            .map(|((resource, needed), (_, free))| CapacityShortfall {
                resource,
                needed,
                free,
            })
    }
}

/// What the provider offers: the host's CPU and memory (or the configured overrides) times
/// the offered fraction; storage and bandwidth as configured, unlimited when not.
pub fn offered_capacity(host: HostCapacity, config: &CapacityConfig) -> Resources {
    let fraction = |total: u128| -> u128 {
        // f64 has 53 bits of mantissa: exact for any realistic host.
        let offered = (total as f64) * config.offer_fraction.clamp(0.0, 1.0);
        offered.floor() as u128
    };
    let cpu = config.cpu_millis.unwrap_or(host.cpu_millis);
    let memory = config
        .memory_mib
        .map(|mib| u128::from(mib) * MIB)
        .unwrap_or(u128::from(host.memory_bytes));
    Resources {
        cpu_millis: fraction(u128::from(cpu)),
        memory_bytes: fraction(memory),
        storage_bytes: config
            .storage_gib
            .map(|gib| u128::from(gib) * GIB)
            .unwrap_or(u128::MAX),
        bandwidth_bytes_per_sec: config
            .bandwidth_mibps
            .map(|mibps| u128::from(mibps) * MIB)
            .unwrap_or(u128::MAX),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not enough {resource}: the order needs {needed}, {free} is free")]
pub struct CapacityShortfall {
    pub resource: &'static str,
    pub needed: u128,
    pub free: u128,
}

/// What holds an order's resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hold {
    pub total: Resources,
    /// `None` while it is a bid, the lease once won.
    pub lease_id: Option<u64>,
}

/// The resources held by pending bids and active leases, by order id, against what the
/// provider offers. Shared by the bid engine and the lease manager.
#[derive(Debug)]
pub struct CapacityLedger {
    state: Mutex<LedgerState>,
}

#[derive(Debug)]
struct LedgerState {
    offered: Resources,
    holds: BTreeMap<u64, Hold>,
}

impl LedgerState {
    fn reserved(&self) -> Resources {
        self.holds.values().fold(Resources::default(), |sum, hold| {
            sum.saturating_add(hold.total)
        })
    }
}

impl CapacityLedger {
    pub fn new(offered: Resources) -> Self {
        CapacityLedger {
            state: Mutex::new(LedgerState {
                offered,
                holds: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LedgerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn offered(&self) -> Resources {
        self.lock().offered
    }

    /// Sum of every hold.
    pub fn reserved(&self) -> Resources {
        self.lock().reserved()
    }

    pub fn free(&self) -> Resources {
        let state = self.lock();
        state.offered.saturating_sub(state.reserved())
    }

    pub fn hold(&self, order_id: u64) -> Option<Hold> {
        self.lock().holds.get(&order_id).copied()
    }

    pub fn holds(&self) -> Vec<(u64, Hold)> {
        self.lock()
            .holds
            .iter()
            .map(|(order_id, hold)| (*order_id, *hold))
            .collect()
    }

    /// Books `total` for a bid on `order_id` if it fits in what is free. Booking an order
    /// that already holds resources succeeds without booking twice.
    pub fn try_reserve(&self, order_id: u64, total: Resources) -> Result<(), CapacityShortfall> {
        let mut state = self.lock();
        if state.holds.contains_key(&order_id) {
            return Ok(());
        }
        let free = state.offered.saturating_sub(state.reserved());
        if let Some(shortfall) = total.first_excess(&free) {
            return Err(shortfall);
        }
        state.holds.insert(
            order_id,
            Hold {
                total,
                lease_id: None,
            },
        );
        Ok(())
    }

    /// Books `total` for a lease whatever is free: the lease exists, its resources are in use.
    pub fn hold_for_lease(&self, order_id: u64, lease_id: u64, total: Resources) {
        self.lock().holds.insert(
            order_id,
            Hold {
                total,
                lease_id: Some(lease_id),
            },
        );
    }

    /// Marks the hold of a bid as its lease's, if the order still holds anything: the lease
    /// manager books (and frees) leases itself, and may have freed this one already.
    pub fn mark_won(&self, order_id: u64, lease_id: u64) {
        if let Some(hold) = self.lock().holds.get_mut(&order_id) {
            hold.lease_id = Some(lease_id);
        }
    }

    /// Books a bid found on chain (after a restart) whatever is free: it is placed already.
    fn hold_adopted_bid(&self, order_id: u64, total: Resources) {
        self.lock().holds.entry(order_id).or_insert(Hold {
            total,
            lease_id: None,
        });
    }

    /// Frees what `order_id` held; false if it held nothing.
    pub fn release(&self, order_id: u64) -> bool {
        self.lock().holds.remove(&order_id).is_some()
    }
}

// ---- pricing ---------------------------------------------------------------------------

/// Prices per second in base units (see `examples/provider.toml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateCard {
    pub cpu_milli: Decimal,
    pub memory_mib: Decimal,
    pub storage_gib: Decimal,
    pub bandwidth_mibps: Decimal,
    pub minimum: Uint128,
}

#[derive(Debug, Clone, PartialEq, Error)]
#[error("price of {count} x {unit:?} does not fit in 128 bits")]
pub struct PriceError {
    pub unit: ResourceUnits,
    pub count: u32,
}

impl From<&RateCardConfig> for RateCard {
    fn from(config: &RateCardConfig) -> Self {
        RateCard {
            cpu_milli: config.cpu_milli,
            memory_mib: config.memory_mib,
            storage_gib: config.storage_gib,
            bandwidth_mibps: config.bandwidth_mibps,
            minimum: config.minimum,
        }
    }
}

impl RateCard {
    /// Price per second of a whole order: `count x rate(unit)`, rounded up to a base unit,
    /// never below the minimum nor below 1 (the market refuses a zero price).
    pub fn price(&self, unit: &ResourceUnits, count: u32) -> Result<Uint128, PriceError> {
        let error = || PriceError { unit: *unit, count };
        let term = |quantity: u64, divisor: u128, rate: Decimal| -> Option<Decimal256> {
            let quantity =
                Decimal256::checked_from_ratio(Uint256::from(quantity), Uint256::from(divisor))
                    .ok()?;
            quantity.checked_mul(Decimal256::from(rate)).ok()
        };
        let per_unit = [
            term(unit.cpu_millis, 1, self.cpu_milli),
            term(unit.memory_bytes, MIB, self.memory_mib),
            term(unit.storage_bytes, GIB, self.storage_gib),
            term(unit.bandwidth_bytes_per_sec, MIB, self.bandwidth_mibps),
        ]
        .into_iter()
        .try_fold(Decimal256::zero(), |sum, term| sum.checked_add(term?).ok())
        .ok_or_else(error)?;
        let total = per_unit
            .checked_mul(Decimal256::from_ratio(count, 1u32))
            .map_err(|_| error())?;
        let price = Uint128::try_from(total.to_uint_ceil()).map_err(|_| error())?;
        Ok(price.max(self.minimum).max(Uint128::one()))
    }
}

// ---- per-order state machine -----------------------------------------------------------

/// Where an order stands for this provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BidPhase {
    /// Known, not decided yet.
    Seen,
    /// No bid, for `reason`; looked at again by the next scans while the order is open (free
    /// capacity or our stake may change).
    Declined {
        reason: String,
    },
    /// Our bid is on chain; the order's resources are held.
    Bid {
        price: Uint128,
    },
    /// Matched to us; the hold passed to the lease.
    Won {
        lease_id: u64,
    },
    /// Matched to another provider (`winner`), or our bid was withdrawn.
    Lost {
        winner: String,
    },
    /// Matched with no eligible bid.
    Expired,
    Cancelled,
}

impl BidPhase {
    pub fn name(&self) -> &'static str {
        match self {
            BidPhase::Seen => "seen",
            BidPhase::Declined { .. } => "declined",
            BidPhase::Bid { .. } => "bid",
            BidPhase::Won { .. } => "won",
            BidPhase::Lost { .. } => "lost",
            BidPhase::Expired => "expired",
            BidPhase::Cancelled => "cancelled",
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(
            self,
            BidPhase::Won { .. } | BidPhase::Lost { .. } | BidPhase::Expired | BidPhase::Cancelled
        )
    }

    /// The allowed transitions: Seen -> Declined | Bid, Declined -> Declined | Bid,
    /// Bid -> Won, and from any phase that is not final to Lost, Expired or Cancelled.
    pub fn can_become(&self, next: &BidPhase) -> bool {
        use BidPhase::*;
        match (self, next) {
            (Seen | Declined { .. }, Declined { .. } | Bid { .. }) => true,
            (Bid { .. }, Won { .. }) => true,
            (from, Lost { .. } | Expired | Cancelled) => !from.is_final(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("order {order_id}: no transition from {from} to {to}")]
pub struct TransitionError {
    pub order_id: u64,
    pub from: &'static str,
    pub to: &'static str,
}

/// One order the engine has looked at.
#[derive(Clone, Debug)]
pub struct TrackedOrder {
    pub order_id: u64,
    pub phase: BidPhase,
    pub bid_window_ends_at: Timestamp,
    pub total: Resources,
}

impl TrackedOrder {
    fn transition(&mut self, next: BidPhase) -> Result<(), TransitionError> {
        if !self.phase.can_become(&next) {
            return Err(TransitionError {
                order_id: self.order_id,
                from: self.phase.name(),
                to: next.name(),
            });
        }
        self.phase = next;
        Ok(())
    }
}

// ---- the engine ------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct BidEngineSettings {
    pub rate_card: RateCard,
    /// Period of the scan of open orders.
    pub scan_interval: Duration,
    /// How often the engine checks whether orders it bid on can be matched.
    pub match_poll_interval: Duration,
}

/// Our registration, stake and reputation as the market sees them.
#[derive(Clone, Debug, Default)]
struct Standing {
    registered: bool,
    attributes: Vec<Attribute>,
    stake: Uint128,
    reputation: u32,
}

pub struct BidEngine {
    chain: Arc<dyn MarketChain>,
    ledger: Arc<CapacityLedger>,
    settings: BidEngineSettings,
    orders: Mutex<BTreeMap<u64, TrackedOrder>>,
    standing: Mutex<Option<Standing>>,
}

impl BidEngine {
    pub fn new(
        chain: Arc<dyn MarketChain>,
        ledger: Arc<CapacityLedger>,
        settings: BidEngineSettings,
    ) -> Self {
        BidEngine {
            chain,
            ledger,
            settings,
            orders: Mutex::new(BTreeMap::new()),
            standing: Mutex::new(None),
        }
    }

    pub fn ledger(&self) -> &Arc<CapacityLedger> {
        &self.ledger
    }

    /// Where `order_id` stands, if the engine has looked at it.
    pub fn phase(&self, order_id: u64) -> Option<BidPhase> {
        self.lock_orders()
            .get(&order_id)
            .map(|order| order.phase.clone())
    }

    /// Every order the engine tracks.
    pub fn orders(&self) -> Vec<TrackedOrder> {
        self.lock_orders().values().cloned().collect()
    }

    fn lock_orders(&self) -> MutexGuard<'_, BTreeMap<u64, TrackedOrder>> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn address(&self) -> &str {
        self.chain.address()
    }

    /// Handles market events as they come, scans open orders every `scan_interval` (the first
    /// scan at once: the backfill after a start) and matches orders whose window closed,
    /// until `cancel`.
    pub async fn run(&self, mut events: mpsc::Receiver<MarketEvent>, cancel: CancellationToken) {
        let mut scan = tokio::time::interval(self.settings.scan_interval);
        scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut matching = tokio::time::interval(self.settings.match_poll_interval);
        matching.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                event = events.recv() => match event {
                    Some(event) => self.handle_event(&event).await,
                    None => break,
                },
                _ = scan.tick() => {
                    if let Err(error) = self.scan_open_orders().await {
                        warn!(%error, "scan of open orders failed; next scan retries");
                    }
                }
                _ = matching.tick() => self.match_due_orders().await,
            }
        }
        debug!("bid engine stopped");
    }

    /// Reacts to one market event; errors are logged (the periodic scan repairs anything
    /// missed).
    pub async fn handle_event(&self, event: &MarketEvent) {
        let Some(order_id) = event.order_id() else {
            return;
        };
        let span = info_span!("order", order_id);
        async {
            let result = match event.action.as_str() {
                "create_order" => self.consider(order_id).await,
                "match_order" => {
                    let winner = event.attribute("provider").unwrap_or_default();
                    match event.lease_id() {
                        Some(lease_id) if winner == self.address() => {
                            self.settle(order_id, BidPhase::Won { lease_id })
                        }
                        _ => self.settle(
                            order_id,
                            BidPhase::Lost {
                                winner: winner.to_string(),
                            },
                        ),
                    }
                }
                "order_expired" => self.settle(order_id, BidPhase::Expired),
                "cancel_order" => self.settle(order_id, BidPhase::Cancelled),
                "withdraw_bid" if event.attribute("provider") == Some(self.address()) => self
                    .settle(
                        order_id,
                        BidPhase::Lost {
                            winner: "none: our bid was withdrawn".to_string(),
                        },
                    ),
                _ => Ok(()),
            };
            if let Err(error) = result {
                warn!(action = %event.action, %error, "market event not handled");
            }
        }
        .instrument(span)
        .await
    }

    /// Refreshes our standing, then looks at every open order that is new or was declined,
    /// and settles tracked orders that are no longer open.
    pub async fn scan_open_orders(&self) -> Result<(), BidError> {
        self.refresh_standing().await?;
        let now = self.chain.block_time().await?;
        let mut start_after = None;
        let mut open = std::collections::BTreeSet::new();
        loop {
            let page = self
                .chain
                .orders(Some(OrderState::Open), start_after, Some(MAX_PAGE_LIMIT))
                .await?;
            let Some(last) = page.last() else { break };
            start_after = Some(last.id);
            let full_page = page.len() == MAX_PAGE_LIMIT as usize;
            for order in page {
                open.insert(order.id);
                let phase = self.phase(order.id);
                let consider = match phase {
                    // New to us, even with its window closed: our bid may be on chain from
                    // before a restart, and then it is ours to match.
                    None => true,
                    Some(BidPhase::Seen | BidPhase::Declined { .. }) => {
                        now < order.bid_window_ends_at
                    }
                    Some(_) => false,
                };
                if consider {
                    let order_id = order.id;
                    if let Err(error) = self
                        .consider_order(order)
                        .instrument(info_span!("order", order_id))
                        .await
                    {
                        warn!(order_id, %error, "order not considered");
                    }
                }
            }
            if !full_page {
                break;
            }
        }
        // Orders we hold resources for that left the Open state without us seeing the event.
        let unsettled: Vec<u64> = self
            .lock_orders()
            .values()
            .filter(|order| !order.phase.is_final() && !open.contains(&order.order_id))
            .map(|order| order.order_id)
            .collect();
        for order_id in unsettled {
            if let Err(error) = self
                .settle_from_chain(order_id)
                .instrument(info_span!("order", order_id))
                .await
            {
                warn!(order_id, %error, "order not settled");
            }
        }
        Ok(())
    }

    async fn refresh_standing(&self) -> Result<Standing, ChainError> {
        let reputation = self.chain.reputation(self.address()).await?;
        let attributes = if reputation.registered {
            self.chain.provider(self.address()).await?.attributes
        } else {
            Vec::new()
        };
        let standing = Standing {
            registered: reputation.registered,
            attributes,
            stake: reputation.stake,
            reputation: reputation.score,
        };
        *self.standing.lock().unwrap_or_else(PoisonError::into_inner) = Some(standing.clone());
        Ok(standing)
    }

    async fn standing(&self) -> Result<Standing, ChainError> {
        let cached = self
            .standing
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        match cached {
            Some(standing) => Ok(standing),
            None => self.refresh_standing().await,
        }
    }

    async fn consider(&self, order_id: u64) -> Result<(), BidError> {
        let order = self.chain.order(order_id).await?;
        self.consider_order(order).await
    }

    /// Decides on one order: bid, decline, or settle it if it is no longer open.
    async fn consider_order(&self, order: Order) -> Result<(), BidError> {
        let order_id = order.id;
        if order.state != OrderState::Open {
            if self.phase(order_id).is_some() {
                return self.settle_from_chain(order_id).await;
            }
            return Ok(());
        }
        let total = Resources::of_order(&order.spec.resources, order.spec.count);
        let is_new = {
            let mut orders = self.lock_orders();
            let is_new = !orders.contains_key(&order_id);
            if is_new {
                orders.insert(
                    order_id,
                    TrackedOrder {
                        order_id,
                        phase: BidPhase::Seen,
                        bid_window_ends_at: order.bid_window_ends_at,
                        total,
                    },
                );
                prune_finished(&mut orders);
            }
            is_new
        };
        match self.phase(order_id) {
            Some(BidPhase::Seen | BidPhase::Declined { .. }) => {}
            _ => return Ok(()),
        }
        // After a restart our bid may already be on chain: adopt it and its hold.
        if is_new {
            match self.chain.bid(order_id, self.address()).await {
                Ok(bid) => {
                    self.ledger.hold_adopted_bid(order_id, total);
                    info!(price = %bid.price_per_second, "our bid is on chain already; adopted");
                    return self.transition(
                        order_id,
                        BidPhase::Bid {
                            price: bid.price_per_second,
                        },
                    );
                }
                Err(ChainError::Contract { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        let now = self.chain.block_time().await?;
        if now >= order.bid_window_ends_at {
            return self.decline(order_id, "its bid window has closed".to_string());
        }
        if order.tenant.as_str() == self.address() {
            return self.decline(order_id, "it is our own order".to_string());
        }
        let standing = self.standing().await?;
        if let Some(reason) = ineligibility(&order, &standing) {
            return self.decline(order_id, reason);
        }
        let price = self
            .settings
            .rate_card
            .price(&order.spec.resources, order.spec.count)?;
        if price > order.spec.max_price_per_second {
            return self.decline(
                order_id,
                format!(
                    "our price {price}/s is above the order's max {}/s",
                    order.spec.max_price_per_second
                ),
            );
        }
        if let Err(shortfall) = self.ledger.try_reserve(order_id, total) {
            return self.decline(order_id, shortfall.to_string());
        }
        match self
            .chain
            .place_bid(order_id, price, order.spec.resources)
            .await
        {
            Ok(_) => {
                info!(%price, "bid placed");
                self.transition(order_id, BidPhase::Bid { price })
            }
            Err(error) => {
                self.ledger.release(order_id);
                if error.is_transient() {
                    // Left as it is: the next scan tries again.
                    return Err(error.into());
                }
                self.decline(order_id, format!("the market refused our bid: {error}"))
            }
        }
    }

    fn decline(&self, order_id: u64, reason: String) -> Result<(), BidError> {
        let unchanged = matches!(
            self.phase(order_id),
            Some(BidPhase::Declined { reason: ref old }) if *old == reason
        );
        if unchanged {
            debug!(%reason, "still no bid");
        } else {
            info!(%reason, "no bid");
        }
        self.transition(order_id, BidPhase::Declined { reason })
    }

    fn transition(&self, order_id: u64, next: BidPhase) -> Result<(), BidError> {
        let mut orders = self.lock_orders();
        let order = orders.get_mut(&order_id).ok_or(TransitionError {
            order_id,
            from: "unknown",
            to: next.name(),
        })?;
        order.transition(next)?;
        Ok(())
    }

    /// Applies the outcome of an order the engine tracks (a no-op for others and for orders
    /// already settled), and moves its hold: kept for the lease if won, freed otherwise.
    fn settle(&self, order_id: u64, outcome: BidPhase) -> Result<(), BidError> {
        let mut orders = self.lock_orders();
        let Some(order) = orders.get_mut(&order_id) else {
            return Ok(());
        };
        if order.phase.is_final() {
            return Ok(());
        }
        let had_bid = matches!(order.phase, BidPhase::Bid { .. });
        order.transition(outcome.clone())?;
        match outcome {
            BidPhase::Won { lease_id } => {
                self.ledger.mark_won(order_id, lease_id);
                info!(lease_id, "order won");
            }
            other => {
                self.ledger.release(order_id);
                if had_bid {
                    info!(
                        outcome = other.name(),
                        ?other,
                        "order settled; capacity released"
                    );
                }
            }
        }
        Ok(())
    }

    /// Reads the order's outcome from the chain and settles it.
    async fn settle_from_chain(&self, order_id: u64) -> Result<(), BidError> {
        let order = self.chain.order(order_id).await?;
        let outcome = match order.state {
            OrderState::Open => return Ok(()),
            OrderState::Expired => BidPhase::Expired,
            OrderState::Cancelled => BidPhase::Cancelled,
            OrderState::Matched => {
                let Some(lease_id) = order.lease_id else {
                    return Ok(());
                };
                let lease = self.chain.lease(lease_id).await?;
                if lease.provider.as_str() == self.address() {
                    BidPhase::Won { lease_id }
                } else {
                    BidPhase::Lost {
                        winner: lease.provider.into_string(),
                    }
                }
            }
        };
        self.settle(order_id, outcome)
    }

    /// Calls `Match` on every order we bid on whose window has closed (anyone may; whoever is
    /// first opens the lease), then settles it from the chain. "Not open" means someone else
    /// matched it first, which is fine.
    pub async fn match_due_orders(&self) {
        let bid_on: Vec<(u64, Timestamp)> = self
            .lock_orders()
            .values()
            .filter(|order| matches!(order.phase, BidPhase::Bid { .. }))
            .map(|order| (order.order_id, order.bid_window_ends_at))
            .collect();
        if bid_on.is_empty() {
            return;
        }
        let now = match self.chain.block_time().await {
            Ok(now) => now,
            Err(error) => {
                warn!(%error, "chain time unavailable; matching waits");
                return;
            }
        };
        for (order_id, ends_at) in bid_on {
            if now < ends_at {
                continue;
            }
            async {
                match self.chain.match_order(order_id).await {
                    Ok(result) => info!(lease_id = ?result.lease_id, "order matched"),
                    Err(error) => match error.contract_message() {
                        Some(message) if message.contains("not Open") => {
                            debug!(%message, "already matched")
                        }
                        Some(message) if message.contains("once its bid window closes") => {
                            debug!(%message, "window not closed on chain yet");
                            return;
                        }
                        _ => {
                            warn!(%error, "match failed; retried later");
                            return;
                        }
                    },
                }
                if let Err(error) = self.settle_from_chain(order_id).await {
                    warn!(%error, "order not settled after match");
                }
            }
            .instrument(info_span!("order", order_id))
            .await
        }
    }
}

/// Why our standing does not meet the order's placement requirements, if it does not.
fn ineligibility(order: &Order, standing: &Standing) -> Option<String> {
    if !standing.registered {
        return Some("we are not a registered provider".to_string());
    }
    let requirements = &order.spec.requirements;
    for required in &requirements.attributes {
        if !standing.attributes.contains(required) {
            let ours = standing
                .attributes
                .iter()
                .find(|attribute| attribute.key == required.key)
                .map(|attribute| format!("ours is {}={}", attribute.key, attribute.value))
                .unwrap_or_else(|| "we have none".to_string());
            return Some(format!(
                "it requires attribute {}={} ({ours})",
                required.key, required.value
            ));
        }
    }
    if standing.stake < requirements.min_stake {
        return Some(format!(
            "it requires a stake of {}, ours is {}",
            requirements.min_stake, standing.stake
        ));
    }
    if standing.reputation < requirements.min_reputation {
        return Some(format!(
            "it requires a reputation of {}, ours is {}",
            requirements.min_reputation, standing.reputation
        ));
    }
    None
}

/// Forgets the oldest settled orders beyond [`MAX_FINISHED_ORDERS_KEPT`].
fn prune_finished(orders: &mut BTreeMap<u64, TrackedOrder>) {
    let finished: Vec<u64> = orders
        .values()
        .filter(|order| order.phase.is_final())
        .map(|order| order.order_id)
        .collect();
    let excess = finished.len().saturating_sub(MAX_FINISHED_ORDERS_KEPT);
    for order_id in finished.into_iter().take(excess) {
        orders.remove(&order_id);
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn card() -> RateCard {
        RateCard {
            cpu_milli: Decimal::from_str("0.001").unwrap(),
            memory_mib: Decimal::from_str("0.0005").unwrap(),
            storage_gib: Decimal::from_str("0.01").unwrap(),
            bandwidth_mibps: Decimal::from_str("0.05").unwrap(),
            minimum: Uint128::new(1),
        }
    }

    fn unit(cpu_millis: u64, memory_mib: u64) -> ResourceUnits {
        ResourceUnits {
            cpu_millis,
            memory_bytes: memory_mib << 20,
            storage_bytes: 0,
            bandwidth_bytes_per_sec: 0,
        }
    }

    #[test]
    fn price_is_rate_times_count_rounded_up_with_a_minimum() {
        // 1000 millis x 0.001 + 1024 MiB x 0.0005 = 1.512 per unit; x 3 = 4.536 -> 5.
        assert_eq!(card().price(&unit(1000, 1024), 3).unwrap(), Uint128::new(5));
        // 2 cores and 2 GiB: 2 + 1.024 = 3.024 -> 4.
        assert_eq!(card().price(&unit(2000, 2048), 1).unwrap(), Uint128::new(4));
        // Tiny orders pay the minimum.
        let mut expensive_minimum = card();
        expensive_minimum.minimum = Uint128::new(100);
        assert_eq!(
            expensive_minimum.price(&unit(10, 1), 1).unwrap(),
            Uint128::new(100)
        );
        // A free rate card still bids 1 (the market refuses 0).
        let free = RateCard {
            cpu_milli: Decimal::zero(),
            memory_mib: Decimal::zero(),
            storage_gib: Decimal::zero(),
            bandwidth_mibps: Decimal::zero(),
            minimum: Uint128::zero(),
        };
        assert_eq!(free.price(&unit(10, 1), 1).unwrap(), Uint128::one());
        // Storage and bandwidth count.
        let storage = ResourceUnits {
            storage_bytes: 10 << 30,
            bandwidth_bytes_per_sec: 20 << 20,
            ..unit(0, 0)
        };
        assert_eq!(card().price(&storage, 1).unwrap(), Uint128::new(2));
        // The largest order does not overflow.
        let huge = ResourceUnits {
            cpu_millis: u64::MAX,
            memory_bytes: u64::MAX,
            storage_bytes: u64::MAX,
            bandwidth_bytes_per_sec: u64::MAX,
        };
        assert!(card().price(&huge, 1000).is_ok());
    }

    #[test]
    fn ledger_books_frees_and_refuses_beyond_capacity() {
        let ledger = CapacityLedger::new(Resources {
            cpu_millis: 1000,
            memory_bytes: 1 << 30,
            ..Resources::UNLIMITED
        });
        let half = Resources::of_order(&unit(250, 256), 2);
        ledger.try_reserve(1, half).unwrap();
        ledger.try_reserve(1, half).unwrap();
        assert_eq!(ledger.reserved(), half);
        let shortfall = ledger
            .try_reserve(2, Resources::of_order(&unit(600, 1), 1))
            .unwrap_err();
        assert_eq!(shortfall.resource, "cpu_millis");
        assert_eq!((shortfall.needed, shortfall.free), (600, 500));
        ledger.hold_for_lease(1, 9, half);
        assert_eq!(ledger.hold(1).unwrap().lease_id, Some(9));
        assert!(ledger.release(1));
        assert!(!ledger.release(1));
        // A late "won" does not bring back a hold the lease manager freed.
        ledger.mark_won(1, 9);
        assert!(ledger.hold(1).is_none());
        assert_eq!(ledger.reserved(), Resources::default());
        ledger
            .try_reserve(2, Resources::of_order(&unit(600, 1), 1))
            .unwrap();
    }

    #[test]
    fn offered_capacity_applies_fraction_and_overrides() {
        let host = HostCapacity {
            cpu_millis: 4000,
            memory_bytes: 8 << 30,
        };
        let config = CapacityConfig {
            offer_fraction: 0.5,
            memory_mib: Some(1024),
            storage_gib: Some(10),
            ..CapacityConfig::default()
        };
        let offered = offered_capacity(host, &config);
        assert_eq!(offered.cpu_millis, 2000);
        assert_eq!(offered.memory_bytes, 512 << 20);
        assert_eq!(offered.storage_bytes, 10 << 30);
        assert_eq!(offered.bandwidth_bytes_per_sec, u128::MAX);
    }

    #[test]
    fn phases_move_only_along_allowed_transitions() {
        let mut order = TrackedOrder {
            order_id: 4,
            phase: BidPhase::Seen,
            bid_window_ends_at: Timestamp::from_seconds(0),
            total: Resources::default(),
        };
        let error = order.transition(BidPhase::Won { lease_id: 1 }).unwrap_err();
        assert_eq!(error.to_string(), "order 4: no transition from seen to won");
        order
            .transition(BidPhase::Declined { reason: "x".into() })
            .unwrap();
        order
            .transition(BidPhase::Bid {
                price: Uint128::one(),
            })
            .unwrap();
        order.transition(BidPhase::Won { lease_id: 1 }).unwrap();
        assert!(order.transition(BidPhase::Expired).is_err());
        assert!(order
            .transition(BidPhase::Lost { winner: "x".into() })
            .is_err());
        assert!(BidPhase::Seen.can_become(&BidPhase::Cancelled));
        assert!(!BidPhase::Expired.can_become(&BidPhase::Bid {
            price: Uint128::one()
        }));
    }
}
