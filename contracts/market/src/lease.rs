//! Leases: linear accrual, provider withdrawals, early close, completion, deposits that extend
//! the lease, and manifest versions.
//!
//! While a lease is Active:
//! `escrow == price_per_second * (ends_at - started_at) - withdrawn`, so the escrow always
//! covers what the provider can still earn and a lease can never be overdrawn.

use akash_types::common::LeaseOutcome;
use akash_types::market::{Lease, LeaseState, Order, MAX_LEASE_DURATION_SECS};
use cosmwasm_std::{
    Addr, DepsMut, Env, MessageInfo, OverflowError, OverflowOperation, Response, Storage,
    Timestamp, Uint128,
};

use crate::error::ContractError;
use crate::external::{record_lease_outcome, transfer};
use crate::state::{load_lease, next_id, save_new_lease, CONFIG, LEASES, NEXT_LEASE_ID};
use crate::validation::{add_secs, validate_manifest_hash, validate_reason, whole_secs_between};

/// How an Active lease's escrow divides at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Split {
    /// Accrued and not yet withdrawn.
    pub provider: Uint128,
    /// Everything else: what the tenant would get back on closing now.
    pub tenant: Uint128,
}

/// `price * (min(now, ends_at) - started_at)`, in whole seconds.
pub fn accrued(lease: &Lease, now: Timestamp) -> Result<Uint128, ContractError> {
    let until = now.min(lease.ends_at);
    let secs = whole_secs_between(lease.started_at, until);
    Ok(lease.price_per_second.checked_mul(Uint128::from(secs))?)
}

/// Split of the escrow at `now`; all zero once the lease is no longer Active (its escrow has
/// been paid out).
pub fn split(lease: &Lease, now: Timestamp) -> Result<Split, ContractError> {
    if lease.state != LeaseState::Active {
        return Ok(Split::default());
    }
    let provider = accrued(lease, now)?.checked_sub(lease.withdrawn)?;
    let tenant = lease.escrow.checked_sub(provider)?;
    Ok(Split { provider, tenant })
}

/// Creates the lease of a matched order at the winning price.
pub fn open_lease(
    store: &mut dyn Storage,
    env: &Env,
    order: &Order,
    provider: &Addr,
    price_per_second: Uint128,
) -> Result<Lease, ContractError> {
    let duration = order.spec.lease_duration_secs;
    let now = env.block.time;
    let lease = Lease {
        id: next_id(store, &NEXT_LEASE_ID)?,
        order_id: order.id,
        tenant: order.tenant.clone(),
        provider: provider.clone(),
        price_per_second,
        started_at: now,
        ends_at: add_secs(now, duration)?,
        escrow: price_per_second.checked_mul(Uint128::from(duration))?,
        withdrawn: Uint128::zero(),
        state: LeaseState::Active,
        closed_at: None,
        close_reason: None,
        manifest_sha256: order.spec.manifest_sha256.clone(),
        manifest_version: 1,
    };
    save_new_lease(store, &lease)?;
    Ok(lease)
}

fn ensure_active(lease: &Lease) -> Result<(), ContractError> {
    if lease.state != LeaseState::Active {
        return Err(ContractError::LeaseNotActive {
            lease_id: lease.id,
            state: lease.state,
        });
    }
    Ok(())
}

fn ensure_not_ended(lease: &Lease, now: Timestamp) -> Result<(), ContractError> {
    if now >= lease.ends_at {
        return Err(ContractError::LeaseEnded {
            lease_id: lease.id,
            ends_at: lease.ends_at,
            now,
        });
    }
    Ok(())
}

fn ensure_tenant(lease: &Lease, sender: &Addr) -> Result<(), ContractError> {
    if *sender != lease.tenant {
        return Err(ContractError::NotLeaseTenant {
            lease_id: lease.id,
            sender: sender.to_string(),
            tenant: lease.tenant.to_string(),
        });
    }
    Ok(())
}

/// Response carrying the attributes every lease event has: action, ids, parties, price.
fn lease_response(action: &str, lease: &Lease) -> Response {
    Response::new()
        .add_attribute("action", action)
        .add_attribute("lease_id", lease.id.to_string())
        .add_attribute("order_id", lease.order_id.to_string())
        .add_attribute("tenant", lease.tenant.as_str())
        .add_attribute("provider", lease.provider.as_str())
        .add_attribute("price", lease.price_per_second)
}

/// Lease provider only: pays out what has accrued and not been withdrawn.
pub fn withdraw_earnings(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    lease_id: u64,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    let mut lease = load_lease(deps.storage, lease_id)?;
    if info.sender != lease.provider {
        return Err(ContractError::NotLeaseProvider {
            lease_id,
            sender: info.sender.into_string(),
            provider: lease.provider.into_string(),
        });
    }
    ensure_active(&lease)?;
    let amount = split(&lease, env.block.time)?.provider;
    if amount.is_zero() {
        return Err(ContractError::NothingToWithdraw { lease_id });
    }
    lease.escrow = lease.escrow.checked_sub(amount)?;
    lease.withdrawn = lease.withdrawn.checked_add(amount)?;
    LEASES.save(deps.storage, lease_id, &lease)?;

    let cfg = CONFIG.load(deps.storage)?;
    Ok(lease_response("withdraw_earnings", &lease)
        .add_messages(transfer(&cfg, &lease.provider, amount)?)
        .add_attribute("amount", amount)
        .add_attribute("withdrawn", lease.withdrawn))
}

/// Pays out the whole escrow (provider: accrued - withdrawn, tenant: the rest), ends the lease
/// in `state` and records `outcome` in the registry.
fn settle(
    deps: DepsMut,
    env: &Env,
    mut lease: Lease,
    state: LeaseState,
    outcome: LeaseOutcome,
    reason: Option<String>,
    action: &str,
) -> Result<Response, ContractError> {
    let now = env.block.time;
    let Split { provider, tenant } = split(&lease, now)?;
    lease.withdrawn = lease.withdrawn.checked_add(provider)?;
    lease.escrow = Uint128::zero();
    lease.state = state;
    lease.closed_at = Some(now);
    lease.close_reason = reason;
    LEASES.save(deps.storage, lease.id, &lease)?;

    let cfg = CONFIG.load(deps.storage)?;
    Ok(lease_response(action, &lease)
        .add_messages(transfer(&cfg, &lease.provider, provider)?)
        .add_messages(transfer(&cfg, &lease.tenant, tenant)?)
        .add_message(record_lease_outcome(
            &cfg,
            &lease.provider,
            lease.id,
            outcome,
        )?)
        .add_attribute("outcome", format!("{outcome:?}"))
        .add_attribute("provider_payout", provider)
        .add_attribute("tenant_refund", tenant))
}

/// Tenant (ClosedByTenant) or provider (ClosedByProvider), while Active and before `ends_at`.
pub fn close_lease(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    lease_id: u64,
    reason: Option<String>,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    let lease = load_lease(deps.storage, lease_id)?;
    let (state, outcome) = if info.sender == lease.tenant {
        (LeaseState::ClosedByTenant, LeaseOutcome::ClosedByTenant)
    } else if info.sender == lease.provider {
        (LeaseState::ClosedByProvider, LeaseOutcome::ClosedByProvider)
    } else {
        return Err(ContractError::NotLeaseParty {
            lease_id,
            sender: info.sender.into_string(),
        });
    };
    ensure_active(&lease)?;
    ensure_not_ended(&lease, env.block.time)?;
    validate_reason(&reason)?;
    settle(deps, &env, lease, state, outcome, reason, "close_lease")
}

/// Anyone, once `ends_at` has passed.
pub fn complete_lease(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    lease_id: u64,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    let lease = load_lease(deps.storage, lease_id)?;
    ensure_active(&lease)?;
    if env.block.time < lease.ends_at {
        return Err(ContractError::LeaseNotEnded {
            lease_id,
            ends_at: lease.ends_at,
            now: env.block.time,
        });
    }
    settle(
        deps,
        &env,
        lease,
        LeaseState::Completed,
        LeaseOutcome::Completed,
        None,
        "complete_lease",
    )
}

/// `ReceiveMsg::DepositLease` (token already checked): extends the lease by
/// `amount / price` seconds and returns the remainder at once.
pub fn deposit_lease(
    deps: DepsMut,
    env: Env,
    sender: Addr,
    amount: Uint128,
    lease_id: u64,
) -> Result<Response, ContractError> {
    let mut lease = load_lease(deps.storage, lease_id)?;
    ensure_tenant(&lease, &sender)?;
    ensure_active(&lease)?;
    let now = env.block.time;
    ensure_not_ended(&lease, now)?;

    let price = lease.price_per_second;
    let extension = amount.checked_div(price)?;
    if extension.is_zero() {
        return Err(ContractError::DepositTooSmall {
            sent: amount,
            price,
        });
    }
    // Remaining time after the deposit is bounded like an order's duration, so times cannot
    // overflow and an escrow cannot be parked for centuries.
    let remaining = whole_secs_between(now, lease.ends_at);
    let extension_secs = u64::try_from(extension.u128())
        .ok()
        .filter(|ext| {
            remaining
                .checked_add(*ext)
                .is_some_and(|r| r <= MAX_LEASE_DURATION_SECS)
        })
        .ok_or_else(|| ContractError::ExtensionTooLong {
            remaining_secs: u128::from(remaining).saturating_add(extension.u128()),
            max_secs: MAX_LEASE_DURATION_SECS,
        })?;
    let used = price.checked_mul(extension)?;
    let remainder = amount.checked_sub(used)?;
    lease.ends_at = add_secs(lease.ends_at, extension_secs)?;
    lease.escrow = lease.escrow.checked_add(used)?;
    LEASES.save(deps.storage, lease_id, &lease)?;

    let cfg = CONFIG.load(deps.storage)?;
    Ok(lease_response("deposit_lease", &lease)
        .add_messages(transfer(&cfg, &lease.tenant, remainder)?)
        .add_attribute("extension_secs", extension_secs.to_string())
        .add_attribute("remainder", remainder)
        .add_attribute("ends_at", lease.ends_at.seconds().to_string()))
}

/// Tenant only, Active lease: a new manifest version. The lease's `manifest_sha256` is the
/// authoritative one; the order keeps the hash it was created with.
pub fn update_manifest(
    deps: DepsMut,
    info: MessageInfo,
    lease_id: u64,
    manifest_sha256: String,
) -> Result<Response, ContractError> {
    cw_utils::nonpayable(&info)?;
    let mut lease = load_lease(deps.storage, lease_id)?;
    ensure_tenant(&lease, &info.sender)?;
    ensure_active(&lease)?;
    validate_manifest_hash(&manifest_sha256)?;
    if manifest_sha256 == lease.manifest_sha256 {
        return Err(ContractError::ManifestUnchanged {
            lease_id,
            manifest_sha256,
        });
    }
    lease.manifest_sha256 = manifest_sha256;
    lease.manifest_version = lease
        .manifest_version
        .checked_add(1)
        .ok_or(OverflowError::new(OverflowOperation::Add))?;
    LEASES.save(deps.storage, lease_id, &lease)?;

    Ok(lease_response("update_manifest", &lease)
        .add_attribute("manifest_sha256", lease.manifest_sha256.as_str())
        .add_attribute("manifest_version", lease.manifest_version.to_string()))
}
