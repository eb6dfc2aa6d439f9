//! akash-market contract (being written).
