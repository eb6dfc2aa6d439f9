//! akash-staking contract (being written).
