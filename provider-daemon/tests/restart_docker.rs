//! Restart safety of the provider daemon on the real Docker engine: the embedded chain with
//! the real contracts, real daemons (bid engine, lease manager, TLS gateway) and the
//! `DockerRuntime`. A daemon is killed (its tokio runtime dropped: every task ends where it
//! stands, nothing is cancelled or torn down, as when the process gets SIGKILL); a new one
//! starts on the same data dir and chain.
//!
//! Needs `scripts/docker.sh ensure` and `scripts/make-test-image.sh` first; without an engine
//! every test fails and says so. Each test's embedded chain has a chain id of its own, so its
//! containers are apart from any other's; every lease of the test's runtime owners is torn
//! down when the test ends, also when it fails.

mod support;

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use akash_chain_client::embedded::{EmbeddedChain, EmbeddedHandle, AKASH};
use akash_chain_client::{MarketChain, Uint128};
use akash_manifest::{Expose, GroupManifest, Proto, ServiceManifest, ServiceResources};
use akash_provider::bidding::BidPhase;
use akash_provider::daemon::{register_and_stake_on, Daemon};
use akash_provider::gateway::api::{codes, DeploymentState, LeaseStatus};
use akash_provider::gateway::{auth, ClientError, GatewayClient, GatewayConfig};
use akash_provider::identity::ProviderIdentity;
use akash_provider::leases::LeasePhase;
use akash_provider::runtime::{
    ContainerRuntime, DeploymentSpec, DeploymentStatus, DockerRuntime, LeaseRef, PortSpec,
    Protocol, RuntimeError, RuntimeOwner, ServiceSpec,
};
use akash_types::common::Attribute;
use akash_types::market::LeaseState;
use bollard::query_parameters::{
    InspectContainerOptions, InspectNetworkOptions, ListContainersOptions, ListNetworksOptions,
};
use k256::ecdsa::SigningKey;
use support::{
    cheap, connect_as, http_get, init_logs, lease_filters, order_for, settings, wait_for,
    OwnersCleanup, MIB, TEST_IMAGE,
};
use tempfile::TempDir;

/// Bid window of the orders: short, with room for a loaded machine.
const BID_WINDOW_SECS: u64 = 2;
/// How long the restarted daemon is watched doing whatever it would do on its own (several
/// lease checks).
const WATCH: Duration = Duration::from_secs(2);

// ---- Docker ----------------------------------------------------------------------------

/// What must not change while the workload is adopted: Docker's view of the one container.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ContainerLife {
    id: String,
    running: bool,
    started_at: String,
    restart_count: i64,
}

async fn container_life(runtime: &DockerRuntime, id: &str) -> ContainerLife {
    let inspect = runtime
        .docker()
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .unwrap_or_else(|error| panic!("container {id} is gone: {error}"));
    let state = inspect.state.expect("container state");
    ContainerLife {
        id: inspect.id.expect("container id"),
        running: state.running == Some(true),
        started_at: state.started_at.expect("StartedAt"),
        restart_count: inspect.restart_count.expect("RestartCount"),
    }
}

/// Containers and networks of `runtime`'s owner's lease, straight from Docker.
async fn docker_objects(runtime: &DockerRuntime, lease_id: u64) -> (usize, usize) {
    let containers = runtime
        .docker()
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(lease_filters(runtime, lease_id)),
            ..Default::default()
        }))
        .await
        .unwrap();
    let networks = runtime
        .docker()
        .list_networks(Some(ListNetworksOptions {
            filters: Some(lease_filters(runtime, lease_id)),
        }))
        .await
        .unwrap();
    (containers.len(), networks.len())
}

fn web_service() -> ServiceSpec {
    ServiceSpec {
        name: "web".to_string(),
        image: TEST_IMAGE.to_string(),
        command: vec![],
        args: ["httpd", "-f", "-p", "80", "-h", "/www"]
            .into_iter()
            .map(String::from)
            .collect(),
        env: vec![],
        cpu_millis: 100,
        memory_bytes: 32 * MIB,
        count: 1,
        ports: vec![PortSpec {
            container_port: 80,
            protocol: Protocol::Tcp,
            global: true,
        }],
    }
}

/// Runs a web workload for `owner`'s lease `lease_id` directly (as another daemon would).
async fn run_elsewhere(owner: RuntimeOwner, lease_id: u64) -> (DockerRuntime, DeploymentStatus) {
    let runtime = connect_as(owner).await;
    let spec = DeploymentSpec {
        peer_hosts: vec![],
        lease: LeaseRef {
            lease_id,
            order_id: lease_id,
        },
        services: vec![web_service()],
    };
    let status = runtime.deploy(&spec).await.unwrap();
    assert!(status.all_running(), "{status:?}");
    (runtime, status)
}

// ---- HTTP ------------------------------------------------------------------------------

fn serves_the_page(response: &str) -> bool {
    (response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"))
        && response.contains("akash test workload")
}

/// GETs the page every 100 ms on a thread of its own until stopped; every failure is kept.
struct HttpProbe {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(u32, Vec<String>)>>,
}

impl HttpProbe {
    fn start(port: u16) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let (mut answered, mut failures) = (0, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    match http_get(port) {
                        Ok(response) if serves_the_page(&response) => answered += 1,
                        Ok(response) => failures.push(format!("answered {response:?}")),
                        Err(error) => failures.push(error.to_string()),
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                (answered, failures)
            })
        };
        HttpProbe {
            stop,
            thread: Some(thread),
        }
    }

    /// Requests answered with the page, and the failures.
    fn finish(mut self) -> (u32, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("probe thread");
        thread.join().expect("probe thread panicked")
    }
}

impl Drop for HttpProbe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

// ---- chain and daemons -----------------------------------------------------------------

fn manifest() -> GroupManifest {
    let web = ServiceManifest {
        args: web_service().args,
        command: vec![],
        count: 1,
        env: BTreeMap::new(),
        expose: vec![Expose {
            as_port: 80,
            global: true,
            port: 80,
            proto: Proto::Tcp,
            services: vec![],
        }],
        image: TEST_IMAGE.to_string(),
        resources: ServiceResources {
            cpu_millis: 100,
            memory_bytes: 64 * MIB,
            storage_bytes: 0,
        },
    };
    GroupManifest {
        peers: BTreeMap::new(),
        services: BTreeMap::from([("web".to_string(), web)]),
        version: 1,
    }
}

/// An embedded chain, a tenant whose address derives from its key (the gateway checks its
/// signatures) and provider1, registered in region us-west with the root certificate of the
/// identity in its data dir.
struct World {
    chain: EmbeddedChain,
    tenant_key: SigningKey,
    tenant: EmbeddedHandle,
    provider: Arc<dyn MarketChain>,
    data_dir: PathBuf,
    _dir: TempDir,
}

impl World {
    async fn new() -> Self {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        let chain = EmbeddedChain::start_default().unwrap();
        let tenant_key =
            SigningKey::from_slice(&<sha2::Sha256 as sha2::Digest>::digest(b"restart tenant"))
                .unwrap();
        let (prefix, _) = bech32::decode(&EmbeddedChain::address_of("tenant")).unwrap();
        let tenant_address = auth::address_of(tenant_key.verifying_key(), prefix.as_str()).unwrap();
        chain
            .mint(&tenant_address, Uint128::new(1_000 * AKASH))
            .await
            .unwrap();
        let tenant = chain.handle_for_address(&tenant_address);

        let data_dir = dir.path().join("provider1");
        let identity = ProviderIdentity::load_or_generate(&data_dir).unwrap();
        let provider: Arc<dyn MarketChain> = Arc::new(chain.handle("provider1"));
        register_and_stake_on(
            provider.as_ref(),
            "https://127.0.0.1:8443",
            vec![Attribute::new("region", "us-west")],
            identity.root_certificate_pem(),
            Uint128::new(100 * AKASH),
        )
        .await
        .unwrap();
        World {
            chain,
            tenant_key,
            tenant,
            provider,
            data_dir,
            _dir: dir,
        }
    }

    /// Whose containers provider1's daemons run.
    fn owner(&self) -> RuntimeOwner {
        RuntimeOwner::new(self.provider.chain_id(), self.provider.address())
    }

    /// A client of the gateway at `address` trusting the identity in the data dir.
    fn gateway_client(&self, address: SocketAddr) -> GatewayClient {
        let identity = ProviderIdentity::load_or_generate(&self.data_dir).unwrap();
        GatewayClient::new(
            &format!("https://127.0.0.1:{}", address.port()),
            identity.root_certificate_pem(),
        )
        .unwrap()
    }

    /// Starts provider1's daemon (see [`start_daemon`]); `'static`, to run in a
    /// [`DaemonProcess`].
    fn start_daemon(
        &self,
    ) -> impl Future<Output = (Daemon<DockerRuntime>, SocketAddr)> + Send + 'static {
        start_daemon(Arc::clone(&self.provider), self.data_dir.clone())
    }

    async fn gateway_status(&self, address: SocketAddr, lease_id: u64) -> LeaseStatus {
        self.gateway_client(address)
            .status(lease_id, &self.tenant_key)
            .await
            .unwrap()
    }
}

/// What a provider process does at start: its identity from the data dir, the Docker engine
/// as its owner (chain id, address), the daemon and its gateway on an ephemeral port.
async fn start_daemon(
    chain: Arc<dyn MarketChain>,
    data_dir: PathBuf,
) -> (Daemon<DockerRuntime>, SocketAddr) {
    let identity = ProviderIdentity::load_or_generate(&data_dir).unwrap();
    let owner = RuntimeOwner::new(chain.chain_id(), chain.address());
    let runtime = Arc::new(connect_as(owner).await);
    let mut settings = settings(&data_dir, cheap());
    // Published ports are on 127.0.0.1: endpoints the test can GET.
    settings.leases.public_host = "127.0.0.1".to_string();
    let daemon = Daemon::start(chain, runtime, settings).await.unwrap();
    let gateway = daemon
        .start_gateway(
            GatewayConfig {
                listen_address: SocketAddr::from(([127, 0, 0, 1], 0)),
                ..GatewayConfig::default()
            },
            &identity,
            "127.0.0.1",
        )
        .await
        .unwrap();
    (daemon, gateway)
}

/// A daemon "process": its own tokio runtime, which [`DaemonProcess::kill`] drops with every
/// task on it, without cancelling or waiting for anything.
struct DaemonProcess {
    runtime: Option<tokio::runtime::Runtime>,
}

impl DaemonProcess {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("killed-daemon")
            .enable_all()
            .build()
            .unwrap();
        DaemonProcess {
            runtime: Some(runtime),
        }
    }

    /// Runs `work` inside the process (tasks it spawns live there) and waits for its result.
    async fn run<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> T {
        let runtime = self.runtime.as_ref().expect("the process was killed");
        runtime
            .spawn(work)
            .await
            .expect("work in the daemon process")
    }

    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Creates an order for `manifest` and waits until `daemon` has won it.
async fn win(world: &World, daemon: &Daemon<DockerRuntime>, manifest: &GroupManifest) -> u64 {
    let order_id = world
        .tenant
        .create_order(order_for(manifest, BID_WINDOW_SECS))
        .await
        .unwrap()
        .order_id;
    let engine = daemon.bid_engine();
    wait_for(&format!("order {order_id} to be won"), || async {
        match engine.phase(order_id) {
            Some(BidPhase::Won { lease_id }) => Some(lease_id),
            _ => None,
        }
    })
    .await
}

async fn wait_for_phase(daemon: &Daemon<DockerRuntime>, lease_id: u64, phase: &str) {
    wait_for(&format!("lease {lease_id} to be {phase}"), || async {
        daemon
            .leases()
            .report(lease_id)
            .filter(|report| report.phase.name() == phase)
            .map(|_| ())
    })
    .await
}

fn web_endpoint(status: &LeaseStatus) -> (String, u16) {
    assert_eq!(status.services.len(), 1, "{status:?}");
    let endpoint = &status.services[0].endpoints[0];
    (endpoint.url.clone(), endpoint.host_port)
}

// ---- tests -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_daemon_leaves_its_workload_running_and_the_next_one_adopts_it_untouched() {
    let world = World::new().await;
    let owner = world.owner();
    let _cleanup = OwnersCleanup(vec![owner.clone()]);
    let observer = connect_as(owner).await;
    let workload = manifest();

    // The first daemon wins the lease; the tenant uploads the manifest through its gateway.
    let mut first = DaemonProcess::new();
    let (daemon, first_gateway) = first.run(world.start_daemon()).await;
    let lease_id = win(&world, &daemon, &workload).await;
    world
        .gateway_client(first_gateway)
        .upload_manifest(lease_id, &workload.document_bytes(), &world.tenant_key)
        .await
        .unwrap();
    wait_for_phase(&daemon, lease_id, "running").await;
    let before = world.gateway_status(first_gateway, lease_id).await;
    assert_eq!(before.state, DeploymentState::Running, "{before:?}");
    let (url, port) = web_endpoint(&before);
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
    let answer = wait_for("the workload to serve its page", || async {
        http_get(port).ok().filter(|answer| serves_the_page(answer))
    })
    .await;
    assert!(serves_the_page(&answer), "{answer}");
    let container_id = before.services[0].instances[0].container_id.clone();
    let life = container_life(&observer, &container_id).await;
    assert!(life.running, "{life:?}");
    assert_eq!(life.restart_count, 0, "{life:?}");

    // Killed: no shutdown, no cancellation; the gateway is gone with it.
    let probe = HttpProbe::start(port);
    first.kill();
    drop(daemon);
    let unreachable = world
        .gateway_client(first_gateway)
        .with_timeout(Duration::from_secs(2))
        .status(lease_id, &world.tenant_key)
        .await;
    assert!(unreachable.is_err(), "the killed daemon's gateway answers");

    // While no daemon runs, the workload keeps serving.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(serves_the_page(&http_get(port).unwrap()));
    assert_eq!(container_life(&observer, &container_id).await, life);

    // The next daemon, on the same data dir and chain, adopts the container as it is: not
    // stopped, restarted or replaced.
    let (daemon, gateway) = world.start_daemon().await;
    assert_eq!(container_life(&observer, &container_id).await, life);
    assert_eq!(daemon.recovery().adopted, vec![lease_id]);
    assert!(daemon.recovery().awaiting.is_empty());
    assert!(daemon.recovery().torn_down.is_empty());
    let report = daemon.leases().report(lease_id).unwrap();
    assert_eq!(report.phase, LeasePhase::Running);
    assert!(report.adopted);
    assert_eq!(report.deployed_sha256, Some(workload.sha256_hex()));

    // The tenant sees it running, at the same endpoint, through the new gateway.
    let after = world.gateway_status(gateway, lease_id).await;
    assert_eq!(after.state, DeploymentState::Running, "{after:?}");
    assert_eq!(web_endpoint(&after), (url, port));
    assert_eq!(after.services[0].instances[0].container_id, container_id);
    assert_eq!(after.services[0].instances[0].restart_count, 0);

    // Whatever the daemon does on its own meanwhile, the container is never stopped,
    // restarted or replaced, and never stops answering.
    tokio::time::sleep(WATCH).await;
    let (answered, failures) = probe.finish();
    assert!(
        failures.is_empty(),
        "the workload stopped answering ({answered} answers): {failures:?}"
    );
    assert!(answered >= 10, "only {answered} requests answered");
    assert_eq!(container_life(&observer, &container_id).await, life);
    assert_eq!(
        daemon.leases().report(lease_id).unwrap().phase,
        LeasePhase::Running
    );
    let status = world.gateway_status(gateway, lease_id).await;
    assert_eq!(status, after);
    daemon.shutdown().await;
    // A graceful stop leaves the workload running too.
    assert_eq!(container_life(&observer, &container_id).await, life);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_closed_while_the_daemon_was_killed_is_removed_by_the_next_one_and_nothing_else() {
    let world = World::new().await;
    let owner = world.owner();
    // Provider2's containers on the same chain, provider1's on another chain, and provider1's
    // for a lease this chain does not know: none of them is this daemon's to remove.
    let other_provider = RuntimeOwner::new(
        world.chain.chain_id(),
        EmbeddedChain::address_of("provider2"),
    );
    let other_chain = RuntimeOwner::new(
        format!("{}-other", world.chain.chain_id()),
        world.provider.address(),
    );
    let _cleanup = OwnersCleanup(vec![
        owner.clone(),
        other_provider.clone(),
        other_chain.clone(),
    ]);
    let observer = connect_as(owner.clone()).await;
    let workload = manifest();

    let mut first = DaemonProcess::new();
    let (daemon, _gateway) = first.run(world.start_daemon()).await;
    let lease_id = win(&world, &daemon, &workload).await;
    let leases = daemon.leases().clone();
    let upload = workload.clone();
    first
        .run(async move { leases.accept_manifest(lease_id, upload).await })
        .await
        .unwrap();
    wait_for_phase(&daemon, lease_id, "running").await;
    let ours = observer.status(lease_id).await.unwrap();
    assert!(ours.all_running(), "{ours:?}");
    assert_eq!(docker_objects(&observer, lease_id).await, (1, 2));
    let marker = world
        .data_dir
        .join("leases")
        .join(format!("{lease_id}.deployed"));
    assert!(marker.exists(), "{} missing", marker.display());

    // The same lease id under two other owners, and an unknown lease of ours.
    let unknown_lease = 1_000_000_000 + RandomState::new().build_hasher().finish() % 1_000_000_000;
    let mut others = Vec::new();
    for (owner, lease) in [
        (other_provider, lease_id),
        (other_chain, lease_id),
        (owner.clone(), unknown_lease),
    ] {
        others.push((lease, run_elsewhere(owner, lease).await));
    }

    first.kill();
    drop(daemon);
    world
        .tenant
        .close_lease(lease_id, Some("done while the provider was down".into()))
        .await
        .unwrap();
    assert_eq!(
        world.tenant.lease(lease_id).await.unwrap().state,
        LeaseState::ClosedByTenant
    );
    // Nothing has noticed yet.
    assert_eq!(observer.status(lease_id).await.unwrap(), ours);

    let (daemon, gateway) = world.start_daemon().await;
    assert_eq!(daemon.recovery().torn_down, vec![lease_id]);
    assert!(daemon.recovery().adopted.is_empty());
    assert!(daemon.recovery().awaiting.is_empty());
    assert!(matches!(
        observer.status(lease_id).await,
        Err(RuntimeError::LeaseNotFound { .. })
    ));
    assert_eq!(docker_objects(&observer, lease_id).await, (0, 0));
    for name in [
        observer.workload_network_name(lease_id),
        observer.ingress_network_name(lease_id),
    ] {
        assert!(
            observer
                .docker()
                .inspect_network(&name, None::<InspectNetworkOptions>)
                .await
                .is_err(),
            "network {name} is left"
        );
    }
    for instance in &ours.instances {
        assert!(
            observer
                .docker()
                .inspect_container(&instance.container_id, None::<InspectContainerOptions>)
                .await
                .is_err(),
            "container {} is left",
            instance.container_id
        );
    }
    assert!(!marker.exists(), "{} is left", marker.display());
    // The tenant's view: nothing deployed any more.
    match world
        .gateway_client(gateway)
        .status(lease_id, &world.tenant_key)
        .await
    {
        Err(ClientError::Refused { status, error, .. }) => {
            assert_eq!((status, error.as_str()), (404, codes::NOT_DEPLOYED))
        }
        other => panic!("expected not_deployed, got {other:?}"),
    }

    // Meanwhile and after more lease checks, the others' containers run as they did.
    tokio::time::sleep(WATCH).await;
    for (lease, (runtime, status)) in &others {
        let now = runtime.status(*lease).await.unwrap();
        assert_eq!(&now, status, "{:?}", runtime.owner());
        assert!(now.all_running(), "{now:?}");
        assert_eq!(docker_objects(runtime, *lease).await, (1, 2));
        for instance in &now.instances {
            let life = container_life(runtime, &instance.container_id).await;
            assert!(life.running && life.restart_count == 0, "{life:?}");
        }
    }
    assert_eq!(docker_objects(&observer, lease_id).await, (0, 0));
    daemon.shutdown().await;
}
