//! The loop between market and registry: lease outcomes written by the market become the
//! provider's public history, which moves the reputation the market checks on bids.

use akash_types::market::{OrderSpec, PlacementRequirements};
use akash_types::registry;

use crate::assert_err;
use crate::suite::{order_spec, MarketError, RegistryError, Suite};

/// Opens a lease of `provider` (index) for tenant 1 at price 5 and returns its id.
fn lease_for(suite: &mut Suite, provider: usize) -> u64 {
    let tenant = suite.tenant(0);
    let order_id = suite.create_order(&tenant, order_spec()).unwrap();
    suite.bid(&suite.provider(provider), order_id, 5).unwrap();
    suite.advance_secs(order_spec().bid_window_secs);
    suite.match_order(&tenant, order_id).unwrap().unwrap()
}

#[test]
fn lease_outcomes_move_reputation_and_bid_eligibility() {
    let mut suite = Suite::builder().with_providers(2).build();
    suite.onboard_providers(&[], 100_000);
    let (reliable, flaky) = (suite.provider(0), suite.provider(1));
    let start_score = suite.reputation(&flaky).score;
    assert_eq!(suite.reputation(&reliable).score, start_score);

    // One provider completes a lease, the other gives one up.
    let completed = lease_for(&mut suite, 0);
    let abandoned = lease_for(&mut suite, 1);
    suite.advance_secs(10);
    suite.close_lease(&flaky, abandoned).unwrap();
    suite.advance_secs(order_spec().lease_duration_secs);
    let stranger = suite.stranger.clone();
    suite.complete_lease(&stranger, completed).unwrap();

    let reliable_rep = suite.reputation(&reliable);
    let flaky_rep = suite.reputation(&flaky);
    assert_eq!(reliable_rep.history.leases_completed, 1);
    assert_eq!(flaky_rep.history.leases_closed_by_provider, 1);
    assert!(reliable_rep.score > start_score, "{reliable_rep:?}");
    assert!(flaky_rep.score < start_score, "{flaky_rep:?}");

    // An order asking for the starting reputation now refuses the flaky provider only.
    let tenant = suite.tenant(0);
    let spec = OrderSpec {
        requirements: PlacementRequirements {
            min_reputation: start_score,
            ..Default::default()
        },
        ..order_spec()
    };
    let order_id = suite.create_order(&tenant, spec).unwrap();
    assert_err!(
        suite.bid(&flaky, order_id, 5),
        MarketError::InsufficientReputation { .. }
    );
    suite.bid(&reliable, order_id, 5).unwrap();
}

#[test]
fn provider_with_an_active_lease_cannot_deregister() {
    let mut suite = Suite::builder().with_providers(1).build();
    suite.onboard_providers(&[], 1_000);
    let provider = suite.provider(0);
    let lease_id = lease_for(&mut suite, 0);
    assert_err!(
        suite.execute_registry(&provider, &registry::ExecuteMsg::Deregister {}),
        RegistryError::ActiveLeases { .. }
    );
    // Once the lease ends the provider may leave; its history stays public.
    suite.advance_secs(order_spec().lease_duration_secs);
    let stranger = suite.stranger.clone();
    suite.complete_lease(&stranger, lease_id).unwrap();
    suite
        .execute_registry(&provider, &registry::ExecuteMsg::Deregister {})
        .unwrap();
    let reputation = suite.reputation(&provider);
    assert!(!reputation.registered);
    assert_eq!(reputation.history.leases_completed, 1);
}
