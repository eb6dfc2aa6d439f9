//! The provider's TLS identity: a root CA generated once and kept in the data dir (its
//! certificate is what the provider registers on chain), and the leaf certificates it issues.
//!
//! Files in the data dir: [`ROOT_CERT_FILE`] (PEM certificate) and [`ROOT_KEY_FILE`] (PKCS#8
//! PEM key, mode 0600). Keys are ECDSA P-256. Leaves are issued with [`ProviderIdentity::issue_leaf`]
//! (any parameters, e.g. the per-tunnel certificates of the overlay) or
//! [`ProviderIdentity::issue_server_cert`] (the gateway's HTTPS certificate).

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType, PKCS_ECDSA_P256_SHA256,
};
use sha2::{Digest, Sha256};
use thiserror::Error;
use time::OffsetDateTime;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The root certificate, PEM, as registered on chain.
pub const ROOT_CERT_FILE: &str = "root-ca.pem";
/// The root's private key, PKCS#8 PEM, readable by the owner only.
pub const ROOT_KEY_FILE: &str = "root-ca.key.pem";
/// Subject commonName of the root certificate, followed by a space and the first 8 bytes (hex)
/// of the sha256 of its public key, so two providers' roots never share a subject name.
pub const ROOT_COMMON_NAME: &str = "AKASH provider root CA";
/// How long a new root certificate is valid.
pub const ROOT_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// How long a gateway certificate is valid; the daemon issues a new one at every start.
pub const SERVER_CERT_VALIDITY: Duration = Duration::from_secs(90 * 24 * 3600);
/// Certificates start to be valid this long before they are issued, for peers whose clock is
/// a little behind.
pub const BACKDATE: Duration = Duration::from_secs(3600);

/// Mode of the key file: owner read and write only.
const KEY_FILE_MODE: u32 = 0o600;
/// Permission bits that must be clear on a key file (group and others).
const KEY_FILE_FORBIDDEN_BITS: u32 = 0o077;
const DATA_DIR_MODE: u32 = 0o700;

#[derive(Debug, Error)]
pub enum IdentityError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} has mode {mode:o}: a private key must be readable by its owner only (chmod 600)"
    )]
    KeyFileMode { path: PathBuf, mode: u32 },
    #[error(
        "{cert_path} exists but its key {key_path} does not: restore the key, or remove the \
         certificate to generate a new root (and register the new certificate on chain)"
    )]
    KeyMissing {
        cert_path: PathBuf,
        key_path: PathBuf,
    },
    #[error("{path} is not a usable private key: {reason}")]
    InvalidKey { path: PathBuf, reason: String },
    #[error("{path} is not a usable CA certificate: {reason}")]
    InvalidCertificate { path: PathBuf, reason: String },
    #[error("{cert_path} does not certify the key in {key_path}")]
    KeyMismatch {
        cert_path: PathBuf,
        key_path: PathBuf,
    },
    #[error("host {host:?} cannot be named in a certificate: {reason}")]
    InvalidHost { host: String, reason: String },
    #[error("issuing a certificate: {0}")]
    Issue(String),
}

/// The provider's root CA: its certificate and the issuer that signs leaves with its key.
pub struct ProviderIdentity {
    root_pem: String,
    root_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for ProviderIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("ProviderIdentity")
            .field("root_pem", &self.root_pem)
            .finish_non_exhaustive()
    }
}

/// A leaf certificate and its new private key.
pub struct IssuedCertificate {
    certificate_der: CertificateDer<'static>,
    certificate_pem: String,
    key_der: PrivatePkcs8KeyDer<'static>,
    key_pem: String,
}

impl Clone for IssuedCertificate {
    fn clone(&self) -> Self {
        IssuedCertificate {
            certificate_der: self.certificate_der.clone(),
            certificate_pem: self.certificate_pem.clone(),
            key_der: self.key_der.clone_key(),
            key_pem: self.key_pem.clone(),
        }
    }
}

impl std::fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("certificate_pem", &self.certificate_pem)
            .finish_non_exhaustive()
    }
}

impl IssuedCertificate {
    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        &self.certificate_der
    }

    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// The chain a TLS server or client presents: the leaf alone, since every peer holds the
    /// root (it is on chain) as its trust anchor.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        vec![self.certificate_der.clone()]
    }

    pub fn private_key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key_der.clone_key())
    }

    pub fn private_key_pem(&self) -> &str {
        &self.key_pem
    }
}

impl ProviderIdentity {
    /// Loads the root from `data_dir`, or generates and stores one if there is none. A key
    /// without its certificate (a start interrupted between the two writes) gets a new
    /// certificate; a certificate without its key is an error, never silently replaced.
    pub fn load_or_generate(data_dir: &Path) -> Result<Self, IdentityError> {
        let cert_path = data_dir.join(ROOT_CERT_FILE);
        let key_path = data_dir.join(ROOT_KEY_FILE);
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => Self::load(&cert_path, &key_path),
            (true, false) => Err(IdentityError::KeyMissing {
                cert_path,
                key_path,
            }),
            (false, true) => {
                let key = read_key(&key_path)?;
                let identity = Self::self_signed(key)?;
                write_file(&cert_path, identity.root_pem.as_bytes(), None)?;
                tracing::warn!(
                    cert = %cert_path.display(),
                    "root key without certificate: issued a new root certificate for it"
                );
                Ok(identity)
            }
            (false, false) => {
                fs::DirBuilder::new()
                    .recursive(true)
                    .mode(DATA_DIR_MODE)
                    .create(data_dir)
                    .map_err(|source| IdentityError::Io {
                        path: data_dir.to_path_buf(),
                        source,
                    })?;
                let identity = Self::generate()?;
                // Key first: a crash before the certificate is written is recovered above.
                let key_pem = identity.issuer.key().serialize_pem();
                write_file(&key_path, key_pem.as_bytes(), Some(KEY_FILE_MODE))?;
                write_file(&cert_path, identity.root_pem.as_bytes(), None)?;
                tracing::info!(cert = %cert_path.display(), "generated the provider root CA");
                Ok(identity)
            }
        }
    }

    /// The same root and key as a new value (for a part that needs to own the issuer).
    pub fn try_clone(&self) -> Result<Self, IdentityError> {
        let key = KeyPair::from_pem(&self.issuer.key().serialize_pem())
            .map_err(|e| IdentityError::Issue(format!("copying the root key: {e}")))?;
        let issuer = Issuer::from_ca_cert_der(&self.root_der, key)
            .map_err(|e| IdentityError::Issue(format!("copying the root: {e}")))?;
        Ok(ProviderIdentity {
            root_pem: self.root_pem.clone(),
            root_der: self.root_der.clone(),
            issuer,
        })
    }

    /// A new root kept in memory only (tests, throwaway sandboxes).
    pub fn generate() -> Result<Self, IdentityError> {
        Self::self_signed(new_key_pair()?)
    }

    fn self_signed(key: KeyPair) -> Result<Self, IdentityError> {
        let params = root_params(&key);
        let certificate = params
            .self_signed(&key)
            .map_err(|e| IdentityError::Issue(format!("root certificate: {e}")))?;
        Ok(ProviderIdentity {
            root_pem: certificate.pem(),
            root_der: certificate.der().clone(),
            issuer: Issuer::new(params, key),
        })
    }

    fn load(cert_path: &Path, key_path: &Path) -> Result<Self, IdentityError> {
        let key = read_key(key_path)?;
        let root_pem = fs::read_to_string(cert_path).map_err(|source| IdentityError::Io {
            path: cert_path.to_path_buf(),
            source,
        })?;
        let invalid = |reason: String| IdentityError::InvalidCertificate {
            path: cert_path.to_path_buf(),
            reason,
        };
        let mut certificates = CertificateDer::pem_slice_iter(root_pem.as_bytes());
        let root_der = match (certificates.next(), certificates.next()) {
            (Some(Ok(der)), None) => der,
            (Some(Err(e)), _) => return Err(invalid(format!("PEM: {e}"))),
            (None, _) => return Err(invalid("no CERTIFICATE block".to_string())),
            (Some(Ok(_)), Some(_)) => {
                return Err(invalid("more than one CERTIFICATE block".to_string()))
            }
        };
        // The DER of the certificate embeds the key's SubjectPublicKeyInfo verbatim.
        let spki = key.subject_public_key_info();
        if !root_der.windows(spki.len()).any(|window| window == spki) {
            return Err(IdentityError::KeyMismatch {
                cert_path: cert_path.to_path_buf(),
                key_path: key_path.to_path_buf(),
            });
        }
        let issuer =
            Issuer::from_ca_cert_der(&root_der, key).map_err(|e| invalid(format!("X.509: {e}")))?;
        Ok(ProviderIdentity {
            root_pem,
            root_der,
            issuer,
        })
    }

    /// The root certificate, PEM: what the provider registers on chain.
    pub fn root_certificate_pem(&self) -> &str {
        &self.root_pem
    }

    pub fn root_certificate_der(&self) -> &CertificateDer<'static> {
        &self.root_der
    }

    /// Issues a leaf for `params` with a new P-256 key, signed by the root. Whatever `params`
    /// say, the leaf is not a CA and names the root's key as its authority key.
    pub fn issue_leaf(
        &self,
        mut params: CertificateParams,
    ) -> Result<IssuedCertificate, IdentityError> {
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        let key = new_key_pair()?;
        let certificate = params
            .signed_by(&key, &self.issuer)
            .map_err(|e| IdentityError::Issue(format!("leaf certificate: {e}")))?;
        Ok(IssuedCertificate {
            certificate_der: certificate.der().clone(),
            certificate_pem: certificate.pem(),
            key_der: PrivatePkcs8KeyDer::from(key.serialize_der()),
            key_pem: key.serialize_pem(),
        })
    }

    /// The gateway's HTTPS certificate: valid for 127.0.0.1, `localhost` and each of `hosts`
    /// (DNS names or IP addresses), for [`SERVER_CERT_VALIDITY`].
    pub fn issue_server_cert(&self, hosts: &[String]) -> Result<IssuedCertificate, IdentityError> {
        let mut names = vec![
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            dns_name("localhost")?,
        ];
        for host in hosts {
            let name = match host.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => dns_name(host)?,
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(
            DnType::CommonName,
            hosts.first().map_or("localhost", String::as_str),
        );
        params.subject_alt_names = names;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        set_validity(&mut params, SERVER_CERT_VALIDITY);
        self.issue_leaf(params)
    }
}

impl ProviderIdentity {
    /// The certificate this provider presents to other providers' gateways (to fetch a
    /// manifest it shares with them): client authentication only, the provider's chain
    /// address as commonName, valid for [`SERVER_CERT_VALIDITY`].
    pub fn issue_client_cert(&self, address: &str) -> Result<IssuedCertificate, IdentityError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, address);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        set_validity(&mut params, SERVER_CERT_VALIDITY);
        self.issue_leaf(params)
    }
}

fn new_key_pair() -> Result<KeyPair, IdentityError> {
    KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(|e| IdentityError::Issue(format!("generating a P-256 key: {e}")))
}

fn root_params(key: &KeyPair) -> CertificateParams {
    let key_digest = Sha256::digest(key.public_key_raw());
    let key_id: String = key_digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{ROOT_COMMON_NAME} {key_id}"));
    // Path length 0: the root signs leaves only.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params, ROOT_VALIDITY);
    params
}

fn set_validity(params: &mut CertificateParams, validity: Duration) {
    let now = OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + validity;
}

fn dns_name(host: &str) -> Result<SanType, IdentityError> {
    let name = host.try_into().map_err(|e| IdentityError::InvalidHost {
        host: host.to_string(),
        reason: format!("{e}"),
    })?;
    Ok(SanType::DnsName(name))
}

fn read_key(path: &Path) -> Result<KeyPair, IdentityError> {
    let io = |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mode = fs::metadata(path).map_err(io)?.permissions().mode();
    if mode & KEY_FILE_FORBIDDEN_BITS != 0 {
        return Err(IdentityError::KeyFileMode {
            path: path.to_path_buf(),
            mode: mode & 0o777,
        });
    }
    let pem = fs::read_to_string(path).map_err(io)?;
    KeyPair::from_pem(&pem).map_err(|e| IdentityError::InvalidKey {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes `contents` to a temporary file beside `path` (created with `mode`), syncs it and
/// renames it over `path`, so `path` is either absent or complete.
fn write_file(path: &Path, contents: &[u8], mode: Option<u32>) -> Result<(), IdentityError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| IdentityError::Io { path, source }
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if let Some(mode) = mode {
        options.mode(mode);
    }
    let mut file = options.open(&temporary).map_err(io(&temporary))?;
    if let Some(mode) = mode {
        // A leftover temporary file keeps its old mode: set it again.
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io(&temporary))?;
    }
    file.write_all(contents).map_err(io(&temporary))?;
    file.sync_all().map_err(io(&temporary))?;
    fs::rename(&temporary, path).map_err(io(path))
}
