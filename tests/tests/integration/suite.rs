//! The suite builder: the real AKASH token, staking, registry and market contracts wired together
//! in cw-multi-test, plus a second plain cw20 for wrong-token cases, and typed helpers per message.

use akash_types::common::{Attribute, ResourceUnits};
use akash_types::market::{
    self, Bid, Lease, LeaseBalanceResponse, Order, OrderSpec, OrderState, PlacementRequirements,
};
use akash_types::registry::{self, ProviderResponse, ReputationResponse};
use akash_types::staking::{self, Claim};
use cosmwasm_std::{to_json_binary, Addr, Decimal, Empty, Uint128};
use cw20::{BalanceResponse, Cw20Coin, Cw20ExecuteMsg, MinterResponse, TokenInfoResponse};
use cw_multi_test::error::{AnyError, AnyResult};
use cw_multi_test::{App, AppResponse, Contract, ContractWrapper, Executor};

pub use akash_market::error::ContractError as MarketError;
pub use akash_registry::error::ContractError as RegistryError;
pub use akash_staking::error::ContractError as StakingError;

/// The provider root CA certificate every test provider registers (see testdata/generate.sh).
pub const CA_PEM: &str = include_str!("../../testdata/ca.pem");

/// Resources of the default order: one unit of 1 core, 1 GiB memory, 10 GiB storage, 1 MB/s.
pub const DEFAULT_RESOURCES: ResourceUnits = ResourceUnits {
    cpu_millis: 1_000,
    memory_bytes: 1 << 30,
    storage_bytes: 10 << 30,
    bandwidth_bytes_per_sec: 1_000_000,
};

pub const MANIFEST_V1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
pub const MANIFEST_V2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn token_contract() -> Box<dyn Contract<Empty>> {
    Box::new(ContractWrapper::new(
        akash_token::contract::execute,
        akash_token::contract::instantiate,
        akash_token::contract::query,
    ))
}

fn plain_cw20_contract() -> Box<dyn Contract<Empty>> {
    Box::new(ContractWrapper::new(
        cw20_base::contract::execute,
        cw20_base::contract::instantiate,
        cw20_base::contract::query,
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

/// The contract error inside a failed execution (anyhow keeps the original error under the
/// context cw-multi-test adds at each contract boundary). Panics if it is not of type `E`.
pub fn contract_error<E>(err: &AnyError) -> &E
where
    E: std::fmt::Display + std::fmt::Debug + Send + Sync + 'static,
{
    err.downcast_ref::<E>().unwrap_or_else(|| {
        panic!(
            "expected a {} in the error chain, got: {err:?}",
            std::any::type_name::<E>()
        )
    })
}

/// Asserts that `result` failed with a contract error matching `pattern`, e.g.
/// `assert_err!(suite.bid(..), MarketError::DuplicateBid { .. })`.
#[macro_export]
macro_rules! assert_err {
    ($result:expr, $error_type:ident :: $($pattern:tt)+) => {{
        let err = match $result {
            Ok(ok) => panic!("expected {}, got Ok({:?})", stringify!($($pattern)+), ok),
            Err(err) => err,
        };
        let found = $crate::suite::contract_error::<$error_type>(&err);
        assert!(
            matches!(found, $error_type :: $($pattern)+),
            "expected {}, got {found:?}",
            stringify!($error_type :: $($pattern)+)
        );
    }};
}

/// A default order: 10 base units per second for 1000 s, bids for 60 s, no requirement.
pub fn order_spec() -> OrderSpec {
    OrderSpec {
        resources: DEFAULT_RESOURCES,
        count: 1,
        max_price_per_second: Uint128::new(10),
        lease_duration_secs: 1_000,
        bid_window_secs: 60,
        requirements: PlacementRequirements::default(),
        manifest_sha256: MANIFEST_V1.to_string(),
    }
}

/// `key=value` pairs as registry attributes.
pub fn attrs(pairs: &[(&str, &str)]) -> Vec<Attribute> {
    pairs.iter().map(|(k, v)| Attribute::new(*k, *v)).collect()
}

pub struct SuiteBuilder {
    providers: usize,
    tenants: usize,
    provider_balance: u128,
    tenant_balance: u128,
    stranger_balance: u128,
    unbonding_period_secs: u64,
    tokens_per_weight: u128,
    stake_for_full_reputation: u128,
}

impl Default for SuiteBuilder {
    fn default() -> Self {
        SuiteBuilder {
            providers: 2,
            tenants: 1,
            provider_balance: 1_000_000_000,
            tenant_balance: 1_000_000_000,
            stranger_balance: 1_000_000_000,
            unbonding_period_secs: 3_600,
            tokens_per_weight: 1_000,
            stake_for_full_reputation: 1_000_000,
        }
    }
}

impl SuiteBuilder {
    pub fn with_providers(mut self, count: usize) -> Self {
        self.providers = count;
        self
    }

    pub fn with_tenants(mut self, count: usize) -> Self {
        self.tenants = count;
        self
    }

    pub fn with_provider_balance(mut self, amount: u128) -> Self {
        self.provider_balance = amount;
        self
    }

    pub fn with_tenant_balance(mut self, amount: u128) -> Self {
        self.tenant_balance = amount;
        self
    }

    pub fn with_stranger_balance(mut self, amount: u128) -> Self {
        self.stranger_balance = amount;
        self
    }

    pub fn with_unbonding_period(mut self, secs: u64) -> Self {
        self.unbonding_period_secs = secs;
        self
    }

    pub fn with_tokens_per_weight(mut self, amount: u128) -> Self {
        self.tokens_per_weight = amount;
        self
    }

    pub fn with_stake_for_full_reputation(mut self, amount: u128) -> Self {
        self.stake_for_full_reputation = amount;
        self
    }

    pub fn build(self) -> Suite {
        let mut app = App::default();
        let api = app.api();
        let deployer = api.addr_make("deployer");
        let minter = api.addr_make("minter");
        let governance = api.addr_make("governance");
        let registry_admin = api.addr_make("registry-admin");
        let slash_destination = api.addr_make("community-pool");
        let stranger = api.addr_make("stranger");
        let providers: Vec<Addr> = (1..=self.providers)
            .map(|i| api.addr_make(&format!("provider-{i}")))
            .collect();
        let tenants: Vec<Addr> = (1..=self.tenants)
            .map(|i| api.addr_make(&format!("tenant-{i}")))
            .collect();

        let token_code = app.store_code(token_contract());
        let plain_cw20_code = app.store_code(plain_cw20_contract());
        let staking_code = app.store_code(staking_contract());
        let registry_code = app.store_code(registry_contract());
        let market_code = app.store_code(market_contract());

        let token = app
            .instantiate_contract(
                token_code,
                deployer.clone(),
                &akash_types::token::InstantiateMsg {
                    name: "Akash Token".to_string(),
                    symbol: "AKASH".to_string(),
                    initial_balances: vec![],
                    mint: Some(MinterResponse {
                        minter: minter.to_string(),
                        cap: None,
                    }),
                    marketing: None,
                },
                &[],
                "akash-token",
                None,
            )
            .expect("instantiate token");

        // Every actor also holds the other token, so wrong-token sends fail on the hook, not on
        // an empty balance.
        let mut other_balances = vec![Cw20Coin {
            address: stranger.to_string(),
            amount: Uint128::new(1_000_000_000),
        }];
        other_balances.extend(providers.iter().chain(&tenants).map(|a| Cw20Coin {
            address: a.to_string(),
            amount: Uint128::new(1_000_000_000),
        }));
        let other_token = app
            .instantiate_contract(
                plain_cw20_code,
                deployer.clone(),
                &cw20_base::msg::InstantiateMsg {
                    name: "Other Token".to_string(),
                    symbol: "OTHER".to_string(),
                    decimals: 6,
                    initial_balances: other_balances,
                    mint: None,
                    marketing: None,
                },
                &[],
                "other-token",
                None,
            )
            .expect("instantiate other token");

        let staking = app
            .instantiate_contract(
                staking_code,
                deployer.clone(),
                &staking::InstantiateMsg {
                    token: token.to_string(),
                    governance: governance.to_string(),
                    unbonding_period_secs: self.unbonding_period_secs,
                    slash_destination: slash_destination.to_string(),
                    tokens_per_weight: Uint128::new(self.tokens_per_weight),
                },
                &[],
                "akash-staking",
                None,
            )
            .expect("instantiate staking");

        let registry = app
            .instantiate_contract(
                registry_code,
                deployer.clone(),
                &registry::InstantiateMsg {
                    admin: registry_admin.to_string(),
                    staking: staking.to_string(),
                    stake_for_full_reputation: Uint128::new(self.stake_for_full_reputation),
                },
                &[],
                "akash-registry",
                None,
            )
            .expect("instantiate registry");

        let market = app
            .instantiate_contract(
                market_code,
                deployer,
                &market::InstantiateMsg {
                    token: token.to_string(),
                    registry: registry.to_string(),
                    staking: staking.to_string(),
                },
                &[],
                "akash-market",
                None,
            )
            .expect("instantiate market");

        app.execute_contract(
            registry_admin.clone(),
            registry.clone(),
            &registry::ExecuteMsg::SetMarket {
                market: market.to_string(),
            },
            &[],
        )
        .expect("registry SetMarket");

        let mut suite = Suite {
            app,
            token,
            other_token,
            staking,
            registry,
            market,
            minter,
            governance,
            registry_admin,
            slash_destination,
            stranger: stranger.clone(),
            providers: providers.clone(),
            tenants: tenants.clone(),
        };
        for provider in &providers {
            suite.mint(provider, self.provider_balance);
        }
        for tenant in &tenants {
            suite.mint(tenant, self.tenant_balance);
        }
        suite.mint(&stranger, self.stranger_balance);
        suite
    }
}

pub struct Suite {
    pub app: App,
    /// The AKASH token.
    pub token: Addr,
    /// A plain cw20-base instance every actor holds; its hooks must be refused.
    pub other_token: Addr,
    pub staking: Addr,
    pub registry: Addr,
    pub market: Addr,
    pub minter: Addr,
    pub governance: Addr,
    pub registry_admin: Addr,
    pub slash_destination: Addr,
    /// Holds AKASH but has no role anywhere.
    pub stranger: Addr,
    pub providers: Vec<Addr>,
    pub tenants: Vec<Addr>,
}

impl Suite {
    pub fn builder() -> SuiteBuilder {
        SuiteBuilder::default()
    }

    pub fn provider(&self, index: usize) -> Addr {
        self.providers[index].clone()
    }

    pub fn tenant(&self, index: usize) -> Addr {
        self.tenants[index].clone()
    }

    /// Providers, tenants and the stranger, in that order.
    pub fn actors(&self) -> Vec<Addr> {
        let mut actors = self.providers.clone();
        actors.extend(self.tenants.iter().cloned());
        actors.push(self.stranger.clone());
        actors
    }

    /// Every address that may hold AKASH: the actors, then the contracts and roles.
    pub fn holders(&self) -> Vec<Addr> {
        let mut holders = self.actors();
        holders.extend([
            self.market.clone(),
            self.staking.clone(),
            self.registry.clone(),
            self.slash_destination.clone(),
            self.governance.clone(),
            self.registry_admin.clone(),
            self.minter.clone(),
        ]);
        holders
    }

    /// AKASH balances of [`Suite::holders`], in the same order.
    pub fn all_balances(&self) -> Vec<u128> {
        self.holders().iter().map(|a| self.balance(a)).collect()
    }

    pub fn addr_make(&self, name: &str) -> Addr {
        self.app.api().addr_make(name)
    }

    // ---- time ----------------------------------------------------------------------------

    /// Moves block time forward by `secs` and height by one block per 5 s (at least one).
    pub fn advance_secs(&mut self, secs: u64) {
        self.app.update_block(|block| {
            block.time = block.time.plus_seconds(secs);
            block.height += (secs / 5).max(1);
        });
    }

    pub fn now_secs(&self) -> u64 {
        self.app.block_info().time.seconds()
    }

    pub fn height(&self) -> u64 {
        self.app.block_info().height
    }

    // ---- token ---------------------------------------------------------------------------

    pub fn mint(&mut self, recipient: &Addr, amount: u128) {
        self.app
            .execute_contract(
                self.minter.clone(),
                self.token.clone(),
                &Cw20ExecuteMsg::Mint {
                    recipient: recipient.to_string(),
                    amount: Uint128::new(amount),
                },
                &[],
            )
            .expect("mint");
    }

    pub fn transfer(&mut self, from: &Addr, to: &Addr, amount: u128) -> AnyResult<AppResponse> {
        self.app.execute_contract(
            from.clone(),
            self.token.clone(),
            &Cw20ExecuteMsg::Transfer {
                recipient: to.to_string(),
                amount: Uint128::new(amount),
            },
            &[],
        )
    }

    /// cw20 `Send` of `amount` of `token` from `from` to `contract`, carrying `msg`.
    pub fn send_cw20<M: cosmwasm_schema::serde::Serialize>(
        &mut self,
        token: &Addr,
        from: &Addr,
        contract: &Addr,
        amount: u128,
        msg: &M,
    ) -> AnyResult<AppResponse> {
        self.app.execute_contract(
            from.clone(),
            token.clone(),
            &Cw20ExecuteMsg::Send {
                contract: contract.to_string(),
                amount: Uint128::new(amount),
                msg: to_json_binary(msg)?,
            },
            &[],
        )
    }

    /// AKASH balance of `addr`.
    pub fn balance(&self, addr: &Addr) -> u128 {
        self.balance_of(&self.token, addr)
    }

    pub fn balance_of(&self, token: &Addr, addr: &Addr) -> u128 {
        let res: BalanceResponse = self
            .app
            .wrap()
            .query_wasm_smart(
                token,
                &cw20::Cw20QueryMsg::Balance {
                    address: addr.to_string(),
                },
            )
            .expect("balance query");
        res.balance.u128()
    }

    pub fn total_supply(&self) -> u128 {
        let res: TokenInfoResponse = self
            .app
            .wrap()
            .query_wasm_smart(&self.token, &cw20::Cw20QueryMsg::TokenInfo {})
            .expect("token info query");
        res.total_supply.u128()
    }

    // ---- staking -------------------------------------------------------------------------

    pub fn stake(&mut self, provider: &Addr, amount: u128) -> AnyResult<AppResponse> {
        let (token, staking) = (self.token.clone(), self.staking.clone());
        self.send_cw20(
            &token,
            provider,
            &staking,
            amount,
            &staking::ReceiveMsg::Stake {},
        )
    }

    pub fn execute_staking(
        &mut self,
        sender: &Addr,
        msg: &staking::ExecuteMsg,
    ) -> AnyResult<AppResponse> {
        self.app
            .execute_contract(sender.clone(), self.staking.clone(), msg, &[])
    }

    pub fn unbond(&mut self, provider: &Addr, amount: u128) -> AnyResult<AppResponse> {
        self.execute_staking(
            provider,
            &staking::ExecuteMsg::Unbond {
                amount: Uint128::new(amount),
            },
        )
    }

    pub fn claim(&mut self, provider: &Addr) -> AnyResult<AppResponse> {
        self.execute_staking(provider, &staking::ExecuteMsg::Claim {})
    }

    /// Slash by `sender` (governance unless testing authorization).
    pub fn slash_as(
        &mut self,
        sender: &Addr,
        provider: &Addr,
        fraction: Decimal,
    ) -> AnyResult<AppResponse> {
        self.execute_staking(
            sender,
            &staking::ExecuteMsg::Slash {
                provider: provider.to_string(),
                fraction,
                reason: "failed to run lease".to_string(),
            },
        )
    }

    pub fn slash(&mut self, provider: &Addr, fraction: Decimal) -> AnyResult<AppResponse> {
        let governance = self.governance.clone();
        self.slash_as(&governance, provider, fraction)
    }

    pub fn stake_of(&self, addr: &Addr) -> u128 {
        let res: staking::StakeResponse = self
            .app
            .wrap()
            .query_wasm_smart(
                &self.staking,
                &staking::QueryMsg::Stake {
                    address: addr.to_string(),
                },
            )
            .expect("stake query");
        res.stake.u128()
    }

    pub fn claims(&self, addr: &Addr) -> Vec<Claim> {
        let res: staking::ClaimsResponse = self
            .app
            .wrap()
            .query_wasm_smart(
                &self.staking,
                &staking::QueryMsg::Claims {
                    address: addr.to_string(),
                },
            )
            .expect("claims query");
        res.claims
    }

    pub fn pending_claims_total(&self, addr: &Addr) -> u128 {
        self.claims(addr).iter().map(|c| c.amount.u128()).sum()
    }

    pub fn total_stake(&self) -> u128 {
        let res: staking::TotalStakeResponse = self
            .app
            .wrap()
            .query_wasm_smart(&self.staking, &staking::QueryMsg::TotalStake {})
            .expect("total stake query");
        res.total_stake.u128()
    }

    pub fn member_weight(&self, addr: &Addr, at_height: Option<u64>) -> Option<u64> {
        let res: cw4::MemberResponse = self
            .app
            .wrap()
            .query_wasm_smart(
                &self.staking,
                &staking::QueryMsg::Member {
                    addr: addr.to_string(),
                    at_height,
                },
            )
            .expect("member query");
        res.weight
    }

    pub fn total_weight(&self) -> u64 {
        let res: cw4::TotalWeightResponse = self
            .app
            .wrap()
            .query_wasm_smart(
                &self.staking,
                &staking::QueryMsg::TotalWeight { at_height: None },
            )
            .expect("total weight query");
        res.weight
    }

    /// Every cw4 member, walking all pages.
    pub fn all_members(&self) -> Vec<cw4::Member> {
        let mut members: Vec<cw4::Member> = Vec::new();
        loop {
            let res: cw4::MemberListResponse = self
                .app
                .wrap()
                .query_wasm_smart(
                    &self.staking,
                    &staking::QueryMsg::ListMembers {
                        start_after: members.last().map(|m| m.addr.clone()),
                        limit: Some(2),
                    },
                )
                .expect("list members query");
            if res.members.is_empty() {
                return members;
            }
            members.extend(res.members);
        }
    }

    // ---- registry ------------------------------------------------------------------------

    pub fn register_provider(
        &mut self,
        provider: &Addr,
        attributes: &[(&str, &str)],
    ) -> AnyResult<AppResponse> {
        self.app.execute_contract(
            provider.clone(),
            self.registry.clone(),
            &registry::ExecuteMsg::Register {
                host_uri: "https://provider.example.com:8443".to_string(),
                attributes: attrs(attributes),
                root_certificate_pem: CA_PEM.to_string(),
            },
            &[],
        )
    }

    pub fn execute_registry(
        &mut self,
        sender: &Addr,
        msg: &registry::ExecuteMsg,
    ) -> AnyResult<AppResponse> {
        self.app
            .execute_contract(sender.clone(), self.registry.clone(), msg, &[])
    }

    pub fn provider_info(&self, provider: &Addr) -> ProviderResponse {
        self.app
            .wrap()
            .query_wasm_smart(
                &self.registry,
                &registry::QueryMsg::Provider {
                    address: provider.to_string(),
                },
            )
            .expect("provider query")
    }

    pub fn reputation(&self, provider: &Addr) -> ReputationResponse {
        self.app
            .wrap()
            .query_wasm_smart(
                &self.registry,
                &registry::QueryMsg::Reputation {
                    address: provider.to_string(),
                },
            )
            .expect("reputation query")
    }

    /// Registers and stakes every provider of the suite with the same attributes and stake.
    pub fn onboard_providers(&mut self, attributes: &[(&str, &str)], stake: u128) {
        for provider in self.providers.clone() {
            self.register_provider(&provider, attributes)
                .expect("register provider");
            if stake > 0 {
                self.stake(&provider, stake).expect("stake");
            }
        }
    }

    // ---- market --------------------------------------------------------------------------

    /// Creates an order escrowing exactly max_price x duration; returns the new order id.
    pub fn create_order(&mut self, tenant: &Addr, spec: OrderSpec) -> AnyResult<u64> {
        let escrow = spec.max_price_per_second.u128() * u128::from(spec.lease_duration_secs);
        self.create_order_with_escrow(tenant, spec, escrow)
    }

    pub fn create_order_with_escrow(
        &mut self,
        tenant: &Addr,
        spec: OrderSpec,
        escrow: u128,
    ) -> AnyResult<u64> {
        let (token, market) = (self.token.clone(), self.market.clone());
        let res = self.send_cw20(
            &token,
            tenant,
            &market,
            escrow,
            &market::ReceiveMsg::CreateOrder(spec),
        )?;
        Ok(self.wasm_attribute(&res, "order_id"))
    }

    pub fn execute_market(
        &mut self,
        sender: &Addr,
        msg: &market::ExecuteMsg,
    ) -> AnyResult<AppResponse> {
        self.app
            .execute_contract(sender.clone(), self.market.clone(), msg, &[])
    }

    pub fn cancel_order(&mut self, sender: &Addr, order_id: u64) -> AnyResult<AppResponse> {
        self.execute_market(sender, &market::ExecuteMsg::CancelOrder { order_id })
    }

    /// Bids `price` per second offering exactly the order's resources.
    pub fn bid(&mut self, provider: &Addr, order_id: u64, price: u128) -> AnyResult<AppResponse> {
        let resources = self
            .try_order(order_id)
            .map(|o| o.spec.resources)
            .unwrap_or(DEFAULT_RESOURCES);
        self.bid_with_resources(provider, order_id, price, resources)
    }

    pub fn bid_with_resources(
        &mut self,
        provider: &Addr,
        order_id: u64,
        price: u128,
        resources: ResourceUnits,
    ) -> AnyResult<AppResponse> {
        self.execute_market(
            provider,
            &market::ExecuteMsg::PlaceBid {
                order_id,
                price_per_second: Uint128::new(price),
                resources,
            },
        )
    }

    pub fn withdraw_bid(&mut self, provider: &Addr, order_id: u64) -> AnyResult<AppResponse> {
        self.execute_market(provider, &market::ExecuteMsg::WithdrawBid { order_id })
    }

    /// Triggers the match of `order_id` as `sender`; returns the lease id when a lease opened.
    pub fn match_order(&mut self, sender: &Addr, order_id: u64) -> AnyResult<Option<u64>> {
        self.execute_market(sender, &market::ExecuteMsg::Match { order_id })?;
        Ok(self.order(order_id).lease_id)
    }

    pub fn withdraw(&mut self, sender: &Addr, lease_id: u64) -> AnyResult<AppResponse> {
        self.execute_market(sender, &market::ExecuteMsg::WithdrawEarnings { lease_id })
    }

    pub fn close_lease(&mut self, sender: &Addr, lease_id: u64) -> AnyResult<AppResponse> {
        self.execute_market(
            sender,
            &market::ExecuteMsg::CloseLease {
                lease_id,
                reason: Some("no longer needed".to_string()),
            },
        )
    }

    pub fn complete_lease(&mut self, sender: &Addr, lease_id: u64) -> AnyResult<AppResponse> {
        self.execute_market(sender, &market::ExecuteMsg::CompleteLease { lease_id })
    }

    pub fn update_manifest(
        &mut self,
        sender: &Addr,
        lease_id: u64,
        manifest_sha256: &str,
    ) -> AnyResult<AppResponse> {
        self.execute_market(
            sender,
            &market::ExecuteMsg::UpdateManifest {
                lease_id,
                manifest_sha256: manifest_sha256.to_string(),
            },
        )
    }

    pub fn deposit_lease(
        &mut self,
        sender: &Addr,
        lease_id: u64,
        amount: u128,
    ) -> AnyResult<AppResponse> {
        let (token, market) = (self.token.clone(), self.market.clone());
        self.send_cw20(
            &token,
            sender,
            &market,
            amount,
            &market::ReceiveMsg::DepositLease { lease_id },
        )
    }

    pub fn try_order(&self, order_id: u64) -> AnyResult<Order> {
        Ok(self
            .app
            .wrap()
            .query_wasm_smart(&self.market, &market::QueryMsg::Order { order_id })?)
    }

    pub fn order(&self, order_id: u64) -> Order {
        self.try_order(order_id).expect("order query")
    }

    pub fn try_lease(&self, lease_id: u64) -> AnyResult<Lease> {
        Ok(self
            .app
            .wrap()
            .query_wasm_smart(&self.market, &market::QueryMsg::Lease { lease_id })?)
    }

    pub fn lease(&self, lease_id: u64) -> Lease {
        self.try_lease(lease_id).expect("lease query")
    }

    pub fn lease_balance(&self, lease_id: u64) -> LeaseBalanceResponse {
        self.app
            .wrap()
            .query_wasm_smart(&self.market, &market::QueryMsg::LeaseBalance { lease_id })
            .expect("lease balance query")
    }

    pub fn try_bid_of(&self, order_id: u64, provider: &Addr) -> AnyResult<Bid> {
        Ok(self.app.wrap().query_wasm_smart(
            &self.market,
            &market::QueryMsg::Bid {
                order_id,
                provider: provider.to_string(),
            },
        )?)
    }

    /// Every live bid of an order, best first, walking all pages.
    pub fn bids(&self, order_id: u64) -> Vec<Bid> {
        let mut bids: Vec<Bid> = Vec::new();
        loop {
            let res: market::BidsResponse = self
                .app
                .wrap()
                .query_wasm_smart(
                    &self.market,
                    &market::QueryMsg::Bids {
                        order_id,
                        start_after: bids.last().map(|b| (b.price_per_second, b.sequence)),
                        limit: Some(2),
                    },
                )
                .expect("bids query");
            if res.bids.is_empty() {
                return bids;
            }
            bids.extend(res.bids);
        }
    }

    /// Every order, optionally only in `state`, walking all pages.
    pub fn orders(&self, state: Option<OrderState>) -> Vec<Order> {
        let mut orders: Vec<Order> = Vec::new();
        loop {
            let res: market::OrdersResponse = self
                .app
                .wrap()
                .query_wasm_smart(
                    &self.market,
                    &market::QueryMsg::Orders {
                        state,
                        start_after: orders.last().map(|o| o.id),
                        limit: Some(3),
                    },
                )
                .expect("orders query");
            if res.orders.is_empty() {
                return orders;
            }
            orders.extend(res.orders);
        }
    }

    /// Every lease of `tenant`, walking all pages.
    pub fn leases_by_tenant(&self, tenant: &Addr) -> Vec<Lease> {
        self.leases_paged(|start_after| market::QueryMsg::LeasesByTenant {
            tenant: tenant.to_string(),
            start_after,
            limit: Some(3),
        })
    }

    /// Every lease of `provider`, walking all pages.
    pub fn leases_by_provider(&self, provider: &Addr) -> Vec<Lease> {
        self.leases_paged(|start_after| market::QueryMsg::LeasesByProvider {
            provider: provider.to_string(),
            start_after,
            limit: Some(3),
        })
    }

    fn leases_paged(&self, query: impl Fn(Option<u64>) -> market::QueryMsg) -> Vec<Lease> {
        let mut leases: Vec<Lease> = Vec::new();
        loop {
            let res: market::LeasesResponse = self
                .app
                .wrap()
                .query_wasm_smart(&self.market, &query(leases.last().map(|l| l.id)))
                .expect("leases query");
            if res.leases.is_empty() {
                return leases;
            }
            leases.extend(res.leases);
        }
    }

    /// The value of attribute `key` in the wasm event that `contract` emitted in `res`.
    pub fn event_attribute<'a>(
        res: &'a AppResponse,
        contract: &Addr,
        key: &str,
    ) -> Option<&'a str> {
        res.events
            .iter()
            .filter(|e| e.ty == "wasm")
            .filter(|e| {
                e.attributes
                    .iter()
                    .any(|a| a.key == "_contract_address" && a.value == contract.as_str())
            })
            .flat_map(|e| e.attributes.iter())
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }

    /// The numeric attribute `key` of the market's wasm event in `res`.
    pub fn wasm_attribute(&self, res: &AppResponse, key: &str) -> u64 {
        Self::event_attribute(res, &self.market, key)
            .unwrap_or_else(|| panic!("no {key} attribute in market events: {:?}", res.events))
            .parse()
            .expect("numeric attribute")
    }
}
