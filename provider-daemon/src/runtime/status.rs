//! What the runtime reports back: per-instance container state and published ports, log lines,
//! and the host's capacity for the bid engine.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::spec::{LeaseRef, Protocol};

/// State of every container of one lease, ordered by service name then instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentStatus {
    pub lease: LeaseRef,
    pub instances: Vec<InstanceStatus>,
    /// The host's address on the lease's workload network: where the overlay's forwarders
    /// listen, and what peer service names resolve to inside the containers.
    #[serde(default)]
    pub gateway: Option<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub service: String,
    /// 0-based index among the service's `count` instances.
    pub instance: u32,
    pub container_id: String,
    pub state: ContainerState,
    /// Times Docker restarted the container under its restart policy.
    pub restart_count: u64,
    /// The kernel killed the last run for exceeding the memory limit.
    pub oom_killed: bool,
    /// Ports published on the host for the service's global exposes.
    pub host_ports: Vec<HostPort>,
    /// The container's address on the lease's workload network.
    #[serde(default)]
    pub address: Option<IpAddr>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    /// Exited and waiting for the restart policy to start it again.
    Restarting {
        last_exit_code: i64,
    },
    Exited {
        exit_code: i64,
    },
    Dead {
        exit_code: i64,
    },
    Removing,
    /// A state this version does not know, as Docker spelled it.
    Unknown {
        docker_state: String,
    },
}

impl ContainerState {
    pub fn is_running(&self) -> bool {
        matches!(self, ContainerState::Running)
    }

    /// The exit code of the last run, for containers that are not running.
    pub fn exit_code(&self) -> Option<i64> {
        match self {
            ContainerState::Restarting { last_exit_code } => Some(*last_exit_code),
            ContainerState::Exited { exit_code } | ContainerState::Dead { exit_code } => {
                Some(*exit_code)
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPort {
    pub container_port: u16,
    pub protocol: Protocol,
    pub host_ip: String,
    pub host_port: u16,
}

impl DeploymentStatus {
    pub fn instances_of<'a>(&'a self, service: &str) -> impl Iterator<Item = &'a InstanceStatus> {
        let service = service.to_string();
        self.instances
            .iter()
            .filter(move |instance| instance.service == service)
    }

    /// The host port published for `container_port`/tcp of the first instance of `service`.
    pub fn host_port(&self, service: &str, container_port: u16) -> Option<u16> {
        self.instances_of(service).find_map(|instance| {
            instance
                .host_ports
                .iter()
                .find(|port| {
                    port.container_port == container_port && port.protocol == Protocol::Tcp
                })
                .map(|port| port.host_port)
        })
    }

    pub fn all_running(&self) -> bool {
        self.instances
            .iter()
            .all(|instance| instance.state.is_running())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogStream {
    Stdout,
    Stderr,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub instance: u32,
    pub stream: LogStream,
    /// Without its trailing newline; invalid UTF-8 replaced.
    pub line: String,
}

/// What the Docker host has in total; the bid engine subtracts what leases hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCapacity {
    pub cpu_millis: u64,
    pub memory_bytes: u64,
}
