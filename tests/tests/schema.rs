//! The JSON schemas in `schema/` are what integrators code against: this test fails when they
//! no longer match the messages. Regenerate with `scripts/schema.sh`
//! (`UPDATE_SCHEMA=1 cargo test -p akash-integration-tests --test schema`).

use std::path::PathBuf;

use cosmwasm_schema::{generate_api, Api};

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("schema")
}

fn contract_apis() -> Vec<(&'static str, Api)> {
    vec![
        (
            "akash-token",
            generate_api! {
                name: "akash-token",
                instantiate: akash_types::token::InstantiateMsg,
                execute: cw20_base::msg::ExecuteMsg,
                query: cw20_base::msg::QueryMsg,
            },
        ),
        (
            "akash-staking",
            generate_api! {
                name: "akash-staking",
                instantiate: akash_types::staking::InstantiateMsg,
                execute: akash_types::staking::ExecuteMsg,
                query: akash_types::staking::QueryMsg,
            },
        ),
        (
            "akash-registry",
            generate_api! {
                name: "akash-registry",
                instantiate: akash_types::registry::InstantiateMsg,
                execute: akash_types::registry::ExecuteMsg,
                query: akash_types::registry::QueryMsg,
            },
        ),
        (
            "akash-market",
            generate_api! {
                name: "akash-market",
                instantiate: akash_types::market::InstantiateMsg,
                execute: akash_types::market::ExecuteMsg,
                query: akash_types::market::QueryMsg,
            },
        ),
    ]
}

#[test]
fn schemas_match_messages() {
    let update = std::env::var_os("UPDATE_SCHEMA").is_some();
    let mut stale = Vec::new();
    for (name, api) in contract_apis() {
        let json_api = api.render();
        let rendered = json_api.to_string().expect("schema renders as JSON") + "\n";
        let path = schema_dir().join(format!("{name}.json"));
        if update {
            std::fs::create_dir_all(schema_dir()).expect("schema/ is writable");
            std::fs::write(&path, &rendered).expect("schema file is writable");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(on_disk) if on_disk == rendered => {}
            Ok(_) => stale.push(format!("{} differs from the messages", path.display())),
            Err(err) => stale.push(format!("{} cannot be read: {err}", path.display())),
        }
    }
    assert!(
        stale.is_empty(),
        "stale schemas (run scripts/schema.sh and commit schema/):\n{}",
        stale.join("\n")
    );
}
