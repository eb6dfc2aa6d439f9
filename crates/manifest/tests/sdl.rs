//! Features of the SDL reader, the group split, the order mapping and the determinism of
//! documents and hashes.

use akash_manifest::{
    parse_sdl, DocumentError, GroupManifest, PlacementGroup, Proto, Sdl, SdlErrorKind,
    DEFAULT_BANDWIDTH_BYTES_PER_SEC, DEFAULT_BID_WINDOW_SECS, DEFAULT_LEASE_DURATION_SECS,
    MAX_SDL_BYTES,
};
use akash_types::Attribute;
use cosmwasm_std::Uint128;

fn parse(text: &str) -> Sdl {
    parse_sdl(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn only_group(sdl: &Sdl) -> PlacementGroup {
    let groups = sdl.groups();
    assert_eq!(groups.len(), 1, "expected one group");
    groups.into_iter().next().unwrap()
}

const WEB: &str = r#"
version: "2.0"
services:
  web:
    image: akash-test/busybox:latest
    command: ["sh", "-c"]
    args: ["httpd -f -p 80"]
    env:
      - B=2
      - A=1=one
    expose:
      - port: 80
        to:
          - global: true
      - port: 53
        proto: udp
profiles:
  compute:
    web:
      resources:
        cpu:
          units: 0.5
        memory:
          size: 128Mi
        storage:
          size: 1Gi
  placement:
    west:
      attributes:
        region: us-west
      pricing:
        web:
          denom: uakt
          amount: 7
deployment:
  web:
    west:
      profile: web
      count: 2
"#;

/// The same SDL as [`WEB`] with every mapping's keys, the env list and the expose list in
/// another order, and in flow style.
const WEB_REORDERED: &str = r#"
deployment: {web: {west: {count: 2, profile: web}}}
profiles:
  placement:
    west:
      pricing: {web: {amount: "7", denom: uakt}}
      attributes: {region: us-west}
  compute:
    web:
      resources:
        storage: {size: 1073741824}
        memory: {size: "128Mi"}
        cpu: {units: 500m}
services:
  web:
    expose:
      - {proto: udp, port: 53}
      - to: [{global: true}]
        port: 80
    env: ["A=1=one", "B=2"]
    args:
      - httpd -f -p 80
    command: [sh, -c]
    image: "akash-test/busybox:latest"
version: '2.0'
"#;

#[test]
fn same_sdl_gives_the_same_bytes_and_hash() {
    let first = only_group(&parse(WEB));
    let second = only_group(&parse(WEB));
    assert_eq!(first.document_bytes(), second.document_bytes());
    assert_eq!(first.sha256_hex(), second.sha256_hex());
    assert_eq!(first.sha256_hex().len(), 64);
}

#[test]
fn key_order_and_yaml_style_do_not_change_the_hash() {
    let block = only_group(&parse(WEB));
    let reordered = only_group(&parse(WEB_REORDERED));
    assert_eq!(block.document_bytes(), reordered.document_bytes());
    assert_eq!(block.sha256_hex(), reordered.sha256_hex());
    assert_eq!(block.order_spec(), reordered.order_spec());
}

#[test]
fn placements_of_the_same_workload_share_one_hash() {
    let text = WEB
        .replace(
            "          amount: 7\n",
            "          amount: 7\n    east:\n      attributes:\n        region: us-east\n      \
             pricing:\n        web:\n          denom: akt\n          amount: 0.00001\n",
        )
        .replace(
            "      count: 2\n",
            "      count: 2\n    east:\n      profile: web\n      count: 2\n",
        );
    let sdl = parse(&text);
    let groups = sdl.groups();
    assert_eq!(groups.len(), 2, "{text}");
    let (east, west) = (&groups[0], &groups[1]);
    assert_eq!((east.name(), west.name()), ("east", "west"));
    assert_eq!(east.sha256_hex(), west.sha256_hex());
    assert_eq!(east.document_bytes(), west.document_bytes());
    assert_eq!(
        east.order_spec().requirements.attributes,
        [Attribute::new("region", "us-east")]
    );
    assert_eq!(
        west.order_spec().requirements.attributes,
        [Attribute::new("region", "us-west")]
    );
    assert_eq!(east.max_price_per_second(), Uint128::new(10));
    assert_eq!(west.max_price_per_second(), Uint128::new(7));
}

#[test]
fn document_carries_the_workload_in_canonical_order() {
    let group = only_group(&parse(WEB));
    let web = &group.manifest().services["web"];
    assert_eq!(web.command, ["sh", "-c"]);
    assert_eq!(web.args, ["httpd -f -p 80"]);
    // Values may hold '='; only the first one splits.
    assert_eq!(web.env["A"], "1=one");
    assert_eq!(web.env["B"], "2");
    // Sorted by (port, proto); `as` defaults to the port, proto to tcp.
    let exposes: Vec<(u16, u16, Proto, bool)> = web
        .expose
        .iter()
        .map(|e| (e.port, e.as_port, e.proto, e.global))
        .collect();
    assert_eq!(
        exposes,
        [(53, 53, Proto::Udp, false), (80, 80, Proto::Tcp, true)]
    );
    assert_eq!(web.count, 2);
    assert_eq!(web.resources.cpu_millis, 500);
    assert_eq!(web.resources.memory_bytes, 128 << 20);
    assert_eq!(web.resources.storage_bytes, 1 << 30);
    let text = String::from_utf8(group.document_bytes().to_vec()).unwrap();
    assert!(
        !text.contains("west"),
        "no placement in the document: {text}"
    );
    assert!(!text.contains("us-west"));
    assert!(text.starts_with(r#"{"peers":{},"services":{"web":{"args":["httpd -f -p 80"]"#));
}

#[test]
fn order_spec_of_one_service() {
    let group = only_group(&parse(WEB));
    let spec = group.order_spec();
    assert_eq!(spec.count, 2);
    assert_eq!(spec.resources.cpu_millis, 500);
    assert_eq!(spec.resources.memory_bytes, 128 << 20);
    assert_eq!(spec.resources.storage_bytes, 1 << 30);
    assert_eq!(
        spec.resources.bandwidth_bytes_per_sec,
        DEFAULT_BANDWIDTH_BYTES_PER_SEC
    );
    assert_eq!(spec.max_price_per_second, Uint128::new(7));
    assert_eq!(spec.lease_duration_secs, DEFAULT_LEASE_DURATION_SECS);
    assert_eq!(spec.bid_window_secs, DEFAULT_BID_WINDOW_SECS);
    assert_eq!(spec.requirements.min_stake, Uint128::zero());
    assert_eq!(spec.requirements.min_reputation, 0);
    assert_eq!(spec.manifest_sha256, group.sha256_hex());
    assert_eq!(
        group.escrow_amount(),
        Uint128::new(7 * u128::from(DEFAULT_LEASE_DURATION_SECS))
    );
}

const TWO_SERVICES: &str = r#"
version: "2.0"
services:
  web:
    image: akash-test/busybox:latest
  api:
    image: akash-test/busybox:latest
  worker:
    image: akash-test/busybox:latest
profiles:
  compute:
    small:
      resources:
        cpu: {units: 0.1}
        memory: {size: 10Mi}
        storage: {size: 1Mi}
    big:
      resources:
        cpu: {units: 1}
        memory: {size: 100Mi}
  placement:
    west:
      pricing:
        small: {denom: uakt, amount: 3}
        big: {denom: uakt, amount: 40}
x-akash:
  lease_duration: 2h
  bandwidth: 1Mi
deployment:
  web:
    west: {profile: small, count: 2}
  api:
    west: {profile: small, count: 4}
  worker:
    west: {profile: big, count: 6}
"#;

#[test]
fn a_group_unit_is_the_smallest_repeating_slice_of_its_services() {
    let group = only_group(&parse(TWO_SERVICES));
    let spec = group.order_spec();
    // gcd(2, 4, 6) = 2 units; each unit holds 1 web, 2 api and 3 worker instances.
    assert_eq!(spec.count, 2);
    assert_eq!(spec.resources.cpu_millis, 100 + 2 * 100 + 3 * 1_000);
    assert_eq!(spec.resources.memory_bytes, (10 + 2 * 10 + 3 * 100) << 20);
    assert_eq!(spec.resources.storage_bytes, (1 + 2) << 20);
    // Bandwidth is per instance: 6 instances per unit.
    assert_eq!(spec.resources.bandwidth_bytes_per_sec, 6 << 20);
    // unit x count is exactly the sum over the services of resources x count.
    let services = &group.manifest().services;
    let total_cpu: u64 = services
        .values()
        .map(|s| s.resources.cpu_millis * u64::from(s.count))
        .sum();
    assert_eq!(spec.resources.cpu_millis * u64::from(spec.count), total_cpu);
    // Each profile's price covers the whole group's share of it, counted once.
    assert_eq!(spec.max_price_per_second, Uint128::new(3 + 40));
    assert_eq!(spec.lease_duration_secs, 7_200);
    assert_eq!(group.escrow_amount(), Uint128::new(43 * 7_200));
}

#[test]
fn coprime_counts_give_one_unit() {
    let text = TWO_SERVICES
        .replace("count: 2}", "count: 3}")
        .replace("count: 4}", "count: 5}")
        .replace("count: 6}", "count: 7}");
    let spec = only_group(&parse(&text)).order_spec();
    assert_eq!(spec.count, 1);
    assert_eq!(spec.resources.cpu_millis, 3 * 100 + 5 * 100 + 7 * 1_000);
}

#[test]
fn count_is_part_of_the_document() {
    let two = only_group(&parse(WEB));
    let three = only_group(&parse(&WEB.replace("count: 2", "count: 3")));
    assert_ne!(two.sha256_hex(), three.sha256_hex());
}

#[test]
fn cpu_memory_and_storage_units() {
    let cases = [
        ("units: 0.5", 500),
        ("units: \"0.25\"", 250),
        ("units: 250m", 250),
        ("units: 2", 2_000),
    ];
    for (units, millis) in cases {
        let spec = only_group(&parse(&WEB.replace("units: 0.5", units))).order_spec();
        assert_eq!(spec.resources.cpu_millis, millis, "{units}");
    }
    let sizes = [
        ("size: 128Mi", 128u64 << 20),
        ("size: 128M", 128_000_000),
        ("size: 1Gi", 1 << 30),
        ("size: 1.5Gi", 3 << 29),
        ("size: 65536", 65_536),
    ];
    for (size, bytes) in sizes {
        let spec = only_group(&parse(&WEB.replace("size: 128Mi", size))).order_spec();
        assert_eq!(spec.resources.memory_bytes, bytes, "{size}");
    }
    // A list of volumes counts as the sum of their sizes.
    let volumes = WEB.replace(
        "        storage:\n          size: 1Gi\n",
        "        storage:\n          - size: 1Gi\n          - name: data\n            size: 512Mi\n",
    );
    let spec = only_group(&parse(&volumes)).order_spec();
    assert_eq!(spec.resources.storage_bytes, (1 << 30) + (512 << 20));
    // Storage may be left out.
    let none = WEB.replace("        storage:\n          size: 1Gi\n", "");
    assert_eq!(
        only_group(&parse(&none))
            .order_spec()
            .resources
            .storage_bytes,
        0
    );
    // gpu with zero units is accepted (and means nothing).
    let gpu = WEB.replace(
        "        storage:\n",
        "        gpu:\n          units: 0\n        storage:\n",
    );
    parse(&gpu);
}

#[test]
fn extension_defaults_top_level_and_placement_overrides() {
    let text = format!(
        "{WEB}x-akash:\n  lease_duration: 30d\n  bid_window: 5m\n  bandwidth: 10Mi\n  \
         min_stake: 1000000\n  min_reputation: 2500\n"
    );
    let spec = only_group(&parse(&text)).order_spec();
    assert_eq!(spec.lease_duration_secs, 30 * 86_400);
    assert_eq!(spec.bid_window_secs, 300);
    // 10 MiB/s per instance, one instance per unit.
    assert_eq!(spec.resources.bandwidth_bytes_per_sec, 10 << 20);
    assert_eq!(spec.requirements.min_stake, Uint128::new(1_000_000));
    assert_eq!(spec.requirements.min_reputation, 2_500);

    let overridden = text.replace(
        "      attributes:\n        region: us-west\n",
        "      attributes:\n        region: us-west\n      x-akash:\n        lease_duration: 3600\n        \
         min_reputation: 9000\n",
    );
    let group = only_group(&parse(&overridden));
    let spec = group.order_spec();
    assert_eq!(spec.lease_duration_secs, 3_600);
    assert_eq!(spec.requirements.min_reputation, 9_000);
    // Not overridden: the top level's values.
    assert_eq!(spec.bid_window_secs, 300);
    assert_eq!(spec.requirements.min_stake, Uint128::new(1_000_000));
    assert_eq!(group.escrow_amount(), Uint128::new(7 * 3_600));
}

#[test]
fn signed_by_is_accepted_and_ignored() {
    let text = WEB.replace(
        "      pricing:\n",
        "      signedBy:\n        allOf: [akash1a]\n        anyOf:\n          - akash1b\n      \
         pricing:\n",
    );
    let signed = only_group(&parse(&text));
    let plain = only_group(&parse(WEB));
    assert_eq!(signed.order_spec(), plain.order_spec());
    let bad = WEB.replace(
        "      pricing:\n",
        "      signedBy:\n        oneOf: [akash1a]\n      pricing:\n",
    );
    let error = parse_sdl(&bad).unwrap_err();
    assert_eq!(error.kind, SdlErrorKind::UnknownKey);
    assert_eq!(error.path, "profiles.placement.west.signedBy.oneOf");
}

#[test]
fn akt_prices_convert_to_base_units() {
    let text = WEB
        .replace("denom: uakt", "denom: akt")
        .replace("amount: 7", "amount: 0.000123");
    let spec = only_group(&parse(&text)).order_spec();
    assert_eq!(spec.max_price_per_second, Uint128::new(123));
}

#[test]
fn anchors_and_aliases_are_expanded() {
    let text = r#"
version: "2.0"
services:
  a:
    image: &image akash-test/busybox:latest
    expose: &expose
      - port: 80
        to: [{global: true}]
  b:
    image: *image
    expose: *expose
profiles:
  compute:
    small:
      resources: &small
        cpu: {units: 0.1}
        memory: {size: 16Mi}
    other:
      resources: *small
  placement:
    west:
      pricing:
        small: &price {denom: uakt, amount: 1}
        other: *price
deployment:
  a: {west: {profile: small, count: 1}}
  b: {west: {profile: other, count: 1}}
"#;
    let group = only_group(&parse(text));
    let services = &group.manifest().services;
    assert_eq!(services["a"].image, services["b"].image);
    assert_eq!(services["a"].expose, services["b"].expose);
    assert_eq!(group.max_price_per_second(), Uint128::new(2));
}

#[test]
fn null_optional_keys_are_absent() {
    let text = WEB.replace("    args: [\"httpd -f -p 80\"]\n", "    args:\n");
    let group = only_group(&parse(&text));
    assert!(group.manifest().services["web"].args.is_empty());
}

const THREE_GROUPS: &str = r#"
version: "2.0"
services:
  web:
    image: akash-test/busybox:latest
    expose:
      - port: 8080
        as: 80
        to: [{global: true}]
  cache:
    image: akash-test/busybox:latest
    expose:
      - port: 6379
        to: [{service: web}]
  db:
    image: akash-test/busybox:latest
    expose:
      - port: 5432
        to: [{service: web}, {service: cache}]
      - port: 9000
        proto: udp
        as: 9001
        to: [{service: web}]
profiles:
  compute:
    p:
      resources:
        cpu: {units: 0.1}
        memory: {size: 16Mi}
  placement:
    front:
      pricing: {p: {denom: uakt, amount: 1}}
    mid:
      pricing: {p: {denom: uakt, amount: 1}}
    back:
      pricing: {p: {denom: uakt, amount: 1}}
deployment:
  web: {front: {profile: p, count: 1}}
  cache: {mid: {profile: p, count: 1}}
  db: {back: {profile: p, count: 1}}
"#;

#[test]
fn topology_names_peers_in_other_groups_without_their_placement() {
    let sdl = parse(THREE_GROUPS);

    let front = sdl.group("front").unwrap().manifest().clone();
    assert_eq!(front.services.keys().collect::<Vec<_>>(), ["web"]);
    assert_eq!(front.peers.keys().collect::<Vec<_>>(), ["cache", "db"]);
    let cache_ports = &front.peers["cache"].ports;
    assert_eq!(cache_ports.len(), 1);
    assert_eq!(
        (cache_ports[0].as_port, cache_ports[0].proto),
        (6379, Proto::Tcp)
    );
    assert_eq!(cache_ports[0].clients, ["web"]);
    let db_ports: Vec<(u16, Proto)> = front.peers["db"]
        .ports
        .iter()
        .map(|p| (p.as_port, p.proto))
        .collect();
    assert_eq!(db_ports, [(5432, Proto::Tcp), (9001, Proto::Udp)]);

    let mid = sdl.group("mid").unwrap().manifest().clone();
    // cache reaches db:5432, and web (a peer with no ports here) reaches cache.
    assert_eq!(mid.peers["db"].ports.len(), 1);
    assert_eq!(mid.peers["db"].ports[0].clients, ["cache"]);
    assert!(mid.peers["web"].ports.is_empty());
    assert_eq!(mid.services["cache"].expose[0].services, ["web"]);

    let back = sdl.group("back").unwrap().manifest().clone();
    assert_eq!(back.peers.keys().collect::<Vec<_>>(), ["cache", "web"]);
    assert!(back.peers.values().all(|p| p.ports.is_empty()));
    assert_eq!(back.services["db"].expose[0].services, ["cache", "web"]);

    for group in sdl.groups() {
        let text = String::from_utf8(group.document_bytes().to_vec()).unwrap();
        for placement in ["front", "mid", "back"] {
            assert!(!text.contains(placement), "{text}");
        }
    }
}

#[test]
fn services_in_one_placement_reach_each_other_locally() {
    let text = THREE_GROUPS
        .replace("cache: {mid:", "cache: {front:")
        .replace("db: {back:", "db: {front:");
    let group = only_group(&parse(&text));
    assert!(group.manifest().peers.is_empty());
    assert_eq!(group.manifest().services.len(), 3);
    assert_eq!(group.max_price_per_second(), Uint128::new(1));
}

#[test]
fn documents_round_trip_and_tampering_is_refused() {
    for sdl in [parse(WEB), parse(TWO_SERVICES), parse(THREE_GROUPS)] {
        for group in sdl.groups() {
            let bytes = group.document_bytes();
            let parsed = GroupManifest::from_document_bytes(bytes).unwrap();
            assert_eq!(&parsed, group.manifest());
            assert_eq!(parsed.document_bytes(), bytes);

            let text = String::from_utf8(bytes.to_vec()).unwrap();
            let tampered = text.replacen("\"count\":1", "\"count\":0", 1);
            if tampered != text {
                assert!(matches!(
                    GroupManifest::from_document_bytes(tampered.as_bytes()),
                    Err(DocumentError::Invalid { .. })
                ));
            }
            let pretty = text.replace(",", ", ");
            assert!(GroupManifest::from_document_bytes(pretty.as_bytes()).is_err());
        }
    }
}

#[test]
fn order_specs_satisfy_the_market_rules() {
    use akash_types::market::{MAX_BID_WINDOW_SECS, MAX_LEASE_DURATION_SECS, MAX_ORDER_COUNT};
    for sdl in [parse(WEB), parse(TWO_SERVICES), parse(THREE_GROUPS)] {
        for group in sdl.groups() {
            let spec = group.order_spec();
            akash_market::validation::validate_spec(&spec).unwrap();
            assert!((1..=MAX_ORDER_COUNT).contains(&spec.count));
            assert!(spec.resources.cpu_millis > 0);
            assert!(spec.resources.memory_bytes > 0);
            assert!(!spec.max_price_per_second.is_zero());
            assert!((1..=MAX_LEASE_DURATION_SECS).contains(&spec.lease_duration_secs));
            assert!((1..=MAX_BID_WINDOW_SECS).contains(&spec.bid_window_secs));
            assert_eq!(spec.manifest_sha256.len(), 64);
            assert_eq!(
                group.escrow_amount(),
                spec.max_price_per_second * Uint128::from(spec.lease_duration_secs)
            );
        }
    }
}

#[test]
fn empty_and_oversized_inputs() {
    assert_eq!(parse_sdl("").unwrap_err().kind, SdlErrorKind::Empty);
    assert_eq!(
        parse_sdl("# nothing\n").unwrap_err().kind,
        SdlErrorKind::Empty
    );
    let huge = format!("{WEB}#{}\n", "x".repeat(MAX_SDL_BYTES));
    assert_eq!(parse_sdl(&huge).unwrap_err().kind, SdlErrorKind::TooLarge);
    let error = parse_sdl("- a\n- b\n").unwrap_err();
    assert_eq!(error.kind, SdlErrorKind::WrongType);
}

#[test]
fn errors_report_line_and_column() {
    let text = WEB.replace("port: 53", "port: 0");
    let error = parse_sdl(&text).unwrap_err();
    assert_eq!(error.kind, SdlErrorKind::InvalidPort);
    assert_eq!(error.path, "services.web.expose[1].port");
    let line = text
        .lines()
        .position(|l| l.contains("port: 0"))
        .map(|i| i + 1);
    assert_eq!(error.line(), line);
    assert_eq!(error.position.unwrap().column, 15);
    assert!(error.to_string().contains("got \"0\""));
}

#[test]
fn duplicate_keys_inside_a_service_are_refused() {
    let text = WEB.replace(
        "    command: [\"sh\", \"-c\"]\n",
        "    command: [\"sh\", \"-c\"]\n    image: other\n",
    );
    let error = parse_sdl(&text).unwrap_err();
    assert_eq!(error.kind, SdlErrorKind::DuplicateKey);
    assert_eq!(error.path, "services.web.image");
}

#[test]
fn truncated_and_mutated_inputs_give_errors_not_panics() {
    let path = format!("{}/../../examples/web-db.yaml", env!("CARGO_MANIFEST_DIR"));
    let original = std::fs::read_to_string(path).unwrap();
    for end in (0..original.len())
        .step_by(3)
        .filter(|i| original.is_char_boundary(*i))
    {
        let _ = parse_sdl(&original[..end]);
    }
    // A fixed linear congruential sequence: the same mutations on every run.
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let alphabet = b" \n:-[]{}\"'&*!#|>,0a9?%@`\t";
    for _ in 0..1_000 {
        let mut bytes = original.clone().into_bytes();
        for _ in 0..1 + next() % 4 {
            let at = next() % bytes.len();
            bytes[at] = alphabet[next() % alphabet.len()];
        }
        if let Ok(text) = String::from_utf8(bytes) {
            if let Err(error) = parse_sdl(&text) {
                assert!(!error.message.is_empty());
            }
        }
    }
}
