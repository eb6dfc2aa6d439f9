//! The `akash-provider` binary: `register` against an embedded chain (no network, no
//! Docker), and configuration errors reported with the field's name.

use std::path::Path;
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_akash-provider");

fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let path = dir.join("provider.toml");
    let text = format!(
        r#"
data_dir = "{data_dir}"
attributes = ["region=us-west"]
{extra}

[chain]
kind = "embedded"
account = "provider2"

[gateway]
listen_address = "127.0.0.1:0"
host_uri = "https://provider.example.com:8443"

[pricing]
cpu_milli = "0.001"
memory_mib = "0.0005"
"#,
        data_dir = dir.join("data").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn register_creates_the_identity_registers_and_stakes() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let output = Command::new(BINARY)
        .args(["register", "--config"])
        .arg(&config)
        .args(["--stake", "5000000"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // stdout carries the result alone (scripts read it); the logs go to stderr, without
    // colour codes when stderr is not a terminal.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].ends_with(" registered (stake 5000000)"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("staked"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "{stderr}");
    // The root certificate registered is the one kept in the data dir.
    assert!(dir.path().join("data").read_dir().unwrap().count() >= 2);
}

#[test]
fn bad_config_fails_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let output = Command::new(BINARY)
        .args(["run", "--config"])
        .arg(&config)
        .env("AKASH_PROVIDER_CAPACITY_OFFER_FRACTION", "2")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("capacity.offer_fraction"), "{stderr}");

    let typo = write_config(dir.path(), "withdraw_interval = 60");
    let output = Command::new(BINARY)
        .args(["run", "--config"])
        .arg(&typo)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("withdraw_interval"), "{stderr}");
}
