//! The runtime's error type: every variant names the lease, service, image or Docker object
//! involved and carries Docker's own message, so the daemon can record why a lease failed.

/// Errors of [`super::ContainerRuntime`] operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    #[error("docker engine at {socket} does not answer: {message}")]
    EngineUnavailable { socket: String, message: String },

    #[error("lease {lease_id}: invalid deployment: {reason}")]
    InvalidSpec { lease_id: u64, reason: String },

    #[error(
        "lease {lease_id}, service {service}: image {image} is not present locally \
         and could not be pulled: {message}"
    )]
    ImageUnavailable {
        lease_id: u64,
        service: String,
        image: String,
        message: String,
    },

    #[error("lease {lease_id}: no containers of this lease exist")]
    LeaseNotFound { lease_id: u64 },

    #[error("lease {lease_id}: no containers of service {service:?} exist")]
    ServiceNotFound { lease_id: u64, service: String },

    /// A Docker call made for a lease failed; `object` names the container, network or image.
    #[error("lease {lease_id}: docker could not {action} {object}: {message}")]
    Docker {
        lease_id: u64,
        action: &'static str,
        object: String,
        message: String,
    },

    /// A Docker call not tied to one lease failed (listing, host information).
    #[error("docker could not {action}: {message}")]
    Engine {
        action: &'static str,
        message: String,
    },
}

impl RuntimeError {
    /// The lease the error is about, if it is about one.
    pub fn lease_id(&self) -> Option<u64> {
        match self {
            RuntimeError::InvalidSpec { lease_id, .. }
            | RuntimeError::ImageUnavailable { lease_id, .. }
            | RuntimeError::LeaseNotFound { lease_id }
            | RuntimeError::ServiceNotFound { lease_id, .. }
            | RuntimeError::Docker { lease_id, .. } => Some(*lease_id),
            RuntimeError::EngineUnavailable { .. } | RuntimeError::Engine { .. } => None,
        }
    }
}
