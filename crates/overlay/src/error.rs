//! Error types at the crate boundary: bad names, bad trust data, issuing failures, why a peer
//! was refused, and what went wrong with a tunnel connection.

use std::io;
use std::net::SocketAddr;

use thiserror::Error;

use crate::name::{Endpoint, TunnelIdentity, TunnelTarget};

/// A tunnel name (URI SAN, server name, or one of their parts) that is not in its one
/// accepted form.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("tunnel identity {uri:?} is malformed: {reason}")]
    MalformedUri { uri: String, reason: String },
    #[error("tunnel server name {name:?} is malformed: {reason}")]
    MalformedServerName { name: String, reason: String },
    #[error("tenant {tenant:?} must be 1..=90 characters of a-z 0-9")]
    BadTenant { tenant: String },
    #[error(
        "service {service:?} must be a DNS label: 1..=63 of a-z 0-9 -, starting with a letter, \
         not ending with -"
    )]
    BadService { service: String },
    #[error("{what} {value:?} must be a decimal number without sign or leading zero")]
    BadNumber { what: &'static str, value: String },
    #[error("port 0 cannot be a tunnel target")]
    ZeroPort,
}

/// Chain data that cannot be used as given.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TrustError {
    #[error("root certificate of provider {provider} is unusable: {reason}")]
    BadRoot { provider: String, reason: String },
}

/// The certificate issuer (the provider's root) could not issue a tunnel leaf.
#[derive(Debug, Error)]
#[error("issuing a tunnel certificate for {identity}: {reason}")]
pub struct IssueError {
    pub identity: String,
    pub reason: String,
}

impl IssueError {
    /// For an issuer's failure on `params` (the identity is read from their SAN).
    pub fn for_params(params: &rcgen::CertificateParams, reason: impl std::fmt::Display) -> Self {
        let identity = match params.subject_alt_names.as_slice() {
            [rcgen::SanType::URI(uri)] => uri.as_str().to_string(),
            names => format!("{names:?}"),
        };
        IssueError {
            identity,
            reason: reason.to_string(),
        }
    }
}

/// Why a peer (its certificate, or what it asked for) was refused. Each variant maps to the
/// TLS alert sent (see [`Refusal::alert`]).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error("peer certificate is malformed: {reason}")]
    MalformedCertificate { reason: String },
    #[error("peer certificate names no tunnel identity: {0}")]
    BadIdentity(#[from] NameError),
    #[error("lease {lease_id} is unknown (not in this provider's view of the chain)")]
    UnknownLease { lease_id: u64 },
    #[error("lease {lease_id} is closed")]
    LeaseClosed { lease_id: u64 },
    #[error("provider {provider}, which holds lease {lease_id}, has no root certificate on chain")]
    NoProviderRoot { provider: String, lease_id: u64 },
    #[error(
        "certificate naming lease {lease_id} is issued by the root of provider {issued_by}, \
         but the lease is held by provider {provider}"
    )]
    WrongProviderRoot {
        lease_id: u64,
        provider: String,
        issued_by: String,
    },
    #[error(
        "certificate naming lease {lease_id} does not chain to the on-chain root of its \
         provider {provider} (nor to any other on-chain root): {reason}"
    )]
    UnknownRoot {
        lease_id: u64,
        provider: String,
        reason: String,
    },
    #[error("certificate naming lease {lease_id} is expired or not yet valid: {reason}")]
    Expired { lease_id: u64, reason: String },
    #[error("certificate naming lease {lease_id} is not for this purpose: {reason}")]
    WrongPurpose { lease_id: u64, reason: String },
    #[error("certificate naming lease {lease_id} is not valid: {reason}")]
    InvalidCertificate { lease_id: u64, reason: String },
    #[error(
        "certificate names {named}, but on chain lease {} belongs to tenant {chain_tenant} \
         in deployment {chain_deployment}", named.lease_id()
    )]
    IdentityMismatch {
        named: TunnelIdentity,
        chain_tenant: String,
        chain_deployment: u64,
    },
    #[error("lease {peer_lease} belongs to tenant {peer_tenant}, not to {local_tenant} (tenant of lease {local_lease})")]
    OtherTenant {
        peer_lease: u64,
        peer_tenant: String,
        local_lease: u64,
        local_tenant: String,
    },
    #[error("lease {peer_lease} is in deployment {peer_deployment}, not in deployment {local_deployment} of lease {local_lease}")]
    OtherDeployment {
        peer_lease: u64,
        peer_deployment: u64,
        local_lease: u64,
        local_deployment: u64,
    },
    #[error("edge from {from} to {to} is not allowed by expose.to")]
    EdgeNotAllowed { from: Endpoint, to: TunnelTarget },
    #[error("server presented {named}, but the tunnel is to {expected}")]
    UnexpectedPeer {
        expected: TunnelTarget,
        named: TunnelIdentity,
    },
    #[error("target {target} is not served here: lease held by provider {provider}")]
    NotLocalLease {
        target: TunnelTarget,
        provider: String,
    },
    #[error("no backend for target {target}")]
    NoBackend { target: TunnelTarget },
    #[error("client sent no tunnel server name: {0}")]
    BadServerName(NameError),
    #[error("client sent no server name (SNI)")]
    NoServerName,
}

/// What went wrong with one tunnel connection.
#[derive(Debug, Error)]
pub enum TunnelError {
    #[error("tunnel refused: {0}")]
    Refused(#[from] Refusal),
    #[error("TLS handshake: {0}")]
    Handshake(#[source] io::Error),
    #[error("{what} timed out after {secs} s")]
    Timeout { what: &'static str, secs: u64 },
    #[error("too many tunnel connections (limit {limit})")]
    TooManyConnections { limit: usize },
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Issue(#[from] IssueError),
    #[error("TLS configuration: {0}")]
    Config(String),
    #[error("tunnel I/O: {0}")]
    Io(#[from] io::Error),
}
