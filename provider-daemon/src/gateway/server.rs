//! The gateway's listener: TLS on every connection, HTTP/1.1 with hyper, a semaphore bounding
//! the connections served at once, and graceful shutdown through a cancellation token.
//! Connections whose TLS server name is an overlay tunnel's (`*.tunnel.akash`) go to the
//! tunnel server instead: one port for everything a provider serves.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use akash_chain_client::MarketChain;
use akash_overlay::{is_tunnel_server_name, TunnelServer};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::rustls::server::Acceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::LazyConfigAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::routes::{ClientChain, Handler};
use super::{GatewayConfig, LeaseView, ManifestSink};

/// Pause after a failed `accept` (e.g. out of file descriptors) before the next one.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Debug, Error)]
pub enum GatewayError {
    #[error("binding the gateway to {address}: {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("max_connections must be at least 1")]
    NoConnections,
}

/// A bound gateway; [`GatewayServer::serve`] runs it.
pub struct GatewayServer<S, V> {
    listener: TcpListener,
    local_address: SocketAddr,
    tls: Arc<ServerConfig>,
    tunnels: Option<TunnelServer>,
    handler: Arc<Handler<S, V>>,
    config: GatewayConfig,
}

impl<S: ManifestSink, V: LeaseView> GatewayServer<S, V> {
    /// Binds `config.listen_address`. `chain` is the provider's own account: a lease is ours
    /// when its provider is `chain.address()`.
    pub async fn bind(
        config: GatewayConfig,
        tls: Arc<ServerConfig>,
        chain: Arc<dyn MarketChain>,
        sink: Arc<S>,
        view: Arc<V>,
    ) -> Result<Self, GatewayError> {
        if config.max_connections == 0 {
            return Err(GatewayError::NoConnections);
        }
        let bind_error = |source| GatewayError::Bind {
            address: config.listen_address,
            source,
        };
        let listener = TcpListener::bind(config.listen_address)
            .await
            .map_err(bind_error)?;
        let local_address = listener.local_addr().map_err(bind_error)?;
        let handler = Handler::new(chain, sink, view, config.request_timeout);
        Ok(GatewayServer {
            listener,
            local_address,
            tls,
            tunnels: None,
            handler: Arc::new(handler),
            config,
        })
    }

    /// Hands connections for tunnel server names to `tunnels`.
    pub fn with_tunnels(mut self, tunnels: TunnelServer) -> Self {
        self.tunnels = Some(tunnels);
        self
    }

    /// The address actually bound (the port is known here when 0 was asked).
    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    /// Serves until `shutdown` is cancelled, then stops accepting, lets open connections
    /// finish their current request (at most `shutdown_grace`) and returns.
    pub async fn serve(self, shutdown: CancellationToken) {
        let connections = Arc::new(Semaphore::new(self.config.max_connections));
        let tracker = TaskTracker::new();
        tracing::info!(address = %self.local_address, "gateway listening");
        loop {
            // A slot first, then accept: past the limit, connections wait in the backlog.
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break,
                permit = Arc::clone(&connections).acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let (stream, peer) = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection");
                        tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                        continue;
                    }
                },
            };
            let connection = Connection {
                tls: Arc::clone(&self.tls),
                tunnels: self.tunnels.clone(),
                handler: Arc::clone(&self.handler),
                config: self.config.clone(),
                shutdown: shutdown.clone(),
                permit: Some(permit),
            };
            tracker.spawn(
                connection
                    .serve(stream)
                    .instrument(tracing::debug_span!("connection", %peer)),
            );
        }
        drop(self.listener);
        tracker.close();
        tracker.wait().await;
        tracing::info!(address = %self.local_address, "gateway stopped");
    }
}

struct Connection<S, V> {
    tls: Arc<ServerConfig>,
    tunnels: Option<TunnelServer>,
    handler: Arc<Handler<S, V>>,
    config: GatewayConfig,
    shutdown: CancellationToken,
    /// Held until the connection ends (given back at once by a tunnel, which the tunnel
    /// server bounds itself).
    permit: Option<OwnedSemaphorePermit>,
}

impl<S: ManifestSink, V: LeaseView> Connection<S, V> {
    async fn serve(mut self, stream: TcpStream) {
        let hello = tokio::time::timeout(
            self.config.handshake_timeout,
            LazyConfigAcceptor::new(Acceptor::default(), stream),
        );
        let start = tokio::select! {
            _ = self.shutdown.cancelled() => return,
            start = hello => match start {
                Ok(Ok(start)) => start,
                Ok(Err(error)) => {
                    tracing::debug!(%error, "reading the TLS ClientHello failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS ClientHello timed out");
                    return;
                }
            },
        };
        let server_name = start.client_hello().server_name().map(str::to_string);
        if let (Some(tunnels), Some(name)) = (&self.tunnels, server_name.as_deref()) {
            if is_tunnel_server_name(name) {
                // The tunnel server has its own handshake timeout, checks, limit and lifetime.
                self.permit = None;
                let result = tokio::select! {
                    _ = self.shutdown.cancelled() => return,
                    result = tunnels.serve_started(start) => result,
                };
                if let Err(error) = result {
                    tracing::info!(%error, "tunnel ended");
                }
                return;
            }
        }
        let handshake = tokio::time::timeout(
            self.config.handshake_timeout,
            start.into_stream(Arc::clone(&self.tls)),
        );
        let tls = tokio::select! {
            _ = self.shutdown.cancelled() => return,
            tls = handshake => match tls {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    return;
                }
            },
        };
        let client_chain: ClientChain = Arc::new(
            tls.get_ref()
                .1
                .peer_certificates()
                .map(|chain| chain.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
        );
        let handler = Arc::clone(&self.handler);
        let service = service_fn(move |request| {
            let handler = Arc::clone(&handler);
            let client_chain = Arc::clone(&client_chain);
            async move { Ok::<_, Infallible>(handler.handle(request, client_chain).await) }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.config.header_read_timeout)
            .serve_connection(TokioIo::new(tls), service);
        tokio::pin!(connection);
        let result = tokio::select! {
            result = connection.as_mut() => result,
            _ = self.shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                match tokio::time::timeout(self.config.shutdown_grace, connection.as_mut()).await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::debug!("connection still busy after the shutdown grace");
                        Ok(())
                    }
                }
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "connection ended with an error");
        }
    }
}
