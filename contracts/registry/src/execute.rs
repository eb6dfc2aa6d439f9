//! Execute handlers.

use akash_types::common::{Attribute, LeaseOutcome};
use akash_types::registry::FulfilmentHistory;
use cosmwasm_std::{
    Addr, DepsMut, Env, MessageInfo, OverflowError, OverflowOperation, Response, StdError, Storage,
};

use crate::certificate::validate_root_certificate;
use crate::error::ContractError;
use crate::state::{Provider, ACTIVE_LEASES, CERTIFICATE_VERSION, CONFIG, HISTORY, PROVIDERS};
use crate::validate::{validate_attributes, validate_host_uri};

fn overflow(op: OverflowOperation) -> ContractError {
    ContractError::Std(StdError::overflow(OverflowError::new(op)))
}

fn increment(counter: &mut u64) -> Result<(), ContractError> {
    *counter = counter
        .checked_add(1)
        .ok_or_else(|| overflow(OverflowOperation::Add))?;
    Ok(())
}

/// The next certificate version of `address` (versions are never reused, even across
/// deregistration), saved as the latest.
fn next_certificate_version(
    storage: &mut dyn Storage,
    address: &Addr,
) -> Result<u64, ContractError> {
    let mut version = CERTIFICATE_VERSION
        .may_load(storage, address)?
        .unwrap_or_default();
    increment(&mut version)?;
    CERTIFICATE_VERSION.save(storage, address, &version)?;
    Ok(version)
}

pub fn register(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    host_uri: String,
    attributes: Vec<Attribute>,
    root_certificate_pem: String,
) -> Result<Response, ContractError> {
    let provider = info.sender;
    if PROVIDERS.has(deps.storage, &provider) {
        return Err(ContractError::AlreadyRegistered { provider });
    }
    validate_host_uri(&host_uri)?;
    let attributes = validate_attributes(attributes)?;
    validate_root_certificate(&root_certificate_pem)?;

    let certificate_version = next_certificate_version(deps.storage, &provider)?;
    let record = Provider {
        host_uri,
        attributes,
        root_certificate_pem,
        registered_at: env.block.time,
        updated_at: env.block.time,
        certificate_version,
    };
    PROVIDERS.save(deps.storage, &provider, &record)?;
    Ok(Response::new()
        .add_attribute("action", "register")
        .add_attribute("provider", provider)
        .add_attribute("host_uri", record.host_uri)
        .add_attribute("certificate_version", certificate_version.to_string()))
}

pub fn update(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    host_uri: Option<String>,
    attributes: Option<Vec<Attribute>>,
    root_certificate_pem: Option<String>,
) -> Result<Response, ContractError> {
    let provider = info.sender;
    let mut record = PROVIDERS
        .may_load(deps.storage, &provider)?
        .ok_or_else(|| ContractError::NotRegistered {
            provider: provider.clone(),
        })?;
    if host_uri.is_none() && attributes.is_none() && root_certificate_pem.is_none() {
        return Err(ContractError::EmptyUpdate {});
    }
    if let Some(host_uri) = host_uri {
        validate_host_uri(&host_uri)?;
        record.host_uri = host_uri;
    }
    if let Some(attributes) = attributes {
        record.attributes = validate_attributes(attributes)?;
    }
    if let Some(pem) = root_certificate_pem {
        validate_root_certificate(&pem)?;
        // Only a different certificate is a rotation.
        if pem != record.root_certificate_pem {
            record.certificate_version = next_certificate_version(deps.storage, &provider)?;
            record.root_certificate_pem = pem;
        }
    }
    record.updated_at = env.block.time;
    PROVIDERS.save(deps.storage, &provider, &record)?;
    Ok(Response::new()
        .add_attribute("action", "update")
        .add_attribute("provider", provider)
        .add_attribute("host_uri", record.host_uri)
        .add_attribute(
            "certificate_version",
            record.certificate_version.to_string(),
        ))
}

pub fn deregister(deps: DepsMut, info: MessageInfo) -> Result<Response, ContractError> {
    let provider = info.sender;
    if !PROVIDERS.has(deps.storage, &provider) {
        return Err(ContractError::NotRegistered { provider });
    }
    let history = HISTORY
        .may_load(deps.storage, &provider)?
        .unwrap_or_default();
    if history.leases_active > 0 {
        return Err(ContractError::ActiveLeases {
            provider,
            leases_active: history.leases_active,
        });
    }
    // The history (and certificate version) stay: re-registering does not reset them.
    PROVIDERS.remove(deps.storage, &provider);
    Ok(Response::new()
        .add_attribute("action", "deregister")
        .add_attribute("provider", provider))
}

pub fn set_market(
    deps: DepsMut,
    info: MessageInfo,
    market: String,
) -> Result<Response, ContractError> {
    let mut config = CONFIG.load(deps.storage)?;
    if info.sender != config.admin {
        return Err(ContractError::Unauthorized {
            sender: info.sender,
            role: "admin",
        });
    }
    if let Some(market) = config.market {
        return Err(ContractError::MarketAlreadySet { market });
    }
    let market = deps.api.addr_validate(&market)?;
    config.market = Some(market.clone());
    CONFIG.save(deps.storage, &config)?;
    Ok(Response::new()
        .add_attribute("action", "set_market")
        .add_attribute("market", market))
}

/// Refuses anyone but the market (and everyone while the market is unset).
fn ensure_market(deps: &DepsMut, sender: &Addr) -> Result<(), ContractError> {
    match CONFIG.load(deps.storage)?.market {
        None => Err(ContractError::MarketNotSet {
            sender: sender.clone(),
        }),
        Some(market) if market == *sender => Ok(()),
        Some(_) => Err(ContractError::Unauthorized {
            sender: sender.clone(),
            role: "market",
        }),
    }
}

pub fn record_lease_started(
    deps: DepsMut,
    info: MessageInfo,
    provider: String,
    lease_id: u64,
) -> Result<Response, ContractError> {
    ensure_market(&deps, &info.sender)?;
    let provider = deps.api.addr_validate(&provider)?;
    if !PROVIDERS.has(deps.storage, &provider) {
        return Err(ContractError::NotRegistered { provider });
    }
    if ACTIVE_LEASES.has(deps.storage, (&provider, lease_id)) {
        return Err(ContractError::LeaseAlreadyStarted { provider, lease_id });
    }
    let mut history = HISTORY
        .may_load(deps.storage, &provider)?
        .unwrap_or_default();
    increment(&mut history.leases_started)?;
    increment(&mut history.leases_active)?;
    HISTORY.save(deps.storage, &provider, &history)?;
    ACTIVE_LEASES.save(deps.storage, (&provider, lease_id), &())?;
    Ok(Response::new()
        .add_attribute("action", "record_lease_started")
        .add_attribute("provider", provider)
        .add_attribute("lease_id", lease_id.to_string()))
}

pub fn record_lease_outcome(
    deps: DepsMut,
    info: MessageInfo,
    provider: String,
    lease_id: u64,
    outcome: LeaseOutcome,
) -> Result<Response, ContractError> {
    ensure_market(&deps, &info.sender)?;
    let provider = deps.api.addr_validate(&provider)?;
    if !ACTIVE_LEASES.has(deps.storage, (&provider, lease_id)) {
        return Err(ContractError::LeaseNotActive { provider, lease_id });
    }
    let mut history: FulfilmentHistory = HISTORY
        .may_load(deps.storage, &provider)?
        .unwrap_or_default();
    history.leases_active = history
        .leases_active
        .checked_sub(1)
        .ok_or_else(|| overflow(OverflowOperation::Sub))?;
    let counter = match outcome {
        LeaseOutcome::Completed => &mut history.leases_completed,
        LeaseOutcome::ClosedByTenant => &mut history.leases_closed_by_tenant,
        LeaseOutcome::ClosedByProvider => &mut history.leases_closed_by_provider,
    };
    increment(counter)?;
    HISTORY.save(deps.storage, &provider, &history)?;
    ACTIVE_LEASES.remove(deps.storage, (&provider, lease_id));
    Ok(Response::new()
        .add_attribute("action", "record_lease_outcome")
        .add_attribute("provider", provider)
        .add_attribute("lease_id", lease_id.to_string())
        .add_attribute("outcome", outcome_name(outcome)))
}

/// The outcome as it appears in events (the JSON name of the variant).
pub fn outcome_name(outcome: LeaseOutcome) -> &'static str {
    match outcome {
        LeaseOutcome::Completed => "completed",
        LeaseOutcome::ClosedByTenant => "closed_by_tenant",
        LeaseOutcome::ClosedByProvider => "closed_by_provider",
    }
}
