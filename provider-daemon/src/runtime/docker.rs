//! [`ContainerRuntime`] on the local Docker engine through bollard. Docker itself is the state
//! store: leases, services and instances are found again through container and network labels.
//!
//! One engine may serve several providers and chains (the sandbox runs three daemons on it;
//! lease ids start at 1 on every chain), so a runtime belongs to one [`RuntimeOwner`]: every
//! object it creates carries the owner's chain id and provider address as labels and a hash of
//! both in its name, and it lists, inspects and removes only objects with its owner's labels.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryStateEnum, EndpointSettings, HostConfig, HostConfigLogConfig,
    NetworkConnectRequest, NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectContainerOptions, InspectNetworkOptions,
    ListContainersOptions, ListNetworksOptions, LogsOptions, RemoveContainerOptions,
    StartContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::OwnedMutexGuard;
use tracing::{debug, info, instrument, warn};

use super::error::RuntimeError;
use super::spec::{DeploymentSpec, LeaseRef, Protocol, ServiceSpec};
use super::status::{
    ContainerState, DeploymentStatus, HostCapacity, HostPort, InstanceStatus, LogLine, LogStream,
};
use super::{ContainerRuntime, Result};

pub const LABEL_LEASE_ID: &str = "akash.lease_id";
/// Chain id of the [`RuntimeOwner`] that created the object.
pub const LABEL_CHAIN_ID: &str = "akash.chain_id";
/// Provider address of the [`RuntimeOwner`] that created the object.
pub const LABEL_PROVIDER: &str = "akash.provider";
pub const LABEL_ORDER_ID: &str = "akash.order_id";
pub const LABEL_SERVICE: &str = "akash.service";
pub const LABEL_INSTANCE: &str = "akash.instance";
/// Hash of everything an instance was created from, except `count`: a redeploy replaces an
/// instance exactly when this changes.
pub const LABEL_SPEC_SHA256: &str = "akash.spec_sha256";
/// `workload` (internal, services talk here) or `ingress` (carries published ports).
pub const LABEL_NETWORK_ROLE: &str = "akash.network";

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
/// Disables traffic between containers on the ingress network: it only carries published ports.
const BRIDGE_ICC_OPTION: &str = "com.docker.network.bridge.enable_icc";

#[derive(Clone, Debug)]
pub struct DockerConfig {
    /// Unix socket of the engine; `None`: `DOCKER_HOST` if it is a unix:// URL, else
    /// /var/run/docker.sock.
    pub socket: Option<String>,
    /// Host address global ports are published on (the gateway forwards to it).
    pub publish_host_ip: String,
    /// How long pulling one missing image may take.
    pub pull_timeout: Duration,
    /// Timeout of every other Docker request.
    pub request_timeout: Duration,
    /// Maximum processes per container (fork bombs stay inside their lease).
    pub pids_limit: i64,
    /// json-file log rotation: size of one file and number of files kept per container.
    pub log_max_size: String,
    pub log_max_files: u32,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            socket: None,
            publish_host_ip: "127.0.0.1".to_string(),
            pull_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(120),
            pids_limit: 1024,
            log_max_size: "10m".to_string(),
            log_max_files: 3,
        }
    }
}

/// Whose leases a [`DockerRuntime`] runs: a provider on a chain. Lease ids are unique only
/// within one chain, and several providers may share an engine, so objects are told apart by
/// all three (lease id, chain id, provider).
///
/// Objects made by versions that did not label the owner (named `akash-<lease>-…`) are
/// neither listed, adopted nor removed: remove them by hand after upgrading.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuntimeOwner {
    pub chain_id: String,
    /// The provider's bech32 address.
    pub provider: String,
}

impl RuntimeOwner {
    pub fn new(chain_id: impl Into<String>, provider: impl Into<String>) -> Self {
        RuntimeOwner {
            chain_id: chain_id.into(),
            provider: provider.into(),
        }
    }

    /// 10 hex digits of the sha256 of chain id and provider: Docker names are global to the
    /// engine, so the objects of two owners with the same lease id need different names.
    pub fn name_tag(&self) -> String {
        let digest = Sha256::digest(format!("{}\n{}", self.chain_id, self.provider).as_bytes());
        digest
            .iter()
            .take(5)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// Label filters (`key=value`) matching the objects of this owner.
    fn label_filters(&self) -> Vec<String> {
        vec![
            format!("{LABEL_CHAIN_ID}={}", self.chain_id),
            format!("{LABEL_PROVIDER}={}", self.provider),
        ]
    }
}

/// The Docker implementation of [`ContainerRuntime`].
pub struct DockerRuntime {
    docker: Docker,
    config: DockerConfig,
    owner: RuntimeOwner,
    /// [`RuntimeOwner::name_tag`], in every object name.
    name_tag: String,
    lease_locks: LeaseLocks,
}

impl DockerRuntime {
    /// Connects to the local engine and agrees on an API version with it (Debian's docker.io
    /// 20.10 speaks 1.41, older than bollard's default). The runtime sees only `owner`'s
    /// objects.
    pub async fn connect(config: DockerConfig, owner: RuntimeOwner) -> Result<Self> {
        let docker = Self::connect_engine(&config).await?;
        Ok(Self::with_client(docker, config, owner))
    }

    /// The engine connection alone, to share between the runtimes of several owners
    /// ([`DockerRuntime::with_client`]).
    pub async fn connect_engine(config: &DockerConfig) -> Result<Docker> {
        let socket = config
            .socket
            .clone()
            .or_else(|| {
                std::env::var("DOCKER_HOST")
                    .ok()
                    .filter(|host| host.starts_with("unix://"))
            })
            .unwrap_or_else(|| DEFAULT_SOCKET.to_string());
        let unavailable = |error: BollardError| RuntimeError::EngineUnavailable {
            socket: socket.clone(),
            message: docker_message(&error),
        };
        let docker = Docker::connect_with_unix(
            &socket,
            config.request_timeout.as_secs().max(1),
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(unavailable)?
        .negotiate_version()
        .await
        .map_err(unavailable)?;
        info!(%socket, api_version = %docker.client_version(), "connected to docker engine");
        Ok(docker)
    }

    /// Wraps an already connected (and version-negotiated) client; runtimes of several owners
    /// may share one client.
    pub fn with_client(docker: Docker, config: DockerConfig, owner: RuntimeOwner) -> Self {
        DockerRuntime {
            docker,
            config,
            name_tag: owner.name_tag(),
            owner,
            lease_locks: LeaseLocks::default(),
        }
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    pub fn config(&self) -> &DockerConfig {
        &self.config
    }

    pub fn owner(&self) -> &RuntimeOwner {
        &self.owner
    }

    /// The lease's internal network: its services reach each other here, by service name.
    pub fn workload_network_name(&self, lease_id: u64) -> String {
        format!("akash-{}-lease-{lease_id}", self.name_tag)
    }

    /// Docker publishes no ports of containers attached only to internal networks, so services
    /// with global ports also join this per-lease bridge (container-to-container traffic off).
    pub fn ingress_network_name(&self, lease_id: u64) -> String {
        format!("akash-{}-lease-{lease_id}-ingress", self.name_tag)
    }

    pub fn container_name(&self, lease_id: u64, service: &str, instance: u32) -> String {
        format!("akash-{}-{lease_id}-{service}-{instance}", self.name_tag)
    }

    /// Label filters matching the objects of the owner's lease `lease_id`.
    fn lease_filters(&self, lease_id: u64) -> Vec<String> {
        let mut labels = self.owner.label_filters();
        labels.push(format!("{LABEL_LEASE_ID}={lease_id}"));
        labels
    }

    /// Lease ids, the owner's labels and, for containers, service and instance.
    fn object_labels(&self, lease: LeaseRef) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_LEASE_ID.to_string(), lease.lease_id.to_string()),
            (LABEL_ORDER_ID.to_string(), lease.order_id.to_string()),
            (LABEL_CHAIN_ID.to_string(), self.owner.chain_id.clone()),
            (LABEL_PROVIDER.to_string(), self.owner.provider.clone()),
        ])
    }

    async fn lease_containers(
        &self,
        lease_id: u64,
        service: Option<&str>,
    ) -> Result<Vec<ContainerSummary>> {
        let mut labels = self.lease_filters(lease_id);
        if let Some(service) = service {
            labels.push(format!("{LABEL_SERVICE}={service}"));
        }
        let options = ListContainersOptions {
            all: true,
            filters: Some(HashMap::from([("label".to_string(), labels)])),
            ..Default::default()
        };
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|error| lease_error(lease_id, "list containers of", "the lease", &error))
    }

    /// (instance, container id) of every instance of `service`, by instance; at least one.
    async fn service_containers(&self, lease_id: u64, service: &str) -> Result<Vec<(u32, String)>> {
        let mut containers: Vec<(u32, String)> = self
            .lease_containers(lease_id, Some(service))
            .await?
            .into_iter()
            .filter_map(|summary| {
                let (_, instance) = service_and_instance(summary.labels.as_ref())?;
                Some((instance, summary.id?))
            })
            .collect();
        if containers.is_empty() {
            return Err(RuntimeError::ServiceNotFound {
                lease_id,
                service: service.to_string(),
            });
        }
        containers.sort();
        Ok(containers)
    }

    /// Pulls every image the spec names that is not present locally. Runs before anything is
    /// created, so a missing image leaves no container or network behind.
    async fn ensure_images(&self, spec: &DeploymentSpec) -> Result<()> {
        let lease_id = spec.lease.lease_id;
        let mut checked: Vec<&str> = Vec::new();
        for service in &spec.services {
            let image = service.image.as_str();
            if checked.contains(&image) {
                continue;
            }
            checked.push(image);
            match self.docker.inspect_image(image).await {
                Ok(_) => continue,
                Err(error) if is_not_found(&error) => {}
                Err(error) => return Err(lease_error(lease_id, "inspect image", image, &error)),
            }
            info!(service = %service.name, image, "image not present locally, pulling");
            let unavailable = |message: String| RuntimeError::ImageUnavailable {
                lease_id,
                service: service.name.clone(),
                image: image.to_string(),
                message,
            };
            match tokio::time::timeout(self.config.pull_timeout, self.pull(image)).await {
                Ok(Ok(())) => info!(image, "image pulled"),
                Ok(Err(error)) => return Err(unavailable(docker_message(&error))),
                Err(_) => {
                    return Err(unavailable(format!(
                        "pull did not finish within {} s",
                        self.config.pull_timeout.as_secs()
                    )))
                }
            }
        }
        Ok(())
    }

    async fn pull(&self, image: &str) -> std::result::Result<(), BollardError> {
        let (repository, tag) = split_image_reference(image);
        let options = CreateImageOptions {
            from_image: Some(repository.to_string()),
            tag: Some(tag.to_string()),
            ..Default::default()
        };
        let mut progress = self.docker.create_image(Some(options), None, None);
        while let Some(step) = progress.next().await {
            step?;
        }
        Ok(())
    }

    /// The host's address on the lease's workload network (None: no such network).
    async fn workload_gateway(&self, lease_id: u64) -> Result<Option<IpAddr>> {
        let name = self.workload_network_name(lease_id);
        let network = match self
            .docker
            .inspect_network(&name, None::<InspectNetworkOptions>)
            .await
        {
            Ok(network) => network,
            Err(error) if is_not_found(&error) => return Ok(None),
            Err(error) => return Err(lease_error(lease_id, "inspect network", &name, &error)),
        };
        Ok(network
            .ipam
            .and_then(|ipam| ipam.config)
            .into_iter()
            .flatten()
            .find_map(|config| config.gateway?.parse().ok()))
    }

    async fn ensure_network(&self, lease: LeaseRef, name: &str, internal: bool) -> Result<()> {
        match self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
        {
            Ok(_) => return Ok(()),
            Err(error) if is_not_found(&error) => {}
            Err(error) => return Err(lease_error(lease.lease_id, "inspect network", name, &error)),
        }
        let role = if internal { "workload" } else { "ingress" };
        let mut labels = self.object_labels(lease);
        labels.insert(LABEL_NETWORK_ROLE.to_string(), role.to_string());
        // No container-to-container traffic on either network: containers reach only the
        // host, where the daemon's forwarders admit the connections `expose.to` allows.
        let options = Some(HashMap::from([(
            BRIDGE_ICC_OPTION.to_string(),
            "false".to_string(),
        )]));
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".to_string()),
            internal: Some(internal),
            labels: Some(labels),
            options,
            ..Default::default()
        };
        self.docker
            .create_network(request)
            .await
            .map_err(|error| lease_error(lease.lease_id, "create network", name, &error))?;
        info!(network = name, role, "network created");
        Ok(())
    }

    async fn create_instance(
        &self,
        lease: LeaseRef,
        service: &ServiceSpec,
        instance: u32,
        spec_sha256: &str,
        extra_hosts: &[String],
    ) -> Result<()> {
        let lease_id = lease.lease_id;
        let name = self.container_name(lease_id, &service.name, instance);
        let workload_network = self.workload_network_name(lease_id);

        let mut labels = self.object_labels(lease);
        labels.insert(LABEL_SERVICE.to_string(), service.name.clone());
        labels.insert(LABEL_INSTANCE.to_string(), instance.to_string());
        labels.insert(LABEL_SPEC_SHA256.to_string(), spec_sha256.to_string());

        let exposed_ports = service
            .ports
            .iter()
            .map(|port| (port_key(port.container_port, port.protocol), HashMap::new()))
            .collect::<HashMap<_, _>>();
        let port_bindings = service
            .ports
            .iter()
            .filter(|port| port.global)
            .map(|port| {
                let binding = PortBinding {
                    host_ip: Some(self.config.publish_host_ip.clone()),
                    // Empty: Docker picks a free ephemeral port; status reports it.
                    host_port: Some(String::new()),
                };
                (
                    port_key(port.container_port, port.protocol),
                    Some(vec![binding]),
                )
            })
            .collect::<HashMap<_, _>>();
        // Validated: both fit in i64.
        let memory = i64::try_from(service.memory_bytes).unwrap_or(i64::MAX);
        let nano_cpus =
            i64::try_from(service.cpu_millis.saturating_mul(1_000_000)).unwrap_or(i64::MAX);

        let host_config = HostConfig {
            nano_cpus: Some(nano_cpus),
            memory: Some(memory),
            // Same as memory: no swap on top of the limit.
            memory_swap: Some(memory),
            pids_limit: Some(self.config.pids_limit),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            port_bindings: Some(port_bindings),
            network_mode: Some(workload_network.clone()),
            extra_hosts: (!extra_hosts.is_empty()).then(|| extra_hosts.to_vec()),
            log_config: Some(HostConfigLogConfig {
                typ: Some("json-file".to_string()),
                config: Some(HashMap::from([
                    ("max-size".to_string(), self.config.log_max_size.clone()),
                    (
                        "max-file".to_string(),
                        self.config.log_max_files.to_string(),
                    ),
                ])),
            }),
            ..Default::default()
        };
        // No DNS aliases: service names resolve through the hosts file to the host (the
        // network forbids direct container-to-container traffic anyway).
        let endpoint = EndpointSettings::default();
        let body = ContainerCreateBody {
            image: Some(service.image.clone()),
            entrypoint: (!service.command.is_empty()).then(|| service.command.clone()),
            cmd: (!service.args.is_empty()).then(|| service.args.clone()),
            env: Some(
                service
                    .env
                    .iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect(),
            ),
            labels: Some(labels),
            exposed_ports: Some(exposed_ports),
            host_config: Some(host_config),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(workload_network, endpoint)])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|error| lease_error(lease_id, "create container", &name, &error))?;
        for warning in &created.warnings {
            warn!(container = %name, %warning, "docker warning on create");
        }
        if service.has_global_port() {
            let ingress_network = self.ingress_network_name(lease_id);
            let request = NetworkConnectRequest {
                container: Some(created.id.clone()),
                endpoint_config: Some(EndpointSettings::default()),
            };
            self.docker
                .connect_network(&ingress_network, request)
                .await
                .map_err(|error| {
                    lease_error(
                        lease_id,
                        "connect to network",
                        &format!("{ingress_network} the container {name}"),
                        &error,
                    )
                })?;
        }
        info!(container = %name, id = %created.id, service = %service.name, instance, "container created");
        self.start_instance(lease_id, &name).await
    }

    async fn start_instance(&self, lease_id: u64, name: &str) -> Result<()> {
        self.docker
            .start_container(name, None::<StartContainerOptions>)
            .await
            .map_err(|error| lease_error(lease_id, "start container", name, &error))?;
        debug!(container = name, "container started");
        Ok(())
    }

    async fn remove_container(&self, lease_id: u64, id_or_name: &str) -> Result<()> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self
            .docker
            .remove_container(id_or_name, Some(options))
            .await
        {
            Ok(()) => Ok(()),
            Err(error) if is_not_found(&error) => Ok(()),
            Err(error) => Err(lease_error(
                lease_id,
                "remove container",
                id_or_name,
                &error,
            )),
        }
    }

    async fn instance_status(
        &self,
        lease_id: u64,
        summary: &ContainerSummary,
    ) -> Result<Option<InstanceStatus>> {
        let Some(id) = summary.id.as_deref() else {
            return Ok(None);
        };
        let Some((service, instance)) = service_and_instance(summary.labels.as_ref()) else {
            return Ok(None);
        };
        let inspect = match self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
        {
            Ok(inspect) => inspect,
            // Removed between listing and inspecting.
            Err(error) if is_not_found(&error) => return Ok(None),
            Err(error) => return Err(lease_error(lease_id, "inspect container", id, &error)),
        };
        Ok(Some(InstanceStatus {
            service,
            instance,
            container_id: id.to_string(),
            state: container_state(&inspect),
            restart_count: inspect
                .restart_count
                .and_then(|count| u64::try_from(count).ok())
                .unwrap_or(0),
            oom_killed: inspect
                .state
                .as_ref()
                .and_then(|state| state.oom_killed)
                .unwrap_or(false),
            host_ports: host_ports(&inspect),
            address: inspect
                .network_settings
                .as_ref()
                .and_then(|settings| settings.networks.as_ref())
                .and_then(|networks| networks.get(&self.workload_network_name(lease_id)))
                .and_then(|endpoint| endpoint.ip_address.as_deref())
                .and_then(|ip| ip.parse().ok()),
        }))
    }

    async fn instance_logs(
        &self,
        lease_id: u64,
        container_id: &str,
        instance: u32,
        tail: usize,
    ) -> Result<Vec<LogLine>> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: tail.to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(container_id, Some(options));
        let mut collector = LogCollector::new(instance);
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                    collector.push(LogStream::Stdout, &message)
                }
                Ok(LogOutput::StdErr { message }) => collector.push(LogStream::Stderr, &message),
                Ok(LogOutput::StdIn { .. }) => {}
                Err(error) if is_not_found(&error) => break,
                Err(error) => {
                    return Err(lease_error(
                        lease_id,
                        "read logs of container",
                        container_id,
                        &error,
                    ))
                }
            }
        }
        Ok(collector.finish())
    }
}

impl ContainerRuntime for DockerRuntime {
    #[instrument(name = "runtime_deploy", skip_all, fields(lease_id = spec.lease.lease_id, order_id = spec.lease.order_id))]
    async fn deploy(&self, spec: &DeploymentSpec) -> Result<DeploymentStatus> {
        spec.validate()?;
        let lease = spec.lease;
        let lease_id = lease.lease_id;
        let _lock = self.lease_locks.lock(lease_id).await;

        self.ensure_images(spec).await?;
        self.ensure_network(lease, &self.workload_network_name(lease_id), true)
            .await?;
        // Every service of the lease and every peer service of other groups resolves to the
        // host on the workload network, where the daemon's forwarders listen.
        let names = spec
            .services
            .iter()
            .map(|service| &service.name)
            .chain(&spec.peer_hosts);
        let gateway = self.workload_gateway(lease_id).await?;
        // Peer names are part of a container's fingerprint (a new peer set recreates it); the
        // group's own names are not, so adding a service leaves running containers alone (they
        // get the new name when next recreated).
        let peer_hosts: Vec<String> = spec.peer_hosts.clone();
        let extra_hosts: Vec<String> = match gateway {
            Some(gateway) => names.map(|name| format!("{name}:{gateway}")).collect(),
            None => {
                return Err(RuntimeError::Docker {
                    lease_id,
                    action: "find the gateway address of",
                    object: self.workload_network_name(lease_id),
                    message: "needed to name the services in the containers".to_string(),
                })
            }
        };
        if spec.services.iter().any(ServiceSpec::has_global_port) {
            self.ensure_network(lease, &self.ingress_network_name(lease_id), false)
                .await?;
        }

        let fingerprints: HashMap<&str, String> = spec
            .services
            .iter()
            .map(|service| {
                (
                    service.name.as_str(),
                    self.spec_sha256(service, &peer_hosts),
                )
            })
            .collect();

        // Keep what matches the spec, remove what does not (old spec, scaled down, dropped).
        let mut kept: HashMap<(String, u32), (String, Option<ContainerSummaryStateEnum>)> =
            HashMap::new();
        for summary in self.lease_containers(lease_id, None).await? {
            let Some(id) = summary.id.clone() else {
                continue;
            };
            let labels = summary.labels.as_ref();
            let current = service_and_instance(labels).and_then(|(service, instance)| {
                let wanted = spec
                    .service(&service)
                    .is_some_and(|wanted| instance < wanted.count);
                let same_spec = labels.and_then(|labels| labels.get(LABEL_SPEC_SHA256))
                    == fingerprints.get(service.as_str());
                (wanted && same_spec).then_some((service, instance))
            });
            let dead = summary.state == Some(ContainerSummaryStateEnum::DEAD);
            match current {
                Some(key) if !dead => {
                    kept.insert(key, (id, summary.state));
                }
                _ => {
                    info!(container = %id, labels = ?labels, "removing container not matching the spec");
                    self.remove_container(lease_id, &id).await?;
                }
            }
        }

        for service in &spec.services {
            for instance in 0..service.count {
                match kept.get(&(service.name.clone(), instance)) {
                    None => {
                        self.create_instance(
                            lease,
                            service,
                            instance,
                            &fingerprints[service.name.as_str()],
                            &extra_hosts,
                        )
                        .await?
                    }
                    Some((id, Some(ContainerSummaryStateEnum::CREATED)))
                    | Some((id, Some(ContainerSummaryStateEnum::EXITED))) => {
                        info!(container = %id, service = %service.name, instance, "starting stopped container");
                        self.start_instance(lease_id, id).await?
                    }
                    Some((id, state)) => {
                        debug!(container = %id, ?state, "container left as it is")
                    }
                }
            }
        }
        self.status(lease_id).await
    }

    #[instrument(name = "runtime_status", skip_all, fields(lease_id = lease_id))]
    async fn status(&self, lease_id: u64) -> Result<DeploymentStatus> {
        let containers = self.lease_containers(lease_id, None).await?;
        let order_id = containers
            .iter()
            .find_map(|summary| label_u64(summary.labels.as_ref(), LABEL_ORDER_ID))
            .ok_or(RuntimeError::LeaseNotFound { lease_id })?;
        let mut instances = Vec::with_capacity(containers.len());
        for summary in &containers {
            if let Some(status) = self.instance_status(lease_id, summary).await? {
                instances.push(status);
            }
        }
        instances.sort_by(|left, right| {
            (&left.service, left.instance).cmp(&(&right.service, right.instance))
        });
        let gateway = self.workload_gateway(lease_id).await?;
        Ok(DeploymentStatus {
            lease: LeaseRef { lease_id, order_id },
            instances,
            gateway,
        })
    }

    #[instrument(name = "runtime_logs", skip_all, fields(lease_id = lease_id, service = service))]
    async fn logs(&self, lease_id: u64, service: &str, tail: usize) -> Result<Vec<LogLine>> {
        let containers = self.service_containers(lease_id, service).await?;
        let mut lines = Vec::new();
        for (instance, id) in containers {
            lines.extend(self.instance_logs(lease_id, &id, instance, tail).await?);
        }
        Ok(lines)
    }

    #[instrument(name = "runtime_teardown", skip_all, fields(lease_id = lease_id))]
    async fn teardown(&self, lease_id: u64) -> Result<()> {
        let _lock = self.lease_locks.lock(lease_id).await;
        let containers = self.lease_containers(lease_id, None).await?;
        for summary in &containers {
            if let Some(id) = summary.id.as_deref() {
                self.remove_container(lease_id, id).await?;
            }
        }
        let options = ListNetworksOptions {
            filters: Some(HashMap::from([(
                "label".to_string(),
                self.lease_filters(lease_id),
            )])),
        };
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .map_err(|error| lease_error(lease_id, "list networks of", "the lease", &error))?;
        for network in &networks {
            let Some(id) = network.id.as_deref() else {
                continue;
            };
            let name = network.name.as_deref().unwrap_or(id);
            match self.docker.remove_network(id).await {
                Ok(()) => {}
                Err(error) if is_not_found(&error) => {}
                Err(error) => return Err(lease_error(lease_id, "remove network", name, &error)),
            }
        }
        info!(
            containers = containers.len(),
            networks = networks.len(),
            "lease torn down"
        );
        Ok(())
    }

    #[instrument(name = "runtime_list_leases", skip_all)]
    async fn list_leases(&self) -> Result<Vec<LeaseRef>> {
        let mut labels = self.owner.label_filters();
        labels.push(LABEL_LEASE_ID.to_string());
        let filters = Some(HashMap::from([("label".to_string(), labels)]));
        let containers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: filters.clone(),
                ..Default::default()
            }))
            .await
            .map_err(|error| engine_error("list containers", &error))?;
        let networks = self
            .docker
            .list_networks(Some(ListNetworksOptions { filters }))
            .await
            .map_err(|error| engine_error("list networks", &error))?;

        let mut leases = BTreeMap::new();
        let labelled = containers
            .iter()
            .map(|summary| summary.labels.as_ref())
            .chain(networks.iter().map(|network| network.labels.as_ref()));
        for labels in labelled {
            match (
                label_u64(labels, LABEL_LEASE_ID),
                label_u64(labels, LABEL_ORDER_ID),
            ) {
                (Some(lease_id), Some(order_id)) => {
                    leases.entry(lease_id).or_insert(order_id);
                }
                _ => warn!(
                    ?labels,
                    "docker object with unreadable lease labels ignored"
                ),
            }
        }
        Ok(leases
            .into_iter()
            .map(|(lease_id, order_id)| LeaseRef { lease_id, order_id })
            .collect())
    }

    async fn host_capacity(&self) -> Result<HostCapacity> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|error| engine_error("read host information (docker info)", &error))?;
        let cpus = info.ncpu.and_then(|cpus| u64::try_from(cpus).ok());
        let memory_bytes = info.mem_total.and_then(|bytes| u64::try_from(bytes).ok());
        match (cpus, memory_bytes) {
            (Some(cpus), Some(memory_bytes)) => Ok(HostCapacity {
                cpu_millis: cpus.saturating_mul(1000),
                memory_bytes,
            }),
            _ => Err(RuntimeError::Engine {
                action: "read host information (docker info)",
                message: format!(
                    "NCPU {:?} or MemTotal {:?} missing",
                    info.ncpu, info.mem_total
                ),
            }),
        }
    }
}

impl DockerRuntime {
    /// Runs `command` inside the first instance of `service` of lease `lease_id` (a container
    /// of this runtime's owner) and returns its exit code and output.
    /// Not part of the provider's API: `akash sandbox` uses it to show a service reaching its
    /// peers through the overlay.
    pub async fn exec(&self, lease_id: u64, service: &str, command: &[&str]) -> Result<ExecOutput> {
        let (_, id) = self.service_containers(lease_id, service).await?.remove(0);
        let options = CreateExecOptions {
            cmd: Some(command.to_vec()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(&id, options)
            .await
            .map_err(|error| lease_error(lease_id, "exec in container", &id, &error))?;
        let started = self
            .docker
            .start_exec(&created.id, None::<StartExecOptions>)
            .await
            .map_err(|error| lease_error(lease_id, "exec in container", &id, &error))?;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        if let StartExecResults::Attached {
            output: mut stream, ..
        } = started
        {
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                        stdout.extend_from_slice(&message)
                    }
                    Ok(LogOutput::StdErr { message }) => stderr.extend_from_slice(&message),
                    Ok(LogOutput::StdIn { .. }) => {}
                    Err(error) => {
                        return Err(lease_error(lease_id, "exec in container", &id, &error))
                    }
                }
            }
        }
        let inspected = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(|error| lease_error(lease_id, "inspect exec in container", &id, &error))?;
        Ok(ExecOutput {
            exit_code: inspected.exit_code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    /// Covers every input of [`DockerRuntime::create_instance`] except the instance index.
    fn spec_sha256(&self, service: &ServiceSpec, extra_hosts: &[String]) -> String {
        let mut inputs = serde_json::json!({
            "image": service.image,
            "command": service.command,
            "args": service.args,
            "env": service.env,
            "cpu_millis": service.cpu_millis,
            "memory_bytes": service.memory_bytes,
            "ports": service.ports,
            "publish_host_ip": self.config.publish_host_ip,
            "pids_limit": self.config.pids_limit,
        });
        // Only when there are peers, so containers without any keep their fingerprint.
        if !extra_hosts.is_empty() {
            inputs["extra_hosts"] = serde_json::json!(extra_hosts);
        }
        let digest = Sha256::digest(inputs.to_string().as_bytes());
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// What [`DockerRuntime::exec`] got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// `None` when the engine did not report one.
    pub exit_code: Option<i64>,
    pub stdout: String,
    pub stderr: String,
}

/// Serialises deploy and teardown of one lease inside this process; entries are dropped once
/// nobody holds or waits for them.
#[derive(Default)]
struct LeaseLocks {
    locks: Mutex<HashMap<u64, Arc<tokio::sync::Mutex<()>>>>,
}

struct LeaseLockGuard<'a> {
    locks: &'a LeaseLocks,
    lease_id: u64,
    guard: Option<OwnedMutexGuard<()>>,
}

impl LeaseLocks {
    async fn lock(&self, lease_id: u64) -> LeaseLockGuard<'_> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(lease_id)
            .or_default()
            .clone();
        LeaseLockGuard {
            locks: self,
            lease_id,
            guard: Some(lock.lock_owned().await),
        }
    }
}

impl Drop for LeaseLockGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut locks = self
            .locks
            .locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if locks
            .get(&self.lease_id)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&self.lease_id);
        }
    }
}

/// Splits log chunks into lines; Docker sends one chunk per log entry, but a chunk may hold
/// several lines or end without a newline.
struct LogCollector {
    instance: u32,
    lines: Vec<LogLine>,
    partial: Vec<(LogStream, Vec<u8>)>,
}

impl LogCollector {
    fn new(instance: u32) -> Self {
        LogCollector {
            instance,
            lines: Vec::new(),
            partial: Vec::new(),
        }
    }

    fn push(&mut self, stream: LogStream, bytes: &[u8]) {
        let position = match self.partial.iter().position(|(open, _)| *open == stream) {
            Some(position) => position,
            None => {
                self.partial.push((stream, Vec::new()));
                self.partial.len() - 1
            }
        };
        for &byte in bytes {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.partial[position].1);
                self.emit(stream, &line);
            } else {
                self.partial[position].1.push(byte);
            }
        }
    }

    fn emit(&mut self, stream: LogStream, bytes: &[u8]) {
        let line = String::from_utf8_lossy(bytes);
        self.lines.push(LogLine {
            instance: self.instance,
            stream,
            line: line.strip_suffix('\r').unwrap_or(&line).to_string(),
        });
    }

    fn finish(mut self) -> Vec<LogLine> {
        for (stream, bytes) in std::mem::take(&mut self.partial) {
            if !bytes.is_empty() {
                self.emit(stream, &bytes);
            }
        }
        self.lines
    }
}

fn label_u64(labels: Option<&HashMap<String, String>>, key: &str) -> Option<u64> {
    labels?.get(key)?.parse().ok()
}

fn service_and_instance(labels: Option<&HashMap<String, String>>) -> Option<(String, u32)> {
    let service = labels?.get(LABEL_SERVICE)?.clone();
    let instance = labels?.get(LABEL_INSTANCE)?.parse().ok()?;
    Some((service, instance))
}

fn port_key(container_port: u16, protocol: Protocol) -> String {
    format!("{container_port}/{protocol}")
}

fn container_state(inspect: &ContainerInspectResponse) -> ContainerState {
    let Some(state) = inspect.state.as_ref() else {
        return ContainerState::Unknown {
            docker_state: String::new(),
        };
    };
    let exit_code = state.exit_code.unwrap_or(0);
    match state.status {
        Some(ContainerStateStatusEnum::CREATED) => ContainerState::Created,
        Some(ContainerStateStatusEnum::RUNNING) => ContainerState::Running,
        Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting {
            last_exit_code: exit_code,
        },
        Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited { exit_code },
        Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead { exit_code },
        Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
        Some(ContainerStateStatusEnum::EMPTY) | None => ContainerState::Unknown {
            docker_state: state
                .status
                .map(|status| status.to_string())
                .unwrap_or_default(),
        },
    }
}

fn host_ports(inspect: &ContainerInspectResponse) -> Vec<HostPort> {
    let Some(ports) = inspect
        .network_settings
        .as_ref()
        .and_then(|settings| settings.ports.as_ref())
    else {
        return Vec::new();
    };
    let mut host_ports = Vec::new();
    for (key, bindings) in ports {
        let Some((port, protocol)) = key.split_once('/') else {
            continue;
        };
        let (Ok(container_port), Some(protocol)) = (
            port.parse::<u16>(),
            match protocol {
                "tcp" => Some(Protocol::Tcp),
                "udp" => Some(Protocol::Udp),
                _ => None,
            },
        ) else {
            continue;
        };
        for binding in bindings.iter().flatten() {
            let Some(host_port) = binding
                .host_port
                .as_deref()
                .and_then(|port| port.parse::<u16>().ok())
            else {
                continue;
            };
            host_ports.push(HostPort {
                container_port,
                protocol,
                host_ip: binding.host_ip.clone().unwrap_or_default(),
                host_port,
            });
        }
    }
    host_ports.sort_by_key(|port| (port.container_port, port.protocol, port.host_port));
    host_ports
}

/// `(repository, tag or digest)`; without either, `latest` (an empty tag would make Docker
/// pull every tag of the repository).
fn split_image_reference(image: &str) -> (&str, &str) {
    if let Some((repository, digest)) = image.split_once('@') {
        return (repository, digest);
    }
    let name_start = image.rfind('/').map_or(0, |slash| slash + 1);
    match image[name_start..].rfind(':') {
        Some(colon) => (
            &image[..name_start + colon],
            &image[name_start + colon + 1..],
        ),
        None => (image, "latest"),
    }
}

fn is_not_found(error: &BollardError) -> bool {
    matches!(
        error,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Docker's own message without bollard's wrapping where there is one.
fn docker_message(error: &BollardError) -> String {
    match error {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => format!("{message} (HTTP {status_code})"),
        BollardError::DockerStreamError { error } => error.clone(),
        other => other.to_string(),
    }
}

fn lease_error(
    lease_id: u64,
    action: &'static str,
    object: &str,
    error: &BollardError,
) -> RuntimeError {
    RuntimeError::Docker {
        lease_id,
        action,
        object: object.to_string(),
        message: docker_message(error),
    }
}

fn engine_error(action: &'static str, error: &BollardError) -> RuntimeError {
    RuntimeError::Engine {
        action,
        message: docker_message(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_repository_and_tag() {
        assert_eq!(split_image_reference("busybox"), ("busybox", "latest"));
        assert_eq!(split_image_reference("busybox:1.36"), ("busybox", "1.36"));
        assert_eq!(
            split_image_reference("akash-test/busybox:latest"),
            ("akash-test/busybox", "latest")
        );
        assert_eq!(
            split_image_reference("registry.local:5000/team/app"),
            ("registry.local:5000/team/app", "latest")
        );
        assert_eq!(
            split_image_reference("registry.local:5000/team/app:v2"),
            ("registry.local:5000/team/app", "v2")
        );
        assert_eq!(
            split_image_reference("app@sha256:abcd"),
            ("app", "sha256:abcd")
        );
    }

    #[test]
    fn owners_get_distinct_stable_name_tags() {
        let owner = RuntimeOwner::new("akash-localnet", "akash1provider");
        let tag = owner.name_tag();
        assert_eq!(tag.len(), 10);
        assert!(tag.bytes().all(|byte| byte.is_ascii_hexdigit()), "{tag}");
        assert_eq!(
            RuntimeOwner::new("akash-localnet", "akash1provider").name_tag(),
            tag
        );
        assert_ne!(
            RuntimeOwner::new("akash-localnet", "akash1other").name_tag(),
            tag
        );
        assert_ne!(
            RuntimeOwner::new("other-chain", "akash1provider").name_tag(),
            tag
        );
        assert_eq!(
            owner.label_filters(),
            vec![
                "akash.chain_id=akash-localnet".to_string(),
                "akash.provider=akash1provider".to_string()
            ]
        );
    }

    #[test]
    fn log_chunks_become_lines_per_stream() {
        let mut collector = LogCollector::new(2);
        collector.push(LogStream::Stdout, b"first\nsec");
        collector.push(LogStream::Stderr, b"oops\r\n");
        collector.push(LogStream::Stdout, b"ond\n");
        collector.push(LogStream::Stdout, b"no newline");
        let lines: Vec<(LogStream, String)> = collector
            .finish()
            .into_iter()
            .map(|line| {
                assert_eq!(line.instance, 2);
                (line.stream, line.line)
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                (LogStream::Stdout, "first".to_string()),
                (LogStream::Stderr, "oops".to_string()),
                (LogStream::Stdout, "second".to_string()),
                (LogStream::Stdout, "no newline".to_string()),
            ]
        );
    }

    #[tokio::test]
    async fn lease_locks_are_released_and_forgotten() {
        let locks = LeaseLocks::default();
        {
            let _first = locks.lock(5).await;
            assert!(locks.locks.lock().unwrap().contains_key(&5));
        }
        assert!(locks.locks.lock().unwrap().is_empty());
        let _again = locks.lock(5).await;
    }
}
