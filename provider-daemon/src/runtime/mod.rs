//! Docker runtime (being written).
