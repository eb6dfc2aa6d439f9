//! The daemon's configuration: one TOML file (see `examples/provider.toml`) whose every field
//! can be overridden by an environment variable `AKASH_PROVIDER_<SECTION>_<FIELD>`.
//!
//! Loading checks everything it can without the network (field types, required fields, the
//! attribute syntax, the rate card, fractions and intervals) and names the field in every error.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use akash_types::common::Attribute;
use cosmwasm_std::{Decimal, Uint128};
use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

/// Prefix of the environment variables that override fields of the file.
pub const ENV_PREFIX: &str = "AKASH_PROVIDER_";

/// Default account of the embedded chain (one of its genesis accounts).
pub const DEFAULT_EMBEDDED_ACCOUNT: &str = "provider1";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("reading config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The TOML does not parse or does not fit the fields; toml's message names the key and
    /// shows the line.
    #[error("config {origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("environment variable {variable}: {reason}")]
    Env { variable: String, reason: String },
    #[error("config field {field}: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub chain: ChainConfig,
    /// Where the daemon keeps what neither the chain nor Docker knows: the provider's root
    /// certificate and key, and the verified manifest documents (`manifests/<sha256>.json`).
    pub data_dir: PathBuf,
    pub gateway: GatewaySettings,
    /// Provider attributes published at registration, each `key=value`.
    #[serde(default)]
    pub attributes: Vec<String>,
    pub pricing: RateCardConfig,
    #[serde(default)]
    pub capacity: CapacityConfig,
    /// How often accrued earnings of every active lease are withdrawn.
    #[serde(default = "default_withdraw_interval_secs")]
    pub withdraw_interval_secs: u64,
    /// A won lease whose manifest has not arrived this long after the daemon saw it is closed.
    #[serde(default = "default_manifest_timeout_secs")]
    pub manifest_timeout_secs: u64,
    /// Period of the scan of open orders (catches orders whose event was missed).
    #[serde(default = "default_order_scan_interval_secs")]
    pub order_scan_interval_secs: u64,
    /// Period of the lease check: leases that ended or changed on chain, leases to complete.
    #[serde(default = "default_lease_check_interval_secs")]
    pub lease_check_interval_secs: u64,
}

fn default_withdraw_interval_secs() -> u64 {
    3600
}
fn default_manifest_timeout_secs() -> u64 {
    600
}
fn default_order_scan_interval_secs() -> u64 {
    30
}
fn default_lease_check_interval_secs() -> u64 {
    30
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainKind {
    /// A real wasmd node.
    Wasmd,
    /// An in-process chain started by the daemon itself (local sandbox only).
    Embedded,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    pub kind: ChainKind,
    /// wasmd: the deployment JSON written by `scripts/deploy.sh` (contracts, and defaults for
    /// the three fields below).
    pub deployment: Option<PathBuf>,
    /// wasmd: CometBFT RPC URL; overrides the deployment's.
    pub rpc_url: Option<String>,
    /// wasmd: overrides the deployment's.
    pub chain_id: Option<String>,
    /// wasmd: e.g. `0.025ustake`; overrides the deployment's.
    pub gas_price: Option<String>,
    /// wasmd: file holding the BIP39 mnemonic of the provider's key.
    pub mnemonic_file: Option<PathBuf>,
    /// wasmd: file holding the provider's raw secp256k1 private key in hex.
    pub private_key_file: Option<PathBuf>,
    /// embedded: the genesis account the daemon acts as (default `provider1`).
    pub account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    /// Address the HTTPS gateway listens on, e.g. `0.0.0.0:8443`.
    pub listen_address: SocketAddr,
    /// The https URI tenants reach the gateway at; registered on chain.
    pub host_uri: String,
}

/// Prices in token base units **per second**; a bid's price is
/// `max(minimum, ceil(count x (cpu_milli x cpu_millis + memory_mib x MiB + storage_gib x GiB
/// + bandwidth_mibps x MiB/s)))` of the order's unit resources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateCardConfig {
    /// Per thousandth of a CPU core.
    #[serde(deserialize_with = "decimal_from_toml")]
    pub cpu_milli: Decimal,
    /// Per MiB of memory.
    #[serde(deserialize_with = "decimal_from_toml")]
    pub memory_mib: Decimal,
    /// Per GiB of storage.
    #[serde(default, deserialize_with = "decimal_from_toml")]
    pub storage_gib: Decimal,
    /// Per MiB/s of sustained bandwidth.
    #[serde(default, deserialize_with = "decimal_from_toml")]
    pub bandwidth_mibps: Decimal,
    /// Lowest price bid for any order, whatever its size.
    #[serde(default, deserialize_with = "uint_from_toml")]
    pub minimum: Uint128,
}

/// What part of the host is offered to tenants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityConfig {
    /// Fraction (0, 1] of the host's CPU and memory (or of the overrides) that is offered;
    /// the rest stays for the host itself.
    #[serde(default = "default_offer_fraction")]
    pub offer_fraction: f64,
    /// Replaces the CPU the Docker host reports, thousandths of a core.
    pub cpu_millis: Option<u64>,
    /// Replaces the memory the Docker host reports, MiB.
    pub memory_mib: Option<u64>,
    /// Storage offered, GiB; no limit when absent (the runtime does not measure disks).
    pub storage_gib: Option<u64>,
    /// Bandwidth offered, MiB/s; no limit when absent.
    pub bandwidth_mibps: Option<u64>,
}

fn default_offer_fraction() -> f64 {
    1.0
}

impl Default for CapacityConfig {
    fn default() -> Self {
        CapacityConfig {
            offer_fraction: default_offer_fraction(),
            cpu_millis: None,
            memory_mib: None,
            storage_gib: None,
            bandwidth_mibps: None,
        }
    }
}

/// Accepts `"0.001"`, `0.001` and `3`: TOML floats would lose precision, strings do not.
fn decimal_from_toml<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Integer(u64),
        Float(f64),
    }
    let text = match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Integer(value) => value.to_string(),
        Raw::Float(value) => value.to_string(),
    };
    Decimal::from_str(text.trim()).map_err(|e| {
        serde::de::Error::custom(format!(
            "price {text:?} is not a non-negative decimal number: {e}"
        ))
    })
}

fn uint_from_toml<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uint128, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Integer(u64),
    }
    let text = match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Integer(value) => value.to_string(),
    };
    Uint128::from_str(text.trim()).map_err(|e| {
        serde::de::Error::custom(format!("amount {text:?} is not a whole number: {e}"))
    })
}

/// How an environment variable's text becomes a TOML value.
#[derive(Clone, Copy, Debug)]
enum EnvKind {
    Text,
    Integer,
    Float,
    /// Comma-separated list of strings.
    List,
}

/// Every field that can be overridden, by its dotted path in the file. The variable is
/// `AKASH_PROVIDER_` + the path in upper case with `.` replaced by `_`.
const ENV_FIELDS: &[(&str, EnvKind)] = &[
    ("chain.kind", EnvKind::Text),
    ("chain.deployment", EnvKind::Text),
    ("chain.rpc_url", EnvKind::Text),
    ("chain.chain_id", EnvKind::Text),
    ("chain.gas_price", EnvKind::Text),
    ("chain.mnemonic_file", EnvKind::Text),
    ("chain.private_key_file", EnvKind::Text),
    ("chain.account", EnvKind::Text),
    ("data_dir", EnvKind::Text),
    ("gateway.listen_address", EnvKind::Text),
    ("gateway.host_uri", EnvKind::Text),
    ("attributes", EnvKind::List),
    ("pricing.cpu_milli", EnvKind::Text),
    ("pricing.memory_mib", EnvKind::Text),
    ("pricing.storage_gib", EnvKind::Text),
    ("pricing.bandwidth_mibps", EnvKind::Text),
    ("pricing.minimum", EnvKind::Text),
    ("capacity.offer_fraction", EnvKind::Float),
    ("capacity.cpu_millis", EnvKind::Integer),
    ("capacity.memory_mib", EnvKind::Integer),
    ("capacity.storage_gib", EnvKind::Integer),
    ("capacity.bandwidth_mibps", EnvKind::Integer),
    ("withdraw_interval_secs", EnvKind::Integer),
    ("manifest_timeout_secs", EnvKind::Integer),
    ("order_scan_interval_secs", EnvKind::Integer),
    ("lease_check_interval_secs", EnvKind::Integer),
];

/// The environment variable that overrides the field at `path` (e.g. `chain.rpc_url` gives
/// `AKASH_PROVIDER_CHAIN_RPC_URL`).
pub fn env_variable_for(path: &str) -> String {
    format!(
        "{ENV_PREFIX}{}",
        path.replace('.', "_").to_ascii_uppercase()
    )
}

impl ProviderConfig {
    /// Reads `path` and applies the process environment's overrides.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_with_env(&text, &path.display().to_string(), std::env::vars())
    }

    /// Parses `text` (named `origin` in errors), applies the `AKASH_PROVIDER_*` variables
    /// among `env`, and checks the result. An `AKASH_PROVIDER_*` variable that names no field
    /// is an error (a typo would otherwise be ignored silently).
    pub fn from_toml_with_env(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let overrides: BTreeMap<String, String> = env
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        let config: ProviderConfig = if overrides.is_empty() {
            // Straight from the user's text, so toml's line numbers are the file's.
            toml::from_str(text).map_err(|e| ConfigError::Parse {
                origin: origin.to_string(),
                message: e.to_string(),
            })?
        } else {
            let mut document: toml::Table =
                toml::from_str(text).map_err(|e| ConfigError::Parse {
                    origin: origin.to_string(),
                    message: e.to_string(),
                })?;
            for (variable, value) in &overrides {
                apply_override(&mut document, variable, value)?;
            }
            // Re-read through text so errors keep toml's key names and snippets.
            let merged = toml::to_string(&document).map_err(|e| ConfigError::Parse {
                origin: format!("{origin} with environment overrides"),
                message: e.to_string(),
            })?;
            toml::from_str(&merged).map_err(|e| ConfigError::Parse {
                origin: format!("{origin} with environment overrides"),
                message: e.to_string(),
            })?
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types alone do not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.chain.validate()?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        let uri = &self.gateway.host_uri;
        let host = uri.strip_prefix("https://").unwrap_or("");
        if host.is_empty() || host.starts_with('/') || uri.chars().any(char::is_whitespace) {
            return Err(invalid(
                "gateway.host_uri",
                format!("{uri:?} must be an https:// URI with a host, e.g. https://provider.example.com:8443"),
            ));
        }
        self.attributes()?;
        let fraction = self.capacity.offer_fraction;
        if !(fraction > 0.0 && fraction <= 1.0) {
            return Err(invalid(
                "capacity.offer_fraction",
                format!("{fraction} must be greater than 0 and at most 1"),
            ));
        }
        for (field, value) in [
            ("withdraw_interval_secs", self.withdraw_interval_secs),
            ("manifest_timeout_secs", self.manifest_timeout_secs),
            ("order_scan_interval_secs", self.order_scan_interval_secs),
            ("lease_check_interval_secs", self.lease_check_interval_secs),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1 second"));
            }
        }
        let pricing = &self.pricing;
        if pricing.cpu_milli.is_zero()
            && pricing.memory_mib.is_zero()
            && pricing.storage_gib.is_zero()
            && pricing.bandwidth_mibps.is_zero()
            && pricing.minimum.is_zero()
        {
            return Err(invalid(
                "pricing",
                "every rate and the minimum are 0: the provider would bid 0, which the market refuses",
            ));
        }
        Ok(())
    }

    /// The attributes as the registry takes them, in file order.
    pub fn attributes(&self) -> Result<Vec<Attribute>, ConfigError> {
        let mut attributes: Vec<Attribute> = Vec::with_capacity(self.attributes.len());
        for (index, entry) in self.attributes.iter().enumerate() {
            let field = format!("attributes[{index}]");
            let Some((key, value)) = entry.split_once('=') else {
                return Err(invalid(
                    &field,
                    format!("{entry:?} must be key=value, e.g. region=us-west"),
                ));
            };
            let (key, value) = (key.trim(), value.trim());
            let key_ok = !key.is_empty()
                && key.len() <= akash_types::registry::MAX_ATTRIBUTE_KEY_LEN
                && key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._/-".contains(c));
            if !key_ok {
                return Err(invalid(
                    &field,
                    format!(
                        "key {key:?} must be 1 to {} of a-z 0-9 . _ / -",
                        akash_types::registry::MAX_ATTRIBUTE_KEY_LEN
                    ),
                ));
            }
            let value_ok = !value.is_empty()
                && value.len() <= akash_types::registry::MAX_ATTRIBUTE_VALUE_LEN
                && value.chars().all(|c| c.is_ascii_graphic() || c == ' ');
            if !value_ok {
                return Err(invalid(
                    &field,
                    format!(
                        "value {value:?} must be 1 to {} printable ASCII characters",
                        akash_types::registry::MAX_ATTRIBUTE_VALUE_LEN
                    ),
                ));
            }
            if attributes.iter().any(|a| a.key == key) {
                return Err(invalid(&field, format!("key {key:?} appears twice")));
            }
            attributes.push(Attribute::new(key, value));
        }
        Ok(attributes)
    }

    pub fn withdraw_interval(&self) -> Duration {
        Duration::from_secs(self.withdraw_interval_secs)
    }

    pub fn manifest_timeout(&self) -> Duration {
        Duration::from_secs(self.manifest_timeout_secs)
    }

    pub fn order_scan_interval(&self) -> Duration {
        Duration::from_secs(self.order_scan_interval_secs)
    }

    pub fn lease_check_interval(&self) -> Duration {
        Duration::from_secs(self.lease_check_interval_secs)
    }

    /// Directory of the verified manifest documents.
    pub fn manifest_dir(&self) -> PathBuf {
        self.data_dir.join("manifests")
    }

    /// The host of `gateway.host_uri` (no scheme, port or path): the name tenants reach the
    /// provider by, put in the gateway's certificate and in the endpoints of lease status.
    pub fn public_host(&self) -> String {
        let authority = self
            .gateway
            .host_uri
            .trim_start_matches("https://")
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            // [v6 address]:port
            Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
            None => authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host),
        };
        host.to_string()
    }
}

impl ChainConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        match self.kind {
            ChainKind::Wasmd => {
                if self.deployment.is_none() {
                    return Err(invalid(
                        "chain.deployment",
                        "required for kind = \"wasmd\": the deployment JSON written by scripts/deploy.sh",
                    ));
                }
                match (&self.mnemonic_file, &self.private_key_file) {
                    (Some(_), Some(_)) => {
                        return Err(invalid(
                            "chain.mnemonic_file",
                            "set either mnemonic_file or private_key_file, not both",
                        ))
                    }
                    (None, None) => {
                        return Err(invalid(
                            "chain.mnemonic_file",
                            "kind = \"wasmd\" needs the provider's key: set mnemonic_file or private_key_file",
                        ))
                    }
                    _ => {}
                }
                if let Some(price) = &self.gas_price {
                    akash_chain_client::GasPrice::from_str(price)
                        .map_err(|e| invalid("chain.gas_price", e.to_string()))?;
                }
                if let Some(url) = &self.rpc_url {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(invalid(
                            "chain.rpc_url",
                            format!("{url:?} must start with http:// or https://"),
                        ));
                    }
                }
                if self.account.is_some() {
                    return Err(invalid(
                        "chain.account",
                        "only for kind = \"embedded\"; a wasmd account comes from its key",
                    ));
                }
            }
            ChainKind::Embedded => {
                if let Some(account) = &self.account {
                    if account.trim().is_empty() {
                        return Err(invalid("chain.account", "must not be empty"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The embedded chain's account name.
    pub fn embedded_account(&self) -> &str {
        self.account.as_deref().unwrap_or(DEFAULT_EMBEDDED_ACCOUNT)
    }
}

fn apply_override(
    document: &mut toml::Table,
    variable: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let Some((path, kind)) = ENV_FIELDS
        .iter()
        .find(|(path, _)| env_variable_for(path) == variable)
    else {
        let known: Vec<String> = ENV_FIELDS
            .iter()
            .map(|(path, _)| env_variable_for(path))
            .collect();
        return Err(ConfigError::Env {
            variable: variable.to_string(),
            reason: format!("names no config field; known: {}", known.join(", ")),
        });
    };
    let env_error = |reason: String| ConfigError::Env {
        variable: variable.to_string(),
        reason,
    };
    let parsed = match kind {
        EnvKind::Text => toml::Value::String(value.to_string()),
        EnvKind::Integer => toml::Value::Integer(
            value
                .trim()
                .parse::<i64>()
                .map_err(|e| env_error(format!("{value:?} is not an integer: {e}")))?,
        ),
        EnvKind::Float => toml::Value::Float(
            value
                .trim()
                .parse::<f64>()
                .map_err(|e| env_error(format!("{value:?} is not a number: {e}")))?,
        ),
        EnvKind::List => toml::Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| toml::Value::String(item.to_string()))
                .collect(),
        ),
    };
    let mut table = document;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        if keys.peek().is_none() {
            table.insert(key.to_string(), parsed);
            break;
        }
        let entry = table
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = entry.as_table_mut().ok_or_else(|| {
            env_error(format!(
                "config key {key:?} is not a table, cannot set {path}"
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
data_dir = "/var/lib/akash-provider"
attributes = ["region=us-west", "tier=community"]

[chain]
kind = "wasmd"
deployment = "/etc/akash/deployment.json"
mnemonic_file = "/etc/akash/provider.mnemonic"

[gateway]
listen_address = "0.0.0.0:8443"
host_uri = "https://provider.example.com:8443"

[pricing]
cpu_milli = "0.001"
memory_mib = 0.0005
minimum = 1
"#;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<ProviderConfig, ConfigError> {
        ProviderConfig::from_toml_with_env(
            text,
            "test.toml",
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    fn error_of(text: &str, env: &[(&str, &str)]) -> String {
        load(text, env).unwrap_err().to_string()
    }

    #[test]
    fn minimal_file_loads_with_defaults() {
        let config = load(MINIMAL, &[]).unwrap();
        assert_eq!(config.chain.kind, ChainKind::Wasmd);
        assert_eq!(
            config.attributes().unwrap(),
            vec![
                Attribute::new("region", "us-west"),
                Attribute::new("tier", "community")
            ]
        );
        assert_eq!(
            config.pricing.cpu_milli,
            Decimal::from_str("0.001").unwrap()
        );
        assert_eq!(
            config.pricing.memory_mib,
            Decimal::from_str("0.0005").unwrap()
        );
        assert_eq!(config.pricing.storage_gib, Decimal::zero());
        assert_eq!(config.pricing.minimum, Uint128::new(1));
        assert_eq!(config.capacity, CapacityConfig::default());
        assert_eq!(config.withdraw_interval(), Duration::from_secs(3600));
        assert_eq!(config.manifest_timeout(), Duration::from_secs(600));
        assert_eq!(
            config.manifest_dir(),
            PathBuf::from("/var/lib/akash-provider/manifests")
        );
    }

    #[test]
    fn environment_overrides_fields_at_every_depth() {
        let config = load(
            MINIMAL,
            &[
                ("AKASH_PROVIDER_CHAIN_RPC_URL", "http://10.0.0.1:26657"),
                ("AKASH_PROVIDER_PRICING_CPU_MILLI", "0.5"),
                ("AKASH_PROVIDER_CAPACITY_OFFER_FRACTION", "0.75"),
                ("AKASH_PROVIDER_CAPACITY_CPU_MILLIS", "8000"),
                ("AKASH_PROVIDER_ATTRIBUTES", "region=eu, gpu=none"),
                ("AKASH_PROVIDER_WITHDRAW_INTERVAL_SECS", "60"),
                ("UNRELATED", "x"),
            ],
        )
        .unwrap();
        assert_eq!(
            config.chain.rpc_url.as_deref(),
            Some("http://10.0.0.1:26657")
        );
        assert_eq!(config.pricing.cpu_milli, Decimal::from_str("0.5").unwrap());
        assert_eq!(config.capacity.offer_fraction, 0.75);
        assert_eq!(config.capacity.cpu_millis, Some(8000));
        assert_eq!(config.attributes, vec!["region=eu", "gpu=none"]);
        assert_eq!(config.withdraw_interval_secs, 60);
    }

    #[test]
    fn errors_name_the_field() {
        let unknown_variable = error_of(MINIMAL, &[("AKASH_PROVIDER_CHAIN_RPC", "x")]);
        assert!(
            unknown_variable.contains("AKASH_PROVIDER_CHAIN_RPC:")
                && unknown_variable.contains("AKASH_PROVIDER_CHAIN_RPC_URL"),
            "{unknown_variable}"
        );
        let not_integer = error_of(MINIMAL, &[("AKASH_PROVIDER_CAPACITY_CPU_MILLIS", "lots")]);
        assert!(
            not_integer.contains("AKASH_PROVIDER_CAPACITY_CPU_MILLIS")
                && not_integer.contains("lots"),
            "{not_integer}"
        );

        let typo = error_of(&MINIMAL.replace("cpu_milli", "cpu_mili"), &[]);
        assert!(typo.contains("cpu_mili"), "{typo}");
        let missing = error_of(&MINIMAL.replace("host_uri", "# host_uri"), &[]);
        assert!(missing.contains("host_uri"), "{missing}");
        let bad_price = error_of(&MINIMAL.replace("\"0.001\"", "\"cheap\""), &[]);
        assert!(bad_price.contains("cheap"), "{bad_price}");
        let bad_kind = error_of(&MINIMAL.replace("\"wasmd\"", "\"cosmos\""), &[]);
        assert!(bad_kind.contains("cosmos"), "{bad_kind}");

        let bad_attribute = error_of(MINIMAL, &[("AKASH_PROVIDER_ATTRIBUTES", "region")]);
        assert!(bad_attribute.contains("attributes[0]"), "{bad_attribute}");
        let upper_key = error_of(MINIMAL, &[("AKASH_PROVIDER_ATTRIBUTES", "Region=x")]);
        assert!(upper_key.contains("\"Region\""), "{upper_key}");
        let fraction = error_of(
            MINIMAL,
            &[("AKASH_PROVIDER_CAPACITY_OFFER_FRACTION", "1.5")],
        );
        assert!(fraction.contains("capacity.offer_fraction"), "{fraction}");
        let http = error_of(MINIMAL, &[("AKASH_PROVIDER_GATEWAY_HOST_URI", "http://x")]);
        assert!(http.contains("gateway.host_uri"), "{http}");
        let zero = error_of(MINIMAL, &[("AKASH_PROVIDER_MANIFEST_TIMEOUT_SECS", "0")]);
        assert!(zero.contains("manifest_timeout_secs"), "{zero}");
        let no_key = error_of(&MINIMAL.replace("mnemonic_file", "# mnemonic_file"), &[]);
        assert!(no_key.contains("chain.mnemonic_file"), "{no_key}");
        let gas = error_of(MINIMAL, &[("AKASH_PROVIDER_CHAIN_GAS_PRICE", "0.025")]);
        assert!(gas.contains("chain.gas_price"), "{gas}");
    }

    #[test]
    fn public_host_is_the_host_of_the_uri() {
        let with = |uri: &str| {
            let mut config = load(MINIMAL, &[]).unwrap();
            config.gateway.host_uri = uri.to_string();
            config.public_host()
        };
        assert_eq!(
            with("https://provider.example.com:8443"),
            "provider.example.com"
        );
        assert_eq!(with("https://10.0.0.7/akash"), "10.0.0.7");
        assert_eq!(with("https://[2001:db8::1]:8443"), "2001:db8::1");
    }

    #[test]
    fn embedded_chain_needs_no_key() {
        let text = MINIMAL
            .replace("\"wasmd\"", "\"embedded\"")
            .replace("deployment =", "# deployment =")
            .replace("mnemonic_file =", "# mnemonic_file =");
        let config = load(&text, &[]).unwrap();
        assert_eq!(config.chain.embedded_account(), DEFAULT_EMBEDDED_ACCOUNT);
    }

    #[test]
    fn example_file_loads() {
        let text = include_str!("../../examples/provider.toml");
        let config = load(text, &[]).unwrap();
        assert!(!config.attributes().unwrap().is_empty());
    }
}
