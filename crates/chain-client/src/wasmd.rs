//! [`MarketChain`] on a real wasmd node, over CometBFT RPC (cosmrs + tendermint-rpc).
//!
//! - Signing: a secp256k1 key from a BIP39 mnemonic (path `m/44'/118'/0'/0/0`) or a raw
//!   private key; addresses with the configured bech32 prefix (`wasm`).
//! - Transactions: account number and sequence from the auth module, gas by simulation ×
//!   [`WasmdConfig::gas_adjustment`], fee at the configured gas price, `broadcast_tx_sync`,
//!   then `/tx` by hash until the transaction is in a block. A sequence mismatch re-reads
//!   the account and retries ([`WasmdConfig::sequence_retries`] times). Transactions of one
//!   handle are sent one at a time.
//! - Queries: `abci_query` of `/cosmwasm.wasm.v1.Query/SmartContractState`.
//! - Events: a task polls `/status` for the latest height and reads `block_results` of every
//!   height from the requested one on, keeping the `wasm` events whose `_contract_address`
//!   is the market. An unreachable node is reported on the stream and retried from the same
//!   height, so blocks produced during an outage are backfilled.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bip32::{DerivationPath, Language, Mnemonic};
use cosmrs::cosmwasm::MsgExecuteContract;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::proto::cosmos::auth::v1beta1::{
    BaseAccount, QueryAccountRequest, QueryAccountResponse,
};
use cosmrs::proto::cosmos::tx::v1beta1::{SimulateRequest, SimulateResponse};
use cosmrs::proto::cosmwasm::wasm::v1::{
    QuerySmartContractStateRequest, QuerySmartContractStateResponse,
};
use cosmrs::proto::prost::Message;
use cosmrs::tendermint::abci::{Code, Event};
use cosmrs::tendermint::chain;
use cosmrs::tx::{self, Fee, SignDoc, SignerInfo};
use cosmrs::{AccountId, Any, Coin};
use cosmwasm_std::Timestamp;
use sha2::{Digest, Sha256};
use tendermint_rpc::client::CompatMode;
use tendermint_rpc::{Client, HttpClient, HttpClientUrl};
use tokio::sync::{mpsc, Mutex};

use crate::chain::{Contracts, MarketChain, TxOutcome};
use crate::deployment::{Deployment, GasPrice};
use crate::error::{ChainError, ChainResult, SDK_ERR_WRONG_SEQUENCE};
use crate::events::{MarketEvent, MarketEventStream, WasmEvent, EVENT_BUFFER};

/// Cosmos HD path of the first account (coin type 118).
pub const DEFAULT_DERIVATION_PATH: &str = "m/44'/118'/0'/0/0";

const SMART_QUERY_PATH: &str = "/cosmwasm.wasm.v1.Query/SmartContractState";
const ACCOUNT_QUERY_PATH: &str = "/cosmos.auth.v1beta1.Query/Account";
const SIMULATE_PATH: &str = "/cosmos.tx.v1beta1.Service/Simulate";
const BASE_ACCOUNT_TYPE_URL: &str = "/cosmos.auth.v1beta1.BaseAccount";

/// How to reach, pay and address a wasmd chain.
#[derive(Debug, Clone)]
pub struct WasmdConfig {
    /// CometBFT RPC, e.g. `http://127.0.0.1:26657`.
    pub rpc_url: String,
    pub chain_id: String,
    pub gas_price: GasPrice,
    pub contracts: Contracts,
    /// Bech32 prefix of account addresses.
    pub account_prefix: String,
    /// Gas limit = simulated gas × this.
    pub gas_adjustment: f64,
    /// How long to wait for a broadcast transaction to be in a block.
    pub tx_timeout: Duration,
    /// Interval between polls: of `/tx` while waiting for inclusion, of `/status` for new
    /// blocks while streaming events.
    pub poll_interval: Duration,
    /// Retries of a transaction refused for a wrong sequence (after re-reading the account).
    pub sequence_retries: u32,
    /// Longest wait between two attempts while the node is unreachable.
    pub max_backoff: Duration,
}

impl WasmdConfig {
    /// Defaults for everything but the chain's own settings.
    pub fn new(
        rpc_url: impl Into<String>,
        chain_id: impl Into<String>,
        gas_price: GasPrice,
        contracts: Contracts,
    ) -> Self {
        WasmdConfig {
            rpc_url: rpc_url.into(),
            chain_id: chain_id.into(),
            gas_price,
            contracts,
            account_prefix: "wasm".to_string(),
            gas_adjustment: 1.4,
            tx_timeout: Duration::from_secs(30),
            poll_interval: Duration::from_millis(250),
            sequence_retries: 1,
            max_backoff: Duration::from_secs(5),
        }
    }

    /// Settings from a deployment file written by `scripts/deploy.sh`.
    pub fn from_deployment(deployment: &Deployment) -> ChainResult<Self> {
        Ok(Self::new(
            deployment.rpc_url.clone(),
            deployment.chain_id.clone(),
            deployment.gas_price()?,
            deployment.contracts.clone(),
        ))
    }
}

/// A secp256k1 signing key. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct WasmdKey(Arc<SigningKey>);

impl WasmdKey {
    /// From a BIP39 mnemonic (English), at [`DEFAULT_DERIVATION_PATH`], no passphrase.
    pub fn from_mnemonic(phrase: &str) -> ChainResult<Self> {
        Self::from_mnemonic_at(phrase, DEFAULT_DERIVATION_PATH)
    }

    pub fn from_mnemonic_at(phrase: &str, path: &str) -> ChainResult<Self> {
        let phrase = phrase.split_whitespace().collect::<Vec<_>>().join(" ");
        let mnemonic = Mnemonic::new(phrase, Language::English)
            .map_err(|e| ChainError::Key(format!("mnemonic: {e}")))?;
        let path: DerivationPath = path
            .parse()
            .map_err(|e| ChainError::Key(format!("derivation path {path:?}: {e}")))?;
        let key = SigningKey::derive_from_path(mnemonic.to_seed(""), &path)
            .map_err(|e| ChainError::Key(format!("derivation: {e}")))?;
        Ok(WasmdKey(Arc::new(key)))
    }

    /// From a raw private key in hex (what `wasmd keys export NAME --unarmored-hex --unsafe`
    /// prints).
    pub fn from_hex(hex_key: &str) -> ChainResult<Self> {
        let bytes = hex::decode(hex_key.trim())
            .map_err(|e| ChainError::Key(format!("private key hex: {e}")))?;
        let key = SigningKey::from_slice(&bytes)
            .map_err(|e| ChainError::Key(format!("private key: {e}")))?;
        Ok(WasmdKey(Arc::new(key)))
    }

    /// Bech32 address of the key with `prefix`.
    pub fn address(&self, prefix: &str) -> ChainResult<String> {
        Ok(self.account_id(prefix)?.to_string())
    }

    fn account_id(&self, prefix: &str) -> ChainResult<AccountId> {
        self.0
            .public_key()
            .account_id(prefix)
            .map_err(|e| ChainError::Key(format!("address with prefix {prefix:?}: {e}")))
    }
}

impl std::fmt::Debug for WasmdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WasmdKey(..)")
    }
}

#[derive(Debug, Clone, Copy)]
struct AccountState {
    number: u64,
    sequence: u64,
}

/// One account on a wasmd chain.
pub struct WasmdChain {
    client: HttpClient,
    config: Arc<WasmdConfig>,
    chain_id: chain::Id,
    key: WasmdKey,
    account_id: AccountId,
    address: String,
    /// Account number and next sequence; `None` until read (or after an error). The lock
    /// also sends this handle's transactions one at a time.
    account: Mutex<Option<AccountState>>,
}

impl std::fmt::Debug for WasmdChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmdChain")
            .field("rpc_url", &self.config.rpc_url)
            .field("chain_id", &self.config.chain_id)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

fn rpc_error(e: tendermint_rpc::Error) -> ChainError {
    use tendermint_rpc::error::ErrorDetail;
    match e.detail() {
        // The node's own answer, e.g. "Internal error: height 9 must be less than or equal to
        // the current blockchain height 8 (code: -32603)".
        ErrorDetail::Response(sub) => ChainError::Rpc(sub.source.to_string()),
        _ => ChainError::Rpc(format!("{:#}", e.trace())),
    }
}

/// A refusal by the chain: a contract error when a contract refused, else `TxRejected`.
fn refusal(code: u32, codespace: &str, log: &str) -> ChainError {
    if log.contains("wasm contract failed") {
        ChainError::contract(log)
    } else {
        ChainError::TxRejected {
            code,
            codespace: codespace.to_string(),
            log: log.to_string(),
        }
    }
}

fn is_sequence_mismatch(err: &ChainError) -> bool {
    match err {
        ChainError::TxRejected { code, log, .. } => {
            *code == SDK_ERR_WRONG_SEQUENCE || log.contains("account sequence mismatch")
        }
        _ => false,
    }
}

/// `X` in "account sequence mismatch, expected X, got Y".
fn expected_sequence(log: &str) -> Option<u64> {
    let rest = &log[log.find("expected ")? + "expected ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn wasm_events(events: &[Event]) -> Vec<WasmEvent> {
    events
        .iter()
        .filter(|e| e.kind == "wasm")
        .filter_map(|e| {
            WasmEvent::from_attributes(e.attributes.iter().filter_map(|a| {
                Some((
                    a.key_str().ok()?.to_string(),
                    a.value_str().ok()?.to_string(),
                ))
            }))
        })
        .collect()
}

fn tx_hash_of(tx: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(tx))
}

impl WasmdChain {
    /// Connects to the node and checks that it serves `config.chain_id`.
    pub async fn connect(config: WasmdConfig, key: WasmdKey) -> ChainResult<Self> {
        let url: HttpClientUrl = config
            .rpc_url
            .parse()
            .map_err(|e| ChainError::Config(format!("rpc url {:?}: {e}", config.rpc_url)))?;
        let client = HttpClient::builder(url)
            .compat_mode(CompatMode::V0_38)
            .build()
            .map_err(rpc_error)?;
        let chain_id: chain::Id = config
            .chain_id
            .parse()
            .map_err(|e| ChainError::Config(format!("chain id {:?}: {e}", config.chain_id)))?;
        let status = client.status().await.map_err(rpc_error)?;
        if status.node_info.network != chain_id {
            return Err(ChainError::Config(format!(
                "{} serves chain {}, not {}",
                config.rpc_url, status.node_info.network, chain_id
            )));
        }
        Self::with_client(client, Arc::new(config), chain_id, key)
    }

    /// Connects with the settings of a deployment file.
    pub async fn from_deployment(deployment: &Deployment, key: WasmdKey) -> ChainResult<Self> {
        Self::connect(WasmdConfig::from_deployment(deployment)?, key).await
    }

    /// Another account on the same node and contracts (shares the HTTP client).
    pub fn with_key(&self, key: WasmdKey) -> ChainResult<Self> {
        Self::with_client(
            self.client.clone(),
            Arc::clone(&self.config),
            self.chain_id.clone(),
            key,
        )
    }

    fn with_client(
        client: HttpClient,
        config: Arc<WasmdConfig>,
        chain_id: chain::Id,
        key: WasmdKey,
    ) -> ChainResult<Self> {
        let account_id = key.account_id(&config.account_prefix)?;
        Ok(WasmdChain {
            client,
            chain_id,
            address: account_id.to_string(),
            account_id,
            key,
            config,
            account: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &WasmdConfig {
        &self.config
    }

    async fn abci_query(&self, path: &str, data: Vec<u8>) -> ChainResult<Vec<u8>> {
        let res = self
            .client
            .abci_query(Some(path.to_string()), data, None, false)
            .await
            .map_err(rpc_error)?;
        if res.code.is_err() {
            return Err(refusal(res.code.value(), &res.codespace, &res.log));
        }
        Ok(res.value)
    }

    async fn fetch_account(&self) -> ChainResult<AccountState> {
        let request = QueryAccountRequest {
            address: self.address.clone(),
        };
        let answer = self
            .abci_query(ACCOUNT_QUERY_PATH, request.encode_to_vec())
            .await?;
        let account = QueryAccountResponse::decode(answer.as_slice())
            .map_err(|e| ChainError::Decode(format!("account response: {e}")))?
            .account
            .ok_or_else(|| ChainError::Decode(format!("no account {}", self.address)))?;
        if account.type_url != BASE_ACCOUNT_TYPE_URL {
            return Err(ChainError::Decode(format!(
                "account {} is a {}, not a base account",
                self.address, account.type_url
            )));
        }
        let base = BaseAccount::decode(account.value.as_slice())
            .map_err(|e| ChainError::Decode(format!("base account: {e}")))?;
        Ok(AccountState {
            number: base.account_number,
            sequence: base.sequence,
        })
    }

    fn sign(&self, body: &tx::Body, account: AccountState, fee: Fee) -> ChainResult<Vec<u8>> {
        let auth_info = SignerInfo::single_direct(Some(self.key.0.public_key()), account.sequence)
            .auth_info(fee);
        let sign_doc = SignDoc::new(body, &auth_info, &self.chain_id, account.number)
            .map_err(|e| ChainError::InvalidRequest(format!("sign doc: {e}")))?;
        sign_doc
            .sign(&self.key.0)
            .and_then(|raw| raw.to_bytes())
            .map_err(|e| ChainError::Key(format!("signing: {e}")))
    }

    /// Gas the transaction uses, by simulation.
    async fn simulate(&self, body: &tx::Body, account: AccountState) -> ChainResult<u64> {
        let fee = Fee::from_amount_and_gas(self.fee_coin(0)?, 0u64);
        let tx_bytes = self.sign(body, account, fee)?;
        #[allow(deprecated)]
        let request = SimulateRequest { tx: None, tx_bytes };
        let answer = self
            .abci_query(SIMULATE_PATH, request.encode_to_vec())
            .await?;
        let response = SimulateResponse::decode(answer.as_slice())
            .map_err(|e| ChainError::Decode(format!("simulate response: {e}")))?;
        response
            .gas_info
            .map(|g| g.gas_used)
            .ok_or_else(|| ChainError::Decode("simulate response without gas_info".into()))
    }

    fn fee_coin(&self, gas_limit: u64) -> ChainResult<Coin> {
        let amount = self.config.gas_price.fee_for(gas_limit).u128();
        Coin::new(amount, &self.config.gas_price.denom)
            .map_err(|e| ChainError::Config(format!("fee denom: {e}")))
    }

    /// Simulates, signs, broadcasts one message and waits for its block.
    async fn send(&self, message: Any) -> ChainResult<TxOutcome> {
        let mut cached = self.account.lock().await;
        let mut retries_left = self.config.sequence_retries;
        loop {
            let result = self.send_once(&mut cached, message.clone()).await;
            match result {
                Err(err) if is_sequence_mismatch(&err) && retries_left > 0 => {
                    retries_left -= 1;
                    // The node says which sequence it expects (its check state counts the
                    // transactions in the mempool, which the account query does not); without
                    // that, read the account again.
                    *cached = match (&err, *cached) {
                        (ChainError::TxRejected { log, .. }, Some(account)) => {
                            expected_sequence(log).map(|sequence| AccountState {
                                sequence,
                                ..account
                            })
                        }
                        _ => None,
                    };
                }
                Err(err) => {
                    // The sequence may have moved: read it again next time, unless the
                    // transaction is in the mempool or a block (it consumed its sequence).
                    if !matches!(
                        err,
                        ChainError::TxTimeout { .. } | ChainError::Contract { .. }
                    ) {
                        *cached = None;
                    }
                    return Err(err);
                }
                Ok(outcome) => return Ok(outcome),
            }
        }
    }

    async fn send_once(
        &self,
        cached: &mut Option<AccountState>,
        message: Any,
    ) -> ChainResult<TxOutcome> {
        let account = match *cached {
            Some(account) => account,
            None => {
                let account = self.fetch_account().await?;
                *cached = Some(account);
                account
            }
        };
        let body = tx::Body::new(vec![message], "", 0u32);
        let gas_used = self.simulate(&body, account).await?;
        let gas_limit = ((gas_used as f64) * self.config.gas_adjustment).ceil() as u64;
        let fee = Fee::from_amount_and_gas(self.fee_coin(gas_limit)?, gas_limit);
        let tx_bytes = self.sign(&body, account, fee)?;
        let tx_hash = tx_hash_of(&tx_bytes);

        let checked = self
            .client
            .broadcast_tx_sync(tx_bytes)
            .await
            .map_err(rpc_error)?;
        if checked.code.is_err() {
            return Err(refusal(
                checked.code.value(),
                &checked.codespace,
                &checked.log,
            ));
        }
        // Passed CheckTx: the sequence is used whatever happens in the block.
        *cached = Some(AccountState {
            sequence: account.sequence + 1,
            ..account
        });
        self.wait_for_tx(checked.hash, tx_hash).await
    }

    async fn wait_for_tx(
        &self,
        hash: cosmrs::tendermint::Hash,
        tx_hash: String,
    ) -> ChainResult<TxOutcome> {
        let started = tokio::time::Instant::now();
        loop {
            if let Ok(found) = self.client.tx(hash, false).await {
                let result = found.tx_result;
                if result.code.is_err() {
                    return Err(refusal(result.code.value(), &result.codespace, &result.log));
                }
                return Ok(TxOutcome {
                    height: found.height.value(),
                    tx_hash,
                    gas_wanted: u64::try_from(result.gas_wanted).unwrap_or(0),
                    gas_used: u64::try_from(result.gas_used).unwrap_or(0),
                    events: wasm_events(&result.events),
                });
            }
            if started.elapsed() >= self.config.tx_timeout {
                return Err(ChainError::TxTimeout {
                    tx_hash,
                    waited_secs: self.config.tx_timeout.as_secs(),
                });
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
    }
}

#[async_trait]
impl MarketChain for WasmdChain {
    fn address(&self) -> &str {
        &self.address
    }

    fn chain_id(&self) -> &str {
        &self.config.chain_id
    }

    fn contracts(&self) -> &Contracts {
        &self.config.contracts
    }

    async fn height(&self) -> ChainResult<u64> {
        let status = self.client.status().await.map_err(rpc_error)?;
        Ok(status.sync_info.latest_block_height.value())
    }

    async fn block_time(&self) -> ChainResult<Timestamp> {
        let status = self.client.status().await.map_err(rpc_error)?;
        let nanos = status.sync_info.latest_block_time.unix_timestamp_nanos();
        Ok(Timestamp::from_nanos(u64::try_from(nanos).unwrap_or(0)))
    }

    async fn query_smart(&self, contract: &str, msg: Vec<u8>) -> ChainResult<Vec<u8>> {
        let request = QuerySmartContractStateRequest {
            address: contract.to_string(),
            query_data: msg,
        };
        let answer = self
            .abci_query(SMART_QUERY_PATH, request.encode_to_vec())
            .await?;
        let response = QuerySmartContractStateResponse::decode(answer.as_slice())
            .map_err(|e| ChainError::Decode(format!("smart query response: {e}")))?;
        Ok(response.data)
    }

    async fn execute(&self, contract: &str, msg: Vec<u8>) -> ChainResult<TxOutcome> {
        let contract: AccountId = contract
            .parse()
            .map_err(|e| ChainError::InvalidRequest(format!("contract {contract:?}: {e}")))?;
        let message = MsgExecuteContract {
            sender: self.account_id.clone(),
            contract,
            msg,
            funds: vec![],
        };
        let any = cosmrs::tx::Msg::to_any(&message)
            .map_err(|e| ChainError::InvalidRequest(format!("encoding the message: {e}")))?;
        self.send(any).await
    }

    async fn subscribe_market_events(&self, from_height: u64) -> ChainResult<MarketEventStream> {
        let poller = EventPoller {
            client: self.client.clone(),
            market: self.config.contracts.market.clone(),
            poll_interval: self.config.poll_interval,
            max_backoff: self.config.max_backoff,
        };
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let task = tokio::spawn(poller.run(from_height, tx));
        Ok(MarketEventStream::new(rx, task.abort_handle()))
    }
}

/// Reads the market's events block by block.
struct EventPoller {
    client: HttpClient,
    market: String,
    poll_interval: Duration,
    max_backoff: Duration,
}

type EventSender = mpsc::Sender<ChainResult<MarketEvent>>;

impl EventPoller {
    async fn run(self, from_height: u64, tx: EventSender) {
        let mut next = from_height.max(1);
        let mut backoff = self.poll_interval;
        let mut reported = false;
        loop {
            match self.catch_up(&mut next, &tx).await {
                Ok(true) => {
                    backoff = self.poll_interval;
                    reported = false;
                    tokio::time::sleep(self.poll_interval).await;
                }
                Ok(false) => return, // the subscriber is gone
                Err(err) => {
                    // Report an outage once; keep retrying from the same height.
                    if !reported && tx.send(Err(err)).await.is_err() {
                        return;
                    }
                    reported = true;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
    }

    /// Delivers the events of every block from `next` to the latest; `Ok(false)` when the
    /// subscriber has gone.
    async fn catch_up(&self, next: &mut u64, tx: &EventSender) -> ChainResult<bool> {
        let status = self.client.status().await.map_err(rpc_error)?;
        let latest = status.sync_info.latest_block_height.value();
        // Heights below the earliest one the node keeps cannot be read (pruned or state
        // synced); start there.
        *next = (*next).max(status.sync_info.earliest_block_height.value().max(1));
        while *next <= latest {
            let events = match self.block_events(*next).await {
                Ok(events) => events,
                // The block store runs ahead of the execution results: the newest block's
                // results may not be saved yet ("could not find results for height"). Not an
                // outage: read it on the next poll.
                Err(_) if *next == latest => break,
                Err(err) => return Err(err),
            };
            for event in events {
                if tx.send(Ok(event)).await.is_err() {
                    return Ok(false);
                }
            }
            *next += 1;
        }
        Ok(!tx.is_closed())
    }

    async fn block_events(&self, height: u64) -> ChainResult<Vec<MarketEvent>> {
        let results = self
            .client
            .block_results(height_of(height)?)
            .await
            .map_err(rpc_error)?;
        let mut events = Vec::new();
        let mut hashes: Option<Vec<String>> = None;
        for (index, result) in results.txs_results.iter().flatten().enumerate() {
            if result.code != Code::Ok {
                continue;
            }
            let market_events: Vec<WasmEvent> = wasm_events(&result.events)
                .into_iter()
                .filter(|e| e.contract == self.market)
                .collect();
            if market_events.is_empty() {
                continue;
            }
            // Transaction hashes are not in block_results: read the block once when needed.
            if hashes.is_none() {
                let block = self
                    .client
                    .block(height_of(height)?)
                    .await
                    .map_err(rpc_error)?;
                hashes = Some(block.block.data.iter().map(|tx| tx_hash_of(tx)).collect());
            }
            let tx_hash = hashes
                .as_ref()
                .and_then(|h| h.get(index))
                .cloned()
                .unwrap_or_default();
            events.extend(
                market_events
                    .iter()
                    .filter_map(|e| e.to_market_event(height, &tx_hash)),
            );
        }
        Ok(events)
    }
}

fn height_of(height: u64) -> ChainResult<cosmrs::tendermint::block::Height> {
    height
        .try_into()
        .map_err(|e| ChainError::InvalidRequest(format!("height {height}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The localnet's key "tenant" (scripts/localnet.sh derives it from a fixed phrase; public
    // test material, never used outside the localnet).
    const TENANT_MNEMONIC: &str = "invite illness caution sister police truly laugh put nurse \
        tragic swear cousin lonely help pretty margin seed cherry debate cram search entry \
        dinosaur jacket";

    #[test]
    fn mnemonic_derives_the_cosmos_address() {
        let key = WasmdKey::from_mnemonic(TENANT_MNEMONIC).unwrap();
        assert_eq!(
            key.address("wasm").unwrap(),
            "wasm1quyynap5nwhuwz8cd58mfecz2j40azc50de3ue"
        );
        assert_eq!(format!("{key:?}"), "WasmdKey(..)");
        assert!(WasmdKey::from_mnemonic("not a mnemonic").is_err());
    }

    #[test]
    fn raw_hex_key_gives_the_same_address_as_its_mnemonic() {
        let seed = Mnemonic::new(
            TENANT_MNEMONIC
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            Language::English,
        )
        .unwrap()
        .to_seed("");
        let path: DerivationPath = DEFAULT_DERIVATION_PATH.parse().unwrap();
        let private = bip32::XPrv::derive_from_path(seed, &path)
            .unwrap()
            .to_bytes();
        let key = WasmdKey::from_hex(&hex::encode(private)).unwrap();
        assert_eq!(
            key.address("wasm").unwrap(),
            "wasm1quyynap5nwhuwz8cd58mfecz2j40azc50de3ue"
        );
        assert!(WasmdKey::from_hex("zz").is_err());
        assert!(
            WasmdKey::from_hex(&"00".repeat(32)).is_err(),
            "zero is no key"
        );
    }

    #[tokio::test]
    async fn unreachable_node_is_an_rpc_error_with_its_cause() {
        let config = WasmdConfig::new(
            "http://127.0.0.1:9",
            "akash-localnet",
            "0.025ustake".parse().unwrap(),
            Contracts {
                token: String::new(),
                staking: String::new(),
                registry: String::new(),
                market: String::new(),
            },
        );
        let key = WasmdKey::from_mnemonic(TENANT_MNEMONIC).unwrap();
        let err = WasmdChain::connect(config, key).await.unwrap_err();
        assert!(matches!(err, ChainError::Rpc(_)), "{err:?}");
        eprintln!("{err}");
        assert!(err.is_transient());
    }

    #[test]
    fn refusals_tell_contract_errors_from_chain_errors() {
        let err = refusal(
            5,
            "wasm",
            "failed to execute message; message index: 0: order 9 not found: execute wasm \
             contract failed",
        );
        assert_eq!(err.contract_message(), Some("order 9 not found"));
        let err = refusal(
            32,
            "sdk",
            "account sequence mismatch, expected 7, got 6: incorrect account sequence",
        );
        assert!(is_sequence_mismatch(&err));
        let ChainError::TxRejected { log, .. } = &err else {
            unreachable!()
        };
        assert_eq!(expected_sequence(log), Some(7));
        assert_eq!(expected_sequence("insufficient fee"), None);
        assert!(err.is_transient());
        assert!(!is_sequence_mismatch(&refusal(
            13,
            "sdk",
            "insufficient fee"
        )));
    }
}
