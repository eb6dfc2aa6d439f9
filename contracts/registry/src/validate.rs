//! Validation of the provider's host URI and attributes.
//!
//! A small hand-written URI check (the `url` crate would add a lot to the wasm): exactly
//! `https://` + host + optional `:port` + optional `/path`, where host is a DNS name, an IPv4
//! address or a bracketed IPv6 address.

use std::net::{Ipv4Addr, Ipv6Addr};

use akash_types::common::Attribute;
use akash_types::registry::{
    MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_LEN, MAX_ATTRIBUTE_VALUE_LEN, MAX_HOST_URI_LEN,
};

use crate::error::ContractError;

const HTTPS: &str = "https://";
/// RFC 1035: a label is at most 63 octets, a name at most 253 characters (no trailing dot).
const MAX_DNS_LABEL_LEN: usize = 63;
const MAX_DNS_NAME_LEN: usize = 253;
/// Longest part of a refused value quoted back in an error.
const MAX_QUOTED_LEN: usize = 300;

/// Cuts a refused value to a bounded length for an error message (on a char boundary).
fn quoted(value: &str) -> String {
    if value.len() <= MAX_QUOTED_LEN {
        return value.to_string();
    }
    let mut end = MAX_QUOTED_LEN;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &value[..end])
}

fn uri_error(host_uri: &str, reason: impl Into<String>) -> ContractError {
    ContractError::InvalidHostUri {
        host_uri: quoted(host_uri),
        reason: reason.into(),
    }
}

/// Checks `host_uri` is `https://host[:port][/path]`.
pub fn validate_host_uri(host_uri: &str) -> Result<(), ContractError> {
    if host_uri.len() > MAX_HOST_URI_LEN {
        return Err(uri_error(
            host_uri,
            format!("{} bytes long (at most {MAX_HOST_URI_LEN})", host_uri.len()),
        ));
    }
    if let Some(c) = host_uri.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(uri_error(
            host_uri,
            format!("contains {c:?}: only printable ASCII, no whitespace or control characters"),
        ));
    }
    let rest = host_uri
        .strip_prefix(HTTPS)
        .ok_or_else(|| uri_error(host_uri, "must start with \"https://\""))?;
    // The authority ends at the path; a query or a fragment is refused below.
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(uri_error(host_uri, "must not contain userinfo (user@)"));
    }
    if authority.is_empty() {
        return Err(uri_error(host_uri, "has no host"));
    }
    let (host, port) = split_host_port(host_uri, authority)?;
    validate_host(host_uri, host)?;
    if let Some(port) = port {
        validate_port(host_uri, port)?;
    }
    if path.contains(['?', '#']) {
        return Err(uri_error(
            host_uri,
            "must not have a query (?) or fragment (#)",
        ));
    }
    Ok(())
}

/// The host part of an authority.
enum Host<'a> {
    /// Inside the brackets of `[...]`.
    Ipv6(&'a str),
    /// A DNS name or an IPv4 address.
    Name(&'a str),
}

/// Splits `authority` into host and port (without the colon).
fn split_host_port<'a>(
    host_uri: &str,
    authority: &'a str,
) -> Result<(Host<'a>, Option<&'a str>), ContractError> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (inner, after) = bracketed
            .split_once(']')
            .ok_or_else(|| uri_error(host_uri, "IPv6 host has no closing ']'"))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                uri_error(
                    host_uri,
                    format!("unexpected {after:?} after the IPv6 host"),
                )
            })?),
        };
        return Ok((Host::Ipv6(inner), port));
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (Host::Name(host), Some(port)),
        None => (Host::Name(authority), None),
    })
}

fn validate_host(host_uri: &str, host: Host) -> Result<(), ContractError> {
    let host = match host {
        Host::Ipv6(inner) => {
            return inner
                .parse::<Ipv6Addr>()
                .map(|_| ())
                .map_err(|_| uri_error(host_uri, format!("{inner:?} is not an IPv6 address")));
        }
        Host::Name(host) => host,
    };
    if host.is_empty() {
        return Err(uri_error(host_uri, "has no host"));
    }
    // Only digits and dots: this can only be meant as an IPv4 address.
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host
            .parse::<Ipv4Addr>()
            .map(|_| ())
            .map_err(|_| uri_error(host_uri, format!("{host:?} is not an IPv4 address")));
    }
    if host.len() > MAX_DNS_NAME_LEN {
        return Err(uri_error(
            host_uri,
            format!(
                "host name is {} characters (at most {MAX_DNS_NAME_LEN})",
                host.len()
            ),
        ));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err(uri_error(
                host_uri,
                format!("host {host:?} has an empty label"),
            ));
        }
        if label.len() > MAX_DNS_LABEL_LEN {
            return Err(uri_error(
                host_uri,
                format!("host label {label:?} is longer than {MAX_DNS_LABEL_LEN} characters"),
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(uri_error(
                host_uri,
                format!("host label {label:?} contains {c:?} (allowed: a-z A-Z 0-9 -)"),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(uri_error(
                host_uri,
                format!("host label {label:?} starts or ends with '-'"),
            ));
        }
    }
    Ok(())
}

fn validate_port(host_uri: &str, port: &str) -> Result<(), ContractError> {
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(uri_error(
            host_uri,
            format!("port {port:?} is not a number in 1..=65535"),
        ));
    }
    match port.parse::<u32>() {
        Ok(n) if (1..=65_535).contains(&n) => Ok(()),
        _ => Err(uri_error(
            host_uri,
            format!("port {port:?} is not a number in 1..=65535"),
        )),
    }
}

/// Checks the attributes and returns them sorted by key.
pub fn validate_attributes(
    mut attributes: Vec<Attribute>,
) -> Result<Vec<Attribute>, ContractError> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(ContractError::TooManyAttributes {
            count: attributes.len(),
            max: MAX_ATTRIBUTES,
        });
    }
    for attribute in &attributes {
        validate_attribute(attribute)?;
    }
    attributes.sort_by(|a, b| a.key.cmp(&b.key));
    if let Some(pair) = attributes.windows(2).find(|w| w[0].key == w[1].key) {
        return Err(ContractError::DuplicateAttributeKey {
            key: pair[0].key.clone(),
        });
    }
    Ok(attributes)
}

fn validate_attribute(attribute: &Attribute) -> Result<(), ContractError> {
    let key = &attribute.key;
    let key_error = |reason: String| ContractError::InvalidAttributeKey {
        key: quoted(key),
        reason,
    };
    if key.is_empty() || key.len() > MAX_ATTRIBUTE_KEY_LEN {
        return Err(key_error(format!(
            "{} characters (must be 1..={MAX_ATTRIBUTE_KEY_LEN})",
            key.chars().count()
        )));
    }
    if let Some(c) = key.chars().find(|c| {
        !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '/' | '-'))
    }) {
        return Err(key_error(format!(
            "contains {c:?} (allowed: a-z 0-9 . _ / -)"
        )));
    }
    let value = &attribute.value;
    let value_error = |reason: String| ContractError::InvalidAttributeValue {
        key: key.clone(),
        value: quoted(value),
        reason,
    };
    if value.is_empty() || value.len() > MAX_ATTRIBUTE_VALUE_LEN {
        return Err(value_error(format!(
            "{} characters (must be 1..={MAX_ATTRIBUTE_VALUE_LEN})",
            value.chars().count()
        )));
    }
    if let Some(c) = value.chars().find(|c| !(*c == ' ' || c.is_ascii_graphic())) {
        return Err(value_error(format!(
            "contains {c:?} (only printable ASCII, no control characters)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason_of(uri: &str) -> String {
        match validate_host_uri(uri) {
            Err(ContractError::InvalidHostUri { host_uri, reason }) => {
                assert_eq!(host_uri, uri, "the error names the refused URI");
                reason
            }
            other => panic!("{uri:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn host_uri_accepts_dns_ipv4_ipv6_ports_and_paths() {
        for uri in [
            "https://provider.example.com",
            "https://provider.example.com:8443",
            "https://provider.example.com/",
            "https://provider.example.com:8443/gateway/v1",
            "https://Provider-1.EXAMPLE.com",
            "https://localhost",
            "https://a",
            "https://10.0.0.1",
            "https://10.0.0.1:443",
            "https://[::1]",
            "https://[2001:db8::1]:8443/x",
            "https://host:1",
            "https://host:65535",
        ] {
            assert_eq!(validate_host_uri(uri), Ok(()), "{uri}");
        }
    }

    #[test]
    fn host_uri_refuses_bad_uris_naming_the_value() {
        let cases: &[(&str, &str)] = &[
            ("http://provider.example.com", "https://"),
            ("HTTPS://provider.example.com", "https://"),
            ("provider.example.com", "https://"),
            ("ftp://provider.example.com", "https://"),
            ("https://", "no host"),
            ("https:///path", "no host"),
            ("https://:8443", "no host"),
            ("https://user@provider.example.com", "userinfo"),
            ("https://user:pw@provider.example.com", "userinfo"),
            ("https://provider.example.com:0", "port \"0\""),
            ("https://provider.example.com:65536", "port \"65536\""),
            ("https://provider.example.com:", "port \"\""),
            ("https://provider.example.com:abc", "port \"abc\""),
            ("https://provider.example.com:8443:1", "port \"8443:1\""),
            ("https://provider.example.com:-1", "port \"-1\""),
            ("https://provider.example.com:0000443", "port \"0000443\""),
            ("https://provider example.com", "' '"),
            ("https://provider.example.com\n", "'\\n'"),
            ("https://provider.example.com\t/x", "'\\t'"),
            ("https://prov\u{e9}der.example.com", "'é'"),
            ("https://provider..example.com", "empty label"),
            ("https://provider.example.com.", "empty label"),
            ("https://.example.com", "empty label"),
            ("https://-provider.example.com", "starts or ends with '-'"),
            ("https://provider-.example.com", "starts or ends with '-'"),
            ("https://prov_ider.example.com", "'_'"),
            ("https://provider.example.com%2f", "'%'"),
            ("https://999.1.1.1", "not an IPv4"),
            ("https://1.2.3", "not an IPv4"),
            ("https://[::1", "closing ']'"),
            ("https://[not-ipv6]", "not an IPv6"),
            ("https://[::1]x", "after the IPv6 host"),
            ("https://[::1]:0", "port \"0\""),
            ("https://provider.example.com/?q=1", "query"),
            ("https://provider.example.com?q=1", "query"),
            ("https://provider.example.com#frag", "query"),
        ];
        for (uri, expected) in cases {
            let reason = reason_of(uri);
            assert!(
                reason.contains(expected),
                "{uri:?}: reason {reason:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn host_uri_length_is_bounded() {
        let label = "a".repeat(60);
        let mut uri = String::from("https://");
        while uri.len() + label.len() < MAX_HOST_URI_LEN - 10 {
            uri.push_str(&label);
            uri.push('.');
        }
        uri.push_str("com");
        assert!(uri.len() <= MAX_HOST_URI_LEN);
        assert_eq!(validate_host_uri(&uri), Ok(()));

        let long = format!("https://example.com/{}", "p".repeat(MAX_HOST_URI_LEN));
        assert!(reason_of(&long).contains("bytes long"));

        let long_label = format!("https://{}.com", "a".repeat(64));
        assert!(reason_of(&long_label).contains("longer than 63"));
    }

    #[test]
    fn attributes_are_sorted_and_checked() {
        let sorted = validate_attributes(vec![
            Attribute::new("region", "us-west"),
            Attribute::new("capabilities/gpu", "nvidia a100"),
            Attribute::new("tier", "community"),
        ])
        .unwrap();
        let keys: Vec<_> = sorted.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["capabilities/gpu", "region", "tier"]);
        assert_eq!(validate_attributes(vec![]), Ok(vec![]));
    }

    #[test]
    fn attribute_errors_name_the_value() {
        let too_many = (0..=MAX_ATTRIBUTES)
            .map(|i| Attribute::new(format!("k{i}"), "v"))
            .collect();
        assert_eq!(
            validate_attributes(too_many),
            Err(ContractError::TooManyAttributes {
                count: MAX_ATTRIBUTES + 1,
                max: MAX_ATTRIBUTES
            })
        );
        assert_eq!(
            validate_attributes(vec![
                Attribute::new("region", "a"),
                Attribute::new("tier", "b"),
                Attribute::new("region", "c"),
            ]),
            Err(ContractError::DuplicateAttributeKey {
                key: "region".into()
            })
        );
        for key in [
            "Region",
            "re gion",
            "región",
            "a=b",
            "a:b",
            "",
            &"k".repeat(65),
        ] {
            match validate_attributes(vec![Attribute::new(key, "v")]) {
                Err(ContractError::InvalidAttributeKey { key: named, .. }) => {
                    assert_eq!(named, key)
                }
                other => panic!("key {key:?} should be refused, got {other:?}"),
            }
        }
        for value in [
            "",
            "a\nb",
            "tab\there",
            "\u{7f}",
            "caf\u{e9}",
            &"v".repeat(129),
        ] {
            match validate_attributes(vec![Attribute::new("k", value)]) {
                Err(ContractError::InvalidAttributeValue {
                    key, value: named, ..
                }) => {
                    assert_eq!(key, "k");
                    assert_eq!(named, value);
                }
                other => panic!("value {value:?} should be refused, got {other:?}"),
            }
        }
        // Boundaries that are accepted.
        let max_key = "a.b_c/d-0".repeat(8)[..MAX_ATTRIBUTE_KEY_LEN].to_string();
        let max_value = "~ !".repeat(50)[..MAX_ATTRIBUTE_VALUE_LEN].to_string();
        assert!(validate_attributes(vec![Attribute::new(max_key, max_value)]).is_ok());
        let max_count: Vec<_> = (0..MAX_ATTRIBUTES)
            .map(|i| Attribute::new(format!("k{i:02}"), "v"))
            .collect();
        assert_eq!(
            validate_attributes(max_count).map(|a| a.len()),
            Ok(MAX_ATTRIBUTES)
        );
    }
}
