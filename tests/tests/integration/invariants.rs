//! Property test: random sequences of every message from several actors, with the system's
//! invariants checked after every step (conservation, escrow and stake backing, no effects of
//! a failed message, nobody's funds moved by someone else).

use std::cell::RefCell;
use std::collections::BTreeMap;

use akash_types::common::Attribute;
use akash_types::market::{self, LeaseState, OrderSpec, OrderState, PlacementRequirements};
use akash_types::staking;
use cosmwasm_std::{Addr, Decimal, Uint128};
use cw_multi_test::error::AnyError;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngSeed, TestRunner};

use crate::suite::{order_spec, MarketError, StakingError, Suite, MANIFEST_V2};

/// Actors 0..3 are providers, 3..5 tenants, 5 a stranger. Any actor may send any message.
const PROVIDERS: usize = 3;
const ACTORS: usize = 6;
const START_BALANCE: u128 = 1_000_000;

#[derive(Debug, Clone)]
enum Step {
    Stake {
        actor: usize,
        amount: u128,
    },
    Unbond {
        actor: usize,
        amount: u128,
    },
    Claim {
        actor: usize,
    },
    /// By governance when `by_governance`, else by `actor`.
    Slash {
        by_governance: bool,
        actor: usize,
        target: usize,
        percent: u64,
    },
    Register {
        actor: usize,
        us_west: bool,
    },
    CreateOrder {
        actor: usize,
        max_price: u128,
        duration: u64,
        window: u64,
        min_stake: u128,
        min_reputation: u32,
        needs_us_west: bool,
        /// Added to the exact escrow (non-zero must be refused).
        escrow_offset: i8,
    },
    CancelOrder {
        actor: usize,
        order: usize,
    },
    Bid {
        actor: usize,
        order: usize,
        /// Percent of the order's max price (above 100 must be refused).
        price_percent: u128,
    },
    WithdrawBid {
        actor: usize,
        order: usize,
    },
    Advance {
        secs: u64,
    },
    Match {
        actor: usize,
        order: usize,
    },
    WithdrawEarnings {
        actor: usize,
        lease: usize,
    },
    CloseLease {
        actor: usize,
        lease: usize,
    },
    CompleteLease {
        actor: usize,
        lease: usize,
    },
    Deposit {
        actor: usize,
        lease: usize,
        amount: u128,
    },
    UpdateManifest {
        actor: usize,
        lease: usize,
    },
    Transfer {
        from: usize,
        to: usize,
        amount: u128,
    },
    /// The other cw20 sent to staking (stake) or to the market (create order).
    WrongToken {
        actor: usize,
        to_market: bool,
    },
}

/// Mostly a provider, sometimes anyone.
fn provider() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![4 => 0..PROVIDERS, 1 => 0..ACTORS]
}

/// Mostly a tenant, sometimes anyone.
fn tenant() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![4 => PROVIDERS..ACTORS - 1, 1 => 0..ACTORS]
}

fn anyone() -> impl Strategy<Value = usize> + Clone {
    0..ACTORS
}

/// An index into the existing orders or leases (out of range picks a missing id).
fn pick() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![6 => Just(0usize), 3 => 1..3usize, 1 => 3..8usize]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (provider(), 1..30_000u128).prop_map(|(actor, amount)| Step::Stake { actor, amount }),
        2 => (provider(), 1..5_000u128).prop_map(|(actor, amount)| Step::Unbond { actor, amount }),
        1 => provider().prop_map(|actor| Step::Claim { actor }),
        1 => (any::<bool>(), anyone(), 0..PROVIDERS, 1..=100u64).prop_map(
            |(by_governance, actor, target, percent)| Step::Slash { by_governance, actor, target, percent }
        ),
        1 => (provider(), any::<bool>()).prop_map(|(actor, us_west)| Step::Register { actor, us_west }),
        4 => (
            tenant(),
            1..50u128,
            10..400u64,
            5..60u64,
            prop_oneof![3 => Just(0u128), 1 => Just(5_000u128), 1 => Just(40_000u128)],
            prop_oneof![4 => Just(0u32), 1 => Just(3_000u32)],
            any::<bool>(),
            prop_oneof![8 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)],
        )
            .prop_map(
                |(actor, max_price, duration, window, min_stake, min_reputation, needs_us_west, escrow_offset)| {
                    Step::CreateOrder {
                        actor,
                        max_price,
                        duration,
                        window,
                        min_stake,
                        min_reputation,
                        needs_us_west,
                        escrow_offset,
                    }
                }
            ),
        1 => (tenant(), pick()).prop_map(|(actor, order)| Step::CancelOrder { actor, order }),
        6 => (provider(), pick(), prop_oneof![9 => 1..=100u128, 1 => 101..=200u128])
            .prop_map(|(actor, order, price_percent)| Step::Bid { actor, order, price_percent }),
        1 => (provider(), pick()).prop_map(|(actor, order)| Step::WithdrawBid { actor, order }),
        6 => prop_oneof![3 => 1..20u64, 1 => 20..300u64].prop_map(|secs| Step::Advance { secs }),
        3 => (anyone(), pick()).prop_map(|(actor, order)| Step::Match { actor, order }),
        2 => (provider(), pick()).prop_map(|(actor, lease)| Step::WithdrawEarnings { actor, lease }),
        1 => (anyone(), pick()).prop_map(|(actor, lease)| Step::CloseLease { actor, lease }),
        1 => (anyone(), pick()).prop_map(|(actor, lease)| Step::CompleteLease { actor, lease }),
        1 => (tenant(), pick(), 1..5_000u128).prop_map(|(actor, lease, amount)| Step::Deposit { actor, lease, amount }),
        1 => (tenant(), pick()).prop_map(|(actor, lease)| Step::UpdateManifest { actor, lease }),
        1 => (anyone(), anyone(), 1..50_000u128).prop_map(|(from, to, amount)| Step::Transfer { from, to, amount }),
        1 => (anyone(), any::<bool>()).prop_map(|(actor, to_market)| Step::WrongToken { actor, to_market }),
    ]
}

struct World {
    suite: Suite,
    actors: Vec<Addr>,
}

impl World {
    fn new() -> Self {
        let mut suite = Suite::builder()
            .with_providers(PROVIDERS)
            .with_tenants(ACTORS - PROVIDERS - 1)
            .with_provider_balance(START_BALANCE)
            .with_tenant_balance(START_BALANCE)
            .with_stranger_balance(START_BALANCE)
            .with_unbonding_period(60)
            .with_stake_for_full_reputation(50_000)
            .build();
        // Providers 1 and 2 start registered and staked (the third must register through a
        // step), with one active lease and one open order with a bid, so that lease and bid
        // steps have something to act on from the start.
        for i in 0..2 {
            let provider = suite.provider(i);
            suite
                .register_provider(&provider, &[("region", "us-west")])
                .unwrap();
            suite.stake(&provider, 20_000).unwrap();
        }
        let (tenant_1, tenant_2) = (suite.tenant(0), suite.tenant(1));
        let short_lease = OrderSpec {
            lease_duration_secs: 150,
            ..order_spec()
        };
        let leased = suite.create_order(&tenant_1, short_lease).unwrap();
        suite.bid(&suite.provider(0), leased, 8).unwrap();
        suite.bid(&suite.provider(1), leased, 6).unwrap();
        suite.advance_secs(order_spec().bid_window_secs);
        suite.match_order(&tenant_1, leased).unwrap().unwrap();
        let open = suite.create_order(&tenant_2, order_spec()).unwrap();
        suite.bid(&suite.provider(0), open, 9).unwrap();
        let actors = suite.actors();
        World { suite, actors }
    }

    fn balances(&self) -> Vec<u128> {
        self.suite.all_balances()
    }

    /// Open orders first (newest first), then the others; past the end, a missing id.
    fn order_id(&self, pick: usize) -> u64 {
        let mut orders = self.suite.orders(None);
        let missing = orders.len() as u64 + 1;
        orders.sort_by_key(|o| (o.state != OrderState::Open, std::cmp::Reverse(o.id)));
        orders.get(pick).map(|o| o.id).unwrap_or(missing)
    }

    fn all_leases(&self) -> Vec<market::Lease> {
        let mut leases: Vec<market::Lease> = self
            .actors
            .iter()
            .flat_map(|a| self.suite.leases_by_tenant(a))
            .collect();
        leases.sort_by_key(|l| l.id);
        leases
    }

    /// Active leases first (newest first), then the others; past the end, a missing id.
    fn lease_id(&self, pick: usize) -> u64 {
        let mut leases = self.all_leases();
        let missing = leases.len() as u64 + 1;
        leases.sort_by_key(|l| (l.state != LeaseState::Active, std::cmp::Reverse(l.id)));
        leases.get(pick).map(|l| l.id).unwrap_or(missing)
    }

    /// Who sends `step`'s message (`None` for the passage of time).
    fn sender(&self, step: &Step) -> Option<Addr> {
        let actor = match *step {
            Step::Advance { .. } => return None,
            Step::Slash {
                by_governance: true,
                ..
            } => return Some(self.suite.governance.clone()),
            Step::Transfer { from, .. } => from,
            Step::Stake { actor, .. }
            | Step::Unbond { actor, .. }
            | Step::Claim { actor }
            | Step::Slash { actor, .. }
            | Step::Register { actor, .. }
            | Step::CreateOrder { actor, .. }
            | Step::CancelOrder { actor, .. }
            | Step::Bid { actor, .. }
            | Step::WithdrawBid { actor, .. }
            | Step::Match { actor, .. }
            | Step::WithdrawEarnings { actor, .. }
            | Step::CloseLease { actor, .. }
            | Step::CompleteLease { actor, .. }
            | Step::Deposit { actor, .. }
            | Step::UpdateManifest { actor, .. }
            | Step::WrongToken { actor, .. } => actor,
        };
        Some(self.actors[actor].clone())
    }

    /// Executes `step` as `sender` (every step but `Advance` has one).
    fn run(&mut self, step: &Step, sender: Option<&Addr>) -> Result<(), AnyError> {
        if let Step::Advance { secs } = *step {
            self.suite.advance_secs(secs);
            return Ok(());
        }
        let sender = sender.expect("a message step has a sender");
        let s = &mut self.suite;
        match *step {
            Step::Advance { .. } => unreachable!("handled above"),
            Step::Stake { amount, .. } => s.stake(sender, amount).map(drop),
            Step::Unbond { amount, .. } => s.unbond(sender, amount).map(drop),
            Step::Claim { .. } => s.claim(sender).map(drop),
            Step::Slash {
                target, percent, ..
            } => {
                let target = self.actors[target].clone();
                s.slash_as(sender, &target, Decimal::percent(percent))
                    .map(drop)
            }
            Step::Register { us_west, .. } => {
                let region = if us_west { "us-west" } else { "eu-central" };
                s.register_provider(sender, &[("region", region)]).map(drop)
            }
            Step::CreateOrder {
                max_price,
                duration,
                window,
                min_stake,
                min_reputation,
                needs_us_west,
                escrow_offset,
                ..
            } => {
                let spec = OrderSpec {
                    max_price_per_second: Uint128::new(max_price),
                    lease_duration_secs: duration,
                    bid_window_secs: window,
                    requirements: PlacementRequirements {
                        attributes: if needs_us_west {
                            vec![Attribute::new("region", "us-west")]
                        } else {
                            vec![]
                        },
                        min_stake: Uint128::new(min_stake),
                        min_reputation,
                    },
                    ..order_spec()
                };
                let escrow = (max_price * u128::from(duration))
                    .saturating_add_signed(i128::from(escrow_offset));
                s.create_order_with_escrow(sender, spec, escrow).map(drop)
            }
            Step::CancelOrder { order, .. } => {
                let order_id = self.order_id(order);
                self.suite.cancel_order(sender, order_id).map(drop)
            }
            Step::Bid {
                order,
                price_percent,
                ..
            } => {
                let order_id = self.order_id(order);
                let max_price = self
                    .suite
                    .try_order(order_id)
                    .map(|o| o.spec.max_price_per_second.u128())
                    .unwrap_or(10);
                let price = (max_price * price_percent).div_ceil(100);
                self.suite.bid(sender, order_id, price).map(drop)
            }
            Step::WithdrawBid { order, .. } => {
                let order_id = self.order_id(order);
                self.suite.withdraw_bid(sender, order_id).map(drop)
            }
            Step::Match { order, .. } => {
                let order_id = self.order_id(order);
                self.suite.match_order(sender, order_id).map(drop)
            }
            Step::WithdrawEarnings { lease, .. } => {
                let lease_id = self.lease_id(lease);
                self.suite.withdraw(sender, lease_id).map(drop)
            }
            Step::CloseLease { lease, .. } => {
                let lease_id = self.lease_id(lease);
                self.suite.close_lease(sender, lease_id).map(drop)
            }
            Step::CompleteLease { lease, .. } => {
                let lease_id = self.lease_id(lease);
                self.suite.complete_lease(sender, lease_id).map(drop)
            }
            Step::Deposit { lease, amount, .. } => {
                let lease_id = self.lease_id(lease);
                self.suite.deposit_lease(sender, lease_id, amount).map(drop)
            }
            Step::UpdateManifest { lease, .. } => {
                let lease_id = self.lease_id(lease);
                self.suite
                    .update_manifest(sender, lease_id, MANIFEST_V2)
                    .map(drop)
            }
            Step::Transfer { to, amount, .. } => {
                let recipient = self.actors[to].clone();
                s.transfer(sender, &recipient, amount).map(drop)
            }
            Step::WrongToken { to_market, .. } => {
                let other = s.other_token.clone();
                let res = if to_market {
                    let market = s.market.clone();
                    let spec = order_spec();
                    let escrow =
                        spec.max_price_per_second.u128() * u128::from(spec.lease_duration_secs);
                    s.send_cw20(
                        &other,
                        sender,
                        &market,
                        escrow,
                        &market::ReceiveMsg::CreateOrder(spec),
                    )
                } else {
                    let staking = s.staking.clone();
                    s.send_cw20(
                        &other,
                        sender,
                        &staking,
                        1_000,
                        &staking::ReceiveMsg::Stake {},
                    )
                };
                // Counted as a success when refused; an acceptance fails the property (see
                // `unexpected_error`).
                match res {
                    Ok(_) => Err(AnyError::msg("a hook accepted the other cw20")),
                    Err(_) => Ok(()),
                }
            }
        }
    }

    /// Checks every invariant; `Err` names the first one broken.
    fn check_invariants(&self) -> Result<(), TestCaseError> {
        let s = &self.suite;

        // 1. AKASH is conserved.
        let held: u128 = self.balances().iter().sum();
        prop_assert_eq!(held, s.total_supply(), "sum of balances != total supply");

        // 2. The market holds exactly the escrow of open orders and active leases.
        let mut escrowed = 0u128;
        for order in s.orders(None) {
            match order.state {
                OrderState::Open => escrowed += order.escrow.u128(),
                _ => prop_assert_eq!(order.escrow, Uint128::zero(), "closed order {:?}", order),
            }
        }
        let open_orders = s.orders(Some(OrderState::Open));
        prop_assert!(open_orders.iter().all(|o| o.state == OrderState::Open));
        for lease in self.all_leases() {
            if lease.state == LeaseState::Active {
                escrowed += lease.escrow.u128();
                // The escrow always covers what the provider has earned.
                let split = s.lease_balance(lease.id);
                prop_assert_eq!(
                    split.provider_withdrawable + split.tenant_refundable,
                    lease.escrow,
                    "lease split {:?}",
                    split
                );
            } else {
                prop_assert_eq!(lease.escrow, Uint128::zero(), "ended lease {:?}", lease);
            }
        }
        prop_assert_eq!(s.balance(&s.market), escrowed, "market balance != escrows");

        // 3. Staking holds exactly the stakes and the pending claims.
        let stakes: u128 = self.actors.iter().map(|a| s.stake_of(a)).sum();
        let claims: u128 = self.actors.iter().map(|a| s.pending_claims_total(a)).sum();
        prop_assert_eq!(s.total_stake(), stakes, "TotalStake != sum of stakes");
        prop_assert_eq!(
            s.balance(&s.staking),
            stakes + claims,
            "staking balance != stakes + claims"
        );
        Ok(())
    }
}

/// Errors that no input of this test should produce: arithmetic overflow in a contract, the
/// token refusing a transfer the market or staking contract asked for (an accounting bug), or
/// a hook accepting the other cw20.
fn unexpected_error(step: &Step, err: &AnyError) -> Option<String> {
    if let Step::WrongToken { .. } = step {
        return Some(err.to_string());
    }
    if let Some(e @ MarketError::Overflow(_)) = err.downcast_ref::<MarketError>() {
        return Some(format!("market overflow: {e}"));
    }
    if let Some(e @ StakingError::Overflow(_)) = err.downcast_ref::<StakingError>() {
        return Some(format!("staking overflow: {e}"));
    }
    let sends_tokens = matches!(
        step,
        Step::Stake { .. }
            | Step::CreateOrder { .. }
            | Step::Deposit { .. }
            | Step::Transfer { .. }
            | Step::WrongToken { .. }
    );
    if !sends_tokens {
        if let Some(e) = err.downcast_ref::<cw20_base::ContractError>() {
            return Some(format!("a contract's own token transfer failed: {e}"));
        }
    }
    None
}

impl Step {
    fn kind(&self) -> &'static str {
        match self {
            Step::Stake { .. } => "stake",
            Step::Unbond { .. } => "unbond",
            Step::Claim { .. } => "claim",
            Step::Slash { .. } => "slash",
            Step::Register { .. } => "register",
            Step::CreateOrder { .. } => "create order",
            Step::CancelOrder { .. } => "cancel order",
            Step::Bid { .. } => "bid",
            Step::WithdrawBid { .. } => "withdraw bid",
            Step::Advance { .. } => "advance",
            Step::Match { .. } => "match",
            Step::WithdrawEarnings { .. } => "withdraw earnings",
            Step::CloseLease { .. } => "close lease",
            Step::CompleteLease { .. } => "complete lease",
            Step::Deposit { .. } => "deposit",
            Step::UpdateManifest { .. } => "update manifest",
            Step::Transfer { .. } => "transfer",
            Step::WrongToken { .. } => "wrong token refused",
        }
    }
}

/// How often each kind of step succeeded and failed over the whole run.
type Coverage = BTreeMap<&'static str, (u32, u32)>;

fn record(coverage: &mut Coverage, step: &Step, result: &Result<(), AnyError>) {
    let counts = coverage.entry(step.kind()).or_default();
    match result {
        Ok(()) => counts.0 += 1,
        Err(err) => {
            counts.1 += 1;
            // `AKASH_DEBUG_STEPS=1 cargo test .. -- --nocapture` shows why steps are refused,
            // to tune the generator.
            if std::env::var_os("AKASH_DEBUG_STEPS").is_some() {
                eprintln!("{}: {} ({step:?})", step.kind(), err.root_cause());
            }
        }
    }
}

fn run_sequence(steps: &[Step], coverage: &RefCell<Coverage>) -> Result<(), TestCaseError> {
    let mut world = World::new();
    world.check_invariants()?;
    for (i, step) in steps.iter().enumerate() {
        let before = world.balances();
        let sender = world.sender(step);
        let result = world.run(step, sender.as_ref());
        let after = world.balances();
        record(&mut coverage.borrow_mut(), step, &result);
        match &result {
            Err(err) => {
                if let Some(problem) = unexpected_error(step, err) {
                    return Err(TestCaseError::fail(format!(
                        "step {i} {step:?}: {problem}\n{err:?}"
                    )));
                }
                prop_assert_eq!(
                    &before,
                    &after,
                    "step {} {:?} failed but moved funds",
                    i,
                    step
                );
            }
            Ok(()) => {
                // Only the sender's own balance may go down (contracts pay out of escrow).
                for (j, actor) in world.actors.iter().enumerate() {
                    if Some(actor) != sender.as_ref() {
                        prop_assert!(
                            after[j] >= before[j],
                            "step {} {:?} took funds of actor {}",
                            i,
                            step,
                            j
                        );
                    }
                }
            }
        }
        world
            .check_invariants()
            .map_err(|e| TestCaseError::fail(format!("after step {i} {step:?}: {e}")))?;
    }
    Ok(())
}

/// `AKASH_PROPTEST_CASES` and `AKASH_PROPTEST_SEED` override the fixed defaults, to search
/// further than CI does.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn invariants_hold_after_every_step() {
    let config = ProptestConfig {
        cases: env_or("AKASH_PROPTEST_CASES", 32),
        rng_seed: RngSeed::Fixed(env_or("AKASH_PROPTEST_SEED", 0xA4A5_2026)),
        failure_persistence: None,
        max_shrink_iters: 512,
        ..ProptestConfig::default()
    };
    let coverage = RefCell::new(Coverage::new());
    let mut runner = TestRunner::new(config);
    let result = runner.run(&prop::collection::vec(step(), 30..60), |steps| {
        run_sequence(&steps, &coverage)
    });
    if let Err(err) = result {
        panic!("{err}");
    }
    // Guard against a generator that only ever produces refused messages.
    let coverage = coverage.into_inner();
    eprintln!("steps (succeeded, refused): {coverage:?}");
    for (kind, (succeeded, failed)) in &coverage {
        assert!(
            *succeeded > 0,
            "no {kind} step ever succeeded ({failed} refused): the sequences test nothing"
        );
    }
    assert_eq!(coverage.len(), 18, "every kind of step ran: {coverage:?}");
}
