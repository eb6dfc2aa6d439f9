//! The SDL files in examples/ parse, and their documents and orders are what they say.

use akash_manifest::{parse_sdl, GroupManifest, Proto, Sdl};
use akash_types::Attribute;
use cosmwasm_std::Uint128;

fn example(name: &str) -> Sdl {
    let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_sdl(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_example_parses_its_documents_round_trip_and_the_market_accepts_its_orders() {
    for name in ["web.yaml", "web-db.yaml", "batch.yaml"] {
        for group in example(name).groups() {
            let parsed = GroupManifest::from_document_bytes(group.document_bytes())
                .unwrap_or_else(|e| panic!("{name} {}: {e}", group.name()));
            assert_eq!(&parsed, group.manifest());
            assert_eq!(parsed.sha256_hex(), group.sha256_hex());
            let spec = group.order_spec();
            akash_market::validation::validate_spec(&spec).unwrap_or_else(|e| {
                panic!("{name} {}: market refuses {spec:?}: {e}", group.name())
            });
            assert_eq!(
                group.escrow_amount(),
                spec.max_price_per_second * Uint128::from(spec.lease_duration_secs)
            );
        }
    }
}

#[test]
fn web_example_is_one_global_http_server() {
    let groups = example("web.yaml").groups();
    assert_eq!(groups.len(), 1);
    let group = &groups[0];
    assert_eq!(group.name(), "anywhere");
    let web = &group.manifest().services["web"];
    assert_eq!(web.image, "akash-test/busybox:latest");
    assert_eq!(web.command, ["sh", "-c"]);
    assert!(web.args[0].contains("httpd -f -v -p 80"));
    assert_eq!(web.expose.len(), 1);
    let expose = &web.expose[0];
    assert_eq!(
        (expose.port, expose.as_port, expose.proto),
        (80, 80, Proto::Tcp)
    );
    assert!(expose.global);
    assert!(expose.services.is_empty());
    assert!(group.manifest().peers.is_empty());

    let spec = group.order_spec();
    assert_eq!(spec.count, 1);
    assert_eq!(spec.resources.cpu_millis, 100);
    assert_eq!(spec.resources.memory_bytes, 64 << 20);
    assert_eq!(spec.resources.storage_bytes, 128 << 20);
    assert_eq!(spec.max_price_per_second, Uint128::new(10));
    assert_eq!(spec.lease_duration_secs, 3_600);
    assert_eq!(spec.bid_window_secs, 30);
    assert_eq!(group.escrow_amount(), Uint128::new(36_000));
    assert_eq!(spec.manifest_sha256, group.sha256_hex());
}

#[test]
fn web_db_example_splits_into_two_groups_linked_by_expose_to() {
    let sdl = example("web-db.yaml");
    let names: Vec<String> = sdl.groups().iter().map(|g| g.name().to_string()).collect();
    assert_eq!(names, ["backend", "frontend"]);

    let backend = sdl.group("backend").unwrap();
    let db = &backend.manifest().services["db"];
    assert_eq!(db.expose[0].port, 7000);
    assert!(!db.expose[0].global);
    assert_eq!(db.expose[0].services, ["web"]);
    assert!(backend.manifest().peers["web"].ports.is_empty());
    assert!(!backend.manifest().services.contains_key("web"));
    let spec = backend.order_spec();
    // 0.00002 akt = 20 uakt per second.
    assert_eq!(spec.max_price_per_second, Uint128::new(20));
    assert_eq!(spec.requirements.min_reputation, 5_000);
    assert_eq!(
        spec.requirements.attributes,
        [Attribute::new("region", "us-east")]
    );
    assert_eq!(spec.resources.storage_bytes, 256 << 20);
    assert_eq!(spec.bid_window_secs, 60);

    let frontend = sdl.group("frontend").unwrap();
    let web = &frontend.manifest().services["web"];
    assert_eq!((web.expose[0].port, web.expose[0].as_port), (8080, 80));
    assert_eq!(web.env["DB_HOST"], "db");
    let db_peer = &frontend.manifest().peers["db"];
    assert_eq!(db_peer.ports.len(), 1);
    assert_eq!(db_peer.ports[0].as_port, 7000);
    assert_eq!(db_peer.ports[0].clients, ["web"]);
    let spec = frontend.order_spec();
    assert_eq!(spec.requirements.min_reputation, 0);
    assert_eq!(spec.max_price_per_second, Uint128::new(10));
    assert_ne!(frontend.sha256_hex(), backend.sha256_hex());
}

#[test]
fn batch_example_is_a_job_without_ports() {
    let groups = example("batch.yaml").groups();
    assert_eq!(groups.len(), 1);
    let job = &groups[0].manifest().services["job"];
    assert!(job.expose.is_empty());
    assert_eq!(job.command[..2], ["sh", "-c"]);
    assert!(job.command[2].contains("while"));
    assert_eq!(job.env["STEPS"], "10");
    assert_eq!(job.count, 2);
    let spec = groups[0].order_spec();
    assert_eq!(spec.count, 2);
    assert_eq!(spec.resources.cpu_millis, 250);
    assert_eq!(spec.resources.storage_bytes, 0);
    assert_eq!(spec.lease_duration_secs, 600);
    assert_eq!(spec.bid_window_secs, 20);
    assert_eq!(groups[0].escrow_amount(), Uint128::new(1_200));
}
