//! The overlay between two providers on the real Docker engine (whitepaper 4.2): `web` runs
//! on one provider, `db` (a small TCP key-value store) on the other; `web` reaches `db:7000`
//! by name through an mTLS tunnel. `spy` (same group as `web`, not in `db`'s `expose.to`) and a
//! workload of another deployment cannot connect. Two real daemons with their own Docker
//! networks and TLS gateways on 127.0.0.1, the real contracts on the embedded chain, and the
//! tenant's own deploy flow (`akash deploy` code). Handshake refusals of certificates (not
//! chained to an on-chain root, or naming another lease) are tested in crates/overlay.
//! Needs the engine (`scripts/docker.sh ensure`) and the test image
//! (`scripts/make-test-image.sh`).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use akash_chain_client::akash_types::common::Attribute;
use akash_chain_client::embedded::AKASH;
use akash_chain_client::{EmbeddedChain, MarketChain, Uint128};
use akash_cli::deploy::{self, DeployOptions, RecordProgress};
use akash_cli::keys::TenantKey;
use akash_cli::sdl::SdlFile;
use akash_provider::bidding::{BidEngineSettings, RateCard};
use akash_provider::config::CapacityConfig;
use akash_provider::daemon::{register_and_stake_on, Daemon, DaemonSettings};
use akash_provider::gateway::GatewayConfig;
use akash_provider::identity::ProviderIdentity;
use akash_provider::leases::LeaseManagerSettings;
use akash_provider::runtime::{ContainerRuntime, DockerConfig, DockerRuntime, RuntimeOwner};
use cosmwasm_std::Decimal;

mod support;

use support::require_docker_and_image;

/// `web`, `admin`, `spy` and `cache` in us-west, `db` in us-east; `web` and `admin` may reach
/// `db` (through one forwarder, each tunnel naming its own service), `spy` may not; only `web`
/// may reach `cache` (same group, same provider: expose.to enforced there too).
/// The command of a one-request-per-connection key-value store on `port` (busybox nc):
/// "SET key value" answers OK, "GET key" the value or NOTFOUND.
fn kv_store(port: u16) -> String {
    format!(
        r#"    command: ["sh", "-c"]
    args:
      - |
        mkdir -p /data
        cat > /kv.sh <<'SCRIPT'
        #!/bin/sh
        read -r op key value
        case "$op" in
          SET) printf '%s\n' "$value" > "/data/$key" && echo OK ;;
          GET) cat "/data/$key" 2>/dev/null || echo NOTFOUND ;;
          *) echo "ERR unknown command" ;;
        esac
        SCRIPT
        chmod +x /kv.sh
        exec nc -ll -p {port} -e /kv.sh
"#
    )
}

fn deployment() -> String {
    format!(
        r#"
version: "2.0"
services:
  web:
    image: akash-test/busybox:latest
    command: ["sleep", "3600"]
  spy:
    image: akash-test/busybox:latest
    command: ["sleep", "3600"]
  admin:
    image: akash-test/busybox:latest
    command: ["sleep", "3600"]
  cache:
    image: akash-test/busybox:latest
{cache}    expose:
      - port: 7001
        proto: tcp
        to:
          - service: web
  db:
    image: akash-test/busybox:latest
{db}    expose:
      - port: 7000
        proto: tcp
        to:
          - service: web
          - service: admin
profiles:
  compute:
    small:
      resources:
        cpu:
          units: 0.1
        memory:
          size: 32Mi
        storage:
          size: 64Mi
  placement:
    west:
      attributes:
        region: us-west
      pricing:
        small:
          denom: uakt
          amount: 10
    east:
      attributes:
        region: us-east
      pricing:
        small:
          denom: uakt
          amount: 10
deployment:
  web:
    west:
      profile: small
      count: 1
  spy:
    west:
      profile: small
      count: 1
  admin:
    west:
      profile: small
      count: 1
  cache:
    west:
      profile: small
      count: 1
  db:
    east:
      profile: small
      count: 1
x-akash:
  lease_duration: 1h
  bid_window: 2
"#,
        cache = kv_store(7001),
        db = kv_store(7000),
    )
}

/// Another deployment of the same tenant on the west provider.
const INTRUDER: &str = r#"
version: "2.0"
services:
  intruder:
    image: akash-test/busybox:latest
    command: ["sleep", "3600"]
profiles:
  compute:
    small:
      resources:
        cpu:
          units: 0.1
        memory:
          size: 32Mi
        storage:
          size: 64Mi
  placement:
    west:
      attributes:
        region: us-west
      pricing:
        small:
          denom: uakt
          amount: 10
deployment:
  intruder:
    west:
      profile: small
      count: 1
x-akash:
  lease_duration: 1h
  bid_window: 2
"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `script` in `container` with busybox sh; its stdout (trimmed), whatever the status.
fn exec(container: &str, script: &str) -> String {
    let out = Command::new("docker")
        .args(["exec", container, "sh", "-c", script])
        .output()
        .expect("docker exec");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

struct Provider {
    daemon: Daemon<DockerRuntime>,
    runtime: Arc<DockerRuntime>,
}

async fn provider(chain: &EmbeddedChain, name: &str, region: &str, data_dir: &Path) -> Provider {
    chain
        .mint(
            &EmbeddedChain::address_of(name),
            Uint128::new(1_000 * AKASH),
        )
        .await
        .unwrap();
    let handle: Arc<dyn MarketChain> = Arc::new(chain.handle(name));
    let identity = ProviderIdentity::generate().unwrap();
    let port = free_port();
    register_and_stake_on(
        handle.as_ref(),
        &format!("https://127.0.0.1:{port}"),
        vec![Attribute::new("region", region)],
        identity.root_certificate_pem(),
        Uint128::new(100 * AKASH),
    )
    .await
    .unwrap();
    let owner = RuntimeOwner::new(handle.chain_id(), handle.address());
    let runtime = Arc::new(
        DockerRuntime::connect(DockerConfig::default(), owner)
            .await
            .expect("the Docker engine answers"),
    );
    let settings = DaemonSettings {
        bidding: BidEngineSettings {
            rate_card: RateCard {
                cpu_milli: Decimal::from_ratio(1u128, 100u128),
                memory_mib: Decimal::zero(),
                storage_gib: Decimal::zero(),
                bandwidth_mibps: Decimal::zero(),
                minimum: Uint128::one(),
            },
            scan_interval: Duration::from_millis(300),
            match_poll_interval: Duration::from_millis(200),
        },
        leases: LeaseManagerSettings {
            manifest_timeout: Duration::from_secs(120),
            withdraw_interval: Duration::from_secs(3600),
            check_interval: Duration::from_secs(1),
            data_dir: data_dir.join(name),
            public_host: "127.0.0.1".to_string(),
        },
        capacity: CapacityConfig::default(),
    };
    let daemon = Daemon::start(handle, Arc::clone(&runtime), settings)
        .await
        .unwrap();
    daemon
        .start_gateway(
            GatewayConfig {
                listen_address: SocketAddr::from(([127, 0, 0, 1], port)),
                ..GatewayConfig::default()
            },
            &identity,
            "127.0.0.1",
        )
        .await
        .unwrap();
    Provider { daemon, runtime }
}

/// The container name of `service` in `lease_id` on `provider`.
async fn container(provider: &Provider, lease_id: u64, service: &str) -> String {
    let status = provider.runtime.status(lease_id).await.unwrap();
    let instance = status
        .instances
        .iter()
        .find(|instance| instance.service == service)
        .unwrap_or_else(|| panic!("lease {lease_id} runs {service}: {status:?}"));
    instance.container_id.clone()
}

/// Asks `db` through `from` until it answers (the overlay syncs every second) or 30 s pass.
async fn kv(from: &str, request: &str) -> String {
    kv_at(from, "db 7000", request).await
}

/// Asks the service at `target` ("name port") through `from`, retrying for 30 s.
async fn kv_at(from: &str, target: &str, request: &str) -> String {
    let script = format!("echo '{request}' | timeout 5 nc {target}");
    let mut answer = String::new();
    for _ in 0..30 {
        answer = exec(from, &script);
        if !answer.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_reaches_db_on_another_provider_by_name_and_nothing_else_does() {
    require_docker_and_image();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let chain = EmbeddedChain::start_default().unwrap();
    let key = TenantKey::generate().unwrap();
    let (prefix, _) = bech32::decode(&EmbeddedChain::address_of("tenant")).unwrap();
    let tenant_address = key.address(prefix.as_str()).unwrap();
    chain
        .mint(&tenant_address, Uint128::new(10_000 * AKASH))
        .await
        .unwrap();
    let tenant = chain.handle_for_address(&tenant_address);
    let west = provider(&chain, "west", "us-west", dir.path()).await;
    let east = provider(&chain, "east", "us-east", dir.path()).await;

    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        SdlFile::load(&path).unwrap()
    };
    let options = DeployOptions {
        poll_interval: Duration::from_millis(200),
        ..DeployOptions::default()
    };
    let progress = RecordProgress::default();
    let report = deploy::deploy(
        &tenant,
        &key,
        &write("app.yaml", &deployment()),
        &progress,
        &options,
    )
    .await
    .expect("the deployment runs");
    let leases = report.leases();
    assert_eq!(leases.len(), 2);
    let web_lease = leases
        .iter()
        .find(|lease| lease.provider.as_str() == west.daemon.chain().address())
        .expect("a lease on the west provider")
        .id;
    let db_lease = leases
        .iter()
        .find(|lease| lease.provider.as_str() == east.daemon.chain().address())
        .expect("a lease on the east provider")
        .id;

    // web reaches db by name through the tunnel, as plain TCP.
    let web = container(&west, web_lease, "web").await;
    assert_eq!(kv(&web, "SET greeting hello-over-the-overlay").await, "OK");
    assert_eq!(kv(&web, "GET greeting").await, "hello-over-the-overlay");

    // admin shares the forwarder of db:7000 with web, under its own identity.
    let admin = container(&west, web_lease, "admin").await;
    assert_eq!(kv(&admin, "GET greeting").await, "hello-over-the-overlay");

    // Inside the group: web reaches cache by name; spy (not in cache's expose.to) cannot,
    // although both run on the same provider in the same lease.
    assert_eq!(kv_at(&web, "cache 7001", "SET local yes").await, "OK");
    assert_eq!(kv_at(&web, "cache 7001", "GET local").await, "yes");

    // spy resolves db (same group) but is not in db's expose.to: the forwarder drops it.
    let spy = container(&west, web_lease, "spy").await;
    assert_eq!(
        exec(&spy, "echo 'GET greeting' | timeout 5 nc db 7000"),
        "",
        "spy got an answer from db"
    );
    assert_eq!(
        exec(&spy, "echo 'GET local' | timeout 5 nc cache 7001"),
        "",
        "spy got an answer from cache"
    );
    let cache_address = west
        .runtime
        .status(web_lease)
        .await
        .unwrap()
        .instances
        .iter()
        .find(|instance| instance.service == "cache")
        .and_then(|instance| instance.address)
        .expect("cache has an address");
    assert_eq!(
        exec(
            &spy,
            &format!("echo 'GET local' | timeout 5 nc {cache_address} 7001")
        ),
        "",
        "spy reached cache's container directly"
    );

    // A workload of another deployment: neither the forwarder of web's network nor db's
    // container on the other provider's network answers it.
    let other = deploy::deploy(
        &tenant,
        &key,
        &write("other.yaml", INTRUDER),
        &progress,
        &options,
    )
    .await
    .expect("the other deployment runs");
    let intruder_lease = other.leases()[0].id;
    let intruder = container(&west, intruder_lease, "intruder").await;
    let web_gateway = west
        .runtime
        .status(web_lease)
        .await
        .unwrap()
        .gateway
        .expect("web's network has a gateway");
    let db_address = east.runtime.status(db_lease).await.unwrap().instances[0]
        .address
        .expect("db has an address");
    for target in [web_gateway.to_string(), db_address.to_string()] {
        let answer = exec(
            &intruder,
            &format!("echo 'GET greeting' | timeout 5 nc {target} 7000"),
        );
        assert_eq!(answer, "", "the intruder got an answer from {target}");
    }
    // web still can.
    assert_eq!(kv(&web, "GET greeting").await, "hello-over-the-overlay");

    // Closing db's lease cuts the tunnel and the forwarder goes away.
    tenant.close_lease(db_lease, None).await.unwrap();
    let mut answer = String::from("?");
    for _ in 0..30 {
        answer = exec(&web, "echo 'GET greeting' | timeout 3 nc db 7000");
        if answer.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(answer, "", "db still answers after its lease closed");

    for lease in [web_lease, intruder_lease] {
        tenant.close_lease(lease, None).await.unwrap();
    }
    for provider in [&west, &east] {
        for lease in [web_lease, db_lease, intruder_lease] {
            let _ = provider.runtime.teardown(lease).await;
        }
    }
    west.daemon.shutdown().await;
    east.daemon.shutdown().await;
}
