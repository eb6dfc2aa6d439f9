//! An in-memory [`ContainerRuntime`] with the same contract as the Docker one, so the daemon's
//! lease handling can be unit-tested without an engine; tests steer it (missing images, exits).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::error::RuntimeError;
use super::spec::{DeploymentSpec, LeaseRef, ServiceSpec};
use super::status::{
    ContainerState, DeploymentStatus, HostCapacity, HostPort, InstanceStatus, LogLine, LogStream,
};
use super::{ContainerRuntime, Result};

/// Host ports handed out by the fake start here, like Docker's ephemeral range.
const FIRST_FAKE_HOST_PORT: u16 = 32768;

pub struct FakeRuntime {
    capacity: HostCapacity,
    state: Mutex<FakeState>,
}

#[derive(Default)]
struct FakeState {
    leases: BTreeMap<u64, FakeLease>,
    missing_images: HashSet<String>,
    next_host_port: u16,
    next_container: u64,
    deploy_calls: u64,
}

struct FakeLease {
    lease: LeaseRef,
    spec: DeploymentSpec,
    instances: Vec<(InstanceStatus, ServiceSpec)>,
    logs: Vec<(String, LogLine)>,
}

impl FakeRuntime {
    pub fn new(capacity: HostCapacity) -> Self {
        FakeRuntime {
            capacity,
            state: Mutex::new(FakeState {
                next_host_port: FIRST_FAKE_HOST_PORT,
                ..FakeState::default()
            }),
        }
    }

    /// Deploying a service with this image fails like a failed pull.
    pub fn with_missing_image(self, image: &str) -> Self {
        self.lock().missing_images.insert(image.to_string());
        self
    }

    /// Sets an instance's state as if its process changed; false if there is no such instance.
    pub fn set_state(
        &self,
        lease_id: u64,
        service: &str,
        instance: u32,
        state: ContainerState,
    ) -> bool {
        let mut fake = self.lock();
        let found = fake.leases.get_mut(&lease_id).and_then(|lease| {
            lease
                .instances
                .iter_mut()
                .find(|(status, _)| status.service == service && status.instance == instance)
        });
        match found {
            Some((status, _)) => {
                status.state = state;
                true
            }
            None => false,
        }
    }

    /// Appends a line to an instance's logs.
    pub fn push_log(
        &self,
        lease_id: u64,
        service: &str,
        instance: u32,
        stream: LogStream,
        line: &str,
    ) {
        if let Some(lease) = self.lock().leases.get_mut(&lease_id) {
            lease.logs.push((
                service.to_string(),
                LogLine {
                    instance,
                    stream,
                    line: line.to_string(),
                },
            ));
        }
    }

    /// The spec the lease was last deployed with.
    pub fn deployed_spec(&self, lease_id: u64) -> Option<DeploymentSpec> {
        self.lock()
            .leases
            .get(&lease_id)
            .map(|lease| lease.spec.clone())
    }

    pub fn deploy_calls(&self) -> u64 {
        self.lock().deploy_calls
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A service spec with `count` cleared: instances are replaced only when something else changed.
fn without_count(service: &ServiceSpec) -> ServiceSpec {
    ServiceSpec {
        count: 0,
        ..service.clone()
    }
}

fn status_of(lease: &FakeLease) -> DeploymentStatus {
    let mut instances: Vec<InstanceStatus> = lease
        .instances
        .iter()
        .map(|(status, _)| status.clone())
        .collect();
    instances.sort_by(|left, right| {
        (&left.service, left.instance).cmp(&(&right.service, right.instance))
    });
    DeploymentStatus {
        lease: lease.lease,
        instances,
        gateway: None,
    }
}

impl ContainerRuntime for FakeRuntime {
    async fn deploy(&self, spec: &DeploymentSpec) -> Result<DeploymentStatus> {
        spec.validate()?;
        let lease_id = spec.lease.lease_id;
        let mut guard = self.lock();
        let fake = &mut *guard;
        fake.deploy_calls += 1;
        if let Some(service) = spec
            .services
            .iter()
            .find(|service| fake.missing_images.contains(&service.image))
        {
            return Err(RuntimeError::ImageUnavailable {
                lease_id,
                service: service.name.clone(),
                image: service.image.clone(),
                message: "fake runtime: image marked missing".to_string(),
            });
        }
        let lease = fake.leases.entry(lease_id).or_insert_with(|| FakeLease {
            lease: spec.lease,
            spec: spec.clone(),
            instances: Vec::new(),
            logs: Vec::new(),
        });
        lease.spec = spec.clone();
        lease.instances.retain(|(status, created_from)| {
            spec.service(&status.service).is_some_and(|wanted| {
                status.instance < wanted.count && without_count(wanted) == *created_from
            })
        });
        for service in &spec.services {
            for instance in 0..service.count {
                let existing = lease.instances.iter_mut().find(|(status, _)| {
                    status.service == service.name && status.instance == instance
                });
                if let Some((status, _)) = existing {
                    if matches!(
                        status.state,
                        ContainerState::Created | ContainerState::Exited { .. }
                    ) {
                        status.state = ContainerState::Running;
                    }
                    continue;
                }
                fake.next_container += 1;
                let mut host_ports = Vec::new();
                for port in service.ports.iter().filter(|port| port.global) {
                    host_ports.push(HostPort {
                        container_port: port.container_port,
                        protocol: port.protocol,
                        host_ip: "127.0.0.1".to_string(),
                        host_port: fake.next_host_port,
                    });
                    fake.next_host_port = fake
                        .next_host_port
                        .wrapping_add(1)
                        .max(FIRST_FAKE_HOST_PORT);
                }
                let status = InstanceStatus {
                    service: service.name.clone(),
                    instance,
                    container_id: format!("fake-{:012}", fake.next_container),
                    state: ContainerState::Running,
                    restart_count: 0,
                    oom_killed: false,
                    host_ports,
                    address: None,
                };
                lease.instances.push((status, without_count(service)));
            }
        }
        Ok(status_of(lease))
    }

    async fn status(&self, lease_id: u64) -> Result<DeploymentStatus> {
        self.lock()
            .leases
            .get(&lease_id)
            .filter(|lease| !lease.instances.is_empty())
            .map(status_of)
            .ok_or(RuntimeError::LeaseNotFound { lease_id })
    }

    async fn logs(&self, lease_id: u64, service: &str, tail: usize) -> Result<Vec<LogLine>> {
        let fake = self.lock();
        let lease = fake.leases.get(&lease_id);
        let has_service = lease.is_some_and(|lease| {
            lease
                .instances
                .iter()
                .any(|(status, _)| status.service == service)
        });
        if !has_service {
            return Err(RuntimeError::ServiceNotFound {
                lease_id,
                service: service.to_string(),
            });
        }
        let mut by_instance: BTreeMap<u32, Vec<LogLine>> = BTreeMap::new();
        for (line_service, line) in lease.map(|lease| lease.logs.as_slice()).unwrap_or_default() {
            if line_service == service {
                by_instance
                    .entry(line.instance)
                    .or_default()
                    .push(line.clone());
            }
        }
        Ok(by_instance
            .into_values()
            .flat_map(|lines| {
                let skip = lines.len().saturating_sub(tail);
                lines.into_iter().skip(skip)
            })
            .collect())
    }

    async fn teardown(&self, lease_id: u64) -> Result<()> {
        self.lock().leases.remove(&lease_id);
        Ok(())
    }

    async fn list_leases(&self) -> Result<Vec<LeaseRef>> {
        Ok(self
            .lock()
            .leases
            .values()
            .map(|lease| lease.lease)
            .collect())
    }

    async fn host_capacity(&self) -> Result<HostCapacity> {
        Ok(self.capacity)
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec::{PortSpec, Protocol};
    use super::*;

    fn spec(lease_id: u64, count: u32, image: &str) -> DeploymentSpec {
        DeploymentSpec {
            peer_hosts: vec![],
            lease: LeaseRef {
                lease_id,
                order_id: lease_id + 100,
            },
            services: vec![ServiceSpec {
                name: "web".to_string(),
                image: image.to_string(),
                command: vec![],
                args: vec![],
                env: vec![],
                cpu_millis: 100,
                memory_bytes: 32 * 1024 * 1024,
                count,
                ports: vec![PortSpec {
                    container_port: 80,
                    protocol: Protocol::Tcp,
                    global: true,
                }],
            }],
        }
    }

    fn runtime() -> FakeRuntime {
        FakeRuntime::new(HostCapacity {
            cpu_millis: 2000,
            memory_bytes: 1 << 30,
        })
        .with_missing_image("missing:1")
    }

    #[tokio::test]
    async fn redeploy_keeps_running_instances_and_scales() {
        let runtime = runtime();
        let first = runtime.deploy(&spec(1, 1, "app:1")).await.unwrap();
        assert_eq!(first.instances.len(), 1);
        assert_eq!(first.host_port("web", 80), Some(FIRST_FAKE_HOST_PORT));

        let again = runtime.deploy(&spec(1, 2, "app:1")).await.unwrap();
        assert_eq!(again.instances[0], first.instances[0]);
        assert_eq!(again.instances.len(), 2);

        let replaced = runtime.deploy(&spec(1, 1, "app:2")).await.unwrap();
        assert_eq!(replaced.instances.len(), 1);
        assert_ne!(
            replaced.instances[0].container_id,
            first.instances[0].container_id
        );
    }

    #[tokio::test]
    async fn stopped_instances_start_again_and_logs_tail() {
        let runtime = runtime();
        runtime.deploy(&spec(2, 1, "app:1")).await.unwrap();
        assert!(runtime.set_state(2, "web", 0, ContainerState::Exited { exit_code: 3 }));
        assert_eq!(
            runtime.status(2).await.unwrap().instances[0]
                .state
                .exit_code(),
            Some(3)
        );
        for line in ["a", "b", "c"] {
            runtime.push_log(2, "web", 0, LogStream::Stdout, line);
        }
        let tail: Vec<String> = runtime
            .logs(2, "web", 2)
            .await
            .unwrap()
            .into_iter()
            .map(|line| line.line)
            .collect();
        assert_eq!(tail, ["b", "c"]);
        assert!(runtime
            .deploy(&spec(2, 1, "app:1"))
            .await
            .unwrap()
            .all_running());
    }

    #[tokio::test]
    async fn missing_image_and_unknown_lease_are_typed_errors() {
        let runtime = runtime();
        let error = runtime.deploy(&spec(3, 1, "missing:1")).await.unwrap_err();
        assert!(
            matches!(error, RuntimeError::ImageUnavailable { lease_id: 3, ref image, .. } if image == "missing:1")
        );
        assert_eq!(
            runtime.status(3).await.unwrap_err(),
            RuntimeError::LeaseNotFound { lease_id: 3 }
        );
        assert!(matches!(
            runtime.logs(3, "web", 10).await.unwrap_err(),
            RuntimeError::ServiceNotFound { lease_id: 3, .. }
        ));
        assert!(runtime.list_leases().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn teardown_forgets_the_lease() {
        let runtime = runtime();
        runtime.deploy(&spec(4, 1, "app:1")).await.unwrap();
        assert_eq!(
            runtime.list_leases().await.unwrap(),
            vec![LeaseRef {
                lease_id: 4,
                order_id: 104
            }]
        );
        runtime.teardown(4).await.unwrap();
        runtime.teardown(4).await.unwrap();
        assert!(runtime.list_leases().await.unwrap().is_empty());
    }
}
