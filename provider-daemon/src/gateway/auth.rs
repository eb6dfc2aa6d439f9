//! Tenant authentication of gateway requests: the tenant signs each request with its chain key
//! (secp256k1) and the provider checks that the key's address is the lease's tenant.
//!
//! The signed message is the canonical string ([`RequestToSign::canonical`])
//!
//! ```text
//! akash-gateway-v1\n{method}\n{path}\n{lease_id}\n{body_sha256_hex}\n{unix_timestamp}
//! ```
//!
//! where `{path}` is the request target as sent (path and query, so a `tail` or `service`
//! parameter cannot be changed) and `{body_sha256_hex}` is the lowercase hex sha256 of the
//! body ([`EMPTY_BODY_SHA256`] for requests without one). The signature is ECDSA over the
//! sha256 of that string, as Cosmos SDK signs sign-docs: 64 bytes `r || s`, low-S. Headers:
//! [`HEADER_PUBKEY`] (base64 of the 33-byte compressed key), [`HEADER_TIMESTAMP`] (unix
//! seconds) and [`HEADER_SIGNATURE`] (base64). The address of the key is
//! `bech32(prefix, ripemd160(sha256(pubkey)))`, with the prefix of the tenant's own address,
//! so it works with any chain's prefix.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bech32::{Bech32, Hrp};
use http::{HeaderMap, HeaderValue};
use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// First line of every signed message; a signature for anything else never verifies here.
pub const SIGNING_DOMAIN: &str = "akash-gateway-v1";
pub const HEADER_PUBKEY: &str = "x-akash-pubkey";
pub const HEADER_TIMESTAMP: &str = "x-akash-timestamp";
pub const HEADER_SIGNATURE: &str = "x-akash-signature";
/// How far a request's timestamp may be from the provider's clock, either way.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;
/// sha256 of the empty body: what `GET` requests sign.
pub const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Length of a compressed secp256k1 public key.
const COMPRESSED_KEY_LEN: usize = 33;
/// Length of an ECDSA signature in its compact `r || s` form.
const SIGNATURE_LEN: usize = 64;

/// Why a request's tenant signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("the request has no {header} header: sign it with the tenant's key")]
    Missing { header: &'static str },
    #[error("header {header} is malformed: {reason}")]
    Malformed {
        header: &'static str,
        reason: String,
    },
    #[error(
        "timestamp {timestamp} is {distance_secs} s away from the provider's clock ({now}); \
         at most {MAX_CLOCK_SKEW_SECS} s is accepted"
    )]
    StaleTimestamp {
        timestamp: u64,
        now: u64,
        distance_secs: u64,
    },
    #[error(
        "the signature does not verify for {method} {path} with the key in {HEADER_PUBKEY} \
         (signed string: {SIGNING_DOMAIN}, method, path and query, lease id, body sha256, \
         timestamp)"
    )]
    BadSignature { method: String, path: String },
    #[error("the request is signed by {address}, not by the lease's tenant {tenant}")]
    NotTenant { address: String, tenant: String },
    #[error("the lease's tenant address {tenant:?} is not bech32: {reason}")]
    InvalidTenant { tenant: String, reason: String },
}

/// The parts of a request that its signature covers, besides the timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestToSign<'a> {
    /// `GET`, `PUT`, ...
    pub method: &'a str,
    /// The request target: path and query, as sent.
    pub path: &'a str,
    pub lease_id: u64,
    /// Lowercase hex sha256 of the body; [`EMPTY_BODY_SHA256`] without a body.
    pub body_sha256_hex: &'a str,
}

impl RequestToSign<'_> {
    /// The string whose sha256 is signed.
    pub fn canonical(&self, unix_timestamp: u64) -> String {
        format!(
            "{SIGNING_DOMAIN}\n{}\n{}\n{}\n{}\n{unix_timestamp}",
            self.method, self.path, self.lease_id, self.body_sha256_hex
        )
    }
}

/// The three authentication headers of a request signed by `key` at `unix_timestamp`.
pub fn sign_request(
    key: &SigningKey,
    request: &RequestToSign<'_>,
    unix_timestamp: u64,
) -> HeaderMap {
    let signature: Signature = key.sign(request.canonical(unix_timestamp).as_bytes());
    // k256 signs low-S already; normalizing again is free and keeps the promise explicit.
    let signature = signature.normalize_s().unwrap_or(signature);
    let pubkey = key.verifying_key().to_encoded_point(true);
    let mut headers = HeaderMap::with_capacity(3);
    // Base64 and decimal digits are always valid header values.
    for (name, value) in [
        (HEADER_PUBKEY, BASE64.encode(pubkey.as_bytes())),
        (HEADER_TIMESTAMP, unix_timestamp.to_string()),
        (HEADER_SIGNATURE, BASE64.encode(signature.to_bytes())),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers
}

/// Checks every part of a request's tenant signature: headers present and well formed,
/// timestamp within [`MAX_CLOCK_SKEW_SECS`] of `now_unix`, the key's address equal to
/// `tenant`, and the signature valid for `request`. Returns the tenant's address.
pub fn verify_request(
    headers: &HeaderMap,
    request: &RequestToSign<'_>,
    tenant: &str,
    now_unix: u64,
) -> Result<String, AuthError> {
    let proof = TenantProof::from_headers(headers)?;
    proof.check_timestamp(now_unix)?;
    let address = proof.check_tenant(tenant)?;
    proof.verify(request)?;
    Ok(address)
}

/// The bech32 address of a secp256k1 key: `bech32(prefix, ripemd160(sha256(compressed key)))`.
pub fn address_of(key: &VerifyingKey, prefix: &str) -> Result<String, AuthError> {
    let hrp = Hrp::parse(prefix).map_err(|e| AuthError::InvalidTenant {
        tenant: prefix.to_string(),
        reason: format!("prefix: {e}"),
    })?;
    bech32::encode::<Bech32>(hrp, &account_id(key)).map_err(|e| AuthError::InvalidTenant {
        tenant: prefix.to_string(),
        reason: e.to_string(),
    })
}

/// The 20-byte account id of a key.
fn account_id(key: &VerifyingKey) -> [u8; 20] {
    let sha = Sha256::digest(key.to_encoded_point(true).as_bytes());
    Ripemd160::digest(sha).into()
}

/// The authentication headers of one request, parsed but not yet checked. The gateway checks
/// them in steps: headers and timestamp before the chain lookup, the tenant before reading
/// the body, the signature once the body's hash is known.
#[derive(Debug, Clone)]
pub struct TenantProof {
    key: VerifyingKey,
    unix_timestamp: u64,
    signature: Signature,
}

impl TenantProof {
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, AuthError> {
        let key_bytes = decode_base64(headers, HEADER_PUBKEY)?;
        if key_bytes.len() != COMPRESSED_KEY_LEN {
            return Err(AuthError::Malformed {
                header: HEADER_PUBKEY,
                reason: format!(
                    "{} bytes, a compressed secp256k1 key has {COMPRESSED_KEY_LEN}",
                    key_bytes.len()
                ),
            });
        }
        let key = VerifyingKey::from_sec1_bytes(&key_bytes).map_err(|_| AuthError::Malformed {
            header: HEADER_PUBKEY,
            reason: "not a point on secp256k1".to_string(),
        })?;
        let timestamp = header_str(headers, HEADER_TIMESTAMP)?;
        let unix_timestamp = timestamp.parse().map_err(|_| AuthError::Malformed {
            header: HEADER_TIMESTAMP,
            reason: format!("{timestamp:?} is not unix seconds"),
        })?;
        let signature_bytes = decode_base64(headers, HEADER_SIGNATURE)?;
        if signature_bytes.len() != SIGNATURE_LEN {
            return Err(AuthError::Malformed {
                header: HEADER_SIGNATURE,
                reason: format!(
                    "{} bytes, a compact signature has {SIGNATURE_LEN}",
                    signature_bytes.len()
                ),
            });
        }
        let signature =
            Signature::from_slice(&signature_bytes).map_err(|_| AuthError::Malformed {
                header: HEADER_SIGNATURE,
                reason: "r or s is out of range".to_string(),
            })?;
        Ok(TenantProof {
            key,
            unix_timestamp,
            signature,
        })
    }

    pub fn unix_timestamp(&self) -> u64 {
        self.unix_timestamp
    }

    pub fn check_timestamp(&self, now_unix: u64) -> Result<(), AuthError> {
        let distance_secs = self.unix_timestamp.abs_diff(now_unix);
        if distance_secs > MAX_CLOCK_SKEW_SECS {
            return Err(AuthError::StaleTimestamp {
                timestamp: self.unix_timestamp,
                now: now_unix,
                distance_secs,
            });
        }
        Ok(())
    }

    /// The key's address with `tenant`'s prefix, if it is `tenant`; [`AuthError::NotTenant`]
    /// otherwise.
    pub fn check_tenant(&self, tenant: &str) -> Result<String, AuthError> {
        let (hrp, tenant_id) = bech32::decode(tenant).map_err(|e| AuthError::InvalidTenant {
            tenant: tenant.to_string(),
            reason: e.to_string(),
        })?;
        let address = address_of(&self.key, hrp.as_str())?;
        if tenant_id.as_slice() != account_id(&self.key) {
            return Err(AuthError::NotTenant {
                address,
                tenant: tenant.to_string(),
            });
        }
        Ok(address)
    }

    /// Checks the signature over `request` at this proof's timestamp.
    pub fn verify(&self, request: &RequestToSign<'_>) -> Result<(), AuthError> {
        let message = request.canonical(self.unix_timestamp);
        self.key
            .verify(message.as_bytes(), &self.signature)
            .map_err(|_| AuthError::BadSignature {
                method: request.method.to_string(),
                path: request.path.to_string(),
            })
    }
}

fn header_str<'h>(headers: &'h HeaderMap, header: &'static str) -> Result<&'h str, AuthError> {
    let value = headers.get(header).ok_or(AuthError::Missing { header })?;
    value.to_str().map_err(|_| AuthError::Malformed {
        header,
        reason: "not visible ASCII".to_string(),
    })
}

fn decode_base64(headers: &HeaderMap, header: &'static str) -> Result<Vec<u8>, AuthError> {
    let text = header_str(headers, header)?;
    BASE64
        .decode(text.trim())
        .map_err(|e| AuthError::Malformed {
            header,
            reason: format!("not standard base64: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key(seed: u8) -> SigningKey {
        SigningKey::from_slice(&Sha256::digest([seed])).expect("a valid scalar")
    }

    fn request(path: &str) -> RequestToSign<'_> {
        RequestToSign {
            method: "GET",
            path,
            lease_id: 7,
            body_sha256_hex: EMPTY_BODY_SHA256,
        }
    }

    #[test]
    fn canonical_string_has_the_documented_lines() {
        let request = RequestToSign {
            method: "PUT",
            path: "/v1/leases/7/manifest",
            lease_id: 7,
            body_sha256_hex: "ab",
        };
        assert_eq!(
            request.canonical(1_700_000_000),
            "akash-gateway-v1\nPUT\n/v1/leases/7/manifest\n7\nab\n1700000000"
        );
    }

    #[test]
    fn empty_body_constant_is_sha256_of_nothing() {
        assert_eq!(
            akash_manifest::sha256_hex(b""),
            EMPTY_BODY_SHA256,
            "the documented constant"
        );
    }

    #[test]
    fn signed_request_verifies_for_the_tenant_with_any_prefix() {
        let key = test_key(1);
        for prefix in ["wasm", "cosmwasm", "akash"] {
            let tenant = address_of(key.verifying_key(), prefix).unwrap();
            assert!(tenant.starts_with(&format!("{prefix}1")));
            let headers = sign_request(&key, &request("/v1/leases/7/status"), 1_000);
            assert_eq!(
                verify_request(&headers, &request("/v1/leases/7/status"), &tenant, 1_100),
                Ok(tenant.clone())
            );
        }
    }

    #[test]
    fn changed_path_or_other_key_or_old_timestamp_is_refused() {
        let key = test_key(1);
        let tenant = address_of(key.verifying_key(), "wasm").unwrap();
        let headers = sign_request(&key, &request("/v1/leases/7/logs?tail=10"), 1_000);
        assert!(matches!(
            verify_request(
                &headers,
                &request("/v1/leases/7/logs?tail=99"),
                &tenant,
                1_000
            ),
            Err(AuthError::BadSignature { .. })
        ));
        assert!(matches!(
            verify_request(
                &headers,
                &request("/v1/leases/7/logs?tail=10"),
                &tenant,
                1_301
            ),
            Err(AuthError::StaleTimestamp {
                distance_secs: 301,
                ..
            })
        ));
        let other = sign_request(&test_key(2), &request("/v1/leases/7/logs?tail=10"), 1_000);
        assert!(matches!(
            verify_request(
                &other,
                &request("/v1/leases/7/logs?tail=10"),
                &tenant,
                1_000
            ),
            Err(AuthError::NotTenant { .. })
        ));
    }

    #[test]
    fn missing_and_malformed_headers_name_the_header() {
        let key = test_key(1);
        let tenant = address_of(key.verifying_key(), "wasm").unwrap();
        let mut headers = sign_request(&key, &request("/"), 1_000);
        headers.remove(HEADER_SIGNATURE);
        assert_eq!(
            verify_request(&headers, &request("/"), &tenant, 1_000),
            Err(AuthError::Missing {
                header: HEADER_SIGNATURE
            })
        );
        headers.insert(HEADER_SIGNATURE, HeaderValue::from_static("AAAA"));
        assert!(matches!(
            verify_request(&headers, &request("/"), &tenant, 1_000),
            Err(AuthError::Malformed {
                header: HEADER_SIGNATURE,
                ..
            })
        ));
    }

    #[test]
    fn address_matches_the_cosmos_derivation() {
        // secp256k1 generator point G (private key 1): its compressed key hashes to the
        // well-known account id 751e76e8199196d454941c45d1b3a323f1433bd6 (as in Bitcoin's
        // hash160 of G).
        let mut one = [0u8; 32];
        one[31] = 1;
        let key = SigningKey::from_slice(&one).unwrap();
        let id = account_id(key.verifying_key());
        let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "751e76e8199196d454941c45d1b3a323f1433bd6");
    }
}
