//! The Docker runtime against the real local engine and the locally built test image.
//! Needs `scripts/docker.sh ensure` and `scripts/make-test-image.sh` first; without an engine
//! every test fails and says so. Each test uses its own random lease ids (or owners) and tears
//! them down even when it fails.

mod support;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use akash_provider::runtime::{
    ContainerRuntime, ContainerState, DeploymentSpec, DeploymentStatus, DockerConfig,
    DockerRuntime, LeaseRef, LogStream, PortSpec, Protocol, RuntimeError, RuntimeOwner,
    ServiceSpec, LABEL_CHAIN_ID, LABEL_INSTANCE, LABEL_LEASE_ID, LABEL_NETWORK_ROLE,
    LABEL_ORDER_ID, LABEL_PROVIDER, LABEL_SERVICE,
};
use bollard::models::RestartPolicyNameEnum;
use bollard::query_parameters::{
    InspectContainerOptions, InspectNetworkOptions, ListContainersOptions, ListNetworksOptions,
    StopContainerOptions,
};
use support::{connect_as, http_get, lease_filters, wait_for, Cleanup, TEST_IMAGE};

const MEBIBYTE: u64 = 1024 * 1024;

/// The chain and provider the tests' runtimes run leases for.
fn test_owner() -> RuntimeOwner {
    RuntimeOwner::new("akash-runtime-test", "akash1runtimetest")
}

async fn connect() -> DockerRuntime {
    connect_as(test_owner()).await
}

/// Tears the test owner's leases down when the test ends, also when it panics.
fn cleanup(lease_ids: &[u64]) -> Cleanup {
    Cleanup(
        lease_ids
            .iter()
            .map(|lease_id| (test_owner(), *lease_id))
            .collect(),
    )
}

/// Random high lease ids, so tests running at the same time (or a daemon) never collide.
fn unique_lease() -> LeaseRef {
    let random = RandomState::new().build_hasher().finish();
    let lease_id = 1_000_000_000 + random % 1_000_000_000;
    LeaseRef {
        lease_id,
        order_id: lease_id + 7,
    }
}

fn service(name: &str, args: &[&str]) -> ServiceSpec {
    ServiceSpec {
        name: name.to_string(),
        image: TEST_IMAGE.to_string(),
        command: vec![],
        args: args.iter().map(|arg| arg.to_string()).collect(),
        env: vec![],
        cpu_millis: 100,
        memory_bytes: 32 * MEBIBYTE,
        count: 1,
        ports: vec![],
    }
}

fn web_service() -> ServiceSpec {
    ServiceSpec {
        ports: vec![PortSpec {
            container_port: 80,
            protocol: Protocol::Tcp,
            global: true,
        }],
        ..service("web", &["httpd", "-f", "-p", "80", "-h", "/www"])
    }
}

/// nc server answering "pong" to every connection on port 7000.
fn pong_server() -> ServiceSpec {
    service("server", &["nc", "-ll", "-p", "7000", "-e", "echo", "pong"])
}

/// Tries each target on port 7000 (in parallel, five attempts of one second) and prints
/// `reached:<target>` or `blocked:<target>`, then `probe-done`, then stays up (an exit would
/// restart it under unless-stopped).
fn probe(name: &str, targets: &[&str]) -> ServiceSpec {
    let script = format!(
        "check() {{ for attempt in 1 2 3 4 5; do \
           if nc -w 1 $1 7000 </dev/null | grep -q pong; then echo reached:$1; return; fi; \
           sleep 0.3; done; echo blocked:$1; }}; \
         for target in {}; do check $target & done; wait; echo probe-done; exec sleep 3600",
        targets.join(" ")
    );
    service(name, &["sh", "-c", &script])
}

fn deployment(lease: LeaseRef, services: Vec<ServiceSpec>) -> DeploymentSpec {
    DeploymentSpec {
        lease,
        services,
        peer_hosts: vec![],
    }
}

async fn log_text(runtime: &DockerRuntime, lease_id: u64, service: &str) -> String {
    runtime
        .logs(lease_id, service, 100)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|line| line.line + "\n")
        .collect()
}

async fn wait_for_log(
    runtime: &DockerRuntime,
    lease_id: u64,
    service: &str,
    marker: &str,
) -> String {
    wait_for(&format!("{marker:?} in the logs of {service}"), || async {
        let text = log_text(runtime, lease_id, service).await;
        text.contains(marker).then_some(text)
    })
    .await
}

async fn lease_container_count(runtime: &DockerRuntime, lease_id: u64) -> usize {
    let options = ListContainersOptions {
        all: true,
        filters: Some(lease_filters(runtime, lease_id)),
        ..Default::default()
    };
    runtime
        .docker()
        .list_containers(Some(options))
        .await
        .unwrap()
        .len()
}

async fn lease_network_names(runtime: &DockerRuntime, lease_id: u64) -> Vec<String> {
    let options = ListNetworksOptions {
        filters: Some(lease_filters(runtime, lease_id)),
    };
    let mut names: Vec<String> = runtime
        .docker()
        .list_networks(Some(options))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|network| network.name)
        .collect();
    names.sort();
    names
}

fn container_id<'a>(status: &'a DeploymentStatus, service: &str, instance: u32) -> &'a str {
    &status
        .instances_of(service)
        .find(|status| status.instance == instance)
        .unwrap_or_else(|| panic!("no instance {instance} of {service} in {status:?}"))
        .container_id
}

#[tokio::test]
async fn web_service_answers_on_its_published_port() {
    let runtime = connect().await;
    let lease = unique_lease();
    let _cleanup = cleanup(&[lease.lease_id]);

    let status = runtime
        .deploy(&deployment(lease, vec![web_service()]))
        .await
        .unwrap();
    assert_eq!(status.lease, lease);
    assert!(status.all_running(), "{status:?}");
    let published = &status.instances[0].host_ports;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].host_ip, "127.0.0.1");
    assert_eq!(published[0].container_port, 80);
    let port = status.host_port("web", 80).unwrap();
    assert_ne!(port, 0);

    let response = wait_for("httpd to answer", || async { http_get(port).ok() }).await;
    assert!(
        response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
        "{response}"
    );
    assert!(response.contains("akash test workload"), "{response}");
}

#[tokio::test]
async fn containers_carry_lease_labels_and_resource_limits() {
    let runtime = connect().await;
    let lease = unique_lease();
    let _cleanup = cleanup(&[lease.lease_id]);
    let mut web = web_service();
    web.cpu_millis = 250;
    web.memory_bytes = 64 * MEBIBYTE;
    web.count = 2;
    web.env = vec![("GREETING".to_string(), "hello world".to_string())];

    let status = runtime.deploy(&deployment(lease, vec![web])).await.unwrap();
    assert_eq!(status.instances.len(), 2);
    let ports: Vec<u16> = status
        .instances
        .iter()
        .map(|instance| instance.host_ports[0].host_port)
        .collect();
    assert_ne!(ports[0], ports[1], "each instance gets its own host port");

    let workload_network = runtime.workload_network_name(lease.lease_id);
    for instance in &status.instances {
        let inspect = runtime
            .docker()
            .inspect_container(&instance.container_id, None::<InspectContainerOptions>)
            .await
            .unwrap();
        assert_eq!(
            inspect.name.as_deref(),
            Some(
                format!(
                    "/{}",
                    runtime.container_name(lease.lease_id, "web", instance.instance)
                )
                .as_str()
            )
        );
        let config = inspect.config.unwrap();
        let labels = config.labels.unwrap();
        assert_eq!(labels[LABEL_LEASE_ID], lease.lease_id.to_string());
        assert_eq!(labels[LABEL_ORDER_ID], lease.order_id.to_string());
        assert_eq!(labels[LABEL_CHAIN_ID], test_owner().chain_id);
        assert_eq!(labels[LABEL_PROVIDER], test_owner().provider);
        assert_eq!(labels[LABEL_SERVICE], "web");
        assert_eq!(labels[LABEL_INSTANCE], instance.instance.to_string());
        assert!(config
            .env
            .unwrap()
            .contains(&"GREETING=hello world".to_string()));

        let host = inspect.host_config.unwrap();
        // Service names resolve to the host on the lease network (where forwarders listen).
        let gateway = status.gateway.expect("the lease network has a gateway");
        assert_eq!(
            host.extra_hosts.clone().unwrap_or_default(),
            vec![format!("web:{gateway}")]
        );
        assert_eq!(host.nano_cpus, Some(250_000_000));
        assert_eq!(host.memory, Some(64 * MEBIBYTE as i64));
        assert_eq!(
            host.restart_policy.unwrap().name,
            Some(RestartPolicyNameEnum::UNLESS_STOPPED)
        );

        let networks = inspect.network_settings.unwrap().networks.unwrap();
        assert!(
            networks.contains_key(&workload_network),
            "{:?}",
            networks.keys()
        );
        assert!(
            networks.contains_key(&runtime.ingress_network_name(lease.lease_id)),
            "a service with a global port joins the ingress network: {:?}",
            networks.keys()
        );
    }

    let network = runtime
        .docker()
        .inspect_network(&workload_network, None::<InspectNetworkOptions>)
        .await
        .unwrap();
    assert_eq!(network.internal, Some(true));
    let labels = network.labels.unwrap();
    assert_eq!(labels[LABEL_LEASE_ID], lease.lease_id.to_string());
    assert_eq!(labels[LABEL_CHAIN_ID], test_owner().chain_id);
    assert_eq!(labels[LABEL_PROVIDER], test_owner().provider);
    assert_eq!(labels[LABEL_NETWORK_ROLE], "workload");
}

#[tokio::test]
async fn logs_remain_after_the_workload_exits() {
    let runtime = connect().await;
    let lease = unique_lease();
    let _cleanup = cleanup(&[lease.lease_id]);
    let job = service(
        "job",
        &[
            "sh",
            "-c",
            "echo hello-stdout; echo hello-stderr >&2; exit 3",
        ],
    );
    runtime.deploy(&deployment(lease, vec![job])).await.unwrap();

    // Under unless-stopped Docker restarts it with a growing delay; in between it has exited.
    let state = wait_for("the job to exit with code 3", || async {
        let status = runtime.status(lease.lease_id).await.ok()?;
        let state = status.instances[0].state.clone();
        (state.exit_code() == Some(3)).then_some(state)
    })
    .await;
    assert!(
        matches!(
            state,
            ContainerState::Exited { exit_code: 3 }
                | ContainerState::Restarting { last_exit_code: 3 }
        ),
        "{state:?}"
    );

    let lines = runtime.logs(lease.lease_id, "job", 50).await.unwrap();
    assert!(lines
        .iter()
        .any(|line| line.stream == LogStream::Stdout && line.line == "hello-stdout"));
    assert!(lines
        .iter()
        .any(|line| line.stream == LogStream::Stderr && line.line == "hello-stderr"));
    assert!(lines.iter().all(|line| line.instance == 0));

    let last = runtime.logs(lease.lease_id, "job", 1).await.unwrap();
    assert_eq!(last.len(), 1, "tail 1 gives one line: {last:?}");

    match runtime.logs(lease.lease_id, "nope", 10).await {
        Err(RuntimeError::ServiceNotFound { lease_id, service }) => {
            assert_eq!((lease_id, service.as_str()), (lease.lease_id, "nope"));
        }
        other => panic!("expected ServiceNotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_image_is_a_typed_error_and_leaves_nothing() {
    let runtime = connect().await;
    let lease = unique_lease();
    let _cleanup = cleanup(&[lease.lease_id]);
    let missing = ServiceSpec {
        image: "akash-test/does-not-exist:never".to_string(),
        ..service("api", &[])
    };

    let error = runtime
        .deploy(&deployment(lease, vec![web_service(), missing]))
        .await
        .unwrap_err();
    match &error {
        RuntimeError::ImageUnavailable {
            lease_id,
            service,
            image,
            message,
        } => {
            assert_eq!(*lease_id, lease.lease_id);
            assert_eq!(service, "api");
            assert_eq!(image, "akash-test/does-not-exist:never");
            assert!(!message.is_empty());
        }
        other => panic!("expected ImageUnavailable, got {other:?}"),
    }
    let text = error.to_string();
    assert!(
        text.contains("api") && text.contains("akash-test/does-not-exist:never"),
        "{text}"
    );

    assert_eq!(lease_container_count(&runtime, lease.lease_id).await, 0);
    assert!(lease_network_names(&runtime, lease.lease_id)
        .await
        .is_empty());
    assert_eq!(
        runtime.status(lease.lease_id).await.unwrap_err(),
        RuntimeError::LeaseNotFound {
            lease_id: lease.lease_id
        }
    );
}

#[tokio::test]
async fn teardown_removes_containers_and_networks() {
    let runtime = connect().await;
    let lease = unique_lease();
    let _cleanup = cleanup(&[lease.lease_id]);
    runtime
        .deploy(&deployment(lease, vec![web_service(), pong_server()]))
        .await
        .unwrap();
    assert_eq!(lease_container_count(&runtime, lease.lease_id).await, 2);
    assert_eq!(
        lease_network_names(&runtime, lease.lease_id).await,
        vec![
            runtime.workload_network_name(lease.lease_id),
            runtime.ingress_network_name(lease.lease_id),
        ]
    );

    runtime.teardown(lease.lease_id).await.unwrap();
    assert_eq!(lease_container_count(&runtime, lease.lease_id).await, 0);
    assert!(lease_network_names(&runtime, lease.lease_id)
        .await
        .is_empty());
    assert!(matches!(
        runtime.status(lease.lease_id).await,
        Err(RuntimeError::LeaseNotFound { .. })
    ));
    // Nothing left to remove is not an error.
    runtime.teardown(lease.lease_id).await.unwrap();
}

#[tokio::test]
async fn list_leases_finds_running_leases_after_a_restart() {
    let runtime = connect().await;
    let first = unique_lease();
    let second = unique_lease();
    let _cleanup = cleanup(&[first.lease_id, second.lease_id]);
    runtime
        .deploy(&deployment(first, vec![pong_server()]))
        .await
        .unwrap();
    runtime
        .deploy(&deployment(second, vec![web_service()]))
        .await
        .unwrap();

    // A fresh runtime stands for the daemon after a restart: it knows only what Docker knows.
    let restarted = connect().await;
    let leases = restarted.list_leases().await.unwrap();
    assert!(leases.contains(&first), "{first:?} not in {leases:?}");
    assert!(leases.contains(&second), "{second:?} not in {leases:?}");
    let status = restarted.status(second.lease_id).await.unwrap();
    assert_eq!(status.lease, second);
    assert!(status.all_running(), "{status:?}");

    restarted.teardown(first.lease_id).await.unwrap();
    let leases = restarted.list_leases().await.unwrap();
    assert!(!leases.contains(&first));
    assert!(leases.contains(&second));
}

#[tokio::test]
async fn redeploy_leaves_running_containers_alone() {
    let runtime = connect().await;
    let lease = unique_lease();
    let _cleanup = cleanup(&[lease.lease_id]);
    let mut web = web_service();
    let first = runtime
        .deploy(&deployment(lease, vec![web.clone()]))
        .await
        .unwrap();
    let original = container_id(&first, "web", 0).to_string();
    let original_port = first.host_port("web", 80);

    let again = runtime
        .deploy(&deployment(lease, vec![web.clone()]))
        .await
        .unwrap();
    assert_eq!(container_id(&again, "web", 0), original);
    assert_eq!(again.host_port("web", 80), original_port);

    web.count = 2;
    let scaled = runtime
        .deploy(&deployment(lease, vec![web.clone()]))
        .await
        .unwrap();
    assert_eq!(container_id(&scaled, "web", 0), original);
    assert_eq!(scaled.instances.len(), 2);

    // A stopped instance is started again, not replaced.
    runtime
        .docker()
        .stop_container(&original, None::<StopContainerOptions>)
        .await
        .unwrap();
    let restarted = runtime
        .deploy(&deployment(lease, vec![web.clone()]))
        .await
        .unwrap();
    assert_eq!(container_id(&restarted, "web", 0), original);
    assert!(restarted.all_running(), "{restarted:?}");

    // A changed spec replaces the instances; a smaller count removes the surplus.
    web.count = 1;
    web.env = vec![("VERSION".to_string(), "2".to_string())];
    let replaced = runtime.deploy(&deployment(lease, vec![web])).await.unwrap();
    assert_eq!(replaced.instances.len(), 1);
    assert_ne!(container_id(&replaced, "web", 0), original);
    assert_eq!(lease_container_count(&runtime, lease.lease_id).await, 1);
}

#[tokio::test]
async fn services_of_one_lease_do_not_reach_each_other_directly() {
    // The lease network forbids container-to-container traffic: services reach each other only
    // through the daemon's forwarders on the host, which admit what expose.to allows.
    let runtime = connect().await;
    let lease = unique_lease();
    let _cleanup = cleanup(&[lease.lease_id]);
    let status = runtime
        .deploy(&deployment(lease, vec![pong_server()]))
        .await
        .unwrap();
    let server = status
        .instances
        .iter()
        .find(|instance| instance.service == "server")
        .and_then(|instance| instance.address)
        .expect("the server has an address on the lease network")
        .to_string();
    let gateway = status.gateway.expect("the lease network has a gateway");
    // The host answers on the gateway address, as a daemon forwarder would.
    let host = tokio::net::TcpListener::bind((gateway, 7000))
        .await
        .unwrap();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut stream, _)) = host.accept().await {
            let _ = stream.write_all(b"pong\n").await;
        }
    });
    let mut services = vec![pong_server()];
    services.push(probe("client", &["server", &server]));
    let status = runtime.deploy(&deployment(lease, services)).await.unwrap();
    assert_eq!(status.gateway, Some(gateway));

    let logs = wait_for_log(&runtime, lease.lease_id, "client", "probe-done").await;
    // By name the client reaches the host (the hosts file), by address not the server.
    assert!(logs.contains("reached:server\n"), "{logs}");
    assert!(logs.contains(&format!("blocked:{server}\n")), "{logs}");
    // The server itself answers (the host may reach it).
    assert_eq!(pong_from(&format!("{server}:7000")).await, "pong");
}

#[tokio::test]
async fn other_leases_cannot_reach_a_lease_services() {
    let runtime = connect().await;
    let owner = unique_lease();
    let stranger = unique_lease();
    let _cleanup = cleanup(&[owner.lease_id, stranger.lease_id]);
    // A global port puts the server on the owner's ingress network too: probe both addresses.
    let mut server = pong_server();
    server.ports = vec![PortSpec {
        container_port: 7000,
        protocol: Protocol::Tcp,
        global: true,
    }];
    let status = runtime
        .deploy(&deployment(owner, vec![server]))
        .await
        .unwrap();
    let inspect = runtime
        .docker()
        .inspect_container(
            container_id(&status, "server", 0),
            None::<InspectContainerOptions>,
        )
        .await
        .unwrap();
    let networks = inspect.network_settings.unwrap().networks.unwrap();
    let address_on = |network: String| {
        networks[&network]
            .ip_address
            .clone()
            .filter(|address| !address.is_empty())
            .unwrap_or_else(|| panic!("server has no address on {network}: {networks:?}"))
    };
    let workload_address = address_on(runtime.workload_network_name(owner.lease_id));
    let ingress_address = address_on(runtime.ingress_network_name(owner.lease_id));
    let addresses = [workload_address.clone(), ingress_address];

    let mut targets = vec!["server"];
    targets.extend(addresses.iter().map(String::as_str));
    runtime
        .deploy(&deployment(stranger, vec![probe("intruder", &targets)]))
        .await
        .unwrap();
    let logs = wait_for_log(&runtime, stranger.lease_id, "intruder", "probe-done").await;
    for target in &targets {
        assert!(
            logs.contains(&format!("blocked:{target}\n")),
            "{target} reachable: {logs}"
        );
    }

    // The server answers whoever may reach it (the host, where the daemon's forwarders run),
    // so the blocks above are the network boundary and not a dead server.
    assert_eq!(pong_from(&format!("{workload_address}:7000")).await, "pong");
}

/// What a TCP server at `address` sends first (empty if it cannot be reached).
async fn pong_from(address: &str) -> String {
    use tokio::io::AsyncReadExt;
    let Ok(Ok(mut stream)) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::net::TcpStream::connect(address),
    )
    .await
    else {
        return String::new();
    };
    let mut answer = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer)).await;
    answer.trim().to_string()
}

/// An owner no other test process uses (a chain id of its own).
fn unique_owner(provider: &str) -> RuntimeOwner {
    let random = RandomState::new().build_hasher().finish();
    RuntimeOwner::new(format!("akash-runtime-test-{random:016x}"), provider)
}

#[tokio::test]
async fn runtimes_of_other_chains_and_providers_share_the_engine_without_seeing_each_other() {
    // Lease 1 on chain A for provider P, on chain B for P, and on chain A for provider Q:
    // the same lease id three times on one engine.
    let chain_a_p = unique_owner("akash1providerp");
    let chain_b_p = unique_owner("akash1providerp");
    let chain_a_q = RuntimeOwner::new(chain_a_p.chain_id.clone(), "akash1providerq");
    let owners = [chain_a_p, chain_b_p, chain_a_q];
    let _cleanup = Cleanup(owners.iter().map(|owner| (owner.clone(), 1)).collect());
    let mut runtimes = Vec::new();
    for owner in &owners {
        runtimes.push(connect_as(owner.clone()).await);
    }
    let mut statuses = Vec::new();
    for (order_id, runtime) in (11..).zip(&runtimes) {
        let lease = LeaseRef {
            lease_id: 1,
            order_id,
        };
        let status = runtime
            .deploy(&deployment(lease, vec![web_service()]))
            .await
            .unwrap();
        assert_eq!(status.lease, lease);
        assert_eq!(status.instances.len(), 1, "{status:?}");
        assert!(status.all_running(), "{status:?}");
        statuses.push(status);
    }
    let ids: Vec<&str> = statuses
        .iter()
        .map(|status| container_id(status, "web", 0))
        .collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );

    // Each lists, inspects and reads logs of its own lease 1 only.
    for ((runtime, status), order_id) in runtimes.iter().zip(&statuses).zip(11..) {
        assert_eq!(
            runtime.list_leases().await.unwrap(),
            vec![LeaseRef {
                lease_id: 1,
                order_id
            }]
        );
        assert_eq!(&runtime.status(1).await.unwrap(), status);
        assert_eq!(lease_container_count(runtime, 1).await, 1);
        assert_eq!(lease_network_names(runtime, 1).await.len(), 2);
    }

    // Tearing down lease 1 of one owner leaves the other two as they were.
    runtimes[0].teardown(1).await.unwrap();
    assert!(runtimes[0].list_leases().await.unwrap().is_empty());
    assert!(matches!(
        runtimes[0].status(1).await,
        Err(RuntimeError::LeaseNotFound { lease_id: 1 })
    ));
    assert_eq!(lease_container_count(&runtimes[0], 1).await, 0);
    assert!(lease_network_names(&runtimes[0], 1).await.is_empty());
    for (runtime, status) in runtimes.iter().zip(&statuses).skip(1) {
        let now = runtime.status(1).await.unwrap();
        assert_eq!(&now, status);
        assert!(now.all_running(), "{now:?}");
        assert_eq!(lease_network_names(runtime, 1).await.len(), 2);
    }
    runtimes[1].teardown(1).await.unwrap();
    assert_eq!(runtimes[2].status(1).await.unwrap(), statuses[2]);
    runtimes[2].teardown(1).await.unwrap();
    assert!(runtimes[2].list_leases().await.unwrap().is_empty());
}

#[tokio::test]
async fn host_capacity_matches_docker_info() {
    let runtime = connect().await;
    let capacity = runtime.host_capacity().await.unwrap();
    let info = runtime.docker().info().await.unwrap();
    assert_eq!(capacity.cpu_millis, info.ncpu.unwrap() as u64 * 1000);
    assert_eq!(capacity.memory_bytes, info.mem_total.unwrap() as u64);
    assert!(capacity.cpu_millis >= 1000 && capacity.memory_bytes > 0);
}

#[tokio::test]
async fn unreachable_engine_is_a_typed_error() {
    let config = DockerConfig {
        socket: Some("/nonexistent/docker.sock".to_string()),
        ..DockerConfig::default()
    };
    match DockerRuntime::connect(config, test_owner()).await {
        Err(RuntimeError::EngineUnavailable { socket, .. }) => {
            assert_eq!(socket, "/nonexistent/docker.sock")
        }
        Err(other) => panic!("expected EngineUnavailable, got {other}"),
        Ok(_) => panic!("connected to a socket that does not exist"),
    }
}
