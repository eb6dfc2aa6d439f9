//! Akash SDL 2.0 manifests (being written).
