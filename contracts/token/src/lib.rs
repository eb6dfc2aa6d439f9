//! akash-token contract (being written).
