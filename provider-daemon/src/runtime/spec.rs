//! What the runtime is asked to run for one lease, independent of the SDL manifest crate
//! (the daemon maps manifest groups onto these types), and the checks done before Docker sees it.

use serde::{Deserialize, Serialize};

use super::error::RuntimeError;

/// Docker refuses CPU limits below 0.01 CPU.
pub const MIN_CPU_MILLIS: u64 = 10;
/// Docker refuses memory limits below 6 MiB.
pub const MIN_MEMORY_BYTES: u64 = 6 * 1024 * 1024;
/// Service names become DNS names inside the lease network, so they follow DNS label rules.
pub const MAX_SERVICE_NAME_LEN: usize = 63;

/// The on-chain identity of a lease; every container and network carries both ids as labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LeaseRef {
    pub lease_id: u64,
    pub order_id: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    /// The suffix Docker uses in port keys such as `80/tcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortSpec {
    pub container_port: u16,
    pub protocol: Protocol,
    /// Published on the provider's host (an `expose.to: global` in the SDL); other ports are
    /// reachable only from the lease's own services.
    pub global: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ServiceSpec {
    /// DNS label: the other services of the lease reach this one by this name.
    pub name: String,
    pub image: String,
    /// Replaces the image's entrypoint when not empty (the SDL's `command`).
    pub command: Vec<String>,
    /// Replaces the image's CMD when not empty (the SDL's `args`).
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Per instance; 1000 is one CPU.
    pub cpu_millis: u64,
    /// Per instance.
    pub memory_bytes: u64,
    /// Number of instances (containers) of this service.
    pub count: u32,
    pub ports: Vec<PortSpec>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentSpec {
    pub lease: LeaseRef,
    pub services: Vec<ServiceSpec>,
    /// Services of other groups this lease's containers reach through the overlay: each name
    /// resolves, inside every container, to the host's address on the workload network.
    #[serde(default)]
    pub peer_hosts: Vec<String>,
}

impl ServiceSpec {
    pub fn has_global_port(&self) -> bool {
        self.ports.iter().any(|port| port.global)
    }
}

impl DeploymentSpec {
    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|service| service.name == name)
    }

    /// Checks everything Docker would otherwise reject halfway through a deployment.
    pub fn validate(&self) -> Result<(), RuntimeError> {
        let lease_id = self.lease.lease_id;
        let invalid = |reason: String| RuntimeError::InvalidSpec { lease_id, reason };
        if self.services.is_empty() {
            return Err(invalid("the deployment has no services".to_string()));
        }
        for (index, service) in self.services.iter().enumerate() {
            let name = &service.name;
            if !is_dns_label(name) {
                return Err(invalid(format!(
                    "service name {name:?} must be 1 to {MAX_SERVICE_NAME_LEN} lowercase letters, \
                     digits or '-', starting with a letter and not ending with '-'"
                )));
            }
            if self.services[..index]
                .iter()
                .any(|other| &other.name == name)
            {
                return Err(invalid(format!("service name {name:?} appears twice")));
            }
            if service.image.trim().is_empty() || service.image.chars().any(char::is_whitespace) {
                return Err(invalid(format!(
                    "service {name}: image {:?} is not an image reference",
                    service.image
                )));
            }
            if service.count == 0 {
                return Err(invalid(format!("service {name}: count must be at least 1")));
            }
            if service.cpu_millis < MIN_CPU_MILLIS {
                return Err(invalid(format!(
                    "service {name}: cpu_millis {} is below the minimum of {MIN_CPU_MILLIS}",
                    service.cpu_millis
                )));
            }
            if service.memory_bytes < MIN_MEMORY_BYTES {
                return Err(invalid(format!(
                    "service {name}: memory_bytes {} is below the minimum of {MIN_MEMORY_BYTES}",
                    service.memory_bytes
                )));
            }
            // Docker takes both limits as i64 (CPU in nano-CPUs).
            let nano_cpus = service
                .cpu_millis
                .checked_mul(1_000_000)
                .and_then(|nano| i64::try_from(nano).ok());
            if nano_cpus.is_none() || i64::try_from(service.memory_bytes).is_err() {
                return Err(invalid(format!(
                    "service {name}: cpu_millis {} or memory_bytes {} is too large",
                    service.cpu_millis, service.memory_bytes
                )));
            }
            for (key, _) in &service.env {
                if key.is_empty() || key.contains('=') || key.contains('\0') {
                    return Err(invalid(format!(
                        "service {name}: environment variable name {key:?} is empty or contains '=' or NUL"
                    )));
                }
            }
            for (port_index, port) in service.ports.iter().enumerate() {
                if port.container_port == 0 {
                    return Err(invalid(format!("service {name}: container port 0")));
                }
                let duplicate = service.ports[..port_index].iter().any(|other| {
                    other.container_port == port.container_port && other.protocol == port.protocol
                });
                if duplicate {
                    return Err(invalid(format!(
                        "service {name}: port {}/{} appears twice",
                        port.container_port, port.protocol
                    )));
                }
            }
        }
        Ok(())
    }
}

fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_SERVICE_NAME_LEN
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web() -> ServiceSpec {
        ServiceSpec {
            name: "web".to_string(),
            image: "akash-test/busybox:latest".to_string(),
            command: vec![],
            args: vec![],
            env: vec![("MODE".to_string(), "test".to_string())],
            cpu_millis: 250,
            memory_bytes: 64 * 1024 * 1024,
            count: 1,
            ports: vec![PortSpec {
                container_port: 80,
                protocol: Protocol::Tcp,
                global: true,
            }],
        }
    }

    fn deployment(services: Vec<ServiceSpec>) -> DeploymentSpec {
        DeploymentSpec {
            peer_hosts: vec![],
            lease: LeaseRef {
                lease_id: 7,
                order_id: 3,
            },
            services,
        }
    }

    fn reason(spec: &DeploymentSpec) -> String {
        match spec.validate() {
            Err(RuntimeError::InvalidSpec {
                lease_id: 7,
                reason,
            }) => reason,
            other => panic!("expected InvalidSpec for lease 7, got {other:?}"),
        }
    }

    #[test]
    fn valid_spec_passes() {
        deployment(vec![web()]).validate().unwrap();
    }

    #[test]
    fn each_invalid_field_is_named() {
        assert!(reason(&deployment(vec![])).contains("no services"));

        let mut upper = web();
        upper.name = "Web".to_string();
        assert!(reason(&deployment(vec![upper])).contains("\"Web\""));

        let mut trailing_dash = web();
        trailing_dash.name = "web-".to_string();
        assert!(reason(&deployment(vec![trailing_dash])).contains("\"web-\""));

        assert!(reason(&deployment(vec![web(), web()])).contains("appears twice"));

        let mut no_image = web();
        no_image.image = " ".to_string();
        assert!(reason(&deployment(vec![no_image])).contains("not an image reference"));

        let mut zero = web();
        zero.count = 0;
        assert!(reason(&deployment(vec![zero])).contains("count must be at least 1"));

        let mut tiny_cpu = web();
        tiny_cpu.cpu_millis = 9;
        assert!(reason(&deployment(vec![tiny_cpu])).contains("cpu_millis 9"));

        let mut tiny_memory = web();
        tiny_memory.memory_bytes = 1024;
        assert!(reason(&deployment(vec![tiny_memory])).contains("memory_bytes 1024"));

        let mut huge_cpu = web();
        huge_cpu.cpu_millis = u64::MAX;
        assert!(reason(&deployment(vec![huge_cpu])).contains("too large"));

        let mut bad_env = web();
        bad_env.env.push(("A=B".to_string(), "c".to_string()));
        assert!(reason(&deployment(vec![bad_env])).contains("\"A=B\""));

        let mut port_zero = web();
        port_zero.ports[0].container_port = 0;
        assert!(reason(&deployment(vec![port_zero])).contains("container port 0"));

        let mut same_port = web();
        same_port.ports.push(same_port.ports[0].clone());
        assert!(reason(&deployment(vec![same_port])).contains("80/tcp appears twice"));
    }

    #[test]
    fn same_port_number_on_tcp_and_udp_is_allowed() {
        let mut service = web();
        service.ports.push(PortSpec {
            container_port: 80,
            protocol: Protocol::Udp,
            global: false,
        });
        deployment(vec![service]).validate().unwrap();
    }
}
