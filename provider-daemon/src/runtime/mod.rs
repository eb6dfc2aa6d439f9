//! Runs leases' workloads as containers: one network per lease, one container per service
//! instance, everything labelled so state can be rebuilt from Docker after a daemon restart.
//!
//! [`ContainerRuntime`] is what the rest of the daemon uses; [`DockerRuntime`] implements it
//! with bollard against the local Docker engine, [`FakeRuntime`] in memory for unit tests.
//!
//! Docker layout of lease `N` (names from [`DockerRuntime`], labels `akash.*`). `T` is the
//! [`RuntimeOwner::name_tag`] of the runtime's chain id and provider: one engine may run the
//! leases of several providers and chains, and every object also carries both as labels
//! (`akash.chain_id`, `akash.provider`), by which a runtime finds only its own.
//! - network `akash-T-lease-N`: internal bridge; every container joins it with its service name
//!   (and `<service>-<instance>`) as alias. Internal means no traffic leaves it: services
//!   without global ports have no outbound internet, and other leases' bridges are apart.
//! - network `akash-T-lease-N-ingress`, only if a service has a global port: Docker publishes
//!   no ports of containers that sit only on internal networks, so those containers also join
//!   this bridge (container-to-container traffic disabled on it); it also gives them egress.
//! - container `akash-T-N-<service>-<instance>`: CPU and memory limits, restart
//!   unless-stopped, global ports published on 127.0.0.1 (configurable) with an ephemeral
//!   host port.
//!
//! Objects of older versions, without the owner labels, are left alone (not adopted).

mod docker;
mod error;
mod fake;
mod spec;
mod status;

use std::future::Future;

/// The engine client [`DockerRuntime::connect_engine`] returns, for sharing between owners.
pub use bollard::Docker;
pub use docker::{
    DockerConfig, DockerRuntime, ExecOutput, RuntimeOwner, LABEL_CHAIN_ID, LABEL_INSTANCE,
    LABEL_LEASE_ID, LABEL_NETWORK_ROLE, LABEL_ORDER_ID, LABEL_PROVIDER, LABEL_SERVICE,
    LABEL_SPEC_SHA256,
};
pub use error::RuntimeError;
pub use fake::FakeRuntime;
pub use spec::{
    DeploymentSpec, LeaseRef, PortSpec, Protocol, ServiceSpec, MAX_SERVICE_NAME_LEN,
    MIN_CPU_MILLIS, MIN_MEMORY_BYTES,
};
pub use status::{
    ContainerState, DeploymentStatus, HostCapacity, HostPort, InstanceStatus, LogLine, LogStream,
};

pub type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// The container operations the daemon needs. Every operation is idempotent, and all state
/// lives in the runtime (container labels), never only in the daemon's memory.
pub trait ContainerRuntime: Send + Sync {
    /// Brings the lease's containers in line with `spec`: creates what is missing, starts what
    /// is stopped, replaces instances whose spec changed and removes surplus ones. Running
    /// containers whose spec is unchanged are left alone, so deploying twice is harmless.
    /// Images absent locally are pulled first; if that fails nothing is created.
    fn deploy(
        &self,
        spec: &DeploymentSpec,
    ) -> impl Future<Output = Result<DeploymentStatus>> + Send;

    /// State and published ports of every instance; [`RuntimeError::LeaseNotFound`] if the
    /// lease has no containers.
    fn status(&self, lease_id: u64) -> impl Future<Output = Result<DeploymentStatus>> + Send;

    /// The last `tail` lines of stdout and stderr of each instance of `service` (instance by
    /// instance, each in time order); also available after the containers exited.
    fn logs(
        &self,
        lease_id: u64,
        service: &str,
        tail: usize,
    ) -> impl Future<Output = Result<Vec<LogLine>>> + Send;

    /// Removes the lease's containers and networks; succeeds if there is nothing to remove.
    fn teardown(&self, lease_id: u64) -> impl Future<Output = Result<()>> + Send;

    /// Every lease that has containers or networks, for rebuilding state after a restart;
    /// only this runtime's own where an engine serves several ([`RuntimeOwner`]).
    fn list_leases(&self) -> impl Future<Output = Result<Vec<LeaseRef>>> + Send;

    /// CPUs and memory of the host the containers run on.
    fn host_capacity(&self) -> impl Future<Output = Result<HostCapacity>> + Send;
}
