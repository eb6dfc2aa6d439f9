//! An in-process chain running the real contract code (cw-multi-test), for the local sandbox
//! and fast tests.
//!
//! cw-multi-test's `App` is not `Send` (it stores `Box<dyn Contract>`), so it lives on a
//! dedicated thread; handles send it closures over a channel and await the answer. Block time
//! follows the wall clock: before every call the block moves to "now" (plus any
//! [`EmbeddedChain::advance_time`] skew) and the height grows by one, so bid windows close in
//! real time. Market events of every successful execute are kept (for backfill) and broadcast
//! to subscribers.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::{mpsc as std_mpsc, Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use akash_types::{market, registry, staking, token};
use async_trait::async_trait;
use cosmwasm_std::testing::MockApi;
use cosmwasm_std::{
    to_json_vec, Api, Binary, ContractResult, CosmosMsg, Empty, Querier, QueryRequest,
    SystemResult, Timestamp, Uint128, WasmMsg, WasmQuery,
};
use cw20::{Cw20Coin, Cw20ExecuteMsg, MinterResponse};
use cw_multi_test::error::AnyError;
use cw_multi_test::{App, Contract, ContractWrapper, Executor};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::chain::{Contracts, MarketChain, TxOutcome};
use crate::error::{contract_message_of, ChainError, ChainResult};
use crate::events::{MarketEvent, MarketEventStream, WasmEvent, EVENT_BUFFER};

/// Name of the account that instantiates the contracts and administers the registry.
pub const DEPLOYER: &str = "deployer";
/// Name of the account that may mint AKASH, governs staking and receives slashed stake.
pub const GOVERNANCE: &str = "governance";

/// 1 AKASH in base units.
pub const AKASH: u128 = 1_000_000;

/// Genesis and contract settings of an embedded chain.
#[derive(Debug, Clone)]
pub struct EmbeddedConfig {
    /// AKASH (base units) minted at genesis to each named account (address
    /// `addr_make(name)`, see [`EmbeddedChain::address_of`]).
    pub balances: Vec<(String, Uint128)>,
    pub unbonding_period_secs: u64,
    /// Base units of stake per cw4 voting weight.
    pub tokens_per_weight: Uint128,
    /// Stake at which the stake part of the registry's reputation score is full.
    pub stake_for_full_reputation: Uint128,
    /// Market events buffered for live subscribers; one that falls further behind catches up
    /// from the chain's event history, so nothing is lost either way.
    pub event_broadcast_capacity: usize,
}

impl Default for EmbeddedConfig {
    /// The localnet's set-up (`scripts/deploy.sh`): 1,000,000 AKASH each for `tenant`,
    /// `provider1`..`provider3` and `stranger`; 60 s unbonding.
    fn default() -> Self {
        let balances = ["tenant", "provider1", "provider2", "provider3", "stranger"]
            .into_iter()
            .map(|name| (name.to_string(), Uint128::new(1_000_000 * AKASH)))
            .collect();
        EmbeddedConfig {
            balances,
            unbonding_period_secs: 60,
            tokens_per_weight: Uint128::new(AKASH),
            stake_for_full_reputation: Uint128::new(1_000 * AKASH),
            event_broadcast_capacity: 1024,
        }
    }
}

type Command = Box<dyn FnOnce(&mut World) + Send>;

/// The shared in-process chain. Cheap to clone; the chain stops when the last clone, handle
/// and event stream are gone.
#[derive(Clone)]
pub struct EmbeddedChain {
    shared: Arc<Shared>,
}

struct Shared {
    commands: std_mpsc::Sender<Command>,
    contracts: Contracts,
    chain_id: String,
}

impl EmbeddedChain {
    /// A chain with [`EmbeddedConfig::default`].
    pub fn start_default() -> ChainResult<Self> {
        Self::start(EmbeddedConfig::default())
    }

    /// Starts the chain thread, stores and instantiates the four contracts and mints the
    /// genesis balances.
    pub fn start(config: EmbeddedConfig) -> ChainResult<Self> {
        let (commands, inbox) = std_mpsc::channel::<Command>();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        // Random: two embedded chains (one per process, or per test) are never taken for one.
        let chain_id = format!(
            "akash-embedded-{:016x}",
            RandomState::new().build_hasher().finish()
        );
        let genesis_chain_id = chain_id.clone();
        std::thread::Builder::new()
            .name("akash-embedded-chain".into())
            .spawn(move || {
                let mut world = match World::genesis(&config, &genesis_chain_id) {
                    Ok(world) => {
                        let _ = ready_tx.send(Ok(world.contracts.clone()));
                        world
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                // A panicking command drops its reply channel (the caller gets ChainStopped)
                // but does not take the chain down.
                for command in inbox {
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| command(&mut world)));
                }
            })
            .map_err(|e| ChainError::Config(format!("spawning the chain thread: {e}")))?;
        let contracts = ready_rx.recv().map_err(|_| ChainError::ChainStopped)??;
        Ok(EmbeddedChain {
            shared: Arc::new(Shared {
                commands,
                contracts,
                chain_id,
            }),
        })
    }

    /// The address of a named account (`MockApi::addr_make(name)`, as cw-multi-test makes
    /// them).
    pub fn address_of(name: &str) -> String {
        MockApi::default().addr_make(name).into_string()
    }

    /// A handle acting as the account `name` (see [`EmbeddedChain::address_of`]).
    pub fn handle(&self, name: &str) -> EmbeddedHandle {
        self.handle_for_address(Self::address_of(name))
    }

    /// A handle acting as `address`.
    pub fn handle_for_address(&self, address: impl Into<String>) -> EmbeddedHandle {
        EmbeddedHandle {
            chain: self.clone(),
            address: address.into(),
        }
    }

    pub fn contracts(&self) -> &Contracts {
        &self.shared.contracts
    }

    /// `akash-embedded-<16 random hex digits>`, chosen at start (also the contracts'
    /// `env.block.chain_id`).
    pub fn chain_id(&self) -> &str {
        &self.shared.chain_id
    }

    /// Moves chain time `by` ahead of the wall clock (cumulative), e.g. to end a lease now.
    pub async fn advance_time(&self, by: Duration) -> ChainResult<()> {
        self.call(move |world| {
            world.skew += by;
            world.next_block();
        })
        .await
    }

    /// Mints `amount` AKASH to `recipient` (as governance, the minter).
    pub async fn mint(&self, recipient: &str, amount: Uint128) -> ChainResult<TxOutcome> {
        let msg = to_json_vec(&Cw20ExecuteMsg::Mint {
            recipient: recipient.to_string(),
            amount,
        })
        .map_err(|e| ChainError::InvalidRequest(e.to_string()))?;
        let token = self.contracts().token.clone();
        let governance = Self::address_of(GOVERNANCE);
        self.call(move |world| world.execute(&governance, &token, msg))
            .await?
    }

    /// Runs `f` on the chain thread.
    async fn call<T, F>(&self, f: F) -> ChainResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut World) -> T + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.shared
            .commands
            .send(Box::new(move |world| {
                let _ = reply.send(f(world));
            }))
            .map_err(|_| ChainError::ChainStopped)?;
        answer.await.map_err(|_| ChainError::ChainStopped)
    }

    async fn subscribe(&self, from_height: u64) -> ChainResult<MarketEventStream> {
        // Backlog and live subscription are taken in one step on the chain thread, so no
        // event falls between them.
        let (backlog, next, mut live) = self
            .call(move |world| {
                let backlog: Vec<MarketEvent> = world
                    .history
                    .iter()
                    .filter(|e| e.height >= from_height)
                    .cloned()
                    .collect();
                (backlog, world.history.len(), world.events.subscribe())
            })
            .await?;
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let task = tokio::spawn(async move {
            for event in backlog {
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
            // Sequence number (index in the history) of the next event to deliver.
            let mut next = next;
            loop {
                let missed = match live.recv().await {
                    Ok((seq, event)) => {
                        if seq < next {
                            continue;
                        }
                        next = seq + 1;
                        vec![event]
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Too slow for the broadcast buffer: read what was missed from the
                        // history instead.
                        let Some(shared) = weak.upgrade() else { return };
                        let chain = EmbeddedChain { shared };
                        let from = next;
                        let Ok(missed) = chain
                            .call(move |world| {
                                world.history[from.min(world.history.len())..].to_vec()
                            })
                            .await
                        else {
                            return;
                        };
                        next += missed.len();
                        missed
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                for event in missed.into_iter().filter(|e| e.height >= from_height) {
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(MarketEventStream::new(rx, task.abort_handle()))
    }
}

impl std::fmt::Debug for EmbeddedChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedChain")
            .field("chain_id", &self.shared.chain_id)
            .field("contracts", &self.shared.contracts)
            .finish()
    }
}

/// One account's handle on an [`EmbeddedChain`].
#[derive(Clone, Debug)]
pub struct EmbeddedHandle {
    chain: EmbeddedChain,
    address: String,
}

impl EmbeddedHandle {
    pub fn chain(&self) -> &EmbeddedChain {
        &self.chain
    }
}

#[async_trait]
impl MarketChain for EmbeddedHandle {
    fn address(&self) -> &str {
        &self.address
    }

    fn chain_id(&self) -> &str {
        self.chain.chain_id()
    }

    fn contracts(&self) -> &Contracts {
        self.chain.contracts()
    }

    async fn height(&self) -> ChainResult<u64> {
        self.chain
            .call(|world| {
                world.next_block();
                world.app.block_info().height
            })
            .await
    }

    async fn block_time(&self) -> ChainResult<Timestamp> {
        self.chain
            .call(|world| {
                world.next_block();
                world.app.block_info().time
            })
            .await
    }

    async fn query_smart(&self, contract: &str, msg: Vec<u8>) -> ChainResult<Vec<u8>> {
        let contract = contract.to_string();
        self.chain
            .call(move |world| world.query(&contract, msg))
            .await?
    }

    async fn execute(&self, contract: &str, msg: Vec<u8>) -> ChainResult<TxOutcome> {
        let (sender, contract) = (self.address.clone(), contract.to_string());
        self.chain
            .call(move |world| world.execute(&sender, &contract, msg))
            .await?
    }

    async fn subscribe_market_events(&self, from_height: u64) -> ChainResult<MarketEventStream> {
        self.chain.subscribe(from_height).await
    }
}

/// State owned by the chain thread.
struct World {
    app: App,
    contracts: Contracts,
    /// How far chain time runs ahead of the wall clock.
    skew: Duration,
    /// Every market event so far, in order; the index is the event's sequence number.
    history: Vec<MarketEvent>,
    events: broadcast::Sender<(usize, MarketEvent)>,
    txs: u64,
}

fn wall_clock() -> Timestamp {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_nanos(u64::try_from(since_epoch.as_nanos()).unwrap_or(u64::MAX))
}

fn token_contract() -> Box<dyn Contract<Empty>> {
    Box::new(ContractWrapper::new(
        akash_token::contract::execute,
        akash_token::contract::instantiate,
        akash_token::contract::query,
    ))
}

fn staking_contract() -> Box<dyn Contract<Empty>> {
    Box::new(ContractWrapper::new(
        akash_staking::contract::execute,
        akash_staking::contract::instantiate,
        akash_staking::contract::query,
    ))
}

fn registry_contract() -> Box<dyn Contract<Empty>> {
    Box::new(ContractWrapper::new(
        akash_registry::contract::execute,
        akash_registry::contract::instantiate,
        akash_registry::contract::query,
    ))
}

fn market_contract() -> Box<dyn Contract<Empty>> {
    Box::new(ContractWrapper::new(
        akash_market::contract::execute,
        akash_market::contract::instantiate,
        akash_market::contract::query,
    ))
}

/// A failed multi-test execution as a contract error: the root cause is the contract's own
/// error (cw-multi-test adds context at each contract boundary).
fn contract_error(err: &AnyError) -> ChainError {
    ChainError::Contract {
        message: contract_message_of(&err.root_cause().to_string()),
        detail: format!("{err:#}"),
    }
}

fn genesis_error(what: &str, err: AnyError) -> ChainError {
    ChainError::Config(format!("embedded genesis: {what}: {err:#}"))
}

impl World {
    fn genesis(config: &EmbeddedConfig, chain_id: &str) -> ChainResult<World> {
        let mut app = App::default();
        app.update_block(|block| {
            block.time = wall_clock();
            block.height = 1;
            block.chain_id = chain_id.to_string();
        });
        let api = MockApi::default();
        let deployer = api.addr_make(DEPLOYER);
        let governance = api.addr_make(GOVERNANCE);

        let token_code = app.store_code(token_contract());
        let staking_code = app.store_code(staking_contract());
        let registry_code = app.store_code(registry_contract());
        let market_code = app.store_code(market_contract());

        let initial_balances = config
            .balances
            .iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(name, amount)| Cw20Coin {
                address: api.addr_make(name).into_string(),
                amount: *amount,
            })
            .collect();
        let token = app
            .instantiate_contract(
                token_code,
                deployer.clone(),
                &token::InstantiateMsg {
                    name: "Akash Token".to_string(),
                    symbol: "AKASH".to_string(),
                    initial_balances,
                    mint: Some(MinterResponse {
                        minter: governance.to_string(),
                        cap: None,
                    }),
                    marketing: None,
                },
                &[],
                "akash-token",
                None,
            )
            .map_err(|e| genesis_error("token", e))?;
        let staking = app
            .instantiate_contract(
                staking_code,
                deployer.clone(),
                &staking::InstantiateMsg {
                    token: token.to_string(),
                    governance: governance.to_string(),
                    unbonding_period_secs: config.unbonding_period_secs,
                    slash_destination: governance.to_string(),
                    tokens_per_weight: config.tokens_per_weight,
                },
                &[],
                "akash-staking",
                None,
            )
            .map_err(|e| genesis_error("staking", e))?;
        let registry = app
            .instantiate_contract(
                registry_code,
                deployer.clone(),
                &registry::InstantiateMsg {
                    admin: deployer.to_string(),
                    staking: staking.to_string(),
                    stake_for_full_reputation: config.stake_for_full_reputation,
                },
                &[],
                "akash-registry",
                None,
            )
            .map_err(|e| genesis_error("registry", e))?;
        let market = app
            .instantiate_contract(
                market_code,
                deployer.clone(),
                &market::InstantiateMsg {
                    token: token.to_string(),
                    registry: registry.to_string(),
                    staking: staking.to_string(),
                },
                &[],
                "akash-market",
                None,
            )
            .map_err(|e| genesis_error("market", e))?;
        app.execute_contract(
            deployer,
            registry.clone(),
            &registry::ExecuteMsg::SetMarket {
                market: market.to_string(),
            },
            &[],
        )
        .map_err(|e| genesis_error("registry SetMarket", e))?;

        let (events, _) = broadcast::channel(config.event_broadcast_capacity.max(1));
        Ok(World {
            app,
            contracts: Contracts {
                token: token.into_string(),
                staking: staking.into_string(),
                registry: registry.into_string(),
                market: market.into_string(),
            },
            skew: Duration::ZERO,
            history: Vec::new(),
            events,
            txs: 0,
        })
    }

    /// A new block at the current time (never earlier than the last one).
    fn next_block(&mut self) {
        let now = wall_clock().plus_nanos(u64::try_from(self.skew.as_nanos()).unwrap_or(0));
        self.app.update_block(|block| {
            block.time = block.time.max(now);
            block.height += 1;
        });
    }

    fn query(&mut self, contract: &str, msg: Vec<u8>) -> ChainResult<Vec<u8>> {
        self.next_block();
        let request: QueryRequest<Empty> = QueryRequest::Wasm(WasmQuery::Smart {
            contract_addr: contract.to_string(),
            msg: Binary::from(msg),
        });
        let raw = to_json_vec(&request).map_err(|e| ChainError::InvalidRequest(e.to_string()))?;
        match self.app.raw_query(&raw) {
            SystemResult::Ok(ContractResult::Ok(answer)) => Ok(answer.to_vec()),
            SystemResult::Ok(ContractResult::Err(err)) => Err(ChainError::contract(err)),
            SystemResult::Err(err) => Err(ChainError::contract(err.to_string())),
        }
    }

    fn execute(&mut self, sender: &str, contract: &str, msg: Vec<u8>) -> ChainResult<TxOutcome> {
        self.next_block();
        let sender = MockApi::default()
            .addr_validate(sender)
            .map_err(|e| ChainError::InvalidRequest(format!("sender {sender:?}: {e}")))?;
        let response = self
            .app
            .execute(
                sender,
                CosmosMsg::Wasm(WasmMsg::Execute {
                    contract_addr: contract.to_string(),
                    msg: Binary::from(msg),
                    funds: vec![],
                }),
            )
            .map_err(|e| contract_error(&e))?;
        self.txs += 1;
        let height = self.app.block_info().height;
        let tx_hash = format!("{:064X}", self.txs);
        let events: Vec<WasmEvent> = response
            .events
            .iter()
            .filter(|e| e.ty == "wasm")
            .filter_map(|e| {
                WasmEvent::from_attributes(
                    e.attributes
                        .iter()
                        .map(|a| (a.key.clone(), a.value.clone())),
                )
            })
            .collect();
        for event in events
            .iter()
            .filter(|e| e.contract == self.contracts.market)
        {
            if let Some(event) = event.to_market_event(height, &tx_hash) {
                let seq = self.history.len();
                self.history.push(event.clone());
                // No subscriber is not an error.
                let _ = self.events.send((seq, event));
            }
        }
        Ok(TxOutcome {
            height,
            tx_hash,
            gas_wanted: 0,
            gas_used: 0,
            events,
        })
    }
}
