//! The gateway over real TLS on 127.0.0.1 against the embedded chain with real leases: the
//! provider registers its generated root, the tenant (a key-derived address) orders with the
//! document's sha256, the provider bids, the real-time bid window closes, the order is
//! matched. Then uploads, status and logs through `GatewayClient` and raw requests, and every
//! refusal with its status, code and reason, the sink untouched.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use akash_chain_client::akash_types::market::{Lease, OrderSpec, PlacementRequirements};
use akash_chain_client::embedded::AKASH;
use akash_chain_client::{EmbeddedChain, MarketChain, Uint128};
use akash_manifest::{GroupManifest, PlacementGroup, MAX_DOCUMENT_BYTES};
use akash_provider::gateway::api::{self, codes, DeploymentState, LeaseStatus};
use akash_provider::gateway::auth::{self, RequestToSign, EMPTY_BODY_SHA256};
use akash_provider::gateway::tls::server_config;
use akash_provider::gateway::{
    ClientError, GatewayClient, GatewayConfig, GatewayServer, LeaseView, ManifestSink,
    PeerPlacement, ViewError,
};
use akash_provider::identity::{IdentityError, ProviderIdentity, ROOT_CERT_FILE, ROOT_KEY_FILE};
use akash_provider::runtime::{
    ContainerState, DeploymentStatus, HostPort, InstanceStatus, LeaseRef, LogLine, LogStream,
    Protocol,
};
use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, Method};
use http_body_util::channel::Channel;
use http_body_util::Full;
use k256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const WEB_SDL: &str = include_str!("../../examples/web.yaml");
const BATCH_SDL: &str = include_str!("../../examples/batch.yaml");
/// Generous: two shared cores, other builds beside the tests.
const WAIT: Duration = Duration::from_secs(30);

// ---- the daemon's side, recorded ------------------------------------------------------------

#[derive(Default)]
struct RecordingSink {
    accepted: Mutex<Vec<(Lease, GroupManifest)>>,
    placements: Mutex<Vec<(u64, PeerPlacement)>>,
}

impl RecordingSink {
    fn accepted(&self) -> Vec<(Lease, GroupManifest)> {
        self.accepted.lock().unwrap().clone()
    }

    fn placements(&self) -> Vec<(u64, PeerPlacement)> {
        self.placements.lock().unwrap().clone()
    }
}

impl ManifestSink for RecordingSink {
    async fn accept(&self, lease: Lease, manifest: GroupManifest) -> Result<(), String> {
        self.accepted.lock().unwrap().push((lease, manifest));
        Ok(())
    }

    async fn accept_peers(&self, lease: Lease, placement: PeerPlacement) -> Result<(), String> {
        self.placements.lock().unwrap().push((lease.id, placement));
        Ok(())
    }
}

/// One running `web` instance publishing port 80 on host port 30080, and two log lines.
#[derive(Default)]
struct FakeView {
    calls: Mutex<u32>,
}

impl FakeView {
    fn calls(&self) -> u32 {
        *self.calls.lock().unwrap()
    }
}

impl LeaseView for FakeView {
    async fn status(&self, lease: Lease) -> Result<LeaseStatus, ViewError> {
        *self.calls.lock().unwrap() += 1;
        let deployment = DeploymentStatus {
            lease: LeaseRef {
                lease_id: lease.id,
                order_id: lease.order_id,
            },
            instances: vec![InstanceStatus {
                service: "web".to_string(),
                instance: 0,
                container_id: "c0ffee".to_string(),
                state: ContainerState::Running,
                restart_count: 0,
                oom_killed: false,
                host_ports: vec![HostPort {
                    container_port: 80,
                    protocol: Protocol::Tcp,
                    host_ip: "127.0.0.1".to_string(),
                    host_port: 30080,
                }],
                address: None,
            }],
            gateway: None,
        };
        Ok(LeaseStatus::from_deployment(
            &lease,
            &deployment,
            "provider.test",
        ))
    }

    async fn logs(
        &self,
        lease: Lease,
        service: String,
        tail: usize,
    ) -> Result<Vec<LogLine>, ViewError> {
        *self.calls.lock().unwrap() += 1;
        if service != "web" {
            return Err(ViewError::UnknownService {
                lease_id: lease.id,
                service,
            });
        }
        let lines = ["listening on :80", "GET / 200"]
            .into_iter()
            .map(|line| LogLine {
                instance: 0,
                stream: LogStream::Stdout,
                line: line.to_string(),
            })
            .take(tail)
            .collect();
        Ok(lines)
    }
}

// ---- the sandbox: chain, provider, tenant, gateway ------------------------------------------

fn key(seed: &str) -> SigningKey {
    SigningKey::from_slice(&Sha256::digest(seed.as_bytes())).expect("a valid secp256k1 scalar")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn group(sdl: &str) -> PlacementGroup {
    akash_manifest::parse_sdl(sdl)
        .expect("example SDL parses")
        .groups()[0]
        .clone()
}

struct Sandbox {
    chain: EmbeddedChain,
    provider: Arc<dyn MarketChain>,
    tenant: Arc<dyn MarketChain>,
    tenant_key: SigningKey,
    sink: Arc<RecordingSink>,
    view: Arc<FakeView>,
    address: SocketAddr,
    client: GatewayClient,
    shutdown: CancellationToken,
    server: JoinHandle<()>,
}

impl Sandbox {
    /// The embedded chain, `provider1` registered with a new root and the gateway's URI and
    /// staked, a tenant whose address derives from its key (funded by minting), and the
    /// gateway serving on 127.0.0.1 with a certificate issued by that root. The client is
    /// built from what the registry holds, as a tenant's CLI would.
    async fn start() -> Sandbox {
        let chain = EmbeddedChain::start_default().expect("embedded chain starts");
        let provider: Arc<dyn MarketChain> = Arc::new(chain.handle("provider1"));
        let tenant_key = key("gateway test tenant");
        let prefix = chain_prefix();
        let tenant_address = auth::address_of(tenant_key.verifying_key(), &prefix).unwrap();
        chain
            .mint(&tenant_address, Uint128::new(1_000 * AKASH))
            .await
            .expect("mint to the key-derived tenant address");
        let tenant: Arc<dyn MarketChain> = Arc::new(chain.handle_for_address(&tenant_address));

        let identity = ProviderIdentity::generate().unwrap();
        let certificate = identity
            .issue_server_cert(&["provider.test".to_string()])
            .unwrap();
        let sink = Arc::new(RecordingSink::default());
        let view = Arc::new(FakeView::default());
        let config = GatewayConfig {
            listen_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..GatewayConfig::default()
        };
        let server = GatewayServer::bind(
            config,
            Arc::new(server_config(&certificate).unwrap()),
            Arc::clone(&provider),
            Arc::clone(&sink),
            Arc::clone(&view),
        )
        .await
        .expect("gateway binds");
        let address = server.local_address();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(server.serve(shutdown.clone()));

        register(&*provider, &format!("https://{address}"), &identity).await;
        let registered = tenant.provider(provider.address()).await.unwrap();
        assert_eq!(
            registered.root_certificate_pem,
            identity.root_certificate_pem()
        );
        let client =
            GatewayClient::new(&registered.host_uri, &registered.root_certificate_pem).unwrap();
        Sandbox {
            chain,
            provider,
            tenant,
            tenant_key,
            sink,
            view,
            address,
            client,
            shutdown,
            server,
        }
    }

    /// A lease of the tenant for an order carrying `manifest_sha256`, won by `provider`.
    async fn lease(&self, manifest_sha256: &str, provider: &dyn MarketChain) -> Lease {
        let group = group(WEB_SDL);
        let spec = OrderSpec {
            bid_window_secs: 1,
            requirements: PlacementRequirements {
                attributes: vec![],
                min_stake: Uint128::zero(),
                min_reputation: 0,
            },
            manifest_sha256: manifest_sha256.to_string(),
            ..group.order_spec()
        };
        let order_id = self.tenant.create_order(spec).await.unwrap().order_id;
        provider
            .place_bid(order_id, Uint128::new(1), group.unit_resources())
            .await
            .expect("bid");
        let ends_at = self
            .tenant
            .order(order_id)
            .await
            .unwrap()
            .bid_window_ends_at;
        while self.tenant.block_time().await.unwrap() <= ends_at {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let matched = self.tenant.match_order(order_id).await.expect("match");
        let lease_id = matched.lease_id.expect("the bid wins a lease");
        self.tenant.lease(lease_id).await.unwrap()
    }

    /// A lease whose hash is the `web` example's document, won by this provider.
    async fn web_lease(&self) -> (Lease, Vec<u8>) {
        let document = group(WEB_SDL).document_bytes().to_vec();
        let lease = self
            .lease(&akash_manifest::sha256_hex(&document), &*self.provider)
            .await;
        (lease, document)
    }

    /// A raw request signed by `key` at `timestamp` for `body_for_signature`, carrying `body`.
    fn signed(
        &self,
        method: Method,
        path: &str,
        lease_id: u64,
        key: &SigningKey,
        timestamp: u64,
        body_for_signature: &[u8],
    ) -> http::request::Builder {
        let body_sha256_hex = akash_manifest::sha256_hex(body_for_signature);
        let headers = auth::sign_request(
            key,
            &RequestToSign {
                method: method.as_str(),
                path,
                lease_id,
                body_sha256_hex: &body_sha256_hex,
            },
            timestamp,
        );
        with_headers(self.client.request(method, path).unwrap(), headers)
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(WAIT, self.server)
            .await
            .expect("the gateway stops after shutdown")
            .unwrap();
    }
}

fn chain_prefix() -> String {
    let (hrp, _) = bech32::decode(&EmbeddedChain::address_of("tenant")).unwrap();
    hrp.to_string()
}

async fn register(provider: &dyn MarketChain, host_uri: &str, identity: &ProviderIdentity) {
    provider
        .register_provider(host_uri, vec![], identity.root_certificate_pem())
        .await
        .expect("the registry accepts the generated root certificate");
    provider
        .stake(Uint128::new(100 * AKASH))
        .await
        .expect("stake");
}

fn with_headers(mut builder: http::request::Builder, headers: HeaderMap) -> http::request::Builder {
    if let Some(target) = builder.headers_mut() {
        target.extend(headers);
    }
    builder
}

fn full(bytes: &[u8]) -> Full<Bytes> {
    Full::new(Bytes::copy_from_slice(bytes))
}

/// The refusal's status, code and reason; panics on anything else.
fn refusal(result: Result<impl std::fmt::Debug, ClientError>) -> (u16, String, String) {
    match result {
        Err(ClientError::Refused {
            status,
            error,
            reason,
        }) => (status, error, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Status, code and reason of a raw refusal.
fn raw_refusal(response: &akash_provider::gateway::client::RawResponse) -> (u16, String, String) {
    let body = response
        .error_body()
        .unwrap_or_else(|| panic!("not an error body: {:?}", response.body));
    (response.status.as_u16(), body.error, body.reason)
}

// ---- uploads --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_signed_by_the_tenant_is_accepted_and_reaches_the_sink() {
    let sandbox = Sandbox::start().await;
    let (lease, document) = sandbox.web_lease().await;

    let receipt = sandbox
        .client
        .upload_manifest(lease.id, &document, &sandbox.tenant_key)
        .await
        .expect("upload accepted");
    assert_eq!(receipt.lease_id, lease.id);
    assert_eq!(receipt.manifest_sha256, lease.manifest_sha256);

    let accepted = sandbox.sink.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].0, lease);
    assert_eq!(&accepted[0].1, group(WEB_SDL).manifest());
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_whose_hash_differs_from_the_chain_is_refused_409() {
    let sandbox = Sandbox::start().await;
    let (lease, _) = sandbox.web_lease().await;
    let other_document = group(BATCH_SDL).document_bytes().to_vec();
    let other_sha256 = akash_manifest::sha256_hex(&other_document);

    let (status, code, reason) = refusal(
        sandbox
            .client
            .upload_manifest(lease.id, &other_document, &sandbox.tenant_key)
            .await,
    );
    assert_eq!(status, 409);
    assert_eq!(code, codes::MANIFEST_HASH_MISMATCH);
    assert!(reason.contains(&other_sha256), "{reason}");
    assert!(reason.contains(&lease.manifest_sha256), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_signed_by_someone_other_than_the_tenant_is_refused_403() {
    let sandbox = Sandbox::start().await;
    let (lease, document) = sandbox.web_lease().await;
    let stranger = key("someone else");
    let stranger_address = auth::address_of(stranger.verifying_key(), &chain_prefix()).unwrap();

    let (status, code, reason) = refusal(
        sandbox
            .client
            .upload_manifest(lease.id, &document, &stranger)
            .await,
    );
    assert_eq!(status, 403);
    assert_eq!(code, codes::NOT_TENANT);
    assert!(reason.contains(&stranger_address), "{reason}");
    assert!(reason.contains(lease.tenant.as_str()), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_with_a_signature_over_other_bytes_is_refused_401() {
    let sandbox = Sandbox::start().await;
    let (lease, document) = sandbox.web_lease().await;
    let path = api::manifest_path(lease.id);

    let request = sandbox
        .signed(
            Method::PUT,
            &path,
            lease.id,
            &sandbox.tenant_key,
            unix_now(),
            b"not the body",
        )
        .body(full(&document))
        .unwrap();
    let response = sandbox.client.send(request).await.unwrap();
    let (status, code, reason) = raw_refusal(&response);
    assert_eq!(status, 401);
    assert_eq!(code, codes::BAD_SIGNATURE);
    assert!(reason.contains(&path), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_for_a_lease_id_no_lease_carries_is_refused_404() {
    let sandbox = Sandbox::start().await;
    let document = group(WEB_SDL).document_bytes().to_vec();

    let (status, code, reason) = refusal(
        sandbox
            .client
            .upload_manifest(4242, &document, &sandbox.tenant_key)
            .await,
    );
    assert_eq!(status, 404);
    assert_eq!(code, codes::UNKNOWN_LEASE);
    assert!(reason.contains("lease 4242"), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_for_another_providers_lease_is_refused_403() {
    let sandbox = Sandbox::start().await;
    let other_provider: Arc<dyn MarketChain> = Arc::new(sandbox.chain.handle("provider2"));
    register(
        &*other_provider,
        "https://other.provider.test:8443",
        &ProviderIdentity::generate().unwrap(),
    )
    .await;
    let document = group(WEB_SDL).document_bytes().to_vec();
    let lease = sandbox
        .lease(&akash_manifest::sha256_hex(&document), &*other_provider)
        .await;
    assert_eq!(lease.provider.as_str(), other_provider.address());

    let (status, code, reason) = refusal(
        sandbox
            .client
            .upload_manifest(lease.id, &document, &sandbox.tenant_key)
            .await,
    );
    assert_eq!(status, 403);
    assert_eq!(code, codes::NOT_OUR_LEASE);
    assert!(reason.contains(other_provider.address()), "{reason}");
    assert!(reason.contains(sandbox.provider.address()), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_for_a_closed_lease_is_refused_409() {
    let sandbox = Sandbox::start().await;
    let (lease, document) = sandbox.web_lease().await;
    sandbox
        .tenant
        .close_lease(lease.id, Some("done".to_string()))
        .await
        .unwrap();

    let (status, code, reason) = refusal(
        sandbox
            .client
            .upload_manifest(lease.id, &document, &sandbox.tenant_key)
            .await,
    );
    assert_eq!(status, 409);
    assert_eq!(code, codes::LEASE_NOT_ACTIVE);
    assert!(reason.contains(&format!("lease {}", lease.id)), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_with_the_right_hash_that_is_no_manifest_is_refused_422() {
    let sandbox = Sandbox::start().await;
    let document = br#"{"peers":{},"services":{},"version":1}"#;
    let lease = sandbox
        .lease(&akash_manifest::sha256_hex(document), &*sandbox.provider)
        .await;

    let (status, code, reason) = refusal(
        sandbox
            .client
            .upload_manifest(lease.id, document, &sandbox.tenant_key)
            .await,
    );
    assert_eq!(status, 422);
    assert_eq!(code, codes::INVALID_MANIFEST);
    assert!(reason.contains("services"), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_upload_is_refused_413_by_content_length_before_any_body_byte() {
    let sandbox = Sandbox::start().await;
    let (lease, _) = sandbox.web_lease().await;
    let path = api::manifest_path(lease.id);
    let declared = MAX_DOCUMENT_BYTES + 1;

    // The body never sends a byte: the answer can only come from the header.
    let (_sender, body) = Channel::<Bytes, Infallible>::new(1);
    let request = sandbox
        .signed(
            Method::PUT,
            &path,
            lease.id,
            &sandbox.tenant_key,
            unix_now(),
            b"",
        )
        .header(CONTENT_LENGTH, declared)
        .body(body)
        .unwrap();
    let response = sandbox.client.send(request).await.unwrap();
    let (status, code, reason) = raw_refusal(&response);
    assert_eq!(status, 413);
    assert_eq!(code, codes::TOO_LARGE);
    assert!(reason.contains(&declared.to_string()), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());

    // The client refuses to send such a document at all.
    let too_big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(
        sandbox
            .client
            .upload_manifest(lease.id, &too_big, &sandbox.tenant_key)
            .await,
        Err(ClientError::TooLarge { .. })
    ));
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_chunked_upload_is_refused_413_once_past_the_limit() {
    let sandbox = Sandbox::start().await;
    let (lease, _) = sandbox.web_lease().await;
    let path = api::manifest_path(lease.id);

    // No Content-Length: chunks up to one byte past the limit, then the body stays open, so
    // the answer can only come from the server stopping at the limit.
    let (mut sender, body) = Channel::<Bytes, Infallible>::new(4);
    let feeder = tokio::spawn(async move {
        let chunk = Bytes::from(vec![b' '; 64 * 1024]);
        let mut sent = 0;
        while sent <= MAX_DOCUMENT_BYTES {
            if sender.send_data(chunk.clone()).await.is_err() {
                return sent;
            }
            sent += chunk.len();
        }
        // Hold the body open until the test ends.
        tokio::time::sleep(WAIT).await;
        sent
    });
    let request = sandbox
        .signed(
            Method::PUT,
            &path,
            lease.id,
            &sandbox.tenant_key,
            unix_now(),
            b"",
        )
        .body(body)
        .unwrap();
    let response = sandbox.client.send(request).await.unwrap();
    let (status, code, reason) = raw_refusal(&response);
    assert_eq!(status, 413);
    assert_eq!(code, codes::TOO_LARGE);
    assert!(reason.contains(&MAX_DOCUMENT_BYTES.to_string()), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    feeder.abort();
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_with_an_expired_timestamp_is_refused_401() {
    let sandbox = Sandbox::start().await;
    let (lease, document) = sandbox.web_lease().await;
    let path = api::manifest_path(lease.id);
    let ten_minutes_ago = unix_now() - 600;

    let request = sandbox
        .signed(
            Method::PUT,
            &path,
            lease.id,
            &sandbox.tenant_key,
            ten_minutes_ago,
            &document,
        )
        .body(full(&document))
        .unwrap();
    let response = sandbox.client.send(request).await.unwrap();
    let (status, code, reason) = raw_refusal(&response);
    assert_eq!(status, 401);
    assert_eq!(code, codes::STALE_TIMESTAMP);
    assert!(reason.contains(&ten_minutes_ago.to_string()), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_upload_is_refused_401() {
    let sandbox = Sandbox::start().await;
    let (lease, document) = sandbox.web_lease().await;

    let request = sandbox
        .client
        .request(Method::PUT, &api::manifest_path(lease.id))
        .unwrap()
        .body(full(&document))
        .unwrap();
    let response = sandbox.client.send(request).await.unwrap();
    let (status, code, reason) = raw_refusal(&response);
    assert_eq!(status, 401);
    assert_eq!(code, codes::MISSING_SIGNATURE);
    assert!(reason.contains(auth::HEADER_PUBKEY), "{reason}");
    assert!(sandbox.sink.accepted().is_empty());
    sandbox.stop().await;
}

// ---- status and logs ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_logs_are_served_to_the_tenant() {
    let sandbox = Sandbox::start().await;
    let (lease, _) = sandbox.web_lease().await;

    let status = sandbox
        .client
        .status(lease.id, &sandbox.tenant_key)
        .await
        .unwrap();
    assert_eq!(status.lease_id, lease.id);
    assert_eq!(status.order_id, lease.order_id);
    assert_eq!(status.manifest_sha256, lease.manifest_sha256);
    assert_eq!(status.state, DeploymentState::Running);
    assert_eq!(status.services.len(), 1);
    let web = &status.services[0];
    assert_eq!(web.name, "web");
    assert_eq!(web.instances.len(), 1);
    assert_eq!(web.endpoints.len(), 1);
    assert_eq!(web.endpoints[0].host_port, 30080);
    assert_eq!(web.endpoints[0].url, "http://provider.test:30080");

    let logs = sandbox
        .client
        .logs(lease.id, "web", 1, &sandbox.tenant_key)
        .await
        .unwrap();
    assert_eq!(logs.lease_id, lease.id);
    assert_eq!(logs.service, "web");
    assert_eq!(logs.lines.len(), 1, "tail=1");
    assert_eq!(logs.lines[0].line, "listening on :80");

    let (status, code, reason) = refusal(
        sandbox
            .client
            .logs(lease.id, "db", 10, &sandbox.tenant_key)
            .await,
    );
    assert_eq!((status, code.as_str()), (404, codes::UNKNOWN_SERVICE));
    assert!(reason.contains("\"db\""), "{reason}");
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_logs_are_refused_to_others() {
    let sandbox = Sandbox::start().await;
    let (lease, _) = sandbox.web_lease().await;
    let stranger = key("someone else");

    let (status, code, _) = refusal(sandbox.client.status(lease.id, &stranger).await);
    assert_eq!((status, code.as_str()), (403, codes::NOT_TENANT));
    let (status, code, _) = refusal(sandbox.client.logs(lease.id, "web", 10, &stranger).await);
    assert_eq!((status, code.as_str()), (403, codes::NOT_TENANT));

    // Unsigned.
    let request = sandbox
        .client
        .request(Method::GET, &api::status_path(lease.id))
        .unwrap()
        .body(full(b""))
        .unwrap();
    let (status, code, _) = raw_refusal(&sandbox.client.send(request).await.unwrap());
    assert_eq!((status, code.as_str()), (401, codes::MISSING_SIGNATURE));

    // Signed by the tenant for another query: the signature covers the query.
    let signed_path = api::logs_path(lease.id, "web", 1);
    let sent_path = api::logs_path(lease.id, "web", 100);
    let headers = auth::sign_request(
        &sandbox.tenant_key,
        &RequestToSign {
            method: "GET",
            path: &signed_path,
            lease_id: lease.id,
            body_sha256_hex: EMPTY_BODY_SHA256,
        },
        unix_now(),
    );
    let request = with_headers(
        sandbox.client.request(Method::GET, &sent_path).unwrap(),
        headers,
    )
    .body(full(b""))
    .unwrap();
    let (status, code, _) = raw_refusal(&sandbox.client.send(request).await.unwrap());
    assert_eq!((status, code.as_str()), (401, codes::BAD_SIGNATURE));

    assert_eq!(
        sandbox.view.calls(),
        0,
        "the view is never asked for others"
    );
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_are_refused_with_a_reason() {
    let sandbox = Sandbox::start().await;
    for (method, path, expected_status, expected_code) in [
        (Method::GET, "/", 404, codes::NOT_FOUND),
        (Method::GET, "/v1/leases/1/other", 404, codes::NOT_FOUND),
        (Method::GET, "/v1/leases/x/status", 400, codes::BAD_REQUEST),
        (
            Method::POST,
            "/v1/leases/1/manifest",
            405,
            codes::METHOD_NOT_ALLOWED,
        ),
        (Method::GET, "/v1/leases/1/logs", 400, codes::BAD_REQUEST),
    ] {
        let request = sandbox
            .client
            .request(method.clone(), path)
            .unwrap()
            .body(full(b""))
            .unwrap();
        let response = sandbox.client.send(request).await.unwrap();
        let (status, code, reason) = raw_refusal(&response);
        assert_eq!(
            (status, code.as_str()),
            (expected_status, expected_code),
            "{method} {path}"
        );
        assert!(!reason.is_empty());
    }
    sandbox.stop().await;
}

// ---- TLS and identity -----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_refuses_a_server_not_chained_to_the_registered_root() {
    let sandbox = Sandbox::start().await;
    let impostor_root = ProviderIdentity::generate().unwrap();
    let client = GatewayClient::new(
        &format!("https://{}", sandbox.address),
        impostor_root.root_certificate_pem(),
    )
    .unwrap();

    let error = client.status(1, &sandbox.tenant_key).await.unwrap_err();
    match error {
        ClientError::UntrustedServer { reason, .. } => {
            assert!(
                reason.contains("not issued by the provider's root"),
                "{reason}"
            )
        }
        other => panic!("expected an untrusted server, got {other:?}"),
    }
    sandbox.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_stops_on_shutdown_and_refuses_new_connections() {
    let sandbox = Sandbox::start().await;
    let client = sandbox.client.clone();
    let address = sandbox.address;
    sandbox.stop().await;
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "nothing listens after shutdown"
    );
    assert!(matches!(
        client.status(1, &key("anyone")).await,
        Err(ClientError::Connect { .. })
    ));
}

#[test]
fn identity_is_generated_once_then_loaded_with_a_private_key_file() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("provider");
    let first = ProviderIdentity::load_or_generate(&data_dir).unwrap();
    let key_mode = std::fs::metadata(data_dir.join(ROOT_KEY_FILE))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let second = ProviderIdentity::load_or_generate(&data_dir).unwrap();
    assert_eq!(first.root_certificate_pem(), second.root_certificate_pem());
    assert!(first
        .root_certificate_pem()
        .starts_with("-----BEGIN CERTIFICATE-----"));

    // A leaf issued by the reloaded root is trusted by a client of the first one's PEM.
    let leaf = second
        .issue_server_cert(&["gw.example".to_string()])
        .unwrap();
    assert!(akash_provider::gateway::tls::server_config(&leaf).is_ok());

    // A key others can read is refused, naming the file and its mode.
    let key_path = data_dir.join(ROOT_KEY_FILE);
    std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    match ProviderIdentity::load_or_generate(&data_dir) {
        Err(IdentityError::KeyFileMode { mode, .. }) => assert_eq!(mode, 0o644),
        other => panic!("expected a key mode error, got {other:?}"),
    }

    // A certificate without its key is never silently replaced.
    std::fs::remove_file(&key_path).unwrap();
    assert!(matches!(
        ProviderIdentity::load_or_generate(&data_dir),
        Err(IdentityError::KeyMissing { .. })
    ));
    assert!(data_dir.join(ROOT_CERT_FILE).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaf_of_a_reloaded_root_is_trusted_by_the_registered_pem() {
    let dir = tempfile::tempdir().unwrap();
    let registered_pem = ProviderIdentity::load_or_generate(dir.path())
        .unwrap()
        .root_certificate_pem()
        .to_string();
    // The daemon restarts: the root is loaded from disk and issues a new gateway cert.
    let reloaded = ProviderIdentity::load_or_generate(dir.path()).unwrap();
    let certificate = reloaded.issue_server_cert(&[]).unwrap();
    let chain = EmbeddedChain::start_default().unwrap();
    let provider: Arc<dyn MarketChain> = Arc::new(chain.handle("provider1"));
    let server = GatewayServer::bind(
        GatewayConfig {
            listen_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..GatewayConfig::default()
        },
        Arc::new(server_config(&certificate).unwrap()),
        provider,
        Arc::new(RecordingSink::default()),
        Arc::new(FakeView::default()),
    )
    .await
    .unwrap();
    let address = server.local_address();
    let shutdown = CancellationToken::new();
    let served = tokio::spawn(server.serve(shutdown.clone()));

    let client = GatewayClient::new(
        &format!("https://localhost:{}", address.port()),
        &registered_pem,
    )
    .unwrap();
    // TLS succeeds; the gateway answers (no such lease).
    let (status, code, _) = refusal(client.status(99, &key("tenant")).await);
    assert_eq!((status, code.as_str()), (404, codes::UNKNOWN_LEASE));
    shutdown.cancel();
    tokio::time::timeout(WAIT, served).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_placements_name_active_leases_of_the_same_tenant_only() {
    let sandbox = Sandbox::start().await;
    let (lease, _) = sandbox.web_lease().await;
    let (peer, _) = sandbox.web_lease().await;
    let placement = |peer_lease: u64| PeerPlacement {
        deployment: lease.order_id,
        peers: BTreeMap::from([("db".to_string(), peer_lease)]),
    };

    let receipt = sandbox
        .client
        .put_peers(lease.id, &placement(peer.id), &sandbox.tenant_key)
        .await
        .unwrap();
    assert_eq!((receipt.lease_id, receipt.peers), (lease.id, 1));
    assert_eq!(
        sandbox.sink.placements(),
        vec![(lease.id, placement(peer.id))]
    );

    // Signed by someone else; a peer lease that does not exist; one that is closed.
    let (status, code, _) = refusal(
        sandbox
            .client
            .put_peers(lease.id, &placement(peer.id), &key("stranger"))
            .await,
    );
    assert_eq!((status, code.as_str()), (403, codes::NOT_TENANT));
    let (status, code, reason) = refusal(
        sandbox
            .client
            .put_peers(lease.id, &placement(999), &sandbox.tenant_key)
            .await,
    );
    assert_eq!(
        (status, code.as_str()),
        (404, codes::UNKNOWN_LEASE),
        "{reason}"
    );
    sandbox.tenant.close_lease(peer.id, None).await.unwrap();
    let (status, code, reason) = refusal(
        sandbox
            .client
            .put_peers(lease.id, &placement(peer.id), &sandbox.tenant_key)
            .await,
    );
    assert_eq!((status, code.as_str()), (409, codes::INVALID_PEER));
    assert!(reason.contains(&format!("lease {}", peer.id)), "{reason}");
    // Nothing but the first placement reached the daemon.
    assert_eq!(sandbox.sink.placements().len(), 1);
    sandbox.stop().await;
}
