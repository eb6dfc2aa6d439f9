//! The daemon's side of the overlay (whitepaper 4.2, crate `akash-overlay`): which tunnels
//! its leases may open and accept, kept in step with the chain, the manifests and the
//! containers.
//!
//! For every running lease whose tenant placed its peers ([`PeerPlacement`]):
//! - a peer service `p` that services of the lease may reach on port `as` gets a forwarder on
//!   the lease network's gateway address, port `as`. The containers resolve `p` to that
//!   address (the runtime adds it to their hosts file), so `p:as` works as if `p` were local.
//!   Only the containers of the services the manifest allows may use the forwarder; each of
//!   their connections becomes its own mTLS tunnel to the provider holding `p`'s lease;
//! - the tunnel server (on the gateway's port, routed by server name) accepts a tunnel into a
//!   service of the lease only from the peer leases and services the manifest's `expose.to`
//!   names, and splices it to the service's container.
//!
//! The trust view (provider roots, leases, allowed edges) is rebuilt from the chain at every
//! sync: a lease that closed, or a root replaced on chain, cuts the tunnels it carried and
//! refuses new handshakes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use akash_chain_client::MarketChain;
use akash_manifest::{GroupManifest, Proto};
use akash_overlay::{
    Endpoint, Forwarder, ForwarderConfig, IssueError, LeaseRecord, TargetResolver, TrustSnapshot,
    TrustView, TunnelCertIssuer, TunnelClient, TunnelIdentity, TunnelServer, TunnelServerConfig,
    TunnelTarget,
};
use akash_types::market::{Lease, LeaseState};
use http::Uri;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tracing::{debug, info, warn};

use crate::gateway::PeerPlacement;
use crate::identity::ProviderIdentity;
use crate::leases::{LeaseManager, LeasePhase};
use crate::runtime::{ContainerRuntime, DeploymentStatus, RuntimeError};

/// Most workload connections one forwarder carries at once.
const FORWARDER_CONNECTIONS: usize = 256;
/// Connecting to a service's container from a local edge.
const LOCAL_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Parsed manifests kept (cleared when full).
const MANIFEST_CACHE: usize = 1024;

/// What the overlay needs to know of one of our running leases.
#[derive(Clone, Debug)]
pub struct LeaseOverlay {
    pub lease: Lease,
    pub placement: PeerPlacement,
    pub manifest: GroupManifest,
    pub status: DeploymentStatus,
}

/// The provider's root signs the per-tunnel leaves.
impl TunnelCertIssuer for ProviderIdentity {
    fn issue(
        &self,
        params: rcgen::CertificateParams,
    ) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), IssueError> {
        let leaf = self.issue_leaf(params).map_err(|error| IssueError {
            identity: "tunnel leaf".to_string(),
            reason: error.to_string(),
        })?;
        Ok((leaf.certificate_der().clone(), leaf.private_key_der()))
    }
}

/// One forwarder as configured, to tell whether a sync changes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ForwarderKey {
    listen: SocketAddr,
    /// Source address -> identity URI of its service.
    clients: BTreeMap<IpAddr, String>,
    target: TunnelTarget,
    remote: SocketAddr,
}

/// The overlay of one daemon.
pub struct Overlay {
    chain: Arc<dyn MarketChain>,
    view: Arc<TrustView>,
    server: TunnelServer,
    client: TunnelClient,
    backends: Arc<RwLock<BTreeMap<TunnelTarget, SocketAddr>>>,
    forwarders: tokio::sync::Mutex<BTreeMap<ForwarderKey, Forwarder>>,
    local: std::sync::Mutex<BTreeMap<LocalKey, LocalForwarder>>,
    manifests: std::sync::Mutex<BTreeMap<String, Arc<GroupManifest>>>,
}

impl Overlay {
    pub fn new(chain: Arc<dyn MarketChain>, issuer: Arc<ProviderIdentity>) -> Self {
        let view = TrustView::new(TrustSnapshot::new());
        let backends: Arc<RwLock<BTreeMap<TunnelTarget, SocketAddr>>> = Arc::default();
        let lookup = Arc::clone(&backends);
        let resolver = move |target: &TunnelTarget| {
            lookup
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(target)
                .copied()
        };
        let resolver: Arc<dyn TargetResolver> = Arc::new(resolver);
        let server = TunnelServer::new(
            TunnelServerConfig::new(chain.address()),
            Arc::clone(&view),
            issuer.clone(),
            resolver,
        );
        let client = TunnelClient::new(Arc::clone(&view), issuer);
        Overlay {
            chain,
            view,
            server,
            client,
            backends,
            forwarders: tokio::sync::Mutex::new(BTreeMap::new()),
            local: std::sync::Mutex::new(BTreeMap::new()),
            manifests: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// Serves tunnels into our leases; the gateway hands it connections by server name.
    pub fn tunnel_server(&self) -> &TunnelServer {
        &self.server
    }

    pub fn trust_view(&self) -> &Arc<TrustView> {
        &self.view
    }

    /// Tunnels open through this daemon, both directions.
    pub fn open_tunnels(&self) -> usize {
        self.view.open_tunnels()
    }

    /// Reads the running leases of `manager` whose manifests connect services and applies
    /// them: each lease's own edges, and the tunnels of those with a peer placement.
    pub async fn sync_with<R: ContainerRuntime + 'static>(&self, manager: &LeaseManager<R>) {
        let mut inputs = Vec::new();
        let mut local = Vec::new();
        for report in manager.reports() {
            if report.phase != LeasePhase::Running {
                continue;
            }
            let Some(sha256) = report.deployed_sha256.as_deref() else {
                continue;
            };
            let Some(manifest) = self.manifest(manager, sha256) else {
                continue;
            };
            if !has_edges(&manifest) {
                continue;
            }
            let status = match manager.deployment_status(report.lease_id).await {
                Ok(status) => status,
                // Torn down between the report and now (the lease just ended).
                Err(RuntimeError::LeaseNotFound { .. }) => continue,
                Err(error) => {
                    warn!(lease_id = report.lease_id, %error, "overlay: containers not read");
                    continue;
                }
            };
            local.push((Arc::clone(&manifest), status.clone()));
            let Some(placement) = manager.peer_placement(report.lease_id) else {
                continue;
            };
            let lease = match self.chain.lease(report.lease_id).await {
                Ok(lease) => lease,
                Err(error) => {
                    warn!(lease_id = report.lease_id, %error, "overlay: lease not read");
                    continue;
                }
            };
            inputs.push(LeaseOverlay {
                lease,
                placement,
                manifest: (*manifest).clone(),
                status,
            });
        }
        self.apply(&inputs).await;
        self.apply_local(&local).await;
    }

    /// The manifest `sha256`, parsed once per daemon run.
    fn manifest<R: ContainerRuntime + 'static>(
        &self,
        manager: &LeaseManager<R>,
        sha256: &str,
    ) -> Option<Arc<GroupManifest>> {
        let mut cache = self.manifests.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(manifest) = cache.get(sha256) {
            return Some(Arc::clone(manifest));
        }
        let manifest = Arc::new(manager.manifest_store().load(sha256)?);
        if cache.len() >= MANIFEST_CACHE {
            cache.clear();
        }
        cache.insert(sha256.to_string(), Arc::clone(&manifest));
        Some(manifest)
    }

    /// Edges between services of one lease: on the lease network's gateway address, port
    /// `as` of each service that `expose.to` lets other services of the group reach, a plain
    /// TCP forwarder to the service's container, open to the allowed services' containers
    /// only (the network forbids direct traffic between containers).
    pub async fn apply_local(&self, leases: &[(Arc<GroupManifest>, DeploymentStatus)]) {
        let mut wanted = BTreeSet::new();
        for (manifest, status) in leases {
            let Some(gateway) = status.gateway else {
                continue;
            };
            for (name, service) in &manifest.services {
                let Some(backend) = addresses(status, name).next() else {
                    continue;
                };
                for expose in &service.expose {
                    if expose.proto != Proto::Tcp {
                        continue;
                    }
                    let sources: BTreeSet<IpAddr> = expose
                        .services
                        .iter()
                        .filter(|client| manifest.services.contains_key(*client))
                        .flat_map(|client| addresses(status, client))
                        .collect();
                    if !sources.is_empty() {
                        wanted.insert(LocalKey {
                            listen: SocketAddr::new(gateway, expose.as_port),
                            sources,
                            backend: SocketAddr::new(backend, expose.port),
                        });
                    }
                }
            }
        }
        let mut forwarders = self.local.lock().unwrap_or_else(|e| e.into_inner());
        forwarders.retain(|key, _| wanted.contains(key));
        for key in wanted {
            if forwarders.contains_key(&key) {
                continue;
            }
            match LocalForwarder::start(&key) {
                Ok(forwarder) => {
                    info!(listen = %key.listen, backend = %key.backend, "overlay: local edge up");
                    forwarders.insert(key, forwarder);
                }
                Err(error) => {
                    warn!(listen = %key.listen, %error, "overlay: local edge not started")
                }
            }
        }
    }

    /// Makes the trust view, the backends and the forwarders those of `leases` (our running
    /// leases with a placement); everything else is dropped, cutting its tunnels.
    pub async fn apply(&self, leases: &[LeaseOverlay]) {
        let mut snapshot = TrustSnapshot::new();
        let mut backends = BTreeMap::new();
        let mut wanted: BTreeMap<ForwarderKey, ForwarderConfig> = BTreeMap::new();
        let mut registry = Registry::new();
        for item in leases {
            if let Err(reason) = self
                .add_lease(
                    item,
                    &mut snapshot,
                    &mut backends,
                    &mut wanted,
                    &mut registry,
                )
                .await
            {
                warn!(lease_id = item.lease.id, %reason, "overlay: lease left out");
            }
        }
        let cut = self.view.replace(snapshot);
        if cut > 0 {
            info!(cut, "overlay: tunnels cut by the chain's state");
        }
        *self.backends.write().unwrap_or_else(|e| e.into_inner()) = backends;

        let mut forwarders = self.forwarders.lock().await;
        let stale: Vec<ForwarderKey> = forwarders
            .keys()
            .filter(|key| !wanted.contains_key(*key))
            .cloned()
            .collect();
        for key in stale {
            if let Some(forwarder) = forwarders.remove(&key) {
                debug!(listen = %key.listen, target = %key.target, "overlay: forwarder closed");
                forwarder.close().await;
            }
        }
        for (key, config) in wanted {
            if forwarders.contains_key(&key) {
                continue;
            }
            match self.client.forward(config).await {
                Ok(forwarder) => {
                    info!(
                        listen = %key.listen,
                        target = %key.target,
                        remote = %key.remote,
                        "overlay: forwarder up"
                    );
                    forwarders.insert(key, forwarder);
                }
                Err(error) => warn!(listen = %key.listen, %error, "overlay: forwarder not started"),
            }
        }
    }

    async fn add_lease(
        &self,
        item: &LeaseOverlay,
        snapshot: &mut TrustSnapshot,
        backends: &mut BTreeMap<TunnelTarget, SocketAddr>,
        wanted: &mut BTreeMap<ForwarderKey, ForwarderConfig>,
        registry: &mut Registry,
    ) -> Result<(), String> {
        let lease = &item.lease;
        if lease.state != LeaseState::Active {
            return Ok(());
        }
        let tenant = lease.tenant.to_string();
        let deployment = item.placement.deployment;
        self.add_provider(snapshot, registry, lease.provider.as_str())
            .await?;
        snapshot.set_lease(
            lease.id,
            LeaseRecord {
                tenant: tenant.clone(),
                deployment_id: deployment,
                provider: lease.provider.to_string(),
                active: true,
            },
        );
        // The peer leases, as the chain has them.
        let mut peer_providers = BTreeMap::new();
        for (service, peer_id) in &item.placement.peers {
            let peer = self
                .chain
                .lease(*peer_id)
                .await
                .map_err(|e| format!("peer {service:?} lease {peer_id}: {e}"))?;
            if peer.tenant != lease.tenant {
                return Err(format!("peer lease {peer_id} belongs to another tenant"));
            }
            let remote = self
                .add_provider(snapshot, registry, peer.provider.as_str())
                .await?;
            snapshot.set_lease(
                *peer_id,
                LeaseRecord {
                    tenant: tenant.clone(),
                    deployment_id: deployment,
                    provider: peer.provider.to_string(),
                    active: peer.state == LeaseState::Active,
                },
            );
            peer_providers.insert(service.clone(), (*peer_id, remote));
        }
        // Into our services: from the peers `expose.to` names, to the container.
        for (name, service) in &item.manifest.services {
            let address = addresses(&item.status, name).next();
            for expose in &service.expose {
                if expose.proto != Proto::Tcp {
                    continue;
                }
                let target =
                    TunnelTarget::new(lease.id, name, expose.as_port).map_err(|e| e.to_string())?;
                let mut allowed = false;
                for client in &expose.services {
                    if let Some((peer_id, _)) = peer_providers.get(client) {
                        let from = Endpoint::new(*peer_id, client).map_err(|e| e.to_string())?;
                        snapshot.allow(target.clone(), from);
                        allowed = true;
                    }
                }
                if let (true, Some(ip)) = (allowed, address) {
                    backends.insert(target, SocketAddr::new(ip, expose.port));
                }
            }
        }
        // Out of our services: one forwarder per peer port.
        let Some(gateway) = item.status.gateway else {
            return Err("the lease network has no gateway address".to_string());
        };
        for (peer, spec) in &item.manifest.peers {
            let Some((peer_id, remote)) = peer_providers.get(peer) else {
                continue;
            };
            let Some(remote) = remote else {
                return Err(format!(
                    "the provider of peer {peer:?} has no reachable host"
                ));
            };
            for port in &spec.ports {
                if port.proto != Proto::Tcp {
                    continue;
                }
                // One forwarder per peer port; each allowed container's connections carry
                // its own service's identity.
                let target =
                    TunnelTarget::new(*peer_id, peer, port.as_port).map_err(|e| e.to_string())?;
                let mut clients = BTreeMap::new();
                for client in &port.clients {
                    let local = TunnelIdentity::new(&tenant, deployment, lease.id, client)
                        .map_err(|e| e.to_string())?;
                    // Our side checks the edge too, as the peer's manifest is not ours.
                    snapshot.allow(target.clone(), local.endpoint());
                    for address in addresses(&item.status, client) {
                        clients.insert(address, local.clone());
                    }
                }
                if clients.is_empty() {
                    continue;
                }
                let listen = SocketAddr::new(gateway, port.as_port);
                let key = ForwarderKey {
                    listen,
                    clients: clients
                        .iter()
                        .map(|(address, local)| (*address, local.to_uri()))
                        .collect(),
                    target: target.clone(),
                    remote: *remote,
                };
                wanted.insert(
                    key,
                    ForwarderConfig {
                        listen,
                        clients,
                        target,
                        remote: *remote,
                        max_connections: FORWARDER_CONNECTIONS,
                    },
                );
            }
        }
        Ok(())
    }

    /// Puts `provider`'s root in the snapshot; returns the address of its gateway (where its
    /// tunnel server listens). Registry reads are shared within one sync.
    async fn add_provider(
        &self,
        snapshot: &mut TrustSnapshot,
        registry: &mut Registry,
        provider: &str,
    ) -> Result<Option<SocketAddr>, String> {
        if !registry.contains_key(provider) {
            let entry = match self.chain.provider(provider).await {
                Ok(registered) => Some(RegisteredProvider {
                    gateway: gateway_address(&registered.host_uri).await,
                    root_pem: registered.root_certificate_pem,
                }),
                Err(error) => {
                    warn!(provider, %error, "overlay: provider not read from the registry");
                    None
                }
            };
            registry.insert(provider.to_string(), entry);
        }
        match &registry[provider] {
            Some(registered) => {
                snapshot
                    .set_provider_root_pem(provider, &registered.root_pem)
                    .map_err(|e| e.to_string())?;
                Ok(registered.gateway)
            }
            None => Err(format!("provider {provider} is not in the registry")),
        }
    }
}

/// A provider as one sync read it from the registry (None: not registered or not readable).
type Registry = BTreeMap<String, Option<RegisteredProvider>>;

struct RegisteredProvider {
    root_pem: String,
    /// Its gateway (and tunnel server), if its host URI resolves.
    gateway: Option<SocketAddr>,
}

/// The addresses of `service`'s containers on the lease network.
fn addresses<'a>(
    status: &'a DeploymentStatus,
    service: &'a str,
) -> impl Iterator<Item = IpAddr> + 'a {
    status
        .instances
        .iter()
        .filter(move |instance| instance.service == service)
        .filter_map(|instance| instance.address)
}

/// Does the manifest connect any services (within the group or with peers)?
fn has_edges(manifest: &GroupManifest) -> bool {
    !manifest.peers.is_empty()
        || manifest.services.values().any(|service| {
            service
                .expose
                .iter()
                .any(|expose| !expose.services.is_empty())
        })
}

/// One edge inside a lease, as configured.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct LocalKey {
    listen: SocketAddr,
    sources: BTreeSet<IpAddr>,
    backend: SocketAddr,
}

/// A plain TCP forwarder for an edge inside one lease (both ends on this host: no TLS).
/// Dropping it stops it and closes its connections.
struct LocalForwarder {
    cancel: CancellationToken,
}

impl Drop for LocalForwarder {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl LocalForwarder {
    fn start(key: &LocalKey) -> std::io::Result<Self> {
        // Bound synchronously so a port already taken shows here.
        let listener = std::net::TcpListener::bind(key.listen)?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let cancel = CancellationToken::new();
        let token = cancel.clone();
        let sources = key.sources.clone();
        let backend = key.backend;
        let slots = Arc::new(Semaphore::new(FORWARDER_CONNECTIONS));
        tokio::spawn(async move {
            loop {
                let permit = tokio::select! {
                    _ = token.cancelled() => return,
                    permit = Arc::clone(&slots).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => return,
                    },
                };
                let (mut workload, source) = tokio::select! {
                    _ = token.cancelled() => return,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            warn!(%error, "overlay: local edge accept");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                if !sources.contains(&source.ip().to_canonical()) {
                    warn!(%source, %backend, "overlay: source not allowed by expose.to, dropped");
                    continue;
                }
                let token = token.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let connect =
                        tokio::time::timeout(LOCAL_CONNECT_TIMEOUT, TcpStream::connect(backend));
                    let Ok(Ok(mut upstream)) = connect.await else {
                        debug!(%backend, "overlay: local edge backend not reachable");
                        return;
                    };
                    tokio::select! {
                        _ = token.cancelled() => {}
                        _ = copy_bidirectional(&mut workload, &mut upstream) => {}
                    }
                });
            }
        });
        Ok(LocalForwarder { cancel })
    }
}

/// The socket address of a registered `https://host:port`.
async fn gateway_address(host_uri: &str) -> Option<SocketAddr> {
    let uri: Uri = host_uri.parse().ok()?;
    let authority = uri.authority()?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = authority.port_u16().unwrap_or(443);
    let mut addresses = tokio::net::lookup_host((host, port)).await.ok()?;
    addresses.next()
}
