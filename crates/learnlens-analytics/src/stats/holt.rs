//! Holt's linear trend method, ETS(A,A,N), with a deterministic grid search and prediction
//! intervals (performanceForecast, analytics.md §18).
//!
//! Recursion with known initial values ℓ₀ = y₁, b₀ = y₂ − y₁ (applied before the first
//! observation, so y₁ is also a one-step forecast target):
//! ℓₜ = αyₜ + (1 − α)(ℓₜ₋₁ + bₜ₋₁), bₜ = β*(ℓₜ − ℓₜ₋₁) + (1 − β*)bₜ₋₁; forecasts
//! ŷₙ₊ₕ = ℓₙ + h·bₙ; σ² = SSE/n of the one-step errors; the interval is
//! ŷ ± z·σ·√(1 + Σⱼ₌₁^{h−1}(α + αβ*j)²) (Hyndman & Athanasopoulos, FPP3 §8.7).
//!
//! References (T1): forecasts = statsmodels `Holt(y, initialization_method="known",
//! initial_level=y[0], initial_trend=y[1]-y[0]).fit(smoothing_level=α, smoothing_trend=β*,
//! optimized=False).forecast(h)`; σ² and intervals = statsmodels `ETSModel(error="add",
//! trend="add", initialization_method="known", …)` with `smoothing_trend = αβ*`,
//! `get_prediction(...).summary_frame(alpha=0.05)`. The grid search has no library
//! counterpart (statsmodels' optimiser differs); it is specified exactly below.

use super::dist::normal_quantile;
use super::finite;
use serde::Serialize;

/// z = Φ⁻¹(0.975) as statsmodels uses it for a 95 % interval.
pub const Z_95: f64 = 1.959_963_984_540_054;

/// A fitted Holt model: parameters, final state and one-step error statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HoltFit {
    /// Number of observations.
    pub n: usize,
    /// Level smoothing α.
    pub alpha: f64,
    /// Trend smoothing β* (statsmodels `Holt`'s `smoothing_trend`; ETS's is αβ*).
    pub beta: f64,
    /// Final level ℓₙ.
    pub level: f64,
    /// Final trend bₙ (the per-step trend the forecasts extrapolate).
    pub trend: f64,
    /// Sum of squared one-step errors over all n observations.
    pub sse: f64,
    /// σ² = SSE/n.
    pub sigma2: f64,
}

/// One forecast step with its prediction interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Forecast {
    /// Steps ahead, h ≥ 1.
    pub step: usize,
    /// Point forecast ℓₙ + h·bₙ.
    pub value: f64,
    /// Lower prediction bound.
    pub lower: f64,
    /// Upper prediction bound.
    pub upper: f64,
}

/// Fits Holt's method with fixed α and β* (both in [0, 1]).
///
/// `None` for fewer than 2 observations (b₀ needs y₂), a non-finite value or parameter, or
/// an overflow.
pub fn holt_fit(y: &[f64], alpha: f64, beta: f64) -> Option<HoltFit> {
    if y.len() < 2
        || !super::all_finite(y)
        || !(0.0..=1.0).contains(&alpha)
        || !(0.0..=1.0).contains(&beta)
    {
        return None;
    }
    let (y1, y2) = (*y.first()?, *y.get(1)?);
    let mut level = y1;
    let mut trend = finite(y2 - y1)?;
    let mut sse = 0.0;
    for &yt in y {
        let forecast = level + trend;
        sse += (yt - forecast).powi(2);
        let new_level = alpha * yt + (1.0 - alpha) * forecast;
        trend = beta * (new_level - level) + (1.0 - beta) * trend;
        level = new_level;
    }
    let n = y.len();
    Some(HoltFit {
        n,
        alpha,
        beta,
        level: finite(level)?,
        trend: finite(trend)?,
        sse: finite(sse)?,
        sigma2: finite(sse / n as f64)?,
    })
}

/// The grid of smoothing values {0.05, 0.10, …, 0.95}, built as k/20 for k = 1..19 so that
/// each value is the correctly rounded decimal (no accumulated addition error).
pub fn smoothing_grid() -> Vec<f64> {
    (1..20).map(|k| k as f64 / 20.0).collect()
}

/// The smallest step [`smoothing_grid_with_step`] accepts: a grid of at most 999 values, so a
/// search costs at most ~10⁶ fits.
pub const MIN_GRID_STEP: f64 = 0.001;

/// A smoothing grid {step, 2·step, …} up to 1 − step, for a configurable step in
/// \[[`MIN_GRID_STEP`], ½\].
///
/// When 1/step is (within 1e-9) an integer m, the values are built as k/m, so that step 0.05
/// gives exactly [`smoothing_grid`]; otherwise as k·step for every k·step ≤ 1 − step (+1e-12).
/// `None` for a step outside that range or not finite.
pub fn smoothing_grid_with_step(step: f64) -> Option<Vec<f64>> {
    if !(step.is_finite() && (MIN_GRID_STEP..=0.5).contains(&step)) {
        return None;
    }
    let m = (1.0 / step).round();
    if (m * step - 1.0).abs() <= 1e-9 {
        // 2 ≤ m ≤ 1000 by the range check.
        let m = m as u32;
        return Some((1..m).map(|k| f64::from(k) / f64::from(m)).collect());
    }
    let grid = (1..1000u32)
        .map(|k| f64::from(k) * step)
        .take_while(|v| *v <= 1.0 - step + 1e-12)
        .collect();
    Some(grid)
}

/// Grid search of (α, β*) over [`smoothing_grid`]² minimising the one-step SSE.
///
/// The search runs α-major (α outer loop, β* inner, both ascending) and keeps the first
/// strictly smaller SSE, so ties resolve to the smallest α, then the smallest β*.
/// `None` under the conditions of [`holt_fit`].
pub fn holt_grid_search(y: &[f64]) -> Option<HoltFit> {
    holt_grid_search_on(y, &smoothing_grid())
}

/// [`holt_grid_search`] over `grid`² (α and β* take the same values, in the given order;
/// ties keep the first pair met, α-major). `None` when the grid is empty or under the
/// conditions of [`holt_fit`].
pub fn holt_grid_search_on(y: &[f64], grid: &[f64]) -> Option<HoltFit> {
    let mut best: Option<HoltFit> = None;
    for &alpha in grid {
        for &beta in grid {
            if let Some(fit) = holt_fit(y, alpha, beta)
                && best.as_ref().is_none_or(|b| fit.sse < b.sse)
            {
                best = Some(fit);
            }
        }
    }
    best
}

impl HoltFit {
    /// Point forecast h steps ahead, ℓₙ + h·bₙ.
    pub fn point_forecast(&self, h: usize) -> Option<f64> {
        finite(self.level + h as f64 * self.trend)
    }

    /// Forecasts for h = 1..=horizon with 95 % prediction intervals (z = [`Z_95`]).
    pub fn forecast(&self, horizon: usize) -> Option<Vec<Forecast>> {
        self.forecast_with_z(horizon, Z_95)
    }

    /// Forecasts with prediction intervals at `level` ∈ (0, 1).
    pub fn forecast_at(&self, horizon: usize, level: f64) -> Option<Vec<Forecast>> {
        if !(level > 0.0 && level < 1.0) {
            return None;
        }
        // statsmodels: norm.ppf(1 − (1 − level)/2).
        let z = normal_quantile(1.0 - (1.0 - level) / 2.0)?;
        self.forecast_with_z(horizon, z)
    }

    /// Forecasts with intervals ŷ ± z·σ·√(1 + Σⱼ(α + αβ*j)²) for a given z > 0 (for instance
    /// a configured 1.96). `None` when z is not a positive finite number or a value overflows.
    pub fn forecast_with_z(&self, horizon: usize, z: f64) -> Option<Vec<Forecast>> {
        if !(z.is_finite() && z > 0.0) {
            return None;
        }
        let sigma = self.sigma2.sqrt();
        let mut var_factor = 1.0;
        (1..=horizon)
            .map(|h| {
                if h > 1 {
                    // c_j = α + αβ*·j for j = h − 1 (FPP3 Table 8.8, ETS(A,A,N)).
                    let j = (h - 1) as f64;
                    var_factor += (self.alpha + self.alpha * self.beta * j).powi(2);
                }
                let value = self.point_forecast(h)?;
                let half = finite(z * sigma * var_factor.sqrt())?;
                Some(Forecast {
                    step: h,
                    value,
                    lower: finite(value - half)?,
                    upper: finite(value + half)?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    const Y: [f64; 6] = [55.0, 60.0, 58.0, 66.0, 70.0, 72.0];

    #[test]
    fn golden_holt_forecasts_and_intervals() {
        let fit = holt_fit(&Y, 0.5, 0.3).unwrap();
        assert_t1(fit.sigma2, 13.455864907344148);
        let f = fit.forecast(3).unwrap();
        let values = [75.663774140625, 79.0086678125, 82.353561484375];
        let bounds = [
            (68.474188, 82.853360),
            (70.433749, 87.583587),
            (72.028304, 92.678819),
        ];
        for ((fc, v), (lo, hi)) in f.iter().zip(values).zip(bounds) {
            assert_t1(fc.value, v);
            assert_close(fc.lower, lo, 5e-7);
            assert_close(fc.upper, hi, 5e-7);
        }
        assert_eq!(f.iter().map(|x| x.step).collect::<Vec<_>>(), vec![1, 2, 3]);
        // Full precision from statsmodels ETSModel summary_frame(alpha=0.05).
        let full = [
            (68.47418785639516, 82.85336042485483),
            (70.43374858781608, 87.5835870371839),
            (72.02830428126279, 92.6788186874872),
        ];
        for (fc, (lo, hi)) in f.iter().zip(full) {
            assert_t1(fc.lower, lo);
            assert_t1(fc.upper, hi);
        }
        // statsmodels Holt(...).sse
        assert_t1(fit.sse, 80.73518944406489);
    }

    #[test]
    fn intervals_at_another_level_use_the_normal_quantile() {
        let fit = holt_fit(&Y, 0.5, 0.3).unwrap();
        let a = fit.forecast(2).unwrap();
        let b = fit.forecast_at(2, 0.95).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert_close(x.lower, y.lower, 1e-12);
        }
        assert_eq!(fit.forecast_at(2, 1.0), None);
    }

    #[test]
    fn grid_is_exact_twentieths() {
        let g = smoothing_grid();
        assert_eq!(g.len(), 19);
        assert_eq!((g[0], g[1], g[2], g[18]), (0.05, 0.1, 0.15, 0.95));
    }

    #[test]
    fn grid_with_step_reproduces_the_twentieths_and_other_steps() {
        assert_eq!(smoothing_grid_with_step(0.05).unwrap(), smoothing_grid());
        assert_eq!(
            smoothing_grid_with_step(0.25).unwrap(),
            vec![0.25, 0.5, 0.75]
        );
        assert_eq!(smoothing_grid_with_step(0.1).unwrap()[2], 0.3);
        // 1/0.3 is not an integer: 0.3 and 0.6 (0.9 > 1 − 0.3).
        assert_eq!(smoothing_grid_with_step(0.3).unwrap().len(), 2);
        assert_eq!(smoothing_grid_with_step(0.5).unwrap(), vec![0.5]);
        assert_eq!(smoothing_grid_with_step(0.0), None);
        assert_eq!(smoothing_grid_with_step(0.6), None);
        assert_eq!(smoothing_grid_with_step(1e-300), None);
        assert_eq!(smoothing_grid_with_step(MIN_GRID_STEP).unwrap().len(), 999);
        assert_eq!(smoothing_grid_with_step(f64::NAN), None);
    }

    #[test]
    fn grid_search_on_a_custom_grid_agrees_with_the_default_grid() {
        assert_eq!(
            holt_grid_search_on(&Y, &smoothing_grid()),
            holt_grid_search(&Y)
        );
        let coarse = holt_grid_search_on(&Y, &[0.5]).unwrap();
        assert_eq!((coarse.alpha, coarse.beta), (0.5, 0.5));
        assert_eq!(holt_grid_search_on(&Y, &[]), None);
    }

    #[test]
    fn intervals_with_a_given_z_scale_the_half_width() {
        let fit = holt_fit(&Y, 0.5, 0.3).unwrap();
        let a = fit.forecast(3).unwrap();
        let b = fit.forecast_with_z(3, 2.0 * Z_95).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert_close(y.upper - y.value, 2.0 * (x.upper - x.value), 1e-12);
        }
        assert_eq!(fit.forecast_with_z(2, 0.0), None);
        assert_eq!(fit.forecast_with_z(2, f64::INFINITY), None);
    }

    #[test]
    fn grid_search_picks_the_minimum_sse() {
        let best = holt_grid_search(&Y).unwrap();
        for a in smoothing_grid() {
            for b in smoothing_grid() {
                assert!(holt_fit(&Y, a, b).unwrap().sse >= best.sse);
            }
        }
    }

    #[test]
    fn grid_search_ties_keep_the_first_alpha_major() {
        // A constant series has SSE 0 for every (α, β*): the first pair wins.
        let best = holt_grid_search(&[0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
        assert_eq!((best.alpha, best.beta, best.sse), (0.05, 0.05, 0.0));
        assert_eq!(best.point_forecast(1), Some(0.0));
    }

    #[test]
    fn too_short_series_give_none() {
        assert_eq!(holt_fit(&[1.0], 0.5, 0.5), None);
        assert_eq!(holt_grid_search(&[]), None);
        assert_eq!(holt_fit(&Y, 1.5, 0.5), None);
    }

    proptest! {
        #[test]
        fn holt_never_returns_non_finite(y in finite_vec(8), a in 0.0..=1.0f64, b in 0.0..=1.0f64) {
            if let Some(fit) = holt_fit(&y, a, b) {
                prop_assert!(ok(fit.level) && ok(fit.trend) && ok(fit.sse) && ok(fit.sigma2));
                if let Some(fc) = fit.forecast(3) {
                    for f in fc {
                        prop_assert!(ok(f.value) && ok(f.lower) && ok(f.upper));
                    }
                }
            }
            if let Some(fit) = holt_grid_search(&y) {
                prop_assert!(ok(fit.sse));
            }
        }
    }
}
