//! Overlay tunnels (whitepaper 4.2): each `expose.to` edge between services on different
//! providers is its own mTLS tunnel, with a per-tunnel leaf issued by the provider's on-chain
//! root and verified by the peer against the chain. See README.md for the formats and the
//! threat model.
//!
//! The daemon keeps a [`TrustView`] up to date from the chain, implements
//! [`TunnelCertIssuer`] with its root, runs one [`TunnelServer`] and, per edge leaving one of
//! its leases, one forwarder from [`TunnelClient::forward`].
#![forbid(unsafe_code)]

pub mod cert;
pub mod client;
pub mod error;
pub mod name;
mod net;
pub mod server;
pub mod test_ca;
pub mod tls;
pub mod trust;
mod verify;

use std::sync::Arc;

use tokio_rustls::rustls::crypto::CryptoProvider;

pub use cert::{leaf_params, TunnelCertIssuer};
pub use client::{ClientTunnel, Forwarder, ForwarderConfig, TunnelClient};
pub use error::{IssueError, NameError, Refusal, TrustError, TunnelError};
pub use name::{is_tunnel_server_name, Endpoint, TunnelIdentity, TunnelTarget};
pub use server::{TargetResolver, TunnelServer, TunnelServerConfig};
pub use tls::TunnelStream;
pub use trust::{LeaseRecord, TrustSnapshot, TrustView};

/// The rustls provider of every tunnel: ring (never aws-lc), as the rest of the daemon.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(tokio_rustls::rustls::crypto::ring::default_provider())
}
