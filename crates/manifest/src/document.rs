//! The manifest document of one placement group: what a provider runs and which peers it
//! connects, in a canonical JSON form whose sha256 is the version stored on the order.

use std::collections::{BTreeMap, BTreeSet};

use akash_types::market::MAX_ORDER_COUNT;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DocumentError;

/// `version` of the documents this crate writes and accepts.
pub const DOCUMENT_VERSION: u32 = 1;
/// Largest document a provider accepts (checked before parsing).
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Longest service name (a DNS label).
pub const MAX_SERVICE_NAME_LEN: usize = 63;
/// Longest image reference.
pub const MAX_IMAGE_LEN: usize = 255;
/// Longest environment variable name.
pub const MAX_ENV_KEY_LEN: usize = 255;

/// Transport protocol of an exposed port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(&self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

// Field order of every struct below is alphabetical: serde writes fields in declaration
// order, so the JSON has sorted keys without relying on a map type (see `canonical` tests).

/// One placement group's workload, placement-free: the same services ordered in several
/// regions have one document and one hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupManifest {
    /// Services of other groups this group connects with, in either direction.
    pub peers: BTreeMap<String, Peer>,
    /// The services this group runs, by name.
    pub services: BTreeMap<String, ServiceManifest>,
    /// [`DOCUMENT_VERSION`].
    pub version: u32,
}

/// A service of another group (its placement is not named).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// Ports of the peer that services of this group may reach, sorted by (as, proto).
    /// Empty when the peer only connects to this group.
    pub ports: Vec<PeerPort>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerPort {
    /// The port the peer is reached on (its expose `as`).
    #[serde(rename = "as")]
    pub as_port: u16,
    /// Services of this group allowed to connect, sorted.
    pub clients: Vec<String>,
    pub proto: Proto,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceManifest {
    pub args: Vec<String>,
    pub command: Vec<String>,
    /// Instances of the service.
    pub count: u32,
    pub env: BTreeMap<String, String>,
    /// Sorted by (port, proto).
    pub expose: Vec<Expose>,
    pub image: String,
    /// Of one instance.
    pub resources: ServiceResources,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expose {
    /// Port others connect to (the host port when `global`).
    #[serde(rename = "as")]
    pub as_port: u16,
    /// Reachable from outside the deployment.
    pub global: bool,
    /// Port the container listens on.
    pub port: u16,
    pub proto: Proto,
    /// Services allowed to connect (this group's or peers), sorted.
    pub services: Vec<String>,
}

/// Resources of one instance of a service.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceResources {
    pub cpu_millis: u64,
    pub memory_bytes: u64,
    pub storage_bytes: u64,
}

impl GroupManifest {
    /// The canonical bytes: JSON, sorted keys, no whitespace, lists in their documented order.
    pub fn document_bytes(&self) -> Vec<u8> {
        // Serializing structs, BTreeMaps, strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// sha256 of [`Self::document_bytes`], 64 lowercase hex characters.
    pub fn sha256_hex(&self) -> String {
        sha256_hex(&self.document_bytes())
    }

    /// Parses and checks a received document: size, shape, every rule of [`Self::validate`],
    /// and that the bytes are exactly the canonical form (so one workload has one hash).
    pub fn from_document_bytes(bytes: &[u8]) -> Result<GroupManifest, DocumentError> {
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge {
                len: bytes.len(),
                max: MAX_DOCUMENT_BYTES,
            });
        }
        let manifest: GroupManifest =
            serde_json::from_slice(bytes).map_err(|e| DocumentError::Malformed {
                reason: e.to_string(),
            })?;
        manifest.validate()?;
        if manifest.document_bytes() != bytes {
            return Err(DocumentError::NotCanonical);
        }
        Ok(manifest)
    }

    /// Rules every document obeys, whether built from an SDL or received.
    pub fn validate(&self) -> Result<(), DocumentError> {
        if self.version != DOCUMENT_VERSION {
            return Err(invalid(
                "version",
                format!("must be {DOCUMENT_VERSION}, got {}", self.version),
            ));
        }
        if self.services.is_empty() {
            return Err(invalid("services", "at least one service is required"));
        }
        for (name, service) in &self.services {
            let path = format!("services.{name}");
            check_service_name(name).map_err(|reason| invalid(&path, reason))?;
            validate_service(self, &path, service)?;
        }
        let mut connected_peers = BTreeSet::new();
        for service in self.services.values() {
            for expose in &service.expose {
                connected_peers.extend(expose.services.iter().map(String::as_str));
            }
        }
        for (name, peer) in &self.peers {
            let path = format!("peers.{name}");
            check_service_name(name).map_err(|reason| invalid(&path, reason))?;
            if self.services.contains_key(name) {
                return Err(invalid(&path, "is also a service of this group"));
            }
            if peer.ports.is_empty() && !connected_peers.contains(name.as_str()) {
                return Err(invalid(
                    &path,
                    "has no ports and no service of this group exposes to it",
                ));
            }
            check_strictly_sorted(
                &path,
                "ports",
                peer.ports.iter().map(|p| (p.as_port, p.proto)),
            )?;
            for (i, port) in peer.ports.iter().enumerate() {
                let port_path = format!("{path}.ports[{i}]");
                if port.as_port == 0 {
                    return Err(invalid(format!("{port_path}.as"), "must be 1..=65535"));
                }
                if port.clients.is_empty() {
                    return Err(invalid(
                        format!("{port_path}.clients"),
                        "at least one client",
                    ));
                }
                check_strictly_sorted(&port_path, "clients", port.clients.iter())?;
                if let Some(client) = port
                    .clients
                    .iter()
                    .find(|c| !self.services.contains_key(*c))
                {
                    return Err(invalid(
                        format!("{port_path}.clients"),
                        format!("{client:?} is not a service of this group"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn validate_service(
    manifest: &GroupManifest,
    path: &str,
    service: &ServiceManifest,
) -> Result<(), DocumentError> {
    check_image(&service.image).map_err(|reason| invalid(format!("{path}.image"), reason))?;
    if service.count == 0 || service.count > MAX_ORDER_COUNT {
        return Err(invalid(
            format!("{path}.count"),
            format!("must be 1..={MAX_ORDER_COUNT}, got {}", service.count),
        ));
    }
    if service.resources.cpu_millis == 0 {
        return Err(invalid(
            format!("{path}.resources.cpu_millis"),
            "must be greater than 0",
        ));
    }
    if service.resources.memory_bytes == 0 {
        return Err(invalid(
            format!("{path}.resources.memory_bytes"),
            "must be greater than 0",
        ));
    }
    for (key, value) in &service.env {
        check_env_key(key).map_err(|reason| invalid(format!("{path}.env.{key}"), reason))?;
        check_no_nul(value).map_err(|reason| invalid(format!("{path}.env.{key}"), reason))?;
    }
    for (list, items) in [("command", &service.command), ("args", &service.args)] {
        for (i, item) in items.iter().enumerate() {
            check_no_nul(item).map_err(|reason| invalid(format!("{path}.{list}[{i}]"), reason))?;
        }
    }
    check_strictly_sorted(
        path,
        "expose",
        service.expose.iter().map(|e| (e.port, e.proto)),
    )?;
    let mut published = BTreeSet::new();
    for (i, expose) in service.expose.iter().enumerate() {
        let expose_path = format!("{path}.expose[{i}]");
        if expose.port == 0 || expose.as_port == 0 {
            return Err(invalid(expose_path, "ports must be 1..=65535"));
        }
        if !published.insert((expose.as_port, expose.proto)) {
            return Err(invalid(
                format!("{expose_path}.as"),
                format!(
                    "{}/{} is exposed twice by this service",
                    expose.as_port,
                    expose.proto.as_str()
                ),
            ));
        }
        check_strictly_sorted(&expose_path, "services", expose.services.iter())?;
        for name in &expose.services {
            if !manifest.services.contains_key(name) && !manifest.peers.contains_key(name) {
                return Err(invalid(
                    format!("{expose_path}.services"),
                    format!("{name:?} is neither a service of this group nor a peer"),
                ));
            }
        }
    }
    Ok(())
}

fn invalid(path: impl Into<String>, reason: impl Into<String>) -> DocumentError {
    DocumentError::Invalid {
        path: path.into(),
        reason: reason.into(),
    }
}

fn check_strictly_sorted<T: Ord>(
    path: &str,
    list: &str,
    items: impl Iterator<Item = T>,
) -> Result<(), DocumentError> {
    let items: Vec<T> = items.collect();
    if items.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(invalid(
            format!("{path}.{list}"),
            "must be sorted without duplicates",
        ));
    }
    Ok(())
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest.iter() {
        out.push(HEX[usize::from(byte >> 4)] as char);
        out.push(HEX[usize::from(byte & 0x0f)] as char);
    }
    out
}

/// A DNS label: 1..=63 of `a-z 0-9 -`, starting with a letter, not ending with `-`.
/// The name becomes a host name inside the deployment network.
pub fn check_service_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_SERVICE_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "service name {name:?} must be 1..={MAX_SERVICE_NAME_LEN} characters of a-z 0-9 -, \
             start with a letter and not end with -"
        ))
    }
}

/// A non-empty image reference without whitespace or control characters.
pub fn check_image(image: &str) -> Result<(), String> {
    if image.is_empty() {
        return Err("image must not be empty".to_string());
    }
    if image.len() > MAX_IMAGE_LEN {
        return Err(format!(
            "image is {} bytes, more than {MAX_IMAGE_LEN}",
            image.len()
        ));
    }
    if let Some(c) = image.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("image {image:?} contains {c:?}"));
    }
    Ok(())
}

/// `[A-Za-z_][A-Za-z0-9_.-]*`, at most [`MAX_ENV_KEY_LEN`] bytes.
pub fn check_env_key(key: &str) -> Result<(), String> {
    let ok = !key.is_empty()
        && key.len() <= MAX_ENV_KEY_LEN
        && key.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "variable name {key:?} must match [A-Za-z_][A-Za-z0-9_.-]* (at most {MAX_ENV_KEY_LEN})"
        ))
    }
}

/// Docker refuses NUL bytes in commands and environment values.
pub fn check_no_nul(value: &str) -> Result<(), String> {
    if value.contains('\0') {
        Err("contains a NUL character".to_string())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> GroupManifest {
        let mut services = BTreeMap::new();
        services.insert(
            "web".to_string(),
            ServiceManifest {
                args: vec![],
                command: vec!["httpd".to_string(), "-f".to_string()],
                count: 2,
                env: BTreeMap::from([("B".to_string(), "2".to_string())]),
                expose: vec![Expose {
                    as_port: 80,
                    global: true,
                    port: 8080,
                    proto: Proto::Tcp,
                    services: vec!["client".to_string()],
                }],
                image: "akash-test/busybox:latest".to_string(),
                resources: ServiceResources {
                    cpu_millis: 100,
                    memory_bytes: 1 << 20,
                    storage_bytes: 0,
                },
            },
        );
        let peers = BTreeMap::from([
            ("client".to_string(), Peer { ports: vec![] }),
            (
                "db".to_string(),
                Peer {
                    ports: vec![PeerPort {
                        as_port: 6379,
                        clients: vec!["web".to_string()],
                        proto: Proto::Tcp,
                    }],
                },
            ),
        ]);
        GroupManifest {
            peers,
            services,
            version: DOCUMENT_VERSION,
        }
    }

    #[test]
    fn canonical_bytes_have_sorted_keys_and_no_whitespace() {
        let bytes = sample().document_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains(' '), "{text}");
        assert!(!text.contains('\n'));
        // Re-encoding through serde_json's (sorted, BTreeMap-backed) Value gives the same
        // bytes only if every object's keys were already sorted.
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(serde_json::to_vec(&value).unwrap(), bytes);
        assert!(text.starts_with("{\"peers\":{\"client\":{\"ports\":[]},\"db\""));
    }

    #[test]
    fn round_trip_and_hash() {
        let manifest = sample();
        manifest.validate().unwrap();
        let bytes = manifest.document_bytes();
        let parsed = GroupManifest::from_document_bytes(&bytes).unwrap();
        assert_eq!(parsed, manifest);
        let hash = manifest.sha256_hex();
        assert_eq!(hash.len(), 64);
        assert!(hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        let bytes = sample().document_bytes();
        let mut spaced = b"{ ".to_vec();
        spaced.extend_from_slice(&bytes[1..]);
        assert_eq!(
            GroupManifest::from_document_bytes(&spaced),
            Err(DocumentError::NotCanonical)
        );
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        assert_eq!(
            GroupManifest::from_document_bytes(&pretty),
            Err(DocumentError::NotCanonical)
        );
    }

    #[test]
    fn oversized_and_malformed_documents_are_refused() {
        let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
        assert!(matches!(
            GroupManifest::from_document_bytes(&big),
            Err(DocumentError::TooLarge { .. })
        ));
        assert!(matches!(
            GroupManifest::from_document_bytes(b"{\"peers\":{}}"),
            Err(DocumentError::Malformed { .. })
        ));
        let text = String::from_utf8(sample().document_bytes()).unwrap();
        let extra = text.replacen("{\"peers\"", "{\"extra\":1,\"peers\"", 1);
        assert!(matches!(
            GroupManifest::from_document_bytes(extra.as_bytes()),
            Err(DocumentError::Malformed { .. })
        ));
    }

    fn invalid_path(manifest: &GroupManifest) -> String {
        match manifest.validate() {
            Err(DocumentError::Invalid { path, .. }) => path,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn validation_rules() {
        let mut m = sample();
        m.version = 2;
        assert_eq!(invalid_path(&m), "version");

        let mut m = sample();
        m.services.get_mut("web").unwrap().count = 0;
        assert_eq!(invalid_path(&m), "services.web.count");

        let mut m = sample();
        m.services.get_mut("web").unwrap().image = "bad image".to_string();
        assert_eq!(invalid_path(&m), "services.web.image");

        let mut m = sample();
        m.services.get_mut("web").unwrap().expose[0].services = vec!["nobody".to_string()];
        assert_eq!(invalid_path(&m), "services.web.expose[0].services");

        let mut m = sample();
        m.services.get_mut("web").unwrap().expose[0].services =
            vec!["db".to_string(), "client".to_string()];
        assert_eq!(invalid_path(&m), "services.web.expose[0].services");

        let mut m = sample();
        m.peers.get_mut("db").unwrap().ports[0].clients = vec!["ghost".to_string()];
        assert_eq!(invalid_path(&m), "peers.db.ports[0].clients");

        let mut m = sample();
        m.peers.insert("lonely".to_string(), Peer { ports: vec![] });
        assert_eq!(invalid_path(&m), "peers.lonely");

        let mut m = sample();
        let service = m.services.get("web").unwrap().clone();
        m.services.insert("db".to_string(), service);
        assert_eq!(invalid_path(&m), "peers.db");

        let mut m = sample();
        m.services
            .get_mut("web")
            .unwrap()
            .env
            .insert("1BAD".to_string(), String::new());
        assert_eq!(invalid_path(&m), "services.web.env.1BAD");

        let mut m = sample();
        m.services.get_mut("web").unwrap().resources.cpu_millis = 0;
        assert_eq!(invalid_path(&m), "services.web.resources.cpu_millis");
    }

    #[test]
    fn names() {
        assert!(check_service_name("web-1").is_ok());
        for bad in ["", "Web", "1web", "web-", "we_b", &"a".repeat(64)] {
            assert!(check_service_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_env_key("PATH").is_ok());
        assert!(check_env_key("_x.y-z").is_ok());
        assert!(check_env_key("A=B").is_err());
        assert!(check_image("nginx:1.25").is_ok());
        assert!(check_image("").is_err());
        assert!(check_image("a\tb").is_err());
    }
}
