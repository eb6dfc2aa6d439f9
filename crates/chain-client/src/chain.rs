//! The `MarketChain` trait: one account's typed view of the four AKASH contracts.

use akash_types::common::{Attribute, ResourceUnits};
use akash_types::market::{
    self, Bid, BidsResponse, Lease, LeaseBalanceResponse, LeasesResponse, Order, OrderSpec,
    OrderState, OrdersResponse,
};
use akash_types::registry::{self, ProviderResponse, ProvidersResponse, ReputationResponse};
use akash_types::staking::{self, StakeResponse};
use async_trait::async_trait;
use cosmwasm_std::{to_json_binary, Timestamp, Uint128};
use cw20::{BalanceResponse, Cw20ExecuteMsg, Cw20QueryMsg};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ChainError, ChainResult};
use crate::events::{MarketEventStream, WasmEvent};

/// Addresses of the four contracts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contracts {
    pub token: String,
    pub staking: String,
    pub registry: String,
    pub market: String,
}

/// A transaction that was included in a block and succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    pub height: u64,
    pub tx_hash: String,
    /// Zero on the embedded chain, which does not meter gas.
    pub gas_wanted: u64,
    pub gas_used: u64,
    /// The `wasm` events of every contract call in the transaction, in order.
    pub events: Vec<WasmEvent>,
}

impl TxOutcome {
    /// First value of `key` among the wasm events of `contract`.
    pub fn attribute(&self, contract: &str, key: &str) -> Option<&str> {
        self.events
            .iter()
            .filter(|e| e.contract == contract)
            .find_map(|e| e.attribute(key))
    }

    fn attribute_u64(&self, contract: &str, key: &str) -> ChainResult<u64> {
        let value = self.attribute(contract, key).ok_or_else(|| {
            ChainError::Decode(format!(
                "transaction {} has no {key} attribute from {contract}",
                self.tx_hash
            ))
        })?;
        value
            .parse()
            .map_err(|_| ChainError::Decode(format!("{key}={value:?} is not a number")))
    }
}

/// A created order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCreated {
    pub order_id: u64,
    pub tx: TxOutcome,
}

/// The result of `Match`: a lease, or the order expired (no eligible bid; escrow refunded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchResult {
    pub order_id: u64,
    /// `None` when the order expired.
    pub lease_id: Option<u64>,
    pub tx: TxOutcome,
}

/// One account's access to the AKASH contracts on some chain: typed smart queries, signed
/// executes, chain time and market events. Object safe: use it as `Arc<dyn MarketChain>`.
///
/// Implementors provide the eight required methods; every typed method is built on
/// [`MarketChain::query_smart`] and [`MarketChain::execute`].
#[async_trait]
pub trait MarketChain: Send + Sync {
    /// Bech32 address of the account this handle signs as.
    fn address(&self) -> &str;

    /// The id of the chain this handle talks to (an embedded chain has one of its own,
    /// different on every start).
    fn chain_id(&self) -> &str;

    /// The contracts this handle talks to.
    fn contracts(&self) -> &Contracts;

    /// Height of the latest block.
    async fn height(&self) -> ChainResult<u64>;

    /// Time of the latest block (what the contracts compare bid windows and lease ends with).
    async fn block_time(&self) -> ChainResult<Timestamp>;

    /// Smart query of `contract` with a JSON message; returns the JSON answer.
    async fn query_smart(&self, contract: &str, msg: Vec<u8>) -> ChainResult<Vec<u8>>;

    /// Executes a JSON message on `contract` as [`MarketChain::address`], without funds, and
    /// waits until it is in a block. A contract's refusal is [`ChainError::Contract`].
    async fn execute(&self, contract: &str, msg: Vec<u8>) -> ChainResult<TxOutcome>;

    /// The market contract's events from `from_height` on (earlier blocks first, then new
    /// ones as they come). Use the height after the last event handled to resume.
    async fn subscribe_market_events(&self, from_height: u64) -> ChainResult<MarketEventStream>;

    // ---- market queries ------------------------------------------------------------------

    async fn market_config(&self) -> ChainResult<market::ConfigResponse> {
        query(self, Target::Market, &market::QueryMsg::Config {}).await
    }

    /// Orders by id, optionally only those in `state`; one page.
    async fn orders(
        &self,
        state: Option<OrderState>,
        start_after: Option<u64>,
        limit: Option<u32>,
    ) -> ChainResult<Vec<Order>> {
        let msg = market::QueryMsg::Orders {
            state,
            start_after,
            limit,
        };
        let res: OrdersResponse = query(self, Target::Market, &msg).await?;
        Ok(res.orders)
    }

    async fn order(&self, order_id: u64) -> ChainResult<Order> {
        query(self, Target::Market, &market::QueryMsg::Order { order_id }).await
    }

    /// The live bid of `provider` on an order.
    async fn bid(&self, order_id: u64, provider: &str) -> ChainResult<Bid> {
        let msg = market::QueryMsg::Bid {
            order_id,
            provider: provider.to_string(),
        };
        query(self, Target::Market, &msg).await
    }

    /// Bids of an order, best first; `start_after` is the (price, sequence) of the last bid
    /// of the previous page.
    async fn bids(
        &self,
        order_id: u64,
        start_after: Option<(Uint128, u64)>,
        limit: Option<u32>,
    ) -> ChainResult<Vec<Bid>> {
        let msg = market::QueryMsg::Bids {
            order_id,
            start_after,
            limit,
        };
        let res: BidsResponse = query(self, Target::Market, &msg).await?;
        Ok(res.bids)
    }

    async fn lease(&self, lease_id: u64) -> ChainResult<Lease> {
        query(self, Target::Market, &market::QueryMsg::Lease { lease_id }).await
    }

    async fn leases_by_tenant(
        &self,
        tenant: &str,
        start_after: Option<u64>,
        limit: Option<u32>,
    ) -> ChainResult<Vec<Lease>> {
        let msg = market::QueryMsg::LeasesByTenant {
            tenant: tenant.to_string(),
            start_after,
            limit,
        };
        let res: LeasesResponse = query(self, Target::Market, &msg).await?;
        Ok(res.leases)
    }

    async fn leases_by_provider(
        &self,
        provider: &str,
        start_after: Option<u64>,
        limit: Option<u32>,
    ) -> ChainResult<Vec<Lease>> {
        let msg = market::QueryMsg::LeasesByProvider {
            provider: provider.to_string(),
            start_after,
            limit,
        };
        let res: LeasesResponse = query(self, Target::Market, &msg).await?;
        Ok(res.leases)
    }

    /// Split of a lease's escrow at the current block time.
    async fn lease_balance(&self, lease_id: u64) -> ChainResult<LeaseBalanceResponse> {
        query(
            self,
            Target::Market,
            &market::QueryMsg::LeaseBalance { lease_id },
        )
        .await
    }

    // ---- registry, staking and token queries ---------------------------------------------

    /// A registered provider; a contract error if `address` is not registered.
    async fn provider(&self, address: &str) -> ChainResult<ProviderResponse> {
        let msg = registry::QueryMsg::Provider {
            address: address.to_string(),
        };
        query(self, Target::Registry, &msg).await
    }

    async fn providers(
        &self,
        start_after: Option<String>,
        limit: Option<u32>,
    ) -> ChainResult<Vec<ProviderResponse>> {
        let msg = registry::QueryMsg::Providers { start_after, limit };
        let res: ProvidersResponse = query(self, Target::Registry, &msg).await?;
        Ok(res.providers)
    }

    /// History, stake and score; works for unregistered addresses (`registered: false`).
    async fn reputation(&self, address: &str) -> ChainResult<ReputationResponse> {
        let msg = registry::QueryMsg::Reputation {
            address: address.to_string(),
        };
        query(self, Target::Registry, &msg).await
    }

    /// Bonded stake of `address`.
    async fn stake_of(&self, address: &str) -> ChainResult<StakeResponse> {
        let msg = staking::QueryMsg::Stake {
            address: address.to_string(),
        };
        query(self, Target::Staking, &msg).await
    }

    /// AKASH balance of `address`, base units.
    async fn token_balance(&self, address: &str) -> ChainResult<Uint128> {
        let msg = Cw20QueryMsg::Balance {
            address: address.to_string(),
        };
        let res: BalanceResponse = query(self, Target::Token, &msg).await?;
        Ok(res.balance)
    }

    // ---- registry and staking executes ---------------------------------------------------

    async fn register_provider(
        &self,
        host_uri: &str,
        attributes: Vec<Attribute>,
        root_certificate_pem: &str,
    ) -> ChainResult<TxOutcome> {
        let msg = registry::ExecuteMsg::Register {
            host_uri: host_uri.to_string(),
            attributes,
            root_certificate_pem: root_certificate_pem.to_string(),
        };
        execute(self, Target::Registry, &msg).await
    }

    /// Changes the given fields of the sender's registration.
    async fn update_provider(
        &self,
        host_uri: Option<String>,
        attributes: Option<Vec<Attribute>>,
        root_certificate_pem: Option<String>,
    ) -> ChainResult<TxOutcome> {
        let msg = registry::ExecuteMsg::Update {
            host_uri,
            attributes,
            root_certificate_pem,
        };
        execute(self, Target::Registry, &msg).await
    }

    async fn deregister_provider(&self) -> ChainResult<TxOutcome> {
        execute(self, Target::Registry, &registry::ExecuteMsg::Deregister {}).await
    }

    /// Stakes `amount` AKASH (cw20 `Send` to the staking contract).
    async fn stake(&self, amount: Uint128) -> ChainResult<TxOutcome> {
        let staking = self.contracts().staking.clone();
        cw20_send(self, &staking, amount, &staking::ReceiveMsg::Stake {}).await
    }

    /// Starts unbonding `amount` of the sender's stake.
    async fn unbond(&self, amount: Uint128) -> ChainResult<TxOutcome> {
        execute(
            self,
            Target::Staking,
            &staking::ExecuteMsg::Unbond { amount },
        )
        .await
    }

    /// Pays out the sender's matured claims.
    async fn claim(&self) -> ChainResult<TxOutcome> {
        execute(self, Target::Staking, &staking::ExecuteMsg::Claim {}).await
    }

    /// Plain AKASH transfer.
    async fn transfer(&self, recipient: &str, amount: Uint128) -> ChainResult<TxOutcome> {
        let msg = Cw20ExecuteMsg::Transfer {
            recipient: recipient.to_string(),
            amount,
        };
        execute(self, Target::Token, &msg).await
    }

    // ---- market executes -----------------------------------------------------------------

    /// Creates an order, escrowing exactly `max_price_per_second x lease_duration_secs`.
    async fn create_order(&self, spec: OrderSpec) -> ChainResult<OrderCreated> {
        let escrow = spec
            .max_price_per_second
            .checked_mul(Uint128::from(spec.lease_duration_secs))
            .map_err(|e| ChainError::InvalidRequest(format!("escrow of the order: {e}")))?;
        let market = self.contracts().market.clone();
        let tx = cw20_send(
            self,
            &market,
            escrow,
            &market::ReceiveMsg::CreateOrder(spec),
        )
        .await?;
        let order_id = tx.attribute_u64(&market, "order_id")?;
        Ok(OrderCreated { order_id, tx })
    }

    async fn cancel_order(&self, order_id: u64) -> ChainResult<TxOutcome> {
        execute(
            self,
            Target::Market,
            &market::ExecuteMsg::CancelOrder { order_id },
        )
        .await
    }

    /// Bids `price_per_second` for the whole order, committing `resources` per unit.
    async fn place_bid(
        &self,
        order_id: u64,
        price_per_second: Uint128,
        resources: ResourceUnits,
    ) -> ChainResult<TxOutcome> {
        let msg = market::ExecuteMsg::PlaceBid {
            order_id,
            price_per_second,
            resources,
        };
        execute(self, Target::Market, &msg).await
    }

    async fn withdraw_bid(&self, order_id: u64) -> ChainResult<TxOutcome> {
        execute(
            self,
            Target::Market,
            &market::ExecuteMsg::WithdrawBid { order_id },
        )
        .await
    }

    /// Matches an order whose bid window has closed.
    async fn match_order(&self, order_id: u64) -> ChainResult<MatchResult> {
        let tx = execute(
            self,
            Target::Market,
            &market::ExecuteMsg::Match { order_id },
        )
        .await?;
        let market = &self.contracts().market;
        let lease_id = match tx.attribute(market, "lease_id") {
            Some(_) => Some(tx.attribute_u64(market, "lease_id")?),
            None => None,
        };
        Ok(MatchResult {
            order_id,
            lease_id,
            tx,
        })
    }

    async fn withdraw_earnings(&self, lease_id: u64) -> ChainResult<TxOutcome> {
        execute(
            self,
            Target::Market,
            &market::ExecuteMsg::WithdrawEarnings { lease_id },
        )
        .await
    }

    async fn close_lease(&self, lease_id: u64, reason: Option<String>) -> ChainResult<TxOutcome> {
        execute(
            self,
            Target::Market,
            &market::ExecuteMsg::CloseLease { lease_id, reason },
        )
        .await
    }

    async fn complete_lease(&self, lease_id: u64) -> ChainResult<TxOutcome> {
        execute(
            self,
            Target::Market,
            &market::ExecuteMsg::CompleteLease { lease_id },
        )
        .await
    }

    /// Extends an active lease by sending `amount` AKASH to its escrow.
    async fn deposit_lease(&self, lease_id: u64, amount: Uint128) -> ChainResult<TxOutcome> {
        let market = self.contracts().market.clone();
        cw20_send(
            self,
            &market,
            amount,
            &market::ReceiveMsg::DepositLease { lease_id },
        )
        .await
    }

    async fn update_manifest(
        &self,
        lease_id: u64,
        manifest_sha256: &str,
    ) -> ChainResult<TxOutcome> {
        let msg = market::ExecuteMsg::UpdateManifest {
            lease_id,
            manifest_sha256: manifest_sha256.to_string(),
        };
        execute(self, Target::Market, &msg).await
    }
}

#[derive(Clone, Copy)]
enum Target {
    Token,
    Staking,
    Registry,
    Market,
}

fn address_of<C: MarketChain + ?Sized>(chain: &C, target: Target) -> String {
    let c = chain.contracts();
    match target {
        Target::Token => c.token.clone(),
        Target::Staking => c.staking.clone(),
        Target::Registry => c.registry.clone(),
        Target::Market => c.market.clone(),
    }
}

fn to_json<M: Serialize>(msg: &M) -> ChainResult<Vec<u8>> {
    serde_json::to_vec(msg).map_err(|e| ChainError::InvalidRequest(e.to_string()))
}

async fn query<C, M, T>(chain: &C, target: Target, msg: &M) -> ChainResult<T>
where
    C: MarketChain + ?Sized,
    M: Serialize,
    T: DeserializeOwned,
{
    let contract = address_of(chain, target);
    let answer = chain.query_smart(&contract, to_json(msg)?).await?;
    serde_json::from_slice(&answer).map_err(|e| {
        ChainError::Decode(format!(
            "answer of {contract} to {}: {e}",
            String::from_utf8_lossy(&to_json(msg).unwrap_or_default())
        ))
    })
}

async fn execute<C, M>(chain: &C, target: Target, msg: &M) -> ChainResult<TxOutcome>
where
    C: MarketChain + ?Sized,
    M: Serialize,
{
    let contract = address_of(chain, target);
    chain.execute(&contract, to_json(msg)?).await
}

/// cw20 `Send` of `amount` AKASH to `contract`, carrying the hook message `hook`.
async fn cw20_send<C, M>(
    chain: &C,
    contract: &str,
    amount: Uint128,
    hook: &M,
) -> ChainResult<TxOutcome>
where
    C: MarketChain + ?Sized,
    M: Serialize,
{
    let msg = Cw20ExecuteMsg::Send {
        contract: contract.to_string(),
        amount,
        msg: to_json_binary(hook).map_err(|e| ChainError::InvalidRequest(e.to_string()))?,
    };
    execute(chain, Target::Token, &msg).await
}
