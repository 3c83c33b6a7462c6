//! The learnlens analytics engine: the 19 analytics of `analytics.md` and the drop-off model.
//!
//! Invariant: everything here is a pure, deterministic function of its inputs, `asOf` and
//! configuration. No I/O, no clock reads, no async, no heavy dependencies.
//!
//! Code map:
//! - [`input`]: the source entities, the [`Dataset`] and its [`DatasetIndex`];
//! - [`config`]: every tunable, defaults as documented;
//! - [`common`]: the payload [`Header`], time bins and the session / time-on-task rule;
//! - [`learner`]: learner analytics 1–6 (velocity, skill gap, engagement, mastery (BKT),
//!   performance, content effectiveness with classical item analysis);
//! - [`trainer`]: trainer analytics 7–10 over the courses of one `trainerId`;
//! - [`org`]: organisation analytics 11–14 over the active users of one `orgId`, departments
//!   below k users suppressed;
//! - [`comparison`]: k-anonymous comparison analytics 15–16 (peerComparison from daily
//!   snapshots, cohorts of ≥ k + 1 members, never across organisations; skillDemand);
//! - [`predictive`]: the drop-off model (features, training, evaluation) and analytics 17–19
//!   (dropOffRisk, performanceForecast, recommendations);
//! - [`kind`]: the catalogue (name, route slug, role, subject) and [`kind::compute`], which
//!   runs any analytic by kind ([`kind::compute_shared`] through a [`memo::CohortMemo`]);
//! - [`memo`]: the cohort quantities many subjects share, computed once per batch;
//! - [`digest`]: what the cohort analytics read of one user's events, so that they can run
//!   without the events;
//! - [`stats`]: the numerical library.

pub mod common;
pub mod comparison;
pub mod config;
pub mod digest;
pub mod input;
pub mod kind;
pub mod learner;
pub mod memo;
pub mod org;
pub mod predictive;
pub mod stats;
pub mod trainer;

#[cfg(test)]
pub(crate) mod test_support;

pub use common::{Header, Status};
pub use config::Config;
pub use input::{Dataset, DatasetIndex};
