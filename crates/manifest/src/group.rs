//! A placement group: its manifest document (placement-free, hashed) and what its order asks
//! for (resources per unit, count, price, duration, requirements, escrow).

use std::collections::{BTreeMap, BTreeSet};

use akash_types::market::{OrderSpec, PlacementRequirements};
use akash_types::{Attribute, ResourceUnits};
use cosmwasm_std::Uint128;

use crate::document::{
    sha256_hex, Expose, GroupManifest, Peer, PeerPort, ServiceManifest, ServiceResources,
    DOCUMENT_VERSION, MAX_DOCUMENT_BYTES,
};
use crate::error::{Position, SdlError, SdlErrorKind};
use crate::read::error;
use crate::sdl::{
    ExposeDef, DEFAULT_BANDWIDTH_BYTES_PER_SEC, DEFAULT_BID_WINDOW_SECS,
    DEFAULT_LEASE_DURATION_SECS,
};

/// Order parameters from `x-akash` (top level, overridden per placement).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderParams {
    pub lease_duration_secs: u64,
    pub bid_window_secs: u64,
    /// Per service instance.
    pub bandwidth_bytes_per_sec: u64,
    /// Base units (uakt).
    pub min_stake: u128,
    /// Basis points.
    pub min_reputation: u32,
}

impl Default for OrderParams {
    fn default() -> Self {
        OrderParams {
            lease_duration_secs: DEFAULT_LEASE_DURATION_SECS,
            bid_window_secs: DEFAULT_BID_WINDOW_SECS,
            bandwidth_bytes_per_sec: DEFAULT_BANDWIDTH_BYTES_PER_SEC,
            min_stake: 0,
            min_reputation: 0,
        }
    }
}

/// One placement group of an SDL, ready to be ordered.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacementGroup {
    name: String,
    manifest: GroupManifest,
    document: Vec<u8>,
    sha256: String,
    unit: ResourceUnits,
    count: u32,
    max_price_per_second: Uint128,
    params: OrderParams,
    requirements: PlacementRequirements,
    escrow: Uint128,
}

impl PlacementGroup {
    /// The placement profile's name (not part of the document).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn manifest(&self) -> &GroupManifest {
        &self.manifest
    }

    /// The exact bytes to send to providers; [`Self::sha256_hex`] is their hash.
    pub fn document_bytes(&self) -> &[u8] {
        &self.document
    }

    pub fn sha256_hex(&self) -> String {
        self.sha256.clone()
    }

    /// Resources of one order unit: `count_i / gcd` instances of each service `i`.
    pub fn unit_resources(&self) -> ResourceUnits {
        self.unit
    }

    /// Units of the order: the gcd of the services' counts.
    pub fn unit_count(&self) -> u32 {
        self.count
    }

    /// Sum of the placement's prices for the compute profiles this group uses, base units
    /// per second for the whole group.
    pub fn max_price_per_second(&self) -> Uint128 {
        self.max_price_per_second
    }

    pub fn lease_duration_secs(&self) -> u64 {
        self.params.lease_duration_secs
    }

    pub fn bid_window_secs(&self) -> u64 {
        self.params.bid_window_secs
    }

    pub fn requirements(&self) -> &PlacementRequirements {
        &self.requirements
    }

    /// What `CreateOrder` carries; the market accepts it as is.
    pub fn order_spec(&self) -> OrderSpec {
        OrderSpec {
            resources: self.unit,
            count: self.count,
            max_price_per_second: self.max_price_per_second,
            lease_duration_secs: self.params.lease_duration_secs,
            bid_window_secs: self.params.bid_window_secs,
            requirements: self.requirements.clone(),
            manifest_sha256: self.sha256.clone(),
        }
    }

    /// The amount to send with `CreateOrder`: max price per second x lease duration.
    pub fn escrow_amount(&self) -> Uint128 {
        self.escrow
    }
}

/// A service deployed in a group, as the SDL reader hands it over.
pub(crate) struct GroupService {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub expose: Vec<ExposeDef>,
    pub resources: ServiceResources,
    pub count: u32,
    /// `deployment.SERVICE.PLACEMENT`, for errors.
    pub path: String,
    pub pos: Position,
}

pub(crate) struct GroupInput {
    pub name: String,
    /// `profiles.placement.NAME`, for errors.
    pub path: String,
    pub pos: Position,
    pub services: Vec<GroupService>,
    /// Every service of the SDL with its exposes (to find the peers this group reaches).
    pub peers_expose: BTreeMap<String, Vec<ExposeDef>>,
    /// Price of each distinct compute profile of the group, base units per second.
    pub prices: Vec<u128>,
    pub requirements_attributes: Vec<Attribute>,
    pub params: OrderParams,
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

pub(crate) fn build_group(input: GroupInput) -> Result<PlacementGroup, SdlError> {
    let local: BTreeSet<&str> = input.services.iter().map(|s| s.name.as_str()).collect();

    let mut peers: BTreeMap<String, Peer> = BTreeMap::new();
    let mut services = BTreeMap::new();
    for service in &input.services {
        let mut expose: Vec<Expose> = service
            .expose
            .iter()
            .map(|e| {
                let targets: BTreeSet<String> =
                    e.targets.iter().map(|t| t.service.clone()).collect();
                for target in &targets {
                    if !local.contains(target.as_str()) {
                        peers
                            .entry(target.clone())
                            .or_insert(Peer { ports: vec![] });
                    }
                }
                Expose {
                    as_port: e.as_port,
                    global: e.global,
                    port: e.port,
                    proto: e.proto,
                    services: targets.into_iter().collect(),
                }
            })
            .collect();
        expose.sort_by_key(|e| (e.port, e.proto));
        services.insert(
            service.name.clone(),
            ServiceManifest {
                args: service.args.clone(),
                command: service.command.clone(),
                count: service.count,
                env: service.env.clone(),
                expose,
                image: service.image.clone(),
                resources: service.resources,
            },
        );
    }
    // Ports of other groups' services that this group's services may reach.
    for (name, exposes) in &input.peers_expose {
        if local.contains(name.as_str()) {
            continue;
        }
        for e in exposes {
            let clients: BTreeSet<String> = e
                .targets
                .iter()
                .filter(|t| local.contains(t.service.as_str()))
                .map(|t| t.service.clone())
                .collect();
            if clients.is_empty() {
                continue;
            }
            peers
                .entry(name.clone())
                .or_insert(Peer { ports: vec![] })
                .ports
                .push(PeerPort {
                    as_port: e.as_port,
                    clients: clients.into_iter().collect(),
                    proto: e.proto,
                });
        }
    }
    for peer in peers.values_mut() {
        peer.ports.sort_by_key(|p| (p.as_port, p.proto));
    }
    let manifest = GroupManifest {
        peers,
        services,
        version: DOCUMENT_VERSION,
    };
    if let Err(e) = manifest.validate() {
        // The reader's checks are stricter than the document's; reaching this is a bug.
        return Err(error(
            SdlErrorKind::TooLarge,
            &input.path,
            input.pos,
            format!("the group's document is invalid: {e}"),
        ));
    }
    let document = manifest.document_bytes();
    if document.len() > MAX_DOCUMENT_BYTES {
        return Err(error(
            SdlErrorKind::TooLarge,
            &input.path,
            input.pos,
            format!(
                "the group's manifest document is {} bytes, more than the limit of \
                 {MAX_DOCUMENT_BYTES}",
                document.len()
            ),
        ));
    }
    let sha256 = sha256_hex(&document);

    let count = input.services.iter().fold(0, |g, s| gcd(g, s.count));
    let mut unit = ResourceUnits::default();
    for service in &input.services {
        let overflow = || {
            error(
                SdlErrorKind::TooLarge,
                &service.path,
                service.pos,
                "resources of the group overflow a 64-bit counter",
            )
        };
        // `count` divides every service's count, and is at least 1 (counts are 1..).
        let per_unit = u64::from(service.count / count);
        let add = |total: u64, each: u64| {
            each.checked_mul(per_unit)
                .and_then(|v| v.checked_add(total))
                .ok_or_else(overflow)
        };
        unit.cpu_millis = add(unit.cpu_millis, service.resources.cpu_millis)?;
        unit.memory_bytes = add(unit.memory_bytes, service.resources.memory_bytes)?;
        unit.storage_bytes = add(unit.storage_bytes, service.resources.storage_bytes)?;
        unit.bandwidth_bytes_per_sec = add(
            unit.bandwidth_bytes_per_sec,
            input.params.bandwidth_bytes_per_sec,
        )?;
    }

    let price_overflow = |what: &str| {
        error(
            SdlErrorKind::InvalidAmount,
            &format!("{}.pricing", input.path),
            input.pos,
            format!("{what} overflows a 128-bit amount"),
        )
    };
    let max_price = input
        .prices
        .iter()
        .try_fold(0u128, |total, price| total.checked_add(*price))
        .ok_or_else(|| price_overflow("the group's total price"))?;
    let escrow = max_price
        .checked_mul(u128::from(input.params.lease_duration_secs))
        .ok_or_else(|| price_overflow("price x lease duration"))?;

    Ok(PlacementGroup {
        requirements: PlacementRequirements {
            attributes: input.requirements_attributes,
            min_stake: Uint128::new(input.params.min_stake),
            min_reputation: input.params.min_reputation,
        },
        name: input.name,
        manifest,
        document,
        sha256,
        unit,
        count,
        max_price_per_second: Uint128::new(max_price),
        params: input.params,
        escrow: Uint128::new(escrow),
    })
}

#[cfg(test)]
mod tests {
    use super::gcd;

    #[test]
    fn gcd_of_counts() {
        assert_eq!(gcd(0, 3), 3);
        assert_eq!(gcd(4, 6), 2);
        assert_eq!(gcd(5, 7), 1);
        assert_eq!([2u32, 4, 6].iter().fold(0, |g, c| gcd(g, *c)), 2);
    }
}
