//! Manifest distribution between providers (whitepaper 4.1): the tenant uploads a shared
//! document once, every other lease holder fetches it from a provider that holds it over
//! mTLS, checks it against the chain, and serves it on. Real daemons, real TLS gateways on
//! 127.0.0.1, the real contracts (embedded chain); workloads run in the in-memory runtime.
//!
//! `bench_distribution_of_one_mib` (ignored) prints the figures of benches/README.md:
//! `cargo test --profile bench-native -p akash-provider --test distribution -- --ignored
//! --nocapture`.

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use akash_chain_client::embedded::{EmbeddedChain, EmbeddedHandle, AKASH};
use akash_chain_client::{MarketChain, Uint128};
use akash_manifest::{Expose, GroupManifest, Proto, ServiceManifest, ServiceResources};
use akash_provider::bidding::BidPhase;
use akash_provider::daemon::{register_and_stake_on, Daemon, DaemonSettings};
use akash_provider::distribution::DistributionSettings;
use akash_provider::gateway::api::codes;
use akash_provider::gateway::tls::server_config;
use akash_provider::gateway::{auth, ClientError, GatewayClient, GatewayConfig};
use akash_provider::identity::ProviderIdentity;
use akash_provider::runtime::{FakeRuntime, HostCapacity};
use akash_types::common::Attribute;
use akash_types::market::OrderSpec;
use k256::ecdsa::SigningKey;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use support::{cheap, init_logs, wait_for_within, MIB};

const BID_WINDOW_SECS: u64 = 2;
/// Longest wait for anything the daemons do on their own (generous: 10+ daemons share
/// 2 cores in CI).
const PATIENCE: Duration = Duration::from_secs(60);

/// Polls `check` until it holds, with [`PATIENCE`].
async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for_within(what, PATIENCE, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}

fn free_port() -> u16 {
    StdTcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One service whose environment carries `padding` bytes, so the document has a chosen size.
fn manifest(padding: usize) -> GroupManifest {
    let web = ServiceManifest {
        args: vec![],
        command: vec![],
        count: 1,
        env: BTreeMap::from([("PADDING".to_string(), "x".repeat(padding))]),
        expose: vec![Expose {
            as_port: 80,
            global: true,
            port: 8080,
            proto: Proto::Tcp,
            services: vec![],
        }],
        image: "akash-test/busybox:latest".to_string(),
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

/// The region attribute only provider `index` has: its order goes to it alone.
fn region(index: usize) -> Attribute {
    Attribute::new("region", format!("r{index}"))
}

/// support's order for `manifest`, placed on provider `index` alone.
fn order_for(manifest: &GroupManifest, index: usize) -> OrderSpec {
    let mut spec = support::order_for(manifest, BID_WINDOW_SECS);
    spec.requirements.attributes = vec![region(index)];
    spec
}

/// support's settings with scans every `scan`, a long manifest timeout and endpoints on
/// 127.0.0.1.
fn settings(data_dir: &std::path::Path, scan: Duration) -> DaemonSettings {
    let mut settings = support::settings(data_dir, cheap());
    settings.bidding.scan_interval = scan;
    settings.bidding.match_poll_interval = Duration::from_millis(200);
    settings.leases.manifest_timeout = Duration::from_secs(300);
    settings.leases.withdraw_interval = Duration::from_secs(3600);
    settings.leases.check_interval = scan;
    settings.leases.public_host = "127.0.0.1".to_string();
    settings
}

struct Provider {
    index: usize,
    address: String,
    identity: ProviderIdentity,
    host_uri: String,
    daemon: Daemon<FakeRuntime>,
}

impl Provider {
    fn client(&self) -> GatewayClient {
        GatewayClient::new(&self.host_uri, self.identity.root_certificate_pem()).unwrap()
    }

    fn holds(&self, sha256: &str) -> bool {
        self.daemon
            .leases()
            .manifest_store()
            .document(sha256)
            .is_some()
    }

    fn stat(&self, read: impl Fn(&akash_provider::distribution::DistributionStats) -> u64) -> u64 {
        self.daemon
            .leases()
            .distribution_stats()
            .map_or(0, |stats| read(&stats))
    }
}

struct Market {
    chain: EmbeddedChain,
    tenant: EmbeddedHandle,
    tenant_key: SigningKey,
    dir: TempDir,
}

impl Market {
    async fn new() -> Self {
        init_logs();
        let chain = EmbeddedChain::start_default().unwrap();
        // A tenant whose address derives from its key, as the gateway checks signatures.
        let tenant_key =
            SigningKey::from_slice(&<sha2::Sha256 as sha2::Digest>::digest(b"tenant")).unwrap();
        let (prefix, _) = bech32::decode(&EmbeddedChain::address_of("tenant")).unwrap();
        let address = auth::address_of(tenant_key.verifying_key(), prefix.as_str()).unwrap();
        chain
            .mint(&address, Uint128::new(100_000 * AKASH))
            .await
            .unwrap();
        Market {
            tenant: chain.handle_for_address(&address),
            tenant_key,
            chain,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A registered provider with region `r{index}`, its daemon, and (unless `gateway` is
    /// None) its gateway on 127.0.0.1, with fetching as `gateway` says.
    async fn provider(
        &self,
        index: usize,
        gateway: Option<Option<DistributionSettings>>,
        scan: Duration,
    ) -> Provider {
        let name = format!("provider{index}");
        self.chain
            .mint(
                &EmbeddedChain::address_of(&name),
                Uint128::new(1_000 * AKASH),
            )
            .await
            .unwrap();
        let chain: Arc<dyn MarketChain> = Arc::new(self.chain.handle(&name));
        let identity = ProviderIdentity::generate().unwrap();
        let port = free_port();
        let host_uri = format!("https://127.0.0.1:{port}");
        register_and_stake_on(
            chain.as_ref(),
            &host_uri,
            vec![region(index)],
            identity.root_certificate_pem(),
            Uint128::new(100 * AKASH),
        )
        .await
        .unwrap();
        let runtime = Arc::new(FakeRuntime::new(HostCapacity {
            cpu_millis: 4000,
            memory_bytes: 8192 * MIB,
        }));
        let daemon = Daemon::start(
            Arc::clone(&chain),
            runtime,
            settings(&self.dir.path().join(&name), scan),
        )
        .await
        .unwrap();
        if let Some(distribution) = gateway {
            daemon
                .start_gateway_with(
                    GatewayConfig {
                        listen_address: SocketAddr::from(([127, 0, 0, 1], port)),
                        ..GatewayConfig::default()
                    },
                    &identity,
                    "127.0.0.1",
                    distribution,
                )
                .await
                .unwrap();
        }
        Provider {
            index,
            address: chain.address().to_string(),
            identity,
            host_uri,
            daemon,
        }
    }

    /// One order of `manifest` per provider (each goes to that provider), until all are won;
    /// the lease ids in provider order.
    async fn lease_everywhere(
        &self,
        manifest: &GroupManifest,
        providers: &[&Provider],
    ) -> Vec<u64> {
        let mut leases = Vec::new();
        let mut orders = Vec::new();
        for provider in providers {
            let spec = order_for(manifest, provider.index);
            let order = self.tenant.create_order(spec).await.unwrap();
            orders.push(order.order_id);
        }
        for (provider, order_id) in providers.iter().zip(orders) {
            let engine = provider.daemon.bid_engine();
            wait_until(&format!("order {order_id} is won"), || async {
                matches!(engine.phase(order_id), Some(BidPhase::Won { .. }))
            })
            .await;
            match engine.phase(order_id) {
                Some(BidPhase::Won { lease_id }) => leases.push(lease_id),
                other => panic!("order {order_id}: {other:?}"),
            }
        }
        leases
    }
}

/// A registered provider's gateway that answers every request with 200 and a document that
/// is not the one on chain; counts the requests.
async fn corrupting_gateway(identity: &ProviderIdentity, port: u16) -> Arc<AtomicUsize> {
    let certificate = identity
        .issue_server_cert(&["127.0.0.1".to_string()])
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(server_config(&certificate).unwrap()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&requests);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && tls.read(&mut byte).await.unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let body = manifest(10).document_bytes(); // valid, but another document
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.write_all(&body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    requests
}

fn refusal(error: ClientError) -> (u16, String, String) {
    match error {
        ClientError::Refused {
            status,
            error,
            reason,
        } => (status, error, reason),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_upload_reaches_ten_providers_and_a_corrupting_source_is_skipped() {
    const HONEST: usize = 10;
    let market = Market::new().await;
    let scan = Duration::from_millis(500);
    let mut honest = Vec::new();
    for index in 0..HONEST {
        honest.push(
            market
                .provider(index, Some(Some(DistributionSettings::default())), scan)
                .await,
        );
    }
    // A lease holder whose gateway serves a document that is not the one on chain.
    let liar = market.provider(HONEST, None, scan).await;
    let liar_port: u16 = liar.host_uri.rsplit(':').next().unwrap().parse().unwrap();
    let liar_requests = corrupting_gateway(&liar.identity, liar_port).await;

    let shared = manifest(1000);
    let sha256 = shared.sha256_hex();
    let participants: Vec<&Provider> = honest.iter().chain([&liar]).collect();
    let leases = market.lease_everywhere(&shared, &participants).await;

    // Before any upload, every honest fetcher has asked every source once (nobody holds the
    // document yet) and met the liar; each must then skip it for good.
    wait_until(
        "every honest fetcher has asked the corrupting source",
        || async { liar_requests.load(Ordering::SeqCst) >= HONEST },
    )
    .await;
    assert!(honest.iter().all(|provider| !provider.holds(&sha256)));

    // The tenant uploads once, to the first provider.
    let receipt = honest[0]
        .client()
        .upload_manifest(leases[0], &shared.document_bytes(), &market.tenant_key)
        .await
        .unwrap();
    assert_eq!(receipt.manifest_sha256, sha256);

    for (provider, lease_id) in honest.iter().zip(&leases) {
        wait_until(&format!("lease {lease_id} runs"), || async {
            provider
                .daemon
                .leases()
                .report(*lease_id)
                .is_some_and(|report| report.phase.name() == "running")
        })
        .await;
        assert!(
            provider.holds(&sha256),
            "{} holds the document",
            provider.address
        );
    }
    // Everyone but the uploaded-to provider got it from a peer, verified; each met the
    // liar's document exactly once.
    assert_eq!(honest[0].stat(|s| s.fetched.load(Ordering::Relaxed)), 0);
    for provider in &honest[1..] {
        assert_eq!(provider.stat(|s| s.fetched.load(Ordering::Relaxed)), 1);
    }
    for provider in &honest {
        assert_eq!(provider.stat(|s| s.corrupted.load(Ordering::Relaxed)), 1);
    }
    assert_eq!(liar_requests.load(Ordering::SeqCst), HONEST);

    // Who may read the document from a holder.
    let holder = &honest[1];
    let outsider = market
        .provider(
            HONEST + 1,
            Some(Some(DistributionSettings::default())),
            scan,
        )
        .await;
    let outsider_certificate = outsider
        .identity
        .issue_client_cert(&outsider.address)
        .unwrap();
    let as_outsider = GatewayClient::new_as(
        &holder.host_uri,
        holder.identity.root_certificate_pem(),
        Some(&outsider_certificate),
    )
    .unwrap();
    // Naming a participant's lease with a certificate of another root.
    let (status, code, reason) = refusal(
        as_outsider
            .fetch_shared_manifest(&sha256, leases[2])
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, code.as_str()),
        (403, codes::BAD_CLIENT_CERTIFICATE)
    );
    assert!(reason.contains(&honest[2].address), "{reason}");
    // A lease that does not exist, and one that does not carry this hash.
    let (status, code, _) = refusal(
        as_outsider
            .fetch_shared_manifest(&sha256, 999)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (404, codes::UNKNOWN_LEASE));
    let other = manifest(2000).sha256_hex();
    let (status, code, _) = refusal(
        as_outsider
            .fetch_shared_manifest(&other, leases[2])
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (403, codes::NOT_PARTICIPANT));
    // Neither a certificate nor a signature.
    let (status, code, _) = refusal(
        holder
            .client()
            .fetch_shared_manifest(&sha256, leases[2])
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (401, codes::MISSING_SIGNATURE));
    // Someone else's signature, then the tenant's own.
    let stranger = SigningKey::from_slice(&[7u8; 32]).unwrap();
    let (status, code, _) = refusal(
        holder
            .client()
            .fetch_manifest_as_tenant(&sha256, leases[1], &stranger)
            .await
            .unwrap_err(),
    );
    assert_eq!((status, code.as_str()), (403, codes::NOT_TENANT));
    let document = holder
        .client()
        .fetch_manifest_as_tenant(&sha256, leases[1], &market.tenant_key)
        .await
        .unwrap();
    assert_eq!(document.as_ref(), shared.document_bytes().as_slice());
    // A participant provider's own certificate is accepted.
    let participant_certificate = honest[2]
        .identity
        .issue_client_cert(&honest[2].address)
        .unwrap();
    let as_participant = GatewayClient::new_as(
        &holder.host_uri,
        holder.identity.root_certificate_pem(),
        Some(&participant_certificate),
    )
    .unwrap();
    let document = as_participant
        .fetch_shared_manifest(&sha256, leases[2])
        .await
        .unwrap();
    assert_eq!(document.as_ref(), shared.document_bytes().as_slice());

    for provider in honest.into_iter().chain([liar, outsider]) {
        provider.daemon.shutdown().await;
    }
}

/// Time until N providers all hold (and run) a 1 MiB document, and the bytes the tenant
/// uploads: one upload and peer fetching, against the tenant uploading to every provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures"]
async fn bench_distribution_of_one_mib() {
    // Just under the document limit, counting the JSON around the padding.
    let padding = akash_manifest::MAX_DOCUMENT_BYTES - 1024;
    println!("| providers | mode | tenant uploads | tenant bytes | time until all run | ratio |");
    println!("|---|---|---|---|---|---|");
    for n in [10usize, 50] {
        let mut naive_time = None;
        for peer_fetching in [false, true] {
            let market = Market::new().await;
            let scan = Duration::from_secs(1);
            let distribution = peer_fetching.then(DistributionSettings::default);
            let mut providers = Vec::new();
            for index in 0..n {
                providers.push(
                    market
                        .provider(index, Some(distribution.clone()), scan)
                        .await,
                );
            }
            let shared = manifest(padding);
            let document = shared.document_bytes();
            let all: Vec<&Provider> = providers.iter().collect();
            let leases = market.lease_everywhere(&shared, &all).await;

            let started = Instant::now();
            let uploads = if peer_fetching { 1 } else { n };
            let mut transfers = Vec::new();
            for (provider, lease_id) in providers.iter().zip(&leases).take(uploads) {
                let client = provider.client();
                let key = market.tenant_key.clone();
                let document = document.clone();
                let lease_id = *lease_id;
                transfers.push(tokio::spawn(async move {
                    client.upload_manifest(lease_id, &document, &key).await
                }));
            }
            for transfer in transfers {
                transfer.await.unwrap().unwrap();
            }
            for (provider, lease_id) in providers.iter().zip(&leases) {
                wait_until("the lease runs", || async {
                    provider
                        .daemon
                        .leases()
                        .report(*lease_id)
                        .is_some_and(|report| report.phase.name() == "running")
                })
                .await;
            }
            let elapsed = started.elapsed();
            let baseline = *naive_time.get_or_insert(elapsed);
            println!(
                "| {n} | {} | {uploads} | {} | {:.3} s | {:.2}x |",
                if peer_fetching {
                    "one upload + peer fetch"
                } else {
                    "upload to every provider"
                },
                uploads * document.len(),
                elapsed.as_secs_f64(),
                elapsed.as_secs_f64() / baseline.as_secs_f64(),
            );
            for provider in providers {
                provider.daemon.shutdown().await;
            }
        }
    }
}
