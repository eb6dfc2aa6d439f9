//! rustls configurations of tunnel connections (TLS 1.3 only, no resumption) and the stream
//! type of an open tunnel, which fails as soon as the tunnel is cut.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::client::Resumption;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::server::danger::ClientCertVerifier;
use tokio_rustls::rustls::server::{NoServerSessionStorage, ResolvesServerCertUsingSni};
use tokio_rustls::rustls::sign::{CertifiedKey, SingleCertAndKey};
use tokio_rustls::rustls::version::TLS13;
use tokio_rustls::rustls::{ClientConfig, ServerConfig};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::error::TunnelError;
use crate::name::TunnelIdentity;
use crate::trust::TunnelGuard;
use crate::verify::{Outcome, VerifiedPeer};

/// Time allowed for a TLS handshake (and for the ClientHello before it).
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a TCP connection to the remote provider or to the backend.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn config_error(error: tokio_rustls::rustls::Error) -> TunnelError {
    TunnelError::Config(error.to_string())
}

pub(crate) fn timed_out(what: &'static str, limit: Duration) -> TunnelError {
    TunnelError::Timeout {
        what,
        secs: limit.as_secs(),
    }
}

/// Runs `handshake` within `limit`; returns the stream and the peer the connection's
/// verifier accepted, or the verifier's refusal when it is why the handshake failed.
pub(crate) async fn verified_handshake<S>(
    handshake: impl Future<Output = io::Result<S>>,
    limit: Duration,
    outcome: &Outcome,
) -> Result<(S, VerifiedPeer), TunnelError> {
    let handshake = tokio::time::timeout(limit, handshake)
        .await
        .map_err(|_| timed_out("TLS handshake", limit))?;
    let verdict = outcome.take();
    match (handshake, verdict) {
        (Ok(stream), Some(Ok(peer))) => Ok((stream, peer)),
        (_, Some(Err(refusal))) => Err(TunnelError::Refused(refusal)),
        (Err(error), _) => Err(TunnelError::Handshake(error)),
        (Ok(_), None) => Err(TunnelError::Config(
            "handshake completed without verifying the peer".to_string(),
        )),
    }
}

/// The configuration of one server-side connection: `verifier` judges the client for the
/// target named in its server name, `leaf` is the target service's certificate.
pub(crate) fn server_config(
    provider: &Arc<CryptoProvider>,
    verifier: Arc<dyn ClientCertVerifier>,
    leaf: Arc<CertifiedKey>,
) -> Result<Arc<ServerConfig>, TunnelError> {
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&TLS13])
        .map_err(config_error)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(leaf)));
    // A resumed session skips the certificate checks, and with them revocation.
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// A configuration that only refuses: it has no certificate, so rustls answers the
/// ClientHello with an access_denied alert.
pub(crate) fn refusing_server_config(
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<ServerConfig>, TunnelError> {
    let config = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&TLS13])
        .map_err(config_error)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(ResolvesServerCertUsingSni::new()));
    Ok(Arc::new(config))
}

/// The configuration of one client-side connection.
pub(crate) fn client_config(
    provider: &Arc<CryptoProvider>,
    verifier: Arc<dyn ServerCertVerifier>,
    leaf: Arc<CertifiedKey>,
) -> Result<Arc<ClientConfig>, TunnelError> {
    let mut config = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&TLS13])
        .map_err(config_error)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(leaf)));
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// An open, verified tunnel connection. Reads and writes fail with `ConnectionAborted` once
/// the tunnel is cut (its lease closed, the trust view changed, or
/// [`crate::TrustView::cut_lease`]); dropping it closes the connection.
pub struct TunnelStream<S> {
    inner: S,
    peer: TunnelIdentity,
    token: CancellationToken,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
    _guard: TunnelGuard,
}

impl<S> TunnelStream<S> {
    pub(crate) fn new(inner: S, peer: TunnelIdentity, guard: TunnelGuard) -> Self {
        let token = guard.token.clone();
        TunnelStream {
            inner,
            peer,
            cut: Box::pin(token.clone().cancelled_owned()),
            token,
            _guard: guard,
        }
    }

    /// The other side, as its certificate names it.
    pub fn peer(&self) -> &TunnelIdentity {
        &self.peer
    }

    /// Whether the tunnel has been cut.
    pub fn is_cut(&self) -> bool {
        self.token.is_cancelled()
    }

    /// Fails once the tunnel is cut; registers the waker so a pending read or write wakes up.
    fn poll_cut(&mut self, cx: &mut Context<'_>) -> Result<(), io::Error> {
        if self.token.is_cancelled() || self.cut.as_mut().poll(cx).is_ready() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("tunnel with {} cut", self.peer),
            ));
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TunnelStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(error) = this.poll_cut(cx) {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TunnelStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(error) = this.poll_cut(cx) {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(error) = this.poll_cut(cx) {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
