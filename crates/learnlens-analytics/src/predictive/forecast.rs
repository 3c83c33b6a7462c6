//! Analytic 18, **performanceForecast**: the learner's next 1–3 first-attempt scores, with
//! prediction intervals, by a method chosen by the length of the series.
//!
//! Definitions and interpretations:
//! - **Series**: one score per assessment, s = score/maxScore clamped to \[0,1\], from the
//!   learner's *first* attempt: among the attempts submitted ≤ `asOf` with a usable score (the
//!   assessment is known, maxScore > 0 and finite, score finite), the one with the lowest
//!   `attemptNo` (then the earliest `submittedAt`, then the smallest attempt id). All kinds of
//!   assessment count (pre, post, quiz, exam), as in performanceAnalytics (analytic 5). Order:
//!   chronological by that attempt's `submittedAt`, then assessment id. Unusable attempts are
//!   counted in `n.invalidAttempts`.
//! - **n = 0**: status `insufficient_data`, reason `no_attempts`; `method`, `forecasts`,
//!   `params`, `sigma` and `trendPerAttempt` are `null`.
//! - **n = 1**: `naive`, every step forecasts y₁, no interval (`lower95`/`upper95` `null`).
//! - **2 ≤ n < `forecast.holt_min_n` (5)**: `linear`, OLS of y on x = 0…n−1
//!   ([`linregress`]), ŷ at x₀ = n − 1 + h; from n ≥ `forecast.ols_interval_min_n` (3) the
//!   95 % prediction interval ŷ ± t_{n−2}·s·√(1 + 1/n + (x₀ − x̄)²/Sxx)
//!   ([`prediction_interval`]); `sigma` = s (`null` for n = 2), `trendPerAttempt` = the slope.
//! - **n ≥ `forecast.holt_min_n`**: `holt`, Holt's linear method ETS(A,A,N) with ℓ₀ = y₁,
//!   b₀ = y₂ − y₁ and (α, β*) by grid search over {step, …, 1 − step}² with
//!   step = `forecast.grid_step` (0.05) minimising the one-step SSE ([`holt_grid_search_on`]);
//!   `sigma` = √(SSE/n), interval ŷ ± z·σ·√(1 + Σ_{j=1}^{h−1}(α + αβ*j)²) with
//!   z = `forecast.interval_z` (Φ⁻¹(0.975) = 1.95996…, the "1.96" of analytics.md at full
//!   precision, as statsmodels uses); `trendPerAttempt` = b_n; `params` = {alpha, beta}.
//! - **Horizon**: `forecast.horizon` clamped to 1–3.
//! - **Clamping**: every value and bound is clamped to \[0,1\]; `clamped` is `true` when any of
//!   them changed. The intervals are those of the unbounded model, cut at the scale's ends.
//! - **`n`**: analytics.md lists `n` among the payload fields, but the header already owns the
//!   key `n` (sample sizes); the series length is `n.observations` there, next to
//!   `n.attempts` (≤ asOf) and `n.invalidAttempts`.
//! - A configured grid step or z that is out of range falls back to the default (reason
//!   `invalid_grid_step` / `invalid_interval_z`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Attempt, Dataset, DatasetIndex};
use crate::stats::holt::{
    Z_95, holt_fit, holt_grid_search_on, smoothing_grid, smoothing_grid_with_step,
};
use crate::stats::regression::{linregress, prediction_interval};

/// Level of the OLS prediction interval.
const OLS_LEVEL: f64 = 0.95;

/// The performanceForecast payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceForecast {
    #[serde(flatten)]
    pub header: Header,
    /// `null` without observations.
    pub method: Option<ForecastMethod>,
    /// Smoothing parameters (Holt only).
    pub params: Option<SmoothingParams>,
    /// Residual standard deviation of the method (s for OLS, √(SSE/n) for Holt).
    pub sigma: Option<f64>,
    /// Slope per attempt (OLS slope or Holt's final trend b_n).
    pub trend_per_attempt: Option<f64>,
    /// `null` without observations.
    pub forecasts: Option<Vec<ForecastPoint>>,
    pub clamped: bool,
}

/// Which method produced the forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForecastMethod {
    Naive,
    Linear,
    Holt,
}

/// Holt's smoothing parameters: α and β* (statsmodels `Holt`'s `smoothing_trend`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmoothingParams {
    pub alpha: f64,
    pub beta: f64,
}

/// One forecast step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForecastPoint {
    pub step: u32,
    pub value: f64,
    pub lower95: Option<f64>,
    pub upper95: Option<f64>,
}

/// How Holt's parameters are chosen: the grid search of the analytic, or fixed values (the
/// golden-vector tests' path).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Smoothing {
    Grid,
    #[cfg_attr(not(test), allow(dead_code))]
    Fixed {
        alpha: f64,
        beta: f64,
    },
}

/// Computes performanceForecast for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> PerformanceForecast {
    compute_indexed(&data.index(), user_id, as_of, cfg)
}

/// Computes performanceForecast for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> PerformanceForecast {
    compute_with(idx, user_id, as_of, cfg, Smoothing::Grid)
}

/// A first-attempt score of the series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FirstAttempt<'a> {
    pub assessment_id: &'a str,
    pub submitted_at: DateTime<Utc>,
    pub score: f64,
}

/// The learner's first-attempt scores stamped ≤ `as_of`, in chronological order, and the
/// number of unusable attempts (see the module documentation).
pub(crate) fn first_attempt_series<'a>(
    idx: &DatasetIndex<'a>,
    user_id: &str,
    as_of: DateTime<Utc>,
) -> (Vec<FirstAttempt<'a>>, usize, usize) {
    let mut first: BTreeMap<&'a str, (&'a Attempt, f64)> = BTreeMap::new();
    let (mut seen, mut invalid) = (0usize, 0usize);
    for attempt in idx.attempts_of(user_id) {
        if attempt.submitted_at > as_of {
            continue;
        }
        seen += 1;
        let Some(assessment) = idx.assessment(&attempt.assessment_id) else {
            invalid += 1;
            continue;
        };
        let max = assessment.max_score;
        if !(max.is_finite() && max > 0.0 && attempt.score.is_finite()) {
            invalid += 1;
            continue;
        }
        let score = (attempt.score / max).clamp(0.0, 1.0);
        let key = |a: &Attempt| (a.attempt_no, a.submitted_at, a.id.clone());
        match first.get(attempt.assessment_id.as_str()) {
            Some((held, _)) if key(held) <= key(attempt) => {}
            _ => {
                first.insert(attempt.assessment_id.as_str(), (attempt, score));
            }
        }
    }
    let mut series: Vec<FirstAttempt<'a>> = first
        .into_iter()
        .map(|(assessment_id, (attempt, score))| FirstAttempt {
            assessment_id,
            submitted_at: attempt.submitted_at,
            score,
        })
        .collect();
    series.sort_by(|a, b| {
        a.submitted_at
            .cmp(&b.submitted_at)
            .then_with(|| a.assessment_id.cmp(b.assessment_id))
    });
    (series, seen, invalid)
}

fn compute_with(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    smoothing: Smoothing,
) -> PerformanceForecast {
    let fc = &cfg.forecast;
    let mut header = Header::new(as_of);
    let (series, seen, invalid) = first_attempt_series(idx, user_id, as_of);
    let y: Vec<f64> = series.iter().map(|a| a.score).collect();
    let n = y.len();
    header.set_n("observations", n);
    header.set_n("attempts", seen);
    header.set_n("invalidAttempts", invalid);
    let horizon = fc.horizon.clamp(1, 3);
    let steps = 1..=horizon;

    let mut out = PerformanceForecast {
        header,
        method: None,
        params: None,
        sigma: None,
        trend_per_attempt: None,
        forecasts: None,
        clamped: false,
    };
    let holt_min = usize::try_from(fc.holt_min_n.max(2)).unwrap_or(usize::MAX);
    let raw: Option<Vec<ForecastPoint>> = match (n, y.first()) {
        (0, _) | (_, None) => {
            out.header.status = Status::InsufficientData;
            out.header.add_reason("no_attempts");
            None
        }
        (1, Some(&y1)) => {
            out.method = Some(ForecastMethod::Naive);
            Some(
                steps
                    .map(|step| ForecastPoint {
                        step,
                        value: y1,
                        lower95: None,
                        upper95: None,
                    })
                    .collect(),
            )
        }
        (n, _) if n < holt_min => linear(&y, horizon, fc.ols_interval_min_n, &mut out),
        _ => holt(&y, horizon, cfg, smoothing, &mut out),
    };
    if n > 0 && raw.is_none() {
        // Only reachable if a fit overflows, which scores in [0,1] cannot do.
        out.header.status = Status::InsufficientData;
        out.header.add_reason("fit_failed");
        out.method = None;
    }
    out.forecasts = raw.map(|points| {
        points
            .into_iter()
            .map(|p| {
                let value = clamp_unit(p.value, &mut out.clamped);
                let lower95 = p.lower95.map(|v| clamp_unit(v, &mut out.clamped));
                let upper95 = p.upper95.map(|v| clamp_unit(v, &mut out.clamped));
                ForecastPoint {
                    step: p.step,
                    value,
                    lower95,
                    upper95,
                }
            })
            .collect()
    });
    out
}

/// `v` clamped to \[0,1\], recording whether it changed.
fn clamp_unit(v: f64, clamped: &mut bool) -> f64 {
    let c = v.clamp(0.0, 1.0);
    if c != v {
        *clamped = true;
    }
    c
}

/// OLS on the index, with prediction intervals from `interval_min_n` observations on.
fn linear(
    y: &[f64],
    horizon: u32,
    interval_min_n: u32,
    out: &mut PerformanceForecast,
) -> Option<Vec<ForecastPoint>> {
    let n = y.len();
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let fit = linregress(&x, y)?;
    out.method = Some(ForecastMethod::Linear);
    out.sigma = fit.residual_sd;
    out.trend_per_attempt = Some(fit.slope);
    let with_interval = n >= usize::try_from(interval_min_n).unwrap_or(usize::MAX);
    (1..=horizon)
        .map(|step| {
            let x0 = (n - 1) as f64 + f64::from(step);
            let value = fit.predict(x0)?;
            let pi = with_interval
                .then(|| prediction_interval(&fit, x0, OLS_LEVEL))
                .flatten();
            Some(ForecastPoint {
                step,
                value,
                lower95: pi.as_ref().map(|i| i.lower),
                upper95: pi.as_ref().map(|i| i.upper),
            })
        })
        .collect()
}

/// Holt's method with grid-searched (or fixed) parameters.
fn holt(
    y: &[f64],
    horizon: u32,
    cfg: &Config,
    smoothing: Smoothing,
    out: &mut PerformanceForecast,
) -> Option<Vec<ForecastPoint>> {
    let fc = &cfg.forecast;
    let fit = match smoothing {
        Smoothing::Grid => {
            let grid = match smoothing_grid_with_step(fc.grid_step) {
                Some(grid) if !grid.is_empty() => grid,
                _ => {
                    out.header.add_reason("invalid_grid_step");
                    smoothing_grid()
                }
            };
            holt_grid_search_on(y, &grid)?
        }
        Smoothing::Fixed { alpha, beta } => holt_fit(y, alpha, beta)?,
    };
    let z = if fc.interval_z.is_finite() && fc.interval_z > 0.0 {
        fc.interval_z
    } else {
        out.header.add_reason("invalid_interval_z");
        Z_95
    };
    let points = fit.forecast_with_z(usize::try_from(horizon).unwrap_or(3), z)?;
    out.method = Some(ForecastMethod::Holt);
    out.params = Some(SmoothingParams {
        alpha: fit.alpha,
        beta: fit.beta,
    });
    out.sigma = Some(fit.sigma2.sqrt());
    out.trend_per_attempt = Some(fit.trend);
    Some(
        points
            .into_iter()
            .map(|f| ForecastPoint {
                step: u32::try_from(f.step).unwrap_or(u32::MAX),
                value: f.value,
                lower95: Some(f.lower),
                upper95: Some(f.upper),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Assessment, AssessmentKind};
    use crate::stats::holt::holt_grid_search;
    use crate::test_support::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    /// Tolerance T1 of analytics.md.
    fn t1(got: f64, want: f64) {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "got {got}, want {want}"
        );
    }

    fn t1_opt(got: Option<f64>, want: f64) {
        t1(got.expect("a value"), want);
    }

    fn assessment(id: &str, max: f64) -> Assessment {
        Assessment {
            id: id.into(),
            course_id: "c1".into(),
            content_item_id: None,
            kind: AssessmentKind::Quiz,
            max_score: max,
            pass_score: max / 2.0,
            due_at: None,
            weight: None,
            items: vec![],
        }
    }

    fn attempt(id: &str, assessment: &str, no: u32, at: &str, score: f64) -> crate::input::Attempt {
        crate::input::Attempt {
            id: id.into(),
            assessment_id: assessment.into(),
            user_id: "u1".into(),
            attempt_no: no,
            submitted_at: ts(at),
            score,
            passed: false,
            responses: vec![],
        }
    }

    /// One first attempt per day from 2025-06-01, out of 100.
    fn series(scores: &[f64]) -> Dataset {
        let mut data = Dataset::default();
        for (i, s) in scores.iter().enumerate() {
            let a = format!("a{i}");
            data.assessments.push(assessment(&a, 100.0));
            data.attempts.push(attempt(
                &format!("t{i}"),
                &a,
                1,
                &format!("2025-06-{:02}T10:00:00Z", i + 1),
                *s,
            ));
        }
        data
    }

    const GOLDEN: [f64; 6] = [55.0, 60.0, 58.0, 66.0, 70.0, 72.0];

    #[test]
    fn golden_holt_vector_through_the_analytic_on_the_unit_scale() {
        // analytics.md §3 on 0–100; the analytic works on score/maxScore, so every value,
        // bound and σ is the golden one divided by 100 (σ² by 100²).
        let data = series(&GOLDEN);
        let f = compute_with(
            &data.index(),
            "u1",
            ts(AS_OF),
            &Config::default(),
            Smoothing::Fixed {
                alpha: 0.5,
                beta: 0.3,
            },
        );
        assert_eq!(f.header.status, Status::Ok);
        assert_eq!(f.method, Some(ForecastMethod::Holt));
        assert_eq!(f.header.n.get("observations"), Some(&6));
        assert_eq!(
            f.params,
            Some(SmoothingParams {
                alpha: 0.5,
                beta: 0.3
            })
        );
        t1_opt(f.sigma, 13.455864907344148_f64.sqrt() / 100.0);
        let points = f.forecasts.expect("forecasts");
        let values = [75.663774140625, 79.0086678125, 82.353561484375];
        // Full precision of the 6-decimal golden bounds (statsmodels ETSModel).
        let bounds = [
            (68.47418785639516, 82.85336042485483),
            (70.43374858781608, 87.5835870371839),
            (72.02830428126279, 92.6788186874872),
        ];
        assert_eq!(points.len(), 3);
        for ((p, v), (lo, hi)) in points.iter().zip(values).zip(bounds) {
            t1(p.value, v / 100.0);
            t1_opt(p.lower95, lo / 100.0);
            t1_opt(p.upper95, hi / 100.0);
            // And the 6-decimal golden itself, at its own precision.
            assert!((p.lower95.expect("lower") * 100.0 - lo).abs() < 5e-7);
        }
        assert_eq!(points.iter().map(|p| p.step).collect::<Vec<_>>(), [1, 2, 3]);
        // b_n = (ŷ₂ − ŷ₁) per attempt.
        t1_opt(f.trend_per_attempt, (values[1] - values[0]) / 100.0);
        assert!(!f.clamped);
    }

    #[test]
    fn holt_parameters_come_from_the_grid_search_by_default() {
        let data = series(&GOLDEN);
        let f = compute(&data, "u1", ts(AS_OF), &Config::default());
        let scaled: Vec<f64> = GOLDEN.iter().map(|v| v / 100.0).collect();
        let best = holt_grid_search(&scaled).expect("fit");
        assert_eq!(
            f.params,
            Some(SmoothingParams {
                alpha: best.alpha,
                beta: best.beta
            })
        );
        let first = &f.forecasts.expect("forecasts")[0];
        t1(first.value, best.point_forecast(1).expect("value"));
    }

    #[test]
    fn golden_ols_prediction_interval_through_the_analytic() {
        // Six points with Holt disabled (holt_min_n = 7) take the OLS path: at x₀ = 6,
        // 75.8 with PI [67.452176, 84.147824] on 0–100 (statsmodels obs_ci), /100 here.
        let mut cfg = Config::default();
        cfg.forecast.holt_min_n = 7;
        let f = compute(&series(&GOLDEN), "u1", ts(AS_OF), &cfg);
        assert_eq!(f.method, Some(ForecastMethod::Linear));
        assert_eq!(f.params, None);
        let p = &f.forecasts.expect("forecasts")[0];
        t1(p.value, 0.758);
        t1_opt(p.lower95, 0.6745217557105575);
        t1_opt(p.upper95, 0.8414782442894422);
        t1_opt(f.trend_per_attempt, 3.5142857142857147 / 100.0); // golden slope / 100
    }

    #[test]
    fn three_points_get_an_ols_forecast_with_t_intervals() {
        // y = .50, .52, .55 on x = 0,1,2: slope .025, intercept .4983…, SSE 1/60000, s = √SSE.
        let f = compute(
            &series(&[50.0, 52.0, 55.0]),
            "u1",
            ts(AS_OF),
            &Config::default(),
        );
        assert_eq!(f.method, Some(ForecastMethod::Linear));
        let slope = 0.025;
        let intercept = 1.57 / 3.0 - slope;
        let s = (1.0_f64 / 60_000.0).sqrt();
        let t = (0.475 * std::f64::consts::PI).tan(); // t quantile with 1 df (Cauchy)
        t1_opt(f.sigma, s);
        t1_opt(f.trend_per_attempt, slope);
        for p in f.forecasts.expect("forecasts") {
            let x0 = 2.0 + f64::from(p.step);
            let value = intercept + slope * x0;
            let half = t * s * (1.0 + 1.0 / 3.0 + (x0 - 1.0).powi(2) / 2.0).sqrt();
            t1(p.value, value);
            t1_opt(p.lower95, value - half);
            t1_opt(p.upper95, value + half);
        }
        assert!(!f.clamped);
    }

    #[test]
    fn two_points_extrapolate_without_an_interval_and_clamp_at_one() {
        let f = compute(&series(&[40.0, 60.0]), "u1", ts(AS_OF), &Config::default());
        assert_eq!(f.method, Some(ForecastMethod::Linear));
        assert_eq!(f.sigma, None);
        let points = f.forecasts.expect("forecasts");
        let values: Vec<f64> = points.iter().map(|p| p.value).collect();
        t1(values[0], 0.8);
        t1(values[1], 1.0);
        assert_eq!(values[2], 1.0); // 1.2, clamped
        assert!(
            points
                .iter()
                .all(|p| p.lower95.is_none() && p.upper95.is_none())
        );
        assert!(f.clamped);
    }

    #[test]
    fn wide_intervals_are_clamped_to_the_unit_interval() {
        // .5, .7, .6: s = √0.015 and t₁ = 12.7 give bounds far outside [0,1].
        let f = compute(
            &series(&[5.0, 7.0, 6.0].map(|v| v * 10.0)),
            "u1",
            ts(AS_OF),
            &Config::default(),
        );
        let p = &f.forecasts.expect("forecasts")[0];
        t1(p.value, 0.7);
        assert_eq!((p.lower95, p.upper95), (Some(0.0), Some(1.0)));
        assert!(f.clamped);
    }

    #[test]
    fn one_point_gives_a_naive_forecast_without_interval() {
        let f = compute(&series(&[64.0]), "u1", ts(AS_OF), &Config::default());
        assert_eq!(f.header.status, Status::Ok);
        assert_eq!(f.method, Some(ForecastMethod::Naive));
        let points = f.forecasts.expect("forecasts");
        assert_eq!(points.len(), 3);
        assert!(
            points
                .iter()
                .all(|p| p.value == 0.64 && p.lower95.is_none() && p.upper95.is_none())
        );
        assert_eq!((f.sigma, f.trend_per_attempt, f.params), (None, None, None));
    }

    #[test]
    fn no_attempts_give_null_forecasts() {
        let f = compute(&Dataset::default(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(f.header.status, Status::InsufficientData);
        assert_eq!(f.header.reasons, ["no_attempts"]);
        assert_eq!((f.method, f.forecasts.clone()), (None, None));
        let json = serde_json::to_value(&f).expect("serialises");
        assert!(json["forecasts"].is_null() && json["method"].is_null());
        assert_eq!(json["n"]["observations"], 0);
    }

    #[test]
    fn the_series_keeps_first_attempts_in_chronological_order() {
        let mut data = series(&[]);
        data.assessments = vec![
            assessment("a", 10.0),
            assessment("b", 50.0),
            assessment("z", 0.0), // maxScore 0: invalid
        ];
        data.attempts = vec![
            attempt("t1", "b", 1, "2025-06-05T00:00:00Z", 40.0), // 0.8, second in time
            attempt("t2", "a", 2, "2025-06-04T00:00:00Z", 10.0), // retake of a
            attempt("t3", "a", 1, "2025-06-03T00:00:00Z", 3.0),  // 0.3, first
            attempt("t4", "z", 1, "2025-06-06T00:00:00Z", 3.0),
            attempt("t5", "c", 1, "2025-06-06T00:00:00Z", 3.0), // unknown assessment
            attempt("t6", "d", 1, "2025-07-06T00:00:00Z", 3.0), // after asOf
            attempt("t7", "b", 2, "2025-06-07T00:00:00Z", 60.0), // retake, > max
        ];
        let idx = data.index();
        let (s, seen, invalid) = first_attempt_series(&idx, "u1", ts(AS_OF));
        let got: Vec<(&str, f64)> = s.iter().map(|a| (a.assessment_id, a.score)).collect();
        assert_eq!(got, [("a", 0.3), ("b", 0.8)]);
        assert_eq!((seen, invalid), (6, 2));
        let f = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(f.header.n.get("invalidAttempts"), Some(&2));
        t1_opt(f.trend_per_attempt, 0.5);
    }

    #[test]
    fn the_horizon_is_configurable_between_one_and_three() {
        let mut cfg = Config::default();
        cfg.forecast.horizon = 1;
        let one = compute(&series(&GOLDEN), "u1", ts(AS_OF), &cfg);
        assert_eq!(one.forecasts.map(|f| f.len()), Some(1));
        cfg.forecast.horizon = 9;
        let three = compute(&series(&GOLDEN), "u1", ts(AS_OF), &cfg);
        assert_eq!(three.forecasts.map(|f| f.len()), Some(3));
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let f = compute(&series(&GOLDEN), "u1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&f).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&f).expect("serialises");
        for key in [
            "method",
            "params",
            "sigma",
            "trendPerAttempt",
            "forecasts",
            "clamped",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["method"], "holt");
        for key in ["alpha", "beta"] {
            assert!(json["params"].get(key).is_some(), "missing params.{key}");
        }
        for key in ["step", "value", "lower95", "upper95"] {
            assert!(
                json["forecasts"][0].get(key).is_some(),
                "missing forecasts.{key}"
            );
        }
        let back: PerformanceForecast = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, f);
    }
}
