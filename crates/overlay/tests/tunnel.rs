//! Tunnels over real TLS on 127.0.0.1 with real certificates: the echo path through a
//! forwarder and the tunnel server, each refusal at the handshake, and revocation.
//!
//! The deployment: tenant1's deployment 1 has web on lease 10 (provider x) and db on lease
//! 20 (provider y, port 5432); web may reach db. Around it: lease 11 (closed), lease 21
//! (held by y, allowed), lease 30 (tenant2) and lease 40 (tenant1, deployment 2).

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use akash_overlay::test_ca::TestCa;
use akash_overlay::{
    leaf_params, Endpoint, ForwarderConfig, LeaseRecord, Refusal, TrustSnapshot, TrustView,
    TunnelCertIssuer, TunnelClient, TunnelError, TunnelIdentity, TunnelServer, TunnelServerConfig,
    TunnelTarget,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{ring, verify_tls13_signature, CryptoProvider};
use tokio_rustls::rustls::{
    AlertDescription, ClientConfig, DigitallySignedStruct, Error as TlsError, SignatureScheme,
};
use tokio_rustls::TlsConnector;

const TENANT: &str = "tenant1";
const PROVIDER_X: &str = "providerx";
const PROVIDER_Y: &str = "providery";
const DB_PORT: u16 = 5432;
/// Upper bound for anything that should happen at once (a loaded CI machine included).
const SOON: Duration = Duration::from_secs(10);

fn identity(tenant: &str, deployment: u64, lease: u64, service: &str) -> TunnelIdentity {
    TunnelIdentity::new(tenant, deployment, lease, service).unwrap()
}

fn web() -> TunnelIdentity {
    identity(TENANT, 1, 10, "web")
}

fn db_target() -> TunnelTarget {
    TunnelTarget::new(20, "db", DB_PORT).unwrap()
}

fn lease(tenant: &str, deployment_id: u64, provider: &str, active: bool) -> LeaseRecord {
    LeaseRecord {
        tenant: tenant.to_string(),
        deployment_id,
        provider: provider.to_string(),
        active,
    }
}

/// The chain as both providers read it.
fn chain(x: &TestCa, y: &TestCa) -> TrustSnapshot {
    let mut snapshot = TrustSnapshot::new();
    snapshot
        .set_provider_root(PROVIDER_X, x.root_der())
        .unwrap();
    snapshot
        .set_provider_root_pem(PROVIDER_Y, y.root_pem())
        .unwrap();
    snapshot.set_lease(10, lease(TENANT, 1, PROVIDER_X, true));
    snapshot.set_lease(11, lease(TENANT, 1, PROVIDER_X, false));
    snapshot.set_lease(20, lease(TENANT, 1, PROVIDER_Y, true));
    snapshot.set_lease(21, lease(TENANT, 1, PROVIDER_Y, true));
    snapshot.set_lease(30, lease("tenant2", 2, PROVIDER_X, true));
    snapshot.set_lease(40, lease(TENANT, 2, PROVIDER_X, true));
    for (lease_id, service) in [(10, "web"), (11, "web"), (21, "web")] {
        snapshot.allow(db_target(), Endpoint::new(lease_id, service).unwrap());
    }
    snapshot
}

/// Two providers: x runs web (client side), y runs db (server side, an echo backend).
struct Net {
    x: Arc<TestCa>,
    y: Arc<TestCa>,
    view_x: Arc<TrustView>,
    view_y: Arc<TrustView>,
    client_x: TunnelClient,
    server_y: TunnelServer,
    /// y's tunnel listener, served by `server_y.serve`.
    server_addr: SocketAddr,
}

impl Net {
    async fn start() -> Net {
        let x = Arc::new(TestCa::new("provider x root").unwrap());
        let y = Arc::new(TestCa::new("provider y root").unwrap());
        let view_x = TrustView::new(chain(&x, &y));
        let view_y = TrustView::new(chain(&x, &y));
        let echo_addr = start_echo().await;
        let resolver = move |target: &TunnelTarget| (*target == db_target()).then_some(echo_addr);
        let server_y = TunnelServer::new(
            TunnelServerConfig::new(PROVIDER_Y),
            view_y.clone(),
            y.clone(),
            Arc::new(resolver),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server_addr = listener.local_addr().unwrap();
        let serving = server_y.clone();
        tokio::spawn(async move { serving.serve(listener).await });
        Net {
            client_x: TunnelClient::new(view_x.clone(), x.clone()),
            x,
            y,
            view_x,
            view_y,
            server_y,
            server_addr,
        }
    }

    /// A second listener of y's server that serves exactly one connection and returns how
    /// it ended, so a test can see the server's reason for a refusal.
    async fn serve_one(&self) -> (SocketAddr, JoinHandle<Result<(), TunnelError>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = self.server_y.clone();
        let handle = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            server.serve_connection(stream).await
        });
        (addr, handle)
    }

    /// A forwarder on x for web -> db, open to 127.0.0.1 only.
    async fn forwarder(&self, max_connections: usize) -> akash_overlay::Forwarder {
        self.client_x
            .forward(ForwarderConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                clients: BTreeMap::from([(IpAddr::V4(Ipv4Addr::LOCALHOST), web())]),
                target: db_target(),
                remote: self.server_addr,
                max_connections,
            })
            .await
            .unwrap()
    }

    /// Checks that y's server refuses a client presenting `issuer`'s leaf for `identity`
    /// with `expected`, and that the client receives `alert`.
    async fn assert_refused(
        &self,
        issuer: &TestCa,
        identity: &TunnelIdentity,
        expected: Refusal,
        alert: AlertDescription,
    ) {
        let (refusal, received) = self.refusal_of(issuer, identity).await;
        assert_eq!(refusal, expected);
        assert_eq!(received, alert, "alert for: {refusal}");
    }

    /// The refusal y's server reports for a client presenting `issuer`'s leaf for
    /// `identity`, and the alert the client receives.
    async fn refusal_of(
        &self,
        issuer: &TestCa,
        identity: &TunnelIdentity,
    ) -> (Refusal, AlertDescription) {
        let (addr, served) = self.serve_one().await;
        let alert = raw_client_alert(issuer, identity, &db_target(), addr).await;
        (server_refusal(served).await, alert)
    }
}

async fn start_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut reader, mut writer) = stream.split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    addr
}

async fn server_refusal(served: JoinHandle<Result<(), TunnelError>>) -> Refusal {
    match timeout(SOON, served).await.unwrap().unwrap() {
        Err(TunnelError::Refused(refusal)) => refusal,
        other => panic!("the server did not refuse: {other:?}"),
    }
}

/// Sends `message` and expects it back.
async fn assert_echoes<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, message: &[u8]) {
    stream.write_all(message).await.unwrap();
    let mut echoed = vec![0; message.len()];
    timeout(SOON, stream.read_exact(&mut echoed))
        .await
        .expect("echo timed out")
        .unwrap();
    assert_eq!(echoed, message);
}

/// Waits for the stream to end (EOF or error); fails if data arrives instead.
async fn assert_closed<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut buffer = [0u8; 64];
    match timeout(SOON, stream.read(&mut buffer)).await {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!("received {n} bytes from a connection that should be closed"),
        Err(_) => panic!("connection still open"),
    }
}

/// A server-certificate verifier that accepts anything: the attacker's client, which skips
/// its own checks so that the server's are the ones tested.
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        Err(TlsError::General("TLS 1.2 is not used".to_string()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Connects to `addr` for `target` with `issuer`'s leaf for `identity`, and returns the
/// alert the server answers with (on the handshake, or on the first read: in TLS 1.3 the
/// client finishes its side before the server has judged its certificate).
async fn raw_client_alert(
    issuer: &TestCa,
    identity: &TunnelIdentity,
    target: &TunnelTarget,
    addr: SocketAddr,
) -> AlertDescription {
    let (certificate, key) = issuer.issue(leaf_params(identity).unwrap()).unwrap();
    let provider = Arc::new(ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
        .with_client_auth_cert(vec![certificate], key)
        .unwrap();
    let server_name = ServerName::try_from(target.server_name()).unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let connected = TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await;
    let error = match connected {
        Err(error) => error,
        Ok(mut stream) => {
            let _ = stream.write_all(b"ping").await;
            let mut buffer = [0u8; 4];
            match timeout(SOON, stream.read(&mut buffer)).await.unwrap() {
                Err(error) => error,
                Ok(n) => panic!("the server let a refused client through ({n} bytes read)"),
            }
        }
    };
    alert_of(&error)
}

fn alert_of(error: &io::Error) -> AlertDescription {
    match error.get_ref().and_then(|e| e.downcast_ref::<TlsError>()) {
        Some(TlsError::AlertReceived(alert)) => *alert,
        _ => panic!("expected a TLS alert, got {error:?}"),
    }
}

#[tokio::test]
async fn echo_through_a_forwarder_and_the_tunnel_server() {
    let net = Net::start().await;
    let forwarder = net.forwarder(16).await;
    let mut workload = TcpStream::connect(forwarder.local_addr()).await.unwrap();
    assert_echoes(&mut workload, b"hello db").await;
    let large: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    let (mut reader, mut writer) = workload.split();
    let sent = async {
        writer.write_all(&large).await.unwrap();
        writer.shutdown().await.unwrap();
    };
    let mut received = Vec::new();
    let (_, read) = tokio::join!(sent, reader.read_to_end(&mut received));
    read.unwrap();
    assert_eq!(received, large, "the echo came back altered");
    assert_eq!(
        net.view_y.open_tunnels(),
        0,
        "closed tunnel still registered"
    );
}

#[tokio::test]
async fn a_client_tunnel_names_its_verified_peer() {
    let net = Net::start().await;
    let mut tunnel = net
        .client_x
        .connect(&web(), &db_target(), net.server_addr)
        .await
        .unwrap();
    assert_eq!(tunnel.peer(), &identity(TENANT, 1, 20, "db"));
    assert_echoes(&mut tunnel, b"direct").await;
    assert_eq!(net.view_x.open_tunnels(), 1);
}

#[tokio::test]
async fn refuses_a_leaf_not_chained_to_any_on_chain_root() {
    let net = Net::start().await;
    let rogue = TestCa::new("provider x root").unwrap();
    let (refusal, alert) = net.refusal_of(&rogue, &web()).await;
    assert!(
        matches!(&refusal, Refusal::UnknownRoot { lease_id: 10, provider, .. } if provider == PROVIDER_X),
        "{refusal}"
    );
    assert_eq!(alert, AlertDescription::UnknownCA);
}

#[tokio::test]
async fn refuses_a_leaf_of_the_right_root_naming_another_tenants_lease() {
    let net = Net::start().await;
    let other_tenant = identity("tenant2", 2, 30, "web");
    let expected = Refusal::OtherTenant {
        peer_lease: 30,
        peer_tenant: "tenant2".to_string(),
        local_lease: 20,
        local_tenant: TENANT.to_string(),
    };
    let alert = AlertDescription::AccessDenied;
    net.assert_refused(&net.x, &other_tenant, expected, alert)
        .await;
}

#[tokio::test]
async fn refuses_a_leaf_of_the_right_root_naming_a_lease_of_another_deployment() {
    let net = Net::start().await;
    let other_deployment = identity(TENANT, 2, 40, "web");
    let expected = Refusal::OtherDeployment {
        peer_lease: 40,
        peer_deployment: 2,
        local_lease: 20,
        local_deployment: 1,
    };
    let alert = AlertDescription::AccessDenied;
    net.assert_refused(&net.x, &other_deployment, expected, alert)
        .await;
}

#[tokio::test]
async fn refuses_a_leaf_from_provider_x_naming_a_lease_of_provider_y() {
    let net = Net::start().await;
    // Lease 21 is y's, and its web may reach db: only the issuing root is wrong.
    let forged = identity(TENANT, 1, 21, "web");
    let expected = Refusal::WrongProviderRoot {
        lease_id: 21,
        provider: PROVIDER_Y.to_string(),
        issued_by: PROVIDER_X.to_string(),
    };
    let alert = AlertDescription::UnknownCA;
    net.assert_refused(&net.x, &forged, expected, alert).await;
    // The same name from y's root is accepted.
    let (addr, served) = net.serve_one().await;
    let mut tunnel = TunnelClient::new(net.view_y.clone(), net.y.clone())
        .connect(&forged, &db_target(), addr)
        .await
        .unwrap();
    assert_echoes(&mut tunnel, b"from y").await;
    // A clean close on both sides: close_notify, then the server's.
    tunnel.shutdown().await.unwrap();
    let mut rest = Vec::new();
    tunnel.read_to_end(&mut rest).await.unwrap();
    timeout(SOON, served).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn refuses_a_closed_lease() {
    let net = Net::start().await;
    let closed = identity(TENANT, 1, 11, "web");
    let expected = Refusal::LeaseClosed { lease_id: 11 };
    let alert = AlertDescription::CertificateRevoked;
    net.assert_refused(&net.x, &closed, expected, alert).await;
}

#[tokio::test]
async fn refuses_an_edge_not_allowed_by_expose_to() {
    let net = Net::start().await;
    let api = identity(TENANT, 1, 10, "api");
    let expected = Refusal::EdgeNotAllowed {
        from: Endpoint::new(10, "api").unwrap(),
        to: db_target(),
    };
    let alert = AlertDescription::AccessDenied;
    net.assert_refused(&net.x, &api, expected, alert).await;
}

#[tokio::test]
async fn refuses_a_target_this_provider_does_not_hold() {
    let net = Net::start().await;
    let (addr, served) = net.serve_one().await;
    // Lease 10 is x's: y's server must not serve it, whatever the client presents.
    let target = TunnelTarget::new(10, "web", 80).unwrap();
    let alert = raw_client_alert(&net.y, &identity(TENANT, 1, 20, "db"), &target, addr).await;
    let refusal = server_refusal(served).await;
    assert!(
        matches!(&refusal, Refusal::NotLocalLease { provider, .. } if provider == PROVIDER_X),
        "{refusal}"
    );
    assert_eq!(alert, AlertDescription::AccessDenied);
}

#[tokio::test]
async fn the_client_refuses_a_server_leaf_not_issued_by_the_lease_holder() {
    let net = Net::start().await;
    // A server claiming y's lease 20 with a leaf from x's root.
    let impostor = TunnelServer::new(
        TunnelServerConfig::new(PROVIDER_Y),
        net.view_y.clone(),
        net.x.clone(),
        Arc::new(|_: &TunnelTarget| Some("127.0.0.1:9".parse().unwrap())),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { impostor.serve(listener).await });
    let error = net
        .client_x
        .connect(&web(), &db_target(), addr)
        .await
        .err()
        .expect("connected to an impostor");
    assert!(
        matches!(
            &error,
            TunnelError::Refused(Refusal::WrongProviderRoot { lease_id: 20, issued_by, .. })
                if issued_by == PROVIDER_X
        ),
        "{error}"
    );
}

#[tokio::test]
async fn the_forwarder_drops_sources_not_on_the_allowlist() {
    let net = Net::start().await;
    let forwarder = net.forwarder(16).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut stranger = socket.connect(forwarder.local_addr()).await.unwrap();
    let _ = stranger.write_all(b"let me in").await;
    assert_closed(&mut stranger).await;
    assert_eq!(net.view_y.open_tunnels(), 0);
    // The same forwarder serves an allowed source.
    let mut workload = TcpStream::connect(forwarder.local_addr()).await.unwrap();
    assert_echoes(&mut workload, b"allowed").await;
}

#[tokio::test]
async fn the_forwarder_holds_at_most_its_connection_limit() {
    let net = Net::start().await;
    let forwarder = net.forwarder(1).await;
    let mut first = TcpStream::connect(forwarder.local_addr()).await.unwrap();
    assert_echoes(&mut first, b"first").await;
    let mut second = TcpStream::connect(forwarder.local_addr()).await.unwrap();
    second.write_all(b"second").await.unwrap();
    let mut buffer = [0u8; 6];
    let early = timeout(Duration::from_millis(300), second.read_exact(&mut buffer)).await;
    assert!(early.is_err(), "a second tunnel opened beyond the limit");
    drop(first);
    timeout(SOON, second.read_exact(&mut buffer))
        .await
        .expect("the second connection was not served after the first closed")
        .unwrap();
    assert_eq!(&buffer, b"second");
}

#[tokio::test]
async fn a_root_replaced_on_chain_refuses_new_handshakes_with_the_old_root() {
    let net = Net::start().await;
    let forwarder = net.forwarder(16).await;
    let mut workload = TcpStream::connect(forwarder.local_addr()).await.unwrap();
    assert_echoes(&mut workload, b"before").await;
    // x registers a new root; y reads it from the chain. x's client still holds a leaf of
    // the old root.
    let new_root = TestCa::new("provider x root, rotated").unwrap();
    let cut = net.view_y.update(|snapshot| {
        snapshot
            .set_provider_root(PROVIDER_X, new_root.root_der())
            .unwrap();
    });
    assert_eq!(
        cut, 1,
        "the open tunnel vouched for by the old root was not cut"
    );
    assert_closed(&mut workload).await;
    let (addr, served) = net.serve_one().await;
    let tunnel = net.client_x.connect(&web(), &db_target(), addr).await;
    let refusal = server_refusal(served).await;
    assert!(
        matches!(refusal, Refusal::UnknownRoot { lease_id: 10, .. }),
        "{refusal}"
    );
    let mut tunnel = tunnel.unwrap();
    let _ = tunnel.write_all(b"after").await;
    assert_closed(&mut tunnel).await;
}

#[tokio::test]
async fn cut_lease_closes_open_tunnels_on_either_side() {
    let net = Net::start().await;
    let forwarder = net.forwarder(16).await;
    // y cuts its db lease; x cuts its web lease.
    for (view, lease_id) in [(&net.view_y, 20), (&net.view_x, 10)] {
        let mut workload = TcpStream::connect(forwarder.local_addr()).await.unwrap();
        assert_echoes(&mut workload, b"open").await;
        assert_eq!(view.cut_lease(lease_id), 1, "cut on lease {lease_id}");
        assert_closed(&mut workload).await;
    }
}

#[tokio::test]
async fn closing_a_lease_on_chain_cuts_its_tunnels_and_refuses_new_ones() {
    let net = Net::start().await;
    let mut tunnel = net
        .client_x
        .connect(&web(), &db_target(), net.server_addr)
        .await
        .unwrap();
    assert_echoes(&mut tunnel, b"open").await;
    let cut = net
        .view_y
        .update(|snapshot| snapshot.set_lease(10, lease(TENANT, 1, PROVIDER_X, false)));
    assert_eq!(cut, 1);
    assert_closed(&mut tunnel).await;
    let (refusal, _) = net.refusal_of(&net.x, &web()).await;
    assert_eq!(refusal, Refusal::LeaseClosed { lease_id: 10 });
}
