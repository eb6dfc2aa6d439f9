//! Helpers shared by the tests that need the real Docker engine.

use std::process::Command;

pub const IMAGE: &str = "akash-test/busybox:latest";

/// Docker and the test image, or a panic that says how to get them.
pub fn require_docker_and_image() {
    let info = Command::new("docker").arg("info").output();
    match info {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "the Docker engine does not answer (`docker info` failed: {}); start it with \
             scripts/docker.sh ensure",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(error) => panic!(
            "docker is not installed ({error}); scripts/docker.sh ensure installs and starts it"
        ),
    }
    let image = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .output()
        .expect("docker image inspect");
    assert!(
        image.status.success(),
        "the test image {IMAGE} is missing; build it with scripts/make-test-image.sh"
    );
}
