//! An in-memory provider root for tests and benchmarks: the same kind of root the provider
//! daemon keeps (ECDSA P-256, path length 0), never written to disk.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::cert::{leaf_params, TunnelCertIssuer};
use crate::error::IssueError;
use crate::name::TunnelIdentity;

/// A throwaway root CA.
pub struct TestCa {
    root_der: CertificateDer<'static>,
    root_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

/// A leaf and its key, PEM, for tools outside rustls (the stunnel comparison).
pub struct PemLeaf {
    pub certificate_pem: String,
    pub key_pem: String,
}

impl TestCa {
    /// A new root whose subject common name is `name`.
    pub fn new(name: &str) -> Result<Self, rcgen::Error> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::hours(1);
        params.not_after = now + Duration::days(30);
        let root = params.self_signed(&key)?;
        Ok(TestCa {
            root_der: root.der().clone(),
            root_pem: root.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// The root certificate, DER: what the provider registers on chain.
    pub fn root_der(&self) -> CertificateDer<'static> {
        self.root_der.clone()
    }

    pub fn root_pem(&self) -> &str {
        &self.root_pem
    }

    /// The leaf for `identity` with a new key, PEM.
    pub fn issue_pem(&self, identity: &TunnelIdentity) -> Result<PemLeaf, IssueError> {
        let (leaf, key) = self.sign(leaf_params(identity)?)?;
        Ok(PemLeaf {
            certificate_pem: leaf.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    fn sign(
        &self,
        mut params: CertificateParams,
    ) -> Result<(rcgen::Certificate, KeyPair), IssueError> {
        params.use_authority_key_identifier_extension = true;
        let failed = |e: rcgen::Error| IssueError::for_params(&params, e);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(failed)?;
        let leaf = params.signed_by(&key, &self.issuer).map_err(failed)?;
        Ok((leaf, key))
    }
}

impl TunnelCertIssuer for TestCa {
    fn issue(
        &self,
        params: CertificateParams,
    ) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), IssueError> {
        let (leaf, key) = self.sign(params)?;
        let key_der = PrivatePkcs8KeyDer::from(key.serialize_der());
        Ok((leaf.der().clone(), PrivateKeyDer::Pkcs8(key_der)))
    }
}
