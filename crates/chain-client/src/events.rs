//! Wasm events of transactions and the market event subscription.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::error::ChainResult;

/// Attributes the chain adds to every wasm event; not part of what the contract emitted.
const CHAIN_ATTRIBUTES: [&str; 2] = ["_contract_address", "msg_index"];

/// One `wasm` event of a transaction: what one contract emitted in one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasmEvent {
    /// `_contract_address` of the event.
    pub contract: String,
    /// The contract's attributes, in order (`action` included; `_contract_address` and
    /// `msg_index` left out).
    pub attributes: Vec<(String, String)>,
}

impl WasmEvent {
    /// Builds the event from the raw attributes of a `wasm` event; `None` without a
    /// `_contract_address`.
    pub fn from_attributes<K, V>(attributes: impl IntoIterator<Item = (K, V)>) -> Option<Self>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut contract = None;
        let mut kept = Vec::new();
        for (key, value) in attributes {
            let (key, value) = (key.into(), value.into());
            if key == "_contract_address" {
                contract.get_or_insert(value);
            } else if !CHAIN_ATTRIBUTES.contains(&key.as_str()) {
                kept.push((key, value));
            }
        }
        Some(WasmEvent {
            contract: contract?,
            attributes: kept,
        })
    }

    pub fn attribute(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }

    /// This event as a market event, when it carries an `action`.
    pub fn to_market_event(&self, height: u64, tx_hash: &str) -> Option<MarketEvent> {
        let action = self.attribute("action")?.to_string();
        Some(MarketEvent {
            height,
            tx_hash: tx_hash.to_string(),
            action,
            attributes: self
                .attributes
                .iter()
                .filter(|(k, _)| k != "action")
                .cloned()
                .collect(),
        })
    }
}

fn find<'a>(attributes: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// What the market contract emitted in one call: `action` (`create_order`, `place_bid`,
/// `match_order`, `order_expired`, `close_lease`, `complete_lease`, `update_manifest`, ...)
/// and its attributes (see the market README's "Events" table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketEvent {
    /// Height of the block that holds the transaction.
    pub height: u64,
    /// Hash of the transaction (upper-case hex on wasmd; a counter on the embedded chain).
    pub tx_hash: String,
    pub action: String,
    /// Attributes in emission order, without `action`, `_contract_address` and `msg_index`.
    pub attributes: Vec<(String, String)>,
}

impl MarketEvent {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        find(&self.attributes, key)
    }

    /// A numeric attribute (ids, amounts that fit, unix seconds).
    pub fn attribute_u64(&self, key: &str) -> Option<u64> {
        self.attribute(key)?.parse().ok()
    }

    pub fn order_id(&self) -> Option<u64> {
        self.attribute_u64("order_id")
    }

    pub fn lease_id(&self) -> Option<u64> {
        self.attribute_u64("lease_id")
    }
}

/// Market events from a height on, in chain order (by height, then by position in the
/// block). Items are `Err` when the source had a problem it is retrying (the node is
/// unreachable, say); the stream goes on after them and does not skip heights. It ends
/// only when its chain is gone. Dropping it stops the work behind it.
pub struct MarketEventStream {
    rx: mpsc::Receiver<ChainResult<MarketEvent>>,
    task: Option<AbortHandle>,
}

/// Buffer between the task that reads the chain and the subscriber.
#[cfg_attr(not(any(feature = "embedded", feature = "wasmd")), allow(dead_code))]
pub(crate) const EVENT_BUFFER: usize = 256;

impl MarketEventStream {
    #[cfg_attr(not(any(feature = "embedded", feature = "wasmd")), allow(dead_code))]
    pub(crate) fn new(rx: mpsc::Receiver<ChainResult<MarketEvent>>, task: AbortHandle) -> Self {
        MarketEventStream {
            rx,
            task: Some(task),
        }
    }

    /// The next event (or transient error); `None` once the chain is gone.
    pub async fn next_event(&mut self) -> Option<ChainResult<MarketEvent>> {
        self.rx.recv().await
    }
}

impl futures_core::Stream for MarketEventStream {
    type Item = ChainResult<MarketEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for MarketEventStream {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl std::fmt::Debug for MarketEventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketEventStream").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_event_drops_chain_attributes_and_becomes_a_market_event() {
        let event = WasmEvent::from_attributes([
            ("_contract_address", "wasm1market"),
            ("action", "create_order"),
            ("order_id", "7"),
            ("msg_index", "0"),
        ])
        .unwrap();
        assert_eq!(event.contract, "wasm1market");
        assert_eq!(event.attribute("order_id"), Some("7"));
        assert_eq!(event.attribute("msg_index"), None);
        let market = event.to_market_event(12, "AB").unwrap();
        assert_eq!(market.action, "create_order");
        assert_eq!(market.order_id(), Some(7));
        assert_eq!(market.attributes, vec![("order_id".into(), "7".into())]);
        assert!(WasmEvent::from_attributes([("action", "x")]).is_none());
    }
}
