//! A long pseudo-random mix of every action by tenants, providers and a stranger, with the
//! invariants of `Suite::check_invariants` checked after every successful message.

use akash_types::market::{ExecuteMsg, OrderSpec, ReceiveMsg};
use cosmwasm_std::{Addr, Uint128};

use super::{attr, spec, Suite, HASH_B};

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn random_spec(rng: &mut Rng) -> OrderSpec {
    let mut sp = spec();
    sp.max_price_per_second = Uint128::new(u128::from(1 + rng.below(200)));
    sp.lease_duration_secs = 1 + rng.below(150);
    sp.bid_window_secs = 1 + rng.below(60);
    sp
}

#[test]
fn escrow_is_conserved_and_strangers_move_nothing() {
    let mut s = Suite::new();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let providers: Vec<Addr> = (0..6).map(|i| s.provider(&format!("p{i}"))).collect();
    let tenants = [s.tenant.clone(), s.addr("tenant-2")];
    let stranger = s.addr("stranger");
    let mut sent_in = Uint128::zero();
    let (mut orders, mut leases) = (0u64, 0u64);
    let mut successes = [0u32; 10];

    for _ in 0..1_000 {
        // Weighted pick of the action kind (index into the match below).
        let kind = {
            const WEIGHTS: [u64; 10] = [3, 3, 3, 1, 3, 1, 2, 1, 3, 2];
            let mut r = rng.below(WEIGHTS.iter().sum());
            let mut k = 0;
            while r >= WEIGHTS[k] {
                r -= WEIGHTS[k];
                k += 1;
            }
            k
        };
        // Favour the newest order and lease: older ones have mostly moved on.
        let order_id = orders.saturating_sub(rng.below(3)).max(1);
        let lease_id = if rng.below(2) == 0 {
            leases.max(1)
        } else {
            1 + rng.below(leases)
        };
        let mut provider = providers[rng.below(providers.len() as u64) as usize].clone();
        let mut tenant = tenants[rng.below(2) as usize].clone();
        // Lease actions mostly come from the lease's own parties.
        if kind >= 6 && leases > 0 && rng.below(4) != 0 {
            let lease = s.get_lease(lease_id);
            (tenant, provider) = (lease.tenant, lease.provider);
        }
        let ok = match kind {
            0 => {
                let sp = random_spec(&mut rng);
                let amount = super::escrow_of(&sp);
                let r = s.send(&tenant, amount, &ReceiveMsg::CreateOrder(sp));
                if r.is_ok() {
                    sent_in += amount;
                    orders += 1;
                }
                r.is_ok()
            }
            1 | 2 => {
                let max = match orders {
                    0 => 1,
                    _ => s.order(order_id).spec.max_price_per_second.u128() as u64,
                };
                let price = 1 + u128::from(rng.below(max + 1)); // sometimes over the max
                let r = s.execute(
                    &provider,
                    ExecuteMsg::PlaceBid {
                        order_id,
                        price_per_second: Uint128::new(price),
                        resources: spec().resources,
                    },
                );
                r.is_ok()
            }
            3 => s
                .execute(&provider, ExecuteMsg::WithdrawBid { order_id })
                .is_ok(),
            4 => match s.do_match(order_id) {
                Ok(resp) => {
                    if attr(&resp, "action") == "match_order" {
                        leases += 1;
                    }
                    true
                }
                Err(_) => false,
            },
            5 => s
                .execute(&tenant, ExecuteMsg::CancelOrder { order_id })
                .is_ok(),
            6 => s
                .execute(&provider, ExecuteMsg::WithdrawEarnings { lease_id })
                .is_ok(),
            7 => {
                let who = if rng.below(2) == 0 { tenant } else { provider };
                s.execute(
                    &who,
                    ExecuteMsg::CloseLease {
                        lease_id,
                        reason: Some("r".repeat(rng.below(300) as usize)),
                    },
                )
                .is_ok()
            }
            8 => s
                .execute(&stranger, ExecuteMsg::CompleteLease { lease_id })
                .is_ok(),
            _ => {
                let amount = Uint128::new(u128::from(rng.below(5_000)));
                let r = s.send(&tenant, amount, &ReceiveMsg::DepositLease { lease_id });
                if r.is_ok() {
                    sent_in += amount;
                }
                r.is_ok()
            }
        };
        if ok {
            successes[kind] += 1;
        }

        // A stranger can move nobody's funds.
        let paid_before = s.paid.clone();
        let balance_before = s.market_balance;
        for msg in [
            ExecuteMsg::CancelOrder { order_id },
            ExecuteMsg::WithdrawBid { order_id },
            ExecuteMsg::WithdrawEarnings { lease_id },
            ExecuteMsg::CloseLease {
                lease_id,
                reason: None,
            },
            ExecuteMsg::UpdateManifest {
                lease_id,
                manifest_sha256: HASH_B.into(),
            },
        ] {
            assert!(s.execute(&stranger, msg).is_err());
        }
        assert!(s
            .send(
                &stranger,
                Uint128::new(1_000),
                &ReceiveMsg::DepositLease { lease_id }
            )
            .is_err());
        assert_eq!(s.paid, paid_before);
        assert_eq!(s.market_balance, balance_before);

        s.advance(rng.below(12));
    }

    // Every kind of action happened, and AKASH is conserved: all that came in is either
    // still held for open orders and active leases or was paid out.
    eprintln!("successes per kind: {successes:?}");
    assert!(successes.iter().all(|n| *n > 0), "{successes:?}");
    let paid_out: Uint128 = s.paid.values().copied().sum();
    assert_eq!(paid_out + s.market_balance, sent_in);
    s.check_invariants();
}
