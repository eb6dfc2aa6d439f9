//! The tenant's deployment flow, on any [`MarketChain`]: one order per placement group with
//! its escrow; the wait for each order's match (bids seen, window closed, matched or
//! expired); each leased group's manifest uploaded to its provider's gateway (host URI and
//! root certificate from the registry, requests signed with the tenant's key); the wait
//! until its containers run, and their endpoints. `akash deploy` and `akash sandbox` share it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use akash_chain_client::akash_types::market::{Bid, Lease, LeaseState, Order, OrderState};
use akash_chain_client::{ChainError, MarketChain, Timestamp, Uint128};
use akash_manifest::{GroupManifest, PlacementGroup, Proto};
use anyhow::{bail, Context, Result};

use akash_provider::gateway::api::{codes, DeploymentState, LeaseStatus};
use akash_provider::gateway::{ClientError, GatewayClient, PeerPlacement};

use crate::gateway;
use crate::keys::TenantKey;
use crate::output;

/// Timing of the flow.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Between two looks at the chain.
    pub poll_interval: Duration,
    /// How long after the last bid window closes an order may stay unmatched.
    pub match_grace: Duration,
    /// How long the workloads may take to run once their manifests were sent.
    pub ready_timeout: Duration,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            poll_interval: Duration::from_millis(500),
            match_grace: Duration::from_secs(120),
            ready_timeout: Duration::from_secs(300),
        }
    }
}

/// One step of a deployment, as shown to the user.
#[derive(Debug, Clone, PartialEq)]
pub enum DeployEvent {
    OrderCreated {
        group: String,
        order_id: u64,
        escrow: Uint128,
        max_price_per_second: Uint128,
        bid_window_ends_at: Timestamp,
        bid_window_secs: u64,
    },
    /// The order's bid count changed; `best` is the lowest price (earliest among equals).
    Bids {
        group: String,
        order_id: u64,
        count: u32,
        best: Option<(Uint128, String)>,
        /// Chain seconds until the bid window closes (0: closed).
        window_closes_in_secs: u64,
    },
    WindowClosed {
        group: String,
        order_id: u64,
        bids: u32,
    },
    Matched {
        group: String,
        order_id: u64,
        lease_id: u64,
        provider: String,
        price_per_second: Uint128,
        /// Returned to the tenant at the match: escrow minus the lease's.
        refunded: Uint128,
    },
    /// No eligible bid: the escrow went back to the tenant.
    Expired {
        group: String,
        order_id: u64,
    },
    Cancelled {
        group: String,
        order_id: u64,
    },
    /// The provider accepted the group's manifest: it checked size and sha256 against the
    /// lease on chain before taking it.
    ManifestSent {
        group: String,
        lease_id: u64,
        gateway: String,
        sha256: String,
        bytes: usize,
    },
    /// The lease carries a manifest already uploaded for another lease: its provider fetches
    /// the document from that lease's provider (over mTLS, checked against the chain).
    ManifestShared {
        group: String,
        lease_id: u64,
        /// The lease whose provider got the upload.
        uploaded_for: u64,
    },
    /// The containers of a lease are not all running yet (`pending`, `degraded`).
    Deploying {
        group: String,
        lease_id: u64,
        state: String,
    },
    /// Every container of the lease runs; the URLs of its global ports.
    Running {
        group: String,
        lease_id: u64,
        endpoints: Vec<Endpoint>,
    },
    /// A free-form note (retries, waiting).
    Note {
        group: String,
        text: String,
    },
}

/// A global port of a running service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub service: String,
    pub container_port: u16,
    pub url: String,
}

impl DeployEvent {
    /// The line printed for this event.
    pub fn describe(&self) -> String {
        match self {
            DeployEvent::OrderCreated {
                group,
                order_id,
                escrow,
                max_price_per_second,
                bid_window_secs,
                ..
            } => format!(
                "[{group}] order {order_id} created: max {}, escrow {} locked; bid window {bid_window_secs} s",
                output::rate(*max_price_per_second),
                output::amount(*escrow),
            ),
            DeployEvent::Bids {
                group,
                order_id,
                count,
                best,
                window_closes_in_secs,
            } => {
                let mut text = format!(
                    "[{group}] order {order_id}: {count} bid{}",
                    if *count == 1 { "" } else { "s" }
                );
                if let Some((price, provider)) = best {
                    text.push_str(&format!(", best {} by {provider}", output::rate(*price)));
                }
                if *window_closes_in_secs > 0 {
                    text.push_str(&format!(
                        "; window closes in {}",
                        output::duration(*window_closes_in_secs)
                    ));
                }
                text
            }
            DeployEvent::WindowClosed {
                group,
                order_id,
                bids,
            } => format!(
                "[{group}] order {order_id}: bid window closed with {bids} bid{}; matching",
                if *bids == 1 { "" } else { "s" }
            ),
            DeployEvent::Matched {
                group,
                order_id,
                lease_id,
                provider,
                price_per_second,
                refunded,
            } => format!(
                "[{group}] order {order_id} matched: lease {lease_id} with provider {provider} at {} ({} of the escrow refunded)",
                output::rate(*price_per_second),
                output::amount(*refunded)
            ),
            DeployEvent::Expired { group, order_id } => format!(
                "[{group}] order {order_id} expired: no eligible bid; the escrow was returned"
            ),
            DeployEvent::Cancelled { group, order_id } => {
                format!("[{group}] order {order_id} was cancelled")
            }
            DeployEvent::ManifestSent {
                group,
                lease_id,
                gateway,
                sha256,
                bytes,
            } => format!(
                "[{group}] lease {lease_id}: manifest uploaded to {gateway} ({bytes} bytes, sha256 {}...), verified by the provider against the lease",
                &sha256[..sha256.len().min(16)]
            ),
            DeployEvent::ManifestShared {
                group,
                lease_id,
                uploaded_for,
            } => format!(
                "[{group}] lease {lease_id}: same manifest as lease {uploaded_for}; its provider \
                 fetches the document from that lease's provider (not uploaded again)"
            ),
            DeployEvent::Deploying {
                group,
                lease_id,
                state,
            } => format!("[{group}] lease {lease_id}: containers {state}"),
            DeployEvent::Running {
                group,
                lease_id,
                endpoints,
            } => {
                let mut text = format!("[{group}] lease {lease_id}: containers up");
                if endpoints.is_empty() {
                    text.push_str(" (no global ports)");
                }
                for endpoint in endpoints {
                    text.push_str(&format!(
                        "\n    {} (port {}): {}",
                        endpoint.service, endpoint.container_port, endpoint.url
                    ));
                }
                text
            }
            DeployEvent::Note { group, text } => format!("[{group}] {text}"),
        }
    }
}

/// Where the flow reports its steps.
pub trait Progress: Send + Sync {
    fn event(&self, event: &DeployEvent);
}

/// Prints every step on stdout.
#[derive(Debug, Default)]
pub struct PrintProgress;

impl Progress for PrintProgress {
    fn event(&self, event: &DeployEvent) {
        println!("{}", event.describe());
    }
}

/// Keeps every step (tests).
#[derive(Debug, Default)]
pub struct RecordProgress {
    events: Mutex<Vec<DeployEvent>>,
}

impl RecordProgress {
    pub fn events(&self) -> Vec<DeployEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Progress for RecordProgress {
    fn event(&self, event: &DeployEvent) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event.clone());
        }
    }
}

/// An order created for a group.
#[derive(Debug, Clone)]
pub struct PlacedOrder {
    pub group: PlacementGroup,
    /// As created (the market empties its escrow field at the match).
    pub order: Order,
}

/// How a group's order ended.
#[derive(Debug, Clone)]
pub enum OrderOutcome {
    Leased(Box<Lease>),
    Expired,
    Cancelled,
}

/// A group with its order and how it ended.
#[derive(Debug, Clone)]
pub struct GroupOutcome {
    pub group: PlacementGroup,
    /// As created.
    pub order: Order,
    pub outcome: OrderOutcome,
}

impl GroupOutcome {
    pub fn lease(&self) -> Option<&Lease> {
        match &self.outcome {
            OrderOutcome::Leased(lease) => Some(lease),
            _ => None,
        }
    }
}

/// Creates one order per group, each escrowing exactly the group's
/// `max_price_per_second x lease_duration_secs`.
pub async fn create_orders(
    chain: &dyn MarketChain,
    groups: &[PlacementGroup],
    progress: &dyn Progress,
) -> Result<Vec<PlacedOrder>> {
    let mut placed = Vec::with_capacity(groups.len());
    for group in groups {
        let spec = group.order_spec();
        let created = chain.create_order(spec).await.with_context(|| {
            format!(
                "creating the order of group {} (escrow {})",
                group.name(),
                output::amount(group.escrow_amount())
            )
        })?;
        let order = chain
            .order(created.order_id)
            .await
            .with_context(|| format!("reading order {}", created.order_id))?;
        if order.escrow != group.escrow_amount() {
            bail!(
                "order {} holds {} in escrow, the group needs {}",
                order.id,
                output::amount(order.escrow),
                output::amount(group.escrow_amount())
            );
        }
        progress.event(&DeployEvent::OrderCreated {
            group: group.name().to_string(),
            order_id: order.id,
            escrow: order.escrow,
            max_price_per_second: order.spec.max_price_per_second,
            bid_window_ends_at: order.bid_window_ends_at,
            bid_window_secs: order.spec.bid_window_secs,
        });
        placed.push(PlacedOrder {
            group: group.clone(),
            order,
        });
    }
    Ok(placed)
}

struct Tracker {
    placed: PlacedOrder,
    bids_seen: Option<u32>,
    window_reported: bool,
    outcome: Option<OrderOutcome>,
    last_match_error: Option<String>,
    /// When the progress last said anything about this order.
    last_shown: Instant,
}

/// While a bid window is open, the progress says how long is left at least this often.
const COUNTDOWN_EVERY: Duration = Duration::from_secs(10);

/// Waits until every order is matched, expired or cancelled, reporting bids as they come.
/// After an order's window closes, the match is triggered here (anyone may; the providers'
/// daemons try too, whoever is first wins and the others' attempts are refused).
pub async fn await_matches(
    chain: &dyn MarketChain,
    placed: Vec<PlacedOrder>,
    progress: &dyn Progress,
    options: &DeployOptions,
) -> Result<Vec<GroupOutcome>> {
    let started = Instant::now();
    let longest_window = placed
        .iter()
        .map(|p| p.order.spec.bid_window_secs)
        .max()
        .unwrap_or(0);
    let deadline = Duration::from_secs(longest_window) + options.match_grace;
    let mut trackers: Vec<Tracker> = placed
        .into_iter()
        .map(|placed| Tracker {
            placed,
            bids_seen: None,
            window_reported: false,
            outcome: None,
            last_match_error: None,
            last_shown: Instant::now(),
        })
        .collect();
    loop {
        let now = chain
            .block_time()
            .await
            .context("reading the chain's time")?;
        for tracker in trackers.iter_mut().filter(|t| t.outcome.is_none()) {
            step(chain, tracker, now, progress).await?;
        }
        if trackers.iter().all(|t| t.outcome.is_some()) {
            break;
        }
        if started.elapsed() > deadline {
            let open: Vec<String> = trackers
                .iter()
                .filter(|t| t.outcome.is_none())
                .map(|t| {
                    let mut text = format!("order {}", t.placed.order.id);
                    if let Some(error) = &t.last_match_error {
                        text.push_str(&format!(" (last match attempt: {error})"));
                    }
                    text
                })
                .collect();
            bail!(
                "still not matched {} s after ordering: {}",
                deadline.as_secs(),
                open.join(", ")
            );
        }
        tokio::time::sleep(options.poll_interval).await;
    }
    Ok(trackers
        .into_iter()
        .map(|t| GroupOutcome {
            group: t.placed.group,
            order: t.placed.order,
            outcome: t.outcome.expect("every order has an outcome"),
        })
        .collect())
}

async fn step(
    chain: &dyn MarketChain,
    tracker: &mut Tracker,
    now: Timestamp,
    progress: &dyn Progress,
) -> Result<()> {
    let id = tracker.placed.order.id;
    let group = tracker.placed.group.name().to_string();
    let mut order = chain
        .order(id)
        .await
        .with_context(|| format!("reading order {id}"))?;
    if order.state == OrderState::Open {
        if tracker.bids_seen != Some(order.bid_count) {
            tracker.bids_seen = Some(order.bid_count);
            // Read after the count: the best bid may be one that arrived in between.
            let best = match order.bid_count {
                0 => None,
                _ => best_bid(chain, id).await?,
            };
            if let Some(best) = best {
                tracker.last_shown = Instant::now();
                progress.event(&DeployEvent::Bids {
                    group: group.clone(),
                    order_id: id,
                    count: order.bid_count,
                    best: Some((best.price_per_second, best.provider.into_string())),
                    window_closes_in_secs: order
                        .bid_window_ends_at
                        .seconds()
                        .saturating_sub(now.seconds()),
                });
            }
        }
        if now < order.bid_window_ends_at && tracker.last_shown.elapsed() >= COUNTDOWN_EVERY {
            tracker.last_shown = Instant::now();
            progress.event(&DeployEvent::Note {
                group: group.clone(),
                text: format!(
                    "order {id}: bid window closes in {} ({} bid{} so far)",
                    output::duration(order.bid_window_ends_at.seconds() - now.seconds()),
                    order.bid_count,
                    if order.bid_count == 1 { "" } else { "s" }
                ),
            });
        }
        if now >= order.bid_window_ends_at {
            if !tracker.window_reported {
                tracker.window_reported = true;
                progress.event(&DeployEvent::WindowClosed {
                    group: group.clone(),
                    order_id: id,
                    bids: order.bid_count,
                });
            }
            match chain.match_order(id).await {
                Ok(_) => {}
                // Someone else matched first, or the chain's clock is a block behind.
                Err(error @ ChainError::Contract { .. }) => {
                    tracker.last_match_error = Some(error.to_string())
                }
                Err(error) if error.is_transient() => {
                    tracker.last_match_error = Some(error.to_string())
                }
                Err(error) => return Err(error).context(format!("matching order {id}")),
            }
            order = chain
                .order(id)
                .await
                .with_context(|| format!("reading order {id}"))?;
        }
    }
    match order.state {
        OrderState::Open => {}
        OrderState::Matched => {
            let lease_id = order
                .lease_id
                .with_context(|| format!("order {id} is matched but names no lease"))?;
            let lease = chain
                .lease(lease_id)
                .await
                .with_context(|| format!("reading lease {lease_id}"))?;
            if !tracker.window_reported {
                tracker.window_reported = true;
                progress.event(&DeployEvent::WindowClosed {
                    group: group.clone(),
                    order_id: id,
                    bids: order.bid_count,
                });
            }
            progress.event(&DeployEvent::Matched {
                group,
                order_id: id,
                lease_id,
                provider: lease.provider.to_string(),
                price_per_second: lease.price_per_second,
                refunded: tracker.placed.order.escrow.saturating_sub(lease.escrow),
            });
            tracker.outcome = Some(OrderOutcome::Leased(Box::new(lease)));
        }
        OrderState::Expired => {
            progress.event(&DeployEvent::Expired {
                group,
                order_id: id,
            });
            tracker.outcome = Some(OrderOutcome::Expired);
        }
        OrderState::Cancelled => {
            progress.event(&DeployEvent::Cancelled {
                group,
                order_id: id,
            });
            tracker.outcome = Some(OrderOutcome::Cancelled);
        }
    }
    Ok(())
}

async fn best_bid(chain: &dyn MarketChain, order_id: u64) -> Result<Option<Bid>> {
    let bids = chain
        .bids(order_id, None, Some(1))
        .await
        .with_context(|| format!("reading the bids of order {order_id}"))?;
    Ok(bids.into_iter().next())
}

/// A lease whose containers all run.
#[derive(Debug, Clone)]
pub struct RunningLease {
    pub group: String,
    pub manifest: GroupManifest,
    pub lease: Lease,
    pub status: LeaseStatus,
}

impl RunningLease {
    pub fn endpoints(&self) -> Vec<Endpoint> {
        endpoints_of(&self.status, Some(&self.manifest))
    }
}

/// What [`deploy`] did, group by group.
#[derive(Debug, Clone)]
pub struct DeployReport {
    pub groups: Vec<GroupOutcome>,
    /// The leases whose workloads run.
    pub running: Vec<RunningLease>,
}

impl DeployReport {
    /// True when every group got a lease.
    pub fn all_leased(&self) -> bool {
        self.groups.iter().all(|g| g.lease().is_some())
    }

    /// True when every group got a lease and its workloads run.
    pub fn all_running(&self) -> bool {
        self.all_leased() && self.running.len() == self.groups.len()
    }

    pub fn leases(&self) -> Vec<&Lease> {
        self.groups.iter().filter_map(GroupOutcome::lease).collect()
    }

    /// Every global port of every running lease.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        self.running
            .iter()
            .flat_map(RunningLease::endpoints)
            .collect()
    }
}

/// The URLs of a lease's global ports, by service. With the group's manifest, a TCP port
/// exposed `as: 80` is named `http://` whatever the container's own port (the SDL's way of
/// saying "this is the web port"; the provider names only container port 80 so).
pub fn endpoints_of(status: &LeaseStatus, manifest: Option<&GroupManifest>) -> Vec<Endpoint> {
    status
        .services
        .iter()
        .flat_map(|service| {
            service.endpoints.iter().map(|endpoint| {
                let web = manifest
                    .and_then(|m| m.services.get(&service.name))
                    .map(|s| {
                        s.expose.iter().any(|e| {
                            e.global
                                && e.port == endpoint.container_port
                                && e.as_port == 80
                                && e.proto == Proto::Tcp
                        })
                    })
                    .unwrap_or(false);
                let url = match endpoint.url.strip_prefix("tcp://") {
                    Some(rest) if web => format!("http://{rest}"),
                    _ => endpoint.url.clone(),
                };
                Endpoint {
                    service: service.name.clone(),
                    container_port: endpoint.container_port,
                    url,
                }
            })
        })
        .collect()
}

/// Orders every group of `sdl`, waits for the matches, sends each leased group's manifest to
/// its provider and waits until its containers run. A group whose order expired is reported
/// (see [`DeployReport::all_leased`]); the others are deployed all the same.
pub async fn deploy(
    chain: &dyn MarketChain,
    key: &TenantKey,
    sdl: &crate::sdl::SdlFile,
    progress: &dyn Progress,
    options: &DeployOptions,
) -> Result<DeployReport> {
    let groups = sdl.groups();
    let needed = sdl.total_escrow();
    let balance = chain
        .token_balance(chain.address())
        .await
        .context("reading the tenant's balance")?;
    if balance < needed {
        bail!(
            "{} holds {}, the orders of {} need {} in escrow",
            chain.address(),
            output::amount(balance),
            sdl.path.display(),
            output::amount(needed)
        );
    }
    let placed = create_orders(chain, &groups, progress).await?;
    let outcomes = await_matches(chain, placed, progress, options).await?;
    let leased: Vec<(PlacementGroup, Lease)> = outcomes
        .iter()
        .filter_map(|g| g.lease().map(|lease| (g.group.clone(), lease.clone())))
        .collect();
    send_placements(chain, key, &leased, progress).await?;
    let sent = send_manifests(chain, key, &leased, progress).await?;
    let running = await_running(chain, key, sent, progress, options).await?;
    Ok(DeployReport {
        groups: outcomes,
        running,
    })
}

/// Where each leased group's peers run: peer service -> the lease of the group running it,
/// and the deployment id (the first order id) that names them all.
pub fn peer_placements(leased: &[(PlacementGroup, Lease)]) -> Vec<(u64, PeerPlacement)> {
    let Some(deployment) = leased.iter().map(|(_, lease)| lease.order_id).min() else {
        return Vec::new();
    };
    let runs_on: BTreeMap<&str, u64> = leased
        .iter()
        .flat_map(|(group, lease)| {
            group
                .manifest()
                .services
                .keys()
                .map(move |service| (service.as_str(), lease.id))
        })
        .collect();
    leased
        .iter()
        .filter(|(group, _)| !group.manifest().peers.is_empty())
        .map(|(group, lease)| {
            let peers = group
                .manifest()
                .peers
                .keys()
                .filter_map(|peer| runs_on.get(peer.as_str()).map(|id| (peer.clone(), *id)))
                .collect();
            (lease.id, PeerPlacement { deployment, peers })
        })
        .collect()
}

/// Tells the provider of each group with peers where they run, before any manifest: the
/// overlay tunnels between the groups' services need it.
pub async fn send_placements(
    chain: &dyn MarketChain,
    key: &TenantKey,
    leased: &[(PlacementGroup, Lease)],
    progress: &dyn Progress,
) -> Result<()> {
    for (lease_id, placement) in peer_placements(leased) {
        let Some((group, lease)) = leased.iter().find(|(_, lease)| lease.id == lease_id) else {
            continue;
        };
        let (client, gateway) = gateway::client_for(chain, lease).await?;
        client
            .put_peers(lease_id, &placement, key.signing_key())
            .await
            .with_context(|| format!("sending the peers of lease {lease_id} to {gateway}"))?;
        let described: Vec<String> = placement
            .peers
            .iter()
            .map(|(service, lease)| format!("{service} on lease {lease}"))
            .collect();
        progress.event(&DeployEvent::Note {
            group: group.name().to_string(),
            text: format!(
                "lease {lease_id}: peers placed ({}); connected through overlay tunnels",
                described.join(", ")
            ),
        });
    }
    Ok(())
}

/// A lease whose manifest its provider accepted.
#[derive(Debug, Clone)]
pub struct SentManifest {
    pub group: String,
    pub manifest: GroupManifest,
    pub lease: Lease,
    pub client: GatewayClient,
}

/// Attempts at one upload while the provider is unreachable or failing.
const UPLOAD_ATTEMPTS: u32 = 5;
const UPLOAD_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Sends each group's document to the gateway of its lease's provider (host URI and root
/// certificate from the registry), signed with the tenant's key; checks the receipt names the
/// lease's hash. A document is uploaded once: the providers of other leases carrying the same
/// hash fetch it from the provider that got it.
pub async fn send_manifests(
    chain: &dyn MarketChain,
    key: &TenantKey,
    leased: &[(PlacementGroup, Lease)],
    progress: &dyn Progress,
) -> Result<Vec<SentManifest>> {
    let mut sent = Vec::with_capacity(leased.len());
    let mut uploaded: BTreeMap<String, u64> = BTreeMap::new();
    for (group, lease) in leased {
        let document = group.document_bytes();
        let sha256 = group.sha256_hex();
        if lease.manifest_sha256 != sha256 {
            bail!(
                "lease {} carries manifest {}, group {} has {sha256}",
                lease.id,
                lease.manifest_sha256,
                group.name()
            );
        }
        let (client, gateway) = gateway::client_for(chain, lease).await?;
        if let Some(&uploaded_for) = uploaded.get(&sha256) {
            progress.event(&DeployEvent::ManifestShared {
                group: group.name().to_string(),
                lease_id: lease.id,
                uploaded_for,
            });
            sent.push(SentManifest {
                group: group.name().to_string(),
                manifest: group.manifest().clone(),
                lease: lease.clone(),
                client,
            });
            continue;
        }
        let mut attempt = 1;
        let receipt = loop {
            match client
                .upload_manifest(lease.id, document, key.signing_key())
                .await
            {
                Ok(receipt) => break receipt,
                Err(error) if gateway::is_transient(&error) && attempt < UPLOAD_ATTEMPTS => {
                    progress.event(&DeployEvent::Note {
                        group: group.name().to_string(),
                        text: format!(
                            "lease {}: upload to {gateway} failed ({error}); retrying",
                            lease.id
                        ),
                    });
                    attempt += 1;
                    tokio::time::sleep(UPLOAD_RETRY_DELAY).await;
                }
                Err(error) => {
                    return Err(error).with_context(|| {
                        format!("uploading the manifest of lease {} to {gateway}", lease.id)
                    })
                }
            }
        };
        if receipt.lease_id != lease.id || receipt.manifest_sha256 != sha256 {
            bail!(
                "{gateway} acknowledged lease {} with manifest {}, expected lease {} with {sha256}",
                receipt.lease_id,
                receipt.manifest_sha256,
                lease.id
            );
        }
        uploaded.insert(sha256.clone(), lease.id);
        progress.event(&DeployEvent::ManifestSent {
            group: group.name().to_string(),
            lease_id: lease.id,
            gateway,
            sha256,
            bytes: document.len(),
        });
        sent.push(SentManifest {
            group: group.name().to_string(),
            manifest: group.manifest().clone(),
            lease: lease.clone(),
            client,
        });
    }
    Ok(sent)
}

/// Whether the status lists every instance the manifest asks for (a provider still creating
/// containers reports the ones it has, all running).
fn has_every_instance(status: &LeaseStatus, manifest: &GroupManifest) -> bool {
    manifest.services.iter().all(|(name, service)| {
        status
            .services
            .iter()
            .find(|reported| &reported.name == name)
            .is_some_and(|reported| reported.instances.len() >= service.count as usize)
    })
}

/// Polls each lease's status at its provider until every container runs.
pub async fn await_running(
    chain: &dyn MarketChain,
    key: &TenantKey,
    sent: Vec<SentManifest>,
    progress: &dyn Progress,
    options: &DeployOptions,
) -> Result<Vec<RunningLease>> {
    let started = Instant::now();
    let mut waiting: Vec<(SentManifest, Option<String>)> =
        sent.into_iter().map(|s| (s, None)).collect();
    let mut running = Vec::new();
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for (sent, last_state) in waiting {
            let lease_id = sent.lease.id;
            let state = match sent.client.status(lease_id, key.signing_key()).await {
                Ok(status)
                    if status.state == DeploymentState::Running
                        && has_every_instance(&status, &sent.manifest) =>
                {
                    progress.event(&DeployEvent::Running {
                        group: sent.group.clone(),
                        lease_id,
                        endpoints: endpoints_of(&status, Some(&sent.manifest)),
                    });
                    running.push(RunningLease {
                        group: sent.group,
                        manifest: sent.manifest,
                        lease: sent.lease,
                        status,
                    });
                    continue;
                }
                Ok(status) => deployment_state_name(status.state).to_string(),
                Err(ClientError::Refused { error, .. }) if error == codes::NOT_DEPLOYED => {
                    "pending".to_string()
                }
                Err(error) if gateway::is_transient(&error) => format!("unknown ({error})"),
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("reading the status of lease {lease_id}"))
                }
            };
            // A provider that cannot run the workload closes the lease: no point waiting.
            let lease = chain
                .lease(lease_id)
                .await
                .with_context(|| format!("reading lease {lease_id}"))?;
            if lease.state != LeaseState::Active {
                bail!(
                    "lease {lease_id} is {}{} before its containers ran",
                    crate::listings::lease_state(&lease.state),
                    lease
                        .close_reason
                        .map(|reason| format!(" ({reason})"))
                        .unwrap_or_default()
                );
            }
            if last_state.as_deref() != Some(state.as_str()) {
                progress.event(&DeployEvent::Deploying {
                    group: sent.group.clone(),
                    lease_id,
                    state: state.clone(),
                });
            }
            still.push((sent, Some(state)));
        }
        waiting = still;
        if waiting.is_empty() {
            break;
        }
        if started.elapsed() > options.ready_timeout {
            let late: Vec<String> = waiting
                .iter()
                .map(|(s, state)| {
                    format!(
                        "lease {} ({})",
                        s.lease.id,
                        state.as_deref().unwrap_or("no status")
                    )
                })
                .collect();
            bail!(
                "not running {} s after the manifests were sent: {}",
                options.ready_timeout.as_secs(),
                late.join(", ")
            );
        }
        tokio::time::sleep(options.poll_interval).await;
    }
    Ok(running)
}

pub fn deployment_state_name(state: DeploymentState) -> &'static str {
    match state {
        DeploymentState::Pending => "pending",
        DeploymentState::Running => "running",
        DeploymentState::Degraded => "degraded",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosmwasm_std::Addr;

    fn lease(id: u64, order_id: u64, group: &PlacementGroup) -> Lease {
        Lease {
            id,
            order_id,
            tenant: Addr::unchecked("tenant"),
            provider: Addr::unchecked(format!("provider{id}")),
            price_per_second: Uint128::one(),
            started_at: Timestamp::from_seconds(1),
            ends_at: Timestamp::from_seconds(2),
            escrow: Uint128::one(),
            withdrawn: Uint128::zero(),
            state: LeaseState::Active,
            closed_at: None,
            close_reason: None,
            manifest_sha256: group.sha256_hex(),
            manifest_version: 1,
        }
    }

    #[test]
    fn each_group_with_peers_learns_the_leases_that_run_them() {
        let sdl = akash_manifest::parse_sdl(include_str!("../../examples/web-db.yaml")).unwrap();
        let groups = sdl.groups();
        let web = groups
            .iter()
            .find(|g| g.manifest().services.contains_key("web"))
            .unwrap();
        let db = groups
            .iter()
            .find(|g| g.manifest().services.contains_key("db"))
            .unwrap();
        let leased = vec![
            (web.clone(), lease(7, 12, web)),
            (db.clone(), lease(8, 11, db)),
        ];
        let placements: BTreeMap<u64, PeerPlacement> =
            peer_placements(&leased).into_iter().collect();
        // Both groups name the other: web reaches db, db accepts web.
        assert_eq!(
            placements[&7],
            PeerPlacement {
                deployment: 11,
                peers: BTreeMap::from([("db".to_string(), 8)]),
            }
        );
        assert_eq!(
            placements[&8].peers,
            BTreeMap::from([("web".to_string(), 7)])
        );
        // A group alone has no peers to place.
        assert!(peer_placements(&leased[..1])[0].1.peers.is_empty());
    }
}
