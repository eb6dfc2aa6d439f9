//! The provider daemon: one process per Docker host. Each module owns one responsibility.

pub mod gateway;
pub mod identity;
pub mod runtime;
