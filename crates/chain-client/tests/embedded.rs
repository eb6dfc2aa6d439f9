//! The embedded chain through the `MarketChain` trait: the real contracts, real-time bid
//! windows, events to subscribers.

use std::sync::Arc;
use std::time::Duration;

use akash_chain_client::akash_types::common::{Attribute, ResourceUnits};
use akash_chain_client::akash_types::market::{
    LeaseState, OrderSpec, OrderState, PlacementRequirements,
};
use akash_chain_client::embedded::AKASH;
use akash_chain_client::{
    ChainError, EmbeddedChain, EmbeddedConfig, MarketChain, MarketEvent, MarketEventStream, Uint128,
};

const CA_PEM: &str = include_str!("../testdata/ca.pem");
const MANIFEST_V1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const MANIFEST_V2: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const RESOURCES: ResourceUnits = ResourceUnits {
    cpu_millis: 1_000,
    memory_bytes: 1 << 30,
    storage_bytes: 10 << 30,
    bandwidth_bytes_per_sec: 1_000_000,
};

fn spec(bid_window_secs: u64) -> OrderSpec {
    OrderSpec {
        resources: RESOURCES,
        count: 1,
        max_price_per_second: Uint128::new(10),
        lease_duration_secs: 1_000,
        bid_window_secs,
        requirements: PlacementRequirements {
            attributes: vec![Attribute::new("region", "us-west")],
            min_stake: Uint128::new(50 * AKASH),
            min_reputation: 0,
        },
        manifest_sha256: MANIFEST_V1.to_string(),
    }
}

fn account(chain: &EmbeddedChain, name: &str) -> Arc<dyn MarketChain> {
    Arc::new(chain.handle(name))
}

async fn onboard(provider: &dyn MarketChain, stake: u128) {
    provider
        .register_provider(
            "https://provider.example.com:8443",
            vec![Attribute::new("region", "us-west")],
            CA_PEM,
        )
        .await
        .expect("register");
    provider
        .stake(Uint128::new(stake))
        .await
        .expect("stake via cw20 send");
}

/// The next `n` events of a stream, failing after 5 s.
async fn next_events(stream: &mut MarketEventStream, n: usize) -> Vec<MarketEvent> {
    let mut events = Vec::new();
    while events.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(5), stream.next_event())
            .await
            .unwrap_or_else(|_| panic!("timed out after {} events: {events:?}", events.len()))
            .expect("stream open")
            .expect("no stream error");
        events.push(event);
    }
    events
}

fn actions(events: &[MarketEvent]) -> Vec<&str> {
    events.iter().map(|e| e.action.as_str()).collect()
}

async fn wait_for_window(chain: &dyn MarketChain, order_id: u64) {
    let ends_at = chain.order(order_id).await.unwrap().bid_window_ends_at;
    while chain.block_time().await.unwrap() < ends_at {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn full_flow_register_stake_order_bids_real_time_window_match_lease_events() {
    let chain = EmbeddedChain::start_default().unwrap();
    let tenant = account(&chain, "tenant");
    let provider1 = account(&chain, "provider1");
    let provider2 = account(&chain, "provider2");
    let provider3 = account(&chain, "provider3");
    let stranger = account(&chain, "stranger");
    assert_eq!(tenant.address(), EmbeddedChain::address_of("tenant"));
    let mut events = tenant.subscribe_market_events(0).await.unwrap();

    onboard(&*provider1, 100 * AKASH).await;
    onboard(&*provider2, 100 * AKASH).await;
    onboard(&*provider3, 100 * AKASH).await;
    assert_eq!(
        provider1.stake_of(provider1.address()).await.unwrap().stake,
        Uint128::new(100 * AKASH)
    );
    let registered = provider1.provider(provider1.address()).await.unwrap();
    assert_eq!(
        registered.attributes,
        vec![Attribute::new("region", "us-west")]
    );
    assert!(
        tenant
            .reputation(provider1.address())
            .await
            .unwrap()
            .registered
    );

    let before = tenant.token_balance(tenant.address()).await.unwrap();
    let created = tenant.create_order(spec(1)).await.unwrap();
    let order_id = created.order_id;
    assert_eq!(
        tenant.token_balance(tenant.address()).await.unwrap(),
        before - Uint128::new(10_000)
    );
    let order = tenant.order(order_id).await.unwrap();
    assert_eq!(order.state, OrderState::Open);
    assert_eq!(order.tenant.as_str(), tenant.address());
    assert_eq!(
        order.bid_window_ends_at.nanos() - order.created_at.nanos(),
        1_000_000_000,
        "a window of 1 s"
    );

    provider1
        .place_bid(order_id, Uint128::new(8), RESOURCES)
        .await
        .unwrap();
    provider2
        .place_bid(order_id, Uint128::new(6), RESOURCES)
        .await
        .unwrap();
    let bids = tenant.bids(order_id, None, None).await.unwrap();
    let bidders: Vec<&str> = bids.iter().map(|b| b.provider.as_str()).collect();
    assert_eq!(bidders, [provider2.address(), provider1.address()]);
    assert_eq!(
        tenant
            .bid(order_id, provider1.address())
            .await
            .unwrap()
            .price_per_second,
        Uint128::new(8)
    );

    // Still open: the contract's own message comes through.
    let early = stranger.match_order(order_id).await.unwrap_err();
    let message = early.contract_message().expect("a contract error");
    assert!(
        message.starts_with(&format!(
            "order {order_id} can be matched once its bid window closes at"
        )),
        "{message}"
    );

    // The window closes in real time.
    wait_for_window(&*tenant, order_id).await;
    let late = provider3
        .place_bid(order_id, Uint128::new(1), RESOURCES)
        .await
        .unwrap_err();
    assert!(
        late.to_string()
            .starts_with(&format!("bid window of order {order_id} closed at")),
        "{late}"
    );

    let matched = stranger.match_order(order_id).await.unwrap();
    let lease_id = matched.lease_id.expect("a lease");
    let lease = tenant.lease(lease_id).await.unwrap();
    assert_eq!(lease.provider.as_str(), provider2.address());
    assert_eq!(lease.price_per_second, Uint128::new(6));
    assert_eq!(lease.state, LeaseState::Active);
    // Surplus (10 - 6) x 1000 came back at once.
    assert_eq!(
        tenant.token_balance(tenant.address()).await.unwrap(),
        before - Uint128::new(6_000)
    );
    assert_eq!(
        tenant.order(order_id).await.unwrap().state,
        OrderState::Matched
    );
    let by_provider = provider2
        .leases_by_provider(provider2.address(), None, None)
        .await
        .unwrap();
    assert_eq!(by_provider.len(), 1);
    let by_tenant = tenant
        .leases_by_tenant(tenant.address(), None, Some(5))
        .await
        .unwrap();
    assert_eq!(by_tenant[0].id, lease_id);
    assert_eq!(
        tenant
            .orders(Some(OrderState::Matched), None, None)
            .await
            .unwrap()
            .len(),
        1
    );

    tenant.update_manifest(lease_id, MANIFEST_V2).await.unwrap();
    tenant
        .deposit_lease(lease_id, Uint128::new(600))
        .await
        .unwrap();
    let balance = provider2.lease_balance(lease_id).await.unwrap();
    assert_eq!(balance.escrow, Uint128::new(6_600));

    // Chain time jumps past the lease's end; anyone may complete it.
    chain
        .advance_time(Duration::from_secs(1_200))
        .await
        .unwrap();
    stranger.complete_lease(lease_id).await.unwrap();
    assert_eq!(
        tenant.lease(lease_id).await.unwrap().state,
        LeaseState::Completed
    );
    assert_eq!(
        tenant
            .reputation(provider2.address())
            .await
            .unwrap()
            .history
            .leases_completed,
        1
    );

    let received = next_events(&mut events, 7).await;
    assert_eq!(
        actions(&received),
        [
            "create_order",
            "place_bid",
            "place_bid",
            "match_order",
            "update_manifest",
            "deposit_lease",
            "complete_lease"
        ]
    );
    assert!(received.iter().all(|e| e.order_id() == Some(order_id)));
    assert_eq!(received[0].height, created.tx.height);
    assert_eq!(received[0].attribute("manifest_sha256"), Some(MANIFEST_V1));
    assert_eq!(received[3].height, matched.tx.height);
    assert_eq!(received[3].lease_id(), Some(lease_id));
    assert_eq!(received[3].attribute("provider"), Some(provider2.address()));
    assert_eq!(received[4].attribute("manifest_version"), Some("2"));
    assert!(received.windows(2).all(|w| w[0].height < w[1].height));
}

#[tokio::test]
async fn order_without_bids_expires_and_close_lease_is_an_event() {
    let chain = EmbeddedChain::start_default().unwrap();
    let tenant = account(&chain, "tenant");
    let provider = account(&chain, "provider1");
    onboard(&*provider, 100 * AKASH).await;
    let start = tenant.height().await.unwrap();
    let mut events = provider.subscribe_market_events(start).await.unwrap();

    let lonely = tenant.create_order(spec(1)).await.unwrap().order_id;
    let leased = tenant.create_order(spec(1)).await.unwrap().order_id;
    provider
        .place_bid(leased, Uint128::new(10), RESOURCES)
        .await
        .unwrap();
    wait_for_window(&*tenant, leased).await;

    let expired = tenant.match_order(lonely).await.unwrap();
    assert_eq!(expired.lease_id, None);
    assert_eq!(
        tenant.order(lonely).await.unwrap().state,
        OrderState::Expired
    );
    let lease_id = tenant.match_order(leased).await.unwrap().lease_id.unwrap();
    tenant
        .close_lease(lease_id, Some("done early".into()))
        .await
        .unwrap();

    let received = next_events(&mut events, 6).await;
    assert_eq!(
        actions(&received),
        [
            "create_order",
            "create_order",
            "place_bid",
            "order_expired",
            "match_order",
            "close_lease"
        ]
    );
    assert_eq!(received[3].order_id(), Some(lonely));
    assert_eq!(received[3].attribute("refund"), Some("10000"));
    assert_eq!(received[5].attribute("outcome"), Some("ClosedByTenant"));
}

#[tokio::test]
async fn contract_errors_keep_the_contracts_message() {
    let chain = EmbeddedChain::start_default().unwrap();
    let tenant = account(&chain, "tenant");
    let stranger = account(&chain, "stranger");

    let missing = tenant.order(999).await.unwrap_err();
    assert_eq!(missing.contract_message(), Some("order 999 not found"));

    let order_id = tenant.create_order(spec(60)).await.unwrap().order_id;
    let err = stranger.cancel_order(order_id).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is not the tenant ({}) of order {order_id}",
            stranger.address(),
            tenant.address()
        )
    );
    // Through the cw20 hook (token -> market) as well.
    let mut bad = spec(60);
    bad.manifest_sha256 = "nope".into();
    let err = tenant.create_order(bad).await.unwrap_err();
    assert_eq!(
        err.contract_message(),
        Some("invalid manifest_sha256 \"nope\": expected exactly 64 lowercase hex characters")
    );
    let ChainError::Contract { detail, .. } = err else {
        unreachable!()
    };
    assert!(detail.len() > "invalid manifest_sha256".len());

    // Not registered: the market refuses the bid.
    let err = stranger
        .place_bid(order_id, Uint128::new(5), RESOURCES)
        .await
        .unwrap_err();
    assert_eq!(
        err.contract_message(),
        Some(format!("{} is not a registered provider", stranger.address()).as_str())
    );
    // The refused calls changed nothing.
    assert_eq!(tenant.order(order_id).await.unwrap().bid_count, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_are_shared_across_tasks_as_dyn_market_chain() {
    let chain = EmbeddedChain::start_default().unwrap();
    let tenant = account(&chain, "tenant");
    let providers: Vec<Arc<dyn MarketChain>> = ["provider1", "provider2", "provider3"]
        .iter()
        .map(|name| account(&chain, name))
        .collect();
    let order_id = tenant.create_order(spec(30)).await.unwrap().order_id;

    let tasks: Vec<_> = providers
        .iter()
        .enumerate()
        .map(|(i, provider)| {
            let provider = Arc::clone(provider);
            tokio::spawn(async move {
                onboard(&*provider, 100 * AKASH).await;
                provider
                    .place_bid(order_id, Uint128::new(5 + i as u128), RESOURCES)
                    .await
                    .map(|tx| tx.height)
            })
        })
        .collect();
    let mut heights = Vec::new();
    for task in tasks {
        heights.push(task.await.unwrap().unwrap());
    }
    heights.sort();
    heights.dedup();
    assert_eq!(heights.len(), 3, "one block per transaction");
    assert_eq!(tenant.order(order_id).await.unwrap().bid_count, 3);
    let h1 = tenant.height().await.unwrap();
    let h2 = tenant.height().await.unwrap();
    assert!(h2 > h1);
    let t1 = tenant.block_time().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        tenant.block_time().await.unwrap() > t1,
        "time follows the clock"
    );
}

#[tokio::test]
async fn subscription_backfills_from_a_height_and_survives_lagging() {
    let config = EmbeddedConfig {
        event_broadcast_capacity: 2,
        ..EmbeddedConfig::default()
    };
    let chain = EmbeddedChain::start(config).unwrap();
    let tenant = account(&chain, "tenant");
    let mut first = Vec::new();
    for _ in 0..3 {
        first.push(tenant.create_order(spec(60)).await.unwrap());
    }

    // From the second order's height: the backlog starts there.
    let mut from_second = tenant
        .subscribe_market_events(first[1].tx.height)
        .await
        .unwrap();
    let backlog = next_events(&mut from_second, 2).await;
    assert_eq!(
        backlog.iter().map(|e| e.order_id()).collect::<Vec<_>>(),
        [Some(first[1].order_id), Some(first[2].order_id)]
    );

    // A subscriber that reads nothing while far more events than both buffers hold go by
    // still sees every one, in order.
    let mut lagging = tenant.subscribe_market_events(0).await.unwrap();
    let total = 3 + 300;
    for _ in 0..300 {
        tenant.create_order(spec(60)).await.unwrap();
    }
    let all = next_events(&mut lagging, total).await;
    let ids: Vec<u64> = all.iter().map(|e| e.order_id().unwrap()).collect();
    assert_eq!(ids, (1..=total as u64).collect::<Vec<_>>());
    let live = next_events(&mut from_second, total - 3).await;
    assert_eq!(live.last().unwrap().order_id(), Some(total as u64));
}

#[tokio::test]
async fn every_embedded_chain_has_a_chain_id_of_its_own() {
    let first = EmbeddedChain::start_default().unwrap();
    let second = EmbeddedChain::start_default().unwrap();
    assert!(
        first.chain_id().starts_with("akash-embedded-"),
        "{}",
        first.chain_id()
    );
    assert_ne!(first.chain_id(), second.chain_id());
    // Every handle on a chain names the same chain.
    assert_eq!(account(&first, "tenant").chain_id(), first.chain_id());
    assert_eq!(account(&first, "provider1").chain_id(), first.chain_id());
    assert_eq!(account(&second, "tenant").chain_id(), second.chain_id());
}
