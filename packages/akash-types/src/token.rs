//! The AKASH cw20 token. Execute and query messages are cw20-base's own
//! (`cw20_base::msg::{ExecuteMsg, QueryMsg}`); only instantiation is ours, fixing 6 decimals.

use cosmwasm_schema::cw_serde;
use cw20::{Cw20Coin, Logo, MinterResponse};

/// Decimals of AKASH: 1 AKASH = 1_000_000 base units (uakt).
pub const AKASH_DECIMALS: u8 = 6;

#[cw_serde]
pub struct InstantiateMsg {
    /// Human name, e.g. "Akash Token".
    pub name: String,
    /// Ticker, e.g. "AKASH" (3..=12 characters, cw20 rules).
    pub symbol: String,
    pub initial_balances: Vec<Cw20Coin>,
    /// Who may mint, and an optional supply cap.
    pub mint: Option<MinterResponse>,
    pub marketing: Option<MarketingInfo>,
}

/// Marketing metadata shown by wallets and explorers (cw20 marketing extension).
#[cw_serde]
pub struct MarketingInfo {
    pub project: Option<String>,
    pub description: Option<String>,
    /// May later update the marketing info.
    pub marketing: Option<String>,
    pub logo: Option<Logo>,
}
