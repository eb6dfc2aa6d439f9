//! `WasmdChain` against the real wasmd localnet. Ignored by default: it needs a running chain
//! and a deployment of the four contracts:
//!
//! ```text
//! scripts/localnet.sh start && scripts/deploy.sh
//! cargo test -p akash-chain-client --test wasmd_localnet -- --ignored
//! ```
//!
//! Settings (environment): `AKASH_LOCALNET_HOME` (default `~/.cache/akash-localnet`; its
//! `accounts.json` holds the test keys' mnemonics), `AKASH_DEPLOYMENT` (default
//! `$AKASH_LOCALNET_HOME/deployment.json`, else `deployment-e2e.json` there), `WASMD` (default the cached binary; used to export
//! one key as raw hex from the test keyring, skipped when absent).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use akash_chain_client::akash_types::common::{Attribute, ResourceUnits};
use akash_chain_client::akash_types::market::{
    LeaseState, OrderSpec, OrderState, PlacementRequirements,
};
use akash_chain_client::{
    ChainError, Deployment, MarketChain, MarketEvent, MarketEventStream, Uint128, WasmdChain,
    WasmdKey,
};

const CA_PEM: &str = include_str!("../testdata/ca.pem");
const MANIFEST: &str = "abababababababababababababababababababababababababababababababab";
const RESOURCES: ResourceUnits = ResourceUnits {
    cpu_millis: 500,
    memory_bytes: 512 << 20,
    storage_bytes: 1 << 30,
    bandwidth_bytes_per_sec: 100_000,
};
/// The tests share the localnet's keys: one at a time, so only the sequence test races
/// itself.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Long enough for two bids to land on a loaded 2-core machine.
const BID_WINDOW_SECS: u64 = 12;

fn localnet_home() -> PathBuf {
    std::env::var_os("AKASH_LOCALNET_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/akash-localnet")
        })
}

fn deployment() -> Deployment {
    // deploy.sh's default output, then the one scripts/e2e.sh writes.
    let path = std::env::var_os("AKASH_DEPLOYMENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = localnet_home();
            let default = home.join("deployment.json");
            let e2e = home.join("deployment-e2e.json");
            if !default.exists() && e2e.exists() {
                e2e
            } else {
                default
            }
        });
    Deployment::load(&path).unwrap_or_else(|e| {
        panic!("{e}: start the localnet and deploy first (scripts/localnet.sh start && scripts/deploy.sh)")
    })
}

/// (mnemonic, address) of a localnet key from `accounts.json`.
fn account(name: &str) -> (String, String) {
    let path = localnet_home().join("accounts.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let accounts: serde_json::Value = serde_json::from_str(&text).expect("accounts.json");
    let entry = accounts
        .as_array()
        .expect("an array")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no key {name} in {}", path.display()));
    (
        entry["mnemonic"].as_str().unwrap().to_string(),
        entry["address"].as_str().unwrap().to_string(),
    )
}

/// The raw private key of a test-keyring key, as `wasmd keys export --unarmored-hex` prints it.
fn exported_hex_key(name: &str) -> Option<String> {
    let wasmd = std::env::var_os("WASMD")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/akash-tools/bin/wasmd")
        });
    if !wasmd.exists() {
        return None;
    }
    let mut child = Command::new(&wasmd)
        .args(["keys", "export", name, "--unarmored-hex", "--unsafe"])
        .args(["--keyring-backend", "test", "--home"])
        .arg(localnet_home())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // It asks for confirmation.
    use std::io::Write;
    let _ = child.stdin.take()?.write_all(b"y\n");
    let out = child.wait_with_output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    text.split_whitespace()
        .rev()
        .find(|w| w.len() == 64 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .map(str::to_string)
}

async fn connect(deployment: &Deployment, name: &str) -> WasmdChain {
    let (mnemonic, address) = account(name);
    let key = WasmdKey::from_mnemonic(&mnemonic).unwrap();
    let chain = WasmdChain::from_deployment(deployment, key)
        .await
        .expect("connect to the localnet");
    assert_eq!(chain.address(), address, "derivation of {name}");
    chain
}

/// Registers (or, on a deployment used before, updates) and stakes 1 AKASH.
async fn onboard(provider: &dyn MarketChain, name: &str) {
    let host = format!("https://{name}.chain-client.test:8443");
    let attributes = vec![Attribute::new("region", "us-west")];
    match provider.provider(provider.address()).await {
        Err(ChainError::Contract { .. }) => {
            provider
                .register_provider(&host, attributes, CA_PEM)
                .await
                .expect("register");
        }
        Ok(_) => {
            provider
                .update_provider(Some(host), Some(attributes), None)
                .await
                .expect("update");
        }
        Err(e) => panic!("provider query: {e}"),
    }
    let tx = provider
        .stake(Uint128::new(1_000_000))
        .await
        .expect("stake");
    assert!(tx.gas_used > 0 && tx.gas_wanted >= tx.gas_used, "{tx:?}");
}

/// Events of `order_id` until one with `last_action`, failing after 60 s.
async fn events_of_order(
    stream: &mut MarketEventStream,
    order_id: u64,
    last_action: &str,
) -> Vec<MarketEvent> {
    let mut events = Vec::new();
    loop {
        let item = tokio::time::timeout(Duration::from_secs(60), stream.next_event())
            .await
            .unwrap_or_else(|_| panic!("no {last_action} event within 60 s; got {events:?}"))
            .expect("stream open");
        let event = match item {
            Ok(event) => event,
            Err(e) => panic!("event stream error: {e}"),
        };
        if event.order_id() != Some(order_id) {
            continue;
        }
        let done = event.action == last_action;
        events.push(event);
        if done {
            return events;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running wasmd localnet and a deployment (scripts/localnet.sh start && scripts/deploy.sh); run with --ignored"]
async fn wasmd_register_order_bid_match_with_events() {
    let _serial = SERIAL.lock().await;
    let deployment = deployment();
    let tenant: Arc<dyn MarketChain> = Arc::new(connect(&deployment, "tenant").await);
    let provider1: Arc<dyn MarketChain> = Arc::new(connect(&deployment, "provider1").await);
    let provider2: Arc<dyn MarketChain> = Arc::new(connect(&deployment, "provider2").await);
    // The matcher signs with a raw key exported from the test keyring, when wasmd is here.
    let (stranger_mnemonic, stranger_address) = account("stranger");
    let stranger_key = match exported_hex_key("stranger") {
        Some(hex) => WasmdKey::from_hex(&hex).unwrap(),
        None => {
            eprintln!("wasmd not found: signing as stranger from its mnemonic instead");
            WasmdKey::from_mnemonic(&stranger_mnemonic).unwrap()
        }
    };
    let stranger = WasmdChain::from_deployment(&deployment, stranger_key)
        .await
        .unwrap();
    assert_eq!(stranger.address(), stranger_address);

    let start = tenant.height().await.unwrap();
    let mut events = provider1.subscribe_market_events(start).await.unwrap();

    onboard(&*provider1, "provider1").await;
    onboard(&*provider2, "provider2").await;
    assert!(
        tenant
            .stake_of(provider1.address())
            .await
            .unwrap()
            .stake
            .u128()
            >= 1_000_000
    );

    let before = tenant.token_balance(tenant.address()).await.unwrap();
    let spec = OrderSpec {
        resources: RESOURCES,
        count: 1,
        max_price_per_second: Uint128::new(10),
        lease_duration_secs: 600,
        bid_window_secs: BID_WINDOW_SECS,
        requirements: PlacementRequirements {
            attributes: vec![Attribute::new("region", "us-west")],
            min_stake: Uint128::new(1_000_000),
            min_reputation: 0,
        },
        manifest_sha256: MANIFEST.to_string(),
    };
    let created = tenant.create_order(spec).await.unwrap();
    let order_id = created.order_id;
    assert_eq!(
        tenant.token_balance(tenant.address()).await.unwrap(),
        before - Uint128::new(6_000)
    );

    provider1
        .place_bid(order_id, Uint128::new(8), RESOURCES)
        .await
        .unwrap();
    provider2
        .place_bid(order_id, Uint128::new(6), RESOURCES)
        .await
        .unwrap();
    let bids = tenant.bids(order_id, None, None).await.unwrap();
    assert_eq!(bids.len(), 2);
    assert_eq!(bids[0].provider.as_str(), provider2.address());

    // Refused in simulation, with the contract's message.
    let early = stranger.match_order(order_id).await.unwrap_err();
    assert!(
        early
            .contract_message()
            .is_some_and(|m| m.starts_with(&format!(
                "order {order_id} can be matched once its bid window closes at"
            ))),
        "{early:?}"
    );

    let ends_at = tenant.order(order_id).await.unwrap().bid_window_ends_at;
    while tenant.block_time().await.unwrap() < ends_at {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let matched = stranger.match_order(order_id).await.unwrap();
    let lease_id = matched.lease_id.expect("a lease");
    let lease = tenant.lease(lease_id).await.unwrap();
    assert_eq!(lease.provider.as_str(), provider2.address());
    assert_eq!(lease.price_per_second, Uint128::new(6));
    assert_eq!(lease.state, LeaseState::Active);
    assert_eq!(
        tenant.order(order_id).await.unwrap().state,
        OrderState::Matched
    );
    assert_eq!(
        tenant.token_balance(tenant.address()).await.unwrap(),
        before - Uint128::new(3_600),
        "the surplus came back"
    );

    let received = events_of_order(&mut events, order_id, "match_order").await;
    let actions: Vec<&str> = received.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["create_order", "place_bid", "place_bid", "match_order"]
    );
    assert_eq!(received[0].height, created.tx.height);
    assert_eq!(received[0].tx_hash, created.tx.tx_hash);
    assert_eq!(received[0].attribute("manifest_sha256"), Some(MANIFEST));
    assert_eq!(received[3].height, matched.tx.height);
    assert_eq!(received[3].lease_id(), Some(lease_id));
    assert_eq!(received[3].attribute("provider"), Some(provider2.address()));

    // A new subscription from the order's height backfills the same events.
    let mut replay = tenant
        .subscribe_market_events(created.tx.height)
        .await
        .unwrap();
    let replayed = events_of_order(&mut replay, order_id, "match_order").await;
    assert_eq!(replayed, received);

    // The tenant closes the lease; the provider's stream sees it.
    tenant
        .close_lease(lease_id, Some("chain-client test done".into()))
        .await
        .unwrap();
    let closed = events_of_order(&mut events, order_id, "close_lease").await;
    assert_eq!(closed.last().unwrap().lease_id(), Some(lease_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running wasmd localnet and a deployment (scripts/localnet.sh start && scripts/deploy.sh); run with --ignored"]
async fn wasmd_two_handles_of_one_key_recover_from_sequence_mismatch() {
    let _serial = SERIAL.lock().await;
    let deployment = deployment();
    let first = connect(&deployment, "provider3").await;
    let (mnemonic, _) = account("provider3");
    let second = first
        .with_key(WasmdKey::from_mnemonic(&mnemonic).unwrap())
        .unwrap();
    let recipient = account("stranger").1;
    let before = first.token_balance(&recipient).await.unwrap();
    // Both read the same sequence; the second to reach the mempool is refused and retries
    // with the sequence the node expects.
    let (a, b) = tokio::join!(
        first.transfer(&recipient, Uint128::new(1)),
        second.transfer(&recipient, Uint128::new(2)),
    );
    a.expect("first transfer");
    b.expect("second transfer");
    assert_eq!(
        first.token_balance(&recipient).await.unwrap(),
        before + Uint128::new(3)
    );
    // A contract error is not retried and keeps its message.
    let err = first.order(u64::MAX).await.unwrap_err();
    assert_eq!(
        err.contract_message(),
        Some(format!("order {} not found", u64::MAX).as_str())
    );
}

/// A TCP forwarder to the node that can be taken down and brought back on the same port.
struct Proxy {
    port: u16,
    target: std::net::SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Proxy {
        let mut proxy = Proxy {
            port: 0,
            target,
            task: None,
        };
        proxy.up().await;
        proxy
    }

    async fn up(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the proxy");
        self.port = listener.local_addr().unwrap().port();
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            // Dropping the set (when this task is aborted) cuts every connection.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    async fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running wasmd localnet and a deployment (scripts/localnet.sh start && scripts/deploy.sh); run with --ignored"]
async fn wasmd_event_stream_backfills_blocks_missed_while_the_node_was_unreachable() {
    let _serial = SERIAL.lock().await;
    let deployment = deployment();
    let node: std::net::SocketAddr = deployment
        .rpc_url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("rpc url of the form http://IP:PORT");
    let mut proxy = Proxy::start(node).await;
    let mut through_proxy = deployment.clone();
    through_proxy.rpc_url = format!("http://127.0.0.1:{}", proxy.port);
    let watcher = connect(&through_proxy, "provider3").await;
    let tenant = connect(&deployment, "tenant").await;

    let spec = OrderSpec {
        resources: RESOURCES,
        count: 1,
        max_price_per_second: Uint128::new(1),
        lease_duration_secs: 60,
        bid_window_secs: 60,
        requirements: PlacementRequirements::default(),
        manifest_sha256: MANIFEST.to_string(),
    };
    let mut events = watcher
        .subscribe_market_events(tenant.height().await.unwrap())
        .await
        .unwrap();
    let first = tenant.create_order(spec.clone()).await.unwrap().order_id;
    events_of_order(&mut events, first, "create_order").await;

    proxy.down().await;
    let missed = tenant.create_order(spec.clone()).await.unwrap();
    // The stream reports the outage (once) and keeps trying.
    let outage = tokio::time::timeout(Duration::from_secs(30), events.next_event())
        .await
        .expect("the outage is reported")
        .expect("stream open");
    assert!(
        matches!(&outage, Err(ChainError::Rpc(_))),
        "expected an rpc error, got {outage:?}"
    );

    proxy.up().await;
    let backfilled = events_of_order(&mut events, missed.order_id, "create_order").await;
    assert_eq!(backfilled.len(), 1);
    assert_eq!(backfilled[0].height, missed.tx.height);
    // And it goes on live.
    let after = tenant.create_order(spec).await.unwrap().order_id;
    events_of_order(&mut events, after, "create_order").await;
    proxy.down().await;
}
