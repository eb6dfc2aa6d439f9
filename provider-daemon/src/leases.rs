//! The lease manager: runs the workload of every lease won, from its manifest to its end.
//!
//! Each lease has a worker task and a [`LeasePhase`]: AwaitingManifest -> Deploying ->
//! Running, or Failed (the lease is then closed on chain with the reason) and finally Closed
//! (containers removed, capacity freed). Manifests come from the gateway through
//! [`LeaseManager::accept_manifest`], or from another provider whose lease carries the same
//! hash ([`crate::distribution`]). State is rebuilt on start from the chain (our Active
//! leases) and from the runtime's containers: a running workload of an Active lease is
//! adopted as it is, never restarted; containers of leases no longer Active are removed.
//! The only things kept on disk are what neither knows: verified manifest documents
//! (`manifests/<sha256>.json`, hash checked again on load) and the hash each lease last
//! deployed (`leases/<lease_id>.deployed`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use akash_chain_client::{ChainError, MarketChain, MarketEvent, Timestamp};
use akash_manifest::{sha256_hex, GroupManifest, Proto};
use akash_types::market::{Lease, LeaseState, MAX_CLOSE_REASON_LEN, MAX_PAGE_LIMIT};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, info_span, warn, Instrument};

use crate::bidding::{CapacityLedger, Resources};
use crate::distribution::{DistributionStats, ManifestFetcher};
use crate::gateway::{LeaseStatus, LeaseView, ManifestSink, PeerPlacement, ViewError};
use crate::runtime::{
    ContainerRuntime, DeploymentSpec, DeploymentStatus, LeaseRef, LogLine, PortSpec, Protocol,
    RuntimeError, ServiceSpec,
};

/// Closed leases kept for [`LeaseManager::report`] before the oldest are forgotten.
const MAX_CLOSED_LEASES_KEPT: usize = 4096;
/// Attempts of a deployment that fails because the Docker engine is unreachable.
const ENGINE_RETRIES: u32 = 5;
const ENGINE_RETRY_DELAY: Duration = Duration::from_secs(2);
/// Pause while waiting for manifest fetching to be enabled, or for the chain to answer.
const FETCHER_WAIT: Duration = Duration::from_millis(250);

#[derive(Clone, Debug)]
pub struct LeaseManagerSettings {
    /// A lease without its manifest this long after the daemon saw it is closed.
    pub manifest_timeout: Duration,
    /// Period of `WithdrawEarnings` on every active lease.
    pub withdraw_interval: Duration,
    /// Period of the check against the chain (ended leases, leases to complete, orphans).
    pub check_interval: Duration,
    /// Holds `manifests/` and `leases/`.
    pub data_dir: PathBuf,
    /// The host tenants reach published ports at (named in lease status endpoints).
    pub public_host: String,
}

#[derive(Debug, Error)]
pub enum LeaseError {
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    #[error("runtime: {0}")]
    Runtime(#[from] RuntimeError),
}

/// Why [`LeaseManager::accept_manifest`] refused a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ManifestRejected {
    #[error("lease {lease_id} belongs to {provider}, not to this provider")]
    NotOurLease { lease_id: u64, provider: String },
    #[error("lease {lease_id} is {state}, not active")]
    LeaseNotActive { lease_id: u64, state: String },
    #[error("manifest sha256 {received} is not lease {lease_id}'s {expected}")]
    HashMismatch {
        lease_id: u64,
        expected: String,
        received: String,
    },
    #[error("lease {lease_id}: the chain could not be read: {reason}")]
    Chain { lease_id: u64, reason: String },
    #[error("storing manifest {sha256}: {reason}")]
    Store { sha256: String, reason: String },
}

// ---- per-lease state machine -----------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeasePhase {
    AwaitingManifest,
    Deploying,
    Running,
    /// Could not be served; the lease is being closed on chain with `reason`.
    Failed {
        reason: String,
    },
    /// Ended on chain; containers removed, capacity freed.
    Closed {
        reason: String,
    },
}

impl LeasePhase {
    pub fn name(&self) -> &'static str {
        match self {
            LeasePhase::AwaitingManifest => "awaiting_manifest",
            LeasePhase::Deploying => "deploying",
            LeasePhase::Running => "running",
            LeasePhase::Failed { .. } => "failed",
            LeasePhase::Closed { .. } => "closed",
        }
    }

    /// The allowed transitions: AwaitingManifest -> Deploying, Deploying -> Running,
    /// Running -> Deploying (new manifest version), AwaitingManifest | Deploying | Running ->
    /// Failed, and any phase but Closed -> Closed.
    pub fn can_become(&self, next: &LeasePhase) -> bool {
        use LeasePhase::*;
        match (self, next) {
            (Closed { .. }, _) => false,
            (_, Closed { .. }) => true,
            (AwaitingManifest | Running, Deploying) => true,
            (Deploying, Running) => true,
            (AwaitingManifest | Deploying | Running, Failed { .. }) => true,
            _ => false,
        }
    }

    pub fn is_ended(&self) -> bool {
        matches!(self, LeasePhase::Failed { .. } | LeasePhase::Closed { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("lease {lease_id}: no transition from {from} to {to}")]
pub struct LeaseTransitionError {
    pub lease_id: u64,
    pub from: &'static str,
    pub to: &'static str,
}

/// What the daemon knows of one lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseReport {
    pub lease_id: u64,
    pub order_id: u64,
    /// The manifest version on chain.
    pub manifest_sha256: String,
    /// The manifest the containers run, if any.
    pub deployed_sha256: Option<String>,
    pub phase: LeasePhase,
    /// Found running at start and kept as it was.
    pub adopted: bool,
    pub ends_at: Timestamp,
}

enum LeaseCommand {
    Manifest(GroupManifest),
    /// The chain's manifest hash changed (already written to the report).
    NewVersion,
    Ended(String),
}

struct LeaseEntry {
    report: LeaseReport,
    total: Resources,
    inbox: Option<mpsc::UnboundedSender<LeaseCommand>>,
}

// ---- manifest documents on disk --------------------------------------------------------

/// Verified manifest documents, content-addressed: `<dir>/<sha256>.json`, the exact bytes.
#[derive(Clone, Debug)]
pub struct ManifestStore {
    dir: PathBuf,
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ManifestStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ManifestStore { dir: dir.into() }
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        is_sha256_hex(sha256).then(|| self.dir.join(format!("{sha256}.json")))
    }

    /// Writes the document (atomically: temporary file, then rename); returns its sha256.
    pub fn save(&self, manifest: &GroupManifest) -> std::io::Result<String> {
        let bytes = manifest.document_bytes();
        let sha256 = sha256_hex(&bytes);
        std::fs::create_dir_all(&self.dir)?;
        let path = self.dir.join(format!("{sha256}.json"));
        if path.exists() {
            return Ok(sha256);
        }
        let temporary = self
            .dir
            .join(format!(".{sha256}.{}.tmp", std::process::id()));
        std::fs::write(&temporary, &bytes)?;
        std::fs::rename(&temporary, &path)?;
        Ok(sha256)
    }

    /// The document's bytes, only if they still hash to `sha256`.
    pub fn document(&self, sha256: &str) -> Option<Vec<u8>> {
        let path = self.path(sha256)?;
        let bytes = std::fs::read(&path).ok()?;
        if sha256_hex(&bytes) != sha256 {
            warn!(path = %path.display(), "stored manifest does not match its hash; removed");
            let _ = std::fs::remove_file(&path);
            return None;
        }
        Some(bytes)
    }

    /// The document `sha256`, checked again (hash and manifest rules) since it was stored.
    pub fn load(&self, sha256: &str) -> Option<GroupManifest> {
        let bytes = self.document(sha256)?;
        match GroupManifest::from_document_bytes(&bytes) {
            Ok(manifest) => Some(manifest),
            Err(error) => {
                warn!(sha256, %error, "stored manifest is not a valid document; ignored");
                None
            }
        }
    }
}

// ---- manifest to runtime ---------------------------------------------------------------

/// The runtime's spec for a manifest: one service per manifest service (same name, image,
/// command, args, env, per-instance CPU and memory, count) with its exposed container ports,
/// published on the host where the expose is `global`. Peers are not the runtime's concern.
pub fn deployment_spec(lease: LeaseRef, manifest: &GroupManifest) -> DeploymentSpec {
    let services = manifest
        .services
        .iter()
        .map(|(name, service)| ServiceSpec {
            name: name.clone(),
            image: service.image.clone(),
            command: service.command.clone(),
            args: service.args.clone(),
            env: service
                .env
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            cpu_millis: service.resources.cpu_millis,
            memory_bytes: service.resources.memory_bytes,
            count: service.count,
            ports: service
                .expose
                .iter()
                .map(|expose| PortSpec {
                    container_port: expose.port,
                    protocol: match expose.proto {
                        Proto::Tcp => Protocol::Tcp,
                        Proto::Udp => Protocol::Udp,
                    },
                    global: expose.global,
                })
                .collect(),
        })
        .collect();
    DeploymentSpec {
        lease,
        services,
        peer_hosts: manifest.peers.keys().cloned().collect(),
    }
}

/// Refuses a manifest that asks for more CPU, memory or storage than its order reserved
/// (a tenant could otherwise order little and run much).
pub fn check_manifest_fits(manifest: &GroupManifest, order: &Resources) -> Result<(), String> {
    let mut asked = Resources::default();
    for service in manifest.services.values() {
        let count = u128::from(service.count);
        asked.cpu_millis += u128::from(service.resources.cpu_millis) * count;
        asked.memory_bytes += u128::from(service.resources.memory_bytes) * count;
        asked.storage_bytes += u128::from(service.resources.storage_bytes) * count;
    }
    for (resource, wanted, ordered) in [
        ("cpu_millis", asked.cpu_millis, order.cpu_millis),
        ("memory_bytes", asked.memory_bytes, order.memory_bytes),
        ("storage_bytes", asked.storage_bytes, order.storage_bytes),
    ] {
        if wanted > ordered {
            return Err(format!(
                "the manifest asks for {wanted} {resource} in total, the order reserved {ordered}"
            ));
        }
    }
    Ok(())
}

fn close_reason(reason: &str) -> String {
    reason.chars().take(MAX_CLOSE_REASON_LEN).collect()
}

fn lease_state_name(state: &LeaseState) -> &'static str {
    match state {
        LeaseState::Active => "active",
        LeaseState::Completed => "completed",
        LeaseState::ClosedByTenant => "closed by the tenant",
        LeaseState::ClosedByProvider => "closed by the provider",
    }
}

// ---- the manager -----------------------------------------------------------------------

/// What [`LeaseManager::recover`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Active leases whose containers were found and kept as they were.
    pub adopted: Vec<u64>,
    /// Active leases without containers, now waiting for (or redeploying) their manifest.
    pub awaiting: Vec<u64>,
    /// Leases whose containers were removed because the lease is no longer Active.
    pub torn_down: Vec<u64>,
}

/// Cheap to clone; every clone is the same manager.
pub struct LeaseManager<R> {
    inner: Arc<Inner<R>>,
}

impl<R> Clone for LeaseManager<R> {
    fn clone(&self) -> Self {
        LeaseManager {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<R> {
    chain: Arc<dyn MarketChain>,
    runtime: Arc<R>,
    ledger: Arc<CapacityLedger>,
    settings: LeaseManagerSettings,
    store: ManifestStore,
    leases: Mutex<BTreeMap<u64, LeaseEntry>>,
    /// Set once the gateway runs: a provider fetches shared manifests only if it serves.
    fetcher: OnceLock<Arc<ManifestFetcher>>,
    tasks: TaskTracker,
    cancel: CancellationToken,
}

impl<R: ContainerRuntime + 'static> LeaseManager<R> {
    /// Lease workers are spawned on `tasks` and stop (leaving containers as they are) when
    /// `cancel` fires.
    pub fn new(
        chain: Arc<dyn MarketChain>,
        runtime: Arc<R>,
        ledger: Arc<CapacityLedger>,
        settings: LeaseManagerSettings,
        tasks: TaskTracker,
        cancel: CancellationToken,
    ) -> Self {
        let store = ManifestStore::new(settings.data_dir.join("manifests"));
        LeaseManager {
            inner: Arc::new(Inner {
                chain,
                runtime,
                ledger,
                settings,
                store,
                leases: Mutex::new(BTreeMap::new()),
                fetcher: OnceLock::new(),
                tasks,
                cancel,
            }),
        }
    }

    pub fn manifest_store(&self) -> &ManifestStore {
        &self.inner.store
    }

    /// Counters of manifest fetching from other providers, once enabled.
    pub fn distribution_stats(&self) -> Option<Arc<DistributionStats>> {
        self.inner.fetcher.get().map(|fetcher| fetcher.stats())
    }

    /// From now on, leases waiting for their manifest also fetch it from other providers
    /// whose leases carry the same hash. Only the first call has an effect.
    pub fn enable_manifest_fetching(&self, fetcher: Arc<ManifestFetcher>) {
        let _ = self.inner.fetcher.set(fetcher);
    }

    pub fn report(&self, lease_id: u64) -> Option<LeaseReport> {
        self.inner
            .lock()
            .get(&lease_id)
            .map(|entry| entry.report.clone())
    }

    pub fn reports(&self) -> Vec<LeaseReport> {
        self.inner
            .lock()
            .values()
            .map(|entry| entry.report.clone())
            .collect()
    }

    /// The containers of a lease as the runtime sees them.
    pub async fn deployment_status(&self, lease_id: u64) -> Result<DeploymentStatus, RuntimeError> {
        self.inner.runtime.status(lease_id).await
    }

    pub async fn logs(
        &self,
        lease_id: u64,
        service: &str,
        tail: usize,
    ) -> Result<Vec<LogLine>, RuntimeError> {
        self.inner.runtime.logs(lease_id, service, tail).await
    }

    /// Rebuilds state on start: every Active lease of ours is tracked (adopted if it has
    /// containers), and containers of leases that are not Active are removed.
    pub async fn recover(&self) -> Result<Recovery, LeaseError> {
        self.inner.reconcile().await
    }

    /// Handles events, checks leases every `check_interval` and withdraws earnings every
    /// `withdraw_interval`, until `cancel` or the end of `events`.
    pub async fn run(&self, mut events: mpsc::Receiver<MarketEvent>, cancel: CancellationToken) {
        let settings = &self.inner.settings;
        let start = Instant::now();
        let mut check =
            tokio::time::interval_at(start + settings.check_interval, settings.check_interval);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut withdraw = tokio::time::interval_at(
            start + settings.withdraw_interval,
            settings.withdraw_interval,
        );
        withdraw.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                event = events.recv() => match event {
                    Some(event) => self.handle_event(&event).await,
                    None => break,
                },
                _ = check.tick() => self.check_leases().await,
                _ = withdraw.tick() => self.withdraw_earnings().await,
            }
        }
        debug!("lease manager stopped");
    }

    /// Reacts to one market event about a lease of ours.
    pub async fn handle_event(&self, event: &MarketEvent) {
        let Some(lease_id) = event.lease_id() else {
            return;
        };
        let ours = event.attribute("provider") == Some(self.inner.chain.address());
        let inner = &self.inner;
        async {
            match event.action.as_str() {
                "match_order" if ours => {
                    if let Err(error) = inner.track_by_id(lease_id).await {
                        warn!(%error, "won lease not tracked; the next check retries");
                    }
                }
                "close_lease" | "complete_lease" => {
                    let outcome = event.attribute("outcome").unwrap_or(event.action.as_str());
                    inner.send(
                        lease_id,
                        LeaseCommand::Ended(format!("lease ended: {outcome}")),
                    );
                }
                "update_manifest" if ours => {
                    let Some(sha256) = event.attribute("manifest_sha256") else {
                        return;
                    };
                    let tracked = inner.update_report(lease_id, |report| {
                        report.manifest_sha256 = sha256.to_string();
                    });
                    if tracked {
                        info!(%sha256, "new manifest version; waiting for its document");
                        inner.send(lease_id, LeaseCommand::NewVersion);
                    } else if let Err(error) = inner.track_by_id(lease_id).await {
                        warn!(%error, "updated lease not tracked; the next check retries");
                    }
                }
                "deposit_lease" if ours => {
                    if let Some(ends_at) = event.attribute_u64("ends_at") {
                        inner.update_report(lease_id, |report| {
                            report.ends_at = Timestamp::from_seconds(ends_at);
                        });
                    }
                }
                _ => {}
            }
        }
        .instrument(info_span!("lease", lease_id))
        .await
    }

    /// Takes a manifest for `lease_id` (the gateway calls this after checking the uploader).
    /// Its sha256 must be the lease's on chain; it is stored, then deployed by the lease's
    /// worker. Returns once the deployment is under way, not when it is done. A manifest the
    /// lease already runs is accepted and changes nothing.
    pub async fn accept_manifest(
        &self,
        lease_id: u64,
        manifest: GroupManifest,
    ) -> Result<(), ManifestRejected> {
        let inner = &self.inner;
        let received = manifest.sha256_hex();
        let known = inner
            .lock()
            .get(&lease_id)
            .map(|entry| entry.report.clone());
        let expected = match known {
            Some(report) if report.manifest_sha256 == received => report.manifest_sha256,
            // Unknown to us yet (the match event is still on its way) or a version we have
            // not heard of: the chain decides.
            _ => {
                let chain_error = |error: ChainError| ManifestRejected::Chain {
                    lease_id,
                    reason: error.to_string(),
                };
                let lease = inner.chain.lease(lease_id).await.map_err(chain_error)?;
                if lease.provider.as_str() != inner.chain.address() {
                    return Err(ManifestRejected::NotOurLease {
                        lease_id,
                        provider: lease.provider.into_string(),
                    });
                }
                if lease.state != LeaseState::Active {
                    return Err(ManifestRejected::LeaseNotActive {
                        lease_id,
                        state: lease_state_name(&lease.state).to_string(),
                    });
                }
                let sha256 = lease.manifest_sha256.clone();
                let changed = inner.update_report(lease_id, |report| {
                    if report.manifest_sha256 != sha256 {
                        report.manifest_sha256 = sha256.clone();
                    }
                });
                if changed {
                    inner.send(lease_id, LeaseCommand::NewVersion);
                } else {
                    inner.track(lease).await.map_err(chain_error)?;
                }
                sha256
            }
        };
        if expected != received {
            return Err(ManifestRejected::HashMismatch {
                lease_id,
                expected,
                received,
            });
        }
        let report = self.report(lease_id);
        if let Some(LeasePhase::Failed { .. } | LeasePhase::Closed { .. }) =
            report.as_ref().map(|report| &report.phase)
        {
            return Err(ManifestRejected::LeaseNotActive {
                lease_id,
                state: "closed".to_string(),
            });
        }
        inner
            .store
            .save(&manifest)
            .map_err(|error| ManifestRejected::Store {
                sha256: received.clone(),
                reason: error.to_string(),
            })?;
        if report.and_then(|report| report.deployed_sha256) == Some(received.clone()) {
            debug!(lease_id, sha256 = %received, "manifest already deployed");
            return Ok(());
        }
        info!(lease_id, sha256 = %received, "manifest accepted");
        inner.send(lease_id, LeaseCommand::Manifest(manifest));
        Ok(())
    }

    /// Compares with the chain (leases ended or won without us seeing the event, orphan
    /// containers) and completes leases past their end.
    pub async fn check_leases(&self) {
        if let Err(error) = self.inner.reconcile().await {
            warn!(%error, "lease check failed; the next one retries");
        }
        self.inner.complete_ended().await;
    }

    /// `WithdrawEarnings` on every active lease (those past their end are completed instead).
    pub async fn withdraw_earnings(&self) {
        let inner = &self.inner;
        let now = match inner.chain.block_time().await {
            Ok(now) => now,
            Err(error) => {
                warn!(%error, "chain time unavailable; withdrawal skipped");
                return;
            }
        };
        for report in inner.live_reports() {
            let lease_id = report.lease_id;
            if now >= report.ends_at {
                continue;
            }
            match inner.chain.withdraw_earnings(lease_id).await {
                Ok(tx) => {
                    let amount = tx
                        .attribute(&inner.chain.contracts().market, "amount")
                        .unwrap_or("?");
                    info!(lease_id, amount, "earnings withdrawn");
                }
                Err(error) => match error.contract_message() {
                    Some(message) if message.contains("nothing to withdraw") => {
                        debug!(lease_id, "nothing to withdraw yet")
                    }
                    _ => warn!(lease_id, %error, "withdrawal failed"),
                },
            }
        }
    }
}

impl<R> Inner<R> {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, LeaseEntry>> {
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Changes the report of a tracked lease that has not ended; false if there is none.
    fn update_report(&self, lease_id: u64, change: impl FnOnce(&mut LeaseReport)) -> bool {
        match self.lock().get_mut(&lease_id) {
            Some(entry) if !entry.report.phase.is_ended() => {
                change(&mut entry.report);
                true
            }
            _ => false,
        }
    }

    fn send(&self, lease_id: u64, command: LeaseCommand) {
        if let Some(inbox) = self
            .lock()
            .get(&lease_id)
            .and_then(|entry| entry.inbox.as_ref())
        {
            let _ = inbox.send(command);
        }
    }

    fn live_reports(&self) -> Vec<LeaseReport> {
        self.lock()
            .values()
            .filter(|entry| !entry.report.phase.is_ended())
            .map(|entry| entry.report.clone())
            .collect()
    }

    fn transition(&self, lease_id: u64, next: LeasePhase) -> Result<(), LeaseTransitionError> {
        let mut leases = self.lock();
        let Some(entry) = leases.get_mut(&lease_id) else {
            return Err(LeaseTransitionError {
                lease_id,
                from: "untracked",
                to: next.name(),
            });
        };
        if !entry.report.phase.can_become(&next) {
            return Err(LeaseTransitionError {
                lease_id,
                from: entry.report.phase.name(),
                to: next.name(),
            });
        }
        debug!(
            from = entry.report.phase.name(),
            to = next.name(),
            "lease phase"
        );
        entry.report.phase = next;
        Ok(())
    }

    fn deployed_marker(&self, lease_id: u64) -> PathBuf {
        self.settings
            .data_dir
            .join("leases")
            .join(format!("{lease_id}.deployed"))
    }

    fn read_deployed_marker(&self, lease_id: u64) -> Option<String> {
        let text = std::fs::read_to_string(self.deployed_marker(lease_id)).ok()?;
        let sha256 = text.trim();
        is_sha256_hex(sha256).then(|| sha256.to_string())
    }

    fn write_deployed_marker(&self, lease_id: u64, sha256: &str) {
        let path = self.deployed_marker(lease_id);
        let result = path
            .parent()
            .map(std::fs::create_dir_all)
            .unwrap_or(Ok(()))
            .and_then(|()| write_atomically(&path, sha256.as_bytes()));
        if let Err(error) = result {
            warn!(path = %path.display(), %error, "deployed manifest not recorded");
        }
    }

    fn remove_deployed_marker(&self, lease_id: u64) {
        let _ = std::fs::remove_file(self.deployed_marker(lease_id));
        let _ = std::fs::remove_file(self.placement_file(lease_id));
    }

    fn placement_file(&self, lease_id: u64) -> PathBuf {
        self.settings
            .data_dir
            .join("leases")
            .join(format!("{lease_id}.peers.json"))
    }

    /// Where the peers of the lease's group run, as its tenant last said (kept on disk: the
    /// chain does not know it).
    fn read_placement(&self, lease_id: u64) -> Option<PeerPlacement> {
        let bytes = std::fs::read(self.placement_file(lease_id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn write_placement(&self, lease_id: u64, placement: &PeerPlacement) -> std::io::Result<()> {
        let path = self.placement_file(lease_id);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let bytes = serde_json::to_vec(placement).map_err(std::io::Error::other)?;
        write_atomically(&path, &bytes)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

impl<R: ContainerRuntime + 'static> Inner<R> {
    /// Every lease of ours on chain, all states.
    async fn our_leases(&self) -> Result<Vec<Lease>, ChainError> {
        let mut leases = Vec::new();
        let mut start_after = None;
        loop {
            let page = self
                .chain
                .leases_by_provider(self.chain.address(), start_after, Some(MAX_PAGE_LIMIT))
                .await?;
            let full = page.len() == MAX_PAGE_LIMIT as usize;
            start_after = page.last().map(|lease| lease.id);
            leases.extend(page);
            if !full {
                return Ok(leases);
            }
        }
    }

    async fn reconcile(self: &Arc<Self>) -> Result<Recovery, LeaseError> {
        let mut recovery = Recovery::default();
        let active: BTreeMap<u64, Lease> = self
            .our_leases()
            .await?
            .into_iter()
            .filter(|lease| lease.state == LeaseState::Active)
            .map(|lease| (lease.id, lease))
            .collect();
        for lease in active.values() {
            let lease_id = lease.id;
            if self.lock().contains_key(&lease_id) {
                continue;
            }
            match self
                .track(lease.clone())
                .instrument(info_span!("lease", lease_id))
                .await
            {
                Ok(true) => recovery.adopted.push(lease_id),
                Ok(false) => recovery.awaiting.push(lease_id),
                Err(error) => warn!(lease_id, %error, "lease not tracked"),
            }
        }
        // Tracked leases that are no longer Active (the event was missed).
        let tracked: Vec<u64> = self
            .lock()
            .iter()
            .filter(|(lease_id, entry)| {
                !entry.report.phase.is_ended() && !active.contains_key(lease_id)
            })
            .map(|(lease_id, _)| *lease_id)
            .collect();
        for lease_id in tracked {
            // Confirmed one by one: the lease may have been won after the list was read.
            match self.chain.lease(lease_id).await {
                Ok(lease) if lease.state != LeaseState::Active => self.send(
                    lease_id,
                    LeaseCommand::Ended(format!("lease ended: {}", lease_state_name(&lease.state))),
                ),
                Ok(_) => {}
                Err(error) => warn!(lease_id, %error, "lease state unknown"),
            }
        }
        // Containers of our leases that are no longer Active: removed, after asking the chain
        // once more. Containers of another provider's lease, or of a lease this chain does not
        // know, are left alone: another daemon (or another chain) may share this Docker engine.
        let with_containers: BTreeSet<u64> = self
            .runtime
            .list_leases()
            .await?
            .into_iter()
            .map(|lease| lease.lease_id)
            .collect();
        for lease_id in with_containers {
            if active.contains_key(&lease_id) {
                continue;
            }
            if let Some(entry) = self.lock().get(&lease_id) {
                if !entry.report.phase.is_ended() {
                    continue;
                }
            }
            let stale = match self.chain.lease(lease_id).await {
                Ok(lease) => {
                    lease.state != LeaseState::Active
                        && lease.provider.as_str() == self.chain.address()
                }
                Err(ChainError::Contract { .. }) => {
                    debug!(lease_id, "containers kept: no such lease on this chain");
                    false
                }
                Err(error) => {
                    warn!(lease_id, %error, "containers kept: lease state unknown");
                    false
                }
            };
            if stale {
                info!(
                    lease_id,
                    "removing containers of a lease that is no longer active"
                );
                match self.runtime.teardown(lease_id).await {
                    Ok(()) => {
                        self.remove_deployed_marker(lease_id);
                        recovery.torn_down.push(lease_id);
                    }
                    Err(error) => warn!(lease_id, %error, "teardown failed; retried later"),
                }
            }
        }
        Ok(recovery)
    }

    async fn track_by_id(self: &Arc<Self>, lease_id: u64) -> Result<bool, ChainError> {
        if self.lock().contains_key(&lease_id) {
            return Ok(false);
        }
        let lease = self.chain.lease(lease_id).await?;
        self.track(lease).await
    }

    /// Starts tracking an Active lease of ours and spawns its worker; true if its running
    /// containers were adopted. Does nothing for leases already tracked.
    async fn track(self: &Arc<Self>, lease: Lease) -> Result<bool, ChainError> {
        let lease_id = lease.id;
        if lease.provider.as_str() != self.chain.address() || lease.state != LeaseState::Active {
            return Ok(false);
        }
        if self.lock().contains_key(&lease_id) {
            return Ok(false);
        }
        let order = self.chain.order(lease.order_id).await?;
        let total = Resources::of_order(&order.spec.resources, order.spec.count);
        let has_containers = matches!(
            self.runtime.status(lease_id).await,
            Ok(status) if !status.instances.is_empty()
        );
        let deployed_sha256 = if has_containers {
            // Without a record, the containers run the version on chain: a version change
            // while the daemon was down is the only thing the record is for.
            Some(
                self.read_deployed_marker(lease_id)
                    .unwrap_or_else(|| lease.manifest_sha256.clone()),
            )
        } else {
            None
        };
        let report = LeaseReport {
            lease_id,
            order_id: lease.order_id,
            manifest_sha256: lease.manifest_sha256.clone(),
            deployed_sha256,
            phase: if has_containers {
                LeasePhase::Running
            } else {
                LeasePhase::AwaitingManifest
            },
            adopted: has_containers,
            ends_at: lease.ends_at,
        };
        let (inbox, commands) = mpsc::unbounded_channel();
        {
            let mut leases = self.lock();
            if leases.contains_key(&lease_id) {
                return Ok(false);
            }
            leases.insert(
                lease_id,
                LeaseEntry {
                    report,
                    total,
                    inbox: Some(inbox),
                },
            );
            prune_closed(&mut leases);
        }
        self.ledger.hold_for_lease(lease.order_id, lease_id, total);
        if has_containers {
            info!(lease_id, "running workload adopted as it is");
        } else {
            info!(lease_id, "lease won; waiting for its manifest");
        }
        let worker = Arc::clone(self);
        let cancel = self.cancel.clone();
        self.tasks.spawn(
            async move { worker.lease_worker(lease_id, commands, cancel).await }
                .instrument(info_span!("lease", lease_id)),
        );
        Ok(has_containers)
    }

    fn entry_view(&self, lease_id: u64) -> Option<(LeaseReport, Resources)> {
        self.lock()
            .get(&lease_id)
            .map(|entry| (entry.report.clone(), entry.total))
    }

    /// One lease from its manifest to its end. Stops without touching containers on cancel.
    async fn lease_worker(
        self: Arc<Self>,
        lease_id: u64,
        mut commands: mpsc::UnboundedReceiver<LeaseCommand>,
        cancel: CancellationToken,
    ) {
        let deadline = Instant::now() + self.settings.manifest_timeout;
        loop {
            let Some((report, _)) = self.entry_view(lease_id) else {
                return;
            };
            if report.phase.is_ended() {
                return;
            }
            // A document for the version on chain that is not deployed yet: from an upload
            // before a restart, or shared by another lease of the same workload.
            if report.deployed_sha256.as_deref() != Some(report.manifest_sha256.as_str()) {
                if let Some(manifest) = self.store.load(&report.manifest_sha256) {
                    if !self.deploy(lease_id, manifest, &cancel).await {
                        return;
                    }
                    continue;
                }
            }
            let awaiting = report.phase == LeasePhase::AwaitingManifest;
            let from_peers = async {
                if awaiting {
                    self.manifest_from_peers(lease_id).await
                } else {
                    std::future::pending().await
                }
            };
            let timeout = async {
                if awaiting {
                    tokio::time::sleep_until(deadline).await
                } else {
                    std::future::pending().await
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                command = commands.recv() => match command {
                    None => return,
                    Some(LeaseCommand::NewVersion) => continue,
                    Some(LeaseCommand::Ended(reason)) => {
                        self.end(lease_id, reason).await;
                        return;
                    }
                    Some(LeaseCommand::Manifest(manifest)) => {
                        let sha256 = manifest.sha256_hex();
                        if sha256 != report.manifest_sha256 {
                            warn!(%sha256, expected = %report.manifest_sha256, "stale manifest ignored");
                            continue;
                        }
                        if report.deployed_sha256.as_deref() == Some(sha256.as_str()) {
                            continue;
                        }
                        if !self.deploy(lease_id, manifest, &cancel).await {
                            return;
                        }
                    }
                },
                manifest = from_peers => {
                    let sha256 = manifest.sha256_hex();
                    if sha256 != report.manifest_sha256 {
                        continue; // a new version came meanwhile
                    }
                    // Stored first: from now on this provider serves it on to the others.
                    if let Err(error) = self.store.save(&manifest) {
                        warn!(%error, "fetched manifest not stored: deployed but not served on");
                    }
                    if !self.deploy(lease_id, manifest, &cancel).await {
                        return;
                    }
                }
                _ = timeout => {
                    let reason = format!(
                        "no manifest received within {} s of the lease start",
                        self.settings.manifest_timeout.as_secs()
                    );
                    self.fail(lease_id, reason).await;
                    return;
                }
            }
        }
    }

    /// The lease's document from another provider holding it (see [`crate::distribution`]);
    /// pending until the gateway has enabled fetching.
    async fn manifest_from_peers(&self, lease_id: u64) -> GroupManifest {
        let fetcher = loop {
            if let Some(fetcher) = self.fetcher.get() {
                break Arc::clone(fetcher);
            }
            tokio::time::sleep(FETCHER_WAIT).await;
        };
        let lease = loop {
            match self.chain.lease(lease_id).await {
                Ok(lease) => break lease,
                Err(error) => {
                    warn!(%error, "querying the lease to fetch its manifest");
                    tokio::time::sleep(FETCHER_WAIT).await;
                }
            }
        };
        fetcher.fetch(&lease).await
    }

    /// Deploys `manifest`; false if the lease failed (and was closed) or the daemon stops.
    async fn deploy(
        &self,
        lease_id: u64,
        manifest: GroupManifest,
        cancel: &CancellationToken,
    ) -> bool {
        let Some((report, total)) = self.entry_view(lease_id) else {
            return false;
        };
        let sha256 = manifest.sha256_hex();
        if let Err(error) = self.transition(lease_id, LeasePhase::Deploying) {
            warn!(%error, "deployment skipped");
            return false;
        }
        if let Err(reason) = check_manifest_fits(&manifest, &total) {
            self.fail(lease_id, reason).await;
            return false;
        }
        let spec = deployment_spec(
            LeaseRef {
                lease_id,
                order_id: report.order_id,
            },
            &manifest,
        );
        info!(%sha256, services = spec.services.len(), "deploying");
        let mut attempt = 1;
        loop {
            match self.runtime.deploy(&spec).await {
                Ok(status) => {
                    self.write_deployed_marker(lease_id, &sha256);
                    self.update_report(lease_id, |report| {
                        report.deployed_sha256 = Some(sha256.clone());
                    });
                    let _ = self.transition(lease_id, LeasePhase::Running);
                    info!(
                        instances = status.instances.len(),
                        all_running = status.all_running(),
                        "deployed"
                    );
                    return true;
                }
                Err(
                    error @ (RuntimeError::EngineUnavailable { .. } | RuntimeError::Engine { .. }),
                ) if attempt < ENGINE_RETRIES => {
                    warn!(%error, attempt, "docker engine unavailable; retrying");
                    attempt += 1;
                    tokio::select! {
                        _ = cancel.cancelled() => return false,
                        _ = tokio::time::sleep(ENGINE_RETRY_DELAY) => {}
                    }
                }
                Err(error) => {
                    self.fail(lease_id, format!("deployment failed: {error}"))
                        .await;
                    return false;
                }
            }
        }
    }

    /// Gives the lease up: Failed, closed on chain with `reason`, containers removed.
    async fn fail(&self, lease_id: u64, reason: String) {
        error!(%reason, "lease failed; closing it");
        if let Err(error) = self.transition(
            lease_id,
            LeasePhase::Failed {
                reason: reason.clone(),
            },
        ) {
            warn!(%error, "lease not failed");
            return;
        }
        match self
            .chain
            .close_lease(lease_id, Some(close_reason(&reason)))
            .await
        {
            Ok(_) => info!("lease closed on chain"),
            Err(error) => warn!(%error, "closing the lease on chain failed"),
        }
        self.end(lease_id, reason).await;
    }

    /// The lease is over: containers removed, capacity freed, phase Closed.
    async fn end(&self, lease_id: u64, reason: String) {
        match self.runtime.teardown(lease_id).await {
            Ok(()) => self.remove_deployed_marker(lease_id),
            // The next check finds the containers of an inactive lease and retries.
            Err(error) => warn!(%error, "teardown failed; the next check retries"),
        }
        let order_id = {
            let mut leases = self.lock();
            leases.get_mut(&lease_id).map(|entry| {
                entry.inbox = None;
                entry.report.order_id
            })
        };
        if let Some(order_id) = order_id {
            self.ledger.release(order_id);
        }
        let _ = self.transition(
            lease_id,
            LeasePhase::Closed {
                reason: reason.clone(),
            },
        );
        info!(%reason, "lease over; containers removed");
    }

    /// `CompleteLease` on leases past their end (anyone may; we want our payout).
    async fn complete_ended(&self) {
        let now = match self.chain.block_time().await {
            Ok(now) => now,
            Err(error) => {
                warn!(%error, "chain time unavailable; completion waits");
                return;
            }
        };
        for report in self.live_reports() {
            if now < report.ends_at {
                continue;
            }
            let lease_id = report.lease_id;
            match self.chain.complete_lease(lease_id).await {
                Ok(_) => {
                    info!(lease_id, "lease completed");
                    self.send(lease_id, LeaseCommand::Ended("lease completed".to_string()));
                }
                Err(error) => warn!(lease_id, %error, "completion failed; retried later"),
            }
        }
    }
}

/// The gateway hands verified uploads to [`LeaseManager::accept_manifest`].
impl<R: ContainerRuntime + 'static> ManifestSink for LeaseManager<R> {
    async fn accept(&self, lease: Lease, manifest: GroupManifest) -> Result<(), String> {
        self.accept_manifest(lease.id, manifest)
            .await
            .map_err(|rejected| rejected.to_string())
    }

    async fn accept_peers(&self, lease: Lease, placement: PeerPlacement) -> Result<(), String> {
        self.set_peer_placement(lease.id, &placement)
            .map_err(|error| format!("recording the peer placement: {error}"))
    }
}

impl<R: ContainerRuntime + 'static> LeaseManager<R> {
    /// Records where the peers of `lease_id`'s group run (the gateway checked the tenant and
    /// the peer leases).
    pub fn set_peer_placement(
        &self,
        lease_id: u64,
        placement: &PeerPlacement,
    ) -> std::io::Result<()> {
        self.inner.write_placement(lease_id, placement)?;
        info!(lease_id, deployment = placement.deployment, peers = ?placement.peers, "peer placement recorded");
        Ok(())
    }

    /// Where the peers of `lease_id`'s group run, if its tenant said.
    pub fn peer_placement(&self, lease_id: u64) -> Option<PeerPlacement> {
        self.inner.read_placement(lease_id)
    }
}

/// The gateway shows the runtime's view of a lease's containers.
impl<R: ContainerRuntime + 'static> LeaseView for LeaseManager<R> {
    async fn status(&self, lease: Lease) -> Result<LeaseStatus, ViewError> {
        match self.inner.runtime.status(lease.id).await {
            Ok(deployment) => Ok(LeaseStatus::from_deployment(
                &lease,
                &deployment,
                &self.inner.settings.public_host,
            )),
            Err(RuntimeError::LeaseNotFound { lease_id }) => {
                Err(ViewError::NotDeployed { lease_id })
            }
            Err(error) => Err(ViewError::Unavailable(error.to_string())),
        }
    }

    fn manifest_document(&self, sha256: &str) -> Option<Vec<u8>> {
        self.inner.store.document(sha256)
    }

    async fn logs(
        &self,
        lease: Lease,
        service: String,
        tail: usize,
    ) -> Result<Vec<LogLine>, ViewError> {
        match self.inner.runtime.logs(lease.id, &service, tail).await {
            Ok(lines) => Ok(lines),
            Err(RuntimeError::ServiceNotFound { lease_id, service }) => {
                // No such service, or nothing of the lease deployed at all.
                match self.inner.runtime.status(lease_id).await {
                    Ok(status) if !status.instances.is_empty() => {
                        Err(ViewError::UnknownService { lease_id, service })
                    }
                    _ => Err(ViewError::NotDeployed { lease_id }),
                }
            }
            Err(RuntimeError::LeaseNotFound { lease_id }) => {
                Err(ViewError::NotDeployed { lease_id })
            }
            Err(error) => Err(ViewError::Unavailable(error.to_string())),
        }
    }
}

fn prune_closed(leases: &mut BTreeMap<u64, LeaseEntry>) {
    let closed: Vec<u64> = leases
        .iter()
        .filter(|(_, entry)| matches!(entry.report.phase, LeasePhase::Closed { .. }))
        .map(|(lease_id, _)| *lease_id)
        .collect();
    let excess = closed.len().saturating_sub(MAX_CLOSED_LEASES_KEPT);
    for lease_id in closed.into_iter().take(excess) {
        leases.remove(&lease_id);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use akash_manifest::{Expose, ServiceManifest, ServiceResources};

    use super::*;

    fn manifest() -> GroupManifest {
        let mut services = BTreeMap::new();
        services.insert(
            "web".to_string(),
            ServiceManifest {
                args: vec!["-f".into()],
                command: vec!["httpd".into()],
                count: 2,
                env: BTreeMap::from([("MODE".to_string(), "prod".to_string())]),
                expose: vec![
                    Expose {
                        as_port: 80,
                        global: true,
                        port: 8080,
                        proto: Proto::Tcp,
                        services: vec![],
                    },
                    Expose {
                        as_port: 9000,
                        global: false,
                        port: 9000,
                        proto: Proto::Udp,
                        services: vec![],
                    },
                ],
                image: "akash-test/busybox:latest".into(),
                resources: ServiceResources {
                    cpu_millis: 100,
                    memory_bytes: 64 << 20,
                    storage_bytes: 0,
                },
            },
        );
        GroupManifest {
            peers: BTreeMap::new(),
            services,
            version: 1,
        }
    }

    #[test]
    fn manifest_maps_to_runtime_spec() {
        let lease = LeaseRef {
            lease_id: 3,
            order_id: 9,
        };
        let spec = deployment_spec(lease, &manifest());
        spec.validate().unwrap();
        assert_eq!(spec.lease, lease);
        let web = spec.service("web").unwrap();
        assert_eq!(web.image, "akash-test/busybox:latest");
        assert_eq!(web.command, vec!["httpd"]);
        assert_eq!(web.args, vec!["-f"]);
        assert_eq!(web.env, vec![("MODE".to_string(), "prod".to_string())]);
        assert_eq!(
            (web.cpu_millis, web.memory_bytes, web.count),
            (100, 64 << 20, 2)
        );
        assert_eq!(
            web.ports,
            vec![
                PortSpec {
                    container_port: 8080,
                    protocol: Protocol::Tcp,
                    global: true
                },
                PortSpec {
                    container_port: 9000,
                    protocol: Protocol::Udp,
                    global: false
                }
            ]
        );
    }

    #[test]
    fn manifest_must_fit_its_order() {
        let order = Resources {
            cpu_millis: 200,
            memory_bytes: 128 << 20,
            storage_bytes: 0,
            bandwidth_bytes_per_sec: 0,
        };
        check_manifest_fits(&manifest(), &order).unwrap();
        let small = Resources {
            cpu_millis: 199,
            ..order
        };
        let error = check_manifest_fits(&manifest(), &small).unwrap_err();
        assert!(
            error.contains("200 cpu_millis") && error.contains("199"),
            "{error}"
        );
    }

    #[test]
    fn store_verifies_hash_on_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = ManifestStore::new(dir.path().join("manifests"));
        let sha256 = store.save(&manifest()).unwrap();
        assert_eq!(sha256, manifest().sha256_hex());
        assert_eq!(store.load(&sha256), Some(manifest()));
        assert_eq!(store.load("../../etc/passwd"), None);
        let path = dir.path().join("manifests").join(format!("{sha256}.json"));
        std::fs::write(&path, b"{}").unwrap();
        assert_eq!(store.load(&sha256), None);
        assert!(!path.exists(), "a corrupt document is removed");
    }

    #[test]
    fn lease_phases_move_only_along_allowed_transitions() {
        use LeasePhase::*;
        let failed = Failed { reason: "x".into() };
        let closed = Closed { reason: "x".into() };
        assert!(AwaitingManifest.can_become(&Deploying));
        assert!(Deploying.can_become(&Running));
        assert!(Running.can_become(&Deploying));
        assert!(AwaitingManifest.can_become(&failed));
        assert!(failed.can_become(&closed));
        assert!(!AwaitingManifest.can_become(&Running));
        assert!(!failed.can_become(&Deploying));
        assert!(!closed.can_become(&AwaitingManifest));
        assert!(!closed.can_become(&closed));
    }
}
