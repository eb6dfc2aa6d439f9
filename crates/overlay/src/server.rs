//! The tunnel server: reads the ClientHello, picks the target from the server name, verifies
//! the client for that target inside the handshake, then splices the connection to the
//! target's backend socket.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{copy_bidirectional, AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::timeout;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::server::Acceptor;
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::{LazyConfigAcceptor, StartHandshake};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::cert::{LeafCache, TunnelCertIssuer};
use crate::error::{Refusal, TunnelError};
use crate::name::{TunnelIdentity, TunnelTarget};
use crate::net::{accept_admitted, connect, log_end};
use crate::tls::{
    refusing_server_config, server_config, timed_out, verified_handshake, TunnelStream,
    CONNECT_TIMEOUT, HANDSHAKE_TIMEOUT,
};
use crate::trust::{TrustView, TunnelEdge};
use crate::verify::PeerCheck;

/// Default bound on the connections one tunnel server holds at once.
pub const DEFAULT_SERVER_CONNECTIONS: usize = 4096;

/// Maps a target to the socket its service listens on (the container's address and port),
/// or `None` when it has no running backend.
pub trait TargetResolver: Send + Sync {
    fn resolve(&self, target: &TunnelTarget) -> Option<SocketAddr>;
}

impl<F> TargetResolver for F
where
    F: Fn(&TunnelTarget) -> Option<SocketAddr> + Send + Sync,
{
    fn resolve(&self, target: &TunnelTarget) -> Option<SocketAddr> {
        self(target)
    }
}

/// Settings of a [`TunnelServer`].
#[derive(Clone, Debug)]
pub struct TunnelServerConfig {
    /// Address of this provider: only targets of leases it holds are served.
    pub provider: String,
    pub max_connections: usize,
    pub handshake_timeout: Duration,
    pub connect_timeout: Duration,
}

impl TunnelServerConfig {
    pub fn new(provider: &str) -> Self {
        TunnelServerConfig {
            provider: provider.to_string(),
            max_connections: DEFAULT_SERVER_CONNECTIONS,
            handshake_timeout: HANDSHAKE_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }
}

/// Accepts tunnels for the leases of this provider. Cheap to clone (shared state).
#[derive(Clone)]
pub struct TunnelServer {
    inner: Arc<ServerInner>,
}

struct ServerInner {
    config: TunnelServerConfig,
    view: Arc<TrustView>,
    resolver: Arc<dyn TargetResolver>,
    /// One leaf per target service (the server presents it before it knows the client).
    leaves: LeafCache<TunnelIdentity>,
    provider: Arc<CryptoProvider>,
    connections: Arc<Semaphore>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// What the server name resolved to, before the handshake.
struct Prepared {
    target: TunnelTarget,
    local: TunnelIdentity,
    backend: SocketAddr,
    leaf: Arc<CertifiedKey>,
}

impl TunnelServer {
    pub fn new(
        config: TunnelServerConfig,
        view: Arc<TrustView>,
        issuer: Arc<dyn TunnelCertIssuer>,
        resolver: Arc<dyn TargetResolver>,
    ) -> Self {
        let provider = crate::crypto_provider();
        TunnelServer {
            inner: Arc::new(ServerInner {
                connections: Arc::new(Semaphore::new(config.max_connections)),
                leaves: LeafCache::new(issuer, provider.clone()),
                config,
                view,
                resolver,
                provider,
                shutdown: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
        }
    }

    /// Accepts connections on `listener` until [`Self::shutdown`], each served as
    /// [`Self::serve_connection`] does. At the connection limit it stops accepting until a
    /// tunnel closes.
    pub async fn serve(&self, listener: TcpListener) {
        let inner = &self.inner;
        loop {
            let Some((stream, remote, permit)) =
                accept_admitted(&listener, &inner.connections, &inner.shutdown).await
            else {
                return;
            };
            let server = self.clone();
            inner.tasks.spawn(async move {
                let result = server.serve_admitted(stream, permit).await;
                log_end(&result, remote);
            });
        }
    }

    /// Serves one connection accepted elsewhere (e.g. on the daemon's own listener), for the
    /// whole life of the tunnel. Refused at once when the connection limit is reached.
    pub async fn serve_connection<IO>(&self, stream: IO) -> Result<(), TunnelError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let permit = self.try_admit()?;
        self.serve_admitted(stream, permit).await
    }

    /// Serves one connection whose ClientHello was already read, e.g. by a listener that
    /// routes on the server name ([`crate::is_tunnel_server_name`]).
    pub async fn serve_started<IO>(&self, start: StartHandshake<IO>) -> Result<(), TunnelError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let permit = self.try_admit()?;
        self.serve_hello(start, permit).await
    }

    /// Closes the listener loop and every tunnel this server holds.
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.tasks.close();
    }

    /// Waits until the tunnels spawned by [`Self::serve`] have ended (after
    /// [`Self::shutdown`]).
    pub async fn closed(&self) {
        self.inner.tasks.wait().await;
    }

    fn try_admit(&self) -> Result<OwnedSemaphorePermit, TunnelError> {
        self.inner
            .connections
            .clone()
            .try_acquire_owned()
            .map_err(|_| TunnelError::TooManyConnections {
                limit: self.inner.config.max_connections,
            })
    }

    async fn serve_admitted<IO>(
        &self,
        stream: IO,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), TunnelError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let handshake_timeout = self.inner.config.handshake_timeout;
        let acceptor = LazyConfigAcceptor::new(Acceptor::default(), stream);
        let start = timeout(handshake_timeout, acceptor)
            .await
            .map_err(|_| timed_out("ClientHello", handshake_timeout))?
            .map_err(TunnelError::Handshake)?;
        self.serve_hello(start, permit).await
    }

    async fn serve_hello<IO>(
        &self,
        start: StartHandshake<IO>,
        _permit: OwnedSemaphorePermit,
    ) -> Result<(), TunnelError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let inner = &self.inner;
        let server_name = start.client_hello().server_name().map(str::to_string);
        let prepared = match self.prepare(server_name.as_deref()) {
            Ok(prepared) => prepared,
            Err(error) => {
                // Answer with an alert rather than a silent close, then report why.
                let config = refusing_server_config(&inner.provider)?;
                let _ = timeout(inner.config.handshake_timeout, start.into_stream(config)).await;
                return Err(error);
            }
        };
        let span = tracing::info_span!(
            "tunnel",
            lease = prepared.target.lease_id(),
            service = prepared.target.service(),
            port = prepared.target.port()
        );
        self.serve_target(start, prepared).instrument(span).await
    }

    /// Resolves the server name to a target held by this provider, its backend, and the
    /// leaf to present.
    fn prepare(&self, server_name: Option<&str>) -> Result<Prepared, TunnelError> {
        let inner = &self.inner;
        let refused = TunnelError::Refused;
        let server_name = server_name.ok_or(refused(Refusal::NoServerName))?;
        let target = TunnelTarget::from_server_name(server_name)
            .map_err(|e| refused(Refusal::BadServerName(e)))?;
        let snapshot = inner.view.snapshot();
        let record = snapshot.active_lease(target.lease_id()).map_err(refused)?;
        if record.provider != inner.config.provider {
            return Err(refused(Refusal::NotLocalLease {
                target,
                provider: record.provider.clone(),
            }));
        }
        let local = TunnelIdentity::new(
            &record.tenant,
            record.deployment_id,
            target.lease_id(),
            target.service(),
        )
        .map_err(|e| refused(Refusal::BadIdentity(e)))?;
        let backend = inner.resolver.resolve(&target).ok_or_else(|| {
            refused(Refusal::NoBackend {
                target: target.clone(),
            })
        })?;
        let leaf = inner.leaves.get(&local, &local)?;
        Ok(Prepared {
            target,
            local,
            backend,
            leaf,
        })
    }

    async fn serve_target<IO>(
        &self,
        start: StartHandshake<IO>,
        prepared: Prepared,
    ) -> Result<(), TunnelError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let inner = &self.inner;
        let Prepared {
            target,
            local,
            backend,
            leaf,
        } = prepared;
        let (check, outcome) = PeerCheck::new(&inner.view, &local, &target, &inner.provider);
        let config = server_config(&inner.provider, check, leaf)?;
        let handshake = start.into_stream(config);
        let (tls, peer) =
            verified_handshake(handshake, inner.config.handshake_timeout, &outcome).await?;
        let guard = inner.view.register(TunnelEdge {
            client: peer.identity.clone(),
            server: local,
            port: target.port(),
            peer_lease: peer.identity.lease_id(),
            peer_root: peer.root,
        })?;
        let mut tunnel = TunnelStream::new(tls, peer.identity, guard);
        let mut backend_stream = connect(backend, inner.config.connect_timeout).await?;
        tracing::debug!(peer = %tunnel.peer(), %backend, "tunnel open");
        tokio::select! {
            result = copy_bidirectional(&mut tunnel, &mut backend_stream) => {
                result.map(|_| ()).map_err(TunnelError::Io)
            }
            _ = inner.shutdown.cancelled() => Ok(()),
        }
    }
}
