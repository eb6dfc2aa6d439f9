//! Names of tunnel endpoints: the URI SAN a tunnel certificate carries and the TLS server
//! name (SNI) a client sends to pick the target. Both are parsed strictly: one spelling per
//! value, so a name compares equal exactly when it denotes the same endpoint.

use std::fmt;
use std::str::FromStr;

use crate::error::NameError;

/// Scheme and authority of a tunnel identity URI.
pub const URI_PREFIX: &str = "akash://tunnel/";
/// Suffix of every tunnel server name; a listener shared with other TLS services can route
/// on it (see [`is_tunnel_server_name`]).
pub const SERVER_NAME_SUFFIX: &str = ".tunnel.akash";
/// Longest tenant address accepted (the bech32 limit).
pub const MAX_TENANT_LEN: usize = 90;
/// Longest service name: a DNS label, as the manifest requires.
pub const MAX_SERVICE_LEN: usize = 63;

/// One side of a tunnel as named in its certificate:
/// `akash://tunnel/<tenant>/<deployment id>/<lease id>/<service>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TunnelIdentity {
    tenant: String,
    deployment_id: u64,
    lease_id: u64,
    service: String,
}

impl TunnelIdentity {
    /// Checks `tenant` (1..=90 of `a-z 0-9`, as a bech32 address is written) and `service`
    /// (a DNS label, as in the manifest).
    pub fn new(
        tenant: &str,
        deployment_id: u64,
        lease_id: u64,
        service: &str,
    ) -> Result<Self, NameError> {
        check_tenant(tenant)?;
        check_service(service)?;
        Ok(TunnelIdentity {
            tenant: tenant.to_string(),
            deployment_id,
            lease_id,
            service: service.to_string(),
        })
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    pub fn deployment_id(&self) -> u64 {
        self.deployment_id
    }

    pub fn lease_id(&self) -> u64 {
        self.lease_id
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// The (lease, service) pair the access policy speaks of.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            lease_id: self.lease_id,
            service: self.service.clone(),
        }
    }

    /// The URI SAN: `akash://tunnel/<tenant>/<deployment>/<lease>/<service>`.
    pub fn to_uri(&self) -> String {
        format!(
            "{URI_PREFIX}{}/{}/{}/{}",
            self.tenant, self.deployment_id, self.lease_id, self.service
        )
    }

    /// Parses a URI SAN; anything but the exact form written by [`Self::to_uri`] is refused.
    pub fn from_uri(uri: &str) -> Result<Self, NameError> {
        let malformed = |reason: &str| NameError::MalformedUri {
            uri: uri.to_string(),
            reason: reason.to_string(),
        };
        let rest = uri
            .strip_prefix(URI_PREFIX)
            .ok_or_else(|| malformed("does not start with akash://tunnel/"))?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [tenant, deployment, lease, service] = parts[..] else {
            return Err(malformed(
                "expected four path segments: tenant/deployment/lease/service",
            ));
        };
        let identity = TunnelIdentity::new(
            tenant,
            parse_id(deployment, "deployment id")?,
            parse_id(lease, "lease id")?,
            service,
        )?;
        Ok(identity)
    }
}

impl fmt::Display for TunnelIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri())
    }
}

impl FromStr for TunnelIdentity {
    type Err = NameError;

    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        TunnelIdentity::from_uri(uri)
    }
}

/// A service of a lease: who may connect, in the access policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    lease_id: u64,
    service: String,
}

impl Endpoint {
    pub fn new(lease_id: u64, service: &str) -> Result<Self, NameError> {
        check_service(service)?;
        Ok(Endpoint {
            lease_id,
            service: service.to_string(),
        })
    }

    pub fn lease_id(&self) -> u64 {
        self.lease_id
    }

    pub fn service(&self) -> &str {
        &self.service
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lease {} service {}", self.lease_id, self.service)
    }
}

/// What a tunnel client asks to reach: a port of a service of a lease, the port being the
/// one the service is exposed on (the manifest's `as`). Sent as the TLS server name
/// `p<port>.<service>.l<lease>.tunnel.akash`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TunnelTarget {
    lease_id: u64,
    service: String,
    port: u16,
}

impl TunnelTarget {
    pub fn new(lease_id: u64, service: &str, port: u16) -> Result<Self, NameError> {
        check_service(service)?;
        if port == 0 {
            return Err(NameError::ZeroPort);
        }
        Ok(TunnelTarget {
            lease_id,
            service: service.to_string(),
            port,
        })
    }

    pub fn lease_id(&self) -> u64 {
        self.lease_id
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            lease_id: self.lease_id,
            service: self.service.clone(),
        }
    }

    /// The TLS server name: `p<port>.<service>.l<lease>.tunnel.akash`.
    pub fn server_name(&self) -> String {
        format!(
            "p{}.{}.l{}{SERVER_NAME_SUFFIX}",
            self.port, self.service, self.lease_id
        )
    }

    /// Parses a TLS server name; anything but the exact form of [`Self::server_name`] is
    /// refused.
    pub fn from_server_name(name: &str) -> Result<Self, NameError> {
        let malformed = |reason: &str| NameError::MalformedServerName {
            name: name.to_string(),
            reason: reason.to_string(),
        };
        let rest = name
            .strip_suffix(SERVER_NAME_SUFFIX)
            .ok_or_else(|| malformed("does not end with .tunnel.akash"))?;
        let labels: Vec<&str> = rest.split('.').collect();
        let [port, service, lease] = labels[..] else {
            return Err(malformed(
                "expected p<port>.<service>.l<lease>.tunnel.akash",
            ));
        };
        let port = port
            .strip_prefix('p')
            .ok_or_else(|| malformed("first label is not p<port>"))?;
        let lease = lease
            .strip_prefix('l')
            .ok_or_else(|| malformed("third label is not l<lease>"))?;
        let port = u16::try_from(parse_id(port, "port")?).map_err(|_| NameError::BadNumber {
            what: "port",
            value: port.to_string(),
        })?;
        TunnelTarget::new(parse_id(lease, "lease id")?, service, port)
    }
}

impl fmt::Display for TunnelTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "lease {} service {} port {}",
            self.lease_id, self.service, self.port
        )
    }
}

/// Whether a TLS server name is meant for the tunnel server (ends in `.tunnel.akash`), for a
/// listener that serves tunnels beside other TLS services.
pub fn is_tunnel_server_name(name: &str) -> bool {
    name.ends_with(SERVER_NAME_SUFFIX)
}

fn check_tenant(tenant: &str) -> Result<(), NameError> {
    let ok = !tenant.is_empty()
        && tenant.len() <= MAX_TENANT_LEN
        && tenant
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(NameError::BadTenant {
            tenant: tenant.to_string(),
        })
    }
}

/// The manifest's rule for service names: a DNS label of `a-z 0-9 -` that starts with a
/// letter and does not end with `-`.
fn check_service(service: &str) -> Result<(), NameError> {
    let bytes = service.as_bytes();
    let label_ok = matches!(bytes.first(), Some(b'a'..=b'z'))
        && bytes.last() != Some(&b'-')
        && bytes.len() <= MAX_SERVICE_LEN
        && bytes
            .iter()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-'));
    if label_ok {
        Ok(())
    } else {
        Err(NameError::BadService {
            service: service.to_string(),
        })
    }
}

/// Decimal without sign or leading zero, so each number has one spelling.
fn parse_id(text: &str, what: &'static str) -> Result<u64, NameError> {
    let bad = || NameError::BadNumber {
        what,
        value: text.to_string(),
    };
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_uri_round_trips() {
        let identity = TunnelIdentity::new("akash1tenant0", 7, 42, "web-1").unwrap();
        let uri = identity.to_uri();
        assert_eq!(uri, "akash://tunnel/akash1tenant0/7/42/web-1");
        assert_eq!(TunnelIdentity::from_uri(&uri).unwrap(), identity);
        assert_eq!(uri.parse::<TunnelIdentity>().unwrap(), identity);
        let max = format!("akash://tunnel/t/{}/0/db", u64::MAX);
        assert_eq!(TunnelIdentity::from_uri(&max).unwrap().to_uri(), max);
    }

    #[test]
    fn malformed_identity_uris_are_refused() {
        for uri in [
            "",
            "akash://tunnel/",
            "akash://tunnel/t/1/2",
            "akash://tunnel/t/1/2/web/",
            "akash://tunnel/t/1/2/web/extra",
            "akash://tunnel//1/2/web",
            "akash://tunnel/T/1/2/web",
            "akash://tunnel/t-x/1/2/web",
            "akash://tunnel/t/01/2/web",
            "akash://tunnel/t/1/+2/web",
            "akash://tunnel/t/1/-2/web",
            "akash://tunnel/t/1/18446744073709551616/web",
            "akash://tunnel/t/1/2/Web",
            "akash://tunnel/t/1/2/web-",
            "akash://tunnel/t/1/2/1web",
            "akash://tunnel/t/1/2/we.b",
            "akash://tunnel/t/1/2/web?x",
            "akash://Tunnel/t/1/2/web",
            "https://tunnel/t/1/2/web",
            " akash://tunnel/t/1/2/web",
        ] {
            assert!(
                TunnelIdentity::from_uri(uri).is_err(),
                "{uri:?} was accepted"
            );
        }
        let long_tenant = "a".repeat(MAX_TENANT_LEN + 1);
        assert!(TunnelIdentity::new(&long_tenant, 1, 1, "web").is_err());
        let long_service = "a".repeat(64);
        assert!(TunnelIdentity::new("t", 1, 1, &long_service).is_err());
    }

    #[test]
    fn server_name_round_trips() {
        let target = TunnelTarget::new(42, "db", 5432).unwrap();
        assert_eq!(target.server_name(), "p5432.db.l42.tunnel.akash");
        assert_eq!(
            TunnelTarget::from_server_name(&target.server_name()).unwrap(),
            target
        );
        assert!(is_tunnel_server_name(&target.server_name()));
        assert!(!is_tunnel_server_name("provider.example.com"));
    }

    #[test]
    fn malformed_server_names_are_refused() {
        for name in [
            "",
            "tunnel.akash",
            "p5432.db.l42.tunnel.akash.",
            "p5432.db.l42.tunnel.akas",
            "5432.db.l42.tunnel.akash",
            "p5432.db.42.tunnel.akash",
            "p05432.db.l42.tunnel.akash",
            "p0.db.l42.tunnel.akash",
            "p65536.db.l42.tunnel.akash",
            "p5432.db.l042.tunnel.akash",
            "p5432.DB.l42.tunnel.akash",
            "p5432.db.x.l42.tunnel.akash",
            "p5432.l42.tunnel.akash",
            "P5432.db.l42.tunnel.akash",
        ] {
            assert!(
                TunnelTarget::from_server_name(name).is_err(),
                "{name:?} was accepted"
            );
        }
    }
}
