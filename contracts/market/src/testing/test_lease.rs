//! Leases: accrual, withdrawals, exact splits on close and completion, deposits, manifests.

use akash_types::common::LeaseOutcome;
use akash_types::market::{
    ExecuteMsg, LeaseBalanceResponse, LeaseState, OrderState, QueryMsg, ReceiveMsg,
    MAX_CLOSE_REASON_LEN, MAX_LEASE_DURATION_SECS,
};
use akash_types::registry::ExecuteMsg as RegistryExecuteMsg;
use cosmwasm_std::{Addr, Uint128};
use cw_utils::PaymentError;

use super::{attr, Suite, HASH_A, HASH_B};
use crate::error::ContractError;

fn balance(s: &Suite, lease_id: u64) -> LeaseBalanceResponse {
    s.query(QueryMsg::LeaseBalance { lease_id })
}

fn withdraw(s: &mut Suite, who: &Addr, lease_id: u64) -> Result<Uint128, ContractError> {
    let resp = s.execute(who, ExecuteMsg::WithdrawEarnings { lease_id })?;
    Ok(Uint128::new(attr(&resp, "amount").parse().unwrap()))
}

fn close(
    s: &mut Suite,
    who: &Addr,
    lease_id: u64,
    reason: Option<&str>,
) -> Result<cosmwasm_std::Response, ContractError> {
    s.execute(
        who,
        ExecuteMsg::CloseLease {
            lease_id,
            reason: reason.map(str::to_string),
        },
    )
}

fn deposit(
    s: &mut Suite,
    lease_id: u64,
    amount: u128,
) -> Result<cosmwasm_std::Response, ContractError> {
    let tenant = s.tenant.clone();
    s.send(
        &tenant,
        Uint128::new(amount),
        &ReceiveMsg::DepositLease { lease_id },
    )
}

fn update_manifest(
    s: &mut Suite,
    who: &Addr,
    lease_id: u64,
    hash: &str,
) -> Result<cosmwasm_std::Response, ContractError> {
    s.execute(
        who,
        ExecuteMsg::UpdateManifest {
            lease_id,
            manifest_sha256: hash.to_string(),
        },
    )
}

#[test]
fn accrual_is_linear_and_stops_at_the_end() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease(); // 40 per second, 1_000 s
    let b = balance(&s, id);
    assert_eq!(b.now, s.now());
    assert_eq!(b.provider_withdrawable, Uint128::zero());
    assert_eq!(b.tenant_refundable, Uint128::new(40_000));
    for (step, expected) in [(1u64, 40u128), (249, 10_000), (500, 30_000), (250, 40_000)] {
        s.advance(step);
        let b = balance(&s, id);
        assert_eq!(b.provider_withdrawable, Uint128::new(expected));
        assert_eq!(b.tenant_refundable, Uint128::new(40_000 - expected));
        assert_eq!(b.escrow, Uint128::new(40_000));
    }
    s.advance(10_000);
    assert_eq!(balance(&s, id).provider_withdrawable, Uint128::new(40_000));
}

#[test]
fn accrual_counts_whole_seconds() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    s.env.block.time = s.env.block.time.plus_nanos(1_999_999_999);
    assert_eq!(balance(&s, id).provider_withdrawable, Uint128::new(40));
}

#[test]
fn withdraw_earnings_pays_what_accrued() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    s.advance(100);
    let resp = s
        .execute(&p, ExecuteMsg::WithdrawEarnings { lease_id: id })
        .unwrap();
    assert_eq!(attr(&resp, "action"), "withdraw_earnings");
    assert_eq!(attr(&resp, "lease_id"), id.to_string());
    assert_eq!(attr(&resp, "provider"), p.as_str());
    assert_eq!(attr(&resp, "amount"), "4000");
    assert_eq!(s.paid_to(&p), Uint128::new(4_000));
    let lease = s.get_lease(id);
    assert_eq!(lease.withdrawn, Uint128::new(4_000));
    assert_eq!(lease.escrow, Uint128::new(36_000));
    s.advance(50);
    assert_eq!(withdraw(&mut s, &p, id).unwrap(), Uint128::new(2_000));
    s.advance(5_000);
    assert_eq!(withdraw(&mut s, &p, id).unwrap(), Uint128::new(34_000));
    assert_eq!(s.paid_to(&p), Uint128::new(40_000));
    assert!(s.get_lease(id).escrow.is_zero());
}

#[test]
fn withdraw_earnings_nothing_to_withdraw() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    assert_eq!(
        withdraw(&mut s, &p, id).unwrap_err(),
        ContractError::NothingToWithdraw { lease_id: id }
    );
    s.advance(10);
    withdraw(&mut s, &p, id).unwrap();
    assert_eq!(
        withdraw(&mut s, &p, id).unwrap_err(),
        ContractError::NothingToWithdraw { lease_id: id }
    );
}

#[test]
fn withdraw_earnings_stranger_refused() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    s.advance(10);
    for who in [s.addr("stranger"), s.tenant.clone()] {
        assert_eq!(
            withdraw(&mut s, &who, id).unwrap_err(),
            ContractError::NotLeaseProvider {
                lease_id: id,
                sender: who.to_string(),
                provider: p.to_string()
            }
        );
    }
}

#[test]
fn withdraw_earnings_after_close_is_refused() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    s.advance(10);
    close(&mut s, &p, id, None).unwrap();
    s.advance(10);
    assert_eq!(
        withdraw(&mut s, &p, id).unwrap_err(),
        ContractError::LeaseNotActive {
            lease_id: id,
            state: LeaseState::ClosedByProvider
        }
    );
}

#[test]
fn withdraw_earnings_refuses_native_funds() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    s.advance(10);
    assert_eq!(
        s.execute_with_funds(&p, ExecuteMsg::WithdrawEarnings { lease_id: id }, 1)
            .unwrap_err(),
        ContractError::Payment(PaymentError::NonPayable {})
    );
}

#[test]
fn close_by_tenant_splits_exactly() {
    let mut s = Suite::new();
    let (order_id, id, p) = s.lease();
    let tenant = s.tenant.clone();
    let surplus = s.paid_to(&tenant); // 60_000
    s.advance(100);
    withdraw(&mut s, &p, id).unwrap(); // 4_000
    s.advance(150);
    let resp = close(&mut s, &tenant, id, Some("moving region")).unwrap();
    assert_eq!(attr(&resp, "action"), "close_lease");
    assert_eq!(attr(&resp, "lease_id"), id.to_string());
    assert_eq!(attr(&resp, "order_id"), order_id.to_string());
    assert_eq!(attr(&resp, "tenant"), tenant.as_str());
    assert_eq!(attr(&resp, "provider"), p.as_str());
    assert_eq!(attr(&resp, "provider_payout"), "6000");
    assert_eq!(attr(&resp, "tenant_refund"), "30000");
    assert_eq!(s.paid_to(&p), Uint128::new(10_000)); // 250 s x 40
    assert_eq!(s.paid_to(&tenant) - surplus, Uint128::new(30_000));

    let lease = s.get_lease(id);
    assert_eq!(lease.state, LeaseState::ClosedByTenant);
    assert_eq!(lease.closed_at, Some(s.now()));
    assert_eq!(lease.close_reason.as_deref(), Some("moving region"));
    assert!(lease.escrow.is_zero());
    assert_eq!(lease.withdrawn, Uint128::new(10_000));
    assert_eq!(
        s.registry_msgs.last().unwrap(),
        &RegistryExecuteMsg::RecordLeaseOutcome {
            provider: p.to_string(),
            lease_id: id,
            outcome: LeaseOutcome::ClosedByTenant
        }
    );
    let b = balance(&s, id);
    assert!(b.provider_withdrawable.is_zero() && b.tenant_refundable.is_zero());
    assert_eq!(s.order(order_id).state, OrderState::Matched);
}

#[test]
fn close_by_provider_records_its_outcome() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    s.advance(1);
    close(&mut s, &p, id, None).unwrap();
    let lease = s.get_lease(id);
    assert_eq!(lease.state, LeaseState::ClosedByProvider);
    assert_eq!(lease.close_reason, None);
    assert_eq!(s.paid_to(&p), Uint128::new(40));
    assert_eq!(
        s.registry_msgs.last().unwrap(),
        &RegistryExecuteMsg::RecordLeaseOutcome {
            provider: p.to_string(),
            lease_id: id,
            outcome: LeaseOutcome::ClosedByProvider
        }
    );
}

#[test]
fn close_at_the_start_pays_no_zero_transfer() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    let tenant = s.tenant.clone();
    close(&mut s, &tenant, id, None).unwrap();
    assert_eq!(s.paid_to(&p), Uint128::zero());
    assert_eq!(s.paid_to(&tenant), Uint128::new(100_000));
}

#[test]
fn close_stranger_refused() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    let stranger = s.addr("stranger");
    assert_eq!(
        close(&mut s, &stranger, id, None).unwrap_err(),
        ContractError::NotLeaseParty {
            lease_id: id,
            sender: stranger.to_string()
        }
    );
}

#[test]
fn close_after_the_end_says_use_complete() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    let ends_at = s.get_lease(id).ends_at;
    s.advance(1_000);
    let err = close(&mut s, &p, id, None).unwrap_err();
    assert_eq!(
        err,
        ContractError::LeaseEnded {
            lease_id: id,
            ends_at,
            now: s.now()
        }
    );
    assert!(err.to_string().contains("CompleteLease"));
}

#[test]
fn close_reason_is_bounded() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    let tenant = s.tenant.clone();
    let long = "é".repeat(MAX_CLOSE_REASON_LEN + 1);
    assert_eq!(
        close(&mut s, &tenant, id, Some(&long)).unwrap_err(),
        ContractError::ReasonTooLong {
            len: MAX_CLOSE_REASON_LEN + 1,
            max: MAX_CLOSE_REASON_LEN
        }
    );
    let ok = "é".repeat(MAX_CLOSE_REASON_LEN);
    close(&mut s, &tenant, id, Some(&ok)).unwrap();
}

#[test]
fn close_twice_refused() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    let tenant = s.tenant.clone();
    close(&mut s, &tenant, id, None).unwrap();
    assert_eq!(
        close(&mut s, &tenant, id, None).unwrap_err(),
        ContractError::LeaseNotActive {
            lease_id: id,
            state: LeaseState::ClosedByTenant
        }
    );
}

#[test]
fn complete_before_the_end_refused() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    s.advance(999);
    let anyone = s.addr("anyone");
    assert_eq!(
        s.execute(&anyone, ExecuteMsg::CompleteLease { lease_id: id })
            .unwrap_err(),
        ContractError::LeaseNotEnded {
            lease_id: id,
            ends_at: s.get_lease(id).ends_at,
            now: s.now()
        }
    );
}

#[test]
fn complete_pays_the_rest_to_the_provider() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    s.advance(300);
    withdraw(&mut s, &p, id).unwrap();
    s.advance(2_000);
    let anyone = s.addr("anyone");
    let resp = s
        .execute(&anyone, ExecuteMsg::CompleteLease { lease_id: id })
        .unwrap();
    assert_eq!(attr(&resp, "action"), "complete_lease");
    assert_eq!(attr(&resp, "provider_payout"), "28000");
    assert_eq!(attr(&resp, "tenant_refund"), "0");
    assert_eq!(s.paid_to(&p), Uint128::new(40_000));
    let lease = s.get_lease(id);
    assert_eq!(lease.state, LeaseState::Completed);
    assert_eq!(lease.withdrawn, Uint128::new(40_000));
    assert_eq!(
        s.registry_msgs.last().unwrap(),
        &RegistryExecuteMsg::RecordLeaseOutcome {
            provider: p.to_string(),
            lease_id: id,
            outcome: LeaseOutcome::Completed
        }
    );
    assert!(matches!(
        s.execute(&anyone, ExecuteMsg::CompleteLease { lease_id: id }),
        Err(ContractError::LeaseNotActive { .. })
    ));
}

#[test]
fn complete_after_full_withdrawal_sends_no_transfer() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    s.advance(1_000);
    withdraw(&mut s, &p, id).unwrap();
    let resp = s
        .execute(&p, ExecuteMsg::CompleteLease { lease_id: id })
        .unwrap();
    assert_eq!(resp.messages.len(), 1, "only the registry record");
}

#[test]
fn deposit_extends_the_lease_and_returns_the_remainder() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    let tenant = s.tenant.clone();
    let before = s.get_lease(id);
    let paid_before = s.paid_to(&tenant);
    s.advance(500);
    let resp = deposit(&mut s, id, 4_039).unwrap(); // 100 s at 40, 39 back
    assert_eq!(attr(&resp, "action"), "deposit_lease");
    assert_eq!(attr(&resp, "lease_id"), id.to_string());
    assert_eq!(attr(&resp, "tenant"), tenant.as_str());
    assert_eq!(attr(&resp, "provider"), p.as_str());
    assert_eq!(attr(&resp, "extension_secs"), "100");
    assert_eq!(attr(&resp, "remainder"), "39");
    assert_eq!(s.paid_to(&tenant) - paid_before, Uint128::new(39));
    let lease = s.get_lease(id);
    assert_eq!(lease.ends_at, before.ends_at.plus_seconds(100));
    assert_eq!(lease.escrow, Uint128::new(44_000));
    // Exact deposit: no remainder transfer.
    let resp = deposit(&mut s, id, 400).unwrap();
    assert!(resp.messages.is_empty());
    // The provider earns the extension.
    s.advance(5_000);
    withdraw(&mut s, &p, id).unwrap();
    assert_eq!(s.paid_to(&p), Uint128::new(40 * 1_110));
}

#[test]
fn deposit_too_small() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    assert_eq!(
        deposit(&mut s, id, 39).unwrap_err(),
        ContractError::DepositTooSmall {
            sent: Uint128::new(39),
            price: Uint128::new(40)
        }
    );
}

#[test]
fn deposit_stranger_refused() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    for who in [s.addr("stranger"), p] {
        assert_eq!(
            s.send(
                &who,
                Uint128::new(400),
                &ReceiveMsg::DepositLease { lease_id: id }
            )
            .unwrap_err(),
            ContractError::NotLeaseTenant {
                lease_id: id,
                sender: who.to_string(),
                tenant: s.tenant.to_string()
            }
        );
    }
}

#[test]
fn deposit_refuses_another_cw20() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    let fake = s.addr("fake-token");
    let tenant = s.tenant.clone();
    assert_eq!(
        s.send_via(
            &fake,
            &tenant,
            Uint128::new(400),
            &ReceiveMsg::DepositLease { lease_id: id }
        )
        .unwrap_err(),
        ContractError::WrongToken {
            sent_by: fake.to_string(),
            expected: s.token.to_string()
        }
    );
}

#[test]
fn deposit_after_the_end_refused() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    s.advance(1_000);
    assert!(matches!(
        deposit(&mut s, id, 400).unwrap_err(),
        ContractError::LeaseEnded { lease_id, .. } if lease_id == id
    ));
}

#[test]
fn deposit_on_a_closed_lease_refused() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    let tenant = s.tenant.clone();
    close(&mut s, &tenant, id, None).unwrap();
    assert!(matches!(
        deposit(&mut s, id, 400).unwrap_err(),
        ContractError::LeaseNotActive { .. }
    ));
}

#[test]
fn deposit_extension_is_bounded() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease(); // 1_000 s remaining
    let max_extra = u128::from(MAX_LEASE_DURATION_SECS - 1_000);
    let err = deposit(&mut s, id, 40 * (max_extra + 1)).unwrap_err();
    assert_eq!(
        err,
        ContractError::ExtensionTooLong {
            remaining_secs: u128::from(MAX_LEASE_DURATION_SECS) + 1,
            max_secs: MAX_LEASE_DURATION_SECS
        }
    );
    // A deposit far beyond u64 seconds is refused the same way, without overflow.
    assert!(matches!(
        deposit(&mut s, id, u128::MAX / 2).unwrap_err(),
        ContractError::ExtensionTooLong { .. }
    ));
    deposit(&mut s, id, 40 * max_extra).unwrap();
}

#[test]
fn deposit_unknown_lease() {
    let mut s = Suite::new();
    assert_eq!(
        deposit(&mut s, 4, 400).unwrap_err(),
        ContractError::LeaseNotFound { lease_id: 4 }
    );
}

#[test]
fn update_manifest_bumps_the_version() {
    let mut s = Suite::new();
    let (order_id, id, p) = s.lease();
    let tenant = s.tenant.clone();
    let resp = update_manifest(&mut s, &tenant, id, HASH_B).unwrap();
    assert_eq!(attr(&resp, "action"), "update_manifest");
    assert_eq!(attr(&resp, "lease_id"), id.to_string());
    assert_eq!(attr(&resp, "provider"), p.as_str());
    assert_eq!(attr(&resp, "manifest_sha256"), HASH_B);
    assert_eq!(attr(&resp, "manifest_version"), "2");
    let lease = s.get_lease(id);
    assert_eq!(lease.manifest_sha256, HASH_B);
    assert_eq!(lease.manifest_version, 2);
    // The order keeps the hash it was created with; the lease's is authoritative.
    assert_eq!(s.order(order_id).spec.manifest_sha256, HASH_A);
    update_manifest(&mut s, &tenant, id, HASH_A).unwrap();
    assert_eq!(s.get_lease(id).manifest_version, 3);
}

#[test]
fn update_manifest_stranger_refused() {
    let mut s = Suite::new();
    let (_, id, p) = s.lease();
    for who in [s.addr("stranger"), p] {
        assert_eq!(
            update_manifest(&mut s, &who, id, HASH_B).unwrap_err(),
            ContractError::NotLeaseTenant {
                lease_id: id,
                sender: who.to_string(),
                tenant: s.tenant.to_string()
            }
        );
    }
}

#[test]
fn update_manifest_invalid_hash() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    let tenant = s.tenant.clone();
    assert_eq!(
        update_manifest(&mut s, &tenant, id, &HASH_B.to_uppercase()).unwrap_err(),
        ContractError::InvalidManifestHash {
            value: HASH_B.to_uppercase()
        }
    );
}

#[test]
fn update_manifest_unchanged() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    let tenant = s.tenant.clone();
    assert_eq!(
        update_manifest(&mut s, &tenant, id, HASH_A).unwrap_err(),
        ContractError::ManifestUnchanged {
            lease_id: id,
            manifest_sha256: HASH_A.into()
        }
    );
}

#[test]
fn update_manifest_on_an_ended_lease_refused() {
    let mut s = Suite::new();
    let (_, id, _) = s.lease();
    let tenant = s.tenant.clone();
    close(&mut s, &tenant, id, None).unwrap();
    assert!(matches!(
        update_manifest(&mut s, &tenant, id, HASH_B).unwrap_err(),
        ContractError::LeaseNotActive { .. }
    ));
}

#[test]
fn lease_messages_on_an_unknown_lease() {
    let mut s = Suite::new();
    let who = s.addr("anyone");
    for msg in [
        ExecuteMsg::WithdrawEarnings { lease_id: 5 },
        ExecuteMsg::CloseLease {
            lease_id: 5,
            reason: None,
        },
        ExecuteMsg::CompleteLease { lease_id: 5 },
        ExecuteMsg::UpdateManifest {
            lease_id: 5,
            manifest_sha256: HASH_B.into(),
        },
    ] {
        assert_eq!(
            s.execute(&who, msg).unwrap_err(),
            ContractError::LeaseNotFound { lease_id: 5 }
        );
    }
}
