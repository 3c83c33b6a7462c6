//! Predictive analytics (`analytics.md` §2, PREDICTIVE): dropOffRisk (17), with its features,
//! training and evaluation, and performanceForecast (18).
//!
//! Entry points follow the learner analytics: `compute(data, user_id, as_of, …, cfg)` indexes
//! the dataset, `compute_indexed(index, user_id, as_of, …, cfg)` reuses a prebuilt index.

pub mod forecast;
