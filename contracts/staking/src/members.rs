//! cw4 membership: keeps `MEMBERS`/`TOTAL` in step with stake and notifies the hooks.

use cosmwasm_std::{Addr, Storage, SubMsg, Uint128};
use cw4::{MemberChangedHookMsg, MemberDiff};

use crate::error::ContractError;
use crate::state::{Config, HOOKS, MEMBERS, TOTAL};

/// cw4 weight of `stake`: `stake / tokens_per_weight`, `None` when it rounds down to zero
/// (such members are not listed). A weight above `u64::MAX` is an error, never saturated, so
/// `TOTAL` always equals the sum of the members.
pub fn weight_of(
    address: &Addr,
    stake: Uint128,
    cfg: &Config,
) -> Result<Option<u64>, ContractError> {
    let weight = stake.checked_div(cfg.tokens_per_weight)?.u128();
    let weight = u64::try_from(weight).map_err(|_| ContractError::WeightOverflow {
        address: address.to_string(),
        weight,
    })?;
    Ok(if weight == 0 { None } else { Some(weight) })
}

/// Records `address`'s new stake as cw4 weight at `height` and returns the hook messages
/// (none when the weight did not change).
pub fn update_membership(
    storage: &mut dyn Storage,
    address: &Addr,
    new_stake: Uint128,
    cfg: &Config,
    height: u64,
) -> Result<Vec<SubMsg>, ContractError> {
    let new = weight_of(address, new_stake, cfg)?;
    let old = MEMBERS.may_load(storage, address)?;
    if new == old {
        return Ok(vec![]);
    }
    let total = TOTAL.may_load(storage)?.unwrap_or_default();
    let total = total
        .checked_sub(old.unwrap_or_default())
        .and_then(|t| t.checked_add(new.unwrap_or_default()))
        .ok_or_else(|| ContractError::WeightOverflow {
            address: address.to_string(),
            weight: u128::from(new.unwrap_or_default()),
        })?;
    match new {
        Some(weight) => MEMBERS.save(storage, address, &weight, height)?,
        None => MEMBERS.remove(storage, address, height)?,
    }
    TOTAL.save(storage, &total, height)?;

    let diff = MemberDiff::new(address.as_str(), old, new);
    let hooks = HOOKS.may_load(storage)?.unwrap_or_default();
    hooks
        .into_iter()
        .map(|hook| {
            MemberChangedHookMsg::one(diff.clone())
                .into_cosmos_msg(hook)
                .map(SubMsg::new)
                .map_err(ContractError::from)
        })
        .collect()
}
