//! The integration tests: one binary, the real application over real HTTP, a fresh database
//! per test on SQLite and PostgreSQL, Redis where a test needs it.

mod helpers;

mod auth;
mod dataset;
mod errors;
mod jwks;
mod operations;
mod ratelimit;
mod store;
