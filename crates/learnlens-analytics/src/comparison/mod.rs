//! Comparison analytics (`analytics.md` §2, COMPARISON): peerComparison (15) and skillDemand
//! (16), aggregates over a population that are shown to people outside it, so every released
//! value obeys k-anonymity (N ≥ k, `samples.k_anonymity`; peerComparison also N − 1 ≥ k).
//!
//! Entry points follow the learner analytics: `compute(data, subject, as_of, cfg)` indexes the
//! dataset, `compute_indexed(index, subject, as_of, cfg)` reuses a prebuilt index. Both are pure.

pub mod peer_comparison;
pub mod skill_demand;
