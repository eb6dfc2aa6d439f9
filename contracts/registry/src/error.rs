//! Errors of the registry. Every variant names the value that was refused.

use cosmwasm_std::{Addr, StdError};
use cw_utils::PaymentError;
use thiserror::Error;

#[derive(Error, Debug, PartialEq)]
pub enum ContractError {
    #[error("{0}")]
    Std(#[from] StdError),

    #[error("{0}")]
    Payment(#[from] PaymentError),

    #[error("unauthorized: {sender} is not the {role}")]
    Unauthorized { sender: Addr, role: &'static str },

    #[error("the market contract is not set yet (SetMarket), so {sender} cannot record leases")]
    MarketNotSet { sender: Addr },

    #[error("the market is already set to {market}; it can be set only once")]
    MarketAlreadySet { market: Addr },

    #[error("provider {provider} is already registered")]
    AlreadyRegistered { provider: Addr },

    #[error("provider {provider} is not registered")]
    NotRegistered { provider: Addr },

    #[error("provider {provider} has {leases_active} active lease(s); deregistering is refused until they end")]
    ActiveLeases { provider: Addr, leases_active: u64 },

    #[error("Update with no field set: nothing to update")]
    EmptyUpdate {},

    #[error("lease {lease_id} of provider {provider} was already recorded as started")]
    LeaseAlreadyStarted { provider: Addr, lease_id: u64 },

    #[error(
        "lease {lease_id} of provider {provider} is not active (never started or already ended)"
    )]
    LeaseNotActive { provider: Addr, lease_id: u64 },

    #[error("invalid host_uri {host_uri:?}: {reason}")]
    InvalidHostUri { host_uri: String, reason: String },

    #[error("too many attributes: {count} (at most {max})")]
    TooManyAttributes { count: usize, max: usize },

    #[error("invalid attribute key {key:?}: {reason}")]
    InvalidAttributeKey { key: String, reason: String },

    #[error("invalid value {value:?} of attribute {key:?}: {reason}")]
    InvalidAttributeValue {
        key: String,
        value: String,
        reason: String,
    },

    #[error("duplicate attribute key {key:?}")]
    DuplicateAttributeKey { key: String },

    #[error("root certificate PEM is {len} bytes long (at most {max})")]
    CertificateTooLong { len: usize, max: usize },

    #[error("the root certificate PEM contains a PRIVATE KEY: a private key must never be sent to the chain (every transaction is public, even a refused one): rotate that key now and send only the CA certificate")]
    PrivateKeyInPem {},

    #[error("invalid root certificate PEM: {reason}")]
    InvalidPem { reason: String },

    #[error("the root certificate PEM must contain exactly one CERTIFICATE block, found {count}")]
    CertificateCount { count: usize },

    #[error("invalid root certificate: {reason}")]
    InvalidCertificate { reason: String },

    #[error("the root certificate (subject {subject:?}) is not a CA: {reason}")]
    NotCaCertificate { subject: String, reason: String },
}
