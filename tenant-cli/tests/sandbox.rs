//! `akash sandbox examples/web.yaml --exit-after-ready` as a user runs it: the embedded chain,
//! three provider daemons with TLS gateways and the real Docker engine. Needs the engine
//! (`scripts/docker.sh ensure`) and the test image (`scripts/make-test-image.sh`); fails with
//! a message saying so when either is missing.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

mod support;

use support::require_docker_and_image;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Names of the containers of lease `lease_id` on the chain `chain_id`, whoever's they are.
fn lease_containers(chain_id: &str, lease_id: u64) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label=akash.chain_id={chain_id}"),
            "--filter",
            &format!("label=akash.lease_id={lease_id}"),
            "--format",
            "{{.Names}}",
        ])
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn sandbox_deploys_the_web_example_serves_the_busybox_page_and_cleans_up() {
    require_docker_and_image();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_akash"))
        .current_dir(repo())
        .args(["sandbox", "examples/web.yaml", "--exit-after-ready"])
        .output()
        .expect("running akash sandbox");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "akash sandbox exited with {:?}",
        out.status
    );

    // Every step is shown.
    for step in [
        "[sandbox] embedded chain up with the real contracts",
        "[sandbox] provider1 ",
        "[sandbox] provider2 ",
        "[sandbox] provider3 ",
        "[anywhere] order 1 created: max 10 uakt/s, escrow 36000 uakt locked; bid window 30 s",
        "[anywhere] order 1: bid window closed with 3 bids; matching",
        "[anywhere] order 1 matched: lease 1 with provider provider1 at 1 uakt/s",
        "[anywhere] lease 1: manifest uploaded to https://127.0.0.1:",
        "verified by the provider against the lease",
        "[anywhere] lease 1: containers up",
        "[sandbox] logs of web (lease 1,",
        "[sandbox] lease 1 closed",
        "[sandbox] lease 1: containers removed",
        "[sandbox] done",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    // The URL answered with the page the example's busybox httpd serves.
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("  web: "))
        .expect("the web endpoint is printed");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(
        stdout.contains(&format!("[sandbox] GET {url} -> 200 OK: hello from akash")),
        "{stdout}"
    );
    assert!(stdout.contains("[sandbox] ready in "), "{stdout}");
    // Torn down: no container of lease 1 of this sandbox's chain is left.
    let chain_id = stdout
        .lines()
        .find_map(|l| l.split_once("; chain id ").map(|(_, id)| id.trim()))
        .expect("the chain id is printed");
    assert!(chain_id.starts_with("akash-embedded-"), "{chain_id}");
    let left = lease_containers(chain_id, 1);
    assert!(left.is_empty(), "containers left: {left:?}");
    println!("sandbox run took {:.1} s", elapsed.as_secs_f64());
}

#[test]
fn sandbox_refuses_an_invalid_file_before_starting_anything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "version: \"2.0\"\nservices: {}\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_akash"))
        .args(["sandbox", path.to_str().unwrap(), "--exit-after-ready"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:2:", path.display())),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
