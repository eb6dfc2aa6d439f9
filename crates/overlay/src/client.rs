//! The tunnel client: opens one mTLS connection per workload connection to the provider
//! holding the target, and the local forwarder that workloads connect to as if the peer
//! service were local.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls_pki_types::ServerName;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::cert::{LeafCache, TunnelCertIssuer};
use crate::error::TunnelError;
use crate::name::{TunnelIdentity, TunnelTarget};
use crate::net::{accept_admitted, connect, log_end};
use crate::tls::{
    client_config, verified_handshake, TunnelStream, CONNECT_TIMEOUT, HANDSHAKE_TIMEOUT,
};
use crate::trust::{TrustView, TunnelEdge};
use crate::verify::PeerCheck;

/// Default bound on the connections one forwarder holds at once.
pub const DEFAULT_FORWARDER_CONNECTIONS: usize = 256;

/// An open client-side tunnel.
pub type ClientTunnel = TunnelStream<TlsStream<TcpStream>>;

/// Opens tunnels from services of this provider's leases. Cheap to clone (shared state).
#[derive(Clone)]
pub struct TunnelClient {
    inner: Arc<ClientInner>,
}

struct ClientInner {
    view: Arc<TrustView>,
    /// One leaf per edge (connecting service, target): the per-tunnel certificate.
    leaves: LeafCache<(TunnelIdentity, TunnelTarget)>,
    provider: Arc<CryptoProvider>,
}

/// One edge leaving a local service: where workloads connect, who may, and where the
/// target is served.
#[derive(Clone, Debug)]
pub struct ForwarderConfig {
    /// Where the forwarder listens (the daemon binds the deployment network's gateway IP
    /// and the peer service's port).
    pub listen: SocketAddr,
    /// The containers allowed to connect, by source address, each with the identity of its
    /// service (what its tunnels' certificates name: several services of a group may reach
    /// one peer port). Other sources are dropped without a byte.
    pub clients: BTreeMap<IpAddr, TunnelIdentity>,
    pub target: TunnelTarget,
    /// The tunnel server of the provider holding the target lease.
    pub remote: SocketAddr,
    pub max_connections: usize,
}

/// A running forwarder. Dropping it (or [`Forwarder::close`]) stops it and closes its
/// tunnels.
pub struct Forwarder {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl TunnelClient {
    pub fn new(view: Arc<TrustView>, issuer: Arc<dyn TunnelCertIssuer>) -> Self {
        let provider = crate::crypto_provider();
        TunnelClient {
            inner: Arc::new(ClientInner {
                view,
                leaves: LeafCache::new(issuer, provider.clone()),
                provider,
            }),
        }
    }

    /// Opens one tunnel from `local` to `target`, served at `remote`. The server is verified
    /// during the handshake; the server verifies this side too, and in TLS 1.3 its refusal
    /// reaches this side as an alert on the first read.
    pub async fn connect(
        &self,
        local: &TunnelIdentity,
        target: &TunnelTarget,
        remote: SocketAddr,
    ) -> Result<ClientTunnel, TunnelError> {
        let inner = &self.inner;
        let edge = (local.clone(), target.clone());
        let leaf = inner.leaves.get(&edge, local)?;
        let (check, outcome) = PeerCheck::new(&inner.view, local, target, &inner.provider);
        let config = client_config(&inner.provider, check, leaf)?;
        let server_name = ServerName::try_from(target.server_name())
            .map_err(|e| TunnelError::Config(format!("server name of {target}: {e}")))?;
        let tcp = connect(remote, CONNECT_TIMEOUT).await?;
        let handshake = TlsConnector::from(config).connect(server_name, tcp);
        let (tls, peer) = verified_handshake(handshake, HANDSHAKE_TIMEOUT, &outcome).await?;
        let guard = inner.view.register(TunnelEdge {
            client: local.clone(),
            server: peer.identity.clone(),
            port: target.port(),
            peer_lease: target.lease_id(),
            peer_root: peer.root,
        })?;
        Ok(TunnelStream::new(tls, peer.identity, guard))
    }

    /// Starts a forwarder for one edge: binds `config.listen` and, for each workload
    /// connection from an allowed source, opens a tunnel and splices the two.
    pub async fn forward(&self, config: ForwarderConfig) -> Result<Forwarder, TunnelError> {
        // Issue the edges' leaves now, so a failing issuer shows at setup.
        let services: BTreeSet<&TunnelIdentity> = config.clients.values().collect();
        for local in services {
            let edge = (local.clone(), config.target.clone());
            self.inner.leaves.get(&edge, local)?;
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| TunnelError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr()?;
        let forwarder = Forwarder {
            local_addr,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
        };
        let span = tracing::info_span!(
            "forwarder",
            target_lease = config.target.lease_id(),
            target_service = config.target.service(),
            port = config.target.port()
        );
        let accept_loop = AcceptLoop {
            client: self.clone(),
            config: Arc::new(config),
            shutdown: forwarder.shutdown.clone(),
            tasks: forwarder.tasks.clone(),
        };
        forwarder
            .tasks
            .spawn(accept_loop.run(listener).instrument(span));
        Ok(forwarder)
    }
}

impl Forwarder {
    /// The address bound (useful when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, closes every tunnel of this forwarder and waits for them to end.
    pub async fn close(self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

struct AcceptLoop {
    client: TunnelClient,
    config: Arc<ForwarderConfig>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl AcceptLoop {
    async fn run(self, listener: TcpListener) {
        let connections = Arc::new(Semaphore::new(self.config.max_connections));
        loop {
            // At the limit, stop accepting: the kernel's backlog pushes back on the workload.
            let Some((workload, source, permit)) =
                accept_admitted(&listener, &connections, &self.shutdown).await
            else {
                return;
            };
            let Some(local) = self
                .config
                .clients
                .get(&source.ip().to_canonical())
                .cloned()
            else {
                tracing::warn!(%source, "forwarder: source not allowed, connection dropped");
                continue;
            };
            let client = self.client.clone();
            let config = self.config.clone();
            let shutdown = self.shutdown.clone();
            self.tasks.spawn(async move {
                let _permit = permit;
                let result = forward_one(&client, &config, &local, workload, &shutdown).await;
                log_end(&result, source);
            });
        }
    }
}

async fn forward_one(
    client: &TunnelClient,
    config: &ForwarderConfig,
    local: &TunnelIdentity,
    mut workload: TcpStream,
    shutdown: &CancellationToken,
) -> Result<(), TunnelError> {
    let mut tunnel = tokio::select! {
        tunnel = client.connect(local, &config.target, config.remote) => tunnel?,
        _ = shutdown.cancelled() => return Ok(()),
    };
    tokio::select! {
        result = copy_bidirectional(&mut workload, &mut tunnel) => {
            result.map(|_| ()).map_err(TunnelError::Io)
        }
        _ = shutdown.cancelled() => Ok(()),
    }
}
