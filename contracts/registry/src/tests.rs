//! Contract-level unit tests (cosmwasm_std::testing mocks; the staking contract's `Stake`
//! query is mocked with `MockQuerier::update_wasm`).

use std::collections::BTreeMap;

use akash_types::common::{Attribute, LeaseOutcome};
use akash_types::registry::{
    ConfigResponse, ExecuteMsg, FulfilmentHistory, InstantiateMsg, ProviderResponse,
    ProvidersResponse, QueryMsg, ReputationResponse, MAX_ATTRIBUTES, MAX_PAGE_LIMIT,
};
use akash_types::staking::{QueryMsg as StakingQueryMsg, StakeResponse};
use cosmwasm_std::testing::{
    message_info, mock_dependencies, mock_env, MockApi, MockQuerier, MockStorage,
};
use cosmwasm_std::{
    coins, from_json, to_json_binary, Addr, ContractResult, Env, OwnedDeps, Response, StdError,
    SystemError, SystemResult, Timestamp, Uint128, WasmQuery,
};
use cw_utils::PaymentError;

use crate::certificate::tests::{
    CA2_PEM, CA_PEM, EC_KEY_PEM, EC_KEY_PKCS8_PEM, LEAF_PEM, NO_BASIC_CONSTRAINTS_PEM,
};
use crate::contract::{execute, instantiate, query, CONTRACT_NAME, CONTRACT_VERSION};
use crate::error::ContractError;

type Deps = OwnedDeps<MockStorage, MockApi, MockQuerier>;

const FULL_STAKE: u128 = 1_000_000;
const HOST_URI: &str = "https://provider.example.com:8443";

struct Suite {
    deps: Deps,
    env: Env,
    admin: Addr,
    staking: Addr,
    market: Addr,
}

impl Suite {
    /// Instantiated registry, market not set, staking mocked with `stakes`.
    fn new(stakes: &[(&Addr, u128)]) -> Self {
        let mut deps = mock_dependencies();
        let admin = deps.api.addr_make("admin");
        let staking = deps.api.addr_make("staking");
        let market = deps.api.addr_make("market");
        let env = mock_env();
        instantiate(
            deps.as_mut(),
            env.clone(),
            message_info(&admin, &[]),
            InstantiateMsg {
                admin: admin.to_string(),
                staking: staking.to_string(),
                stake_for_full_reputation: Uint128::new(FULL_STAKE),
            },
        )
        .unwrap();
        let mut suite = Suite {
            deps,
            env,
            admin,
            staking,
            market,
        };
        suite.set_stakes(stakes);
        suite
    }

    /// Like `new`, with the market set.
    fn with_market(stakes: &[(&Addr, u128)]) -> Self {
        let mut suite = Suite::new(stakes);
        let (admin, market) = (suite.admin.clone(), suite.market.to_string());
        suite
            .exec(&admin, ExecuteMsg::SetMarket { market })
            .unwrap();
        suite
    }

    /// Mocks the staking contract: `Stake { address }` answers from `stakes` (0 if absent).
    fn set_stakes(&mut self, stakes: &[(&Addr, u128)]) {
        let staking = self.staking.to_string();
        let stakes: BTreeMap<String, u128> =
            stakes.iter().map(|(a, s)| (a.to_string(), *s)).collect();
        self.deps.querier.update_wasm(move |query| match query {
            WasmQuery::Smart { contract_addr, msg } if *contract_addr == staking => {
                match from_json::<StakingQueryMsg>(msg) {
                    Ok(StakingQueryMsg::Stake { address }) => {
                        let stake = stakes.get(&address).copied().unwrap_or(0);
                        SystemResult::Ok(ContractResult::Ok(
                            to_json_binary(&StakeResponse {
                                address: Addr::unchecked(address),
                                stake: Uint128::new(stake),
                            })
                            .unwrap(),
                        ))
                    }
                    _ => SystemResult::Ok(ContractResult::Err("unexpected query".into())),
                }
            }
            _ => SystemResult::Err(SystemError::NoSuchContract {
                addr: "unknown".into(),
            }),
        });
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

    fn register(&mut self, provider: &Addr) -> Result<Response, ContractError> {
        self.exec(provider, register_msg(HOST_URI, vec![], CA_PEM))
    }

    fn start(&mut self, provider: &Addr, lease_id: u64) -> Result<Response, ContractError> {
        let market = self.market.clone();
        self.exec(
            &market,
            ExecuteMsg::RecordLeaseStarted {
                provider: provider.to_string(),
                lease_id,
            },
        )
    }

    fn end(
        &mut self,
        provider: &Addr,
        lease_id: u64,
        outcome: LeaseOutcome,
    ) -> Result<Response, ContractError> {
        let market = self.market.clone();
        self.exec(
            &market,
            ExecuteMsg::RecordLeaseOutcome {
                provider: provider.to_string(),
                lease_id,
                outcome,
            },
        )
    }

    fn query<T: serde::de::DeserializeOwned>(&self, msg: QueryMsg) -> Result<T, StdError> {
        query(self.deps.as_ref(), self.env.clone(), msg).map(|b| from_json(b).unwrap())
    }

    fn provider(&self, address: &Addr) -> Result<ProviderResponse, StdError> {
        self.query(QueryMsg::Provider {
            address: address.to_string(),
        })
    }

    fn reputation(&self, address: &Addr) -> ReputationResponse {
        self.query(QueryMsg::Reputation {
            address: address.to_string(),
        })
        .unwrap()
    }

    fn history(&self, address: &Addr) -> FulfilmentHistory {
        self.reputation(address).history
    }
}

fn register_msg(host_uri: &str, attributes: Vec<Attribute>, pem: &str) -> ExecuteMsg {
    ExecuteMsg::Register {
        host_uri: host_uri.to_string(),
        attributes,
        root_certificate_pem: pem.to_string(),
    }
}

fn update_msg(
    host_uri: Option<&str>,
    attributes: Option<Vec<Attribute>>,
    pem: Option<&str>,
) -> ExecuteMsg {
    ExecuteMsg::Update {
        host_uri: host_uri.map(str::to_string),
        attributes,
        root_certificate_pem: pem.map(str::to_string),
    }
}

fn attr<'a>(response: &'a Response, key: &str) -> Option<&'a str> {
    response
        .attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.as_str())
}

#[test]
fn instantiate_saves_config_and_cw2_version() {
    let suite = Suite::new(&[]);
    let config: ConfigResponse = suite.query(QueryMsg::Config {}).unwrap();
    assert_eq!(
        config,
        ConfigResponse {
            admin: suite.admin.clone(),
            staking: suite.staking.clone(),
            market: None,
            stake_for_full_reputation: Uint128::new(FULL_STAKE),
        }
    );
    let version = cw2::get_contract_version(&suite.deps.storage).unwrap();
    assert_eq!(version.contract, CONTRACT_NAME);
    assert_eq!(version.version, CONTRACT_VERSION);
}

#[test]
fn instantiate_refuses_invalid_addresses_and_funds() {
    let mut deps = mock_dependencies();
    let admin = deps.api.addr_make("admin");
    let msg = InstantiateMsg {
        admin: "not an address".to_string(),
        staking: admin.to_string(),
        stake_for_full_reputation: Uint128::zero(),
    };
    let err = instantiate(deps.as_mut(), mock_env(), message_info(&admin, &[]), msg).unwrap_err();
    assert!(matches!(err, ContractError::Std(_)), "{err:?}");
    let msg = InstantiateMsg {
        admin: admin.to_string(),
        staking: admin.to_string(),
        stake_for_full_reputation: Uint128::zero(),
    };
    let err = instantiate(
        deps.as_mut(),
        mock_env(),
        message_info(&admin, &coins(5, "uakt")),
        msg,
    )
    .unwrap_err();
    assert_eq!(err, ContractError::Payment(PaymentError::NonPayable {}));
}

#[test]
fn execute_refuses_funds() {
    let mut suite = Suite::new(&[]);
    let provider = suite.addr("provider");
    let err = execute(
        suite.deps.as_mut(),
        suite.env.clone(),
        message_info(&provider, &coins(1, "uakt")),
        register_msg(HOST_URI, vec![], CA_PEM),
    )
    .unwrap_err();
    assert_eq!(err, ContractError::Payment(PaymentError::NonPayable {}));
    assert!(suite.provider(&provider).is_err());
}

#[test]
fn register_stores_sorted_record_and_emits_event() {
    let mut suite = Suite::new(&[]);
    let provider = suite.addr("provider");
    let res = suite
        .exec(
            &provider,
            register_msg(
                HOST_URI,
                vec![
                    Attribute::new("tier", "community"),
                    Attribute::new("region", "us-west"),
                ],
                CA_PEM,
            ),
        )
        .unwrap();
    assert_eq!(attr(&res, "action"), Some("register"));
    assert_eq!(attr(&res, "provider"), Some(provider.as_str()));
    assert_eq!(attr(&res, "certificate_version"), Some("1"));

    let record = suite.provider(&provider).unwrap();
    assert_eq!(
        record,
        ProviderResponse {
            address: provider.clone(),
            host_uri: HOST_URI.to_string(),
            attributes: vec![
                Attribute::new("region", "us-west"),
                Attribute::new("tier", "community"),
            ],
            root_certificate_pem: CA_PEM.to_string(),
            registered_at: suite.env.block.time,
            updated_at: suite.env.block.time,
            certificate_version: 1,
            history: FulfilmentHistory::default(),
        }
    );
}

#[test]
fn register_twice_is_refused() {
    let mut suite = Suite::new(&[]);
    let provider = suite.addr("provider");
    suite.register(&provider).unwrap();
    assert_eq!(
        suite.register(&provider).unwrap_err(),
        ContractError::AlreadyRegistered {
            provider: provider.clone()
        }
    );
}

#[test]
fn register_refuses_each_invalid_field_and_stores_nothing() {
    let mut suite = Suite::new(&[]);
    let provider = suite.addr("provider");
    let too_many: Vec<_> = (0..=MAX_ATTRIBUTES)
        .map(|i| Attribute::new(format!("k{i}"), "v"))
        .collect();
    let cases: Vec<(ExecuteMsg, &str)> = vec![
        (
            register_msg("http://provider.example.com", vec![], CA_PEM),
            "\"http://provider.example.com\": must start with \"https://\"",
        ),
        (
            register_msg("https://user@provider.example.com", vec![], CA_PEM),
            "userinfo",
        ),
        (
            register_msg("https://provider.example.com:70000", vec![], CA_PEM),
            "port \"70000\"",
        ),
        (
            register_msg("https://provider example.com", vec![], CA_PEM),
            "\"https://provider example.com\"",
        ),
        (
            register_msg("https://[::g]", vec![], CA_PEM),
            "\"::g\" is not an IPv6 address",
        ),
        (
            register_msg(HOST_URI, too_many, CA_PEM),
            "too many attributes: 33 (at most 32)",
        ),
        (
            register_msg(
                HOST_URI,
                vec![Attribute::new("region", "a"), Attribute::new("region", "b")],
                CA_PEM,
            ),
            "duplicate attribute key \"region\"",
        ),
        (
            register_msg(HOST_URI, vec![Attribute::new("Region", "a")], CA_PEM),
            "invalid attribute key \"Region\": contains 'R'",
        ),
        (
            register_msg(HOST_URI, vec![Attribute::new("region", "a\u{7}")], CA_PEM),
            "invalid value \"a\\u{7}\" of attribute \"region\"",
        ),
        (
            register_msg(HOST_URI, vec![], EC_KEY_PEM),
            "a private key must never be sent to the chain",
        ),
        (
            register_msg(HOST_URI, vec![], &format!("{CA_PEM}{EC_KEY_PKCS8_PEM}")),
            "a private key must never be sent to the chain",
        ),
        (
            register_msg(HOST_URI, vec![], LEAF_PEM),
            "(subject \"CN=provider.example.com\") is not a CA",
        ),
        (
            register_msg(HOST_URI, vec![], NO_BASIC_CONSTRAINTS_PEM),
            "no basicConstraints extension",
        ),
        (
            register_msg(HOST_URI, vec![], "garbage"),
            "exactly one CERTIFICATE block, found 0",
        ),
        (
            register_msg(
                HOST_URI,
                vec![],
                "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
            ),
            "invalid root certificate: not a DER X.509 certificate",
        ),
        (
            register_msg(HOST_URI, vec![], &format!("{CA_PEM}{CA2_PEM}")),
            "exactly one CERTIFICATE block, found 2",
        ),
    ];
    for (msg, expected) in cases {
        let err = suite.exec(&provider, msg).unwrap_err().to_string();
        assert!(
            err.contains(expected),
            "{err:?} should contain {expected:?}"
        );
    }
    assert!(suite.provider(&provider).is_err());
    let page: ProvidersResponse = suite
        .query(QueryMsg::Providers {
            start_after: None,
            limit: None,
        })
        .unwrap();
    assert!(page.providers.is_empty());
}

#[test]
fn update_changes_only_given_fields() {
    let mut suite = Suite::new(&[]);
    let provider = suite.addr("provider");
    suite
        .exec(
            &provider,
            register_msg(HOST_URI, vec![Attribute::new("region", "eu")], CA_PEM),
        )
        .unwrap();
    let registered_at = suite.env.block.time;
    suite.env.block.time = registered_at.plus_seconds(60);

    let res = suite
        .exec(
            &provider,
            update_msg(Some("https://10.1.2.3:443/gw"), None, None),
        )
        .unwrap();
    assert_eq!(attr(&res, "action"), Some("update"));
    assert_eq!(attr(&res, "provider"), Some(provider.as_str()));
    let record = suite.provider(&provider).unwrap();
    assert_eq!(record.host_uri, "https://10.1.2.3:443/gw");
    assert_eq!(record.attributes, vec![Attribute::new("region", "eu")]);
    assert_eq!(record.registered_at, registered_at);
    assert_eq!(record.updated_at, registered_at.plus_seconds(60));
    assert_eq!(record.certificate_version, 1);

    // Same certificate again: not a rotation.
    suite
        .exec(
            &provider,
            update_msg(
                None,
                Some(vec![
                    Attribute::new("tier", "1"),
                    Attribute::new("gpu", "a100"),
                ]),
                Some(CA_PEM),
            ),
        )
        .unwrap();
    let record = suite.provider(&provider).unwrap();
    assert_eq!(
        record.attributes,
        vec![Attribute::new("gpu", "a100"), Attribute::new("tier", "1")]
    );
    assert_eq!(record.certificate_version, 1);

    // A new certificate bumps the version.
    let res = suite
        .exec(&provider, update_msg(None, None, Some(CA2_PEM)))
        .unwrap();
    assert_eq!(attr(&res, "certificate_version"), Some("2"));
    let record = suite.provider(&provider).unwrap();
    assert_eq!(record.root_certificate_pem, CA2_PEM);
    assert_eq!(record.certificate_version, 2);
    assert_eq!(record.host_uri, "https://10.1.2.3:443/gw");
}

#[test]
fn update_refuses_invalid_values_and_keeps_the_record() {
    let mut suite = Suite::new(&[]);
    let provider = suite.addr("provider");
    suite.register(&provider).unwrap();
    let before = suite.provider(&provider).unwrap();
    let bad_updates = [
        (
            update_msg(Some("https://provider.example.com"), None, Some(EC_KEY_PEM)),
            ContractError::PrivateKeyInPem {},
        ),
        (
            update_msg(
                None,
                Some(vec![Attribute::new("a", "1"), Attribute::new("a", "2")]),
                None,
            ),
            ContractError::DuplicateAttributeKey { key: "a".into() },
        ),
        (update_msg(None, None, None), ContractError::EmptyUpdate {}),
    ];
    for (msg, expected) in bad_updates {
        assert_eq!(suite.exec(&provider, msg).unwrap_err(), expected);
    }
    let err = suite
        .exec(
            &provider,
            update_msg(Some("https://provider.example.com:0"), None, None),
        )
        .unwrap_err();
    assert!(matches!(err, ContractError::InvalidHostUri { .. }), "{err}");
    assert_eq!(suite.provider(&provider).unwrap(), before);
}

#[test]
fn update_and_deregister_need_a_registration() {
    let mut suite = Suite::new(&[]);
    let stranger = suite.addr("stranger");
    let provider = suite.addr("provider");
    suite.register(&provider).unwrap();
    let not_registered = ContractError::NotRegistered {
        provider: stranger.clone(),
    };
    let update = update_msg(Some(HOST_URI), None, None);
    assert_eq!(suite.exec(&stranger, update).unwrap_err(), not_registered);
    assert_eq!(
        suite
            .exec(&stranger, ExecuteMsg::Deregister {})
            .unwrap_err(),
        not_registered
    );
    // The provider's own record is untouched.
    assert_eq!(suite.provider(&provider).unwrap().host_uri, HOST_URI);
}

#[test]
fn deregister_removes_record_and_keeps_history() {
    let mut suite = Suite::with_market(&[]);
    let provider = suite.addr("provider");
    suite.register(&provider).unwrap();
    suite.start(&provider, 1).unwrap();
    suite
        .end(&provider, 1, LeaseOutcome::ClosedByProvider)
        .unwrap();
    suite
        .exec(&provider, update_msg(None, None, Some(CA2_PEM)))
        .unwrap();
    let bad_history = suite.history(&provider);
    let bad_score = suite.reputation(&provider).score;

    let res = suite.exec(&provider, ExecuteMsg::Deregister {}).unwrap();
    assert_eq!(attr(&res, "action"), Some("deregister"));
    assert_eq!(attr(&res, "provider"), Some(provider.as_str()));
    let err = suite.provider(&provider).unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
    let reputation = suite.reputation(&provider);
    assert!(!reputation.registered);
    assert_eq!(reputation.history, bad_history);

    // Registering again does not reset the history, nor reuse a certificate version.
    suite.register(&provider).unwrap();
    let record = suite.provider(&provider).unwrap();
    assert_eq!(record.history, bad_history);
    assert_eq!(record.history.leases_closed_by_provider, 1);
    assert_eq!(record.certificate_version, 3);
    let reputation = suite.reputation(&provider);
    assert!(reputation.registered);
    assert_eq!(reputation.score, bad_score);
}

#[test]
fn deregister_is_refused_with_active_leases() {
    let mut suite = Suite::with_market(&[]);
    let provider = suite.addr("provider");
    suite.register(&provider).unwrap();
    suite.start(&provider, 7).unwrap();
    suite.start(&provider, 8).unwrap();
    let err = suite
        .exec(&provider, ExecuteMsg::Deregister {})
        .unwrap_err();
    assert_eq!(
        err,
        ContractError::ActiveLeases {
            provider: provider.clone(),
            leases_active: 2
        }
    );
    assert!(err.to_string().contains("has 2 active lease(s)"));

    suite.end(&provider, 7, LeaseOutcome::Completed).unwrap();
    assert_eq!(
        suite
            .exec(&provider, ExecuteMsg::Deregister {})
            .unwrap_err(),
        ContractError::ActiveLeases {
            provider: provider.clone(),
            leases_active: 1
        }
    );
    suite
        .end(&provider, 8, LeaseOutcome::ClosedByTenant)
        .unwrap();
    suite.exec(&provider, ExecuteMsg::Deregister {}).unwrap();
    assert!(suite.provider(&provider).is_err());
}

#[test]
fn set_market_is_admin_only_and_once() {
    let mut suite = Suite::new(&[]);
    let stranger = suite.addr("stranger");
    let (admin, market) = (suite.admin.clone(), suite.market.clone());
    assert_eq!(
        suite
            .exec(
                &stranger,
                ExecuteMsg::SetMarket {
                    market: stranger.to_string()
                }
            )
            .unwrap_err(),
        ContractError::Unauthorized {
            sender: stranger.clone(),
            role: "admin"
        }
    );
    let err = suite
        .exec(
            &admin,
            ExecuteMsg::SetMarket {
                market: "bad address".to_string(),
            },
        )
        .unwrap_err();
    assert!(matches!(err, ContractError::Std(_)), "{err:?}");

    let res = suite
        .exec(
            &admin,
            ExecuteMsg::SetMarket {
                market: market.to_string(),
            },
        )
        .unwrap();
    assert_eq!(attr(&res, "action"), Some("set_market"));
    assert_eq!(attr(&res, "market"), Some(market.as_str()));
    let config: ConfigResponse = suite.query(QueryMsg::Config {}).unwrap();
    assert_eq!(config.market, Some(market.clone()));

    // The admin cannot repoint it (to forge history), not even to the same address.
    for other in [stranger.clone(), market.clone()] {
        assert_eq!(
            suite
                .exec(
                    &admin,
                    ExecuteMsg::SetMarket {
                        market: other.to_string()
                    }
                )
                .unwrap_err(),
            ContractError::MarketAlreadySet {
                market: market.clone()
            }
        );
    }
    let config: ConfigResponse = suite.query(QueryMsg::Config {}).unwrap();
    assert_eq!(config.market, Some(market));
}

#[test]
fn record_messages_are_refused_for_anyone_but_the_market() {
    let mut suite = Suite::new(&[]);
    let provider = suite.addr("provider");
    let stranger = suite.addr("stranger");
    suite.register(&provider).unwrap();
    let started = ExecuteMsg::RecordLeaseStarted {
        provider: provider.to_string(),
        lease_id: 1,
    };
    let outcome = ExecuteMsg::RecordLeaseOutcome {
        provider: provider.to_string(),
        lease_id: 1,
        outcome: LeaseOutcome::Completed,
    };
    // Market unset: nobody, not even the admin.
    let admin = suite.admin.clone();
    for sender in [&admin, &stranger, &provider] {
        for msg in [started.clone(), outcome.clone()] {
            assert_eq!(
                suite.exec(sender, msg).unwrap_err(),
                ContractError::MarketNotSet {
                    sender: sender.clone()
                }
            );
        }
    }
    let market = suite.market.to_string();
    suite
        .exec(&admin, ExecuteMsg::SetMarket { market })
        .unwrap();
    // Market set: the admin, a stranger and the provider itself are refused.
    for sender in [&admin, &stranger, &provider] {
        for msg in [started.clone(), outcome.clone()] {
            assert_eq!(
                suite.exec(sender, msg).unwrap_err(),
                ContractError::Unauthorized {
                    sender: sender.clone(),
                    role: "market"
                }
            );
        }
    }
    assert_eq!(suite.history(&provider), FulfilmentHistory::default());
}

#[test]
fn record_lease_started_and_outcome_update_history() {
    let mut suite = Suite::with_market(&[]);
    let provider = suite.addr("provider");
    suite.register(&provider).unwrap();
    for lease_id in 1..=4 {
        let res = suite.start(&provider, lease_id).unwrap();
        assert_eq!(attr(&res, "action"), Some("record_lease_started"));
        assert_eq!(attr(&res, "provider"), Some(provider.as_str()));
        assert_eq!(attr(&res, "lease_id"), Some(lease_id.to_string().as_str()));
    }
    assert_eq!(
        suite.history(&provider),
        FulfilmentHistory {
            leases_started: 4,
            leases_active: 4,
            ..FulfilmentHistory::default()
        }
    );
    let outcomes = [
        (1, LeaseOutcome::Completed, "completed"),
        (2, LeaseOutcome::ClosedByTenant, "closed_by_tenant"),
        (3, LeaseOutcome::ClosedByProvider, "closed_by_provider"),
    ];
    for (lease_id, outcome, name) in outcomes {
        let res = suite.end(&provider, lease_id, outcome).unwrap();
        assert_eq!(attr(&res, "action"), Some("record_lease_outcome"));
        assert_eq!(attr(&res, "provider"), Some(provider.as_str()));
        assert_eq!(attr(&res, "lease_id"), Some(lease_id.to_string().as_str()));
        assert_eq!(attr(&res, "outcome"), Some(name));
        // The event name matches the JSON name of the outcome.
        assert_eq!(
            to_json_binary(&outcome).unwrap().to_vec(),
            format!("\"{name}\"").into_bytes()
        );
    }
    assert_eq!(
        suite.history(&provider),
        FulfilmentHistory {
            leases_started: 4,
            leases_active: 1,
            leases_completed: 1,
            leases_closed_by_tenant: 1,
            leases_closed_by_provider: 1,
        }
    );
    // Provider queries carry the same history.
    assert_eq!(
        suite.provider(&provider).unwrap().history,
        suite.history(&provider)
    );
}

#[test]
fn record_lease_messages_refuse_replays_and_unknown_leases() {
    let mut suite = Suite::with_market(&[]);
    let provider = suite.addr("provider");
    let unregistered = suite.addr("unregistered");
    suite.register(&provider).unwrap();

    assert_eq!(
        suite.start(&unregistered, 1).unwrap_err(),
        ContractError::NotRegistered {
            provider: unregistered.clone()
        }
    );
    let err = suite
        .exec(
            &suite.market.clone(),
            ExecuteMsg::RecordLeaseStarted {
                provider: "not an address".to_string(),
                lease_id: 1,
            },
        )
        .unwrap_err();
    assert!(matches!(err, ContractError::Std(_)), "{err:?}");

    // No lease active: the outcome is refused (leases_active never goes below zero).
    assert_eq!(
        suite
            .end(&provider, 1, LeaseOutcome::Completed)
            .unwrap_err(),
        ContractError::LeaseNotActive {
            provider: provider.clone(),
            lease_id: 1
        }
    );
    suite.start(&provider, 1).unwrap();
    assert_eq!(
        suite.start(&provider, 1).unwrap_err(),
        ContractError::LeaseAlreadyStarted {
            provider: provider.clone(),
            lease_id: 1
        }
    );
    // An outcome for another lease id of the same provider is refused.
    assert_eq!(
        suite
            .end(&provider, 2, LeaseOutcome::Completed)
            .unwrap_err(),
        ContractError::LeaseNotActive {
            provider: provider.clone(),
            lease_id: 2
        }
    );
    suite.end(&provider, 1, LeaseOutcome::Completed).unwrap();
    // The outcome is counted once.
    assert_eq!(
        suite
            .end(&provider, 1, LeaseOutcome::Completed)
            .unwrap_err(),
        ContractError::LeaseNotActive {
            provider: provider.clone(),
            lease_id: 1
        }
    );
    assert_eq!(
        suite.history(&provider),
        FulfilmentHistory {
            leases_started: 1,
            leases_active: 0,
            leases_completed: 1,
            ..FulfilmentHistory::default()
        }
    );
    assert!(suite.history(&unregistered) == FulfilmentHistory::default());
}

#[test]
fn reputation_combines_history_and_stake() {
    let mut suite = Suite::with_market(&[]);
    let new = suite.addr("new");
    let staked = suite.addr("staked");
    let mixed = suite.addr("mixed");
    let bad = suite.addr("bad");
    let stranger = suite.addr("stranger");
    suite.set_stakes(&[
        (&staked, FULL_STAKE),
        (&mixed, FULL_STAKE / 2),
        (&bad, 5 * FULL_STAKE),
    ]);
    for provider in [&new, &staked, &mixed, &bad] {
        suite.register(provider).unwrap();
    }
    let mut lease_id = 0;
    let mut run = |suite: &mut Suite, provider: &Addr, outcome: LeaseOutcome, n: u64| {
        for _ in 0..n {
            lease_id += 1;
            suite.start(provider, lease_id).unwrap();
            suite.end(provider, lease_id, outcome).unwrap();
        }
    };
    // mixed: 6 completed, 2 closed by tenant, 2 closed by provider -> history 9/12 = 7500.
    run(&mut suite, &mixed, LeaseOutcome::Completed, 6);
    run(&mut suite, &mixed, LeaseOutcome::ClosedByTenant, 2);
    run(&mut suite, &mixed, LeaseOutcome::ClosedByProvider, 2);
    // bad: 4 closed by provider -> history 1/6 = 1666.
    run(&mut suite, &bad, LeaseOutcome::ClosedByProvider, 4);

    // New, unstaked: 0.7 * 5000 + 0.3 * 0.
    let r = suite.reputation(&new);
    assert_eq!(
        (r.registered, r.stake, r.score),
        (true, Uint128::zero(), 3_500)
    );
    // New, fully staked: 0.7 * 5000 + 0.3 * 10000.
    let r = suite.reputation(&staked);
    assert_eq!(r.stake, Uint128::new(FULL_STAKE));
    assert_eq!(r.score, 6_500);
    // (7 * 7500 + 3 * 5000) / 10.
    let r = suite.reputation(&mixed);
    assert_eq!(r.stake, Uint128::new(FULL_STAKE / 2));
    assert_eq!(r.history.leases_started, 10);
    assert_eq!(r.score, 6_750);
    // Stake above the full amount is capped: (7 * 1666 + 3 * 10000) / 10 = 4166.2.
    let r = suite.reputation(&bad);
    assert_eq!(r.stake, Uint128::new(5 * FULL_STAKE));
    assert_eq!(r.score, 4_166);
    // An address that never registered has the neutral history and no stake.
    let r = suite.reputation(&stranger);
    assert_eq!(
        r,
        ReputationResponse {
            address: stranger.clone(),
            registered: false,
            history: FulfilmentHistory::default(),
            stake: Uint128::zero(),
            score: 3_500,
        }
    );
}

#[test]
fn reputation_with_zero_full_stake_counts_stake_as_full() {
    let mut deps = mock_dependencies();
    let admin = deps.api.addr_make("admin");
    let staking = deps.api.addr_make("staking");
    instantiate(
        deps.as_mut(),
        mock_env(),
        message_info(&admin, &[]),
        InstantiateMsg {
            admin: admin.to_string(),
            staking: staking.to_string(),
            stake_for_full_reputation: Uint128::zero(),
        },
    )
    .unwrap();
    let mut suite = Suite {
        deps,
        env: mock_env(),
        admin: admin.clone(),
        staking,
        market: admin,
    };
    suite.set_stakes(&[]);
    let provider = suite.addr("provider");
    assert_eq!(suite.reputation(&provider).score, 6_500);
}

#[test]
fn reputation_fails_when_staking_query_fails() {
    let mut suite = Suite::new(&[]);
    let provider = suite.addr("provider");
    suite.deps.querier.update_wasm(|_| {
        SystemResult::Err(SystemError::NoSuchContract {
            addr: "staking".into(),
        })
    });
    assert!(suite
        .query::<ReputationResponse>(QueryMsg::Reputation {
            address: provider.to_string()
        })
        .is_err());
}

#[test]
fn provider_query_errors_for_unknown_or_invalid_address() {
    let suite = Suite::new(&[]);
    let unknown = suite.addr("unknown");
    let err = suite.provider(&unknown).unwrap_err().to_string();
    assert!(err.contains(&format!("provider {unknown}")), "{err}");
    assert!(suite
        .query::<ProviderResponse>(QueryMsg::Provider {
            address: "bad".to_string()
        })
        .is_err());
}

#[test]
fn providers_are_paginated_and_bounded() {
    let mut suite = Suite::new(&[]);
    let total = MAX_PAGE_LIMIT as usize + 5;
    let mut expected: Vec<Addr> = (0..total).map(|i| suite.addr(&format!("p{i}"))).collect();
    for provider in &expected {
        suite.register(provider).unwrap();
    }
    expected.sort();

    let page = |suite: &Suite, start_after: Option<&Addr>, limit: Option<u32>| -> Vec<Addr> {
        let res: ProvidersResponse = suite
            .query(QueryMsg::Providers {
                start_after: start_after.map(|a| a.to_string()),
                limit,
            })
            .unwrap();
        res.providers.into_iter().map(|p| p.address).collect()
    };
    // Default limit.
    assert_eq!(page(&suite, None, None), expected[..10].to_vec());
    // A limit above the maximum is capped.
    assert_eq!(
        page(&suite, None, Some(1_000)).len(),
        MAX_PAGE_LIMIT as usize
    );
    assert_eq!(page(&suite, None, Some(0)), Vec::<Addr>::new());
    // Walking page by page visits every provider once, in address order.
    let mut seen = vec![];
    let mut cursor: Option<Addr> = None;
    loop {
        let batch = page(&suite, cursor.as_ref(), Some(7));
        if batch.is_empty() {
            break;
        }
        cursor = batch.last().cloned();
        seen.extend(batch);
    }
    assert_eq!(seen, expected);

    // Deregistered providers leave the list.
    let gone = expected[0].clone();
    suite.exec(&gone, ExecuteMsg::Deregister {}).unwrap();
    assert_eq!(page(&suite, None, Some(1)), vec![expected[1].clone()]);
    // start_after need not be registered.
    assert_eq!(
        page(&suite, Some(&gone), Some(1)),
        vec![expected[1].clone()]
    );
}

#[test]
fn timestamps_follow_block_time() {
    let mut suite = Suite::new(&[]);
    let provider = suite.addr("provider");
    suite.env.block.time = Timestamp::from_seconds(1_000);
    suite.register(&provider).unwrap();
    suite.env.block.time = Timestamp::from_seconds(2_000);
    suite
        .exec(&provider, update_msg(None, Some(vec![]), None))
        .unwrap();
    let record = suite.provider(&provider).unwrap();
    assert_eq!(record.registered_at, Timestamp::from_seconds(1_000));
    assert_eq!(record.updated_at, Timestamp::from_seconds(2_000));
}

/// Property tests: validators never panic and accept what they should; the lease history
/// stays consistent under any sequence of market and provider messages; the score stays in
/// range and moves the right way.
mod invariants {
    use super::*;
    use crate::reputation;
    use crate::state::ACTIVE_LEASES;
    use crate::validate::validate_host_uri;
    use akash_types::registry::{MAX_HOST_URI_LEN, MAX_REPUTATION};
    use cosmwasm_std::Order;
    use proptest::prelude::*;

    fn dns_label() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?"
    }

    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::collection::vec(dns_label(), 1..5).prop_map(|labels| labels.join(".")),
            any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
            any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
        ]
        // All-numeric DNS names are IPv4 syntax; keep those only when they are addresses.
        .prop_filter("numeric non-address", |h| {
            !h.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                || h.parse::<std::net::Ipv4Addr>().is_ok()
        })
    }

    #[derive(Debug, Clone)]
    enum Op {
        Start {
            provider: usize,
            lease: u64,
        },
        End {
            provider: usize,
            lease: u64,
            outcome: u8,
        },
        Deregister {
            provider: usize,
        },
        Register {
            provider: usize,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..3usize, 0..6u64).prop_map(|(provider, lease)| Op::Start { provider, lease }),
            4 => (0..3usize, 0..6u64, 0..3u8)
                .prop_map(|(provider, lease, outcome)| Op::End { provider, lease, outcome }),
            1 => (0..3usize).prop_map(|provider| Op::Deregister { provider }),
            1 => (0..3usize).prop_map(|provider| Op::Register { provider }),
        ]
    }

    fn history(completed: u64, by_tenant: u64, by_provider: u64) -> FulfilmentHistory {
        FulfilmentHistory {
            leases_completed: completed,
            leases_closed_by_tenant: by_tenant,
            leases_closed_by_provider: by_provider,
            ..FulfilmentHistory::default()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn host_uri_validator_never_panics_and_accepts_only_https(uri in "\\PC{0,300}") {
            if validate_host_uri(&uri).is_ok() {
                prop_assert!(uri.starts_with("https://"));
                prop_assert!(uri.len() <= MAX_HOST_URI_LEN);
                prop_assert!(uri.bytes().all(|b| b.is_ascii_graphic()));
                prop_assert!(!uri.contains('@'));
            }
        }

        #[test]
        fn host_uri_validator_never_panics_on_near_misses(
            rest in "[a-z0-9.:/@\\[\\]%?#-]{0,40}",
        ) {
            let _ = validate_host_uri(&format!("https://{rest}"));
        }

        #[test]
        fn well_formed_host_uris_are_accepted(
            host in host(),
            port in proptest::option::of(1..=65_535u32),
            path in proptest::option::of("(/[a-zA-Z0-9._~-]{0,10}){1,3}"),
        ) {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let uri = format!("https://{host}{port}{}", path.unwrap_or_default());
            prop_assume!(uri.len() <= MAX_HOST_URI_LEN);
            prop_assert_eq!(validate_host_uri(&uri), Ok(()), "{}", uri);
        }

        #[test]
        fn score_is_bounded_and_monotone(
            completed in 0..1_000_000u64,
            by_tenant in 0..1_000_000u64,
            by_provider in 0..1_000_000u64,
            stake in any::<u128>(),
            full in any::<u128>(),
        ) {
            let (stake, full) = (Uint128::new(stake), Uint128::new(full));
            let base = history(completed, by_tenant, by_provider);
            let score = reputation::score(&base, stake, full).unwrap();
            prop_assert!(score <= MAX_REPUTATION);
            // One more good outcome never lowers it; one more bad one never raises it.
            let better = history(completed + 1, by_tenant, by_provider);
            let worse = history(completed, by_tenant, by_provider + 1);
            prop_assert!(reputation::score(&better, stake, full).unwrap() >= score);
            prop_assert!(reputation::score(&worse, stake, full).unwrap() <= score);
            // More stake never lowers it.
            let more = stake.saturating_add(Uint128::one());
            prop_assert!(reputation::score(&base, more, full).unwrap() >= score);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// After any sequence: per provider, started == active + ended, active equals the
        /// number of recorded active leases, a deregistration happened only with no active
        /// lease, and history is never lost by deregistering.
        #[test]
        fn lease_history_stays_consistent(ops in proptest::collection::vec(op(), 1..60)) {
            let mut suite = Suite::with_market(&[]);
            let providers: Vec<Addr> = (0..3).map(|i| suite.addr(&format!("p{i}"))).collect();
            for p in &providers {
                suite.register(p).unwrap();
            }
            for op in ops {
                match op {
                    Op::Start { provider, lease } => {
                        let _ = suite.start(&providers[provider], lease);
                    }
                    Op::End { provider, lease, outcome } => {
                        let outcome = [
                            LeaseOutcome::Completed,
                            LeaseOutcome::ClosedByTenant,
                            LeaseOutcome::ClosedByProvider,
                        ][outcome as usize];
                        let _ = suite.end(&providers[provider], lease, outcome);
                    }
                    Op::Deregister { provider } => {
                        let p = &providers[provider];
                        let active = suite.history(p).leases_active;
                        let result = suite.exec(p, ExecuteMsg::Deregister {});
                        if active > 0 {
                            prop_assert!(result.is_err());
                        }
                    }
                    Op::Register { provider } => {
                        let _ = suite.register(&providers[provider]);
                    }
                }
                for p in &providers {
                    let h = suite.history(p);
                    let ended = h.leases_completed
                        + h.leases_closed_by_tenant
                        + h.leases_closed_by_provider;
                    prop_assert_eq!(h.leases_started, h.leases_active + ended);
                    let recorded = ACTIVE_LEASES
                        .prefix(p)
                        .keys(&suite.deps.storage, None, None, Order::Ascending)
                        .count() as u64;
                    prop_assert_eq!(h.leases_active, recorded);
                    // A provider with active leases is always registered.
                    if h.leases_active > 0 {
                        prop_assert!(suite.reputation(p).registered);
                    }
                }
            }
        }
    }
}
