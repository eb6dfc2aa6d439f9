//! rustls configurations of both ends, on the ring provider: the gateway presents a leaf of
//! the provider's root; the tenant trusts that root alone, as registered on chain. A provider
//! fetching a manifest from another also presents a client certificate of its own root,
//! which the serving gateway checks per request against the root on chain
//! ([`verify_provider_chain`]).

use std::sync::Arc;

use thiserror::Error;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{
    ring, verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, UnixTime};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore, ServerConfig,
    SignatureScheme,
};

use crate::identity::IssuedCertificate;

/// The only application protocol spoken.
const ALPN_HTTP1: &[u8] = b"http/1.1";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TlsConfigError {
    #[error("the root certificate is not usable: {0}")]
    InvalidRoot(String),
    #[error("the server certificate or key is not usable: {0}")]
    InvalidServerCertificate(String),
    #[error("the client certificate or key is not usable: {0}")]
    InvalidClientCertificate(String),
}

/// The gateway's server side: `certificate` (a leaf of the provider's root), HTTP/1.1 only.
/// Client certificates are optional (tenants sign requests instead); one that is presented
/// must have signed the handshake, and its issuer is checked by the route that uses it.
pub fn server_config(certificate: &IssuedCertificate) -> Result<ServerConfig, TlsConfigError> {
    let provider = Arc::new(ring::default_provider());
    let deferred = Arc::new(DeferredClientAuth {
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError::InvalidServerCertificate(e.to_string()))?
        .with_client_cert_verifier(deferred)
        .with_single_cert(certificate.chain(), certificate.private_key_der())
        .map_err(|e| TlsConfigError::InvalidServerCertificate(e.to_string()))?;
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

/// A client that trusts only the certificates in `root_certificate_pem` (the provider's
/// registered root): no system roots, so a server is trusted only if it is that provider.
pub fn client_config(root_certificate_pem: &str) -> Result<ClientConfig, TlsConfigError> {
    client_config_as(root_certificate_pem, None)
}

/// [`client_config`] presenting `certificate` (a client leaf of our own root) to the server.
pub fn client_config_as(
    root_certificate_pem: &str,
    certificate: Option<&IssuedCertificate>,
) -> Result<ClientConfig, TlsConfigError> {
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
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError::InvalidRoot(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match certificate {
        None => config.with_no_client_auth(),
        Some(certificate) => config
            .with_client_auth_cert(certificate.chain(), certificate.private_key_der())
            .map_err(|e| TlsConfigError::InvalidClientCertificate(e.to_string()))?,
    };
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Ok(config)
}

/// Checks that `chain` (a client's certificates, leaf first) was issued by `root_der` (a
/// provider's root as registered on chain) for client authentication and is valid now.
pub fn verify_provider_chain(
    chain: &[CertificateDer<'static>],
    root_der: &CertificateDer<'static>,
) -> Result<(), String> {
    let (leaf, intermediates) = chain
        .split_first()
        .ok_or_else(|| "no client certificate was presented".to_string())?;
    let mut roots = RootCertStore::empty();
    roots
        .add(root_der.clone())
        .map_err(|e| format!("the registered root certificate is not usable: {e}"))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(ring::default_provider()),
    )
    .build()
    .map_err(|e| format!("the registered root certificate is not usable: {e}"))?;
    verifier
        .verify_client_cert(leaf, intermediates, UnixTime::now())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Offers client authentication without requiring it and accepts any chain in the handshake
/// (after the signature check that proves the client holds the leaf's key): which provider's
/// root must have issued it depends on the lease a request names, so routes decide with
/// [`verify_provider_chain`]. No root hints: a client sends its certificate if it has one.
#[derive(Debug)]
struct DeferredClientAuth {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for DeferredClientAuth {
    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, tokio_rustls::rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, tokio_rustls::rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
