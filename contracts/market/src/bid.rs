//! Bids (fulfilment orders) and matching.
//!
//! Gas: placing and withdrawing a bid touch a fixed number of keys. `Match` walks the order's
//! `BID_INDEX` sub-prefix from the lowest (price, sequence) and stops at the first eligible
//! bid; the walk is bounded by `MAX_BIDS_PER_ORDER`, and in the common case (the best bidder
//! is still eligible) it reads one entry. Losing bids are never deleted by `Match`.

use akash_types::common::ResourceUnits;
use akash_types::market::{Bid, Order, OrderState, MAX_BIDS_PER_ORDER};
use cosmwasm_std::{
    Addr, Deps, DepsMut, Env, MessageInfo, Order as SortOrder, OverflowError, OverflowOperation,
    Response, StdResult, Uint128,
};

use crate::error::ContractError;
use crate::external::{
    query_provider, query_reputation, query_stake, record_lease_started, transfer,
};
use crate::lease::open_lease;
use crate::state::{
    load_order, next_id, transition_order, Config, BIDS, BID_INDEX, CONFIG, NEXT_BID_SEQUENCE,
    ORDERS,
};

fn ensure_open(order: &Order) -> Result<(), ContractError> {
    if order.state != OrderState::Open {
        return Err(ContractError::OrderNotOpen {
            order_id: order.id,
            state: order.state,
        });
    }
    Ok(())
}

/// The order, if it is Open and its bid window has not closed.
fn load_biddable_order(deps: Deps, env: &Env, order_id: u64) -> Result<Order, ContractError> {
    let order = load_order(deps.storage, order_id)?;
    ensure_open(&order)?;
    if env.block.time >= order.bid_window_ends_at {
        return Err(ContractError::BidWindowClosed {
            order_id,
            now: env.block.time,
            ends_at: order.bid_window_ends_at,
        });
    }
    Ok(order)
}

/// Each resource offered must reach the order's; the error names the first that does not.
fn check_resources(offered: &ResourceUnits, required: &ResourceUnits) -> Result<(), ContractError> {
    for ((name, off), (_, req)) in offered.fields().into_iter().zip(required.fields()) {
        if off < req {
            return Err(ContractError::BidBelowMinimum {
                resource: name.to_string(),
                offered: off,
                required: req,
            });
        }
    }
    Ok(())
}

/// Whether `provider` meets the order's placement requirements now: registered, every
/// required attribute, min_stake, min_reputation. Used when the bid is placed and again at
/// match time. A zero threshold is met by anyone, so its query is skipped.
fn check_eligibility(
    deps: Deps,
    cfg: &Config,
    order: &Order,
    provider: &Addr,
) -> Result<(), ContractError> {
    let req = &order.spec.requirements;
    let registration = query_provider(&deps.querier, cfg, provider).map_err(|_| {
        ContractError::ProviderNotRegistered {
            provider: provider.to_string(),
        }
    })?;
    // Bounded: at most MAX_REQUIRED_ATTRIBUTES x registry::MAX_ATTRIBUTES comparisons.
    for want in &req.attributes {
        if !registration.attributes.iter().any(|have| have == want) {
            return Err(ContractError::MissingAttribute {
                key: want.key.clone(),
                value: want.value.clone(),
            });
        }
    }
    if !req.min_stake.is_zero() {
        let stake = query_stake(&deps.querier, cfg, provider)?;
        if stake < req.min_stake {
            return Err(ContractError::InsufficientStake {
                stake,
                min_stake: req.min_stake,
            });
        }
    }
    if req.min_reputation > 0 {
        let score = query_reputation(&deps.querier, cfg, provider)?.score;
        if score < req.min_reputation {
            return Err(ContractError::InsufficientReputation {
                score,
                min_reputation: req.min_reputation,
            });
        }
    }
    Ok(())
}

/// Response carrying the attributes every bid event has.
fn bid_response(action: &str, order: &Order, provider: &Addr, price: Uint128) -> Response {
    Response::new()
        .add_attribute("action", action)
        .add_attribute("order_id", order.id.to_string())
        .add_attribute("tenant", order.tenant.as_str())
        .add_attribute("provider", provider.as_str())
        .add_attribute("price", price)
}

pub fn place_bid(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    order_id: u64,
    price_per_second: Uint128,
    resources: ResourceUnits,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    let provider = info.sender;
    let mut order = load_biddable_order(deps.as_ref(), &env, order_id)?;
    if provider == order.tenant {
        return Err(ContractError::TenantCannotBid { order_id });
    }
    if BIDS.has(deps.storage, (order_id, &provider)) {
        return Err(ContractError::DuplicateBid {
            order_id,
            provider: provider.into_string(),
        });
    }
    if order.bid_count >= MAX_BIDS_PER_ORDER {
        return Err(ContractError::TooManyBids {
            order_id,
            max: MAX_BIDS_PER_ORDER,
        });
    }
    if price_per_second.is_zero() || price_per_second > order.spec.max_price_per_second {
        return Err(ContractError::BidPriceOutOfRange {
            price: price_per_second,
            max: order.spec.max_price_per_second,
        });
    }
    check_resources(&resources, &order.spec.resources)?;

    let cfg = CONFIG.load(deps.storage)?;
    check_eligibility(deps.as_ref(), &cfg, &order, &provider)?;

    let sequence = next_id(deps.storage, &NEXT_BID_SEQUENCE)?;
    let bid = Bid {
        order_id,
        provider: provider.clone(),
        price_per_second,
        resources,
        sequence,
        placed_at: env.block.time,
    };
    BIDS.save(deps.storage, (order_id, &provider), &bid)?;
    BID_INDEX.save(
        deps.storage,
        (order_id, price_per_second.u128(), sequence),
        &provider,
    )?;
    order.bid_count = order
        .bid_count
        .checked_add(1)
        .ok_or(OverflowError::new(OverflowOperation::Add))?;
    ORDERS.save(deps.storage, order_id, &order)?;

    Ok(
        bid_response("place_bid", &order, &provider, price_per_second)
            .add_attribute("sequence", sequence.to_string()),
    )
}

/// The bidding provider, while the order is Open and its window has not closed.
pub fn withdraw_bid(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    order_id: u64,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    let provider = info.sender;
    let mut order = load_biddable_order(deps.as_ref(), &env, order_id)?;
    let bid = BIDS
        .may_load(deps.storage, (order_id, &provider))?
        .ok_or_else(|| ContractError::BidNotFound {
            order_id,
            provider: provider.to_string(),
        })?;
    BIDS.remove(deps.storage, (order_id, &provider));
    BID_INDEX.remove(
        deps.storage,
        (order_id, bid.price_per_second.u128(), bid.sequence),
    );
    order.bid_count = order
        .bid_count
        .checked_sub(1)
        .ok_or(OverflowError::new(OverflowOperation::Sub))?;
    ORDERS.save(deps.storage, order_id, &order)?;

    Ok(bid_response(
        "withdraw_bid",
        &order,
        &provider,
        bid.price_per_second,
    ))
}

/// The bid that wins a match.
struct Winner {
    price: Uint128,
    sequence: u64,
    provider: Addr,
}

/// Lowest (price, sequence) bid whose provider is still eligible, and how many better bids
/// were skipped on the way.
fn best_eligible_bid(deps: Deps, cfg: &Config, order: &Order) -> StdResult<(Option<Winner>, u32)> {
    let mut skipped = 0u32;
    let candidates = BID_INDEX
        .sub_prefix(order.id)
        .range(deps.storage, None, None, SortOrder::Ascending)
        .take(MAX_BIDS_PER_ORDER as usize);
    for item in candidates {
        let ((price, sequence), provider) = item?;
        // A bidder that no longer qualifies (or whose query fails) is skipped, so one broken
        // bidder cannot block the match.
        if check_eligibility(deps, cfg, order, &provider).is_ok() {
            let winner = Winner {
                price: Uint128::new(price),
                sequence,
                provider,
            };
            return Ok((Some(winner), skipped));
        }
        skipped = skipped.saturating_add(1);
    }
    Ok((None, skipped))
}

/// Anyone, once the bid window has closed and the order is still Open.
pub fn match_order(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    order_id: u64,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    let mut order = load_order(deps.storage, order_id)?;
    ensure_open(&order)?;
    if env.block.time < order.bid_window_ends_at {
        return Err(ContractError::MatchBeforeWindowCloses {
            order_id,
            now: env.block.time,
            ends_at: order.bid_window_ends_at,
        });
    }
    let cfg = CONFIG.load(deps.storage)?;
    let (winner, skipped) = best_eligible_bid(deps.as_ref(), &cfg, &order)?;

    let Some(Winner {
        price,
        sequence,
        provider,
    }) = winner
    else {
        let refund = order.escrow;
        order.escrow = Uint128::zero();
        transition_order(deps.storage, &mut order, OrderState::Expired)?;
        return Ok(Response::new()
            .add_messages(transfer(&cfg, &order.tenant, refund)?)
            .add_attribute("action", "order_expired")
            .add_attribute("order_id", order_id.to_string())
            .add_attribute("tenant", order.tenant.as_str())
            .add_attribute("refund", refund)
            .add_attribute("skipped_bids", skipped.to_string()));
    };

    let lease = open_lease(deps.storage, &env, &order, &provider, price)?;
    let surplus = order.escrow.checked_sub(lease.escrow)?;
    order.escrow = Uint128::zero();
    order.lease_id = Some(lease.id);
    transition_order(deps.storage, &mut order, OrderState::Matched)?;

    Ok(bid_response("match_order", &order, &provider, price)
        .add_messages(transfer(&cfg, &order.tenant, surplus)?)
        .add_message(record_lease_started(&cfg, &provider, lease.id)?)
        .add_attribute("lease_id", lease.id.to_string())
        .add_attribute("sequence", sequence.to_string())
        .add_attribute("lease_escrow", lease.escrow)
        .add_attribute("surplus_refund", surplus)
        .add_attribute("ends_at", lease.ends_at.seconds().to_string())
        .add_attribute("manifest_sha256", lease.manifest_sha256.as_str())
        .add_attribute("skipped_bids", skipped.to_string()))
}
