//! `akash sandbox examples/web.yaml --exit-after-ready` (and `examples/web-db.yaml`, two groups
//! on two providers connected through the overlay) as a user runs it: the embedded chain,
//! three provider daemons with TLS gateways and the real Docker engine. Needs the engine
//! (`scripts/docker.sh ensure`) and the test image (`scripts/make-test-image.sh`); fails with
//! a message saying so when either is missing.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod support;

use support::require_docker_and_image;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One sandbox per machine (see `SandboxLock`): the tests that start one take turns.
static ONE_SANDBOX: Mutex<()> = Mutex::new(());

/// `akash sandbox FILE --exit-after-ready` from the repository's root, its output shown;
/// its stdout once it exited 0, and how long it ran.
fn run_sandbox(file: &str) -> (String, Duration) {
    let _one = ONE_SANDBOX.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_akash"))
        .current_dir(repo())
        .args(["sandbox", file, "--exit-after-ready"])
        .output()
        .expect("running akash sandbox");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "akash sandbox exited with {:?}",
        out.status
    );
    (stdout, elapsed)
}

/// The printed URL of `web` answered a GET with `first_line` first.
fn assert_web_served(stdout: &str, first_line: &str) {
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("  web: "))
        .expect("the web endpoint is printed");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(
        stdout.contains(&format!("[sandbox] GET {url} -> 200 OK: {first_line}")),
        "{stdout}"
    );
}

/// The chain id the sandbox printed.
fn printed_chain_id(stdout: &str) -> &str {
    let chain_id = stdout
        .lines()
        .find_map(|l| l.split_once("; chain id ").map(|(_, id)| id.trim()))
        .expect("the chain id is printed");
    assert!(chain_id.starts_with("akash-embedded-"), "{chain_id}");
    chain_id
}

/// Names of the containers and networks labelled with `chain_id`, whoever's they are.
fn chain_objects(chain_id: &str) -> Vec<String> {
    let label = format!("label=akash.chain_id={chain_id}");
    let mut names = Vec::new();
    for args in [
        [
            "container",
            "ls",
            "-a",
            "--filter",
            &label,
            "--format",
            "{{.Names}}",
        ]
        .as_slice(),
        ["network", "ls", "--filter", &label, "--format", "{{.Name}}"].as_slice(),
    ] {
        let out = Command::new("docker")
            .args(args)
            .output()
            .expect("docker ls");
        assert!(out.status.success(), "docker {args:?} failed");
        names.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string),
        );
    }
    names
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
    let (stdout, elapsed) = run_sandbox("examples/web.yaml");

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
    assert_web_served(&stdout, "hello from akash");
    assert!(stdout.contains("[sandbox] ready in "), "{stdout}");
    // One group: nothing to reach through the overlay.
    assert!(!stdout.contains("through the overlay"), "{stdout}");
    // Torn down: no container of lease 1 of this sandbox's chain is left.
    let left = lease_containers(printed_chain_id(&stdout), 1);
    assert!(left.is_empty(), "containers left: {left:?}");
    println!("sandbox run took {:.1} s", elapsed.as_secs_f64());
}

#[test]
fn sandbox_deploys_the_web_db_example_on_two_providers_connected_through_the_overlay() {
    require_docker_and_image();
    let (stdout, elapsed) = run_sandbox("examples/web-db.yaml");

    // Both groups leased, on different providers: db (backend) needs region us-east, which
    // only provider2 has; web (frontend) goes to the cheapest us-west provider.
    let provider_of = |group: &str| {
        stdout
            .lines()
            .filter(|l| l.starts_with(&format!("[{group}] order ")))
            .find_map(|l| l.split_once(" with provider ").map(|(_, rest)| rest))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no lease of group {group} in:\n{stdout}"))
            .to_string()
    };
    let (backend, frontend) = (provider_of("backend"), provider_of("frontend"));
    assert_eq!(backend, "provider2", "{stdout}");
    assert_eq!(frontend, "provider1", "{stdout}");
    for step in [
        "[sandbox] embedded chain up with the real contracts",
        "[backend] order 1 matched: lease 1 with provider provider2 at 2 uakt/s",
        "[frontend] order 2 matched: lease 2 with provider provider1 at 1 uakt/s",
        // Each provider learns where the other group runs, before any manifest.
        "[backend] lease 1: peers placed (web on lease 2); connected through overlay tunnels",
        "[frontend] lease 2: peers placed (db on lease 1); connected through overlay tunnels",
        "[backend] lease 1: containers up (no global ports)",
        "[frontend] lease 2: containers up",
        // web reached db's key-value store on the other provider (an empty line is a bad key).
        "[sandbox] web -> db:7000 through the overlay: OK (lease 2 on provider1 -> lease 1 on \
         provider2; db answered \"ERR bad key\"",
        "[sandbox] lease 1 closed",
        "[sandbox] lease 2 closed",
        "[sandbox] lease 1: containers removed",
        "[sandbox] lease 2: containers removed",
        "[sandbox] done",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    assert_eq!(
        stdout.matches("through the overlay").count(),
        1,
        "one connection across groups: {stdout}"
    );
    // The web URL answered with the example's page.
    assert_web_served(&stdout, "web talks to db:7000");
    // Torn down: no container or network of this sandbox's chain is left.
    let left = chain_objects(printed_chain_id(&stdout));
    assert!(left.is_empty(), "left behind: {left:?}");
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
