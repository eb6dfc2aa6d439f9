//! Execute handlers. Every handler refuses native funds and checks `info.sender`.

use akash_types::staking::{Claim, ReceiveMsg, MAX_CLAIMS_PER_ADDRESS, MAX_HOOKS};
use cosmwasm_std::{
    from_json, to_json_binary, Addr, Decimal, DepsMut, Env, MessageInfo, Response, Storage,
    Timestamp, Uint128, Uint64, WasmMsg,
};
use cw20::{Cw20ExecuteMsg, Cw20ReceiveMsg};
use cw_utils::nonpayable;

use crate::error::ContractError;
use crate::members::update_membership;
use crate::state::{Config, CLAIMS, CONFIG, HOOKS, STAKES, TOTAL_CLAIMS, TOTAL_STAKE};

/// Longest accepted slash reason, in characters (it becomes an event attribute).
pub const MAX_SLASH_REASON_LEN: usize = 256;

const NANOS_PER_SEC: u64 = 1_000_000_000;

fn assert_governance(cfg: &Config, sender: &Addr) -> Result<(), ContractError> {
    if *sender != cfg.governance {
        return Err(ContractError::NotGovernance {
            sender: sender.to_string(),
            governance: cfg.governance.to_string(),
        });
    }
    Ok(())
}

/// `now + secs`, refusing (instead of panicking) when it leaves the u64 nanosecond range.
pub fn checked_release_at(now: Timestamp, secs: u64) -> Result<Timestamp, ContractError> {
    let nanos = Uint64::new(secs).checked_mul(Uint64::new(NANOS_PER_SEC))?;
    let at = Uint64::new(now.nanos()).checked_add(nanos)?;
    Ok(Timestamp::from_nanos(at.u64()))
}

fn save_stake(storage: &mut dyn Storage, addr: &Addr, stake: Uint128) -> Result<(), ContractError> {
    if stake.is_zero() {
        STAKES.remove(storage, addr);
    } else {
        STAKES.save(storage, addr, &stake)?;
    }
    Ok(())
}

fn save_claims(
    storage: &mut dyn Storage,
    addr: &Addr,
    claims: &[Claim],
) -> Result<(), ContractError> {
    if claims.is_empty() {
        CLAIMS.remove(storage, addr);
    } else {
        CLAIMS.save(storage, addr, &claims.to_vec())?;
    }
    Ok(())
}

fn sum(claims: &[Claim]) -> Result<Uint128, ContractError> {
    claims
        .iter()
        .try_fold(Uint128::zero(), |acc, c| acc.checked_add(c.amount))
        .map_err(ContractError::from)
}

fn transfer(cfg: &Config, recipient: &Addr, amount: Uint128) -> Result<WasmMsg, ContractError> {
    Ok(WasmMsg::Execute {
        contract_addr: cfg.token.to_string(),
        msg: to_json_binary(&Cw20ExecuteMsg::Transfer {
            recipient: recipient.to_string(),
            amount,
        })?,
        funds: vec![],
    })
}

/// cw20 hook: only `config.token` may call it.
pub fn receive(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    wrapper: Cw20ReceiveMsg,
) -> Result<Response, ContractError> {
    nonpayable(&info)?;
    let cfg = CONFIG.load(deps.storage)?;
    if info.sender != cfg.token {
        return Err(ContractError::WrongToken {
            received: info.sender.to_string(),
            expected: cfg.token.to_string(),
        });
    }
    match from_json::<ReceiveMsg>(&wrapper.msg)? {
        ReceiveMsg::Stake {} => stake(deps, env, &cfg, &wrapper.sender, wrapper.amount),
    }
}

fn stake(
    deps: DepsMut,
    env: Env,
    cfg: &Config,
    sender: &str,
    amount: Uint128,
) -> Result<Response, ContractError> {
    if amount.is_zero() {
        return Err(ContractError::ZeroAmount {});
    }
    let provider = deps.api.addr_validate(sender)?;
    let new_stake = STAKES
        .may_load(deps.storage, &provider)?
        .unwrap_or_default()
        .checked_add(amount)?;
    let total = TOTAL_STAKE.load(deps.storage)?.checked_add(amount)?;
    // First, as it may refuse (weight overflow): nothing is written before the checks.
    let hooks = update_membership(deps.storage, &provider, new_stake, cfg, env.block.height)?;
    save_stake(deps.storage, &provider, new_stake)?;
    TOTAL_STAKE.save(deps.storage, &total)?;

    Ok(Response::new()
        .add_submessages(hooks)
        .add_attribute("action", "stake")
        .add_attribute("provider", provider)
        .add_attribute("amount", amount)
        .add_attribute("stake", new_stake))
}

/// Moves `amount` of the sender's stake into a claim maturing after the unbonding period.
///
/// Matured claims are merged into one entry first and do not count against
/// `MAX_CLAIMS_PER_ADDRESS`, so an address holds at most that many unbonding claims plus one
/// matured entry. A new claim with the same release time as an existing one is merged into it.
pub fn unbond(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    amount: Uint128,
) -> Result<Response, ContractError> {
    nonpayable(&info)?;
    if amount.is_zero() {
        return Err(ContractError::ZeroAmount {});
    }
    let cfg = CONFIG.load(deps.storage)?;
    let provider = info.sender;
    let staked = STAKES
        .may_load(deps.storage, &provider)?
        .unwrap_or_default();
    if amount > staked {
        return Err(ContractError::InsufficientStake {
            staked,
            requested: amount,
        });
    }
    let new_stake = staked.checked_sub(amount)?;

    let now = env.block.time;
    let release_at = checked_release_at(now, cfg.unbonding_period_secs)?;
    let new_claim = Claim { amount, release_at };
    let (mut matured, mut unbonding): (Vec<Claim>, Vec<Claim>) = CLAIMS
        .may_load(deps.storage, &provider)?
        .unwrap_or_default()
        .into_iter()
        .partition(|c| c.release_at <= now);
    if release_at <= now {
        matured.push(new_claim);
    } else if let Some(same) = unbonding.iter_mut().find(|c| c.release_at == release_at) {
        same.amount = same.amount.checked_add(amount)?;
    } else if unbonding.len() >= MAX_CLAIMS_PER_ADDRESS {
        return Err(ContractError::TooManyClaims {
            address: provider.to_string(),
            max: MAX_CLAIMS_PER_ADDRESS,
        });
    } else {
        unbonding.push(new_claim);
    }
    let mut claims = Vec::with_capacity(unbonding.len().saturating_add(1));
    if let Some(earliest) = matured.iter().map(|c| c.release_at).min() {
        claims.push(Claim {
            amount: sum(&matured)?,
            release_at: earliest,
        });
    }
    claims.extend(unbonding);

    save_stake(deps.storage, &provider, new_stake)?;
    save_claims(deps.storage, &provider, &claims)?;
    let total_stake = TOTAL_STAKE.load(deps.storage)?.checked_sub(amount)?;
    TOTAL_STAKE.save(deps.storage, &total_stake)?;
    let total_claims = TOTAL_CLAIMS.load(deps.storage)?.checked_add(amount)?;
    TOTAL_CLAIMS.save(deps.storage, &total_claims)?;
    let hooks = update_membership(deps.storage, &provider, new_stake, &cfg, env.block.height)?;

    Ok(Response::new()
        .add_submessages(hooks)
        .add_attribute("action", "unbond")
        .add_attribute("provider", provider)
        .add_attribute("amount", amount)
        .add_attribute("stake", new_stake)
        .add_attribute("release_at", release_at.seconds().to_string()))
}

/// Pays every matured claim of the sender with one cw20 `Transfer`.
pub fn claim(deps: DepsMut, env: Env, info: MessageInfo) -> Result<Response, ContractError> {
    nonpayable(&info)?;
    let cfg = CONFIG.load(deps.storage)?;
    let provider = info.sender;
    let now = env.block.time;
    let (matured, unbonding): (Vec<Claim>, Vec<Claim>) = CLAIMS
        .may_load(deps.storage, &provider)?
        .unwrap_or_default()
        .into_iter()
        .partition(|c| c.release_at <= now);
    let amount = sum(&matured)?;
    if amount.is_zero() {
        return Err(ContractError::NothingToClaim {
            address: provider.to_string(),
        });
    }
    save_claims(deps.storage, &provider, &unbonding)?;
    let total_claims = TOTAL_CLAIMS.load(deps.storage)?.checked_sub(amount)?;
    TOTAL_CLAIMS.save(deps.storage, &total_claims)?;

    Ok(Response::new()
        .add_message(transfer(&cfg, &provider, amount)?)
        .add_attribute("action", "claim")
        .add_attribute("provider", provider)
        .add_attribute("amount", amount))
}

/// Governance only: takes `floor(stake * fraction)` of the bonded stake and
/// `floor(claim * fraction)` of every claim still unbonding (matured claims already belong to
/// the provider and are not touched), and transfers the total to the slash destination.
pub fn slash(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    provider: String,
    fraction: Decimal,
    reason: String,
) -> Result<Response, ContractError> {
    nonpayable(&info)?;
    let cfg = CONFIG.load(deps.storage)?;
    assert_governance(&cfg, &info.sender)?;
    if fraction.is_zero() || fraction > Decimal::one() {
        return Err(ContractError::InvalidFraction { fraction });
    }
    let reason_len = reason.chars().count();
    if reason.trim().is_empty() || reason_len > MAX_SLASH_REASON_LEN {
        return Err(ContractError::InvalidReason {
            len: reason_len,
            max: MAX_SLASH_REASON_LEN,
        });
    }
    let provider = deps.api.addr_validate(&provider)?;

    let staked = STAKES
        .may_load(deps.storage, &provider)?
        .unwrap_or_default();
    let stake_slashed = staked.checked_mul_floor(fraction)?;
    let new_stake = staked.checked_sub(stake_slashed)?;

    let now = env.block.time;
    let mut claims = CLAIMS
        .may_load(deps.storage, &provider)?
        .unwrap_or_default();
    let mut claims_slashed = Uint128::zero();
    for c in claims.iter_mut().filter(|c| c.release_at > now) {
        let cut = c.amount.checked_mul_floor(fraction)?;
        c.amount = c.amount.checked_sub(cut)?;
        claims_slashed = claims_slashed.checked_add(cut)?;
    }
    claims.retain(|c| !c.amount.is_zero());

    let amount = stake_slashed.checked_add(claims_slashed)?;
    if amount.is_zero() {
        return Err(ContractError::NothingToSlash {
            provider: provider.to_string(),
        });
    }

    save_stake(deps.storage, &provider, new_stake)?;
    save_claims(deps.storage, &provider, &claims)?;
    let total_stake = TOTAL_STAKE.load(deps.storage)?.checked_sub(stake_slashed)?;
    TOTAL_STAKE.save(deps.storage, &total_stake)?;
    let total_claims = TOTAL_CLAIMS
        .load(deps.storage)?
        .checked_sub(claims_slashed)?;
    TOTAL_CLAIMS.save(deps.storage, &total_claims)?;
    let hooks = update_membership(deps.storage, &provider, new_stake, &cfg, env.block.height)?;

    Ok(Response::new()
        .add_message(transfer(&cfg, &cfg.slash_destination, amount)?)
        .add_submessages(hooks)
        .add_attribute("action", "slash")
        .add_attribute("provider", provider)
        .add_attribute("amount", amount)
        .add_attribute("reason", reason)
        .add_attribute("fraction", fraction.to_string())
        .add_attribute("stake_slashed", stake_slashed)
        .add_attribute("claims_slashed", claims_slashed))
}

/// Governance only. A new unbonding period applies to claims created afterwards.
pub fn update_config(
    deps: DepsMut,
    info: MessageInfo,
    governance: Option<String>,
    unbonding_period_secs: Option<u64>,
    slash_destination: Option<String>,
) -> Result<Response, ContractError> {
    nonpayable(&info)?;
    let mut cfg = CONFIG.load(deps.storage)?;
    assert_governance(&cfg, &info.sender)?;
    let mut res = Response::new().add_attribute("action", "update_config");
    if let Some(governance) = governance {
        cfg.governance = deps.api.addr_validate(&governance)?;
        res = res.add_attribute("governance", cfg.governance.as_str());
    }
    if let Some(secs) = unbonding_period_secs {
        cfg.unbonding_period_secs = secs;
        res = res.add_attribute("unbonding_period_secs", secs.to_string());
    }
    if let Some(dest) = slash_destination {
        cfg.slash_destination = deps.api.addr_validate(&dest)?;
        res = res.add_attribute("slash_destination", cfg.slash_destination.as_str());
    }
    CONFIG.save(deps.storage, &cfg)?;
    Ok(res)
}

/// Governance only: registers a cw4 member-changed hook (at most `MAX_HOOKS`).
pub fn add_hook(deps: DepsMut, info: MessageInfo, addr: String) -> Result<Response, ContractError> {
    nonpayable(&info)?;
    let cfg = CONFIG.load(deps.storage)?;
    assert_governance(&cfg, &info.sender)?;
    let hook = deps.api.addr_validate(&addr)?;
    let mut hooks = HOOKS.may_load(deps.storage)?.unwrap_or_default();
    if hooks.contains(&hook) {
        return Err(ContractError::HookAlreadyRegistered { addr });
    }
    if hooks.len() >= MAX_HOOKS {
        return Err(ContractError::TooManyHooks { max: MAX_HOOKS });
    }
    hooks.push(hook.clone());
    HOOKS.save(deps.storage, &hooks)?;
    Ok(Response::new()
        .add_attribute("action", "add_hook")
        .add_attribute("hook", hook))
}

/// Governance only.
pub fn remove_hook(
    deps: DepsMut,
    info: MessageInfo,
    addr: String,
) -> Result<Response, ContractError> {
    nonpayable(&info)?;
    let cfg = CONFIG.load(deps.storage)?;
    assert_governance(&cfg, &info.sender)?;
    let hook = deps.api.addr_validate(&addr)?;
    let mut hooks = HOOKS.may_load(deps.storage)?.unwrap_or_default();
    let Some(pos) = hooks.iter().position(|h| *h == hook) else {
        return Err(ContractError::HookNotRegistered { addr });
    };
    hooks.remove(pos);
    HOOKS.save(deps.storage, &hooks)?;
    Ok(Response::new()
        .add_attribute("action", "remove_hook")
        .add_attribute("hook", hook))
}
