//! Simple ordinary least squares of y on x, with standard errors, p-value and prediction
//! intervals.
//!
//! [`linregress`] matches `scipy.stats.linregress(x, y)` (slope, intercept, rvalue², pvalue,
//! stderr, intercept_stderr); [`prediction_interval`] matches statsmodels
//! `sm.OLS(y, sm.add_constant(x)).fit().get_prediction(x0).summary_frame(alpha)` columns
//! `obs_ci_lower` / `obs_ci_upper` (tolerance T1).
//!
//! Deviations from scipy, all for undefined values (analytics.md: undefined is `null`):
//! constant x gives `None` (scipy raises); constant y gives `r2` and `p_value` `None` (scipy
//! reports r = 0, p = 1); n = 2 gives `None` standard errors and p-value (scipy reports 0).

use super::dist::{inc_beta, student_t_quantile};
use super::{Interval, finite};
use serde::Serialize;

/// The result of a simple linear regression y = intercept + slope·x.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinearFit {
    /// Number of (x, y) pairs.
    pub n: usize,
    /// Least-squares slope.
    pub slope: f64,
    /// Least-squares intercept.
    pub intercept: f64,
    /// Coefficient of determination r²; `None` when y is constant.
    pub r2: Option<f64>,
    /// Standard error of the slope; `None` for n < 3.
    pub stderr: Option<f64>,
    /// Standard error of the intercept; `None` for n < 3.
    pub intercept_stderr: Option<f64>,
    /// Two-sided p-value of H₀: slope = 0 (t test with n − 2 df); `None` for n < 3 or
    /// constant y.
    pub p_value: Option<f64>,
    /// Mean of x.
    pub x_mean: f64,
    /// Σ(x − x̄)², needed for intervals at new x.
    pub sxx: f64,
    /// Residual standard deviation s = √(SSE/(n − 2)); `None` for n < 3.
    pub residual_sd: Option<f64>,
}

impl LinearFit {
    /// The fitted value intercept + slope·x0; `None` if it overflows.
    pub fn predict(&self, x0: f64) -> Option<f64> {
        finite(self.intercept + self.slope * x0)
    }
}

/// Fits y = a + b·x by least squares, like `scipy.stats.linregress(x, y)`.
///
/// `None` when the lengths differ, n < 2, a value is not finite, x is constant, or a sum of
/// squares overflows. The p-value is I_{SSE/(SSE+SSR)}((n−2)/2, ½), which equals scipy's
/// `2·t.sf(|t|, n−2)` with t = slope/stderr but needs no division by a zero stderr.
pub fn linregress(x: &[f64], y: &[f64]) -> Option<LinearFit> {
    let n = x.len();
    if n != y.len() || n < 2 || !super::all_finite(x) || !super::all_finite(y) {
        return None;
    }
    // Constancy is tested on the data, as scipy does, not on a sum of squares that rounding
    // can leave slightly positive.
    if x.iter().all(|v| *v == x[0]) {
        return None;
    }
    let y_constant = y.iter().all(|v| *v == y[0]);
    let nf = n as f64;
    let x_mean = finite(x.iter().sum::<f64>() / nf)?;
    let y_mean = finite(y.iter().sum::<f64>() / nf)?;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (xi, yi) in x.iter().zip(y) {
        let dx = xi - x_mean;
        let dy = yi - y_mean;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if !(sxx > 0.0 && sxx.is_finite() && sxy.is_finite() && syy.is_finite()) {
        return None;
    }
    let slope = finite(sxy / sxx)?;
    let intercept = finite(y_mean - slope * x_mean)?;

    // r² as scipy forms it: r = Sxy/√(Sxx·Syy), clipped to [−1, 1] (the square roots are
    // taken separately only if the product over- or underflows).
    let prod = sxx * syy;
    let denom = if prod.is_finite() && prod > 0.0 {
        prod.sqrt()
    } else {
        sxx.sqrt() * syy.sqrt()
    };
    let r2 = if y_constant {
        None
    } else {
        finite((sxy / denom).clamp(-1.0, 1.0).powi(2))
    };

    let (mut stderr, mut intercept_stderr, mut p_value, mut residual_sd) = (None, None, None, None);
    if n >= 3 {
        let df = (n - 2) as f64;
        // Residual and explained sums of squares, each computed directly (no cancellation).
        let sse: f64 = x
            .iter()
            .zip(y)
            .map(|(xi, yi)| (yi - intercept - slope * xi).powi(2))
            .sum();
        let ssr = slope * slope * sxx;
        let s = finite((sse / df).sqrt());
        residual_sd = s;
        stderr = s.and_then(|s| finite(s / sxx.sqrt()));
        // scipy: slope_stderr · √(ssxm + x̄²) with ssxm = Sxx/n.
        intercept_stderr = stderr.and_then(|se| finite(se * (sxx / nf + x_mean * x_mean).sqrt()));
        if !y_constant && (sse + ssr) > 0.0 {
            p_value = inc_beta(df / 2.0, 0.5, (sse / (sse + ssr)).clamp(0.0, 1.0));
        }
    }
    Some(LinearFit {
        n,
        slope,
        intercept,
        r2,
        stderr,
        intercept_stderr,
        p_value,
        x_mean,
        sxx,
        residual_sd,
    })
}

/// Prediction interval for a new observation at `x0`:
/// ŷ ± t_{n−2, (1+level)/2} · s · √(1 + 1/n + (x0 − x̄)²/Sxx).
///
/// Matches statsmodels `get_prediction(...).summary_frame(alpha=1-level)` `obs_ci_*`.
/// `None` for n < 3, `level` outside (0, 1) or a non-finite result.
pub fn prediction_interval(fit: &LinearFit, x0: f64, level: f64) -> Option<Interval> {
    if fit.n < 3 || !(level > 0.0 && level < 1.0) || !x0.is_finite() {
        return None;
    }
    let s = fit.residual_sd?;
    let value = fit.predict(x0)?;
    let t = student_t_quantile((1.0 + level) / 2.0, (fit.n - 2) as f64)?;
    let dx = x0 - fit.x_mean;
    let se = s * (1.0 + 1.0 / fit.n as f64 + dx * dx / fit.sxx).sqrt();
    let half = finite(t * se)?;
    Some(Interval {
        value,
        lower: finite(value - half)?,
        upper: finite(value + half)?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    const Y: [f64; 6] = [55.0, 60.0, 58.0, 66.0, 70.0, 72.0];
    const X: [f64; 6] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];

    #[test]
    fn golden_ols_matches_scipy_linregress() {
        let fit = linregress(&X, &Y).unwrap();
        assert_t1(fit.slope, 3.5142857142857147);
        assert_t1(fit.stderr.unwrap(), 0.5260557897006273);
        assert_t1(fit.r2.unwrap(), 0.9177434030937217);
        // scipy.stats.linregress(x, y): intercept, pvalue, intercept_stderr
        assert_t1(fit.intercept, 54.714285714285715);
        assert_t1(fit.p_value.unwrap(), 0.0026102822229691946);
        assert_t1(fit.intercept_stderr.unwrap(), 1.5927129979621397);
        assert_eq!((fit.n, fit.x_mean, fit.sxx), (6, 2.5, 17.5));
    }

    #[test]
    fn golden_prediction_interval_matches_statsmodels_obs_ci() {
        let fit = linregress(&X, &Y).unwrap();
        let pi = prediction_interval(&fit, 6.0, 0.95).unwrap();
        assert_t1(pi.value, 75.8);
        // Golden vector at 6 decimals; full precision from statsmodels summary_frame.
        assert_close(pi.lower, 67.452176, 5e-7);
        assert_close(pi.upper, 84.147824, 5e-7);
        assert_t1(pi.lower, 67.45217557105575);
        assert_t1(pi.upper, 84.14782442894422);
    }

    #[test]
    fn constant_y_has_no_r2_or_p_value() {
        let fit = linregress(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]).unwrap();
        assert_eq!((fit.slope, fit.intercept), (0.0, 4.0));
        assert_eq!((fit.r2, fit.p_value), (None, None));
        assert_eq!(fit.stderr, Some(0.0));
    }

    #[test]
    fn degenerate_inputs_give_none() {
        assert_eq!(linregress(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(linregress(&[1.0], &[1.0]), None);
        assert_eq!(linregress(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(linregress(&[1.0, f64::NAN], &[1.0, 2.0]), None);
    }

    #[test]
    fn two_points_fit_exactly_without_standard_errors() {
        let fit = linregress(&[0.0, 2.0], &[1.0, 5.0]).unwrap();
        assert_eq!((fit.slope, fit.intercept, fit.r2), (2.0, 1.0, Some(1.0)));
        assert_eq!(
            (fit.stderr, fit.p_value, fit.residual_sd),
            (None, None, None)
        );
        assert_eq!(prediction_interval(&fit, 3.0, 0.95), None);
    }

    #[test]
    fn perfect_fit_has_p_value_zero() {
        let fit = linregress(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]).unwrap();
        assert_eq!(fit.p_value, Some(0.0));
        assert_eq!(fit.r2, Some(1.0));
    }

    proptest! {
        #[test]
        fn linregress_never_returns_non_finite(x in finite_vec(10), y in finite_vec(10), x0 in any_finite(), level in 0.0..1.0f64) {
            let n = x.len().min(y.len());
            if let Some(fit) = linregress(&x[..n], &y[..n]) {
                prop_assert!(ok(fit.slope) && ok(fit.intercept) && ok(fit.x_mean) && ok(fit.sxx));
                prop_assert!(ok_opt(fit.r2) && ok_opt(fit.stderr) && ok_opt(fit.intercept_stderr));
                prop_assert!(ok_opt(fit.p_value) && ok_opt(fit.residual_sd));
                if let Some(pi) = prediction_interval(&fit, x0, level) {
                    prop_assert!(ok(pi.value) && ok(pi.lower) && ok(pi.upper));
                }
            }
        }
    }
}
