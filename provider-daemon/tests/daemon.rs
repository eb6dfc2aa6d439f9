//! The daemon core against the real contracts (embedded chain) and the in-memory runtime:
//! bidding, matching, deploying, tearing down, restarts, timeouts, failures and withdrawals.
//! Bid windows are 2 s of real time; nothing here needs Docker.

mod support;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use akash_chain_client::embedded::{EmbeddedChain, EmbeddedHandle, AKASH};
use akash_chain_client::{MarketChain, Uint128};
use akash_manifest::{Expose, GroupManifest, Proto, ServiceManifest, ServiceResources};
use akash_provider::bidding::{BidPhase, RateCard, Resources};
use akash_provider::daemon::{register_and_stake_on, Daemon};
use akash_provider::gateway::api::DeploymentState;
use akash_provider::gateway::{auth, GatewayClient, GatewayConfig};
use akash_provider::identity::ProviderIdentity;
use akash_provider::leases::{LeasePhase, ManifestRejected};
use akash_provider::runtime::{ContainerRuntime, FakeRuntime, HostCapacity};
use akash_types::common::Attribute;
use akash_types::market::{LeaseState, OrderSpec};
use cosmwasm_std::Decimal;
use support::{cheap, init_logs, order_for, settings, wait_until, MIB};
use tempfile::TempDir;

const ROOT_CERTIFICATE_PEM: &str = include_str!("../../tests/testdata/ca.pem");
const IMAGE: &str = "akash-test/busybox:latest";
const MISSING_IMAGE: &str = "akash-test/missing:1";
/// Bid window of the orders a test wants won: short, with room for a loaded machine.
const BID_WINDOW_SECS: u64 = 2;

fn expensive() -> RateCard {
    RateCard {
        cpu_milli: Decimal::from_str("0.05").unwrap(),
        memory_mib: Decimal::from_str("0.05").unwrap(),
        ..cheap()
    }
}

fn fake_runtime() -> Arc<FakeRuntime> {
    Arc::new(
        FakeRuntime::new(HostCapacity {
            cpu_millis: 2000,
            memory_bytes: 4096 * MIB,
        })
        .with_missing_image(MISSING_IMAGE),
    )
}

fn manifest(image: &str) -> GroupManifest {
    let web = ServiceManifest {
        args: vec![],
        command: vec![],
        count: 1,
        env: BTreeMap::from([("GREETING".to_string(), "hello".to_string())]),
        expose: vec![Expose {
            as_port: 80,
            global: true,
            port: 8080,
            proto: Proto::Tcp,
            services: vec![],
        }],
        image: image.to_string(),
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

struct Sandbox {
    chain: EmbeddedChain,
    tenant: EmbeddedHandle,
    _dir: TempDir,
    dir: std::path::PathBuf,
}

impl Sandbox {
    fn new() -> Self {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        let chain = EmbeddedChain::start_default().unwrap();
        Sandbox {
            tenant: chain.handle("tenant"),
            dir: dir.path().to_path_buf(),
            _dir: dir,
            chain,
        }
    }

    /// A registered provider in region us-west with 100 AKASH staked.
    async fn provider(&self, name: &str) -> Arc<dyn MarketChain> {
        let handle = self.chain.handle(name);
        register_and_stake_on(
            &handle,
            &format!("https://{name}.example.com:8443"),
            vec![
                Attribute::new("region", "us-west"),
                Attribute::new("tier", "community"),
            ],
            ROOT_CERTIFICATE_PEM,
            Uint128::new(100 * AKASH),
        )
        .await
        .unwrap();
        Arc::new(handle)
    }

    fn data_dir(&self, name: &str) -> std::path::PathBuf {
        self.dir.join(name)
    }

    async fn order(&self, spec: OrderSpec) -> u64 {
        self.tenant.create_order(spec).await.unwrap().order_id
    }

    /// Creates an order with a short window and waits until `daemon` has won it.
    async fn win<R: ContainerRuntime + 'static>(
        &self,
        daemon: &Daemon<R>,
        manifest: &GroupManifest,
    ) -> u64 {
        let order_id = self.order(order_for(manifest, BID_WINDOW_SECS)).await;
        won_lease(daemon, order_id).await
    }

    async fn lease_state(&self, lease_id: u64) -> (LeaseState, Option<String>) {
        let lease = self.tenant.lease(lease_id).await.unwrap();
        (lease.state, lease.close_reason)
    }
}

async fn won_lease<R: ContainerRuntime + 'static>(daemon: &Daemon<R>, order_id: u64) -> u64 {
    let engine = daemon.bid_engine();
    wait_until(&format!("order {order_id} is won"), || async {
        matches!(engine.phase(order_id), Some(BidPhase::Won { .. }))
    })
    .await;
    match engine.phase(order_id) {
        Some(BidPhase::Won { lease_id }) => lease_id,
        other => panic!("order {order_id}: {other:?}"),
    }
}

async fn wait_for_phase<R: ContainerRuntime + 'static>(
    daemon: &Daemon<R>,
    lease_id: u64,
    phase: &str,
) -> LeasePhase {
    wait_until(&format!("lease {lease_id} is {phase}"), || async {
        daemon
            .leases()
            .report(lease_id)
            .is_some_and(|report| report.phase.name() == phase)
    })
    .await;
    daemon.leases().report(lease_id).unwrap().phase
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bids_only_on_orders_it_can_serve() {
    let sandbox = Sandbox::new();
    let provider = sandbox.provider("provider1").await;
    let runtime = fake_runtime();
    let daemon = Daemon::start(
        Arc::clone(&provider),
        runtime,
        settings(&sandbox.data_dir("provider1"), cheap()),
    )
    .await
    .unwrap();

    let workload = manifest(IMAGE);
    let fitting = order_for(&workload, 60);
    let matching = sandbox.order(fitting.clone()).await;
    let mut other_region = fitting.clone();
    other_region.requirements.attributes = vec![Attribute::new("region", "eu-central")];
    let other_region = sandbox.order(other_region).await;
    let mut too_big = fitting.clone();
    too_big.resources.cpu_millis = 1500;
    too_big.count = 2;
    too_big.max_price_per_second = Uint128::new(1_000);
    let too_big = sandbox.order(too_big).await;
    let mut too_cheap = fitting.clone();
    too_cheap.max_price_per_second = Uint128::one();
    let too_cheap = sandbox.order(too_cheap).await;
    let mut high_stake = fitting.clone();
    high_stake.requirements.min_stake = Uint128::new(1_000 * AKASH);
    let high_stake = sandbox.order(high_stake).await;

    let engine = daemon.bid_engine();
    wait_until("every order is decided", || async {
        [matching, other_region, too_big, too_cheap, high_stake]
            .iter()
            .all(|order_id| {
                matches!(
                    engine.phase(*order_id),
                    Some(BidPhase::Bid { .. } | BidPhase::Declined { .. })
                )
            })
    })
    .await;

    // 100 millis x 0.01 + 64 MiB x 0.01 = 1.64 -> 2 per second.
    assert_eq!(
        engine.phase(matching),
        Some(BidPhase::Bid {
            price: Uint128::new(2)
        })
    );
    let bid = provider.bid(matching, provider.address()).await.unwrap();
    assert_eq!(bid.price_per_second, Uint128::new(2));
    let declined = |order_id: u64| match engine.phase(order_id) {
        Some(BidPhase::Declined { reason }) => reason,
        other => panic!("order {order_id} should be declined, is {other:?}"),
    };
    assert!(
        declined(other_region).contains("region=eu-central"),
        "{}",
        declined(other_region)
    );
    assert!(
        declined(too_big).contains("cpu_millis"),
        "{}",
        declined(too_big)
    );
    assert!(
        declined(too_cheap).contains("above the order's max"),
        "{}",
        declined(too_cheap)
    );
    assert!(
        declined(high_stake).contains("stake"),
        "{}",
        declined(high_stake)
    );
    for order_id in [other_region, too_big, too_cheap, high_stake] {
        assert!(provider.bid(order_id, provider.address()).await.is_err());
    }
    // Only the bid holds capacity.
    assert_eq!(
        engine.ledger().reserved(),
        Resources::of_order(&fitting.resources, 1)
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheaper_provider_wins_and_the_loser_releases_its_hold() {
    let sandbox = Sandbox::new();
    let cheap_chain = sandbox.provider("provider1").await;
    let expensive_chain = sandbox.provider("provider2").await;
    let (cheap_runtime, expensive_runtime) = (fake_runtime(), fake_runtime());
    let cheap_daemon = Daemon::start(
        Arc::clone(&cheap_chain),
        Arc::clone(&cheap_runtime),
        settings(&sandbox.data_dir("provider1"), cheap()),
    )
    .await
    .unwrap();
    let expensive_daemon = Daemon::start(
        Arc::clone(&expensive_chain),
        Arc::clone(&expensive_runtime),
        settings(&sandbox.data_dir("provider2"), expensive()),
    )
    .await
    .unwrap();

    let workload = manifest(IMAGE);
    let order_id = sandbox.order(order_for(&workload, 2)).await;
    wait_until("both providers bid", || async {
        [&cheap_daemon, &expensive_daemon].iter().all(|daemon| {
            matches!(
                daemon.bid_engine().phase(order_id),
                Some(BidPhase::Bid { .. })
            )
        })
    })
    .await;
    assert!(expensive_daemon.bid_engine().ledger().reserved().cpu_millis > 0);

    let lease_id = won_lease(&cheap_daemon, order_id).await;
    wait_until("the expensive provider knows it lost", || async {
        matches!(
            expensive_daemon.bid_engine().phase(order_id),
            Some(BidPhase::Lost { .. })
        )
    })
    .await;
    match expensive_daemon.bid_engine().phase(order_id) {
        Some(BidPhase::Lost { winner }) => assert_eq!(winner, cheap_chain.address()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        expensive_daemon.bid_engine().ledger().reserved(),
        Resources::default()
    );
    let lease = sandbox.tenant.lease(lease_id).await.unwrap();
    assert_eq!(lease.provider.as_str(), cheap_chain.address());
    assert_eq!(lease.price_per_second, Uint128::new(2));
    let hold = cheap_daemon.bid_engine().ledger().hold(order_id).unwrap();
    assert_eq!(hold.lease_id, Some(lease_id));

    // The winner runs the workload once the manifest arrives; the loser runs nothing.
    wait_for_phase(&cheap_daemon, lease_id, "awaiting_manifest").await;
    cheap_daemon
        .leases()
        .accept_manifest(lease_id, workload.clone())
        .await
        .unwrap();
    wait_for_phase(&cheap_daemon, lease_id, "running").await;
    assert!(cheap_runtime.deployed_spec(lease_id).is_some());
    assert!(expensive_runtime.list_leases().await.unwrap().is_empty());
    // The loser refuses a manifest for a lease that is not its own.
    assert!(matches!(
        expensive_daemon
            .leases()
            .accept_manifest(lease_id, workload)
            .await,
        Err(ManifestRejected::NotOurLease { .. })
    ));
    cheap_daemon.shutdown().await;
    expensive_daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn winner_deploys_the_manifest_and_tears_down_when_the_tenant_closes() {
    let sandbox = Sandbox::new();
    let provider = sandbox.provider("provider1").await;
    let runtime = fake_runtime();
    let daemon = Daemon::start(
        provider,
        Arc::clone(&runtime),
        settings(&sandbox.data_dir("provider1"), cheap()),
    )
    .await
    .unwrap();
    let workload = manifest(IMAGE);
    let lease_id = sandbox.win(&daemon, &workload).await;

    // A document that is not the lease's is refused and changes nothing.
    let other = manifest("akash-test/other:1");
    match daemon.leases().accept_manifest(lease_id, other).await {
        Err(ManifestRejected::HashMismatch { expected, .. }) => {
            assert_eq!(expected, workload.sha256_hex())
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(runtime.deploy_calls(), 0);

    daemon
        .leases()
        .accept_manifest(lease_id, workload.clone())
        .await
        .unwrap();
    wait_for_phase(&daemon, lease_id, "running").await;
    let spec = runtime.deployed_spec(lease_id).unwrap();
    let web = spec.service("web").unwrap();
    assert_eq!(web.image, IMAGE);
    assert_eq!(
        (web.cpu_millis, web.memory_bytes, web.count),
        (100, 64 * MIB, 1)
    );
    assert_eq!(web.env, vec![("GREETING".to_string(), "hello".to_string())]);
    assert!(web.ports[0].global && web.ports[0].container_port == 8080);
    assert!(runtime.status(lease_id).await.unwrap().all_running());
    // The same upload again changes nothing.
    daemon
        .leases()
        .accept_manifest(lease_id, workload)
        .await
        .unwrap();
    assert_eq!(runtime.deploy_calls(), 1);

    sandbox
        .tenant
        .close_lease(lease_id, Some("done".into()))
        .await
        .unwrap();
    let phase = wait_for_phase(&daemon, lease_id, "closed").await;
    assert!(
        matches!(phase, LeasePhase::Closed { ref reason } if reason.contains("ClosedByTenant") || reason.contains("closed")),
        "{phase:?}"
    );
    assert!(runtime.list_leases().await.unwrap().is_empty());
    assert_eq!(
        daemon.bid_engine().ledger().reserved(),
        Resources::default()
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_manifest_version_is_deployed_after_its_upload() {
    let sandbox = Sandbox::new();
    let provider = sandbox.provider("provider1").await;
    let runtime = fake_runtime();
    let daemon = Daemon::start(
        provider,
        Arc::clone(&runtime),
        settings(&sandbox.data_dir("provider1"), cheap()),
    )
    .await
    .unwrap();
    let first = manifest(IMAGE);
    let lease_id = sandbox.win(&daemon, &first).await;
    daemon
        .leases()
        .accept_manifest(lease_id, first)
        .await
        .unwrap();
    wait_for_phase(&daemon, lease_id, "running").await;

    let second = manifest("akash-test/busybox:2");
    sandbox
        .tenant
        .update_manifest(lease_id, &second.sha256_hex())
        .await
        .unwrap();
    daemon
        .leases()
        .accept_manifest(lease_id, second.clone())
        .await
        .unwrap();
    wait_until("the new version runs", || async {
        daemon
            .leases()
            .report(lease_id)
            .and_then(|report| report.deployed_sha256)
            == Some(second.sha256_hex())
    })
    .await;
    assert_eq!(
        runtime.deployed_spec(lease_id).unwrap().services[0].image,
        "akash-test/busybox:2"
    );
    assert_eq!(
        daemon.leases().report(lease_id).unwrap().phase,
        LeasePhase::Running
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_adopts_running_workloads_and_removes_those_of_closed_leases() {
    let sandbox = Sandbox::new();
    let provider = sandbox.provider("provider1").await;
    let runtime = fake_runtime();
    let data_dir = sandbox.data_dir("provider1");
    let first = Daemon::start(
        Arc::clone(&provider),
        Arc::clone(&runtime),
        settings(&data_dir, cheap()),
    )
    .await
    .unwrap();
    let workload = manifest(IMAGE);
    let kept_order = sandbox.order(order_for(&workload, BID_WINDOW_SECS)).await;
    let closed_order = sandbox.order(order_for(&workload, BID_WINDOW_SECS)).await;
    let kept = won_lease(&first, kept_order).await;
    let closed = won_lease(&first, closed_order).await;
    for lease_id in [kept, closed] {
        first
            .leases()
            .accept_manifest(lease_id, workload.clone())
            .await
            .unwrap();
        wait_for_phase(&first, lease_id, "running").await;
    }
    let containers_before = runtime.status(kept).await.unwrap();
    let deploys_before = runtime.deploy_calls();
    first.shutdown().await;

    // While the daemon is down the tenant closes one lease; its containers stay for now.
    sandbox.tenant.close_lease(closed, None).await.unwrap();
    assert_eq!(runtime.list_leases().await.unwrap().len(), 2);

    let second = Daemon::start(
        Arc::clone(&provider),
        Arc::clone(&runtime),
        settings(&data_dir, cheap()),
    )
    .await
    .unwrap();
    assert_eq!(second.recovery().adopted, vec![kept]);
    assert_eq!(second.recovery().torn_down, vec![closed]);
    let report = second.leases().report(kept).unwrap();
    assert_eq!(report.phase, LeasePhase::Running);
    assert!(report.adopted);
    assert_eq!(report.deployed_sha256, Some(workload.sha256_hex()));
    // The capacity of the adopted lease is held again.
    assert_eq!(
        second
            .bid_engine()
            .ledger()
            .hold(kept_order)
            .unwrap()
            .lease_id,
        Some(kept)
    );
    assert!(second.bid_engine().ledger().hold(closed_order).is_none());

    // Give the workers and the periodic checks time to do anything they would do.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runtime.deploy_calls(), deploys_before, "nothing redeployed");
    assert_eq!(runtime.status(kept).await.unwrap(), containers_before);
    let leases: Vec<u64> = runtime
        .list_leases()
        .await
        .unwrap()
        .iter()
        .map(|lease| lease.lease_id)
        .collect();
    assert_eq!(leases, vec![kept]);
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_daemon_matches_the_bid_it_placed_before() {
    let sandbox = Sandbox::new();
    let provider = sandbox.provider("provider1").await;
    let data_dir = sandbox.data_dir("provider1");
    let first = Daemon::start(
        Arc::clone(&provider),
        fake_runtime(),
        settings(&data_dir, cheap()),
    )
    .await
    .unwrap();
    let order_id = sandbox
        .order(order_for(&manifest(IMAGE), BID_WINDOW_SECS))
        .await;
    wait_until("the bid is placed", || async {
        matches!(
            first.bid_engine().phase(order_id),
            Some(BidPhase::Bid { .. })
        )
    })
    .await;
    first.shutdown().await;
    // The window closes while the daemon is down; nobody has matched the order.
    tokio::time::sleep(Duration::from_secs(BID_WINDOW_SECS)).await;

    let second = Daemon::start(
        Arc::clone(&provider),
        fake_runtime(),
        settings(&data_dir, cheap()),
    )
    .await
    .unwrap();
    let lease_id = won_lease(&second, order_id).await;
    wait_for_phase(&second, lease_id, "awaiting_manifest").await;
    assert_eq!(
        second
            .bid_engine()
            .ledger()
            .hold(order_id)
            .unwrap()
            .lease_id,
        Some(lease_id)
    );
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_without_manifest_is_closed_after_the_timeout() {
    let sandbox = Sandbox::new();
    let provider = sandbox.provider("provider1").await;
    let runtime = fake_runtime();
    let mut settings = settings(&sandbox.data_dir("provider1"), cheap());
    settings.leases.manifest_timeout = Duration::from_secs(1);
    let daemon = Daemon::start(provider, Arc::clone(&runtime), settings)
        .await
        .unwrap();
    let lease_id = sandbox.win(&daemon, &manifest(IMAGE)).await;
    let phase = wait_for_phase(&daemon, lease_id, "closed").await;
    assert!(
        matches!(phase, LeasePhase::Closed { ref reason } if reason.contains("no manifest")),
        "{phase:?}"
    );
    let (state, reason) = sandbox.lease_state(lease_id).await;
    assert_eq!(state, LeaseState::ClosedByProvider);
    let reason = reason.unwrap();
    assert!(
        reason.contains("no manifest received within 1 s"),
        "{reason}"
    );
    assert_eq!(runtime.deploy_calls(), 0);
    assert_eq!(
        daemon.bid_engine().ledger().reserved(),
        Resources::default()
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deployment_closes_the_lease_with_its_reason() {
    let sandbox = Sandbox::new();
    let provider = sandbox.provider("provider1").await;
    let runtime = fake_runtime();
    let daemon = Daemon::start(
        provider,
        Arc::clone(&runtime),
        settings(&sandbox.data_dir("provider1"), cheap()),
    )
    .await
    .unwrap();
    let workload = manifest(MISSING_IMAGE);
    let lease_id = sandbox.win(&daemon, &workload).await;
    daemon
        .leases()
        .accept_manifest(lease_id, workload)
        .await
        .unwrap();
    wait_for_phase(&daemon, lease_id, "closed").await;
    let (state, reason) = sandbox.lease_state(lease_id).await;
    assert_eq!(state, LeaseState::ClosedByProvider);
    let reason = reason.unwrap();
    assert!(
        reason.contains("deployment failed") && reason.contains(MISSING_IMAGE),
        "{reason}"
    );
    assert!(runtime.list_leases().await.unwrap().is_empty());
    assert_eq!(
        daemon.bid_engine().ledger().reserved(),
        Resources::default()
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earnings_are_withdrawn_periodically() {
    let sandbox = Sandbox::new();
    let provider = sandbox.provider("provider1").await;
    let mut settings = settings(&sandbox.data_dir("provider1"), cheap());
    settings.leases.withdraw_interval = Duration::from_millis(500);
    let daemon = Daemon::start(Arc::clone(&provider), fake_runtime(), settings)
        .await
        .unwrap();
    let lease_id = sandbox.win(&daemon, &manifest(IMAGE)).await;
    let balance_at_start = provider.token_balance(provider.address()).await.unwrap();
    wait_until("earnings reach the provider", || async {
        provider.token_balance(provider.address()).await.unwrap() > balance_at_start
    })
    .await;
    let lease = provider.lease(lease_id).await.unwrap();
    assert!(!lease.withdrawn.is_zero());
    assert_eq!(
        provider.token_balance(provider.address()).await.unwrap() - balance_at_start,
        lease.withdrawn
    );
    daemon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_uploaded_through_the_gateway_is_deployed() {
    let sandbox = Sandbox::new();
    // A tenant whose address derives from its key, as the gateway checks signatures.
    let tenant_key =
        k256::ecdsa::SigningKey::from_slice(&<sha2::Sha256 as sha2::Digest>::digest(b"tenant"))
            .unwrap();
    let (prefix, _) = bech32::decode(&EmbeddedChain::address_of("tenant")).unwrap();
    let tenant_address = auth::address_of(tenant_key.verifying_key(), prefix.as_str()).unwrap();
    sandbox
        .chain
        .mint(&tenant_address, Uint128::new(1_000 * AKASH))
        .await
        .unwrap();
    let tenant = sandbox.chain.handle_for_address(&tenant_address);

    let identity = ProviderIdentity::generate().unwrap();
    let provider: Arc<dyn MarketChain> = Arc::new(sandbox.chain.handle("provider1"));
    register_and_stake_on(
        provider.as_ref(),
        "https://localhost:8443",
        vec![Attribute::new("region", "us-west")],
        identity.root_certificate_pem(),
        Uint128::new(100 * AKASH),
    )
    .await
    .unwrap();
    let runtime = fake_runtime();
    let daemon = Daemon::start(
        provider,
        Arc::clone(&runtime),
        settings(&sandbox.data_dir("provider1"), cheap()),
    )
    .await
    .unwrap();
    let address = daemon
        .start_gateway(
            GatewayConfig {
                listen_address: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                ..GatewayConfig::default()
            },
            &identity,
            "localhost",
        )
        .await
        .unwrap();
    let client = GatewayClient::new(
        &format!("https://localhost:{}", address.port()),
        identity.root_certificate_pem(),
    )
    .unwrap();

    let workload = manifest(IMAGE);
    let order_id = tenant
        .create_order(order_for(&workload, BID_WINDOW_SECS))
        .await
        .unwrap()
        .order_id;
    let lease_id = won_lease(&daemon, order_id).await;
    let receipt = client
        .upload_manifest(lease_id, &workload.document_bytes(), &tenant_key)
        .await
        .unwrap();
    assert_eq!(receipt.manifest_sha256, workload.sha256_hex());
    wait_for_phase(&daemon, lease_id, "running").await;
    let status = client.status(lease_id, &tenant_key).await.unwrap();
    assert_eq!(status.state, DeploymentState::Running);
    assert_eq!(status.services[0].name, "web");
    assert!(status.services[0].endpoints[0]
        .url
        .starts_with("tcp://provider.test:"));
    assert_eq!(runtime.deploy_calls(), 1);
    // Shutdown stops the gateway with the rest.
    daemon.shutdown().await;
    assert!(client.status(lease_id, &tenant_key).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_leaves_the_containers_of_another_providers_lease_alone() {
    // Two daemons on one Docker engine (as in the sandbox): the second one's recovery and
    // periodic checks must not remove the first one's running workload.
    let sandbox = Sandbox::new();
    let provider1 = sandbox.provider("provider1").await;
    let provider2 = sandbox.provider("provider2").await;
    let runtime = fake_runtime();
    let first = Daemon::start(
        Arc::clone(&provider1),
        Arc::clone(&runtime),
        settings(&sandbox.data_dir("provider1"), cheap()),
    )
    .await
    .unwrap();
    let workload = manifest(IMAGE);
    let order = sandbox.order(order_for(&workload, BID_WINDOW_SECS)).await;
    let lease_id = won_lease(&first, order).await;
    first
        .leases()
        .accept_manifest(lease_id, workload.clone())
        .await
        .unwrap();
    wait_for_phase(&first, lease_id, "running").await;
    let containers = runtime.status(lease_id).await.unwrap();

    let second = Daemon::start(
        Arc::clone(&provider2),
        Arc::clone(&runtime),
        settings(&sandbox.data_dir("provider2"), cheap()),
    )
    .await
    .unwrap();
    assert!(second.recovery().torn_down.is_empty());
    assert!(second.recovery().adopted.is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runtime.status(lease_id).await.unwrap(), containers);
    second.shutdown().await;
    first.shutdown().await;
}
