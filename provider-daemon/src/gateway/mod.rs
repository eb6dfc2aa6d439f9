//! The provider's HTTPS gateway: tenants upload a lease's manifest and read its status and
//! logs, each request signed with the tenant's chain key and checked against the lease on chain.
//!
//! Routes (all answers JSON; every refusal is [`api::ErrorBody`] `{"error", "reason"}`):
//! - `PUT /v1/leases/{lease_id}/manifest`: the manifest document. Accepted only for an active
//!   lease of this provider, signed by its tenant, at most [`MAX_DOCUMENT_BYTES`] bytes, whose
//!   sha256 is the lease's `manifest_sha256` and which parses as a [`GroupManifest`]; then
//!   handed to the [`ManifestSink`]. Answer: [`api::UploadReceipt`].
//! - `PUT /v1/leases/{lease_id}/peers`: [`api::PeerPlacement`], where the peers of the
//!   lease's group run (each an active lease of the same tenant), signed by the tenant; handed
//!   to [`ManifestSink::accept_peers`]. Answer: [`api::PeersReceipt`].
//! - `GET /v1/leases/{lease_id}/status`: [`api::LeaseStatus`] from the [`LeaseView`].
//! - `GET /v1/leases/{lease_id}/logs?service=NAME&tail=N`: [`api::LeaseLogs`].
//! - `GET /v1/manifests/{sha256}?lease={lease_id}`: a manifest document this provider holds,
//!   for another provider whose lease carries the same hash (client certificate issued by
//!   that provider's root on chain) or for the tenant (signed). See [`crate::distribution`].
//!
//! Authentication is [`auth`]; the tenant side is [`client::GatewayClient`], which trusts only
//! the provider's root certificate as registered on chain.
//!
//! [`MAX_DOCUMENT_BYTES`]: akash_manifest::MAX_DOCUMENT_BYTES

pub mod api;
pub mod auth;
pub mod client;
mod routes;
mod server;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use akash_manifest::GroupManifest;
use akash_types::market::Lease;
use thiserror::Error;

pub use api::{LeaseLogs, LeaseStatus, PeerPlacement, PeersReceipt, UploadReceipt};
pub use client::{ClientError, GatewayClient};
pub use server::{GatewayError, GatewayServer};

use crate::runtime::LogLine;

/// Where the gateway listens and how it bounds its work.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    pub listen_address: SocketAddr,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// TLS handshake of a new connection.
    pub handshake_timeout: Duration,
    /// Until a request's head has arrived (slow clients hold a connection slot).
    pub header_read_timeout: Duration,
    /// Handling of one request, body included.
    pub request_timeout: Duration,
    /// How long open connections get to finish after shutdown is asked.
    pub shutdown_grace: Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen_address: SocketAddr::from(([0, 0, 0, 0], 8443)),
            max_connections: 256,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Receives the manifests the gateway has verified; the daemon implements it by deploying.
///
/// The call runs in its own task: a request that times out does not cancel it. It should
/// return once the manifest is recorded and the deployment started, not wait for images.
pub trait ManifestSink: Send + Sync + 'static {
    /// `manifest` is the lease's own document (its sha256 is `lease.manifest_sha256`). An
    /// error is reported to the tenant as a 500 with the message as reason.
    fn accept(
        &self,
        lease: Lease,
        manifest: GroupManifest,
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// Where the peers of `lease`'s group run, after the gateway checked the tenant's
    /// signature and that every peer lease is an active lease of the same tenant.
    fn accept_peers(
        &self,
        lease: Lease,
        placement: PeerPlacement,
    ) -> impl Future<Output = Result<(), String>> + Send {
        let _ = (lease, placement);
        async { Err("this provider does not connect deployments across providers".to_string()) }
    }
}

/// What the gateway shows a tenant of its lease's deployment.
pub trait LeaseView: Send + Sync + 'static {
    fn status(&self, lease: Lease) -> impl Future<Output = Result<LeaseStatus, ViewError>> + Send;

    /// The last `tail` lines of each instance of `service`.
    fn logs(
        &self,
        lease: Lease,
        service: String,
        tail: usize,
    ) -> impl Future<Output = Result<Vec<LogLine>, ViewError>> + Send;

    /// The exact bytes of a verified manifest document this provider holds, served to the
    /// other participants of leases carrying it. None: not held (the default).
    fn manifest_document(&self, sha256: &str) -> Option<Vec<u8>> {
        let _ = sha256;
        None
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ViewError {
    #[error("lease {lease_id} has nothing deployed: upload its manifest first")]
    NotDeployed { lease_id: u64 },
    #[error("lease {lease_id} has no service {service:?}")]
    UnknownService { lease_id: u64, service: String },
    #[error("{0}")]
    Unavailable(String),
}
