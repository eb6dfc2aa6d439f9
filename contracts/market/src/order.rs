//! Deployment orders: creation through a cw20 `Send` (escrow), cancellation with refund.

use akash_types::market::{Order, OrderSpec, OrderState};
use cosmwasm_std::{Addr, DepsMut, Env, MessageInfo, Response, Uint128};

use crate::error::ContractError;
use crate::external::transfer;
use crate::state::{load_order, next_id, save_new_order, transition_order, CONFIG, NEXT_ORDER_ID};
use crate::validation::{add_secs, validate_spec};

/// `ReceiveMsg::CreateOrder`: the token was already checked by the hook dispatcher; `tenant`
/// is the cw20 sender and `amount` what it sent.
pub fn create_order(
    deps: DepsMut,
    env: Env,
    tenant: Addr,
    amount: Uint128,
    spec: OrderSpec,
) -> Result<Response, ContractError> {
    validate_spec(&spec)?;
    let expected = spec
        .max_price_per_second
        .checked_mul(Uint128::from(spec.lease_duration_secs))?;
    if amount != expected {
        return Err(ContractError::EscrowMismatch {
            expected,
            sent: amount,
        });
    }
    let now = env.block.time;
    let bid_window_ends_at = add_secs(now, spec.bid_window_secs)?;
    let id = next_id(deps.storage, &NEXT_ORDER_ID)?;
    let order = Order {
        id,
        tenant,
        spec,
        state: OrderState::Open,
        created_at: now,
        bid_window_ends_at,
        escrow: amount,
        bid_count: 0,
        lease_id: None,
    };
    save_new_order(deps.storage, &order)?;

    Ok(Response::new()
        .add_attribute("action", "create_order")
        .add_attribute("order_id", id.to_string())
        .add_attribute("tenant", order.tenant.as_str())
        .add_attribute("max_price_per_second", order.spec.max_price_per_second)
        .add_attribute(
            "lease_duration_secs",
            order.spec.lease_duration_secs.to_string(),
        )
        .add_attribute(
            "bid_window_ends_at",
            bid_window_ends_at.seconds().to_string(),
        )
        .add_attribute("count", order.spec.count.to_string())
        .add_attribute("escrow", amount)
        .add_attribute("manifest_sha256", order.spec.manifest_sha256.as_str()))
}

/// Tenant only, while the order is Open (even after the window, before `Match`).
pub fn cancel_order(
    deps: DepsMut,
    info: MessageInfo,
    order_id: u64,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    let mut order = load_order(deps.storage, order_id)?;
    if info.sender != order.tenant {
        return Err(ContractError::NotOrderTenant {
            order_id,
            sender: info.sender.into_string(),
            tenant: order.tenant.into_string(),
        });
    }
    if order.state != OrderState::Open {
        return Err(ContractError::OrderNotOpen {
            order_id,
            state: order.state,
        });
    }
    let refund = order.escrow;
    order.escrow = Uint128::zero();
    transition_order(deps.storage, &mut order, OrderState::Cancelled)?;

    let cfg = CONFIG.load(deps.storage)?;
    Ok(Response::new()
        .add_messages(transfer(&cfg, &order.tenant, refund)?)
        .add_attribute("action", "cancel_order")
        .add_attribute("order_id", order_id.to_string())
        .add_attribute("tenant", order.tenant.as_str())
        .add_attribute("refund", refund))
}
