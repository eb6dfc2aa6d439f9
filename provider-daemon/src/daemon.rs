//! Wires the daemon together: one chain account, one container runtime, the bid engine and
//! the lease manager as tokio tasks fed by one market event subscription, stopped together
//! through a `CancellationToken` and waited for through a `TaskTracker`.
//!
//! Also the one-off registration (`register_and_stake`) and the chain connection from config.

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use akash_chain_client::embedded::EmbeddedChain;
use akash_chain_client::wasmd::{WasmdChain, WasmdConfig, WasmdKey};
use akash_chain_client::{ChainError, Deployment, GasPrice, MarketChain, MarketEvent, Uint128};
use akash_types::common::Attribute;
use thiserror::Error;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::bidding::{offered_capacity, BidEngine, BidEngineSettings, CapacityLedger, RateCard};
use crate::config::{CapacityConfig, ChainKind, ConfigError, ProviderConfig};
use crate::distribution::{DistributionSettings, ManifestFetcher};
use crate::gateway::tls::{server_config, TlsConfigError};
use crate::gateway::{GatewayConfig, GatewayError, GatewayServer};
use crate::identity::{IdentityError, ProviderIdentity};
use crate::leases::{LeaseError, LeaseManager, LeaseManagerSettings, Recovery};
use crate::overlay::Overlay;
use crate::runtime::{ContainerRuntime, DockerConfig, DockerRuntime, RuntimeError, RuntimeOwner};

/// Events buffered for each consumer (bid engine, lease manager).
const EVENT_CHANNEL_CAPACITY: usize = 1024;
/// Pause before subscribing again after the event stream ended.
const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);
/// How often the overlay is brought in step with leases, chain and containers.
const OVERLAY_SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// How often the bid engine checks for orders to match, with the default settings.
const DEFAULT_MATCH_POLL_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    #[error("runtime: {0}")]
    Runtime(#[from] RuntimeError),
    #[error("restoring leases: {0}")]
    Leases(#[from] LeaseError),
    #[error("reading {path}: {reason}")]
    File { path: String, reason: String },
    #[error("provider identity: {0}")]
    Identity(#[from] IdentityError),
    #[error("gateway TLS: {0}")]
    Tls(#[from] TlsConfigError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

/// Everything the daemon's parts need besides the chain and the runtime.
#[derive(Clone, Debug)]
pub struct DaemonSettings {
    pub bidding: BidEngineSettings,
    pub leases: LeaseManagerSettings,
    pub capacity: CapacityConfig,
}

impl DaemonSettings {
    pub fn from_config(config: &ProviderConfig) -> Self {
        DaemonSettings {
            bidding: BidEngineSettings {
                rate_card: RateCard::from(&config.pricing),
                scan_interval: config.order_scan_interval(),
                match_poll_interval: DEFAULT_MATCH_POLL_INTERVAL,
            },
            leases: LeaseManagerSettings {
                manifest_timeout: config.manifest_timeout(),
                withdraw_interval: config.withdraw_interval(),
                check_interval: config.lease_check_interval(),
                data_dir: config.data_dir.clone(),
                public_host: config.public_host(),
            },
            capacity: config.capacity.clone(),
        }
    }
}

/// A running daemon. Dropping it does not stop it: call [`Daemon::shutdown`].
pub struct Daemon<R> {
    chain: Arc<dyn MarketChain>,
    bid_engine: Arc<BidEngine>,
    leases: LeaseManager<R>,
    recovery: Recovery,
    /// Set when the gateway starts.
    overlay: OnceLock<Arc<Overlay>>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl<R: ContainerRuntime + 'static> Daemon<R> {
    /// Books the capacity of the leases found on chain, adopts their running containers and
    /// removes those of ended leases, then starts the event pump, the bid engine (whose first
    /// scan backfills open orders) and the lease manager.
    pub async fn start(
        chain: Arc<dyn MarketChain>,
        runtime: Arc<R>,
        settings: DaemonSettings,
    ) -> Result<Self, DaemonError> {
        let host = runtime.host_capacity().await?;
        let offered = offered_capacity(host, &settings.capacity);
        info!(
            address = chain.address(),
            cpu_millis = %offered.cpu_millis,
            memory_bytes = %offered.memory_bytes,
            "provider daemon starting"
        );
        let ledger = Arc::new(CapacityLedger::new(offered));
        let cancel = CancellationToken::new();
        let tasks = TaskTracker::new();

        // Subscribed before recovery so that nothing happening meanwhile is missed (handlers
        // take events they already know of in their stride).
        let from_height = chain.height().await?;
        let events = chain.subscribe_market_events(from_height).await?;

        let leases = LeaseManager::new(
            Arc::clone(&chain),
            runtime,
            Arc::clone(&ledger),
            settings.leases.clone(),
            tasks.clone(),
            cancel.clone(),
        );
        let recovery = leases.recover().await?;
        info!(
            adopted = ?recovery.adopted,
            awaiting_manifest = ?recovery.awaiting,
            torn_down = ?recovery.torn_down,
            "state rebuilt from the chain and the runtime"
        );
        let bid_engine = Arc::new(BidEngine::new(
            Arc::clone(&chain),
            ledger,
            settings.bidding.clone(),
        ));

        let (bid_events, bid_inbox) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        let (lease_events, lease_inbox) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
        tasks.spawn(pump_events(
            Arc::clone(&chain),
            events,
            from_height,
            vec![bid_events, lease_events],
            cancel.clone(),
        ));
        {
            let engine = Arc::clone(&bid_engine);
            let cancel = cancel.clone();
            tasks.spawn(async move { engine.run(bid_inbox, cancel).await });
        }
        {
            let leases = leases.clone();
            let cancel = cancel.clone();
            tasks.spawn(async move { leases.run(lease_inbox, cancel).await });
        }
        Ok(Daemon {
            chain,
            bid_engine,
            leases,
            recovery,
            overlay: OnceLock::new(),
            cancel,
            tasks,
        })
    }

    pub fn chain(&self) -> &Arc<dyn MarketChain> {
        &self.chain
    }

    pub fn bid_engine(&self) -> &Arc<BidEngine> {
        &self.bid_engine
    }

    /// The lease manager: `accept_manifest` for the gateway's manifest sink, status and logs
    /// for its lease view.
    pub fn leases(&self) -> &LeaseManager<R> {
        &self.leases
    }

    /// What the start found on chain and in the runtime.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Cancelled at shutdown; give it to other services (the gateway) run beside the daemon.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Tasks spawned here are waited for at shutdown.
    pub fn task_tracker(&self) -> &TaskTracker {
        &self.tasks
    }

    /// Starts the HTTPS gateway with a certificate issued by `identity` for `public_host`,
    /// the lease manager as its manifest sink and lease view; it stops with the daemon.
    /// From then on, leases also fetch shared manifests from other providers, presenting a
    /// client certificate of `identity`. Returns the address bound (useful when the port
    /// asked was 0).
    pub async fn start_gateway(
        &self,
        config: GatewayConfig,
        identity: &ProviderIdentity,
        public_host: &str,
    ) -> Result<SocketAddr, DaemonError> {
        self.start_gateway_with(
            config,
            identity,
            public_host,
            Some(DistributionSettings::default()),
        )
        .await
    }

    /// [`Daemon::start_gateway`]; `distribution: None` leaves manifest fetching off (every
    /// lease then waits for its tenant's upload, as a benchmark baseline).
    pub async fn start_gateway_with(
        &self,
        config: GatewayConfig,
        identity: &ProviderIdentity,
        public_host: &str,
        distribution: Option<DistributionSettings>,
    ) -> Result<SocketAddr, DaemonError> {
        let certificate = identity.issue_server_cert(&[public_host.to_string()])?;
        if let Some(settings) = distribution {
            let client_certificate = identity.issue_client_cert(self.chain.address())?;
            self.leases
                .enable_manifest_fetching(Arc::new(ManifestFetcher::new(
                    Arc::clone(&self.chain),
                    client_certificate,
                    settings,
                )));
        }
        let overlay = Arc::new(Overlay::new(
            Arc::clone(&self.chain),
            Arc::new(identity.try_clone()?),
        ));
        let leases = Arc::new(self.leases.clone());
        let server = GatewayServer::bind(
            config,
            Arc::new(server_config(&certificate)?),
            Arc::clone(&self.chain),
            Arc::clone(&leases),
            leases,
        )
        .await?
        .with_tunnels(overlay.tunnel_server().clone());
        self.tasks.spawn(sync_overlay(
            Arc::clone(&overlay),
            self.leases.clone(),
            self.cancel.clone(),
        ));
        let _ = self.overlay.set(overlay);
        let address = server.local_address();
        self.tasks.spawn(server.serve(self.cancel.clone()));
        Ok(address)
    }

    /// The overlay (tunnels between providers), once the gateway runs.
    pub fn overlay(&self) -> Option<&Arc<Overlay>> {
        self.overlay.get()
    }

    /// Stops every task and waits for them. Containers are left running: the next start
    /// adopts them.
    pub async fn shutdown(self) {
        info!("provider daemon stopping");
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        info!("provider daemon stopped");
    }
}

/// Keeps the overlay in step with the leases, the chain and the containers; on shutdown its
/// forwarders and tunnels close (workloads reconnect through the next daemon).
async fn sync_overlay<R: ContainerRuntime + 'static>(
    overlay: Arc<Overlay>,
    leases: LeaseManager<R>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(OVERLAY_SYNC_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => overlay.sync_with(&leases).await,
        }
    }
    overlay.apply(&[]).await;
    overlay.apply_local(&[]).await;
    overlay.tunnel_server().shutdown();
}

/// Forwards market events to every consumer, subscribing again from the last height seen if
/// the stream ends.
async fn pump_events(
    chain: Arc<dyn MarketChain>,
    mut events: akash_chain_client::MarketEventStream,
    mut height: u64,
    consumers: Vec<mpsc::Sender<MarketEvent>>,
    cancel: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return,
            next = events.next_event() => next,
        };
        match next {
            Some(Ok(event)) => {
                height = event.height;
                debug!(action = %event.action, height, "market event");
                for consumer in &consumers {
                    if consumer.send(event.clone()).await.is_err() {
                        return;
                    }
                }
            }
            Some(Err(error)) => warn!(%error, "market event stream: retrying"),
            None => loop {
                warn!(height, "market event stream ended; subscribing again");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(RESUBSCRIBE_DELAY) => {}
                }
                // From the last height seen: its events come again, which handlers tolerate.
                match chain.subscribe_market_events(height).await {
                    Ok(stream) => {
                        events = stream;
                        break;
                    }
                    Err(error) => warn!(%error, "subscription failed"),
                }
            },
        }
    }
}

/// Connects to the chain the config names, as the provider's account.
pub async fn connect_chain(config: &ProviderConfig) -> Result<Arc<dyn MarketChain>, DaemonError> {
    let chain = &config.chain;
    match chain.kind {
        ChainKind::Embedded => {
            let embedded = EmbeddedChain::start_default()?;
            let account = chain.embedded_account();
            warn!(
                account,
                "embedded chain: a sandbox that lives and dies with this process"
            );
            Ok(Arc::new(embedded.handle(account)))
        }
        ChainKind::Wasmd => {
            let path = chain
                .deployment
                .as_deref()
                .ok_or_else(|| ConfigError::Invalid {
                    field: "chain.deployment".to_string(),
                    reason: "required for kind = \"wasmd\"".to_string(),
                })?;
            let deployment = Deployment::load(path)?;
            let mut wasmd = WasmdConfig::from_deployment(&deployment)?;
            if let Some(rpc_url) = &chain.rpc_url {
                wasmd.rpc_url = rpc_url.clone();
            }
            if let Some(chain_id) = &chain.chain_id {
                wasmd.chain_id = chain_id.clone();
            }
            if let Some(gas_price) = &chain.gas_price {
                wasmd.gas_price = GasPrice::from_str(gas_price)?;
            }
            let key = match (&chain.mnemonic_file, &chain.private_key_file) {
                (Some(path), _) => WasmdKey::from_mnemonic(&read_secret(path)?)?,
                (None, Some(path)) => WasmdKey::from_hex(&read_secret(path)?)?,
                (None, None) => {
                    return Err(ConfigError::Invalid {
                        field: "chain.mnemonic_file".to_string(),
                        reason: "set mnemonic_file or private_key_file".to_string(),
                    }
                    .into())
                }
            };
            let client = WasmdChain::connect(wasmd, key).await?;
            Ok(Arc::new(client))
        }
    }
}

fn read_secret(path: &Path) -> Result<String, DaemonError> {
    std::fs::read_to_string(path).map_err(|error| DaemonError::File {
        path: path.display().to_string(),
        reason: error.to_string(),
    })
}

/// Runs the daemon of `config` against the local Docker engine, with its gateway, until
/// Ctrl-C or SIGTERM.
pub async fn run(config: ProviderConfig) -> Result<(), DaemonError> {
    let identity = ProviderIdentity::load_or_generate(&config.data_dir)?;
    let chain = connect_chain(&config).await?;
    match chain.provider(chain.address()).await {
        Ok(registered) if registered.root_certificate_pem != identity.root_certificate_pem() => {
            warn!("the root certificate on chain is not the one in data_dir: tenants will not trust the gateway; run `akash-provider register`")
        }
        Ok(_) => {}
        Err(error) => {
            warn!(%error, "not registered: no order will get a bid; run `akash-provider register`")
        }
    }
    // Only this provider's containers on this chain: the engine may serve others too.
    let owner = RuntimeOwner::new(chain.chain_id(), chain.address());
    let runtime = Arc::new(DockerRuntime::connect(DockerConfig::default(), owner).await?);
    let daemon = Daemon::start(chain, runtime, DaemonSettings::from_config(&config)).await?;
    let gateway = GatewayConfig {
        listen_address: config.gateway.listen_address,
        ..GatewayConfig::default()
    };
    let started = daemon
        .start_gateway(gateway, &identity, &config.public_host())
        .await;
    if let Err(error) = started {
        daemon.shutdown().await;
        return Err(error);
    }
    shutdown_signal().await;
    daemon.shutdown().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM on unix.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            warn!(%error, "Ctrl-C handler unavailable");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                warn!(%error, "SIGTERM handler unavailable");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => info!("Ctrl-C received"),
        _ = terminate => info!("SIGTERM received"),
    }
}

/// What [`register_and_stake`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub address: String,
    /// False when the provider was registered already and its registration was updated.
    pub newly_registered: bool,
    /// Bonded stake after staking.
    pub stake: Uint128,
}

/// Registers the provider of `config` (host URI, attributes, and the root certificate of
/// the identity in `data_dir`, generated on first use), or updates its registration if it
/// exists, then stakes `stake_amount` (nothing if zero).
pub async fn register_and_stake(
    config: &ProviderConfig,
    stake_amount: Uint128,
) -> Result<Registration, DaemonError> {
    let identity = ProviderIdentity::load_or_generate(&config.data_dir)?;
    let chain = connect_chain(config).await?;
    register_and_stake_on(
        chain.as_ref(),
        &config.gateway.host_uri,
        config.attributes()?,
        identity.root_certificate_pem(),
        stake_amount,
    )
    .await
}

/// [`register_and_stake`] on a chain handle already connected.
pub async fn register_and_stake_on(
    chain: &dyn MarketChain,
    host_uri: &str,
    attributes: Vec<Attribute>,
    root_certificate_pem: &str,
    stake_amount: Uint128,
) -> Result<Registration, DaemonError> {
    let address = chain.address().to_string();
    let newly_registered = match chain.provider(&address).await {
        Ok(_) => {
            chain
                .update_provider(
                    Some(host_uri.to_string()),
                    Some(attributes),
                    Some(root_certificate_pem.to_string()),
                )
                .await?;
            info!(%address, "registration updated");
            false
        }
        Err(ChainError::Contract { .. }) => {
            chain
                .register_provider(host_uri, attributes, root_certificate_pem)
                .await?;
            info!(%address, host_uri, "registered");
            true
        }
        Err(error) => return Err(error.into()),
    };
    if !stake_amount.is_zero() {
        chain.stake(stake_amount).await?;
        info!(%address, amount = %stake_amount, "staked");
    }
    let stake = chain.stake_of(&address).await?.stake;
    Ok(Registration {
        address,
        newly_registered,
        stake,
    })
}
