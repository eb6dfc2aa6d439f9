//! rustls configurations of both ends, on the ring provider: the gateway presents a leaf of
//! the provider's root; the tenant trusts that root alone, as registered on chain.

use std::sync::Arc;

use thiserror::Error;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::identity::IssuedCertificate;

/// The only application protocol spoken.
const ALPN_HTTP1: &[u8] = b"http/1.1";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TlsConfigError {
    #[error("the root certificate is not usable: {0}")]
    InvalidRoot(String),
    #[error("the server certificate or key is not usable: {0}")]
    InvalidServerCertificate(String),
}

/// The gateway's server side: `certificate` (a leaf of the provider's root), no client
/// certificates, HTTP/1.1 only.
pub fn server_config(certificate: &IssuedCertificate) -> Result<ServerConfig, TlsConfigError> {
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError::InvalidServerCertificate(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certificate.chain(), certificate.private_key_der())
        .map_err(|e| TlsConfigError::InvalidServerCertificate(e.to_string()))?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

/// A client that trusts only the certificates in `root_certificate_pem` (the provider's
/// registered root): no system roots, so a server is trusted only if it is that provider.
pub fn client_config(root_certificate_pem: &str) -> Result<ClientConfig, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    let mut count = 0;
    for certificate in CertificateDer::pem_slice_iter(root_certificate_pem.as_bytes()) {
        let certificate = certificate.map_err(|e| TlsConfigError::InvalidRoot(e.to_string()))?;
        roots
            .add(certificate)
            .map_err(|e| TlsConfigError::InvalidRoot(e.to_string()))?;
        count += 1;
    }
    if count == 0 {
        return Err(TlsConfigError::InvalidRoot(
            "the PEM text holds no CERTIFICATE block".to_string(),
        ));
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError::InvalidRoot(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}
