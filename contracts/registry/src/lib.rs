//! akash-registry contract (being written).
