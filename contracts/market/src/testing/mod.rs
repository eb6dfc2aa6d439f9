//! Unit tests with cosmwasm_std::testing mocks.
//!
//! [`Suite`] wraps the contract with mocked registry and staking smart queries, and keeps a
//! ledger of the market's cw20 balance as the token would see it (credited on every accepted
//! `Send`, debited on every `Transfer` the market emits). After every successful message it
//! checks the escrow invariant and the consistency of every index ([`Suite::check_invariants`]).
//! A failed message restores the storage as it was before, like a reverted transaction.

mod test_bid;
mod test_lease;
mod test_match;
mod test_order;
mod test_query;
mod test_scenario;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use akash_types::common::{Attribute, ResourceUnits};
use akash_types::market::{
    ExecuteMsg, InstantiateMsg, Lease, LeaseState, Order, OrderSpec, OrderState,
    PlacementRequirements, QueryMsg, ReceiveMsg,
};
use akash_types::registry::{
    ExecuteMsg as RegistryExecuteMsg, FulfilmentHistory, ProviderResponse,
    QueryMsg as RegistryQueryMsg, ReputationResponse,
};
use akash_types::staking::{QueryMsg as StakingQueryMsg, StakeResponse};
use cosmwasm_std::testing::{
    message_info, mock_dependencies, mock_env, MockApi, MockQuerier, MockStorage,
};
use cosmwasm_std::{
    coins, from_json, to_json_binary, Addr, ContractResult, CosmosMsg, Env, Order as SortOrder,
    OwnedDeps, Response, Storage, SystemError, SystemResult, Uint128, WasmMsg, WasmQuery,
};
use cw20::{Cw20ExecuteMsg, Cw20ReceiveMsg};
use serde::de::DeserializeOwned;

use crate::contract::{execute, instantiate, query};
use crate::error::ContractError;
use crate::state::{BIDS, BID_INDEX, LEASES, ORDERS, ORDERS_BY_STATE};

pub const HASH_A: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const HASH_B: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/// What the mocked registry and staking contracts know.
#[derive(Default)]
pub struct World {
    /// Registered providers and their attributes.
    pub providers: BTreeMap<String, Vec<Attribute>>,
    pub stakes: BTreeMap<String, Uint128>,
    pub scores: BTreeMap<String, u32>,
}

pub struct Suite {
    pub deps: OwnedDeps<MockStorage, MockApi, MockQuerier>,
    pub env: Env,
    pub world: Rc<RefCell<World>>,
    /// Smart queries answered by the mocks since the suite started.
    pub queries: Rc<Cell<u64>>,
    pub token: Addr,
    pub registry: Addr,
    pub staking: Addr,
    pub tenant: Addr,
    /// The market's cw20 balance as the token would see it.
    pub market_balance: Uint128,
    /// Tokens the market transferred out, per recipient.
    pub paid: BTreeMap<Addr, Uint128>,
    /// Messages the market sent to the registry, in order.
    pub registry_msgs: Vec<RegistryExecuteMsg>,
    /// Check the invariants after every message (off for bulk set-ups; check at the end).
    pub check_every_step: bool,
}

pub fn spec() -> OrderSpec {
    OrderSpec {
        resources: ResourceUnits {
            cpu_millis: 1_000,
            memory_bytes: 1 << 30,
            storage_bytes: 10 << 30,
            bandwidth_bytes_per_sec: 1 << 20,
        },
        count: 2,
        max_price_per_second: Uint128::new(100),
        lease_duration_secs: 1_000,
        bid_window_secs: 60,
        requirements: PlacementRequirements::default(),
        manifest_sha256: HASH_A.to_string(),
    }
}

pub fn escrow_of(spec: &OrderSpec) -> Uint128 {
    spec.max_price_per_second * Uint128::from(spec.lease_duration_secs)
}

/// Value of the first attribute `key` of a response.
pub fn attr(resp: &Response, key: &str) -> String {
    resp.attributes
        .iter()
        .find(|a| a.key == key)
        .map(|a| a.value.clone())
        .unwrap_or_else(|| panic!("no attribute {key} in {:?}", resp.attributes))
}

impl Suite {
    pub fn new() -> Self {
        let mut deps = mock_dependencies();
        let token = deps.api.addr_make("token");
        let registry = deps.api.addr_make("registry");
        let staking = deps.api.addr_make("staking");
        let tenant = deps.api.addr_make("tenant");
        let world = Rc::new(RefCell::new(World::default()));
        let queries = Rc::new(Cell::new(0));
        {
            let world = world.clone();
            let queries = queries.clone();
            let (registry, staking) = (registry.clone(), staking.clone());
            deps.querier.update_wasm(move |q| {
                let WasmQuery::Smart { contract_addr, msg } = q else {
                    return SystemResult::Err(SystemError::Unknown {});
                };
                queries.set(queries.get() + 1);
                let world = world.borrow();
                let answer = if *contract_addr == registry.to_string() {
                    match from_json(msg).unwrap() {
                        RegistryQueryMsg::Provider { address } => {
                            match world.providers.get(&address) {
                                Some(attributes) => to_json_binary(&ProviderResponse {
                                    address: Addr::unchecked(&address),
                                    host_uri: "https://provider.example.com".to_string(),
                                    attributes: attributes.clone(),
                                    root_certificate_pem: String::new(),
                                    registered_at: mock_env().block.time,
                                    updated_at: mock_env().block.time,
                                    certificate_version: 1,
                                    history: FulfilmentHistory::default(),
                                }),
                                None => {
                                    return SystemResult::Ok(ContractResult::Err(format!(
                                        "provider {address} not found"
                                    )))
                                }
                            }
                        }
                        RegistryQueryMsg::Reputation { address } => {
                            to_json_binary(&ReputationResponse {
                                address: Addr::unchecked(&address),
                                registered: world.providers.contains_key(&address),
                                history: FulfilmentHistory::default(),
                                stake: world.stakes.get(&address).copied().unwrap_or_default(),
                                score: world.scores.get(&address).copied().unwrap_or_default(),
                            })
                        }
                        other => panic!("unexpected registry query {other:?}"),
                    }
                } else if *contract_addr == staking.to_string() {
                    match from_json(msg).unwrap() {
                        StakingQueryMsg::Stake { address } => to_json_binary(&StakeResponse {
                            stake: world.stakes.get(&address).copied().unwrap_or_default(),
                            address: Addr::unchecked(address),
                        }),
                        other => panic!("unexpected staking query {other:?}"),
                    }
                } else {
                    return SystemResult::Err(SystemError::NoSuchContract {
                        addr: contract_addr.clone(),
                    });
                };
                SystemResult::Ok(ContractResult::Ok(answer.unwrap()))
            });
        }
        let admin = deps.api.addr_make("admin");
        instantiate(
            deps.as_mut(),
            mock_env(),
            message_info(&admin, &[]),
            InstantiateMsg {
                token: token.to_string(),
                registry: registry.to_string(),
                staking: staking.to_string(),
            },
        )
        .unwrap();
        Suite {
            deps,
            env: mock_env(),
            world,
            queries,
            token,
            registry,
            staking,
            tenant,
            market_balance: Uint128::zero(),
            paid: BTreeMap::new(),
            registry_msgs: vec![],
            check_every_step: true,
        }
    }

    pub fn addr(&self, name: &str) -> Addr {
        self.deps.api.addr_make(name)
    }

    /// Registers `name` with these attributes, stake and score.
    pub fn register_with(
        &self,
        name: &str,
        attributes: Vec<Attribute>,
        stake: u128,
        score: u32,
    ) -> Addr {
        let addr = self.addr(name);
        let mut w = self.world.borrow_mut();
        w.providers.insert(addr.to_string(), attributes);
        w.stakes.insert(addr.to_string(), Uint128::new(stake));
        w.scores.insert(addr.to_string(), score);
        addr
    }

    /// A provider in `region=us-west`, stake 1_000, reputation 5_000.
    pub fn provider(&self, name: &str) -> Addr {
        self.register_with(
            name,
            vec![Attribute::new("region", "us-west")],
            1_000,
            5_000,
        )
    }

    pub fn deregister(&self, addr: &Addr) {
        self.world.borrow_mut().providers.remove(addr.as_str());
    }

    pub fn set_stake(&self, addr: &Addr, stake: u128) {
        self.world
            .borrow_mut()
            .stakes
            .insert(addr.to_string(), Uint128::new(stake));
    }

    pub fn set_score(&self, addr: &Addr, score: u32) {
        self.world
            .borrow_mut()
            .scores
            .insert(addr.to_string(), score);
    }

    pub fn advance(&mut self, secs: u64) {
        self.env.block.time = self.env.block.time.plus_seconds(secs);
        self.env.block.height += secs / 5 + 1;
    }

    pub fn now(&self) -> cosmwasm_std::Timestamp {
        self.env.block.time
    }

    /// Runs the message like a transaction: on error the storage is restored.
    fn run(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Response, ContractError>,
    ) -> Result<Response, ContractError> {
        let snapshot: Vec<(Vec<u8>, Vec<u8>)> = self
            .deps
            .storage
            .range(None, None, SortOrder::Ascending)
            .collect();
        let result = f(self);
        if result.is_err() {
            self.deps.storage = MockStorage::new();
            for (k, v) in snapshot {
                self.deps.storage.set(&k, &v);
            }
        }
        result
    }

    pub fn execute(&mut self, sender: &Addr, msg: ExecuteMsg) -> Result<Response, ContractError> {
        self.execute_with_funds(sender, msg, 0)
    }

    /// Like `execute`, with `native` ucosm attached (every message must refuse them).
    pub fn execute_with_funds(
        &mut self,
        sender: &Addr,
        msg: ExecuteMsg,
        native: u128,
    ) -> Result<Response, ContractError> {
        let funds = if native == 0 {
            vec![]
        } else {
            coins(native, "ucosm")
        };
        let resp = self.run(|s| {
            execute(
                s.deps.as_mut(),
                s.env.clone(),
                message_info(sender, &funds),
                msg,
            )
        })?;
        self.apply(&resp);
        Ok(resp)
    }

    /// A cw20 `Send` of `amount` from `from` through the token contract `via`.
    pub fn send_via(
        &mut self,
        via: &Addr,
        from: &Addr,
        amount: Uint128,
        msg: &ReceiveMsg,
    ) -> Result<Response, ContractError> {
        let wrapper = Cw20ReceiveMsg {
            sender: from.to_string(),
            amount,
            msg: to_json_binary(msg).unwrap(),
        };
        let resp = self.run(|s| {
            execute(
                s.deps.as_mut(),
                s.env.clone(),
                message_info(via, &[]),
                ExecuteMsg::Receive(wrapper),
            )
        })?;
        if *via == self.token {
            self.market_balance += amount;
        }
        self.apply(&resp);
        Ok(resp)
    }

    pub fn send(
        &mut self,
        from: &Addr,
        amount: Uint128,
        msg: &ReceiveMsg,
    ) -> Result<Response, ContractError> {
        let token = self.token.clone();
        self.send_via(&token, from, amount, msg)
    }

    pub fn try_create_order(&mut self, spec: OrderSpec) -> Result<Response, ContractError> {
        let tenant = self.tenant.clone();
        let amount = escrow_of(&spec);
        self.send(&tenant, amount, &ReceiveMsg::CreateOrder(spec))
    }

    pub fn create_order(&mut self, spec: OrderSpec) -> u64 {
        let resp = self.try_create_order(spec).unwrap();
        attr(&resp, "order_id").parse().unwrap()
    }

    pub fn bid(
        &mut self,
        provider: &Addr,
        order_id: u64,
        price: u128,
    ) -> Result<Response, ContractError> {
        let resources = self.order(order_id).spec.resources;
        self.execute(
            provider,
            ExecuteMsg::PlaceBid {
                order_id,
                price_per_second: Uint128::new(price),
                resources,
            },
        )
    }

    /// Match by a passer-by.
    pub fn do_match(&mut self, order_id: u64) -> Result<Response, ContractError> {
        let anyone = self.addr("anyone");
        self.execute(&anyone, ExecuteMsg::Match { order_id })
    }

    /// Order from `spec`, one bid by a fresh provider at `price`, window closed, matched.
    /// Returns (order id, lease id, provider).
    pub fn lease_with(&mut self, spec: OrderSpec, price: u128) -> (u64, u64, Addr) {
        let window = spec.bid_window_secs;
        let order_id = self.create_order(spec);
        let provider = self.provider(&format!("provider-of-{order_id}"));
        self.bid(&provider, order_id, price).unwrap();
        self.advance(window);
        let resp = self.do_match(order_id).unwrap();
        (order_id, attr(&resp, "lease_id").parse().unwrap(), provider)
    }

    /// A lease of the default spec at 40 per second for 1_000 s.
    pub fn lease(&mut self) -> (u64, u64, Addr) {
        self.lease_with(spec(), 40)
    }

    pub fn query<T: DeserializeOwned>(&self, msg: QueryMsg) -> T {
        from_json(query(self.deps.as_ref(), self.env.clone(), msg).unwrap()).unwrap()
    }

    pub fn query_err(&self, msg: QueryMsg) -> String {
        query(self.deps.as_ref(), self.env.clone(), msg)
            .unwrap_err()
            .to_string()
    }

    pub fn order(&self, order_id: u64) -> Order {
        self.query(QueryMsg::Order { order_id })
    }

    pub fn get_lease(&self, lease_id: u64) -> Lease {
        self.query(QueryMsg::Lease { lease_id })
    }

    pub fn paid_to(&self, addr: &Addr) -> Uint128 {
        self.paid.get(addr).copied().unwrap_or_default()
    }

    /// Books the messages of a successful response and checks the invariants.
    fn apply(&mut self, resp: &Response) {
        for sub in &resp.messages {
            let CosmosMsg::Wasm(WasmMsg::Execute {
                contract_addr,
                msg,
                funds,
            }) = &sub.msg
            else {
                panic!("unexpected message {:?}", sub.msg);
            };
            assert!(funds.is_empty(), "the market never sends native funds");
            if *contract_addr == self.token.to_string() {
                let Cw20ExecuteMsg::Transfer { recipient, amount } = from_json(msg).unwrap() else {
                    panic!("the market only sends cw20 Transfer");
                };
                assert!(!amount.is_zero(), "zero transfers fail in cw20-base");
                self.market_balance = self
                    .market_balance
                    .checked_sub(amount)
                    .expect("the market paid out more than it holds");
                *self.paid.entry(Addr::unchecked(recipient)).or_default() += amount;
            } else if *contract_addr == self.registry.to_string() {
                self.registry_msgs.push(from_json(msg).unwrap());
            } else {
                panic!("message to unexpected contract {contract_addr}");
            }
        }
        if self.check_every_step {
            self.check_invariants();
        }
    }

    /// The market's balance equals the escrow of Open orders plus that of Active leases; every
    /// Active lease's escrow covers exactly what remains of it; every index agrees with the
    /// records it indexes.
    pub fn check_invariants(&self) {
        let store = &self.deps.storage;
        let mut held = Uint128::zero();
        let mut orders = 0usize;
        for item in ORDERS.range(store, None, None, SortOrder::Ascending) {
            let (id, order) = item.unwrap();
            orders += 1;
            assert!(ORDERS_BY_STATE.has(store, (order.state.as_str(), id)));
            if order.state == OrderState::Open {
                held += order.escrow;
                let live = BIDS
                    .prefix(id)
                    .range(store, None, None, SortOrder::Ascending)
                    .count();
                assert_eq!(live, order.bid_count as usize, "bid_count of order {id}");
            } else {
                assert!(order.escrow.is_zero(), "order {id} still holds escrow");
            }
            assert_eq!(order.lease_id.is_some(), order.state == OrderState::Matched);
        }
        let indexed = ORDERS_BY_STATE
            .keys_raw(store, None, None, SortOrder::Ascending)
            .count();
        assert_eq!(indexed, orders, "ORDERS_BY_STATE has stale entries");

        for item in LEASES.range(store, None, None, SortOrder::Ascending) {
            let (id, lease) = item.unwrap();
            if lease.state == LeaseState::Active {
                held += lease.escrow;
                let secs = (lease.ends_at.nanos() - lease.started_at.nanos()) / 1_000_000_000;
                assert_eq!(
                    lease.escrow + lease.withdrawn,
                    lease.price_per_second * Uint128::from(secs),
                    "escrow of lease {id} does not cover its remaining time"
                );
            } else {
                assert!(lease.escrow.is_zero(), "ended lease {id} holds escrow");
            }
        }
        assert_eq!(
            self.market_balance, held,
            "market balance != open order escrow + active lease escrow"
        );

        let mut bids = 0usize;
        for item in BID_INDEX.range(store, None, None, SortOrder::Ascending) {
            let ((order_id, price, seq), provider) = item.unwrap();
            let bid = BIDS.load(store, (order_id, &provider)).unwrap();
            assert_eq!((bid.price_per_second.u128(), bid.sequence), (price, seq));
            bids += 1;
        }
        let stored = BIDS
            .keys_raw(store, None, None, SortOrder::Ascending)
            .count();
        assert_eq!(bids, stored, "BIDS and BID_INDEX disagree");
    }
}
