//! Errors of every chain client, with the contracts' own messages kept intact.

use thiserror::Error;

pub type ChainResult<T> = Result<T, ChainError>;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ChainError {
    /// A contract refused an execute or a query. `message` is the contract's own error text
    /// (e.g. `bid window of order 7 closed at 1764080000.000000000 (now ...)`), stripped of
    /// the wrapping the chain adds; `detail` is the full text as the chain reported it.
    #[error("{message}")]
    Contract { message: String, detail: String },

    /// The chain refused the transaction for a reason outside the contracts (fee, gas,
    /// signature, sequence, unknown account, ...).
    #[error("transaction refused (code {code}, codespace {codespace:?}): {log}")]
    TxRejected {
        code: u32,
        codespace: String,
        log: String,
    },

    /// Broadcast, but not seen in a block in time. It may still be included later.
    #[error("transaction {tx_hash} was not included in a block within {waited_secs} s")]
    TxTimeout { tx_hash: String, waited_secs: u64 },

    /// The node could not be reached or answered with a transport-level error.
    #[error("rpc: {0}")]
    Rpc(String),

    /// The node or a contract answered with something this client could not decode.
    #[error("unexpected response: {0}")]
    Decode(String),

    /// The signing key could not be read or derived.
    #[error("key: {0}")]
    Key(String),

    /// Bad client settings (deployment file, gas price, URL, ...).
    #[error("config: {0}")]
    Config(String),

    /// The request was refused before it reached the chain (e.g. an escrow that overflows).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The embedded chain's thread is gone.
    #[error("the embedded chain has stopped")]
    ChainStopped,
}

impl ChainError {
    /// The contract's own error message, when a contract refused the request.
    pub fn contract_message(&self) -> Option<&str> {
        match self {
            ChainError::Contract { message, .. } => Some(message),
            _ => None,
        }
    }

    /// A contract error built from the text a chain reported, keeping that text as `detail`.
    pub fn contract(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        ChainError::Contract {
            message: contract_message_of(&detail),
            detail,
        }
    }

    /// Transport errors, timeouts and sequence mismatches may succeed on a retry; contract
    /// errors and bad requests will not.
    pub fn is_transient(&self) -> bool {
        match self {
            ChainError::Rpc(_) | ChainError::TxTimeout { .. } => true,
            ChainError::TxRejected { code, log, .. } => {
                *code == SDK_ERR_WRONG_SEQUENCE || log.contains("account sequence mismatch")
            }
            _ => false,
        }
    }
}

/// `ErrWrongSequence` of the cosmos-sdk (codespace `sdk`).
pub(crate) const SDK_ERR_WRONG_SEQUENCE: u32 = 32;

/// Suffixes wasmd puts after a contract's error.
const WASM_FAILURE_MARKERS: [&str; 4] = [
    ": execute wasm contract failed",
    ": query wasm contract failed",
    ": instantiate wasm contract failed",
    ": dispatch: submessages:",
];

/// Prefixes wrapped around a contract's error (cosmos-sdk, cosmwasm-std's `StdError`, and
/// cw-multi-test's querier).
const WRAPPING_PREFIXES: [&str; 4] = [
    "rpc error: code = Unknown desc = ",
    "Generic error: ",
    "Querier contract error: ",
    "Querier system error: ",
];

/// The contract's message inside an error text from wasmd or cw-multi-test, e.g.
/// `failed to execute message; message index: 0: order 9 not found: execute wasm contract
/// failed [...]: unknown request` gives `order 9 not found`. Text that does not look wrapped
/// comes back unchanged.
pub fn contract_message_of(text: &str) -> String {
    let mut message = text.trim();
    // Everything up to the innermost "message index: N: ".
    if let Some(pos) = message.rfind("message index: ") {
        let rest = &message[pos + "message index: ".len()..];
        if let Some(colon) = rest.find(": ") {
            if rest[..colon].chars().all(|c| c.is_ascii_digit()) {
                message = &rest[colon + 2..];
            }
        }
    }
    // wasmd's "...: execute wasm contract failed [file:line] with gas used ...: unknown request".
    if let Some(end) = WASM_FAILURE_MARKERS
        .iter()
        .filter_map(|marker| message.find(marker))
        .min()
    {
        message = &message[..end];
    }
    // A submessage failure nests the inner contract's error after "dispatch: submessages: ".
    if let Some(pos) = message.rfind("dispatch: submessages: ") {
        message = &message[pos + "dispatch: submessages: ".len()..];
    }
    loop {
        let before = message;
        for prefix in WRAPPING_PREFIXES {
            message = message.strip_prefix(prefix).unwrap_or(message);
        }
        if before == message {
            break;
        }
    }
    message.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_message_is_unwrapped_from_wasmd_texts() {
        assert_eq!(
            contract_message_of(
                "failed to execute message; message index: 0: order 999 not found: execute wasm \
                 contract failed [CosmWasm/wasmd/x/wasm/keeper/keeper.go:452] with gas used: \
                 '98653': unknown request"
            ),
            "order 999 not found"
        );
        assert_eq!(
            contract_message_of(
                "rpc error: code = Unknown desc = Generic error: order 999 not found: query wasm \
                 contract failed: unknown request"
            ),
            "order 999 not found"
        );
        assert_eq!(
            contract_message_of(
                "Generic error: order 999 not found: query wasm contract failed: unknown request"
            ),
            "order 999 not found"
        );
        assert_eq!(
            contract_message_of(
                "failed to execute message; message index: 0: dispatch: submessages: \
                 escrow must be exactly max_price_per_second x lease_duration_secs = 10, sent 9: \
                 execute wasm contract failed"
            ),
            "escrow must be exactly max_price_per_second x lease_duration_secs = 10, sent 9"
        );
        assert_eq!(
            contract_message_of("bid window of order 7 closed at 10.000000000 (now 11.0)"),
            "bid window of order 7 closed at 10.000000000 (now 11.0)"
        );
    }

    #[test]
    fn sequence_mismatch_is_transient() {
        let err = ChainError::TxRejected {
            code: 32,
            codespace: "sdk".into(),
            log: "account sequence mismatch, expected 5, got 4: incorrect account sequence".into(),
        };
        assert!(err.is_transient());
        assert!(!ChainError::contract("order 1 not found").is_transient());
    }
}
