//! Unit tests with the cosmwasm_std::testing mocks. `SECURITY.md` names the test proving each
//! invariant.

use akash_types::staking::{
    Claim, ClaimsResponse, ConfigResponse, ExecuteMsg, InstantiateMsg, QueryMsg, ReceiveMsg,
    StakeResponse, TotalStakeResponse, DEFAULT_PAGE_LIMIT, MAX_CLAIMS_PER_ADDRESS, MAX_HOOKS,
    MAX_PAGE_LIMIT,
};
use cosmwasm_std::testing::{
    message_info, mock_dependencies, mock_env, MockApi, MockQuerier, MockStorage,
};
use cosmwasm_std::{
    coins, from_json, to_json_binary, Addr, Binary, ContractResult, CosmosMsg, Decimal, Env,
    OwnedDeps, Response, StdError, Storage, SubMsg, SystemResult, Uint128, WasmMsg, WasmQuery,
};
use cw20::{Cw20ExecuteMsg, Cw20ReceiveMsg};
use cw4::{
    Cw4Contract, HooksResponse, Member, MemberChangedHookMsg, MemberDiff, MemberListResponse,
    MemberResponse, TotalWeightResponse,
};
use cw_utils::PaymentError;
use serde::de::DeserializeOwned;

use crate::contract::{execute, instantiate, query};
use crate::error::ContractError;
use crate::execute::MAX_SLASH_REASON_LEN;
use crate::state::{CLAIMS, MEMBERS, STAKES, TOTAL, TOTAL_CLAIMS, TOTAL_STAKE};

/// Base units per cw4 weight in the tests.
const TPW: u128 = 100;
/// Unbonding period in the tests.
const PERIOD: u64 = 1_000;

struct Suite {
    deps: OwnedDeps<MockStorage, MockApi, MockQuerier>,
    env: Env,
    token: Addr,
    gov: Addr,
    dest: Addr,
}

impl Suite {
    fn new() -> Self {
        Self::with(TPW, PERIOD)
    }

    fn with(tokens_per_weight: u128, unbonding_period_secs: u64) -> Self {
        let mut deps = mock_dependencies();
        let env = mock_env();
        let token = deps.api.addr_make("akash-token");
        let gov = deps.api.addr_make("governance");
        let dest = deps.api.addr_make("community-pool");
        let creator = deps.api.addr_make("creator");
        instantiate(
            deps.as_mut(),
            env.clone(),
            message_info(&creator, &[]),
            InstantiateMsg {
                token: token.to_string(),
                governance: gov.to_string(),
                unbonding_period_secs,
                slash_destination: dest.to_string(),
                tokens_per_weight: Uint128::new(tokens_per_weight),
            },
        )
        .unwrap();
        Suite {
            deps,
            env,
            token,
            gov,
            dest,
        }
    }

    fn addr(&self, name: &str) -> Addr {
        self.deps.api.addr_make(name)
    }

    fn exec(&mut self, sender: &Addr, msg: ExecuteMsg) -> Result<Response, ContractError> {
        execute(
            self.deps.as_mut(),
            self.env.clone(),
            message_info(sender, &[]),
            msg,
        )
    }

    /// A cw20 `Send` of `amount` by `who`, delivered by `cw20` (normally the token).
    fn stake_via(
        &mut self,
        cw20: &Addr,
        who: &Addr,
        amount: u128,
    ) -> Result<Response, ContractError> {
        let msg = ExecuteMsg::Receive(Cw20ReceiveMsg {
            sender: who.to_string(),
            amount: Uint128::new(amount),
            msg: to_json_binary(&ReceiveMsg::Stake {}).unwrap(),
        });
        let cw20 = cw20.clone();
        self.exec(&cw20, msg)
    }

    fn stake(&mut self, who: &Addr, amount: u128) -> Result<Response, ContractError> {
        let token = self.token.clone();
        self.stake_via(&token, who, amount)
    }

    fn unbond(&mut self, who: &Addr, amount: u128) -> Result<Response, ContractError> {
        self.exec(
            who,
            ExecuteMsg::Unbond {
                amount: Uint128::new(amount),
            },
        )
    }

    fn claim(&mut self, who: &Addr) -> Result<Response, ContractError> {
        self.exec(who, ExecuteMsg::Claim {})
    }

    fn slash(
        &mut self,
        provider: &Addr,
        fraction: Decimal,
        reason: &str,
    ) -> Result<Response, ContractError> {
        let gov = self.gov.clone();
        self.exec(
            &gov,
            ExecuteMsg::Slash {
                provider: provider.to_string(),
                fraction,
                reason: reason.to_string(),
            },
        )
    }

    fn add_hook(&mut self, hook: &Addr) -> Result<Response, ContractError> {
        let gov = self.gov.clone();
        self.exec(
            &gov,
            ExecuteMsg::AddHook {
                addr: hook.to_string(),
            },
        )
    }

    fn q<T: DeserializeOwned>(&self, msg: QueryMsg) -> T {
        from_json(query(self.deps.as_ref(), self.env.clone(), msg).unwrap()).unwrap()
    }

    fn stake_of(&self, who: &Addr) -> u128 {
        let res: StakeResponse = self.q(QueryMsg::Stake {
            address: who.to_string(),
        });
        res.stake.u128()
    }

    fn claims_of(&self, who: &Addr) -> Vec<Claim> {
        let res: ClaimsResponse = self.q(QueryMsg::Claims {
            address: who.to_string(),
        });
        res.claims
    }

    fn weight(&self, who: &Addr, at_height: Option<u64>) -> Option<u64> {
        let res: MemberResponse = self.q(QueryMsg::Member {
            addr: who.to_string(),
            at_height,
        });
        res.weight
    }

    fn total_weight(&self, at_height: Option<u64>) -> u64 {
        let res: TotalWeightResponse = self.q(QueryMsg::TotalWeight { at_height });
        res.weight
    }

    fn total_stake(&self) -> u128 {
        let res: TotalStakeResponse = self.q(QueryMsg::TotalStake {});
        res.total_stake.u128()
    }

    fn list(&self, start_after: Option<String>, limit: Option<u32>) -> Vec<Member> {
        let res: MemberListResponse = self.q(QueryMsg::ListMembers { start_after, limit });
        res.members
    }

    /// Moves to the next block, `secs` seconds later.
    fn advance(&mut self, secs: u64) {
        self.env.block.height += 1;
        self.env.block.time = self.env.block.time.plus_seconds(secs);
    }
}

/// The cw20 transfers in `res`: (token contract, recipient, amount).
fn transfers(res: &Response) -> Vec<(String, String, u128)> {
    res.messages
        .iter()
        .filter_map(|m| match &m.msg {
            CosmosMsg::Wasm(WasmMsg::Execute {
                contract_addr, msg, ..
            }) => match from_json::<Cw20ExecuteMsg>(msg) {
                Ok(Cw20ExecuteMsg::Transfer { recipient, amount }) => {
                    Some((contract_addr.clone(), recipient, amount.u128()))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// The cw4 member-changed hook messages in `res`: (hook contract, diffs).
fn hook_msgs(res: &Response) -> Vec<(String, Vec<MemberDiff>)> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum HookExec {
        MemberChangedHook(MemberChangedHookMsg),
    }
    res.messages
        .iter()
        .filter_map(|m| match &m.msg {
            CosmosMsg::Wasm(WasmMsg::Execute {
                contract_addr, msg, ..
            }) => match from_json::<HookExec>(msg) {
                Ok(HookExec::MemberChangedHook(h)) => Some((contract_addr.clone(), h.diffs)),
                Err(_) => None,
            },
            _ => None,
        })
        .collect()
}

fn attr<'a>(res: &'a Response, key: &str) -> Option<&'a str> {
    res.attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.as_str())
}

fn pct(p: u64) -> Decimal {
    Decimal::percent(p)
}

// ---------------------------------------------------------------------------------------------
// instantiate, config

#[test]
fn instantiate_validates_and_saves_config() {
    let mut deps = mock_dependencies();
    let creator = deps.api.addr_make("creator");
    let good = InstantiateMsg {
        token: deps.api.addr_make("akash-token").to_string(),
        governance: deps.api.addr_make("governance").to_string(),
        unbonding_period_secs: 0,
        slash_destination: deps.api.addr_make("community-pool").to_string(),
        tokens_per_weight: Uint128::new(1),
    };
    let run = |deps: &mut OwnedDeps<_, _, _>, msg: InstantiateMsg, funds: &[_]| {
        instantiate(
            deps.as_mut(),
            mock_env(),
            message_info(&creator, funds),
            msg,
        )
    };

    let zero_tpw = InstantiateMsg {
        tokens_per_weight: Uint128::zero(),
        ..good.clone()
    };
    assert_eq!(
        run(&mut deps, zero_tpw, &[]).unwrap_err(),
        ContractError::ZeroTokensPerWeight {}
    );
    for bad in [
        InstantiateMsg {
            token: "NotAnAddress".into(),
            ..good.clone()
        },
        InstantiateMsg {
            governance: "cosmwasm1bad".into(),
            ..good.clone()
        },
        InstantiateMsg {
            slash_destination: String::new(),
            ..good.clone()
        },
    ] {
        assert!(matches!(
            run(&mut deps, bad, &[]).unwrap_err(),
            ContractError::Std(_)
        ));
    }
    assert_eq!(
        run(&mut deps, good.clone(), &coins(5, "uakt")).unwrap_err(),
        ContractError::Payment(PaymentError::NonPayable {})
    );

    let res = run(&mut deps, good.clone(), &[]).unwrap();
    assert_eq!(attr(&res, "action"), Some("instantiate"));
    let cfg: ConfigResponse =
        from_json(query(deps.as_ref(), mock_env(), QueryMsg::Config {}).unwrap()).unwrap();
    assert_eq!(cfg.token.as_str(), good.token);
    assert_eq!(cfg.governance.as_str(), good.governance);
    assert_eq!(cfg.slash_destination.as_str(), good.slash_destination);
    assert_eq!(cfg.unbonding_period_secs, 0);
    assert_eq!(cfg.tokens_per_weight, Uint128::new(1));
    let version = cw2::get_contract_version(&deps.storage).unwrap();
    assert_eq!(version.contract, "akash-staking");
    // The cw4 total exists from the start (cw3-flex-multisig reads it by raw query).
    assert_eq!(
        deps.storage.get(cw4::TOTAL_KEY.as_bytes()),
        Some(b"0".to_vec())
    );
}

#[test]
fn update_config_by_governance() {
    let mut s = Suite::new();
    let new_gov = s.addr("new-governance");
    let new_dest = s.addr("new-pool");
    let gov = s.gov.clone();
    let res = s
        .exec(
            &gov,
            ExecuteMsg::UpdateConfig {
                governance: Some(new_gov.to_string()),
                unbonding_period_secs: Some(7),
                slash_destination: Some(new_dest.to_string()),
            },
        )
        .unwrap();
    assert_eq!(attr(&res, "action"), Some("update_config"));
    let cfg: ConfigResponse = s.q(QueryMsg::Config {});
    assert_eq!(cfg.governance, new_gov);
    assert_eq!(cfg.slash_destination, new_dest);
    assert_eq!(cfg.unbonding_period_secs, 7);

    // The old governance lost its rights.
    let err = s
        .exec(
            &gov,
            ExecuteMsg::UpdateConfig {
                governance: None,
                unbonding_period_secs: Some(1),
                slash_destination: None,
            },
        )
        .unwrap_err();
    assert!(matches!(err, ContractError::NotGovernance { .. }));

    // Invalid addresses are refused.
    let err = s
        .exec(
            &new_gov,
            ExecuteMsg::UpdateConfig {
                governance: None,
                unbonding_period_secs: None,
                slash_destination: Some("Nope".into()),
            },
        )
        .unwrap_err();
    assert!(matches!(err, ContractError::Std(_)));

    // The new period applies to new claims.
    let alice = s.addr("alice");
    s.stake(&alice, 100).unwrap();
    s.unbond(&alice, 10).unwrap();
    assert_eq!(
        s.claims_of(&alice)[0].release_at,
        s.env.block.time.plus_seconds(7)
    );
}

// ---------------------------------------------------------------------------------------------
// stake

#[test]
fn stake_via_cw20_hook() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    let res = s.stake(&alice, 1_000).unwrap();
    assert_eq!(attr(&res, "action"), Some("stake"));
    assert_eq!(attr(&res, "provider"), Some(alice.as_str()));
    assert_eq!(attr(&res, "amount"), Some("1000"));
    assert_eq!(attr(&res, "stake"), Some("1000"));
    assert!(res.messages.is_empty());

    s.stake(&alice, 234).unwrap();
    assert_eq!(s.stake_of(&alice), 1_234);
    assert_eq!(s.total_stake(), 1_234);
    assert_eq!(s.weight(&alice, None), Some(12));

    // Zero is refused (cw20 refuses it too).
    assert_eq!(
        s.stake(&alice, 0).unwrap_err(),
        ContractError::ZeroAmount {}
    );
    // An invalid cw20 sender address is refused.
    let token = s.token.clone();
    let err = s
        .exec(
            &token,
            ExecuteMsg::Receive(Cw20ReceiveMsg {
                sender: "Invalid".into(),
                amount: Uint128::new(5),
                msg: to_json_binary(&ReceiveMsg::Stake {}).unwrap(),
            }),
        )
        .unwrap_err();
    assert!(matches!(err, ContractError::Std(_)));
    // An unknown embedded message is refused.
    let err = s
        .exec(
            &token,
            ExecuteMsg::Receive(Cw20ReceiveMsg {
                sender: alice.to_string(),
                amount: Uint128::new(5),
                msg: Binary::from(br#"{"unknown":{}}"#),
            }),
        )
        .unwrap_err();
    assert!(matches!(err, ContractError::Std(_)));
    assert_eq!(s.stake_of(&alice), 1_234);
}

#[test]
fn stake_from_wrong_token_is_refused() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    let fake = s.addr("fake-token");
    let err = s.stake_via(&fake, &alice, 1_000).unwrap_err();
    assert_eq!(
        err,
        ContractError::WrongToken {
            received: fake.to_string(),
            expected: s.token.to_string(),
        }
    );
    assert!(err.to_string().contains(fake.as_str()));
    // A user calling the hook directly is just another wrong token.
    let err = s.stake_via(&alice.clone(), &alice, 1_000).unwrap_err();
    assert!(matches!(err, ContractError::WrongToken { .. }));
    assert_eq!(s.stake_of(&alice), 0);
    assert_eq!(s.total_stake(), 0);
}

#[test]
fn execute_messages_refuse_native_funds() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    s.stake(&alice, 1_000).unwrap();
    let hook_msg = ExecuteMsg::Receive(Cw20ReceiveMsg {
        sender: alice.to_string(),
        amount: Uint128::new(5),
        msg: to_json_binary(&ReceiveMsg::Stake {}).unwrap(),
    });
    let cases = [
        (s.token.clone(), hook_msg),
        (
            alice.clone(),
            ExecuteMsg::Unbond {
                amount: Uint128::new(1),
            },
        ),
        (alice.clone(), ExecuteMsg::Claim {}),
        (
            s.gov.clone(),
            ExecuteMsg::Slash {
                provider: alice.to_string(),
                fraction: pct(10),
                reason: "r".into(),
            },
        ),
        (
            s.gov.clone(),
            ExecuteMsg::UpdateConfig {
                governance: None,
                unbonding_period_secs: None,
                slash_destination: None,
            },
        ),
        (
            s.gov.clone(),
            ExecuteMsg::AddHook {
                addr: alice.to_string(),
            },
        ),
        (
            s.gov.clone(),
            ExecuteMsg::RemoveHook {
                addr: alice.to_string(),
            },
        ),
    ];
    for (sender, msg) in cases {
        let err = execute(
            s.deps.as_mut(),
            s.env.clone(),
            message_info(&sender, &coins(1, "uakt")),
            msg,
        )
        .unwrap_err();
        assert_eq!(err, ContractError::Payment(PaymentError::NonPayable {}));
    }
    assert_eq!(s.stake_of(&alice), 1_000);
}

// ---------------------------------------------------------------------------------------------
// unbond, claim

#[test]
fn unbond_refuses_zero_and_more_than_staked() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    let bob = s.addr("bob");
    s.stake(&alice, 500).unwrap();
    assert_eq!(
        s.unbond(&alice, 0).unwrap_err(),
        ContractError::ZeroAmount {}
    );
    let err = s.unbond(&alice, 501).unwrap_err();
    assert_eq!(
        err,
        ContractError::InsufficientStake {
            staked: Uint128::new(500),
            requested: Uint128::new(501),
        }
    );
    assert!(err.to_string().contains("staked 500, requested 501"));
    assert_eq!(
        s.unbond(&bob, 1).unwrap_err(),
        ContractError::InsufficientStake {
            staked: Uint128::zero(),
            requested: Uint128::new(1),
        }
    );
    assert_eq!(s.stake_of(&alice), 500);
}

#[test]
fn unbond_then_claim_after_unbonding_period() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    s.stake(&alice, 1_000).unwrap();
    let start = s.env.block.time;
    let res = s.unbond(&alice, 400).unwrap();
    assert_eq!(attr(&res, "action"), Some("unbond"));
    assert_eq!(attr(&res, "provider"), Some(alice.as_str()));
    assert_eq!(attr(&res, "amount"), Some("400"));
    let release = start.plus_seconds(PERIOD);
    assert_eq!(
        attr(&res, "release_at"),
        Some(release.seconds().to_string().as_str())
    );
    assert_eq!(s.stake_of(&alice), 600);
    assert_eq!(s.total_stake(), 600);
    assert_eq!(
        s.claims_of(&alice),
        vec![Claim {
            amount: Uint128::new(400),
            release_at: release,
        }]
    );

    // Nothing to claim right away, nor one second before the release.
    assert_eq!(
        s.claim(&alice).unwrap_err(),
        ContractError::NothingToClaim {
            address: alice.to_string()
        }
    );
    s.advance(PERIOD - 1);
    s.unbond(&alice, 100).unwrap();
    assert!(matches!(
        s.claim(&alice).unwrap_err(),
        ContractError::NothingToClaim { .. }
    ));

    // At the release time exactly: the first claim is paid, the second stays.
    s.advance(1);
    let res = s.claim(&alice).unwrap();
    assert_eq!(attr(&res, "action"), Some("claim"));
    assert_eq!(attr(&res, "amount"), Some("400"));
    assert_eq!(
        transfers(&res),
        vec![(s.token.to_string(), alice.to_string(), 400)]
    );
    assert_eq!(
        s.claims_of(&alice),
        vec![Claim {
            amount: Uint128::new(100),
            release_at: start.plus_seconds(2 * PERIOD - 1),
        }]
    );
    assert!(matches!(
        s.claim(&alice).unwrap_err(),
        ContractError::NothingToClaim { .. }
    ));

    // Much later: the rest in one transfer, and the claims entry is gone.
    s.advance(10 * PERIOD);
    let res = s.claim(&alice).unwrap();
    assert_eq!(
        transfers(&res),
        vec![(s.token.to_string(), alice.to_string(), 100)]
    );
    assert!(s.claims_of(&alice).is_empty());
    assert!(!CLAIMS.has(&s.deps.storage, &alice));
    assert_eq!(TOTAL_CLAIMS.load(&s.deps.storage).unwrap(), Uint128::zero());
}

#[test]
fn unbond_all_removes_stake_entry() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    s.stake(&alice, 1_000).unwrap();
    s.unbond(&alice, 1_000).unwrap();
    assert_eq!(s.stake_of(&alice), 0);
    assert!(!STAKES.has(&s.deps.storage, &alice));
}

#[test]
fn zero_unbonding_period_claims_in_same_block() {
    let mut s = Suite::with(TPW, 0);
    let alice = s.addr("alice");
    s.stake(&alice, 1_000).unwrap();
    s.unbond(&alice, 300).unwrap();
    s.unbond(&alice, 200).unwrap();
    // Both matured at once: merged into one entry.
    assert_eq!(
        s.claims_of(&alice),
        vec![Claim {
            amount: Uint128::new(500),
            release_at: s.env.block.time,
        }]
    );
    let res = s.claim(&alice).unwrap();
    assert_eq!(
        transfers(&res),
        vec![(s.token.to_string(), alice.to_string(), 500)]
    );
    // Matured claims never count against the limit.
    for _ in 0..(MAX_CLAIMS_PER_ADDRESS + 4) {
        s.unbond(&alice, 1).unwrap();
        s.advance(1);
    }
    assert_eq!(s.claims_of(&alice).len(), 1);
}

#[test]
fn unbonding_period_overflow_is_an_error_not_a_panic() {
    let mut s = Suite::with(TPW, u64::MAX);
    let alice = s.addr("alice");
    s.stake(&alice, 1_000).unwrap();
    assert!(matches!(
        s.unbond(&alice, 1).unwrap_err(),
        ContractError::Overflow(_)
    ));
    assert_eq!(s.stake_of(&alice), 1_000);
}

#[test]
fn claims_are_bounded_per_address() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    s.stake(&alice, 1_000).unwrap();
    for _ in 0..MAX_CLAIMS_PER_ADDRESS {
        s.unbond(&alice, 1).unwrap();
        s.advance(1);
    }
    // Full: a claim with a new release time is refused ...
    assert_eq!(
        s.unbond(&alice, 1).unwrap_err(),
        ContractError::TooManyClaims {
            address: alice.to_string(),
            max: MAX_CLAIMS_PER_ADDRESS,
        }
    );
    // ... but one releasing at the same time as an existing claim is merged into it.
    s.env.block.time = s.env.block.time.minus_seconds(1);
    s.unbond(&alice, 5).unwrap();
    assert_eq!(s.claims_of(&alice).len(), MAX_CLAIMS_PER_ADDRESS);
    assert_eq!(
        s.claims_of(&alice).last().map(|c| c.amount),
        Some(Uint128::new(6))
    );
    s.env.block.time = s.env.block.time.plus_seconds(1);

    // Once the first claim matures there is room again; matured claims are merged into one.
    let first_release = s.claims_of(&alice)[0].release_at;
    s.env.block.time = first_release;
    s.unbond(&alice, 2).unwrap();
    let claims = s.claims_of(&alice);
    assert_eq!(claims.len(), MAX_CLAIMS_PER_ADDRESS + 1);
    assert_eq!(
        claims[0],
        Claim {
            amount: Uint128::new(1),
            release_at: first_release,
        }
    );
    // Full again (16 unbonding): a new release time 1ns later is refused.
    s.env.block.time = s.env.block.time.plus_nanos(1);
    assert!(matches!(
        s.unbond(&alice, 1).unwrap_err(),
        ContractError::TooManyClaims { .. }
    ));
    // 3s later three more matured: merged with the first, 13 unbonding + the new one.
    s.env.block.time = s.env.block.time.plus_seconds(3);
    s.unbond(&alice, 1).unwrap();
    let claims = s.claims_of(&alice);
    assert_eq!(claims.len(), 1 + 14);
    assert_eq!(
        claims[0],
        Claim {
            amount: Uint128::new(4),
            release_at: first_release,
        }
    );
    let total: u128 = claims.iter().map(|c| c.amount.u128()).sum();
    assert_eq!(total, 16 + 5 + 2 + 1);

    // Other addresses are not affected.
    let bob = s.addr("bob");
    s.stake(&bob, 10).unwrap();
    s.unbond(&bob, 1).unwrap();
}

// ---------------------------------------------------------------------------------------------
// slash

#[test]
fn slash_takes_fraction_of_stake_and_unbonding_claims() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    let bob = s.addr("bob");
    s.stake(&alice, 1_000).unwrap();
    s.stake(&bob, 500).unwrap();
    s.unbond(&alice, 301).unwrap(); // stake 699, claim 301 (will mature)
    s.advance(PERIOD);
    s.unbond(&alice, 99).unwrap(); // stake 600, claim 99 (unbonding)
    s.advance(1);
    s.unbond(&alice, 7).unwrap(); // stake 593, claim 7 (unbonding)
    s.advance(1);
    // Now the 301 claim has matured (not slashed), 99 and 7 are unbonding.
    let res = s.slash(&alice, pct(30), "double signing").unwrap();
    // floor(593 * 0.3) = 177; floor(99 * 0.3) = 29; floor(7 * 0.3) = 2.
    let (stake_cut, claims_cut) = (177u128, 29u128 + 2);
    let total = stake_cut + claims_cut;
    assert_eq!(attr(&res, "action"), Some("slash"));
    assert_eq!(attr(&res, "provider"), Some(alice.as_str()));
    assert_eq!(attr(&res, "amount"), Some(total.to_string().as_str()));
    assert_eq!(attr(&res, "reason"), Some("double signing"));
    assert_eq!(attr(&res, "stake_slashed"), Some("177"));
    assert_eq!(attr(&res, "claims_slashed"), Some("31"));
    assert_eq!(
        transfers(&res),
        vec![(s.token.to_string(), s.dest.to_string(), total)]
    );
    assert_eq!(s.stake_of(&alice), 593 - stake_cut);
    let amounts: Vec<u128> = s
        .claims_of(&alice)
        .iter()
        .map(|c| c.amount.u128())
        .collect();
    assert_eq!(amounts, vec![301, 70, 5]);
    assert_eq!(s.total_stake(), 593 - stake_cut + 500);
    assert_eq!(s.weight(&alice, None), Some(4)); // 416 / 100
                                                 // Bob is untouched.
    assert_eq!(s.stake_of(&bob), 500);

    // The matured claim is still paid in full.
    let res = s.claim(&alice).unwrap();
    assert_eq!(
        transfers(&res),
        vec![(s.token.to_string(), alice.to_string(), 301)]
    );
}

#[test]
fn slash_everything_with_fraction_one() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    s.stake(&alice, 1_000).unwrap();
    s.unbond(&alice, 250).unwrap();
    let res = s.slash(&alice, Decimal::one(), "equivocation").unwrap();
    assert_eq!(
        transfers(&res),
        vec![(s.token.to_string(), s.dest.to_string(), 1_000)]
    );
    assert_eq!(s.stake_of(&alice), 0);
    assert!(s.claims_of(&alice).is_empty());
    assert!(!STAKES.has(&s.deps.storage, &alice));
    assert!(!CLAIMS.has(&s.deps.storage, &alice));
    assert_eq!(s.weight(&alice, None), None);
    assert_eq!(s.total_weight(None), 0);
    assert_eq!(s.total_stake(), 0);
    assert_eq!(TOTAL_CLAIMS.load(&s.deps.storage).unwrap(), Uint128::zero());
    // Nothing left.
    assert_eq!(
        s.slash(&alice, Decimal::one(), "again").unwrap_err(),
        ContractError::NothingToSlash {
            provider: alice.to_string()
        }
    );
}

#[test]
fn slash_validates_fraction_reason_and_amount() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    let nobody = s.addr("nobody");
    s.stake(&alice, 3).unwrap();
    assert_eq!(
        s.slash(&alice, Decimal::zero(), "r").unwrap_err(),
        ContractError::InvalidFraction {
            fraction: Decimal::zero()
        }
    );
    let over = Decimal::one() + Decimal::permille(1);
    assert_eq!(
        s.slash(&alice, over, "r").unwrap_err(),
        ContractError::InvalidFraction { fraction: over }
    );
    assert!(matches!(
        s.slash(&alice, pct(50), "  ").unwrap_err(),
        ContractError::InvalidReason { len: 2, .. }
    ));
    let long = "x".repeat(MAX_SLASH_REASON_LEN + 1);
    assert!(matches!(
        s.slash(&alice, pct(50), &long).unwrap_err(),
        ContractError::InvalidReason { .. }
    ));
    assert!(s
        .slash(&alice, pct(1), &"x".repeat(MAX_SLASH_REASON_LEN))
        .is_err_and(|e| matches!(e, ContractError::NothingToSlash { .. })));
    // floor(3 * 0.1) = 0: nothing to slash.
    assert_eq!(
        s.slash(&alice, pct(10), "r").unwrap_err(),
        ContractError::NothingToSlash {
            provider: alice.to_string()
        }
    );
    assert!(matches!(
        s.slash(&nobody, pct(100), "r").unwrap_err(),
        ContractError::NothingToSlash { .. }
    ));
    assert!(matches!(
        s.slash(&Addr::unchecked("Bad"), pct(100), "r").unwrap_err(),
        ContractError::Std(StdError::GenericErr { .. })
    ));
    assert_eq!(s.stake_of(&alice), 3);
}

// ---------------------------------------------------------------------------------------------
// governance

#[test]
fn governance_messages_refused_for_stranger() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    let stranger = s.addr("stranger");
    s.stake(&alice, 1_000).unwrap();
    let msgs = [
        ExecuteMsg::Slash {
            provider: alice.to_string(),
            fraction: pct(50),
            reason: "r".into(),
        },
        ExecuteMsg::UpdateConfig {
            governance: Some(stranger.to_string()),
            unbonding_period_secs: Some(0),
            slash_destination: Some(stranger.to_string()),
        },
        ExecuteMsg::AddHook {
            addr: stranger.to_string(),
        },
        ExecuteMsg::RemoveHook {
            addr: stranger.to_string(),
        },
    ];
    for sender in [&stranger, &alice, &s.token.clone(), &s.dest.clone()] {
        for msg in msgs.clone() {
            let err = s.exec(sender, msg).unwrap_err();
            assert_eq!(
                err,
                ContractError::NotGovernance {
                    sender: sender.to_string(),
                    governance: s.gov.to_string(),
                }
            );
        }
    }
    assert_eq!(s.stake_of(&alice), 1_000);
    let cfg: ConfigResponse = s.q(QueryMsg::Config {});
    assert_eq!(cfg.governance, s.gov);
    let hooks: HooksResponse = s.q(QueryMsg::Hooks {});
    assert!(hooks.hooks.is_empty());
}

// ---------------------------------------------------------------------------------------------
// cw4

#[test]
fn cw4_weights_follow_stake() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    let bob = s.addr("bob");
    let h0 = s.env.block.height;

    s.stake(&alice, 99).unwrap(); // weight 0: not a member
    assert_eq!(s.weight(&alice, None), None);
    assert!(s.list(None, None).is_empty());
    s.stake(&alice, 151).unwrap(); // 250 -> 2
    s.stake(&bob, 1_000).unwrap(); // 10
    assert_eq!(s.weight(&alice, None), Some(2));
    assert_eq!(s.total_weight(None), 12);

    s.advance(5); // h0 + 1
    s.stake(&alice, 50).unwrap(); // 300 -> 3
    s.advance(5); // h0 + 2
    s.unbond(&bob, 1_000).unwrap(); // bob -> removed
    s.advance(5); // h0 + 3
    s.slash(&alice, pct(50), "r").unwrap(); // 150 -> 1
    s.advance(5); // h0 + 4

    assert_eq!(s.weight(&alice, None), Some(1));
    assert_eq!(s.weight(&bob, None), None);
    assert_eq!(s.total_weight(None), 1);
    assert_eq!(
        s.list(None, None),
        vec![Member {
            addr: alice.to_string(),
            weight: 1
        }]
    );

    // at_height h = the state at the start of block h (changes of block h show from h + 1).
    let expect = [
        (h0, None, None, 0),
        (h0 + 1, Some(2), Some(10), 12),
        (h0 + 2, Some(3), Some(10), 13),
        (h0 + 3, Some(3), None, 3),
        (h0 + 4, Some(1), None, 1),
        (h0 + 100, Some(1), None, 1),
    ];
    for (h, a, b, total) in expect {
        assert_eq!(s.weight(&alice, Some(h)), a, "alice at {h}");
        assert_eq!(s.weight(&bob, Some(h)), b, "bob at {h}");
        assert_eq!(s.total_weight(Some(h)), total, "total at {h}");
    }
}

#[test]
fn cw4_weight_overflow_is_refused() {
    let mut s = Suite::with(1, PERIOD);
    let alice = s.addr("alice");
    let bob = s.addr("bob");
    let max = u128::from(u64::MAX);
    s.stake(&alice, max).unwrap();
    assert_eq!(s.weight(&alice, None), Some(u64::MAX));
    let err = s.stake(&alice, 1).unwrap_err();
    assert_eq!(
        err,
        ContractError::WeightOverflow {
            address: alice.to_string(),
            weight: max + 1,
        }
    );
    // The total must fit u64 too.
    assert!(matches!(
        s.stake(&bob, 1).unwrap_err(),
        ContractError::WeightOverflow { .. }
    ));
    // Nothing was written by the refused stakes.
    assert_eq!(s.stake_of(&bob), 0);
    assert_eq!(s.stake_of(&alice), max);
    assert_eq!(s.total_stake(), max);
    // Lowering the weight always works.
    s.unbond(&alice, 10).unwrap();
    s.stake(&bob, 10).unwrap();
    assert_eq!(s.total_weight(None), u64::MAX);
}

/// What a stock cw3-flex-multisig does: `cw4::Cw4Contract` raw queries (total, member without
/// height) and smart queries (member at height, list), against this contract's storage.
#[test]
fn cw4_contract_helper_reads_this_contract() {
    let mut s = Suite::new();
    let alice = s.addr("alice");
    let bob = s.addr("bob");
    let carol = s.addr("carol");
    s.stake(&alice, 1_000).unwrap();
    s.stake(&bob, 250).unwrap();
    s.stake(&carol, 50).unwrap();
    let h1 = s.env.block.height;
    s.advance(5);
    s.stake(&bob, 250).unwrap();
    s.advance(5);

    // Serve the wasm queries of a querier from a copy of the contract's storage.
    let kv: Vec<(Vec<u8>, Vec<u8>)> = s
        .deps
        .storage
        .range(None, None, cosmwasm_std::Order::Ascending)
        .collect();
    let env = s.env.clone();
    let contract = Addr::unchecked("staking");
    let mut querier = MockQuerier::<cosmwasm_std::Empty>::new(&[]);
    querier.update_wasm(move |q| {
        let mut deps = mock_dependencies();
        for (k, v) in &kv {
            deps.storage.set(k, v);
        }
        match q {
            WasmQuery::Raw { key, .. } => SystemResult::Ok(ContractResult::Ok(Binary::from(
                deps.storage.get(key.as_slice()).unwrap_or_default(),
            ))),
            WasmQuery::Smart { msg, .. } => {
                SystemResult::Ok(query(deps.as_ref(), env.clone(), from_json(msg).unwrap()).into())
            }
            _ => panic!("unexpected query"),
        }
    });
    let wrapper = cosmwasm_std::QuerierWrapper::<cosmwasm_std::Empty>::new(&querier);
    let group = Cw4Contract::new(contract);

    assert_eq!(group.total_weight(&wrapper).unwrap(), 15);
    assert_eq!(group.is_member(&wrapper, &alice, None).unwrap(), Some(10));
    assert_eq!(group.is_member(&wrapper, &bob, None).unwrap(), Some(5));
    assert_eq!(group.is_member(&wrapper, &carol, None).unwrap(), None);
    assert_eq!(
        group.is_voting_member(&wrapper, &bob, h1 + 1).unwrap(),
        Some(2)
    );
    assert_eq!(group.is_voting_member(&wrapper, &bob, h1).unwrap(), None);
    assert_eq!(
        group.is_member(&wrapper, &bob, Some(h1 + 1)).unwrap(),
        Some(2)
    );
    let mut listed = group.list_members(&wrapper, None, None).unwrap();
    listed.sort_by(|a, b| a.addr.cmp(&b.addr));
    let mut expected = vec![
        Member {
            addr: alice.to_string(),
            weight: 10,
        },
        Member {
            addr: bob.to_string(),
            weight: 5,
        },
    ];
    expected.sort_by(|a, b| a.addr.cmp(&b.addr));
    assert_eq!(listed, expected);
    assert!(group.hooks(&wrapper).unwrap().is_empty());
    // cw4's documented raw key for one member.
    assert_eq!(
        s.deps.storage.get(&cw4::member_key(alice.as_str())),
        Some(b"10".to_vec())
    );
}

#[test]
fn list_members_is_paginated_and_bounded() {
    let mut s = Suite::new();
    let n = MAX_PAGE_LIMIT as usize + 5;
    let mut addrs: Vec<Addr> = (0..n).map(|i| s.addr(&format!("provider-{i}"))).collect();
    for (i, a) in addrs.iter().enumerate() {
        s.stake(a, 100 * (i as u128 + 1)).unwrap();
    }
    // One staker below one weight is not listed.
    let small = s.addr("small");
    s.stake(&small, 1).unwrap();
    addrs.sort();

    assert_eq!(s.list(None, None).len(), DEFAULT_PAGE_LIMIT as usize);
    assert_eq!(s.list(None, Some(1_000)).len(), MAX_PAGE_LIMIT as usize);
    assert_eq!(s.list(None, Some(0)).len(), 0);

    let mut seen = Vec::new();
    let mut start_after = None;
    loop {
        let page = s.list(start_after.clone(), Some(7));
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        start_after = page.last().map(|m| m.addr.clone());
        seen.extend(page);
    }
    let seen_addrs: Vec<String> = seen.iter().map(|m| m.addr.clone()).collect();
    let expected: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    assert_eq!(seen_addrs, expected);
    for m in &seen {
        let stake = s.stake_of(&Addr::unchecked(m.addr.clone()));
        assert_eq!(u128::from(m.weight), stake / TPW);
    }
    // start_after must be an address.
    assert!(query(
        s.deps.as_ref(),
        s.env.clone(),
        QueryMsg::ListMembers {
            start_after: Some("Bad".into()),
            limit: None
        }
    )
    .is_err());
}

// ---------------------------------------------------------------------------------------------
// hooks

#[test]
fn hooks_receive_member_changes() {
    let mut s = Suite::new();
    let h1 = s.addr("hook-1");
    let h2 = s.addr("hook-2");
    let alice = s.addr("alice");
    let res = s.add_hook(&h1).unwrap();
    assert_eq!(attr(&res, "action"), Some("add_hook"));
    s.add_hook(&h2).unwrap();
    let hooks: HooksResponse = s.q(QueryMsg::Hooks {});
    assert_eq!(hooks.hooks, vec![h1.to_string(), h2.to_string()]);

    let diff = |old, new| vec![MemberDiff::new(alice.as_str(), old, new)];
    let both = |old, new| {
        vec![
            (h1.to_string(), diff(old, new)),
            (h2.to_string(), diff(old, new)),
        ]
    };

    // Below one weight: no change, no hook.
    let res = s.stake(&alice, 50).unwrap();
    assert!(hook_msgs(&res).is_empty());
    let res = s.stake(&alice, 250).unwrap(); // 300 -> 3
    assert_eq!(hook_msgs(&res), both(None, Some(3)));
    // The exact message a cw4 hook receiver parses.
    assert_eq!(
        res.messages[0],
        SubMsg::new(
            MemberChangedHookMsg::one(MemberDiff::new(alice.as_str(), None, Some(3)))
                .into_cosmos_msg(h1.to_string())
                .unwrap()
        )
    );
    let res = s.stake(&alice, 50).unwrap(); // 350 -> still 3
    assert!(hook_msgs(&res).is_empty());
    let res = s.unbond(&alice, 150).unwrap(); // 200 -> 2
    assert_eq!(hook_msgs(&res), both(Some(3), Some(2)));
    let res = s.slash(&alice, pct(50), "r").unwrap(); // 100 -> 1
    assert_eq!(hook_msgs(&res), both(Some(2), Some(1)));
    assert_eq!(transfers(&res).len(), 1);
    let res = s.unbond(&alice, 100).unwrap(); // 0 -> removed
    assert_eq!(hook_msgs(&res), both(Some(1), None));
    // Claims do not change weight.
    s.advance(PERIOD);
    let res = s.claim(&alice).unwrap();
    assert!(hook_msgs(&res).is_empty());

    // Removing a hook stops its messages.
    let gov = s.gov.clone();
    let res = s
        .exec(
            &gov,
            ExecuteMsg::RemoveHook {
                addr: h1.to_string(),
            },
        )
        .unwrap();
    assert_eq!(attr(&res, "action"), Some("remove_hook"));
    let res = s.stake(&alice, 100).unwrap();
    assert_eq!(hook_msgs(&res), vec![(h2.to_string(), diff(None, Some(1)))]);
}

#[test]
fn hooks_are_bounded_and_unique() {
    let mut s = Suite::new();
    for i in 0..MAX_HOOKS {
        let h = s.addr(&format!("hook-{i}"));
        s.add_hook(&h).unwrap();
    }
    let extra = s.addr("hook-extra");
    assert_eq!(
        s.add_hook(&extra).unwrap_err(),
        ContractError::TooManyHooks { max: MAX_HOOKS }
    );
    let first = s.addr("hook-0");
    assert_eq!(
        s.add_hook(&first).unwrap_err(),
        ContractError::HookAlreadyRegistered {
            addr: first.to_string()
        }
    );
    let gov = s.gov.clone();
    assert_eq!(
        s.exec(
            &gov,
            ExecuteMsg::RemoveHook {
                addr: extra.to_string()
            }
        )
        .unwrap_err(),
        ContractError::HookNotRegistered {
            addr: extra.to_string()
        }
    );
    assert!(s
        .add_hook(&Addr::unchecked("Bad"))
        .is_err_and(|e| matches!(e, ContractError::Std(_))));
    let hooks: HooksResponse = s.q(QueryMsg::Hooks {});
    assert_eq!(hooks.hooks.len(), MAX_HOOKS);
    // After removing one, another fits.
    s.exec(
        &gov,
        ExecuteMsg::RemoveHook {
            addr: first.to_string(),
        },
    )
    .unwrap();
    s.add_hook(&extra).unwrap();

    // A weight change sends exactly one message per hook.
    let alice = s.addr("alice");
    let res = s.stake(&alice, 1_000).unwrap();
    assert_eq!(hook_msgs(&res).len(), MAX_HOOKS);
}

// ---------------------------------------------------------------------------------------------
// invariants over random operation sequences

mod invariants {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Stake(usize, u128),
        Unbond(usize, u128),
        Claim(usize),
        Slash(usize, u64),
        Advance(u64),
    }

    const USERS: usize = 3;

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..USERS, 1u128..5_000).prop_map(|(u, a)| Op::Stake(u, a)),
            (0..USERS, 1u128..3_000).prop_map(|(u, a)| Op::Unbond(u, a)),
            (0..USERS).prop_map(Op::Claim),
            (0..USERS, 1u64..=1_000).prop_map(|(u, p)| Op::Slash(u, p)),
            (0u64..(2 * PERIOD)).prop_map(Op::Advance),
        ]
    }

    /// Checks every accounting invariant against the tokens the contract holds (what it
    /// received through `Stake` minus every transfer it sent).
    fn check(s: &Suite, users: &[Addr], held: u128) {
        let store = &s.deps.storage;
        let total_stake = TOTAL_STAKE.load(store).unwrap().u128();
        let total_claims = TOTAL_CLAIMS.load(store).unwrap().u128();
        assert_eq!(total_stake + total_claims, held, "stake + claims == held");
        let mut stakes = 0u128;
        let mut claims = 0u128;
        let mut weights = 0u64;
        for u in users {
            let stake = s.stake_of(u);
            stakes += stake;
            let list = s.claims_of(u);
            assert!(list.len() <= MAX_CLAIMS_PER_ADDRESS + 1);
            let unbonding = list
                .iter()
                .filter(|c| c.release_at > s.env.block.time)
                .count();
            assert!(unbonding <= MAX_CLAIMS_PER_ADDRESS);
            assert!(list.iter().all(|c| !c.amount.is_zero()));
            claims += list.iter().map(|c| c.amount.u128()).sum::<u128>();
            let w = MEMBERS.may_load(store, u).unwrap();
            let expected = u64::try_from(stake / TPW).unwrap();
            assert_eq!(w, (expected > 0).then_some(expected));
            weights += w.unwrap_or_default();
        }
        assert_eq!(stakes, total_stake);
        assert_eq!(claims, total_claims);
        assert_eq!(TOTAL.load(store).unwrap(), weights);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// stake + claims == tokens held, after any sequence; a slash never takes more than
        /// the provider's holdings here, and never touches other providers.
        #[test]
        fn tokens_held_always_equal_stake_plus_claims(ops in proptest::collection::vec(op(), 1..60)) {
            let mut s = Suite::new();
            let users: Vec<Addr> = (0..USERS).map(|i| s.addr(&format!("user-{i}"))).collect();
            let mut held = 0u128;
            for op in ops {
                match op {
                    Op::Stake(u, a) => {
                        s.stake(&users[u], a).unwrap();
                        held += a;
                    }
                    Op::Unbond(u, a) => {
                        let before = s.stake_of(&users[u]);
                        match s.unbond(&users[u], a) {
                            Ok(res) => prop_assert!(transfers(&res).is_empty()),
                            Err(ContractError::InsufficientStake { .. }) => prop_assert!(a > before),
                            Err(ContractError::TooManyClaims { .. }) => {}
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    Op::Claim(u) => match s.claim(&users[u]) {
                        Ok(res) => {
                            let t = transfers(&res);
                            prop_assert_eq!(t.len(), 1);
                            prop_assert_eq!(&t[0].1, &users[u].to_string());
                            held -= t[0].2;
                        }
                        Err(ContractError::NothingToClaim { .. }) => {}
                        Err(e) => panic!("unexpected {e}"),
                    },
                    Op::Slash(u, permille) => {
                        let own_before = s.stake_of(&users[u])
                            + s.claims_of(&users[u]).iter().map(|c| c.amount.u128()).sum::<u128>();
                        let others: Vec<u128> = users
                            .iter()
                            .filter(|x| **x != users[u])
                            .map(|x| s.stake_of(x))
                            .collect();
                        match s.slash(&users[u], Decimal::permille(permille), "test") {
                            Ok(res) => {
                                let t = transfers(&res);
                                prop_assert_eq!(t.len(), 1);
                                prop_assert_eq!(&t[0].1, &s.dest.to_string());
                                prop_assert!(t[0].2 > 0 && t[0].2 <= own_before);
                                let own_after = s.stake_of(&users[u])
                                    + s.claims_of(&users[u]).iter().map(|c| c.amount.u128()).sum::<u128>();
                                prop_assert_eq!(own_before - own_after, t[0].2);
                                held -= t[0].2;
                            }
                            Err(ContractError::NothingToSlash { .. }) => {}
                            Err(e) => panic!("unexpected {e}"),
                        }
                        let others_after: Vec<u128> = users
                            .iter()
                            .filter(|x| **x != users[u])
                            .map(|x| s.stake_of(x))
                            .collect();
                        prop_assert_eq!(others, others_after);
                    }
                    Op::Advance(secs) => s.advance(secs),
                }
                check(&s, &users, held);
            }
        }
    }
}
