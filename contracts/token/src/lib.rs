//! The AKASH token: a cw20 built on cw20-base (used as a library, not rewritten).
//! Only instantiation is ours: it fixes the decimals at 6 and records this contract's name.

pub mod contract;
