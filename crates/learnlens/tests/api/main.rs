//! The integration tests: one binary, the real application over real HTTP, a fresh database
//! per test on SQLite and PostgreSQL, Redis where a test needs it; and the OULAD reader on the
//! real data set when it is present.

mod helpers;

mod analytics;
mod auth;
mod dataset;
mod demo_sources;
mod errors;
mod fault_proxy;
mod fenced_effect;
mod http;
mod jobs;
mod jobs_cli;
mod jwks;
mod operations;
mod oulad;
mod oulad_sources;
mod pipeline;
mod queue;
mod queue_processes;
mod ratelimit;
mod scheduler;
mod sources;
mod store;
mod xapi;
