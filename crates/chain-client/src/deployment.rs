//! The deployment file `scripts/deploy.sh` writes, and gas prices.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use cosmwasm_std::{Decimal, Uint128};
use serde::{Deserialize, Serialize};

use crate::chain::Contracts;
use crate::error::{ChainError, ChainResult};

/// Where the contracts of a chain are, and how to reach and pay that chain: the JSON written
/// by `scripts/deploy.sh`. Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub chain_id: String,
    /// CometBFT RPC, e.g. `http://127.0.0.1:26657`.
    pub rpc_url: String,
    /// Gas price with its denom, e.g. `0.025ustake`.
    pub gas_prices: String,
    pub contracts: Contracts,
    /// Key names of the localnet and their addresses (informational).
    #[serde(default)]
    pub accounts: BTreeMap<String, String>,
    #[serde(default)]
    pub code_ids: BTreeMap<String, u64>,
}

impl Deployment {
    pub fn load(path: impl AsRef<Path>) -> ChainResult<Self> {
        let path = path.as_ref();
        let text = std::fs::read(path)
            .map_err(|e| ChainError::Config(format!("reading {}: {e}", path.display())))?;
        serde_json::from_slice(&text)
            .map_err(|e| ChainError::Config(format!("parsing {}: {e}", path.display())))
    }

    pub fn gas_price(&self) -> ChainResult<GasPrice> {
        self.gas_prices.parse()
    }
}

/// A gas price: `amount` of `denom` per unit of gas, e.g. `0.025ustake`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GasPrice {
    pub amount: Decimal,
    pub denom: String,
}

impl GasPrice {
    /// Fee for `gas` units, rounded up.
    pub fn fee_for(&self, gas: u64) -> Uint128 {
        Uint128::from(gas).mul_ceil(self.amount)
    }
}

impl FromStr for GasPrice {
    type Err = ChainError;

    fn from_str(s: &str) -> ChainResult<Self> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| ChainError::Config(format!("gas price {s:?} has no denom")))?;
        let (amount, denom) = s.split_at(split);
        let amount = Decimal::from_str(amount)
            .map_err(|e| ChainError::Config(format!("gas price {s:?}: {e}")))?;
        let valid_denom = denom.len() >= 3
            && denom.starts_with(|c: char| c.is_ascii_alphabetic())
            && denom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "/:._-".contains(c));
        if !valid_denom {
            return Err(ChainError::Config(format!(
                "gas price {s:?}: bad denom {denom:?}"
            )));
        }
        Ok(GasPrice {
            amount,
            denom: denom.to_string(),
        })
    }
}

impl fmt::Display for GasPrice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.amount, self.denom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gas_price_parses_and_rounds_fees_up() {
        let price: GasPrice = "0.025ustake".parse().unwrap();
        assert_eq!(price.denom, "ustake");
        assert_eq!(price.to_string(), "0.025ustake");
        assert_eq!(price.fee_for(200_000), Uint128::new(5_000));
        assert_eq!(price.fee_for(200_001), Uint128::new(5_001));
        assert!("0.025".parse::<GasPrice>().is_err());
        assert!("ustake".parse::<GasPrice>().is_err());
        assert!("1.5u".parse::<GasPrice>().is_err());
    }

    #[test]
    fn deployment_reads_the_deploy_script_output() {
        let json = r#"{
          "chain_id": "akash-localnet", "node": "tcp://127.0.0.1:26657",
          "rpc_url": "http://127.0.0.1:26657", "grpc_url": "http://127.0.0.1:39090",
          "fee_denom": "ustake", "gas_prices": "0.025ustake",
          "code_ids": {"token": 1, "staking": 2, "registry": 3, "market": 4},
          "contracts": {"token": "wasm1t", "staking": "wasm1s", "registry": "wasm1r", "market": "wasm1m"},
          "accounts": {"tenant": "wasm1x"},
          "artifact_checksums": ""
        }"#;
        let dir = std::env::temp_dir().join(format!("akash-chain-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("deployment.json");
        std::fs::write(&path, json).unwrap();
        let deployment = Deployment::load(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(deployment.chain_id, "akash-localnet");
        assert_eq!(deployment.contracts.market, "wasm1m");
        assert_eq!(deployment.accounts["tenant"], "wasm1x");
        assert_eq!(deployment.code_ids["market"], 4);
        assert_eq!(deployment.gas_price().unwrap().denom, "ustake");
        assert!(matches!(
            Deployment::load(dir.join("missing.json")),
            Err(ChainError::Config(_))
        ));
    }
}
