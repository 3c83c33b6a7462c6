//! Proportions with Wilson score confidence intervals (Brown, Cai & DasGupta 2001).
//!
//! [`wilson`] is the formula of statsmodels
//! `proportion_confint(count, nobs, alpha=1-level, method="wilson")`, with
//! z = `norm.isf(alpha/2)`; it agrees to T1 (1e-9 relative) and in practice to a few ulps.

use super::dist::normal_quantile;
use super::{Interval, finite};
use serde::{Deserialize, Serialize};

/// The default confidence level of every proportion the analytics report.
pub const DEFAULT_LEVEL: f64 = 0.95;

/// A proportion k/n with its Wilson confidence interval, as the analytics serialise it
/// (`{value, ci: [lo, hi], n}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proportion {
    /// The observed proportion k/n.
    pub value: f64,
    /// The Wilson interval (lower, upper).
    pub ci: (f64, f64),
    /// The number of trials n.
    pub n: u64,
}

impl Proportion {
    /// k/n with its 95 % Wilson interval; `None` when n = 0 or k > n.
    pub fn wilson(successes: u64, n: u64) -> Option<Self> {
        Self::wilson_at(successes, n, DEFAULT_LEVEL)
    }

    /// k/n with its Wilson interval at `level`; `None` when n = 0, k > n or `level` is
    /// outside (0, 1).
    pub fn wilson_at(successes: u64, n: u64, level: f64) -> Option<Self> {
        let ci = wilson(successes, n, level)?;
        Some(Self {
            value: ci.value,
            ci: (ci.lower, ci.upper),
            n,
        })
    }
}

/// Wilson score interval for `successes` out of `n` at confidence `level` (e.g. 0.95).
///
/// `value` is the observed proportion k/n (not the Wilson centre). The bounds are clamped to
/// [0, 1], which only removes rounding residue (statsmodels returns exactly 0.0 / 1.0 at the
/// edges too). `None` when n = 0, k > n or `level` is outside (0, 1).
pub fn wilson(successes: u64, n: u64, level: f64) -> Option<Interval> {
    if n == 0 || successes > n || !(level > 0.0 && level < 1.0) {
        return None;
    }
    // statsmodels: crit = norm.isf(alpha / 2) = −norm.ppf(alpha / 2).
    let z = -normal_quantile((1.0 - level) / 2.0)?;
    let nf = n as f64;
    let q = successes as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (q + z2 / (2.0 * nf)) / denom;
    let dist = z * (q * (1.0 - q) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    // At k = 0 the lower bound is exactly 0 and at k = n the upper bound exactly 1; the
    // formula leaves a rounding residue of ~1e-17 there, enough to put the bound on the wrong
    // side of the point estimate.
    let lower = if successes == 0 { 0.0 } else { center - dist };
    let upper = if successes == n { 1.0 } else { center + dist };
    Some(Interval {
        value: q,
        lower: finite(lower.clamp(0.0, 1.0))?,
        upper: finite(upper.clamp(0.0, 1.0))?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden_wilson_8_of_10() {
        let ci = wilson(8, 10, 0.95).unwrap();
        assert_eq!(ci.value, 0.8);
        assert_t1(ci.lower, 0.49016247153664183);
        assert_t1(ci.upper, 0.9433178485456247);
    }

    #[test]
    fn wilson_matches_statsmodels_at_the_edges_and_other_levels() {
        // statsmodels proportion_confint(k, n, alpha, method="wilson")
        let cases = [
            (0, 10, 0.95, 0.0, 0.27753279986288926),
            (10, 10, 0.95, 0.7224672001371106, 1.0),
            (1, 1, 0.95, 0.2065493143772374, 1.0),
            (37, 120, 0.95, 0.23272736988916298, 0.39582997723800684),
            (0, 1, 0.95, 0.0, 0.7934506856227627),
            (8, 10, 0.90, 0.5407928056874879, 0.9314420122624679),
        ];
        for (k, n, level, lo, hi) in cases {
            let ci = wilson(k, n, level).unwrap();
            assert_t1(ci.lower, lo);
            assert_t1(ci.upper, hi);
        }
    }

    #[test]
    fn proportion_serialises_ci_as_a_pair() {
        let p = Proportion::wilson(8, 10).unwrap();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["value"], 0.8);
        assert_eq!(json["n"], 10);
        assert_eq!(json["ci"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn undefined_proportions_are_none() {
        assert_eq!(wilson(0, 0, 0.95), None);
        assert_eq!(wilson(3, 2, 0.95), None);
        assert_eq!(wilson(1, 2, 1.0), None);
        assert_eq!(Proportion::wilson(0, 0), None);
    }

    #[test]
    fn wilson_bounds_are_exact_at_zero_and_all_successes() {
        for n in 1..200u64 {
            let none = wilson(0, n, 0.95).unwrap();
            assert_eq!(none.lower, 0.0, "n = {n}");
            let all = wilson(n, n, 0.95).unwrap();
            assert_eq!(all.upper, 1.0, "n = {n}");
        }
    }

    proptest! {
        #[test]
        fn wilson_contains_its_point_estimate(k in 0u64..500, n in 1u64..500) {
            let ci = wilson(k.min(n), n, 0.95).unwrap();
            prop_assert!(ci.lower <= ci.value && ci.value <= ci.upper);
        }

        #[test]
        fn wilson_is_finite_and_ordered(k in 0u64..2000, n in 0u64..2000, level in 0.0..1.0f64) {
            if let Some(ci) = wilson(k, n, level) {
                prop_assert!(ok(ci.lower) && ok(ci.upper) && ok(ci.value));
                prop_assert!(0.0 <= ci.lower && ci.lower <= ci.upper && ci.upper <= 1.0);
            }
        }

        #[test]
        fn wilson_is_finite_for_huge_counts(k in any::<u64>(), n in any::<u64>()) {
            if let Some(ci) = wilson(k.min(n), n, 0.95) {
                prop_assert!(ok(ci.lower) && ok(ci.upper) && ok(ci.value));
            }
        }
    }
}
