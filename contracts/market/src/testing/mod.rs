//! Unit tests with cosmwasm_std::testing mocks.
