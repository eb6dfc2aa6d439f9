//! Akash SDL 2.0: reads services, profiles and deployment (plus our `x-akash` extension),
//! checks every key, value and reference, and splits the result into placement groups.

use std::collections::{BTreeMap, BTreeSet};

use akash_types::market::{
    MAX_BID_WINDOW_SECS, MAX_LEASE_DURATION_SECS, MAX_ORDER_COUNT, MAX_REQUIRED_ATTRIBUTES,
    MIN_BID_WINDOW_SECS,
};
use akash_types::registry::{MAX_ATTRIBUTE_KEY_LEN, MAX_ATTRIBUTE_VALUE_LEN, MAX_REPUTATION};
use akash_types::Attribute;

use crate::document::{check_env_key, check_image, check_no_nul, check_service_name, Proto};
use crate::error::{Position, SdlError, SdlErrorKind};
use crate::group::{build_group, GroupInput, GroupService, OrderParams, PlacementGroup};
use crate::read::{
    boolean, check_keys, error, find, index, join, map, non_empty_map, parsed, require, seq,
    strings, text,
};
use crate::units::{
    parse_amount, parse_cpu_millis, parse_duration_secs, parse_size_bytes, parse_u64,
};
use crate::yaml::{self, Node};

/// Largest SDL file accepted.
pub const MAX_SDL_BYTES: usize = 1 << 20;
/// The only `version` accepted.
pub const SDL_VERSION: &str = "2.0";
/// Most CPU one service instance may ask for (384 cores, Akash's limit).
pub const MAX_CPU_MILLIS: u64 = 384_000;
/// Longest compute or placement profile name.
pub const MAX_PROFILE_NAME_LEN: usize = 63;

/// Lease duration when `x-akash.lease_duration` is not given: one day.
pub const DEFAULT_LEASE_DURATION_SECS: u64 = 24 * 3600;
/// Bidding window when `x-akash.bid_window` is not given.
pub const DEFAULT_BID_WINDOW_SECS: u64 = 60;
/// Bandwidth per service instance when `x-akash.bandwidth` is not given: no requirement.
pub const DEFAULT_BANDWIDTH_BYTES_PER_SEC: u64 = 0;

const TOP_KEYS: &[&str] = &["version", "services", "profiles", "deployment", "x-akash"];
const TOP_UNSUPPORTED: &[&str] = &["endpoints", "include"];
const SERVICE_KEYS: &[&str] = &["image", "command", "args", "env", "expose"];
const SERVICE_UNSUPPORTED: &[&str] = &["depends-on", "dependencies", "params", "credentials"];
const EXPOSE_KEYS: &[&str] = &["port", "as", "proto", "to"];
const EXPOSE_UNSUPPORTED: &[&str] = &["accept", "http_options"];
const TARGET_KEYS: &[&str] = &["service", "global"];
const TARGET_UNSUPPORTED: &[&str] = &["ip"];
const RESOURCE_KEYS: &[&str] = &["cpu", "memory", "storage", "gpu"];
const PLACEMENT_KEYS: &[&str] = &["attributes", "signedBy", "pricing", "x-akash"];
const EXTENSION_KEYS: &[&str] = &[
    "lease_duration",
    "bid_window",
    "bandwidth",
    "min_stake",
    "min_reputation",
];

/// A parsed and validated SDL: its placement groups, each ready to become an order.
#[derive(Clone, Debug, PartialEq)]
pub struct Sdl {
    groups: Vec<PlacementGroup>,
}

/// Another name for [`Sdl`].
pub type ParsedSdl = Sdl;

impl Sdl {
    /// One group per placement profile used in `deployment`, sorted by placement name.
    pub fn groups(&self) -> Vec<PlacementGroup> {
        self.groups.clone()
    }

    /// The group of placement profile `name`.
    pub fn group(&self, name: &str) -> Option<&PlacementGroup> {
        self.groups.iter().find(|g| g.name() == name)
    }
}

/// Parses and validates an SDL file.
pub fn parse_sdl(input: &str) -> Result<Sdl, SdlError> {
    if input.len() > MAX_SDL_BYTES {
        return Err(SdlError::new(
            SdlErrorKind::TooLarge,
            "",
            None,
            format!(
                "SDL is {} bytes, more than the limit of {MAX_SDL_BYTES}",
                input.len()
            ),
        ));
    }
    let Some(root) = yaml::parse(input)? else {
        return Err(SdlError::new(
            SdlErrorKind::Empty,
            "",
            Some(Position { line: 1, column: 1 }),
            "the SDL is empty",
        ));
    };
    let top = map(&root, "")?;
    check_keys(top, "", TOP_KEYS, TOP_UNSUPPORTED)?;

    let version = require(top, "version", "", &root)?;
    let seen = text(&version.value, "version")?;
    if seen != SDL_VERSION {
        return Err(error(
            SdlErrorKind::UnsupportedVersion,
            "version",
            version.value.pos,
            format!("only version \"{SDL_VERSION}\" is supported, got {seen:?}"),
        ));
    }

    let services = read_services(&require(top, "services", "", &root)?.value)?;
    let profiles_node = &require(top, "profiles", "", &root)?.value;
    let profiles = map(profiles_node, "profiles")?;
    check_keys(profiles, "profiles", &["compute", "placement"], &[])?;
    let compute = read_compute(&require(profiles, "compute", "profiles", profiles_node)?.value)?;
    let placements =
        read_placements(&require(profiles, "placement", "profiles", profiles_node)?.value)?;
    let defaults = match find(top, "x-akash") {
        Some(entry) => read_extension(&entry.value, "x-akash", &OrderParams::default())?,
        None => OrderParams::default(),
    };
    let deployments = read_deployment(
        &require(top, "deployment", "", &root)?.value,
        &services,
        &compute,
        &placements,
    )?;

    check_expose_targets(&services)?;
    check_all_deployed(&services, &deployments)?;
    check_pricing(&compute, &placements, &deployments)?;

    let mut groups = Vec::new();
    for (placement_name, placement) in &placements {
        let members: Vec<&DeploymentDef> = deployments
            .iter()
            .filter(|d| &d.placement == placement_name)
            .collect();
        if members.is_empty() {
            continue;
        }
        let params = match &placement.extension {
            Some(node) => read_extension(
                node,
                &format!("profiles.placement.{placement_name}.x-akash"),
                &defaults,
            )?,
            None => defaults.clone(),
        };
        let input = GroupInput {
            name: placement_name.clone(),
            path: format!("profiles.placement.{placement_name}"),
            pos: placement.key_pos,
            services: members
                .iter()
                .map(|d| group_service(d, &services, &compute))
                .collect(),
            peers_expose: services
                .iter()
                .map(|(name, s)| (name.clone(), s.expose.clone()))
                .collect(),
            prices: members
                .iter()
                .map(|d| d.profile.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(|profile| placement.pricing[profile].amount)
                .collect(),
            requirements_attributes: placement.attributes.clone(),
            params,
        };
        groups.push(build_group(input)?);
    }
    Ok(Sdl { groups })
}

fn group_service(
    deployment: &DeploymentDef,
    services: &BTreeMap<String, ServiceDef>,
    compute: &BTreeMap<String, ComputeDef>,
) -> GroupService {
    let service = &services[&deployment.service];
    GroupService {
        name: deployment.service.clone(),
        image: service.image.clone(),
        command: service.command.clone(),
        args: service.args.clone(),
        env: service.env.clone(),
        expose: service.expose.clone(),
        resources: compute[&deployment.profile].resources,
        count: deployment.count,
        path: deployment.path.clone(),
        pos: deployment.pos,
    }
}

// ---------------------------------------------------------------------------------------
// services

#[derive(Clone, Debug)]
pub(crate) struct ServiceDef {
    key_pos: Position,
    image: String,
    command: Vec<String>,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    expose: Vec<ExposeDef>,
}

#[derive(Clone, Debug)]
pub(crate) struct ExposeDef {
    pub port: u16,
    pub as_port: u16,
    pub proto: Proto,
    pub global: bool,
    pub targets: Vec<Target>,
}

#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub service: String,
    pub path: String,
    pub pos: Position,
}

fn read_services(node: &Node) -> Result<BTreeMap<String, ServiceDef>, SdlError> {
    let mut services = BTreeMap::new();
    for entry in non_empty_map(node, "services", "service")? {
        let path = join("services", &entry.key);
        check_service_name(&entry.key)
            .map_err(|reason| error(SdlErrorKind::InvalidName, &path, entry.key_pos, reason))?;
        let mut service = read_service(&entry.value, &path)?;
        service.key_pos = entry.key_pos;
        services.insert(entry.key.clone(), service);
    }
    Ok(services)
}

fn read_service(node: &Node, path: &str) -> Result<ServiceDef, SdlError> {
    let entries = map(node, path)?;
    check_keys(entries, path, SERVICE_KEYS, SERVICE_UNSUPPORTED)?;
    let image_entry = require(entries, "image", path, node)?;
    let image_path = join(path, "image");
    let image = text(&image_entry.value, &image_path)?.to_string();
    check_image(&image).map_err(|reason| {
        error(
            SdlErrorKind::InvalidImage,
            &image_path,
            image_entry.value.pos,
            reason,
        )
    })?;

    let mut lists = Vec::new();
    for key in ["command", "args"] {
        let list_path = join(path, key);
        let list = match find(entries, key) {
            Some(entry) => strings(&entry.value, &list_path)?,
            None => Vec::new(),
        };
        if let Some(i) = list.iter().position(|item| check_no_nul(item).is_err()) {
            let item_path = index(&list_path, i);
            let pos = find(entries, key).map(|e| e.value.pos).unwrap_or(node.pos);
            return Err(error(
                SdlErrorKind::WrongType,
                &item_path,
                pos,
                "contains a NUL character",
            ));
        }
        lists.push(list);
    }
    let args = lists.pop().unwrap_or_default();
    let command = lists.pop().unwrap_or_default();

    let env = match find(entries, "env") {
        Some(entry) => read_env(&entry.value, &join(path, "env"))?,
        None => BTreeMap::new(),
    };
    let expose = match find(entries, "expose") {
        Some(entry) => read_exposes(&entry.value, &join(path, "expose"))?,
        None => Vec::new(),
    };
    Ok(ServiceDef {
        key_pos: node.pos,
        image,
        command,
        args,
        env,
        expose,
    })
}

fn read_env(node: &Node, path: &str) -> Result<BTreeMap<String, String>, SdlError> {
    let mut env = BTreeMap::new();
    for (i, item) in seq(node, path)?.iter().enumerate() {
        let item_path = index(path, i);
        let line = text(item, &item_path)?;
        let Some((key, value)) = line.split_once('=') else {
            return Err(error(
                SdlErrorKind::InvalidEnv,
                &item_path,
                item.pos,
                format!("expected KEY=VALUE, got {line:?}"),
            ));
        };
        check_env_key(key)
            .and_then(|()| check_no_nul(value))
            .map_err(|reason| error(SdlErrorKind::InvalidEnv, &item_path, item.pos, reason))?;
        if env.insert(key.to_string(), value.to_string()).is_some() {
            return Err(error(
                SdlErrorKind::DuplicateKey,
                &item_path,
                item.pos,
                format!("environment variable {key:?} is set twice"),
            ));
        }
    }
    Ok(env)
}

fn read_port(node: &Node, path: &str) -> Result<u16, SdlError> {
    parsed(node, path, SdlErrorKind::InvalidPort, |value| {
        let port = parse_u64(value)?;
        u16::try_from(port)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| "port must be 1..=65535".to_string())
    })
}

fn read_exposes(node: &Node, path: &str) -> Result<Vec<ExposeDef>, SdlError> {
    let mut exposes: Vec<ExposeDef> = Vec::new();
    for (i, item) in seq(node, path)?.iter().enumerate() {
        let item_path = index(path, i);
        let expose = read_expose(item, &item_path)?;
        let clash = exposes.iter().find_map(|e| {
            if e.proto != expose.proto {
                None
            } else if e.port == expose.port {
                Some(format!("container port {}", e.port))
            } else if e.as_port == expose.as_port {
                Some(format!("port {} (as)", e.as_port))
            } else {
                None
            }
        });
        if let Some(what) = clash {
            return Err(error(
                SdlErrorKind::DuplicateExpose,
                &item_path,
                item.pos,
                format!("{what}/{} is already exposed", expose.proto.as_str()),
            ));
        }
        exposes.push(expose);
    }
    Ok(exposes)
}

fn read_expose(node: &Node, path: &str) -> Result<ExposeDef, SdlError> {
    let entries = map(node, path)?;
    check_keys(entries, path, EXPOSE_KEYS, EXPOSE_UNSUPPORTED)?;
    let port = read_port(
        &require(entries, "port", path, node)?.value,
        &join(path, "port"),
    )?;
    let as_port = match find(entries, "as") {
        Some(entry) => read_port(&entry.value, &join(path, "as"))?,
        None => port,
    };
    let proto = match find(entries, "proto") {
        Some(entry) => parsed(
            &entry.value,
            &join(path, "proto"),
            SdlErrorKind::InvalidProto,
            |value| match value.to_ascii_lowercase().as_str() {
                "tcp" => Ok(Proto::Tcp),
                "udp" => Ok(Proto::Udp),
                _ => Err("proto must be tcp or udp".to_string()),
            },
        )?,
        None => Proto::Tcp,
    };
    let mut global = false;
    let mut targets = Vec::new();
    if let Some(entry) = find(entries, "to") {
        let to_path = join(path, "to");
        for (i, item) in seq(&entry.value, &to_path)?.iter().enumerate() {
            let item_path = index(&to_path, i);
            let target = map(item, &item_path)?;
            check_keys(target, &item_path, TARGET_KEYS, TARGET_UNSUPPORTED)?;
            let service = find(target, "service");
            let is_global = match find(target, "global") {
                Some(g) => Some(boolean(&g.value, &join(&item_path, "global"))?),
                None => None,
            };
            if service.is_none() && is_global.is_none() {
                return Err(error(
                    SdlErrorKind::InvalidExposeTarget,
                    &item_path,
                    item.pos,
                    "an expose.to entry needs `service: NAME` or `global: true`",
                ));
            }
            global |= is_global.unwrap_or(false);
            if let Some(service) = service {
                let service_path = join(&item_path, "service");
                targets.push(Target {
                    service: text(&service.value, &service_path)?.to_string(),
                    path: service_path,
                    pos: service.value.pos,
                });
            }
        }
    }
    Ok(ExposeDef {
        port,
        as_port,
        proto,
        global,
        targets,
    })
}

fn check_expose_targets(services: &BTreeMap<String, ServiceDef>) -> Result<(), SdlError> {
    for service in services.values() {
        for expose in &service.expose {
            for target in &expose.targets {
                if !services.contains_key(&target.service) {
                    return Err(error(
                        SdlErrorKind::UnknownService,
                        &target.path,
                        target.pos,
                        format!("service {:?} is not defined in `services`", target.service),
                    ));
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// profiles.compute

#[derive(Clone, Debug)]
struct ComputeDef {
    resources: crate::document::ServiceResources,
}

fn check_profile_name(name: &str, path: &str, pos: Position) -> Result<(), SdlError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_PROFILE_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(error(
            SdlErrorKind::InvalidName,
            path,
            pos,
            format!(
                "profile name {name:?} must be 1..={MAX_PROFILE_NAME_LEN} characters of \
                 A-Z a-z 0-9 - _ ."
            ),
        ))
    }
}

fn read_compute(node: &Node) -> Result<BTreeMap<String, ComputeDef>, SdlError> {
    let mut profiles = BTreeMap::new();
    for entry in non_empty_map(node, "profiles.compute", "compute profile")? {
        let path = join("profiles.compute", &entry.key);
        check_profile_name(&entry.key, &path, entry.key_pos)?;
        let profile = map(&entry.value, &path)?;
        check_keys(profile, &path, &["resources"], &[])?;
        let resources_node = &require(profile, "resources", &path, &entry.value)?.value;
        let resources = read_resources(resources_node, &join(&path, "resources"))?;
        profiles.insert(entry.key.clone(), ComputeDef { resources });
    }
    Ok(profiles)
}

fn read_resources(node: &Node, path: &str) -> Result<crate::document::ServiceResources, SdlError> {
    let entries = map(node, path)?;
    check_keys(entries, path, RESOURCE_KEYS, &[])?;

    let cpu_path = join(path, "cpu");
    let cpu_node = &require(entries, "cpu", path, node)?.value;
    let cpu = map(cpu_node, &cpu_path)?;
    check_keys(cpu, &cpu_path, &["units"], &["attributes"])?;
    let units_path = join(&cpu_path, "units");
    let cpu_millis = parsed(
        &require(cpu, "units", &cpu_path, cpu_node)?.value,
        &units_path,
        SdlErrorKind::InvalidCpu,
        |value| {
            let millis = parse_cpu_millis(value)?;
            if millis == 0 {
                Err("cpu units must be greater than 0".to_string())
            } else if millis > MAX_CPU_MILLIS {
                Err(format!(
                    "at most {} cores per instance",
                    MAX_CPU_MILLIS / 1000
                ))
            } else {
                Ok(millis)
            }
        },
    )?;

    let memory_path = join(path, "memory");
    let memory_node = &require(entries, "memory", path, node)?.value;
    let memory = map(memory_node, &memory_path)?;
    check_keys(memory, &memory_path, &["size"], &["attributes"])?;
    let memory_bytes = parsed(
        &require(memory, "size", &memory_path, memory_node)?.value,
        &join(&memory_path, "size"),
        SdlErrorKind::InvalidMemory,
        |value| match parse_size_bytes(value)? {
            0 => Err("memory size must be greater than 0".to_string()),
            bytes => Ok(bytes),
        },
    )?;

    let storage_bytes = match find(entries, "storage") {
        Some(entry) => read_storage(&entry.value, &join(path, "storage"))?,
        None => 0,
    };

    if let Some(entry) = find(entries, "gpu") {
        let gpu_path = join(path, "gpu");
        let gpu = map(&entry.value, &gpu_path)?;
        check_keys(gpu, &gpu_path, &["units", "attributes"], &[])?;
        if let Some(units) = find(gpu, "units") {
            let units_path = join(&gpu_path, "units");
            let count = parsed(
                &units.value,
                &units_path,
                SdlErrorKind::WrongType,
                parse_u64,
            )?;
            if count > 0 {
                return Err(error(
                    SdlErrorKind::Unsupported,
                    &units_path,
                    units.value.pos,
                    format!("GPUs are not supported by this marketplace, got units: {count}"),
                ));
            }
        }
    }

    Ok(crate::document::ServiceResources {
        cpu_millis,
        memory_bytes,
        storage_bytes,
    })
}

/// `storage: {size: 1Gi}` or a list of volumes `[{size: 1Gi}, {name: data, size: 5Gi}]`:
/// a list counts as the sum of its sizes (only ephemeral volumes; no mounts).
fn read_storage(node: &Node, path: &str) -> Result<u64, SdlError> {
    let volumes: Vec<(String, &Node)> = match &node.kind {
        yaml::NodeKind::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (index(path, i), item))
            .collect(),
        _ => vec![(path.to_string(), node)],
    };
    let mut total: u64 = 0;
    let mut names = BTreeSet::new();
    for (volume_path, volume_node) in volumes {
        let volume = map(volume_node, &volume_path)?;
        check_keys(volume, &volume_path, &["size", "name"], &["attributes"])?;
        if let Some(name) = find(volume, "name") {
            let name_path = join(&volume_path, "name");
            let name_text = text(&name.value, &name_path)?;
            if !names.insert(name_text.to_string()) {
                return Err(error(
                    SdlErrorKind::DuplicateKey,
                    &name_path,
                    name.value.pos,
                    format!("storage volume name {name_text:?} is used twice"),
                ));
            }
        }
        let size_node = &require(volume, "size", &volume_path, volume_node)?.value;
        let size = parsed(
            size_node,
            &join(&volume_path, "size"),
            SdlErrorKind::InvalidStorage,
            parse_size_bytes,
        )?;
        total = total.checked_add(size).ok_or_else(|| {
            error(
                SdlErrorKind::InvalidStorage,
                &volume_path,
                size_node.pos,
                "total storage overflows",
            )
        })?;
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------
// profiles.placement

#[derive(Clone, Debug)]
struct PlacementDef {
    key_pos: Position,
    pricing_pos: Position,
    attributes: Vec<Attribute>,
    pricing: BTreeMap<String, PriceDef>,
    extension: Option<Node>,
}

#[derive(Clone, Debug)]
struct PriceDef {
    amount: u128,
    key_pos: Position,
}

fn read_placements(node: &Node) -> Result<BTreeMap<String, PlacementDef>, SdlError> {
    let mut placements = BTreeMap::new();
    for entry in non_empty_map(node, "profiles.placement", "placement profile")? {
        let path = join("profiles.placement", &entry.key);
        check_profile_name(&entry.key, &path, entry.key_pos)?;
        let placement = map(&entry.value, &path)?;
        check_keys(placement, &path, PLACEMENT_KEYS, &[])?;

        let attributes = match find(placement, "attributes") {
            Some(a) => read_attributes(&a.value, &join(&path, "attributes"))?,
            None => Vec::new(),
        };
        // signedBy (auditor signatures) has no equivalent here: its shape is checked, its
        // content ignored.
        if let Some(signed) = find(placement, "signedBy") {
            let signed_path = join(&path, "signedBy");
            let signed_by = map(&signed.value, &signed_path)?;
            check_keys(signed_by, &signed_path, &["allOf", "anyOf"], &[])?;
            for list in signed_by.iter().filter(|e| !e.value.is_null()) {
                strings(&list.value, &join(&signed_path, &list.key))?;
            }
        }
        let pricing_entry = require(placement, "pricing", &path, &entry.value)?;
        let pricing = read_pricing(&pricing_entry.value, &join(&path, "pricing"))?;
        placements.insert(
            entry.key.clone(),
            PlacementDef {
                key_pos: entry.key_pos,
                pricing_pos: pricing_entry.key_pos,
                attributes,
                pricing,
                extension: find(placement, "x-akash").map(|e| e.value.clone()),
            },
        );
    }
    Ok(placements)
}

/// Required provider attributes, under the registry's rules (so that they can match).
fn read_attributes(node: &Node, path: &str) -> Result<Vec<Attribute>, SdlError> {
    let entries = map(node, path)?;
    if entries.len() > MAX_REQUIRED_ATTRIBUTES {
        return Err(error(
            SdlErrorKind::InvalidRequirement,
            path,
            node.pos,
            format!(
                "at most {MAX_REQUIRED_ATTRIBUTES} attributes, got {}",
                entries.len()
            ),
        ));
    }
    let mut attributes = Vec::new();
    for entry in entries {
        let key = entry.key.as_str();
        let key_path = join(path, key);
        let key_ok = !key.is_empty()
            && key.len() <= MAX_ATTRIBUTE_KEY_LEN
            && key.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'.' | b'_' | b'/' | b'-')
            });
        if !key_ok {
            return Err(error(
                SdlErrorKind::InvalidRequirement,
                &key_path,
                entry.key_pos,
                format!(
                    "attribute key {key:?} must be 1..={MAX_ATTRIBUTE_KEY_LEN} characters of \
                     a-z 0-9 . _ / -"
                ),
            ));
        }
        let value = text(&entry.value, &key_path)?;
        let value_ok = !value.is_empty()
            && value.len() <= MAX_ATTRIBUTE_VALUE_LEN
            && value.chars().all(|c| c == ' ' || c.is_ascii_graphic());
        if !value_ok {
            return Err(error(
                SdlErrorKind::InvalidRequirement,
                &key_path,
                entry.value.pos,
                format!(
                    "attribute value must be 1..={MAX_ATTRIBUTE_VALUE_LEN} printable ASCII \
                     characters, got {value:?}"
                ),
            ));
        }
        attributes.push(Attribute::new(key, value));
    }
    attributes.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(attributes)
}

fn read_pricing(node: &Node, path: &str) -> Result<BTreeMap<String, PriceDef>, SdlError> {
    let mut pricing = BTreeMap::new();
    for entry in map(node, path)? {
        let price_path = join(path, &entry.key);
        let price = map(&entry.value, &price_path)?;
        check_keys(price, &price_path, &["denom", "amount"], &[])?;
        let denom_entry = require(price, "denom", &price_path, &entry.value)?;
        let denom_path = join(&price_path, "denom");
        let denom = text(&denom_entry.value, &denom_path)?;
        if denom != "uakt" && denom != "akt" {
            return Err(error(
                SdlErrorKind::InvalidDenom,
                &denom_path,
                denom_entry.value.pos,
                format!("denom must be uakt (base units) or akt, got {denom:?}"),
            ));
        }
        let amount_entry = require(price, "amount", &price_path, &entry.value)?;
        let amount = parsed(
            &amount_entry.value,
            &join(&price_path, "amount"),
            SdlErrorKind::InvalidAmount,
            |value| match parse_amount(value, denom)? {
                0 => Err("amount must be greater than 0".to_string()),
                amount => Ok(amount),
            },
        )?;
        pricing.insert(
            entry.key.clone(),
            PriceDef {
                amount,
                key_pos: entry.key_pos,
            },
        );
    }
    Ok(pricing)
}

// ---------------------------------------------------------------------------------------
// x-akash

/// Reads an `x-akash` mapping over `base` (top-level defaults, or those for a placement).
fn read_extension(node: &Node, path: &str, base: &OrderParams) -> Result<OrderParams, SdlError> {
    let entries = map(node, path)?;
    check_keys(entries, path, EXTENSION_KEYS, &[])?;
    let mut params = base.clone();
    if let Some(entry) = find(entries, "lease_duration") {
        params.lease_duration_secs = parsed(
            &entry.value,
            &join(path, "lease_duration"),
            SdlErrorKind::InvalidDuration,
            |value| {
                let secs = parse_duration_secs(value)?;
                if secs == 0 || secs > MAX_LEASE_DURATION_SECS {
                    Err(format!(
                        "lease duration must be 1..={MAX_LEASE_DURATION_SECS} seconds"
                    ))
                } else {
                    Ok(secs)
                }
            },
        )?;
    }
    if let Some(entry) = find(entries, "bid_window") {
        params.bid_window_secs = parsed(
            &entry.value,
            &join(path, "bid_window"),
            SdlErrorKind::InvalidDuration,
            |value| {
                let secs = parse_duration_secs(value)?;
                if (MIN_BID_WINDOW_SECS..=MAX_BID_WINDOW_SECS).contains(&secs) {
                    Ok(secs)
                } else {
                    Err(format!(
                        "bidding window must be {MIN_BID_WINDOW_SECS}..={MAX_BID_WINDOW_SECS} \
                         seconds"
                    ))
                }
            },
        )?;
    }
    if let Some(entry) = find(entries, "bandwidth") {
        params.bandwidth_bytes_per_sec = parsed(
            &entry.value,
            &join(path, "bandwidth"),
            SdlErrorKind::InvalidBandwidth,
            parse_size_bytes,
        )?;
    }
    if let Some(entry) = find(entries, "min_stake") {
        params.min_stake = parsed(
            &entry.value,
            &join(path, "min_stake"),
            SdlErrorKind::InvalidRequirement,
            |value| parse_amount(value, "uakt"),
        )?;
    }
    if let Some(entry) = find(entries, "min_reputation") {
        params.min_reputation = parsed(
            &entry.value,
            &join(path, "min_reputation"),
            SdlErrorKind::InvalidRequirement,
            |value| {
                parse_u64(value)
                    .ok()
                    .and_then(|r| u32::try_from(r).ok())
                    .filter(|r| *r <= MAX_REPUTATION)
                    .ok_or_else(|| {
                        format!("min_reputation must be 0..={MAX_REPUTATION} basis points")
                    })
            },
        )?;
    }
    Ok(params)
}

// ---------------------------------------------------------------------------------------
// deployment

#[derive(Clone, Debug)]
struct DeploymentDef {
    service: String,
    placement: String,
    profile: String,
    count: u32,
    /// `deployment.SERVICE.PLACEMENT`
    path: String,
    pos: Position,
}

fn read_deployment(
    node: &Node,
    services: &BTreeMap<String, ServiceDef>,
    compute: &BTreeMap<String, ComputeDef>,
    placements: &BTreeMap<String, PlacementDef>,
) -> Result<Vec<DeploymentDef>, SdlError> {
    let mut deployments = Vec::new();
    for entry in non_empty_map(node, "deployment", "deployed service")? {
        let service_path = join("deployment", &entry.key);
        if !services.contains_key(&entry.key) {
            return Err(error(
                SdlErrorKind::UnknownService,
                &service_path,
                entry.key_pos,
                format!("service {:?} is not defined in `services`", entry.key),
            ));
        }
        for placement in non_empty_map(&entry.value, &service_path, "placement")? {
            let path = join(&service_path, &placement.key);
            if !placements.contains_key(&placement.key) {
                return Err(error(
                    SdlErrorKind::UnknownPlacement,
                    &path,
                    placement.key_pos,
                    format!(
                        "placement {:?} is not defined in `profiles.placement`",
                        placement.key
                    ),
                ));
            }
            let fields = map(&placement.value, &path)?;
            check_keys(fields, &path, &["profile", "count"], &[])?;
            let profile_entry = require(fields, "profile", &path, &placement.value)?;
            let profile_path = join(&path, "profile");
            let profile = text(&profile_entry.value, &profile_path)?;
            if !compute.contains_key(profile) {
                return Err(error(
                    SdlErrorKind::UnknownProfile,
                    &profile_path,
                    profile_entry.value.pos,
                    format!("compute profile {profile:?} is not defined in `profiles.compute`"),
                ));
            }
            let count = parsed(
                &require(fields, "count", &path, &placement.value)?.value,
                &join(&path, "count"),
                SdlErrorKind::InvalidCount,
                |value| {
                    let count = parse_u64(value)?;
                    u32::try_from(count)
                        .ok()
                        .filter(|c| (1..=MAX_ORDER_COUNT).contains(c))
                        .ok_or_else(|| format!("count must be 1..={MAX_ORDER_COUNT}"))
                },
            )?;
            deployments.push(DeploymentDef {
                service: entry.key.clone(),
                placement: placement.key.clone(),
                profile: profile.to_string(),
                count,
                path,
                pos: placement.key_pos,
            });
        }
    }
    Ok(deployments)
}

fn check_all_deployed(
    services: &BTreeMap<String, ServiceDef>,
    deployments: &[DeploymentDef],
) -> Result<(), SdlError> {
    for (name, service) in services {
        if !deployments.iter().any(|d| &d.service == name) {
            return Err(error(
                SdlErrorKind::ServiceNotDeployed,
                &join("services", name),
                service.key_pos,
                format!("service {name:?} is defined but `deployment` does not place it"),
            ));
        }
    }
    Ok(())
}

/// Every price names a defined compute profile, and every placement prices each profile
/// deployed with it.
fn check_pricing(
    compute: &BTreeMap<String, ComputeDef>,
    placements: &BTreeMap<String, PlacementDef>,
    deployments: &[DeploymentDef],
) -> Result<(), SdlError> {
    for (placement_name, placement) in placements {
        for (profile, price) in &placement.pricing {
            if !compute.contains_key(profile) {
                return Err(error(
                    SdlErrorKind::UnknownProfile,
                    &format!("profiles.placement.{placement_name}.pricing.{profile}"),
                    price.key_pos,
                    format!("compute profile {profile:?} is not defined in `profiles.compute`"),
                ));
            }
        }
    }
    for deployment in deployments {
        let placement = &placements[&deployment.placement];
        if !placement.pricing.contains_key(&deployment.profile) {
            return Err(error(
                SdlErrorKind::MissingPricing,
                &format!(
                    "profiles.placement.{}.pricing.{}",
                    deployment.placement, deployment.profile
                ),
                placement.pricing_pos,
                format!(
                    "no price for compute profile {:?}, which {} uses",
                    deployment.profile, deployment.path
                ),
            ));
        }
    }
    Ok(())
}
