//! Connecting to a wasmd chain as the tenant: contracts and node from the deployment JSON
//! written by `scripts/deploy.sh` (or flags), the key from a local key file.

use std::path::PathBuf;
use std::sync::Arc;

use akash_chain_client::wasmd::{WasmdChain, WasmdConfig, WasmdKey};
use akash_chain_client::{Contracts, Deployment, GasPrice, MarketChain};
use anyhow::{bail, Context, Result};
use clap::Args;

use crate::keys::TenantKey;

/// The chain to talk to and the key to act with.
#[derive(Debug, Clone, Args)]
pub struct ChainArgs {
    /// Deployment JSON written by scripts/deploy.sh (contracts, RPC URL, chain id, gas price).
    /// Default: $AKASH_LOCALNET_HOME/deployment.json, else ~/.cache/akash-localnet/deployment.json.
    #[arg(long, global = true, env = "AKASH_DEPLOYMENT", value_name = "FILE")]
    pub deployment: Option<PathBuf>,
    /// The tenant's key: a file holding a hex private key or a BIP39 mnemonic.
    #[arg(long, global = true, env = "AKASH_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// CometBFT RPC URL (overrides the deployment's).
    #[arg(long, global = true, value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Chain id (overrides the deployment's).
    #[arg(long, global = true)]
    pub chain_id: Option<String>,
    /// Gas price with its denom, e.g. 0.025ustake (overrides the deployment's).
    #[arg(long, global = true, value_name = "PRICE")]
    pub gas_prices: Option<String>,
    /// Address of the token contract (overrides the deployment's).
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub token_contract: Option<String>,
    /// Address of the staking contract (overrides the deployment's).
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub staking_contract: Option<String>,
    /// Address of the registry contract (overrides the deployment's).
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub registry_contract: Option<String>,
    /// Address of the market contract (overrides the deployment's).
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub market_contract: Option<String>,
    /// Bech32 prefix of account addresses.
    #[arg(long, global = true, default_value = "wasm", value_name = "PREFIX")]
    pub address_prefix: String,
}

/// The default deployment file of the localnet.
pub fn default_deployment_path() -> PathBuf {
    if let Some(home) = std::env::var_os("AKASH_LOCALNET_HOME") {
        return PathBuf::from(home).join("deployment.json");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".cache/akash-localnet/deployment.json")
}

/// A chain handle acting as the tenant, and the tenant's key.
pub struct Session {
    pub chain: Arc<dyn MarketChain>,
    pub key: TenantKey,
}

impl ChainArgs {
    fn all_overrides(&self) -> Option<(String, String, String, Contracts)> {
        Some((
            self.rpc_url.clone()?,
            self.chain_id.clone()?,
            self.gas_prices.clone()?,
            Contracts {
                token: self.token_contract.clone()?,
                staking: self.staking_contract.clone()?,
                registry: self.registry_contract.clone()?,
                market: self.market_contract.clone()?,
            },
        ))
    }

    /// The wasmd settings: the deployment file, with each flag given replacing its value.
    /// Without a deployment file every flag is needed.
    pub fn wasmd_config(&self) -> Result<WasmdConfig> {
        let explicit = self.deployment.is_some();
        let path = self
            .deployment
            .clone()
            .unwrap_or_else(default_deployment_path);
        let mut config = if !explicit && !path.exists() {
            let Some((rpc, chain_id, gas, contracts)) = self.all_overrides() else {
                bail!(
                    "no deployment file at {} (scripts/deploy.sh writes it): pass --deployment \
                     FILE, or all of --rpc-url, --chain-id, --gas-prices and the four \
                     --*-contract addresses",
                    path.display()
                );
            };
            WasmdConfig::new(rpc, chain_id, gas.parse::<GasPrice>()?, contracts)
        } else {
            let deployment = Deployment::load(&path)?;
            WasmdConfig::from_deployment(&deployment)?
        };
        if let Some(rpc) = &self.rpc_url {
            config.rpc_url = rpc.clone();
        }
        if let Some(chain_id) = &self.chain_id {
            config.chain_id = chain_id.clone();
        }
        if let Some(gas) = &self.gas_prices {
            config.gas_price = gas.parse()?;
        }
        let contracts = &mut config.contracts;
        for (flag, field) in [
            (&self.token_contract, &mut contracts.token),
            (&self.staking_contract, &mut contracts.staking),
            (&self.registry_contract, &mut contracts.registry),
            (&self.market_contract, &mut contracts.market),
        ] {
            if let Some(address) = flag {
                *field = address.clone();
            }
        }
        config.account_prefix = self.address_prefix.clone();
        Ok(config)
    }

    pub fn key(&self) -> Result<TenantKey> {
        let Some(path) = &self.key_file else {
            bail!(
                "no key: pass --key-file FILE (or set AKASH_KEY_FILE), a file holding the \
                 tenant's hex private key or BIP39 mnemonic"
            );
        };
        TenantKey::from_file(path)
    }

    /// Connects to the wasmd chain as the key's account.
    pub async fn connect(&self) -> Result<Session> {
        let key = self.key()?;
        let config = self.wasmd_config()?;
        let rpc = config.rpc_url.clone();
        let wasmd_key = WasmdKey::from_hex(&key.secret_hex())?;
        let chain = WasmdChain::connect(config, wasmd_key)
            .await
            .with_context(|| format!("connecting to the chain at {rpc}"))?;
        Ok(Session {
            chain: Arc::new(chain),
            key,
        })
    }
}
