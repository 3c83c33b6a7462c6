//! Statistics and models used by the analytics: the numerical core of the crate.
//!
//! Every function here is pure and total: it never panics and never returns NaN or an
//! infinity. A result that is undefined for the given input (empty data, a zero variance, a
//! value that overflows) is `None` or a `None` field, which the analytics serialise as `null`.
//!
//! This module holds the small shared descriptive helpers; each submodule's header names the
//! reference implementation it is tested against (see `analytics.md`, section 3 "Golden
//! vectors", and the tolerances T0–T3 there). Descriptive helpers match numpy:
//! [`mean`] = `np.mean`, [`sample_sd`] = `np.std(ddof=1)`, [`median`] = `np.median`,
//! [`quantile_type7`] = `np.quantile(method="linear")` (Hyndman–Fan type 7),
//! [`weighted_mean`] = `np.average(x, weights=w)`; [`bayesian_average`] is the shrunk mean
//! (C·m + Σx)/(C + n) of rating averages (courseHealth, teachingEffectiveness).

pub mod bkt;
pub mod dist;
pub mod gain;
pub mod holt;
pub mod inequality;
pub mod item;
pub mod logistic;
pub mod metrics;
pub mod percentile;
pub mod proportion;
pub mod regression;

use serde::Serialize;

/// A point estimate with a two-sided interval around it (a confidence or prediction interval).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interval {
    /// The point estimate.
    pub value: f64,
    /// Lower bound of the interval.
    pub lower: f64,
    /// Upper bound of the interval.
    pub upper: f64,
}

/// Descriptive summary of a sample (numpy semantics for each field).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Number of observations.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (ddof = 1); `None` for n < 2.
    pub sd: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// Median (`np.median`).
    pub median: f64,
    /// Largest value.
    pub max: f64,
}

/// `Some(v)` when `v` is finite, otherwise `None`: the last guard before a value leaves a
/// function, so that an overflow becomes "undefined" instead of an infinity.
pub(crate) fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// True when the slice is non-empty and every value is finite.
pub(crate) fn all_finite(x: &[f64]) -> bool {
    !x.is_empty() && x.iter().all(|v| v.is_finite())
}

/// A power of two that brings the largest magnitude of `x` into a range where sums and sums of
/// squares can neither overflow nor underflow. Multiplying by a power of two is exact, so for
/// ordinary data (factor 1) results are bit-for-bit those of the unscaled formula.
fn safe_scale(x: &[f64]) -> f64 {
    let max_abs = x.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    if max_abs > 2f64.powi(500) {
        2f64.powi(-600)
    } else if max_abs > 0.0 && max_abs < 2f64.powi(-500) {
        2f64.powi(600)
    } else {
        1.0
    }
}

/// Arithmetic mean (`np.mean`). `None` for an empty slice or a non-finite value.
///
/// Magnitudes near the limits of `f64` are handled by exact power-of-two scaling, so the mean
/// of finite numbers is always finite.
pub fn mean(x: &[f64]) -> Option<f64> {
    if !all_finite(x) {
        return None;
    }
    let s = safe_scale(x);
    let sum: f64 = x.iter().map(|v| v * s).sum();
    finite(sum / x.len() as f64 / s)
}

/// Weighted arithmetic mean Σ wᵢxᵢ / Σ wᵢ (`np.average(x, weights=w)`).
///
/// `None` when the lengths differ, the slices are empty, a value or weight is not finite, a
/// weight is negative, or the weights sum to 0 (numpy raises there). Each term is scaled by
/// the largest weight first, so the result is finite whenever the inputs are.
pub fn weighted_mean(x: &[f64], w: &[f64]) -> Option<f64> {
    if x.len() != w.len() || !all_finite(x) || !all_finite(w) || w.iter().any(|v| *v < 0.0) {
        return None;
    }
    let w_max = w.iter().fold(0.0_f64, |m, v| m.max(*v));
    if w_max <= 0.0 {
        return None;
    }
    // Relative weights in [0, 1]; the mean of x-like values scaled by them cannot overflow
    // beyond what `mean` guards against.
    let rel: Vec<f64> = w.iter().map(|v| v / w_max).collect();
    let w_sum: f64 = rel.iter().sum();
    let s = safe_scale(x);
    let num: f64 = x.iter().zip(&rel).map(|(xi, wi)| xi * s * wi).sum();
    finite(num / w_sum / s)
}

/// Bayesian (shrunk) average of `x` towards a prior mean `m` with prior weight `C`:
/// (C·m + Σx)/(C + n). With n = 0 it is `m`; with C = 0 the plain mean.
///
/// `None` when a value, `m` or `C` is not finite, `C < 0`, or C + n = 0.
pub fn bayesian_average(x: &[f64], prior_mean: f64, prior_weight: f64) -> Option<f64> {
    if !prior_mean.is_finite() || !prior_weight.is_finite() || prior_weight < 0.0 {
        return None;
    }
    if x.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = x.len() as f64;
    let total = prior_weight + n;
    if total <= 0.0 {
        return None;
    }
    // (C·m + Σx)/(C + n) = (C/(C+n))·m + (n/(C+n))·mean(x): a convex combination, so it is
    // finite and lies between m and the mean whenever both are finite.
    let data_part = match mean(x) {
        Some(m_x) => n / total * m_x,
        None if x.is_empty() => 0.0,
        None => return None,
    };
    finite(prior_weight / total * prior_mean + data_part)
}

/// Variance with `ddof` delta degrees of freedom, in scaled units: returns (variance × s²,
/// mean × s, s) where `s` is the [`safe_scale`] factor. Two-pass, like numpy.
fn scaled_variance(x: &[f64], ddof: usize) -> Option<(f64, f64, f64)> {
    if !all_finite(x) || x.len() <= ddof {
        return None;
    }
    let s = safe_scale(x);
    let n = x.len() as f64;
    let m = x.iter().map(|v| v * s).sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v * s - m).powi(2)).sum();
    Some((ss / (n - ddof as f64), m, s))
}

/// Sample variance (ddof = 1, `np.var(ddof=1)`). `None` for n < 2 or when it overflows.
pub fn sample_variance(x: &[f64]) -> Option<f64> {
    let (v, _, s) = scaled_variance(x, 1)?;
    finite(v / s / s)
}

/// Sample standard deviation (ddof = 1, `np.std(ddof=1)`). `None` for n < 2.
pub fn sample_sd(x: &[f64]) -> Option<f64> {
    let (v, _, s) = scaled_variance(x, 1)?;
    finite(v.sqrt() / s)
}

/// Population standard deviation (ddof = 0, `np.std()`, what sklearn's `StandardScaler`
/// uses). `None` for an empty slice.
pub fn population_sd(x: &[f64]) -> Option<f64> {
    let (v, _, s) = scaled_variance(x, 0)?;
    finite(v.sqrt() / s)
}

/// A sorted copy of the finite slice `x`; `None` when it is empty or holds a non-finite value.
fn sorted_finite(x: &[f64]) -> Option<Vec<f64>> {
    if !all_finite(x) {
        return None;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    Some(v)
}

/// Midpoint of two finite numbers without overflow (`np.mean([a, b])` for ordinary values).
fn midpoint(a: f64, b: f64) -> f64 {
    let m = (a + b) / 2.0;
    if m.is_finite() { m } else { a / 2.0 + b / 2.0 }
}

/// Median (`np.median`: the mean of the two middle values for even n). `None` when empty.
pub fn median(x: &[f64]) -> Option<f64> {
    let v = sorted_finite(x)?;
    let n = v.len();
    let mid = n / 2;
    if n % 2 == 1 {
        v.get(mid).copied()
    } else {
        Some(midpoint(*v.get(mid - 1)?, *v.get(mid)?))
    }
}

/// numpy's `_lerp`: `a + (b - a) t`, computed from the nearer end for `t >= 0.5` so that
/// `t = 1` gives exactly `b`.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    let r = if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    };
    if r.is_finite() {
        r
    } else {
        // b - a overflowed (values of opposite sign near f64::MAX).
        a * (1.0 - t) + b * t
    }
}

/// Type-7 quantile of an already sorted, non-empty, finite slice.
fn quantile_sorted(v: &[f64], q: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) || v.is_empty() {
        return None;
    }
    let h = (v.len() - 1) as f64 * q;
    let lo = h.floor();
    let i = lo as usize;
    let a = *v.get(i)?;
    let b = v.get(i + 1).copied().unwrap_or(a);
    finite(lerp(a, b, h - lo))
}

/// Hyndman–Fan type-7 quantile, identical to `np.quantile(x, q, method="linear")` (the
/// numpy default). The input need not be sorted. `None` when `x` is empty or holds a
/// non-finite value, or `q` is outside [0, 1].
pub fn quantile_type7(x: &[f64], q: f64) -> Option<f64> {
    let v = sorted_finite(x)?;
    quantile_sorted(&v, q)
}

/// Several type-7 quantiles at once (one sort). `None` under the same conditions as
/// [`quantile_type7`] for any of the `qs`.
pub fn quantiles_type7(x: &[f64], qs: &[f64]) -> Option<Vec<f64>> {
    let v = sorted_finite(x)?;
    qs.iter().map(|&q| quantile_sorted(&v, q)).collect()
}

/// n, mean, sd (ddof = 1), min, median and max of a sample; `None` when it is empty or holds a
/// non-finite value.
pub fn summarize(x: &[f64]) -> Option<Summary> {
    let v = sorted_finite(x)?;
    Some(Summary {
        n: v.len(),
        mean: mean(&v)?,
        sd: sample_sd(&v),
        min: *v.first()?,
        median: median(&v)?,
        max: *v.last()?,
    })
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Shared test helpers: tolerance checks and proptest strategies.
    use proptest::prelude::*;

    /// Tolerance T1 of analytics.md: |Δ| ≤ 1e-9·max(1, |ref|).
    pub fn assert_t1(got: f64, want: f64) {
        let tol = 1e-9 * want.abs().max(1.0);
        assert!(
            (got - want).abs() <= tol,
            "got {got:e}, want {want:e}, |Δ| = {:e}",
            (got - want).abs()
        );
    }

    /// |got − want| ≤ tol.
    pub fn assert_close(got: f64, want: f64, tol: f64) {
        assert!(
            (got - want).abs() <= tol,
            "got {got:e}, want {want:e}, |Δ| = {:e} > {tol:e}",
            (got - want).abs()
        );
    }

    /// Relative error check: |got − want| ≤ rel·|want|.
    pub fn assert_rel(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "got {got:e}, want {want:e}, rel err {:e} > {rel:e}",
            ((got - want) / want).abs()
        );
    }

    /// Any finite f64, from subnormal to near `f64::MAX`, of either sign, plus zero and
    /// ordinary-sized values (which exercise the common paths).
    pub fn any_finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            3 => -1e3..1e3f64,
            1 => proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO,
            1 => prop_oneof![Just(0.0), Just(1.0), Just(-1.0), Just(f64::MAX), Just(f64::MIN), Just(f64::MIN_POSITIVE)],
        ]
    }

    /// Vectors of [`any_finite`] values of length 0..=len, sometimes constant.
    pub fn finite_vec(len: usize) -> impl Strategy<Value = Vec<f64>> {
        prop_oneof![
            4 => proptest::collection::vec(any_finite(), 0..=len),
            1 => (any_finite(), 0..=len).prop_map(|(v, n)| vec![v; n]),
        ]
    }

    /// True when `v` is finite (used to state the "never NaN or infinite" property).
    pub fn ok(v: f64) -> bool {
        v.is_finite()
    }

    /// True when `v` is `None` or finite.
    pub fn ok_opt(v: Option<f64>) -> bool {
        v.is_none_or(f64::is_finite)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mean_and_sd_match_numpy() {
        let x = [55.0, 60.0, 58.0, 66.0, 70.0, 72.0];
        assert_t1(mean(&x).unwrap(), 63.5);
        // np.std(x, ddof=1)
        assert_t1(sample_sd(&x).unwrap(), 6.862943974709396);
        assert_t1(sample_variance(&x).unwrap(), 47.1);
        // np.std(x)
        assert_t1(population_sd(&x).unwrap(), 6.264982043070834);
    }

    #[test]
    fn sd_is_none_below_two_observations() {
        assert_eq!(sample_sd(&[3.0]), None);
        assert_eq!(sample_sd(&[]), None);
        assert_eq!(mean(&[]), None);
        assert_eq!(population_sd(&[3.0]), Some(0.0));
    }

    #[test]
    fn mean_of_huge_values_does_not_overflow() {
        assert_eq!(mean(&[f64::MAX, f64::MAX]), Some(f64::MAX));
        assert_eq!(sample_sd(&[f64::MAX, f64::MAX]), Some(0.0));
        assert_eq!(mean(&[5e-324, 5e-324]), Some(5e-324));
    }

    #[test]
    fn median_averages_the_middle_pair() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[f64::MAX, f64::MAX]), Some(f64::MAX));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn quantile_type7_matches_numpy_linear() {
        // np.quantile([0.1,0.35,0.2,0.9,0.55,0.7,0.42], q) (method="linear")
        let x = [0.1, 0.35, 0.2, 0.9, 0.55, 0.7, 0.42];
        let q = quantiles_type7(&x, &[0.1, 0.25, 0.5, 0.75, 0.9]).unwrap();
        let want = [0.16, 0.275, 0.42, 0.625, 0.78];
        for (g, w) in q.iter().zip(want) {
            assert_t1(*g, w);
        }
        assert_eq!(quantile_type7(&x, 0.0), Some(0.1));
        assert_eq!(quantile_type7(&x, 1.0), Some(0.9));
        assert_eq!(quantile_type7(&[7.0], 0.3), Some(7.0));
        assert_eq!(quantile_type7(&x, 1.5), None);
        assert_eq!(quantile_type7(&[], 0.5), None);
    }

    #[test]
    fn summarize_collects_the_descriptives() {
        let s = summarize(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.n, s.min, s.median, s.max), (3, 1.0, 2.0, 3.0));
        assert_eq!(s.sd, Some(1.0));
        assert_eq!(summarize(&[]), None);
    }

    #[test]
    fn weighted_mean_matches_numpy_average() {
        // np.average([0.2, 0.5, 0.9], weights=[10, 30, 60])
        assert_t1(
            weighted_mean(&[0.2, 0.5, 0.9], &[10.0, 30.0, 60.0]).unwrap(),
            0.71,
        );
        assert_eq!(weighted_mean(&[1.0, 3.0], &[1.0, 1.0]), Some(2.0));
        assert_eq!(weighted_mean(&[1.0, 3.0], &[0.0, 2.0]), Some(3.0));
        assert_eq!(weighted_mean(&[1.0], &[0.0]), None);
        assert_eq!(weighted_mean(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(weighted_mean(&[1.0], &[-1.0]), None);
        assert_eq!(weighted_mean(&[], &[]), None);
        assert_eq!(
            weighted_mean(&[f64::MAX, f64::MAX], &[f64::MAX, 1.0]),
            Some(f64::MAX)
        );
    }

    #[test]
    fn bayesian_average_shrinks_towards_the_prior_mean() {
        // (5·3.6 + 5 + 4)/(5 + 2) = 27/7
        assert_t1(bayesian_average(&[5.0, 4.0], 3.6, 5.0).unwrap(), 27.0 / 7.0);
        assert_eq!(bayesian_average(&[], 3.6, 5.0), Some(3.6));
        assert_eq!(bayesian_average(&[2.0, 4.0], 3.6, 0.0), Some(3.0));
        assert_eq!(bayesian_average(&[], 3.6, 0.0), None);
        assert_eq!(bayesian_average(&[1.0], f64::NAN, 5.0), None);
        assert_eq!(bayesian_average(&[1.0], 3.0, -1.0), None);
    }

    proptest! {
        #[test]
        fn descriptives_never_return_non_finite(x in finite_vec(12), q in 0.0..=1.0f64) {
            prop_assert!(ok_opt(mean(&x)));
            prop_assert!(ok_opt(sample_sd(&x)));
            prop_assert!(ok_opt(sample_variance(&x)));
            prop_assert!(ok_opt(population_sd(&x)));
            prop_assert!(ok_opt(median(&x)));
            prop_assert!(ok_opt(quantile_type7(&x, q)));
            let w: Vec<f64> = x.iter().map(|v| v.abs()).collect();
            prop_assert!(ok_opt(weighted_mean(&x, &w)));
            prop_assert!(ok_opt(bayesian_average(&x, 3.0, 5.0)));
            if !x.is_empty() {
                prop_assert!(mean(&x).is_some());
                prop_assert!(median(&x).is_some());
                prop_assert!(quantile_type7(&x, q).is_some());
            }
        }
    }
}
