//! Helpers shared by the daemon's integration tests (`mod support;` in each): waiting,
//! daemon settings and orders, and the Docker engine with the test image.

// Every test crate uses a part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use akash_chain_client::embedded::AKASH;
use akash_chain_client::Uint128;
use akash_manifest::GroupManifest;
use akash_provider::bidding::{BidEngineSettings, RateCard};
use akash_provider::config::CapacityConfig;
use akash_provider::daemon::DaemonSettings;
use akash_provider::leases::LeaseManagerSettings;
use akash_provider::runtime::{
    ContainerRuntime, DockerConfig, DockerRuntime, RuntimeError, RuntimeOwner, LABEL_CHAIN_ID,
    LABEL_LEASE_ID, LABEL_PROVIDER,
};
use akash_types::common::{Attribute, ResourceUnits};
use akash_types::market::{OrderSpec, PlacementRequirements};
use cosmwasm_std::Decimal;

/// The workload image, built locally by scripts/make-test-image.sh.
pub const TEST_IMAGE: &str = "akash-test/busybox:latest";
pub const MIB: u64 = 1 << 20;
/// Longest wait for anything a daemon or Docker does on its own: generous, the machine has two
/// shared cores and other builds may run beside the tests.
pub const PATIENCE: Duration = Duration::from_secs(30);
const SETUP_HINT: &str = "run scripts/docker.sh ensure and scripts/make-test-image.sh first";

// ---- waiting and logs ------------------------------------------------------------------

pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Polls `check` until it returns `Some`; panics naming `what` after [`PATIENCE`].
pub async fn wait_for<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    wait_for_within(what, PATIENCE, check).await
}

/// [`wait_for`] with a patience of its own.
pub async fn wait_for_within<T, F, Fut>(what: &str, patience: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {} s waiting for {what}",
            patience.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `check` until it holds; panics naming `what` after [`PATIENCE`].
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(what, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}

// ---- daemons and orders ----------------------------------------------------------------

pub fn cheap() -> RateCard {
    RateCard {
        cpu_milli: Decimal::from_str("0.01").unwrap(),
        memory_mib: Decimal::from_str("0.01").unwrap(),
        storage_gib: Decimal::zero(),
        bandwidth_mibps: Decimal::zero(),
        minimum: Uint128::one(),
    }
}

/// Quick scans and checks; endpoints named with the host `provider.test`.
pub fn settings(data_dir: &Path, rate_card: RateCard) -> DaemonSettings {
    DaemonSettings {
        bidding: BidEngineSettings {
            rate_card,
            scan_interval: Duration::from_millis(300),
            match_poll_interval: Duration::from_millis(100),
        },
        leases: LeaseManagerSettings {
            manifest_timeout: Duration::from_secs(60),
            withdraw_interval: Duration::from_secs(600),
            check_interval: Duration::from_millis(300),
            data_dir: data_dir.to_path_buf(),
            public_host: "provider.test".to_string(),
        },
        capacity: CapacityConfig::default(),
    }
}

/// An order for a manifest of one service: 100 millis and 64 MiB, count 1, in us-west.
pub fn order_for(manifest: &GroupManifest, bid_window_secs: u64) -> OrderSpec {
    OrderSpec {
        resources: ResourceUnits {
            cpu_millis: 100,
            memory_bytes: 64 * MIB,
            storage_bytes: 0,
            bandwidth_bytes_per_sec: 0,
        },
        count: 1,
        max_price_per_second: Uint128::new(20),
        lease_duration_secs: 3600,
        bid_window_secs,
        requirements: PlacementRequirements {
            attributes: vec![Attribute::new("region", "us-west")],
            min_stake: Uint128::new(10 * AKASH),
            min_reputation: 0,
        },
        manifest_sha256: manifest.sha256_hex(),
    }
}

// ---- the Docker engine -----------------------------------------------------------------

/// A runtime of `owner` on the local engine, or a panic saying how to set the engine and the
/// test image up.
pub async fn connect_as(owner: RuntimeOwner) -> DockerRuntime {
    let runtime = match DockerRuntime::connect(DockerConfig::default(), owner).await {
        Ok(runtime) => runtime,
        Err(error) => panic!("the Docker engine is not reachable ({error}); {SETUP_HINT}"),
    };
    if let Err(error) = runtime.docker().inspect_image(TEST_IMAGE).await {
        panic!("test image {TEST_IMAGE} is missing ({error}); {SETUP_HINT}");
    }
    runtime
}

/// Tears the leases down when the test ends, also when it panics.
pub struct Cleanup(pub Vec<(RuntimeOwner, u64)>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let leases = std::mem::take(&mut self.0);
        on_cleanup_thread(async move {
            for (owner, lease_id) in leases {
                let runtime = DockerRuntime::connect(DockerConfig::default(), owner).await?;
                runtime.teardown(lease_id).await?;
            }
            Ok(())
        });
    }
}

/// Tears every lease of the owners down when the test ends, also when it panics.
pub struct OwnersCleanup(pub Vec<RuntimeOwner>);

impl Drop for OwnersCleanup {
    fn drop(&mut self) {
        let owners = std::mem::take(&mut self.0);
        on_cleanup_thread(async move {
            for owner in owners {
                let runtime = DockerRuntime::connect(DockerConfig::default(), owner).await?;
                for lease in runtime.list_leases().await? {
                    runtime.teardown(lease.lease_id).await?;
                }
            }
            Ok(())
        });
    }
}

/// The test's runtime may be unwinding: clean up on a thread with a runtime of its own.
fn on_cleanup_thread(cleanup: impl Future<Output = Result<(), RuntimeError>> + Send + 'static) {
    let outcome = std::thread::spawn(move || {
        let executor = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime for cleanup");
        executor.block_on(cleanup)
    })
    .join();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("cleanup of test leases failed: {error}"),
        Err(_) => eprintln!("cleanup of test leases panicked"),
    }
}

/// Docker label filters of the objects of `runtime`'s owner's lease `lease_id`.
pub fn lease_filters(runtime: &DockerRuntime, lease_id: u64) -> HashMap<String, Vec<String>> {
    let owner = runtime.owner();
    HashMap::from([(
        "label".to_string(),
        vec![
            format!("{LABEL_LEASE_ID}={lease_id}"),
            format!("{LABEL_CHAIN_ID}={}", owner.chain_id),
            format!("{LABEL_PROVIDER}={}", owner.provider),
        ],
    )])
}

/// `GET /index.html` on 127.0.0.1:`port`; the whole response.
pub fn http_get(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}
