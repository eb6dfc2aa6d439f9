use cosmwasm_std::{
    CheckedMultiplyFractionError, Decimal, DivideByZeroError, OverflowError, StdError, Uint128,
};
use cw_utils::PaymentError;
use thiserror::Error;

#[derive(Error, Debug, PartialEq)]
pub enum ContractError {
    #[error("{0}")]
    Std(#[from] StdError),

    #[error("{0}")]
    Payment(#[from] PaymentError),

    #[error("{0}")]
    Overflow(#[from] OverflowError),

    #[error("{0}")]
    DivideByZero(#[from] DivideByZeroError),

    #[error("{0}")]
    MultiplyFraction(#[from] CheckedMultiplyFractionError),

    #[error("unauthorized: {sender} is not governance ({governance})")]
    NotGovernance { sender: String, governance: String },

    #[error("wrong token: {received} sent a cw20 hook, only {expected} is accepted")]
    WrongToken { received: String, expected: String },

    #[error("tokens_per_weight must be greater than zero")]
    ZeroTokensPerWeight {},

    #[error("amount must be greater than zero")]
    ZeroAmount {},

    #[error("insufficient stake: staked {staked}, requested {requested}")]
    InsufficientStake { staked: Uint128, requested: Uint128 },

    #[error("{address} already has {max} claims still unbonding; wait until one matures")]
    TooManyClaims { address: String, max: usize },

    #[error("{address} has no matured claim to pay")]
    NothingToClaim { address: String },

    #[error("slash fraction {fraction} must be in (0, 1]")]
    InvalidFraction { fraction: Decimal },

    #[error("slash reason must be 1 to {max} characters, got {len}")]
    InvalidReason { len: usize, max: usize },

    #[error(
        "nothing to slash: {provider} has no stake and no unbonding claim (after rounding down)"
    )]
    NothingToSlash { provider: String },

    #[error("cw4 weight overflow: weight {weight} of {address} (or the total) exceeds u64")]
    WeightOverflow { address: String, weight: u128 },

    #[error("hook {addr} is already registered")]
    HookAlreadyRegistered { addr: String },

    #[error("hook {addr} is not registered")]
    HookNotRegistered { addr: String },

    #[error("too many hooks: at most {max}")]
    TooManyHooks { max: usize },
}
