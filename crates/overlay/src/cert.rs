//! Tunnel certificates: the parameters of a per-tunnel leaf, the issuer trait the provider's
//! root implements, and a small cache that renews leaves well before they expire.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::sign::CertifiedKey;

use crate::error::IssueError;
use crate::name::TunnelIdentity;

/// How long a tunnel leaf is valid.
pub const LEAF_VALIDITY: Duration = Duration::from_secs(24 * 3600);
/// A leaf starts to be valid this long before it is issued, for peers whose clock is behind.
pub const LEAF_BACKDATE: Duration = Duration::from_secs(300);
/// A cached leaf is replaced once it is this old, so a peer never sees one close to expiry.
pub const LEAF_RENEW_AFTER: Duration = Duration::from_secs(12 * 3600);
/// Subject common name of every tunnel leaf (the identity is in the URI SAN only).
pub const LEAF_COMMON_NAME: &str = "akash tunnel";

/// Signs tunnel leaves with the provider's root (the one registered on chain). Each call must
/// generate a new key pair: a tunnel never shares its key with another. The provider daemon's
/// `ProviderIdentity::issue_leaf` fits as it is: return its certificate DER and private key
/// DER, and map its error with [`IssueError::for_params`].
pub trait TunnelCertIssuer: Send + Sync {
    /// Issues a leaf for `params` (as built by [`leaf_params`]) and returns it with its new
    /// private key. The issuer may add its authority key identifier but must keep the SAN,
    /// key usages and validity.
    fn issue(
        &self,
        params: CertificateParams,
    ) -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), IssueError>;
}

/// Parameters of the leaf for `identity`: the URI SAN alone, client and server auth, digital
/// signature, valid for [`LEAF_VALIDITY`] from now.
pub fn leaf_params(identity: &TunnelIdentity) -> Result<CertificateParams, IssueError> {
    let uri = identity.to_uri();
    let san = uri.clone().try_into().map_err(|e| IssueError {
        identity: uri.clone(),
        reason: format!("URI SAN: {e}"),
    })?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, LEAF_COMMON_NAME);
    params.subject_alt_names = vec![SanType::URI(san)];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - LEAF_BACKDATE;
    params.not_after = now + LEAF_VALIDITY;
    Ok(params)
}

/// Issues the leaf for `identity` and loads its key for rustls.
pub fn issue_certified_key(
    issuer: &dyn TunnelCertIssuer,
    identity: &TunnelIdentity,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, IssueError> {
    let (certificate, key) = issuer.issue(leaf_params(identity)?)?;
    // The peer holds the root (it is on chain): the chain sent is the leaf alone.
    let certified =
        CertifiedKey::from_der(vec![certificate], key, provider).map_err(|e| IssueError {
            identity: identity.to_uri(),
            reason: format!("the issued certificate and key do not load: {e}"),
        })?;
    Ok(Arc::new(certified))
}

/// Leaves by key (an identity, or an edge), issued on first use and again after
/// [`LEAF_RENEW_AFTER`]. Stale entries are dropped whenever a leaf is issued, so the cache
/// holds at most the keys used within that time.
pub(crate) struct LeafCache<K> {
    issuer: Arc<dyn TunnelCertIssuer>,
    provider: Arc<CryptoProvider>,
    leaves: Mutex<HashMap<K, (Arc<CertifiedKey>, Instant)>>,
}

impl<K: Clone + Eq + Hash> LeafCache<K> {
    pub(crate) fn new(issuer: Arc<dyn TunnelCertIssuer>, provider: Arc<CryptoProvider>) -> Self {
        LeafCache {
            issuer,
            provider,
            leaves: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn get(
        &self,
        key: &K,
        identity: &TunnelIdentity,
    ) -> Result<Arc<CertifiedKey>, IssueError> {
        let mut leaves = self.leaves.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((leaf, issued_at)) = leaves.get(key) {
            if issued_at.elapsed() < LEAF_RENEW_AFTER {
                return Ok(leaf.clone());
            }
        }
        // Issued under the lock: concurrent first connections of one tunnel share one key.
        let leaf = issue_certified_key(self.issuer.as_ref(), identity, &self.provider)?;
        leaves.retain(|_, (_, issued_at)| issued_at.elapsed() < LEAF_RENEW_AFTER);
        leaves.insert(key.clone(), (leaf.clone(), Instant::now()));
        Ok(leaf)
    }
}
