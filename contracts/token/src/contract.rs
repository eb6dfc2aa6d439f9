//! Entry points. Execute, query and migrate delegate to cw20-base unchanged.

use akash_types::token::{InstantiateMsg, AKASH_DECIMALS};
#[cfg(not(feature = "library"))]
use cosmwasm_std::entry_point;
use cosmwasm_std::{Binary, Deps, DepsMut, Env, MessageInfo, Response, StdResult};
use cw20_base::msg::{ExecuteMsg, InstantiateMarketingInfo, QueryMsg};
use cw20_base::ContractError;

pub const CONTRACT_NAME: &str = "crates.io:akash-token";
pub const CONTRACT_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn instantiate(
    mut deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: InstantiateMsg,
) -> Result<Response, ContractError> {
    let base_msg = cw20_base::msg::InstantiateMsg {
        name: msg.name,
        symbol: msg.symbol,
        decimals: AKASH_DECIMALS,
        initial_balances: msg.initial_balances,
        mint: msg.mint,
        marketing: msg.marketing.map(|m| InstantiateMarketingInfo {
            project: m.project,
            description: m.description,
            marketing: m.marketing,
            logo: m.logo,
        }),
    };
    let response = cw20_base::contract::instantiate(deps.branch(), env, info, base_msg)?;
    // cw20-base recorded its own name; migrations must see this contract's.
    cw2::set_contract_version(deps.storage, CONTRACT_NAME, CONTRACT_VERSION)?;
    Ok(response)
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn execute(
    deps: DepsMut,
    env: Env,
    info: MessageInfo,
    msg: ExecuteMsg,
) -> Result<Response, ContractError> {
    cw20_base::contract::execute(deps, env, info, msg)
}

#[cfg_attr(not(feature = "library"), entry_point)]
pub fn query(deps: Deps, env: Env, msg: QueryMsg) -> StdResult<Binary> {
    cw20_base::contract::query(deps, env, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use akash_types::token::MarketingInfo;
    use cosmwasm_std::testing::{message_info, mock_dependencies, mock_env};
    use cosmwasm_std::{from_json, Uint128};
    use cw20::{Cw20Coin, MarketingInfoResponse, MinterResponse, TokenInfoResponse};

    fn akash_instantiate_msg(holder: &str, minter: &str) -> InstantiateMsg {
        InstantiateMsg {
            name: "Akash Token".to_string(),
            symbol: "AKASH".to_string(),
            initial_balances: vec![Cw20Coin {
                address: holder.to_string(),
                amount: Uint128::new(5_000_000),
            }],
            mint: Some(MinterResponse {
                minter: minter.to_string(),
                cap: None,
            }),
            marketing: Some(MarketingInfo {
                project: Some("Akash".to_string()),
                description: Some("Compute marketplace token".to_string()),
                marketing: Some(minter.to_string()),
                logo: None,
            }),
        }
    }

    #[test]
    fn instantiate_fixes_six_decimals_and_records_own_name() {
        let mut deps = mock_dependencies();
        let holder = deps.api.addr_make("holder");
        let minter = deps.api.addr_make("minter");
        let creator = deps.api.addr_make("creator");
        instantiate(
            deps.as_mut(),
            mock_env(),
            message_info(&creator, &[]),
            akash_instantiate_msg(holder.as_str(), minter.as_str()),
        )
        .unwrap();

        let info: TokenInfoResponse =
            from_json(query(deps.as_ref(), mock_env(), QueryMsg::TokenInfo {}).unwrap()).unwrap();
        assert_eq!(info.decimals, 6);
        assert_eq!(info.symbol, "AKASH");
        assert_eq!(info.total_supply, Uint128::new(5_000_000));

        let marketing: MarketingInfoResponse =
            from_json(query(deps.as_ref(), mock_env(), QueryMsg::MarketingInfo {}).unwrap())
                .unwrap();
        assert_eq!(marketing.project.as_deref(), Some("Akash"));
        assert_eq!(marketing.marketing, Some(minter));

        let version = cw2::get_contract_version(&deps.storage).unwrap();
        assert_eq!(version.contract, CONTRACT_NAME);
    }

    #[test]
    fn instantiate_rejects_invalid_symbol() {
        let mut deps = mock_dependencies();
        let holder = deps.api.addr_make("holder");
        let creator = deps.api.addr_make("creator");
        let mut msg = akash_instantiate_msg(holder.as_str(), holder.as_str());
        msg.symbol = "A".to_string();
        let err =
            instantiate(deps.as_mut(), mock_env(), message_info(&creator, &[]), msg).unwrap_err();
        assert!(err.to_string().contains("Ticker symbol"), "{err}");
    }

    #[test]
    fn only_minter_mints() {
        let mut deps = mock_dependencies();
        let holder = deps.api.addr_make("holder");
        let minter = deps.api.addr_make("minter");
        let stranger = deps.api.addr_make("stranger");
        instantiate(
            deps.as_mut(),
            mock_env(),
            message_info(&holder, &[]),
            akash_instantiate_msg(holder.as_str(), minter.as_str()),
        )
        .unwrap();
        let mint = ExecuteMsg::Mint {
            recipient: stranger.to_string(),
            amount: Uint128::new(1),
        };
        let err = execute(
            deps.as_mut(),
            mock_env(),
            message_info(&stranger, &[]),
            mint.clone(),
        )
        .unwrap_err();
        assert_eq!(err, ContractError::Unauthorized {});
        execute(deps.as_mut(), mock_env(), message_info(&minter, &[]), mint).unwrap();
    }
}
