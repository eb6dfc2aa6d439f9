//! `akash sandbox FILE`: the whole marketplace on this machine. An embedded chain runs the
//! real contracts in-process; two or three real provider daemons (bid engine, lease
//! manager, TLS gateway on 127.0.0.1) run the workloads in the local Docker engine; the SDL
//! is deployed as a tenant through the same code as `akash deploy`. Once the first URL
//! answered, every service with a peer in another group sends a line to each peer port it may
//! reach (from inside its container, through the overlay) and the answer is shown. It stays
//! up until Ctrl-C (or, with `--exit-after-ready`, exits 0 once the URL and every peer
//! answered), then closes the leases and removes the containers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use akash_chain_client::akash_types::common::Attribute;
use akash_chain_client::akash_types::market::{LeaseState, OrderState};
use akash_chain_client::embedded::AKASH;
use akash_chain_client::{EmbeddedChain, MarketChain, Uint128};
use akash_manifest::{GroupManifest, Proto};
use akash_provider::bidding::{BidEngineSettings, RateCard};
use akash_provider::config::CapacityConfig;
use akash_provider::daemon::{register_and_stake_on, shutdown_signal, Daemon, DaemonSettings};
use akash_provider::gateway::GatewayConfig;
use akash_provider::identity::ProviderIdentity;
use akash_provider::leases::LeaseManagerSettings;
use akash_provider::runtime::{
    ContainerRuntime, Docker, DockerConfig, DockerRuntime, RuntimeError, RuntimeOwner,
};
use anyhow::{bail, Context, Result};
use clap::Args;
use cosmwasm_std::Decimal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::commands::{deploy_options, deploy_summary, fetch_logs};
use crate::connect::Session;
use crate::deploy::{self, DeployEvent, DeployReport, Progress};
use crate::keys::TenantKey;
use crate::listings;
use crate::output;
use crate::sdl::SdlFile;
use crate::WaitArgs;

/// Where published ports and gateways listen, and what endpoints are named with.
const LOCALHOST: &str = "127.0.0.1";
/// Stake of each sandbox provider (enough for a full stake share of reputation).
const PROVIDER_STAKE: u128 = 1_000 * AKASH;
/// Minted to the sandbox tenant.
const TENANT_FUNDS: u128 = 100_000 * AKASH;
/// How long the URL may take to answer after the containers run.
const HTTP_READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the providers get to remove a closed lease's containers before the sandbox
/// removes them itself.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of each service's log shown once the deployment runs.
const LOG_LINES_SHOWN: usize = 5;
/// Bids stay unchanged this long before the bid window is skipped (see `--real-time`).
const BIDS_SETTLED_AFTER: Duration = Duration::from_secs(2);
/// How long a service may take to get an answer from a peer through the overlay (the
/// daemons sync their tunnels every second).
const OVERLAY_READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Args)]
pub struct SandboxArgs {
    /// The SDL file to deploy.
    pub file: PathBuf,
    /// Providers to run (each a real daemon with its own gateway).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub providers: u8,
    /// Exit 0 once the deployment's first HTTP URL answered a GET and every service reached
    /// its peers of other groups through the overlay (after tearing everything down); exit 1
    /// if not.
    #[arg(long)]
    pub exit_after_ready: bool,
    /// Wait out every bid window in real time. By default, once the bids have stopped
    /// changing the sandbox moves its chain's clock to the end of the window.
    #[arg(long)]
    pub real_time: bool,
    #[command(flatten)]
    pub wait: WaitArgs,
}

/// The name, attributes and price floor of each sandbox provider.
const PROVIDERS: [(&str, &str, u128); 3] = [
    ("provider1", "us-west", 1),
    ("provider2", "us-east", 2),
    ("provider3", "us-west", 3),
];

fn say(text: impl AsRef<str>) {
    println!("[sandbox] {}", text.as_ref());
}

/// Progress of the deployment with provider addresses replaced by their sandbox names.
struct NamedProgress {
    names: BTreeMap<String, String>,
}

impl Progress for NamedProgress {
    fn event(&self, event: &DeployEvent) {
        let mut text = event.describe();
        for (address, name) in &self.names {
            text = text.replace(address, name);
        }
        println!("{text}");
    }
}

struct SandboxProvider {
    name: &'static str,
    chain: Arc<dyn MarketChain>,
    /// Sees only this provider's containers on the sandbox chain (the engine is shared).
    runtime: Arc<DockerRuntime>,
    daemon: Daemon<DockerRuntime>,
}

/// Only one sandbox per machine: lease ids start at 1 on every new chain, and containers
/// are named by lease id in the one Docker engine.
struct SandboxLock {
    path: PathBuf,
}

impl SandboxLock {
    fn acquire() -> Result<Self> {
        let path = std::env::temp_dir().join("akash-sandbox.lock");
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    use std::io::Write;
                    let _ = write!(file, "{}", std::process::id());
                    return Ok(SandboxLock { path });
                }
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    let alive = holder
                        .trim()
                        .parse::<u32>()
                        .map(|pid| Path::new(&format!("/proc/{pid}")).exists())
                        .unwrap_or(false);
                    if alive {
                        bail!(
                            "another akash sandbox (pid {}) is running on this machine; its \
                             containers would collide with this one's (lease ids restart at 1 \
                             on every sandbox chain). Stop it first, or remove {} if that \
                             process is not a sandbox",
                            holder.trim(),
                            path.display()
                        );
                    }
                    // Left by a sandbox that was killed.
                    let _ = std::fs::remove_file(&path);
                }
                Err(error) => {
                    return Err(error).with_context(|| format!("creating {}", path.display()))
                }
            }
        }
        bail!("could not take {}", path.display())
    }
}

impl Drop for SandboxLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `akash sandbox`.
pub async fn run(args: SandboxArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let sdl = SdlFile::load(&args.file).map_err(|error| anyhow::anyhow!("{error}"))?;
    let _lock = SandboxLock::acquire()?;

    let docker = DockerRuntime::connect_engine(&DockerConfig::default())
        .await
        .context("the sandbox runs workloads in the local Docker engine; start it with scripts/docker.sh ensure")?;
    check_images(&docker, &sdl).await?;

    let chain = EmbeddedChain::start_default().context("starting the embedded chain")?;
    let contracts = chain.contracts().clone();
    say(format!(
        "embedded chain up with the real contracts: token {}, market {}; chain id {}",
        output::short_address(&contracts.token),
        output::short_address(&contracts.market),
        chain.chain_id()
    ));
    let workdir = tempfile::Builder::new()
        .prefix("akash-sandbox-")
        .tempdir()
        .context("creating the sandbox's directory")?;

    let key = TenantKey::generate()?;
    let tenant_address = key.address(&chain_prefix())?;
    let mut providers: Vec<SandboxProvider> = Vec::new();
    let outcome = async {
        for (name, region, floor) in PROVIDERS.into_iter().take(usize::from(args.providers)) {
            let provider = start_provider(&chain, &docker, workdir.path(), name, region, floor)
                .await
                .with_context(|| format!("starting {name}"))?;
            providers.push(provider);
        }
        chain
            .mint(&tenant_address, Uint128::new(TENANT_FUNDS))
            .await
            .context("funding the tenant")?;
        let tenant = chain.handle_for_address(&tenant_address);
        say(format!(
            "tenant {tenant_address}: {} minted; its key signs the transactions and the gateway requests",
            output::amount(Uint128::new(TENANT_FUNDS))
        ));
        let names = providers
            .iter()
            .map(|p| (p.chain.address().to_string(), p.name.to_string()))
            .collect();
        let progress = NamedProgress { names };

        let fast_forward = (!args.real_time).then(|| {
            tokio::spawn(skip_settled_windows(
                chain.clone(),
                providers.len() as u32,
            ))
        });
        let options = deploy_options(&args.wait);
        let deployed = tokio::select! {
            deployed = deploy::deploy(&tenant, &key, &sdl, &progress, &options) => Some(deployed),
            _ = shutdown_signal() => None,
        };
        if let Some(task) = fast_forward {
            task.abort();
        }
        let report = match deployed {
            Some(report) => report?,
            None => {
                say("interrupted");
                return Ok(ExitCode::from(130));
            }
        };
        print!("{}", deploy_summary(&report));
        if !report.all_running() {
            say("not every group runs");
            return Ok(ExitCode::FAILURE);
        }
        let session = Session {
            chain: Arc::new(tenant),
            key: key.clone(),
        };
        let runtimes: BTreeMap<String, (&str, Arc<DockerRuntime>)> = providers
            .iter()
            .map(|p| {
                (
                    p.chain.address().to_string(),
                    (p.name, Arc::clone(&p.runtime)),
                )
            })
            .collect();
        serve(&session, &report, &runtimes, started, args.exit_after_ready).await
    }
    .await;

    let teardown = teardown(&chain, &tenant_address, providers).await;
    drop(workdir);
    let code = outcome?;
    teardown?;
    say("done");
    Ok(code)
}

/// Prints the URLs, checks the first HTTP one answers and every service reaches its peers
/// through the overlay, then waits for Ctrl-C (or returns at once with `exit_after_ready`).
async fn serve(
    session: &Session,
    report: &DeployReport,
    runtimes: &BTreeMap<String, (&str, Arc<DockerRuntime>)>,
    started: Instant,
    exit_after_ready: bool,
) -> Result<ExitCode> {
    let endpoints = report.endpoints();
    let http = endpoints.iter().find(|e| e.url.starts_with("http://"));
    match http {
        Some(endpoint) => {
            let answer = http_get_until_ok(&endpoint.url, HTTP_READY_TIMEOUT).await;
            match answer {
                Ok((status, body)) => {
                    say(format!(
                        "ready in {:.1} s: {} answered {status}",
                        started.elapsed().as_secs_f64(),
                        endpoint.url
                    ));
                    let first = body.lines().next().unwrap_or_default();
                    say(format!("GET {} -> {status}: {first}", endpoint.url));
                }
                Err(error) => {
                    say(format!("{} does not answer: {error:#}", endpoint.url));
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        None => say(format!(
            "ready in {:.1} s (no HTTP endpoint to check)",
            started.elapsed().as_secs_f64()
        )),
    }
    for endpoint in &endpoints {
        say(format!("{}: {}", endpoint.service, endpoint.url));
    }
    let overlay_ok = check_overlay(report, runtimes).await;
    show_logs(session, report).await;
    if exit_after_ready {
        return Ok(if overlay_ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    say("running; Ctrl-C to close the leases, remove the containers and exit");
    shutdown_signal().await;
    Ok(ExitCode::SUCCESS)
}

/// One request from a client service to a peer service of another group, through the
/// overlay tunnel between their leases.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OverlayCheck {
    client: String,
    client_lease: u64,
    peer: String,
    peer_lease: u64,
    port: u16,
}

/// Every (client service, peer service, TCP port) the manifests of the running leases (lease
/// id, its group's manifest) let connect across groups, in lease and name order.
fn overlay_checks(running: &[(u64, &GroupManifest)]) -> Vec<OverlayCheck> {
    let mut checks = Vec::new();
    for (client_lease, manifest) in running {
        for (peer, ports) in &manifest.peers {
            let Some((peer_lease, _)) = running
                .iter()
                .find(|(_, other)| other.services.contains_key(peer))
            else {
                continue;
            };
            for port in ports.ports.iter().filter(|p| p.proto == Proto::Tcp) {
                for service in &port.clients {
                    checks.push(OverlayCheck {
                        client: service.clone(),
                        client_lease: *client_lease,
                        peer: peer.clone(),
                        peer_lease: *peer_lease,
                        port: port.as_port,
                    });
                }
            }
        }
    }
    checks
}

/// Sends one empty line from inside each client container to each peer port it may reach
/// (busybox `nc` to the peer's name, which resolves to the overlay's forwarder) and shows the
/// first line of the answer. The forwarder accepts locally whatever the tunnel does, so only
/// an answer proves the peer was reached. False when some peer did not answer.
async fn check_overlay(
    report: &DeployReport,
    runtimes: &BTreeMap<String, (&str, Arc<DockerRuntime>)>,
) -> bool {
    let mut all_ok = true;
    let running: Vec<(u64, &GroupManifest)> = report
        .running
        .iter()
        .map(|r| (r.lease.id, &r.manifest))
        .collect();
    for check in overlay_checks(&running) {
        let provider_of = |lease_id: u64| {
            report
                .running
                .iter()
                .find(|r| r.lease.id == lease_id)
                .and_then(|r| runtimes.get(r.lease.provider.as_str()))
        };
        let (Some((client_provider, runtime)), Some((peer_provider, _))) = (
            provider_of(check.client_lease),
            provider_of(check.peer_lease),
        ) else {
            continue;
        };
        let route = format!(
            "{} -> {}:{} through the overlay",
            check.client, check.peer, check.port
        );
        let leases = format!(
            "lease {} on {client_provider} -> lease {} on {peer_provider}",
            check.client_lease, check.peer_lease
        );
        let port = check.port.to_string();
        let command = [
            "sh",
            "-c",
            "printf '\\n' | timeout 5 nc \"$0\" \"$1\"",
            check.peer.as_str(),
            port.as_str(),
        ];
        let deadline = Instant::now() + OVERLAY_READY_TIMEOUT;
        let outcome = loop {
            let last = match runtime
                .exec(check.client_lease, &check.client, &command)
                .await
            {
                // A peer that keeps the connection open answers too (nc then times out).
                Ok(out) if !out.stdout.trim().is_empty() => break Ok(out.stdout),
                Ok(out) => {
                    let code = out.exit_code.map_or("?".to_string(), |c| c.to_string());
                    match out.stderr.trim() {
                        "" => format!("no answer (nc exited with {code})"),
                        error => format!("no answer (nc exited with {code}: {error})"),
                    }
                }
                Err(error) => error.to_string(),
            };
            if Instant::now() >= deadline {
                break Err(last);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        match outcome {
            Ok(answer) => {
                let first = answer.lines().next().unwrap_or_default().trim();
                say(format!(
                    "{route}: OK ({leases}; {} answered {first:?} to an empty line, sent by nc inside {})",
                    check.peer, check.client
                ));
            }
            Err(last) => {
                all_ok = false;
                say(format!(
                    "{route}: FAILED ({leases}; within {} s: {last})",
                    OVERLAY_READY_TIMEOUT.as_secs()
                ));
            }
        }
    }
    all_ok
}

/// The last lines of every service, read from its provider's gateway as `akash logs` does.
async fn show_logs(session: &Session, report: &DeployReport) {
    for running in &report.running {
        for service in &running.status.services {
            let lease_id = running.lease.id;
            match fetch_logs(session, lease_id, Some(&service.name), LOG_LINES_SHOWN).await {
                Ok(lines) if lines.is_empty() => say(format!(
                    "logs of {} (lease {lease_id}): none yet",
                    service.name
                )),
                Ok(lines) => {
                    say(format!(
                        "logs of {} (lease {lease_id}, last {LOG_LINES_SHOWN} lines per instance, from its provider's gateway):",
                        service.name
                    ));
                    for (_, line) in lines {
                        println!("    {}-{} | {}", service.name, line.instance, line.line);
                    }
                }
                Err(error) => say(format!("logs of {}: {error:#}", service.name)),
            }
        }
    }
}

fn chain_prefix() -> String {
    let address = EmbeddedChain::address_of("tenant");
    match address.rfind('1') {
        Some(separator) => address[..separator].to_string(),
        None => "cosmwasm".to_string(),
    }
}

/// Every image the SDL names must be in the local engine: nothing is pulled in a sandbox.
async fn check_images(docker: &Docker, sdl: &SdlFile) -> Result<()> {
    let mut images: Vec<String> = sdl
        .groups()
        .iter()
        .flat_map(|g| {
            g.manifest()
                .services
                .values()
                .map(|s| s.image.clone())
                .collect::<Vec<_>>()
        })
        .collect();
    images.sort();
    images.dedup();
    for image in &images {
        if docker.inspect_image(image).await.is_err() {
            bail!(
                "image {image} is not in the local Docker engine (the sandbox pulls nothing); \
                 for akash-test/busybox:latest run scripts/make-test-image.sh"
            );
        }
    }
    say(format!(
        "docker engine ready; image{} present: {}",
        if images.len() == 1 { "" } else { "s" },
        images.join(", ")
    ));
    Ok(())
}

async fn start_provider(
    chain: &EmbeddedChain,
    docker: &Docker,
    workdir: &Path,
    name: &'static str,
    region: &str,
    floor: u128,
) -> Result<SandboxProvider> {
    let handle: Arc<dyn MarketChain> = Arc::new(chain.handle(name));
    let data_dir = workdir.join(name);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let identity = ProviderIdentity::load_or_generate(&data_dir)?;
    let runtime = Arc::new(DockerRuntime::with_client(
        docker.clone(),
        DockerConfig::default(),
        RuntimeOwner::new(handle.chain_id(), handle.address()),
    ));
    let settings = DaemonSettings {
        bidding: BidEngineSettings {
            rate_card: RateCard {
                cpu_milli: Decimal::from_str("0.001")?,
                memory_mib: Decimal::from_str("0.001")?,
                storage_gib: Decimal::zero(),
                bandwidth_mibps: Decimal::zero(),
                minimum: Uint128::new(floor),
            },
            scan_interval: Duration::from_secs(5),
            match_poll_interval: Duration::from_secs(1),
        },
        leases: LeaseManagerSettings {
            manifest_timeout: Duration::from_secs(600),
            withdraw_interval: Duration::from_secs(3600),
            check_interval: Duration::from_secs(10),
            data_dir: data_dir.clone(),
            public_host: LOCALHOST.to_string(),
        },
        capacity: CapacityConfig::default(),
    };
    // Registered (and staked) before the daemon starts, so its first look at the market
    // already sees it eligible. The gateway's port is reserved for the registration.
    let port = free_port()?;
    let attributes = vec![Attribute::new("region", region)];
    let host_uri = format!("https://{LOCALHOST}:{port}");
    register_and_stake_on(
        handle.as_ref(),
        &host_uri,
        attributes.clone(),
        identity.root_certificate_pem(),
        Uint128::new(PROVIDER_STAKE),
    )
    .await?;
    let daemon = Daemon::start(Arc::clone(&handle), Arc::clone(&runtime), settings).await?;
    let gateway = |port: u16| GatewayConfig {
        listen_address: SocketAddr::from(([127, 0, 0, 1], port)),
        ..GatewayConfig::default()
    };
    let bound = match daemon
        .start_gateway(gateway(port), &identity, LOCALHOST)
        .await
    {
        Ok(address) => address,
        Err(_) => {
            // Someone took the port meanwhile: any port, and the registration follows.
            let address = daemon
                .start_gateway(gateway(0), &identity, LOCALHOST)
                .await?;
            handle
                .update_provider(Some(format!("https://{address}")), None, None)
                .await?;
            address
        }
    };
    say(format!(
        "{name} {}: daemon up, gateway https://{bound} (TLS, root certificate on chain), region={region}, staked {}, asks at least {}",
        handle.address(),
        output::amount(Uint128::new(PROVIDER_STAKE)),
        output::rate(Uint128::new(floor))
    ));
    Ok(SandboxProvider {
        name,
        chain: handle,
        runtime,
        daemon,
    })
}

fn free_port() -> Result<u16> {
    let listener =
        std::net::TcpListener::bind((LOCALHOST, 0)).context("finding a free local port")?;
    Ok(listener.local_addr()?.port())
}

/// Moves the chain's clock to the end of each open order's bid window once its bids have
/// stopped changing (every provider bid, or none new for a moment): the sandbox's providers
/// bid within a second, so waiting out a 30 s window shows nothing more.
async fn skip_settled_windows(chain: EmbeddedChain, providers: u32) {
    let reader = chain.handle("sandbox-clock");
    let mut seen: BTreeMap<u64, (u32, Instant)> = BTreeMap::new();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (Ok(now), Ok(orders)) = (
            reader.block_time().await,
            reader.orders(Some(OrderState::Open), None, None).await,
        ) else {
            continue;
        };
        for order in orders {
            if order.bid_window_ends_at <= now {
                continue;
            }
            let entry = seen
                .entry(order.id)
                .or_insert((order.bid_count, Instant::now()));
            if entry.0 != order.bid_count {
                *entry = (order.bid_count, Instant::now());
            }
            let settled = order.bid_count >= providers
                || (order.bid_count > 0 && entry.1.elapsed() >= BIDS_SETTLED_AFTER);
            if !settled {
                continue;
            }
            let skip = order.bid_window_ends_at.seconds() - now.seconds() + 1;
            say(format!(
                "order {}: {} bid{} in; moving the chain clock {skip} s ahead to the end of its bid window (--real-time waits instead)",
                order.id,
                order.bid_count,
                if order.bid_count == 1 { "" } else { "s" }
            ));
            if chain.advance_time(Duration::from_secs(skip)).await.is_err() {
                return;
            }
        }
    }
}

/// Cancels open orders, closes the tenant's active leases, waits for their providers to
/// remove the containers (removes them itself after a while), stops the daemons.
async fn teardown(
    chain: &EmbeddedChain,
    tenant: &str,
    providers: Vec<SandboxProvider>,
) -> Result<()> {
    let mut leases = Vec::new();
    {
        let handle = chain.handle_for_address(tenant);
        for order in listings::all_orders(&handle, Some(OrderState::Open)).await? {
            if order.tenant.as_str() == tenant && handle.cancel_order(order.id).await.is_ok() {
                say(format!("order {} cancelled", order.id));
            }
        }
        for lease in listings::tenant_leases(&handle, tenant).await? {
            if lease.state == LeaseState::Active {
                let before = handle.token_balance(tenant).await?;
                handle
                    .close_lease(lease.id, Some("sandbox stopped".to_string()))
                    .await
                    .with_context(|| format!("closing lease {}", lease.id))?;
                let refund = handle.token_balance(tenant).await?.saturating_sub(before);
                say(format!(
                    "lease {} closed ({} back to the tenant)",
                    lease.id,
                    output::amount(refund)
                ));
            }
            // The containers are its provider's: only that provider's runtime sees them.
            let runtime = providers
                .iter()
                .find(|provider| provider.chain.address() == lease.provider.as_str())
                .map(|provider| Arc::clone(&provider.runtime));
            if let Some(runtime) = runtime {
                leases.push((lease.id, runtime));
            }
        }
    }
    let deadline = Instant::now() + TEARDOWN_TIMEOUT;
    let mut left = Vec::new();
    for (lease_id, runtime) in leases {
        loop {
            match runtime.status(lease_id).await {
                Err(RuntimeError::LeaseNotFound { .. }) => {
                    say(format!(
                        "lease {lease_id}: containers removed by its provider"
                    ));
                    break;
                }
                _ if Instant::now() >= deadline => {
                    left.push((lease_id, runtime));
                    break;
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }
    for provider in providers {
        provider.daemon.shutdown().await;
    }
    let mut errors = String::new();
    for (lease_id, runtime) in left {
        match runtime.teardown(lease_id).await {
            Ok(()) => say(format!(
                "lease {lease_id}: containers removed by the sandbox (its provider did not within {} s)",
                TEARDOWN_TIMEOUT.as_secs()
            )),
            Err(error) => {
                let _ = writeln!(errors, "lease {lease_id}: {error}");
            }
        }
    }
    if !errors.is_empty() {
        bail!("containers left behind:\n{errors}");
    }
    Ok(())
}

/// `GET url` (plain HTTP/1.0) until a 2xx answer or `timeout`; the status line's code and
/// reason, and the body.
pub async fn http_get_until_ok(url: &str, timeout: Duration) -> Result<(String, String)> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match http_get(url).await {
            Ok((code, reason, body)) if (200..300).contains(&code) => {
                return Ok((format!("{code} {reason}").trim().to_string(), body))
            }
            Ok((code, reason, _)) => anyhow::anyhow!("answered {code} {reason}"),
            Err(error) => error,
        };
        if Instant::now() >= deadline {
            return Err(last.context(format!("no 2xx answer within {} s", timeout.as_secs())));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn http_get(url: &str) -> Result<(u16, String, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("{url} is not an http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority)
            .await
            .with_context(|| format!("connecting to {authority}"))?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut answer = Vec::new();
        stream
            .take(1 << 20)
            .read_to_end(&mut answer)
            .await
            .context("reading the answer")?;
        Ok::<_, anyhow::Error>(answer)
    };
    let answer = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .context("no answer within 5 s")??;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").with_context(|| {
        format!(
            "not an HTTP answer: {:?}",
            text.chars().take(80).collect::<String>()
        )
    })?;
    let status = head.lines().next().unwrap_or_default();
    let mut parts = status.splitn(3, ' ');
    let _version = parts.next();
    let code = parts
        .next()
        .and_then(|c| c.parse().ok())
        .with_context(|| format!("bad status line {status:?}"))?;
    let reason = parts.next().unwrap_or_default().to_string();
    Ok((code, reason, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_checks_follow_the_expose_to_edges_across_groups() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/web-db.yaml");
        let sdl = SdlFile::load(&path).unwrap();
        // Groups sorted by placement name: backend (db) on lease 1, frontend (web) on lease 2.
        let groups = sdl.groups();
        let running: Vec<(u64, &GroupManifest)> = groups
            .iter()
            .zip(1..)
            .map(|(group, lease)| (lease, group.manifest()))
            .collect();
        assert_eq!(
            overlay_checks(&running),
            vec![OverlayCheck {
                client: "web".to_string(),
                client_lease: 2,
                peer: "db".to_string(),
                peer_lease: 1,
                port: 7000,
            }]
        );
        // A group whose peers do not run has nothing to check; one group has no peers.
        assert!(overlay_checks(&running[1..]).is_empty());
        let web = SdlFile::load(&path.with_file_name("web.yaml")).unwrap();
        let groups = web.groups();
        assert!(overlay_checks(&[(1, groups[0].manifest())]).is_empty());
    }
}
