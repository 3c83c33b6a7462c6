//! The integration tests: one binary, the real application over real HTTP, a fresh database
//! per test on SQLite and PostgreSQL, Redis where a test needs it; and the OULAD reader on the
//! real data set when it is present.

mod helpers;

mod auth;
mod errors;
mod jwks;
mod operations;
mod oulad;
mod ratelimit;
mod store;
