//! The whole `deploy` path without Docker: the embedded chain (real contracts), a provider
//! registered with a generated root certificate whose real TLS gateway records the manifests
//! it accepts and reports a running deployment; the tenant's key-derived address signs the
//! uploads and status requests.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use akash_chain_client::akash_types::market::{Lease, LeaseState, OrderState};
use akash_chain_client::embedded::AKASH;
use akash_chain_client::{EmbeddedChain, EmbeddedHandle, MarketChain, Uint128};
use akash_cli::commands;
use akash_cli::deploy::{self, DeployEvent, DeployOptions, DeployReport, RecordProgress};
use akash_cli::keys::TenantKey;
use akash_cli::sdl::SdlFile;
use akash_manifest::GroupManifest;
use akash_provider::gateway::api::LeaseStatus;
use akash_provider::gateway::tls::server_config;
use akash_provider::gateway::{GatewayConfig, GatewayServer, LeaseView, ManifestSink, ViewError};
use akash_provider::identity::ProviderIdentity;
use akash_provider::runtime::{
    ContainerState, DeploymentStatus, HostPort, InstanceStatus, LeaseRef, LogLine, LogStream,
    Protocol,
};
use tokio_util::sync::CancellationToken;

/// The provider's side: manifests accepted, and a deployment that runs once one arrived.
/// With `fails_with`, the provider instead closes the lease with that reason, as a daemon
/// does when the deployment fails.
#[derive(Default)]
struct Provider {
    accepted: Mutex<Vec<(Lease, GroupManifest)>>,
    fails_with: Option<(Arc<dyn MarketChain>, String)>,
}

impl Provider {
    fn accepted(&self) -> Vec<(Lease, GroupManifest)> {
        self.accepted.lock().unwrap().clone()
    }
}

impl ManifestSink for Provider {
    async fn accept(&self, lease: Lease, manifest: GroupManifest) -> Result<(), String> {
        if let Some((chain, reason)) = &self.fails_with {
            chain
                .close_lease(lease.id, Some(reason.clone()))
                .await
                .map_err(|e| e.to_string())?;
            return Ok(());
        }
        self.accepted.lock().unwrap().push((lease, manifest));
        Ok(())
    }
}

impl LeaseView for Provider {
    async fn status(&self, lease: Lease) -> Result<LeaseStatus, ViewError> {
        let deployed = self
            .accepted
            .lock()
            .unwrap()
            .iter()
            .any(|(l, _)| l.id == lease.id);
        if !deployed {
            return Err(ViewError::NotDeployed { lease_id: lease.id });
        }
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
            "127.0.0.1",
        ))
    }

    async fn logs(
        &self,
        lease: Lease,
        service: String,
        tail: usize,
    ) -> Result<Vec<LogLine>, ViewError> {
        if service != "web" {
            return Err(ViewError::UnknownService {
                lease_id: lease.id,
                service,
            });
        }
        Ok(["httpd started", "GET / 200"]
            .into_iter()
            .map(|line| LogLine {
                instance: 0,
                stream: LogStream::Stdout,
                line: line.to_string(),
            })
            .take(tail)
            .collect())
    }
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

fn prefix() -> String {
    let address = EmbeddedChain::address_of("tenant");
    address[..address.find('1').unwrap()].to_string()
}

struct Setup {
    chain: EmbeddedChain,
    provider_chain: Arc<dyn MarketChain>,
    provider: Arc<Provider>,
    gateway: String,
    shutdown: CancellationToken,
    served: tokio::task::JoinHandle<()>,
    tenant: EmbeddedHandle,
    key: TenantKey,
}

/// The chain, `provider1` registered with its gateway's URI and root certificate, and a
/// funded tenant whose address derives from its key.
async fn setup(fails_with: Option<&str>) -> Setup {
    let chain = EmbeddedChain::start_default().unwrap();
    let provider_chain: Arc<dyn MarketChain> = Arc::new(chain.handle("provider1"));
    let provider = Arc::new(Provider {
        accepted: Mutex::default(),
        fails_with: fails_with.map(|reason| (Arc::clone(&provider_chain), reason.to_string())),
    });

    let identity = ProviderIdentity::generate().unwrap();
    let certificate = identity.issue_server_cert(&[]).unwrap();
    let server = GatewayServer::bind(
        GatewayConfig {
            listen_address: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..GatewayConfig::default()
        },
        Arc::new(server_config(&certificate).unwrap()),
        Arc::clone(&provider_chain),
        Arc::clone(&provider),
        Arc::clone(&provider),
    )
    .await
    .unwrap();
    let gateway = format!("https://{}", server.local_address());
    let shutdown = CancellationToken::new();
    let served = tokio::spawn(server.serve(shutdown.clone()));
    provider_chain
        .register_provider(&gateway, vec![], identity.root_certificate_pem())
        .await
        .unwrap();
    provider_chain.stake(Uint128::new(AKASH)).await.unwrap();

    let key = TenantKey::generate().unwrap();
    let address = key.address(&prefix()).unwrap();
    chain
        .mint(&address, Uint128::new(1_000 * AKASH))
        .await
        .unwrap();
    let tenant = chain.handle_for_address(&address);
    Setup {
        chain,
        provider_chain,
        provider,
        gateway,
        shutdown,
        served,
        tenant,
        key,
    }
}

/// Runs `deploy` of `sdl` while the provider bids on its order and the window is made to end.
async fn deploy_with_one_bid(
    setup: &Setup,
    sdl: &SdlFile,
    progress: &Arc<RecordProgress>,
) -> anyhow::Result<DeployReport> {
    let options = DeployOptions {
        poll_interval: Duration::from_millis(50),
        match_grace: Duration::from_secs(20),
        ready_timeout: Duration::from_secs(20),
    };
    let deployment = {
        let (tenant, key, sdl, progress) = (
            setup.tenant.clone(),
            setup.key.clone(),
            sdl.clone(),
            Arc::clone(progress),
        );
        tokio::spawn(async move {
            deploy::deploy(&tenant, &key, &sdl, progress.as_ref(), &options).await
        })
    };
    let order = loop {
        let open = setup
            .provider_chain
            .orders(Some(OrderState::Open), None, None)
            .await
            .unwrap();
        if let Some(order) = open.into_iter().next() {
            break order;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    setup
        .provider_chain
        .place_bid(order.id, Uint128::new(3), order.spec.resources)
        .await
        .unwrap();
    setup
        .chain
        .advance_time(Duration::from_secs(order.spec.bid_window_secs + 1))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), deployment)
        .await
        .expect("deploy finishes")
        .unwrap()
}

#[tokio::test]
async fn deploy_uploads_each_manifest_to_the_matched_provider_and_reports_its_endpoints() {
    let setup = setup(None).await;
    let Setup {
        provider_chain,
        provider,
        gateway,
        tenant,
        key,
        ..
    } = &setup;
    let sdl = SdlFile::load(&example("web.yaml")).unwrap();
    let group = sdl.groups().remove(0);
    let progress = Arc::new(RecordProgress::default());
    let report = deploy_with_one_bid(&setup, &sdl, &progress).await.unwrap();
    assert!(report.all_running());
    let lease = report.leases()[0].clone();
    assert_eq!(lease.provider.as_str(), provider_chain.address());
    let accepted = provider.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].0.id, lease.id);
    assert_eq!(accepted[0].1.document_bytes(), group.document_bytes());
    let endpoints = report.endpoints();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].service, "web");
    assert_eq!(endpoints[0].url, "http://127.0.0.1:30080");

    let events = progress.events();
    let sent = events
        .iter()
        .find_map(|e| match e {
            DeployEvent::ManifestSent {
                gateway: g,
                sha256,
                lease_id,
                ..
            } => Some((g.clone(), sha256.clone(), *lease_id)),
            _ => None,
        })
        .expect("manifest sent");
    assert_eq!(sent, (gateway.clone(), group.sha256_hex(), lease.id));
    assert!(matches!(events.last(), Some(DeployEvent::Running { .. })));
    for event in &events {
        println!("{}", event.describe());
    }
    let summary = commands::deploy_summary(&report);
    assert!(summary.contains("web: http://127.0.0.1:30080"), "{summary}");

    // status and logs through the same gateway, signed with the same key.
    let session = akash_cli::connect::Session {
        chain: Arc::new(tenant.clone()),
        key: key.clone(),
    };
    let status = commands::provider_status(&session, lease.id).await.unwrap();
    assert!(status.contains("running"), "{status}");
    assert!(status.contains("80 -> http://127.0.0.1:30080"), "{status}");
    let logs = commands::fetch_logs(&session, lease.id, None, 10)
        .await
        .unwrap();
    let lines: Vec<&str> = logs.iter().map(|(_, l)| l.line.as_str()).collect();
    assert_eq!(lines, ["httpd started", "GET / 200"]);
    let logs = commands::fetch_logs(&session, lease.id, Some("web"), 1)
        .await
        .unwrap();
    assert_eq!(logs.len(), 1);
    let unknown = commands::fetch_logs(&session, lease.id, Some("db"), 1)
        .await
        .unwrap_err();
    assert!(format!("{unknown:#}").contains("db"), "{unknown:#}");

    // Another key cannot read the lease.
    let stranger = akash_cli::connect::Session {
        chain: Arc::new(tenant.clone()),
        key: TenantKey::generate().unwrap(),
    };
    let refused = commands::provider_status(&stranger, lease.id)
        .await
        .unwrap_err();
    assert!(format!("{refused:#}").contains("not_tenant"), "{refused:#}");

    commands::close(tenant, lease.id, None).await.unwrap();
    assert_eq!(
        tenant.lease(lease.id).await.unwrap().state,
        LeaseState::ClosedByTenant
    );
    setup.shutdown.cancel();
    setup.served.await.unwrap();
}

#[tokio::test]
async fn deploy_fails_at_once_when_the_provider_closes_the_lease() {
    let setup = setup(Some("deployment failed: image not found")).await;
    let sdl = SdlFile::load(&example("web.yaml")).unwrap();
    let progress = Arc::new(RecordProgress::default());
    let error = deploy_with_one_bid(&setup, &sdl, &progress)
        .await
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("lease 1 is closed by provider (deployment failed: image not found)"),
        "{text}"
    );
    assert!(setup.provider.accepted().is_empty());
    setup.shutdown.cancel();
    setup.served.await.unwrap();
}
