//! TCP plumbing shared by the server and the forwarder: bounded accepting, connecting with a
//! time limit, and how a connection's end is logged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use crate::error::TunnelError;
use crate::tls::timed_out;

/// Pause after a failed accept (e.g. out of descriptors), so the loop does not spin.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

/// Waits for a free slot, then for a connection (Nagle off: tunnels carry request/response
/// traffic); `None` once `shutdown` is cancelled. Holding the slot before accepting keeps
/// connections beyond the limit in the kernel's backlog. Accept errors are logged and
/// retried: one bad connection must not end the listener.
pub(crate) async fn accept_admitted(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
    shutdown: &CancellationToken,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit.ok()?,
            _ = shutdown.cancelled() => return None,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => return None,
        };
        match accepted {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                return Some((stream, remote, permit));
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
            }
        }
    }
}

/// A TCP connection within `limit`, Nagle off.
pub(crate) async fn connect(addr: SocketAddr, limit: Duration) -> Result<TcpStream, TunnelError> {
    let stream = timeout(limit, TcpStream::connect(addr))
        .await
        .map_err(|_| timed_out("TCP connect", limit))?
        .map_err(|source| TunnelError::Connect { addr, source })?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Logs how a tunnel connection ended: refusals and failures at info, closes at debug.
pub(crate) fn log_end(result: &Result<(), TunnelError>, remote: SocketAddr) {
    match result {
        Ok(()) => tracing::debug!(%remote, "tunnel closed"),
        Err(error) => tracing::info!(%remote, %error, "tunnel ended"),
    }
}
