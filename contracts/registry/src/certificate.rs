//! Checks of the provider's root certificate: PEM text holding exactly one X.509 CA
//! certificate, and never a private key.

use akash_types::registry::MAX_CERTIFICATE_PEM_LEN;
use base64ct::{Base64, Encoding};
use der::oid::AssociatedOid;
use der::oid::ObjectIdentifier;
use der::Decode;
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::Certificate;

use crate::error::ContractError;

const BEGIN: &str = "-----BEGIN ";
const BOUNDARY_END: &str = "-----";
const CERTIFICATE_LABEL: &str = "CERTIFICATE";
const BEGIN_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----";
const END_CERTIFICATE: &str = "-----END CERTIFICATE-----";
/// Longest subject commonName quoted back in an error.
const MAX_SUBJECT_LEN: usize = 200;
/// id-at-commonName (2.5.4.3).
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// Validates `pem`: bounded length, no private key of any kind, exactly one `CERTIFICATE`
/// block (and nothing else but surrounding whitespace), a DER X.509 certificate whose
/// basicConstraints extension says cA = true.
pub fn validate_root_certificate(pem: &str) -> Result<(), ContractError> {
    if pem.len() > MAX_CERTIFICATE_PEM_LEN {
        return Err(ContractError::CertificateTooLong {
            len: pem.len(),
            max: MAX_CERTIFICATE_PEM_LEN,
        });
    }
    // Any mention of a private key, in a boundary label or elsewhere, in any letter case:
    // "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", ...
    if pem.to_ascii_uppercase().contains("PRIVATE KEY") {
        return Err(ContractError::PrivateKeyInPem {});
    }
    if let Some(c) = pem
        .chars()
        .find(|c| !(c.is_ascii_graphic() || c.is_ascii_whitespace()))
    {
        return Err(ContractError::InvalidPem {
            reason: format!("contains {c:?}: PEM is printable ASCII text"),
        });
    }
    let labels = block_labels(pem)?;
    if let Some(other) = labels.iter().find(|l| **l != CERTIFICATE_LABEL) {
        return Err(ContractError::InvalidPem {
            reason: format!(
                "unexpected \"{BEGIN}{other}{BOUNDARY_END}\" block: only one CERTIFICATE block is accepted"
            ),
        });
    }
    if labels.len() != 1 {
        return Err(ContractError::CertificateCount {
            count: labels.len(),
        });
    }
    // Nothing but whitespace around the block: the stored text is exactly one certificate.
    let body = pem
        .trim()
        .strip_prefix(BEGIN_CERTIFICATE)
        .and_then(|rest| rest.strip_suffix(END_CERTIFICATE))
        .ok_or_else(|| ContractError::InvalidPem {
            reason: format!(
                "text outside the CERTIFICATE block (it must start with \"{BEGIN_CERTIFICATE}\" and end with \"{END_CERTIFICATE}\")"
            ),
        })?;
    let der_bytes = decode_base64_body(body)?;
    check_ca_certificate(&der_bytes)
}

/// Decodes the base64 between the boundaries. Lax about line breaks (any line length, CRLF,
/// one long line: RFC 7468 asks parsers to be), strict about the alphabet and padding, so
/// encapsulated headers (`Proc-Type:` ...) or a stray boundary are refused.
fn decode_base64_body(body: &str) -> Result<Vec<u8>, ContractError> {
    if body.contains(BOUNDARY_END) {
        return Err(ContractError::InvalidPem {
            reason: "a boundary line inside the CERTIFICATE block".to_string(),
        });
    }
    let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(ContractError::InvalidPem {
            reason: "the CERTIFICATE block is empty".to_string(),
        });
    }
    Base64::decode_vec(&compact).map_err(|e| ContractError::InvalidPem {
        reason: format!("the CERTIFICATE block is not valid base64: {e}"),
    })
}

/// Labels of every `-----BEGIN <label>-----` boundary in `pem`.
fn block_labels(pem: &str) -> Result<Vec<&str>, ContractError> {
    let mut labels = Vec::new();
    let mut rest = pem;
    while let Some((_, after)) = rest.split_once(BEGIN) {
        let (label, tail) =
            after
                .split_once(BOUNDARY_END)
                .ok_or_else(|| ContractError::InvalidPem {
                    reason: "a BEGIN boundary is not closed by \"-----\"".to_string(),
                })?;
        labels.push(label);
        rest = tail;
    }
    Ok(labels)
}

/// The subject's commonName (the first one), for error messages; `Name` has a `Display`
/// impl, but it costs ~60 KB of wasm.
fn common_name(certificate: &Certificate) -> String {
    let cn = certificate
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == COMMON_NAME);
    match cn {
        Some(atv) => {
            let value = String::from_utf8_lossy(atv.value.value());
            let mut end = value.len().min(MAX_SUBJECT_LEN);
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            format!("CN={}", &value[..end])
        }
        None => "(no commonName)".to_string(),
    }
}

/// Decodes the DER certificate and checks basicConstraints cA = true.
fn check_ca_certificate(der_bytes: &[u8]) -> Result<(), ContractError> {
    let certificate =
        Certificate::from_der(der_bytes).map_err(|e| ContractError::InvalidCertificate {
            reason: format!("not a DER X.509 certificate: {e}"),
        })?;
    let subject = || common_name(&certificate);
    let mut basic_constraints = certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|ext| ext.extn_id == BasicConstraints::OID);
    let ext = basic_constraints
        .next()
        .ok_or_else(|| ContractError::NotCaCertificate {
            subject: subject(),
            reason: "it has no basicConstraints extension".to_string(),
        })?;
    if basic_constraints.next().is_some() {
        return Err(ContractError::InvalidCertificate {
            reason: "the basicConstraints extension appears more than once".to_string(),
        });
    }
    let constraints = BasicConstraints::from_der(ext.extn_value.as_bytes()).map_err(|e| {
        ContractError::InvalidCertificate {
            reason: format!("basicConstraints does not decode: {e}"),
        }
    })?;
    if !constraints.ca {
        return Err(ContractError::NotCaCertificate {
            subject: subject(),
            reason: "its basicConstraints extension has cA = false".to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const CA_PEM: &str = include_str!("../testdata/ca.pem");
    pub const CA2_PEM: &str = include_str!("../testdata/ca2.pem");
    pub const LEAF_PEM: &str = include_str!("../testdata/leaf.pem");
    pub const NO_BASIC_CONSTRAINTS_PEM: &str = include_str!("../testdata/no-basic-constraints.pem");
    pub const EC_KEY_PEM: &str = include_str!("../testdata/ec-key.pem");
    pub const EC_KEY_PKCS8_PEM: &str = include_str!("../testdata/ec-key-pkcs8.pem");

    /// The base64 body of a PEM block, lines joined.
    fn body(pem: &str) -> String {
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn ca_certificates_are_accepted() {
        assert_eq!(validate_root_certificate(CA_PEM), Ok(()));
        assert_eq!(validate_root_certificate(CA2_PEM), Ok(()));
        // Surrounding whitespace and CRLF line ends are fine.
        assert_eq!(
            validate_root_certificate(&format!("\n  {CA_PEM}\n\n")),
            Ok(())
        );
        assert_eq!(
            validate_root_certificate(&CA_PEM.replace('\n', "\r\n")),
            Ok(())
        );
        // Other line widths (76, one long line) are fine too: RFC 7468 parsers should be lax.
        let b64: String = body(CA2_PEM).split_whitespace().collect();
        for width in [76, 100, b64.len()] {
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(width)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let pem = format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
                lines.join("\n")
            );
            assert_eq!(validate_root_certificate(&pem), Ok(()), "width {width}");
        }
    }

    #[test]
    fn private_keys_of_every_kind_are_refused() {
        let key = body(EC_KEY_PEM);
        let mut cases = vec![
            EC_KEY_PEM.to_string(),
            EC_KEY_PKCS8_PEM.to_string(),
            format!("{CA_PEM}{EC_KEY_PEM}"),
            format!("{EC_KEY_PKCS8_PEM}{CA_PEM}"),
        ];
        for label in [
            "PRIVATE KEY",
            "RSA PRIVATE KEY",
            "EC PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
            "DSA PRIVATE KEY",
            "OPENSSH PRIVATE KEY",
            "private key",
        ] {
            cases.push(format!(
                "-----BEGIN {label}-----\n{key}\n-----END {label}-----\n"
            ));
        }
        for pem in cases {
            let err = validate_root_certificate(&pem).unwrap_err();
            assert_eq!(err, ContractError::PrivateKeyInPem {}, "{pem}");
            assert!(err
                .to_string()
                .contains("a private key must never be sent to the chain"));
        }
    }

    #[test]
    fn non_ca_certificates_are_refused() {
        match validate_root_certificate(LEAF_PEM) {
            Err(ContractError::NotCaCertificate { subject, reason }) => {
                assert_eq!(subject, "CN=provider.example.com");
                assert!(reason.contains("cA = false"), "{reason}");
            }
            other => panic!("leaf certificate accepted: {other:?}"),
        }
        match validate_root_certificate(NO_BASIC_CONSTRAINTS_PEM) {
            Err(ContractError::NotCaCertificate { subject, reason }) => {
                assert_eq!(subject, "CN=No Basic Constraints");
                assert!(reason.contains("no basicConstraints"), "{reason}");
            }
            other => panic!("certificate without basicConstraints accepted: {other:?}"),
        }
    }

    #[test]
    fn certificate_count_must_be_one() {
        assert_eq!(
            validate_root_certificate(&format!("{CA_PEM}{CA2_PEM}")),
            Err(ContractError::CertificateCount { count: 2 })
        );
        assert_eq!(
            validate_root_certificate(&format!("{CA_PEM}{LEAF_PEM}{CA2_PEM}")),
            Err(ContractError::CertificateCount { count: 3 })
        );
        assert_eq!(
            validate_root_certificate(""),
            Err(ContractError::CertificateCount { count: 0 })
        );
        assert_eq!(
            validate_root_certificate("just some text"),
            Err(ContractError::CertificateCount { count: 0 })
        );
    }

    #[test]
    fn garbage_pem_is_refused() {
        let invalid_pem = |pem: &str| match validate_root_certificate(pem) {
            Err(ContractError::InvalidPem { reason }) => reason,
            other => panic!("{pem:?} should be an invalid PEM, got {other:?}"),
        };
        // Base64 that is not base64.
        invalid_pem("-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n-----END CERTIFICATE-----\n");
        // Empty block, encapsulated headers, a boundary inside the block, bad padding.
        invalid_pem("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n");
        invalid_pem(&CA_PEM.replace(
            "-----BEGIN CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n",
        ));
        invalid_pem(&CA_PEM.replace(
            "-----BEGIN CERTIFICATE-----\n",
            "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        ));
        invalid_pem("-----BEGIN CERTIFICATE-----\naGVsbG8=a\n-----END CERTIFICATE-----\n");
        // Missing END boundary.
        invalid_pem("-----BEGIN CERTIFICATE-----\nMIIB\n");
        // Mismatched END label.
        invalid_pem(&CA_PEM.replace("END CERTIFICATE", "END PUBLIC KEY"));
        // Text around the block.
        invalid_pem(&format!("subject=CN=Test\n{CA_PEM}"));
        invalid_pem(&format!("{CA_PEM}trailing words\n"));
        // Unclosed BEGIN boundary.
        invalid_pem("-----BEGIN CERTIFICATE");
        // Another kind of block.
        let reason = invalid_pem(
            "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n",
        );
        assert!(reason.contains("PUBLIC KEY"), "{reason}");
        // Non-ASCII.
        let reason = invalid_pem(&format!("{CA_PEM}\u{e9}"));
        assert!(reason.contains("'é'"), "{reason}");

        // Valid base64 of something that is not a certificate.
        let not_der = "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            validate_root_certificate(not_der),
            Err(ContractError::InvalidCertificate { .. })
        ));
        // A certificate with its DER truncated.
        let lines: Vec<&str> = CA_PEM.lines().collect();
        let truncated = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[lines.len() - 1]);
        assert!(matches!(
            validate_root_certificate(&truncated),
            Err(ContractError::InvalidCertificate { .. }) | Err(ContractError::InvalidPem { .. })
        ));
    }

    #[test]
    fn pem_length_is_bounded() {
        let long = format!("{CA_PEM}{}", " ".repeat(MAX_CERTIFICATE_PEM_LEN));
        assert_eq!(
            validate_root_certificate(&long),
            Err(ContractError::CertificateTooLong {
                len: long.len(),
                max: MAX_CERTIFICATE_PEM_LEN
            })
        );
    }
}
