//! The tenant's flow on the embedded chain (the real contracts): orders from
//! examples/web.yaml with their exact escrow, bids, the match triggered by the tenant, expiry,
//! the listings and closing.

use std::path::PathBuf;
use std::time::Duration;

use akash_chain_client::akash_types::common::Attribute;
use akash_chain_client::akash_types::market::{LeaseState, OrderState};
use akash_chain_client::{EmbeddedChain, MarketChain, Uint128};
use akash_cli::deploy::{self, DeployEvent, DeployOptions, OrderOutcome, RecordProgress};
use akash_cli::sdl::SdlFile;
use akash_cli::{commands, listings};

const CA_PEM: &str = include_str!("../../crates/chain-client/testdata/ca.pem");

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

fn fast() -> DeployOptions {
    DeployOptions {
        poll_interval: Duration::from_millis(50),
        match_grace: Duration::from_secs(20),
        ready_timeout: Duration::from_secs(20),
    }
}

async fn onboard(provider: &dyn MarketChain, attributes: Vec<Attribute>) {
    provider
        .register_provider("https://127.0.0.1:8443", attributes, CA_PEM)
        .await
        .expect("register");
    provider.stake(Uint128::new(100)).await.expect("stake");
}

/// Ends every open bid window at once: the embedded chain's time runs ahead of the clock.
async fn close_windows(chain: &EmbeddedChain, secs: u64) {
    chain
        .advance_time(Duration::from_secs(secs + 1))
        .await
        .unwrap();
}

#[tokio::test]
async fn web_example_is_ordered_with_its_exact_escrow_and_matched_to_the_cheapest_bid() {
    let chain = EmbeddedChain::start_default().unwrap();
    let tenant = chain.handle("tenant");
    let cheap = chain.handle("provider1");
    let dear = chain.handle("provider2");
    onboard(&cheap, vec![]).await;
    onboard(&dear, vec![]).await;

    let sdl = SdlFile::load(&example("web.yaml")).unwrap();
    let group = sdl.groups().remove(0);
    assert_eq!(group.name(), "anywhere");
    // 10 uakt/s for 1 h.
    assert_eq!(group.escrow_amount(), Uint128::new(36_000));

    let before = tenant.token_balance(tenant.address()).await.unwrap();
    let progress = RecordProgress::default();
    let placed = deploy::create_orders(&tenant, &sdl.groups(), &progress)
        .await
        .unwrap();
    assert_eq!(placed.len(), 1);
    let order = &placed[0].order.clone();
    let after = tenant.token_balance(tenant.address()).await.unwrap();
    assert_eq!(before - after, Uint128::new(36_000), "escrow taken exactly");
    assert_eq!(order.escrow, Uint128::new(36_000));
    assert_eq!(order.spec, group.order_spec());
    assert_eq!(order.spec.manifest_sha256, group.sha256_hex());
    assert_eq!(order.spec.bid_window_secs, 30);

    let unit = order.spec.resources;
    dear.place_bid(order.id, Uint128::new(7), unit)
        .await
        .unwrap();
    cheap
        .place_bid(order.id, Uint128::new(4), unit)
        .await
        .unwrap();
    close_windows(&chain, 30).await;

    let outcomes = deploy::await_matches(&tenant, placed, &progress, &fast())
        .await
        .unwrap();
    let OrderOutcome::Leased(lease) = &outcomes[0].outcome else {
        panic!("not leased: {:?}", outcomes[0].outcome);
    };
    assert_eq!(lease.provider.as_str(), cheap.address());
    assert_eq!(lease.price_per_second, Uint128::new(4));
    assert_eq!(lease.escrow, Uint128::new(4 * 3600));
    assert_eq!(lease.manifest_sha256, group.sha256_hex());

    let events = progress.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            DeployEvent::OrderCreated { .. } => "created",
            DeployEvent::Bids { .. } => "bids",
            DeployEvent::WindowClosed { .. } => "window",
            DeployEvent::Matched { .. } => "matched",
            DeployEvent::Expired { .. } => "expired",
            DeployEvent::Cancelled { .. } => "cancelled",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        ["created", "bids", "window", "matched"],
        "{events:?}"
    );
    assert!(events.contains(&DeployEvent::Bids {
        group: "anywhere".into(),
        order_id: order.id,
        count: 2,
        best: Some((Uint128::new(4), cheap.address().to_string())),
        window_closes_in_secs: 0,
    }));
    assert!(events.contains(&DeployEvent::Matched {
        group: "anywhere".into(),
        order_id: order.id,
        lease_id: lease.id,
        provider: cheap.address().to_string(),
        price_per_second: Uint128::new(4),
        refunded: Uint128::new(36_000 - 4 * 3600),
    }));
    // The surplus came back at the match.
    let after_match = tenant.token_balance(tenant.address()).await.unwrap();
    assert_eq!(before - after_match, Uint128::new(4 * 3600));

    // Listings show the tenant's order and lease.
    let orders = commands::orders(&tenant, false, None).await.unwrap();
    let line = orders
        .lines()
        .find(|l| l.starts_with(&format!("{} ", order.id)))
        .unwrap_or_else(|| panic!("order {} not listed:\n{orders}", order.id));
    assert!(line.contains("matched"), "{line}");
    assert!(line.contains("10 uakt/s"), "{line}");
    assert!(line.contains(&group.sha256_hex()[..12]), "{line}");
    let stranger = chain.handle("stranger");
    assert_eq!(
        commands::orders(&stranger, false, None).await.unwrap(),
        "no orders\n"
    );
    assert!(commands::orders(&stranger, true, Some(OrderState::Matched))
        .await
        .unwrap()
        .contains("TENANT"));
    let leases = commands::leases(&tenant, None).await.unwrap();
    assert!(leases.starts_with("ID"), "{leases}");
    let row = leases.lines().nth(1).unwrap();
    assert!(row.starts_with(&format!("{} ", lease.id)), "{row}");
    assert!(row.contains("active") && row.contains("4 uakt/s"), "{row}");
    let by_provider = commands::leases(&tenant, Some(cheap.address()))
        .await
        .unwrap();
    assert_eq!(by_provider.lines().count(), 2, "{by_provider}");
    let summary = commands::lease_summary(&tenant, lease.id).await.unwrap();
    assert!(summary.contains("active"), "{summary}");
    assert!(summary.contains(&group.sha256_hex()), "{summary}");

    // Closing: the tenant gets back what has not accrued.
    commands::close(&tenant, lease.id, Some("test over".into()))
        .await
        .unwrap();
    let closed = tenant.lease(lease.id).await.unwrap();
    assert_eq!(closed.state, LeaseState::ClosedByTenant);
    assert!(commands::close(&tenant, lease.id, None).await.is_err());
    let leases = commands::leases(&tenant, None).await.unwrap();
    assert!(leases.contains("closed by tenant"), "{leases}");
}

#[tokio::test]
async fn an_order_without_eligible_bids_expires_and_its_escrow_returns() {
    let chain = EmbeddedChain::start_default().unwrap();
    let tenant = chain.handle("tenant");
    // Registered, but without the region the example's backend group requires.
    let provider = chain.handle("provider1");
    onboard(&provider, vec![Attribute::new("region", "us-west")]).await;

    let sdl = SdlFile::load(&example("web-db.yaml")).unwrap();
    assert_eq!(sdl.groups().len(), 2);
    let before = tenant.token_balance(tenant.address()).await.unwrap();
    let progress = RecordProgress::default();
    let placed = deploy::create_orders(&tenant, &sdl.groups(), &progress)
        .await
        .unwrap();
    let escrow: Uint128 = placed
        .iter()
        .fold(Uint128::zero(), |sum, p| sum + p.order.escrow);
    assert_eq!(escrow, sdl.total_escrow());
    assert_eq!(
        before - tenant.token_balance(tenant.address()).await.unwrap(),
        escrow
    );
    // Only the frontend (us-west) gets a bid.
    let frontend = placed
        .iter()
        .find(|p| p.group.name() == "frontend")
        .unwrap();
    provider
        .place_bid(
            frontend.order.id,
            Uint128::new(1),
            frontend.order.spec.resources,
        )
        .await
        .unwrap();
    let window = placed
        .iter()
        .map(|p| p.order.spec.bid_window_secs)
        .max()
        .unwrap();
    close_windows(&chain, window).await;
    let outcomes = deploy::await_matches(&tenant, placed, &progress, &fast())
        .await
        .unwrap();
    let report = deploy::DeployReport {
        groups: outcomes,
        running: vec![],
    };
    assert!(!report.all_leased());
    assert_eq!(report.leases().len(), 1);
    let backend = report
        .groups
        .iter()
        .find(|g| g.group.name() == "backend")
        .unwrap();
    assert!(matches!(backend.outcome, OrderOutcome::Expired));
    assert!(progress.events().iter().any(|e| matches!(
        e,
        DeployEvent::Expired { group, .. } if group == "backend"
    )));
    // Held now: only the frontend lease's escrow (1 uakt/s for its duration).
    let lease = report.leases()[0].clone();
    assert_eq!(
        before - tenant.token_balance(tenant.address()).await.unwrap(),
        lease.escrow
    );
}

#[tokio::test]
async fn deploy_refuses_when_the_balance_does_not_cover_the_escrow() {
    let chain = EmbeddedChain::start_default().unwrap();
    let poor = chain.handle("nobody");
    let sdl = SdlFile::load(&example("web.yaml")).unwrap();
    let key = akash_cli::keys::TenantKey::generate().unwrap();
    let error = deploy::deploy(&poor, &key, &sdl, &RecordProgress::default(), &fast())
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("36000 uakt"), "{error}");
    assert!(
        listings::all_orders(&poor, None).await.unwrap().is_empty(),
        "nothing ordered"
    );
}
