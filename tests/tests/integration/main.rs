//! Cross-contract tests: the real AKASH token, staking, registry and market contracts wired
//! together in cw-multi-test. One binary; each module covers one concern.

mod authorization;
mod bidding;
mod events;
mod flow;
mod invariants;
mod lifecycle;
mod reputation;
mod staking;
mod suite;
