//! What travels over the gateway's HTTPS API, shared by the server and the tenant's client:
//! paths, JSON bodies, refusal codes.

use std::collections::BTreeMap;

use akash_types::market::{Lease, LeaseState};
use serde::{Deserialize, Serialize};

use crate::runtime::{DeploymentStatus, InstanceStatus, LogLine, Protocol};

/// Lines of logs returned when the request names no `tail`.
pub const DEFAULT_LOG_TAIL: usize = 100;
/// Most lines of logs one request may ask for.
pub const MAX_LOG_TAIL: usize = 10_000;

/// `PUT`: the lease's manifest document, exactly the bytes whose sha256 is on chain.
pub fn manifest_path(lease_id: u64) -> String {
    format!("/v1/leases/{lease_id}/manifest")
}

/// `PUT`: where the peers of the lease's group run ([`PeerPlacement`]), signed by the tenant.
pub fn peers_path(lease_id: u64) -> String {
    format!("/v1/leases/{lease_id}/peers")
}

/// `GET`: [`LeaseStatus`].
pub fn status_path(lease_id: u64) -> String {
    format!("/v1/leases/{lease_id}/status")
}

/// `GET`: [`LeaseLogs`] of one service. Service names are DNS labels, so they need no
/// escaping in a query.
pub fn logs_path(lease_id: u64, service: &str, tail: usize) -> String {
    format!("/v1/leases/{lease_id}/logs?service={service}&tail={tail}")
}

/// `GET`: a manifest document this provider holds, by its sha256, for a participant of a
/// lease that carries it: `lease_id` is the requester's own lease (a provider proving itself
/// with a client certificate of that lease's provider root) or, signed by the tenant, any
/// lease of that tenant carrying the hash. The answer is the document's exact bytes.
pub fn shared_manifest_path(sha256: &str, lease_id: u64) -> String {
    format!("/v1/manifests/{sha256}?lease={lease_id}")
}

/// Body of every refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `manifest_hash_mismatch` (see [`codes`]).
    pub error: String,
    /// A sentence for people, naming the value that was refused.
    pub reason: String,
}

/// The `error` codes the gateway answers with.
pub mod codes {
    /// 400: a path, query or header that does not parse.
    pub const BAD_REQUEST: &str = "bad_request";
    /// 401: no tenant signature headers.
    pub const MISSING_SIGNATURE: &str = "missing_signature";
    /// 401: signature headers that do not parse.
    pub const MALFORMED_SIGNATURE: &str = "malformed_signature";
    /// 401: a timestamp too far from the provider's clock.
    pub const STALE_TIMESTAMP: &str = "stale_timestamp";
    /// 401: a signature that does not verify.
    pub const BAD_SIGNATURE: &str = "bad_signature";
    /// 403: signed by someone other than the lease's tenant.
    pub const NOT_TENANT: &str = "not_tenant";
    /// 403: the lease belongs to another provider.
    pub const NOT_OUR_LEASE: &str = "not_our_lease";
    /// 403: the client certificate was not issued by the root registered for the provider of
    /// the lease the request names.
    pub const BAD_CLIENT_CERTIFICATE: &str = "bad_client_certificate";
    /// 403: the lease named does not carry the manifest asked for, or is not active.
    pub const NOT_PARTICIPANT: &str = "not_participant";
    /// 404: this provider does not hold that manifest document (yet).
    pub const MANIFEST_NOT_HELD: &str = "manifest_not_held";
    /// 409: a peer lease of a placement is not an active lease of the same tenant.
    pub const INVALID_PEER: &str = "invalid_peer";
    /// 404: no such lease on chain.
    pub const UNKNOWN_LEASE: &str = "unknown_lease";
    /// 404: no such route.
    pub const NOT_FOUND: &str = "not_found";
    /// 404: the lease has nothing deployed (yet).
    pub const NOT_DEPLOYED: &str = "not_deployed";
    /// 404: the lease has no service of that name.
    pub const UNKNOWN_SERVICE: &str = "unknown_service";
    /// 405: a method the route does not serve.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// 408: the request took longer than the gateway's request timeout.
    pub const TIMEOUT: &str = "timeout";
    /// 409: the document's sha256 is not the lease's.
    pub const MANIFEST_HASH_MISMATCH: &str = "manifest_hash_mismatch";
    /// 409: the lease is closed or completed.
    pub const LEASE_NOT_ACTIVE: &str = "lease_not_active";
    /// 413: the body is larger than the manifest size limit.
    pub const TOO_LARGE: &str = "too_large";
    /// 422: the document has the right hash but is not a valid manifest.
    pub const INVALID_MANIFEST: &str = "invalid_manifest";
    /// 500: the provider could not deploy or report.
    pub const PROVIDER_ERROR: &str = "provider_error";
    /// 502: the chain could not be queried.
    pub const CHAIN_UNAVAILABLE: &str = "chain_unavailable";
}

/// Where the peers of a lease's group run: what the provider needs to open the overlay
/// tunnels of the group's `expose.to` edges to other groups (and to accept theirs). The
/// document itself names peers by service only, so one document serves every placement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerPlacement {
    /// The deployment the lease belongs to, the same on every lease of one deployment
    /// (`akash deploy` uses its first order id); named in every tunnel certificate.
    pub deployment: u64,
    /// Peer service name -> the lease (of the same tenant) that runs it.
    pub peers: BTreeMap<String, u64>,
}

/// Answer to an accepted [`PeerPlacement`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeersReceipt {
    pub lease_id: u64,
    pub peers: usize,
}

/// Answer to an accepted manifest upload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadReceipt {
    pub lease_id: u64,
    pub manifest_sha256: String,
}

/// A lease's deployment as the tenant sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaseStatus {
    pub lease_id: u64,
    pub order_id: u64,
    /// The lease on chain.
    pub lease_state: LeaseState,
    pub manifest_sha256: String,
    /// The containers.
    pub state: DeploymentState,
    /// By name.
    pub services: Vec<ServiceStatus>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeploymentState {
    /// No container yet.
    Pending,
    /// Every instance runs.
    Running,
    /// Some instances do not run (exited, restarting, created, ...).
    Degraded,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub name: String,
    pub instances: Vec<InstanceStatus>,
    /// Where the service's global ports are reached from outside, one per published port.
    pub endpoints: Vec<Endpoint>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub instance: u32,
    pub container_port: u16,
    pub protocol: Protocol,
    pub host: String,
    pub host_port: u16,
    /// `http://host:port` for TCP port 80 (the SDL convention for web services),
    /// `tcp://host:port` or `udp://host:port` otherwise.
    pub url: String,
}

impl LeaseStatus {
    /// The status of `lease` from the runtime's view of its containers; endpoints are named
    /// with `public_host`, the host name or address tenants reach the provider by.
    pub fn from_deployment(
        lease: &Lease,
        deployment: &DeploymentStatus,
        public_host: &str,
    ) -> LeaseStatus {
        let state = if deployment.instances.is_empty() {
            DeploymentState::Pending
        } else if deployment.all_running() {
            DeploymentState::Running
        } else {
            DeploymentState::Degraded
        };
        // An IPv6 address is bracketed in a URL.
        let url_host = if public_host.contains(':') {
            format!("[{public_host}]")
        } else {
            public_host.to_string()
        };
        let mut services: Vec<ServiceStatus> = Vec::new();
        for instance in &deployment.instances {
            let index = match services.iter().position(|s| s.name == instance.service) {
                Some(index) => index,
                None => {
                    services.push(ServiceStatus {
                        name: instance.service.clone(),
                        instances: Vec::new(),
                        endpoints: Vec::new(),
                    });
                    services.len() - 1
                }
            };
            let service = &mut services[index];
            service
                .endpoints
                .extend(instance.host_ports.iter().map(|port| {
                    let scheme = match port.protocol {
                        Protocol::Tcp if port.container_port == 80 => "http",
                        protocol => protocol.as_str(),
                    };
                    Endpoint {
                        instance: instance.instance,
                        container_port: port.container_port,
                        protocol: port.protocol,
                        host: public_host.to_string(),
                        host_port: port.host_port,
                        url: format!("{scheme}://{url_host}:{}", port.host_port),
                    }
                }));
            service.instances.push(instance.clone());
        }
        services.sort_by(|a, b| a.name.cmp(&b.name));
        LeaseStatus {
            lease_id: lease.id,
            order_id: lease.order_id,
            lease_state: lease.state,
            manifest_sha256: lease.manifest_sha256.clone(),
            state,
            services,
        }
    }
}

/// Answer of the logs route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseLogs {
    pub lease_id: u64,
    pub service: String,
    /// Instance by instance, each in time order.
    pub lines: Vec<LogLine>,
}
