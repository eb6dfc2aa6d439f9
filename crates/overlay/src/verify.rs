//! Peer verification inside the TLS handshake: the URI SAN names a lease, the chain must
//! verify against the root of the provider holding that lease, and the edge must be allowed.
//! A refusal becomes a TLS alert; its reason is kept for the side that refused.

use std::sync::{Arc, Mutex};

use rustls_pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider,
};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error as TlsError, SignatureScheme,
};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::error::Refusal;
use crate::name::{TunnelIdentity, TunnelTarget};
use crate::trust::{TrustSnapshot, TrustView};

/// id-kp-clientAuth (1.3.6.1.5.5.7.3.2), DER content octets.
const EKU_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
/// id-kp-serverAuth (1.3.6.1.5.5.7.3.1), DER content octets.
const EKU_SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];

/// Which role the peer plays, hence which extended key usage its leaf must carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PeerRole {
    Client,
    Server,
}

impl PeerRole {
    fn key_usage(self) -> KeyUsage {
        // `required`: a tunnel leaf always names its purposes, so a leaf without the
        // extension is not one of ours.
        match self {
            PeerRole::Client => KeyUsage::required(EKU_CLIENT_AUTH),
            PeerRole::Server => KeyUsage::required(EKU_SERVER_AUTH),
        }
    }
}

/// A peer whose certificate verified: who it is and which on-chain root vouched for it.
#[derive(Clone, Debug)]
pub(crate) struct VerifiedPeer {
    pub(crate) identity: TunnelIdentity,
    pub(crate) root: CertificateDer<'static>,
}

impl Refusal {
    /// The certificate error handed to rustls, which picks the TLS alert from it:
    /// bad_certificate, unknown_ca, certificate_expired, unsupported_certificate,
    /// certificate_revoked (closed lease) or access_denied (policy).
    pub fn certificate_error(&self) -> CertificateError {
        match self {
            Refusal::MalformedCertificate { .. } | Refusal::BadIdentity(_) => {
                CertificateError::BadEncoding
            }
            Refusal::NoProviderRoot { .. }
            | Refusal::WrongProviderRoot { .. }
            | Refusal::UnknownRoot { .. } => CertificateError::UnknownIssuer,
            Refusal::Expired { .. } => CertificateError::Expired,
            Refusal::WrongPurpose { .. } => CertificateError::InvalidPurpose,
            Refusal::InvalidCertificate { .. } => CertificateError::BadEncoding,
            Refusal::LeaseClosed { .. } => CertificateError::Revoked,
            Refusal::UnknownLease { .. }
            | Refusal::IdentityMismatch { .. }
            | Refusal::OtherTenant { .. }
            | Refusal::OtherDeployment { .. }
            | Refusal::EdgeNotAllowed { .. }
            | Refusal::UnexpectedPeer { .. }
            | Refusal::NotLocalLease { .. }
            | Refusal::NoBackend { .. }
            | Refusal::BadServerName(_)
            | Refusal::NoServerName => CertificateError::ApplicationVerificationFailure,
        }
    }
}

/// The identity in a leaf: exactly one subjectAltName, a URI in the tunnel form.
pub(crate) fn peer_identity(der: &CertificateDer<'_>) -> Result<TunnelIdentity, Refusal> {
    let malformed = |reason: String| Refusal::MalformedCertificate { reason };
    let (rest, certificate) =
        X509Certificate::from_der(der.as_ref()).map_err(|e| malformed(format!("X.509: {e}")))?;
    if !rest.is_empty() {
        return Err(malformed(
            "trailing bytes after the certificate".to_string(),
        ));
    }
    let san = certificate
        .subject_alternative_name()
        .map_err(|e| malformed(format!("subjectAltName: {e}")))?
        .ok_or_else(|| malformed("no subjectAltName".to_string()))?;
    match san.value.general_names.as_slice() {
        [GeneralName::URI(uri)] => Ok(TunnelIdentity::from_uri(uri)?),
        names => Err(malformed(format!(
            "subjectAltName must be one tunnel URI, found {} name(s): {names:?}",
            names.len()
        ))),
    }
}

/// Verifies a peer leaf against `snapshot`: the lease it names is known and the leaf chains
/// (directly) to the root of the provider holding that lease, for `role`. The edge (both
/// leases active, one tenant and deployment, allowed by expose.to) is checked by the
/// caller, which knows the local side.
pub(crate) fn verify_peer(
    snapshot: &TrustSnapshot,
    der: &CertificateDer<'_>,
    role: PeerRole,
    now: UnixTime,
    provider: &CryptoProvider,
) -> Result<VerifiedPeer, Refusal> {
    let identity = peer_identity(der)?;
    let lease_id = identity.lease_id();
    let record = snapshot
        .lease(lease_id)
        .ok_or(Refusal::UnknownLease { lease_id })?;
    let root = snapshot
        .root(&record.provider)
        .ok_or_else(|| Refusal::NoProviderRoot {
            provider: record.provider.clone(),
            lease_id,
        })?;
    let leaf = EndEntityCert::try_from(der).map_err(|e| Refusal::MalformedCertificate {
        reason: e.to_string(),
    })?;
    let algorithms = provider.signature_verification_algorithms.all;
    let chains_to = |anchor: &TrustAnchor<'static>| {
        // No intermediates: provider roots have path length 0 and sign leaves directly.
        leaf.verify_for_usage(
            algorithms,
            std::slice::from_ref(anchor),
            &[],
            now,
            role.key_usage(),
            None,
            None,
        )
        .map(|_| ())
    };
    if let Err(error) = chains_to(&root.anchor) {
        return Err(chain_refusal(
            snapshot,
            &record.provider,
            lease_id,
            error,
            |anchor| chains_to(anchor).is_ok(),
        ));
    }
    // Whether the lease is active is the edge's check (`TrustSnapshot::check_edge`), made
    // for both sides.
    Ok(VerifiedPeer {
        identity,
        root: root.der.clone(),
    })
}

/// Why a leaf did not chain to the right root; when it chains to another provider's root,
/// names that provider (a provider naming a lease it does not hold).
fn chain_refusal(
    snapshot: &TrustSnapshot,
    provider: &str,
    lease_id: u64,
    error: webpki::Error,
    chains_to: impl Fn(&TrustAnchor<'static>) -> bool,
) -> Refusal {
    match error {
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
            Refusal::Expired {
                lease_id,
                reason: error.to_string(),
            }
        }
        #[allow(deprecated)]
        webpki::Error::RequiredEkuNotFound | webpki::Error::RequiredEkuNotFoundContext(_) => {
            Refusal::WrongPurpose {
                lease_id,
                reason: error.to_string(),
            }
        }
        webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
            let issued_by = snapshot
                .roots()
                .find(|(other, root)| other.as_str() != provider && chains_to(&root.anchor));
            match issued_by {
                Some((other, _)) => Refusal::WrongProviderRoot {
                    lease_id,
                    provider: provider.to_string(),
                    issued_by: other.clone(),
                },
                None => Refusal::UnknownRoot {
                    lease_id,
                    provider: provider.to_string(),
                    reason: error.to_string(),
                },
            }
        }
        other => Refusal::InvalidCertificate {
            lease_id,
            reason: other.to_string(),
        },
    }
}

/// What a per-connection verifier concluded, for the side that refused or accepted.
#[derive(Debug, Default)]
pub(crate) struct Outcome(Mutex<Option<Result<VerifiedPeer, Refusal>>>);

impl Outcome {
    fn record(&self, result: Result<VerifiedPeer, Refusal>) -> Result<(), TlsError> {
        let error = result
            .as_ref()
            .err()
            .map(|refusal| TlsError::InvalidCertificate(refusal.certificate_error()));
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        match error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// The verdict, once the handshake got as far as the peer's certificate.
    pub(crate) fn take(&self) -> Option<Result<VerifiedPeer, Refusal>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The handshake-signature methods both verifier traits share: rustls's own checks with
/// the provider's algorithms (the certificate itself was verified before).
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, TlsError> {
            let algorithms = &self.provider.signature_verification_algorithms;
            verify_tls12_signature(message, cert, dss, algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, TlsError> {
            let algorithms = &self.provider.signature_verification_algorithms;
            verify_tls13_signature(message, cert, dss, algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            let algorithms = &self.provider.signature_verification_algorithms;
            algorithms.supported_schemes()
        }
    };
}

/// The verifier of one connection, on either side: knows this side's identity and the
/// target of the tunnel, so it can judge the edge, not only the certificate.
#[derive(Debug)]
pub(crate) struct PeerCheck {
    pub(crate) view: Arc<TrustView>,
    /// This side: the target service on the server, the connecting service on the client.
    pub(crate) local: TunnelIdentity,
    /// What the client asked for (from the server name, on the server side).
    pub(crate) target: TunnelTarget,
    pub(crate) provider: Arc<CryptoProvider>,
    pub(crate) outcome: Arc<Outcome>,
}

impl PeerCheck {
    /// The verifier of one connection and where it records its verdict.
    pub(crate) fn new(
        view: &Arc<TrustView>,
        local: &TunnelIdentity,
        target: &TunnelTarget,
        provider: &Arc<CryptoProvider>,
    ) -> (Arc<PeerCheck>, Arc<Outcome>) {
        let outcome = Arc::new(Outcome::default());
        let check = PeerCheck {
            view: view.clone(),
            local: local.clone(),
            target: target.clone(),
            provider: provider.clone(),
            outcome: outcome.clone(),
        };
        (Arc::new(check), outcome)
    }

    fn judge(
        &self,
        end_entity: &CertificateDer<'_>,
        role: PeerRole,
        now: UnixTime,
    ) -> Result<(), TlsError> {
        let snapshot = self.view.snapshot();
        let port = self.target.port();
        let result =
            verify_peer(&snapshot, end_entity, role, now, &self.provider).and_then(|peer| {
                match role {
                    PeerRole::Client => snapshot.check_edge(&peer.identity, &self.local, port)?,
                    PeerRole::Server => {
                        // The SAN, not the server name we sent, says whom we reached.
                        if peer.identity.endpoint() != self.target.endpoint() {
                            return Err(Refusal::UnexpectedPeer {
                                expected: self.target.clone(),
                                named: peer.identity,
                            });
                        }
                        snapshot.check_edge(&self.local, &peer.identity, port)?
                    }
                }
                Ok(peer)
            });
        self.outcome.record(result)
    }
}

impl ClientCertVerifier for PeerCheck {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Each client holds exactly one tunnel leaf: no hints needed.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, TlsError> {
        self.judge(end_entity, PeerRole::Client, now)
            .map(|()| ClientCertVerified::assertion())
    }

    handshake_signatures!();
}

impl ServerCertVerifier for PeerCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        self.judge(end_entity, PeerRole::Server, now)
            .map(|()| ServerCertVerified::assertion())
    }

    handshake_signatures!();
}

#[cfg(test)]
mod tests {
    use rcgen::{ExtendedKeyUsagePurpose, SanType};

    use super::*;
    use crate::cert::{leaf_params, TunnelCertIssuer};
    use crate::name::Endpoint;
    use crate::test_ca::TestCa;
    use crate::trust::LeaseRecord;

    const TENANT: &str = "tenant1";

    struct Fixture {
        provider_x: TestCa,
        provider_y: TestCa,
        snapshot: TrustSnapshot,
        crypto: Arc<CryptoProvider>,
    }

    /// Provider x holds lease 10 (web), 11 (closed) and 30 (another tenant's); provider y
    /// holds lease 20 (db:5432), which web of lease 10 may reach.
    fn fixture() -> Fixture {
        let provider_x = TestCa::new("x").unwrap();
        let provider_y = TestCa::new("y").unwrap();
        let mut snapshot = TrustSnapshot::new();
        snapshot
            .set_provider_root("x", provider_x.root_der())
            .unwrap();
        snapshot
            .set_provider_root("y", provider_y.root_der())
            .unwrap();
        let lease = |tenant: &str, deployment_id, provider: &str, active| LeaseRecord {
            tenant: tenant.to_string(),
            deployment_id,
            provider: provider.to_string(),
            active,
        };
        snapshot.set_lease(10, lease(TENANT, 1, "x", true));
        snapshot.set_lease(11, lease(TENANT, 1, "x", false));
        snapshot.set_lease(20, lease(TENANT, 1, "y", true));
        snapshot.set_lease(30, lease("tenant2", 2, "x", true));
        snapshot.allow(db_target(), Endpoint::new(10, "web").unwrap());
        snapshot.allow(db_target(), Endpoint::new(11, "web").unwrap());
        Fixture {
            provider_x,
            provider_y,
            snapshot,
            crypto: crate::crypto_provider(),
        }
    }

    fn db_target() -> TunnelTarget {
        TunnelTarget::new(20, "db", 5432).unwrap()
    }

    fn db_identity() -> TunnelIdentity {
        TunnelIdentity::new(TENANT, 1, 20, "db").unwrap()
    }

    fn identity(tenant: &str, deployment: u64, lease: u64, service: &str) -> TunnelIdentity {
        TunnelIdentity::new(tenant, deployment, lease, service).unwrap()
    }

    /// As the server of db would judge a client presenting `leaf`.
    fn judge_client(fixture: &Fixture, leaf: &CertificateDer<'_>) -> Result<(), Refusal> {
        let peer = verify_peer(
            &fixture.snapshot,
            leaf,
            PeerRole::Client,
            UnixTime::now(),
            &fixture.crypto,
        )?;
        fixture
            .snapshot
            .check_edge(&peer.identity, &db_identity(), 5432)
    }

    fn leaf(issuer: &TestCa, identity: &TunnelIdentity) -> CertificateDer<'static> {
        issuer.issue(leaf_params(identity).unwrap()).unwrap().0
    }

    #[test]
    fn a_leaf_of_the_lease_holder_for_an_allowed_edge_is_accepted() {
        let fixture = fixture();
        let web = leaf(&fixture.provider_x, &identity(TENANT, 1, 10, "web"));
        assert_eq!(judge_client(&fixture, &web), Ok(()));
        let peer = verify_peer(
            &fixture.snapshot,
            &web,
            PeerRole::Client,
            UnixTime::now(),
            &fixture.crypto,
        )
        .unwrap();
        assert_eq!(peer.root, fixture.provider_x.root_der());
    }

    /// Why the db server refuses a client presenting `issuer`'s leaf for `identity`.
    fn refusal(fixture: &Fixture, issuer: &TestCa, identity: TunnelIdentity) -> Refusal {
        judge_client(fixture, &leaf(issuer, &identity)).unwrap_err()
    }

    /// Why the db server refuses a client presenting x's leaf for `lease` and `service` of
    /// `tenant`'s `deployment`.
    fn refusal_of_x_leaf(tenant: &str, deployment: u64, lease: u64, service: &str) -> Refusal {
        let fixture = fixture();
        let identity = identity(tenant, deployment, lease, service);
        refusal(&fixture, &fixture.provider_x, identity)
    }

    #[test]
    fn a_leaf_of_no_on_chain_root_is_refused() {
        let fixture = fixture();
        // Same subject name as x's root, other key.
        let rogue = TestCa::new("x").unwrap();
        let refusal = refusal(&fixture, &rogue, identity(TENANT, 1, 10, "web"));
        let expected = matches!(&refusal, Refusal::UnknownRoot { lease_id: 10, provider, .. } if provider == "x");
        assert!(expected, "{refusal}");
    }

    #[test]
    fn a_provider_naming_another_providers_lease_is_refused() {
        // x signs a leaf for lease 20, which y holds.
        let refusal = refusal_of_x_leaf(TENANT, 1, 20, "web");
        let expected = Refusal::WrongProviderRoot {
            lease_id: 20,
            provider: "y".to_string(),
            issued_by: "x".to_string(),
        };
        assert_eq!(refusal, expected);
    }

    #[test]
    fn another_tenants_lease_is_refused() {
        let refusal = refusal_of_x_leaf("tenant2", 2, 30, "web");
        let expected = matches!(
            refusal,
            Refusal::OtherTenant {
                peer_lease: 30,
                local_lease: 20,
                ..
            }
        );
        assert!(expected, "{refusal}");
    }

    #[test]
    fn a_closed_lease_is_refused() {
        let refusal = refusal_of_x_leaf(TENANT, 1, 11, "web");
        assert_eq!(refusal, Refusal::LeaseClosed { lease_id: 11 });
        assert_eq!(refusal.certificate_error(), CertificateError::Revoked);
    }

    #[test]
    fn an_unknown_lease_is_refused() {
        let refusal = refusal_of_x_leaf(TENANT, 1, 99, "web");
        assert_eq!(refusal, Refusal::UnknownLease { lease_id: 99 });
    }

    #[test]
    fn a_service_without_the_edge_is_refused() {
        let refusal = refusal_of_x_leaf(TENANT, 1, 10, "api");
        let from = Endpoint::new(10, "api").unwrap();
        assert_eq!(
            refusal,
            Refusal::EdgeNotAllowed {
                from,
                to: db_target()
            }
        );
    }

    #[test]
    fn a_leaf_misnaming_its_deployment_is_refused() {
        let refusal = refusal_of_x_leaf(TENANT, 2, 10, "web");
        let expected = matches!(
            refusal,
            Refusal::IdentityMismatch {
                chain_deployment: 1,
                ..
            }
        );
        assert!(expected, "{refusal}");
    }

    /// The refusal of a leaf for web of lease 10, issued by x with `edit` applied to the
    /// parameters.
    fn refusal_of_edited_leaf(edit: impl FnOnce(&mut rcgen::CertificateParams)) -> Refusal {
        let fixture = fixture();
        let mut params = leaf_params(&identity(TENANT, 1, 10, "web")).unwrap();
        edit(&mut params);
        let edited = fixture.provider_x.issue(params).unwrap().0;
        judge_client(&fixture, &edited).unwrap_err()
    }

    #[test]
    fn a_server_only_leaf_cannot_act_as_client() {
        let refusal = refusal_of_edited_leaf(|params| {
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        });
        assert!(
            matches!(refusal, Refusal::WrongPurpose { lease_id: 10, .. }),
            "{refusal}"
        );
    }

    #[test]
    fn an_expired_leaf_is_refused() {
        let refusal = refusal_of_edited_leaf(|params| {
            params.not_before -= time::Duration::days(3);
            params.not_after = params.not_before + time::Duration::days(1);
        });
        assert!(
            matches!(refusal, Refusal::Expired { lease_id: 10, .. }),
            "{refusal}"
        );
    }

    #[test]
    fn a_leaf_with_other_names_is_refused() {
        let refusal = refusal_of_edited_leaf(|params| {
            let dns = SanType::DnsName("web.example".try_into().unwrap());
            params.subject_alt_names.push(dns);
        });
        assert!(
            matches!(refusal, Refusal::MalformedCertificate { .. }),
            "{refusal}"
        );
        let refusal = refusal_of_edited_leaf(|params| {
            let uri = "akash://tunnel/tenant1/1/010/web".try_into().unwrap();
            params.subject_alt_names = vec![SanType::URI(uri)];
        });
        assert!(matches!(refusal, Refusal::BadIdentity(_)), "{refusal}");
    }

    #[test]
    fn a_root_replaced_on_chain_no_longer_vouches() {
        let mut fixture = fixture();
        let web = leaf(&fixture.provider_x, &identity(TENANT, 1, 10, "web"));
        assert_eq!(judge_client(&fixture, &web), Ok(()));
        let new_root = TestCa::new("x").unwrap();
        fixture
            .snapshot
            .set_provider_root("x", new_root.root_der())
            .unwrap();
        let refusal = judge_client(&fixture, &web).unwrap_err();
        assert!(
            matches!(refusal, Refusal::UnknownRoot { lease_id: 10, .. }),
            "{refusal}"
        );
    }

    #[test]
    fn a_server_leaf_must_name_the_target() {
        let fixture = fixture();
        // y's leaf for another service of lease 20, presented when db was asked for.
        let cache = leaf(&fixture.provider_y, &identity(TENANT, 1, 20, "cache"));
        let view = TrustView::new(fixture.snapshot.clone());
        let check = PeerCheck {
            view,
            local: identity(TENANT, 1, 10, "web"),
            target: db_target(),
            provider: fixture.crypto.clone(),
            outcome: Arc::default(),
        };
        let server_name = ServerName::try_from(db_target().server_name()).unwrap();
        let verdict = check.verify_server_cert(&cache, &[], &server_name, &[], UnixTime::now());
        assert!(verdict.is_err());
        let refusal = check.outcome.take().unwrap().unwrap_err();
        assert!(
            matches!(refusal, Refusal::UnexpectedPeer { .. }),
            "{refusal}"
        );
        let db = leaf(&fixture.provider_y, &db_identity());
        let verdict = check.verify_server_cert(&db, &[], &server_name, &[], UnixTime::now());
        assert!(verdict.is_ok());
    }
}
