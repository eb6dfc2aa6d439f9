//! Tunnel benchmark: the same echo workload over (a) plain TCP on loopback, (b) our tunnel
//! (forwarder -> mTLS -> tunnel server -> echo) and (c) stunnel client + server with the same
//! kind of certificates, in one run; figures are printed as ratios to plain TCP.
//!
//! `cargo run --release -p akash-overlay --example tunnel_bench` (see benches/README.md,
//! "Overlay tunnels"). Sizes can be lowered for a quick look:
//! `BENCH_TUNNEL_MIB=16 BENCH_TUNNEL_ROUND_TRIPS=1000 BENCH_TUNNEL_CONNECTIONS=200
//! BENCH_TUNNEL_ROUNDS=1`.
//! Everything listens on 127.0.0.1 only and stops by itself.

use std::collections::BTreeMap;
use std::error::Error;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use akash_overlay::test_ca::TestCa;
use akash_overlay::{
    Endpoint, Forwarder, ForwarderConfig, LeaseRecord, TrustSnapshot, TrustView, TunnelClient,
    TunnelIdentity, TunnelServer, TunnelServerConfig, TunnelTarget,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

const MIB: u64 = 1 << 20;
const CHUNK: usize = 64 * 1024;
const MESSAGE: usize = 1024;
/// Parallel clients while measuring new connections per second (2 cores here).
const CONNECT_CONCURRENCY: usize = 4;
const TENANT: &str = "tenant1";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Where a benchmark client connects; bytes sent there come back.
#[derive(Clone, Copy)]
struct Route {
    name: &'static str,
    addr: SocketAddr,
}

#[derive(Default, Clone, Copy)]
struct Figures {
    mib_per_sec: f64,
    p50_us: f64,
    p99_us: f64,
    connections_per_sec: f64,
    kib_per_connection: Option<f64>,
}

fn main() -> BenchResult<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, route, count] = &args[..] {
        if flag == "--memory-child" {
            return runtime.block_on(memory_child(route, count.parse()?));
        }
    }
    runtime.block_on(run())
}

async fn run() -> BenchResult<()> {
    let stream_bytes = setting("BENCH_TUNNEL_MIB", 256) * MIB;
    let round_trips = setting("BENCH_TUNNEL_ROUND_TRIPS", 10_000) as usize;
    let connections = setting("BENCH_TUNNEL_CONNECTIONS", 1_000) as usize;
    let rounds_count = setting("BENCH_TUNNEL_ROUNDS", 3).max(1) as usize;
    let echo = start_echo().await?;
    let tunnel = Tunnel::start(echo).await?;
    let workdir = std::env::temp_dir().join(format!("akash-tunnel-bench-{}", std::process::id()));
    let stunnel = match Stunnel::start(echo, &tunnel, &workdir).await {
        Ok(stunnel) => Some(stunnel),
        Err(error) => {
            println!("stunnel column skipped: {error} (apt-get install -y stunnel4)");
            None
        }
    };
    let mut routes = vec![
        Route {
            name: "plain TCP",
            addr: echo,
        },
        Route {
            name: "overlay tunnel",
            addr: tunnel.forwarder.local_addr(),
        },
    ];
    if let Some(stunnel) = &stunnel {
        routes.push(Route {
            name: "stunnel",
            addr: stunnel.client_addr,
        });
    }
    println!(
        "workload: {} MiB echoed on one connection; {round_trips} round trips of {MESSAGE} B; \
         {connections} new connections ({CONNECT_CONCURRENCY} at a time) each with a 1 B \
         round trip; {connections} idle open connections; medians of {rounds_count} rounds",
        stream_bytes / MIB
    );
    // Rounds interleave the routes, so background load on a shared machine hits them alike;
    // each figure is the median over the rounds.
    let mut rounds: Vec<Vec<Figures>> = vec![Vec::new(); routes.len()];
    for round in 1..=rounds_count {
        for (route, samples) in routes.iter().zip(&mut rounds) {
            let mut figures = Figures {
                mib_per_sec: throughput(route.addr, stream_bytes).await?,
                ..Figures::default()
            };
            (figures.p50_us, figures.p99_us) = latency(route.addr, round_trips).await?;
            figures.connections_per_sec = connection_rate(route.addr, connections).await?;
            samples.push(figures);
        }
        println!("round {round} of {rounds_count} done");
    }
    let mut results: Vec<(&str, Figures)> = routes
        .iter()
        .zip(&rounds)
        .map(|(route, samples)| (route.name, median(samples)))
        .collect();
    // Memory: the plain and tunnel routes each in a fresh process (freed memory of the
    // runs above would hide new allocations); stunnel's own processes for stunnel.
    let plain_kib = memory_in_child("plain", connections)?;
    let tunnel_kib = memory_in_child("tunnel", connections)?;
    results[0].1.kib_per_connection = Some(plain_kib);
    results[1].1.kib_per_connection = Some(tunnel_kib - plain_kib);
    if let Some(stunnel) = &stunnel {
        let kib = stunnel.memory_per_connection(connections).await?;
        results[2].1.kib_per_connection = Some(kib);
    }
    print_table(&results);
    drop(stunnel);
    let _ = std::fs::remove_dir_all(&workdir);
    Ok(())
}

/// Each figure's median over the rounds.
fn median(samples: &[Figures]) -> Figures {
    let of = |value: fn(&Figures) -> f64| {
        let mut values: Vec<f64> = samples.iter().map(value).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    Figures {
        mib_per_sec: of(|f| f.mib_per_sec),
        p50_us: of(|f| f.p50_us),
        p99_us: of(|f| f.p99_us),
        connections_per_sec: of(|f| f.connections_per_sec),
        kib_per_connection: None,
    }
}

fn print_table(results: &[(&str, Figures)]) {
    let base = results[0].1;
    println!();
    println!(
        "| route | throughput MiB/s (x plain) | RTT p50 µs (x plain) | RTT p99 µs (x plain) | \
         new connections/s (x plain) | memory KiB per open connection |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, figures) in results {
        let memory = match (name, figures.kib_per_connection) {
            (_, None) => "n/a".to_string(),
            (&"plain TCP", Some(kib)) => format!("{kib:.1} (client + echo sockets)"),
            (_, Some(kib)) => format!("{kib:.1} (tunnel endpoints only)"),
        };
        println!(
            "| {name} | {:.0} ({:.2}) | {:.0} ({:.2}) | {:.0} ({:.2}) | {:.0} ({:.3}) | {memory} |",
            figures.mib_per_sec,
            figures.mib_per_sec / base.mib_per_sec,
            figures.p50_us,
            figures.p50_us / base.p50_us,
            figures.p99_us,
            figures.p99_us / base.p99_us,
            figures.connections_per_sec,
            figures.connections_per_sec / base.connections_per_sec,
        );
    }
}

async fn start_echo() -> BenchResult<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let (mut reader, mut writer) = stream.split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
            });
        }
    });
    Ok(addr)
}

async fn connect(addr: SocketAddr) -> BenchResult<TcpStream> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Streams `bytes` through the echo and reads them back; MiB/s of payload.
async fn throughput(addr: SocketAddr, bytes: u64) -> BenchResult<f64> {
    let stream = connect(addr).await?;
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let sender = tokio::spawn(async move {
        let chunk = vec![0x5a_u8; CHUNK];
        let mut sent = 0;
        while sent < bytes {
            let n = (bytes - sent).min(CHUNK as u64) as usize;
            writer.write_all(&chunk[..n]).await?;
            sent += n as u64;
        }
        // No half-close: stunnel tears the whole connection down on it, losing the echo
        // still in flight.
        Ok::<_, std::io::Error>(writer)
    });
    let mut buffer = vec![0u8; CHUNK];
    let mut received = 0;
    while received < bytes {
        let n = reader.read(&mut buffer).await?;
        if n == 0 {
            return Err(format!("echo ended after {received} of {bytes} bytes").into());
        }
        received += n as u64;
    }
    let elapsed = started.elapsed();
    drop(sender.await??);
    Ok(bytes as f64 / MIB as f64 / elapsed.as_secs_f64())
}

/// `count` round trips of one message; p50 and p99 in microseconds.
async fn latency(addr: SocketAddr, count: usize) -> BenchResult<(f64, f64)> {
    let mut stream = connect(addr).await?;
    let message = vec![0x42_u8; MESSAGE];
    let mut echoed = vec![0u8; MESSAGE];
    let mut samples = Vec::with_capacity(count);
    for round in 0..count + 100 {
        let started = Instant::now();
        stream.write_all(&message).await?;
        stream.read_exact(&mut echoed).await?;
        // The first 100 warm up (buffers, caches).
        if round >= 100 {
            samples.push(started.elapsed());
        }
    }
    samples.sort();
    let percentile = |p: f64| {
        let index = ((samples.len() as f64 * p) as usize).min(samples.len() - 1);
        samples[index].as_secs_f64() * 1e6
    };
    Ok((percentile(0.50), percentile(0.99)))
}

/// New connections per second, each until its first byte comes back.
async fn connection_rate(addr: SocketAddr, count: usize) -> BenchResult<f64> {
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..CONNECT_CONCURRENCY {
        let share = count / CONNECT_CONCURRENCY + usize::from(worker < count % CONNECT_CONCURRENCY);
        workers.push(tokio::spawn(async move {
            for _ in 0..share {
                let mut stream = connect(addr).await?;
                stream.write_all(b"x").await?;
                let mut byte = [0u8; 1];
                stream.read_exact(&mut byte).await?;
            }
            Ok::<_, Box<dyn Error + Send + Sync>>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(count as f64 / started.elapsed().as_secs_f64())
}

/// Opens `count` connections, each with a first byte echoed, and keeps them open.
async fn open_idle(addr: SocketAddr, count: usize) -> BenchResult<Vec<TcpStream>> {
    let mut open = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = connect(addr).await?;
        stream.write_all(b"x").await?;
        let mut byte = [0u8; 1];
        stream.read_exact(&mut byte).await?;
        open.push(stream);
    }
    Ok(open)
}

/// VmRSS of a process, KiB.
fn rss_kib(pid: &str) -> BenchResult<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .ok_or("no VmRSS line")?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .ok_or("malformed VmRSS line")?;
    Ok(kib.parse()?)
}

fn memory_in_child(route: &str, count: usize) -> BenchResult<f64> {
    let output = Command::new(std::env::current_exe()?)
        .args(["--memory-child", route, &count.to_string()])
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = stdout
        .lines()
        .find_map(|line| line.strip_prefix("kib_per_connection="))
        .ok_or_else(|| {
            format!(
                "memory child for {route} printed no figure: {}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    Ok(value.parse()?)
}

/// In a fresh process: the RSS growth per open connection of one route, everything of the
/// route (echo, and for the tunnel the forwarder and server) inside this process.
async fn memory_child(route: &str, count: usize) -> BenchResult<()> {
    let echo = start_echo().await?;
    let tunnel;
    let addr = match route {
        "plain" => echo,
        "tunnel" => {
            tunnel = Tunnel::start(echo).await?;
            tunnel.forwarder.local_addr()
        }
        other => return Err(format!("unknown route {other}").into()),
    };
    // Warm up: runtime, first leaf issued, allocator arenas.
    drop(open_idle(addr, 20).await?);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib("self")?;
    let open = open_idle(addr, count).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = rss_kib("self")?;
    println!("kib_per_connection={}", (after - before) / count as f64);
    drop(open);
    Ok(())
}

/// Our tunnel between two providers in this process: x runs the forwarder for web, y the
/// tunnel server in front of the echo (as db, port 5432).
struct Tunnel {
    x: Arc<TestCa>,
    y: Arc<TestCa>,
    forwarder: Forwarder,
    _server: TunnelServer,
}

fn web() -> BenchResult<TunnelIdentity> {
    Ok(TunnelIdentity::new(TENANT, 1, 10, "web")?)
}

fn db_target() -> BenchResult<TunnelTarget> {
    Ok(TunnelTarget::new(20, "db", 5432)?)
}

impl Tunnel {
    async fn start(echo: SocketAddr) -> BenchResult<Tunnel> {
        let x = Arc::new(TestCa::new("bench provider x")?);
        let y = Arc::new(TestCa::new("bench provider y")?);
        let mut snapshot = TrustSnapshot::new();
        snapshot.set_provider_root("x", x.root_der())?;
        snapshot.set_provider_root("y", y.root_der())?;
        for (lease_id, provider) in [(10, "x"), (20, "y")] {
            let record = LeaseRecord {
                tenant: TENANT.to_string(),
                deployment_id: 1,
                provider: provider.to_string(),
                active: true,
            };
            snapshot.set_lease(lease_id, record);
        }
        snapshot.allow(db_target()?, Endpoint::new(10, "web")?);
        let view_x = TrustView::new(snapshot.clone());
        let view_y = TrustView::new(snapshot);
        let mut config = TunnelServerConfig::new("y");
        config.max_connections = 16_384;
        let resolver = move |_: &TunnelTarget| Some(echo);
        let server = TunnelServer::new(config, view_y, y.clone(), Arc::new(resolver));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let remote = listener.local_addr()?;
        let serving = server.clone();
        tokio::spawn(async move { serving.serve(listener).await });
        let forwarder = TunnelClient::new(view_x, x.clone())
            .forward(ForwarderConfig {
                listen: "127.0.0.1:0".parse()?,
                clients: BTreeMap::from([(IpAddr::V4(Ipv4Addr::LOCALHOST), web()?)]),
                target: db_target()?,
                remote,
                max_connections: 16_384,
            })
            .await?;
        Ok(Tunnel {
            x,
            y,
            forwarder,
            _server: server,
        })
    }
}

/// stunnel client and server processes with leaves of the same roots and names as ours
/// (P-256, TLS 1.3, client certificate required, no session resumption), the server in
/// front of the same echo.
struct Stunnel {
    client_addr: SocketAddr,
    processes: Vec<Child>,
}

impl Stunnel {
    async fn start(echo: SocketAddr, tunnel: &Tunnel, workdir: &Path) -> BenchResult<Stunnel> {
        let version = Command::new("stunnel").arg("-version").output();
        if version.is_err() {
            return Err("stunnel is not installed".into());
        }
        std::fs::create_dir_all(workdir)?;
        let write = |name: &str, text: &str| -> BenchResult<PathBuf> {
            let path = workdir.join(name);
            std::fs::write(&path, text)?;
            Ok(path)
        };
        let client_leaf = tunnel.x.issue_pem(&web()?)?;
        let server_leaf = tunnel
            .y
            .issue_pem(&TunnelIdentity::new(TENANT, 1, 20, "db")?)?;
        let server_port = free_port()?;
        let client_port = free_port()?;
        let common = "foreground = yes\npid =\ndebug = 3\n";
        let tls = "sslVersionMin = TLSv1.3\nsessionResume = no\nsocket = l:TCP_NODELAY=1\n\
                   socket = r:TCP_NODELAY=1\nverifyChain = yes\n";
        let server_config = format!(
            "{common}output = {}\n[db]\naccept = 127.0.0.1:{server_port}\nconnect = {echo}\n\
             cert = {}\nkey = {}\nCAfile = {}\n{tls}",
            workdir.join("server.log").display(),
            write("server.pem", &server_leaf.certificate_pem)?.display(),
            write("server.key", &server_leaf.key_pem)?.display(),
            write("x-root.pem", tunnel.x.root_pem())?.display(),
        );
        let client_config = format!(
            "{common}output = {}\n[db]\nclient = yes\naccept = 127.0.0.1:{client_port}\n\
             connect = 127.0.0.1:{server_port}\nsni = {}\ncert = {}\nkey = {}\nCAfile = {}\n{tls}",
            workdir.join("client.log").display(),
            db_target()?.server_name(),
            write("client.pem", &client_leaf.certificate_pem)?.display(),
            write("client.key", &client_leaf.key_pem)?.display(),
            write("y-root.pem", tunnel.y.root_pem())?.display(),
        );
        let mut stunnel = Stunnel {
            client_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, client_port)),
            processes: Vec::new(),
        };
        for (name, config) in [
            ("server.conf", server_config),
            ("client.conf", client_config),
        ] {
            let child = Command::new("stunnel")
                .arg(write(name, &config)?)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            stunnel.processes.push(child);
        }
        for port in [server_port, client_port] {
            wait_for_listener(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        }
        // One echo through both proves the certificates are accepted.
        drop(open_idle(stunnel.client_addr, 1).await.map_err(|e| {
            format!(
                "stunnel did not pass a first byte ({e}); logs in {}",
                workdir.display()
            )
        })?);
        Ok(stunnel)
    }

    /// RSS growth of both stunnel processes per open connection.
    async fn memory_per_connection(&self, count: usize) -> BenchResult<f64> {
        let total = |processes: &[Child]| -> BenchResult<f64> {
            let mut sum = 0.0;
            for process in processes {
                sum += rss_kib(&process.id().to_string())?;
            }
            Ok(sum)
        };
        drop(open_idle(self.client_addr, 20).await?);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = total(&self.processes)?;
        let open = open_idle(self.client_addr, count).await?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = total(&self.processes)?;
        drop(open);
        Ok((after - before) / count as f64)
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        for process in &mut self.processes {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

fn free_port() -> BenchResult<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

async fn wait_for_listener(addr: SocketAddr) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).await.is_err() {
        if Instant::now() > deadline {
            return Err(format!("nothing listens on {addr} after 10 s").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}
