//! `akash validate` as a user runs it: the binary on the examples and on malformed files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use akash_manifest::parse_sdl;

fn akash(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_akash"))
        .args(args)
        .env_remove("AKASH_KEY_FILE")
        .env_remove("AKASH_DEPLOYMENT")
        .output()
        .expect("running akash")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_example_validates_with_its_groups_hashes_orders_and_escrow() {
    for name in ["web.yaml", "web-db.yaml", "batch.yaml"] {
        let path = repo().join("examples").join(name);
        let out = akash(&["validate", path.to_str().unwrap()]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}{stdout}",
            text(&out.stderr)
        );
        let sdl = parse_sdl(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let groups = sdl.groups();
        assert!(
            stdout.contains(&format!("valid SDL, {} placement group", groups.len())),
            "{stdout}"
        );
        let mut total = 0u128;
        for group in &groups {
            assert!(
                stdout.contains(&format!("group {}\n", group.name())),
                "{stdout}"
            );
            assert!(
                stdout.contains(&format!("sha256 {}", group.sha256_hex())),
                "{name}: hash of {} missing:\n{stdout}",
                group.name()
            );
            assert!(
                stdout.contains(&format!("escrow: {} uakt", group.escrow_amount())),
                "{stdout}"
            );
            let spec = group.order_spec();
            assert!(
                stdout.contains(&format!(
                    "max price {} uakt/s, lease",
                    spec.max_price_per_second
                )),
                "{stdout}"
            );
            assert!(
                stdout.contains(&format!("bid window {} s", spec.bid_window_secs)),
                "{stdout}"
            );
            for service in group.manifest().services.keys() {
                assert!(stdout.contains(&format!("service {service}:")), "{stdout}");
            }
            total += group.escrow_amount().u128();
        }
        assert!(
            stdout.contains(&format!("total escrow: {total} uakt")),
            "{stdout}"
        );
    }
}

#[test]
fn web_example_description() {
    let path = repo().join("examples/web.yaml");
    let out = akash(&["validate", path.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    for expected in [
        "group anywhere",
        "service web: 1 x akash-test/busybox:latest (cpu 100m, memory 64 MiB, storage 128 MiB each)",
        "port 80 as 80/tcp <- global",
        "order: 1 x unit (cpu 100m, memory 64 MiB, storage 128 MiB)",
        "max price 10 uakt/s, lease 1h (3600 s), bid window 30 s",
        "requirements: none",
        "escrow: 36000 uakt (10 uakt/s x 3600 s)",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn a_malformed_file_fails_with_file_line_column_and_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(repo().join("examples/web.yaml")).unwrap();
    let bad = good.replace("      - port: 80\n", "      - port: 70000\n");
    assert_ne!(good, bad);
    let path = write(dir.path(), "bad-port.yaml", &bad);
    let out = akash(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    let line = bad.lines().position(|l| l.contains("port: 70000")).unwrap() + 1;
    let column = bad.lines().nth(line - 1).unwrap().find("70000").unwrap() + 1;
    let expected = format!(
        "error: {}:{line}:{column}: services.web.expose[0].port: ",
        path.display()
    );
    assert!(stderr.starts_with(&expected), "{stderr}");
    assert!(stderr.contains("70000"), "{stderr}");
    assert!(stderr.contains("(invalid port)"), "{stderr}");
    // The offending line, quoted, with a caret under the value.
    assert!(
        stderr.contains(&format!(" {line} |       - port: 70000")),
        "{stderr}"
    );
    let caret_line = stderr.lines().last().unwrap();
    assert_eq!(
        caret_line.find('^'),
        Some(caret_line.find('|').unwrap() + 1 + column)
    );

    // A typo: the unknown key's position and a hint.
    let typo = good.replace("    image:", "    imgae:");
    let path = write(dir.path(), "typo.yaml", &typo);
    let out = akash(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr
            .contains(":6:5: services.web.imgae: unknown key \"imgae\" (did you mean \"image\"?)"),
        "{stderr}"
    );

    // YAML syntax.
    let path = write(dir.path(), "syntax.yaml", "version: \"2.0\"\nservices: [\n");
    let out = akash(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("(syntax)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_manifest_crates_malformed_files_fail_at_their_expected_line() {
    let dir = repo().join("crates/manifest/tests/malformed");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let content = std::fs::read_to_string(&path).unwrap();
        let first = content.lines().next().unwrap();
        let fields: Vec<&str> = first
            .trim_start_matches("# expect: ")
            .split_whitespace()
            .collect();
        let (path_key, line) = (fields[1], fields[2]);
        let out = akash(&["validate", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", path.display());
        let stderr = text(&out.stderr);
        let expected = format!("error: {}:{line}:", path.display());
        assert!(
            stderr.starts_with(&expected),
            "{}: {stderr}",
            path.display()
        );
        if path_key != "-" {
            assert!(stderr.contains(&format!(": {path_key}: ")), "{stderr}");
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} files");
}

#[test]
fn missing_files_and_usage_errors() {
    let out = akash(&["validate", "/nonexistent/sdl.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent/sdl.yaml"));
    let out = akash(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = akash(&["--help"]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for command in [
        "validate", "deploy", "status", "logs", "close", "orders", "leases", "sandbox",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
}

#[test]
fn chain_commands_without_a_key_say_how_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    let deployment = write(
        dir.path(),
        "deployment.json",
        r#"{"chain_id":"x","rpc_url":"http://127.0.0.1:1","gas_prices":"0.025ustake",
            "contracts":{"token":"a","staking":"b","registry":"c","market":"d"}}"#,
    );
    let out = akash(&["orders", "--deployment", deployment.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--key-file"),
        "{}",
        text(&out.stderr)
    );
}
