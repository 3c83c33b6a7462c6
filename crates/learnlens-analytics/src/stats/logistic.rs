//! L2-penalised logistic regression, feature standardisation and linear SHAP explanations
//! (the dropOffRisk model, analytics.md §17).
//!
//! Training minimises C·Σᵢ logloss(yᵢ, β₀ + βᵀxᵢ) + ½‖β‖² with the intercept unpenalised — the
//! objective of scikit-learn `LogisticRegression(C=C, solver="lbfgs")` — or, with `c = None`,
//! the unpenalised log-likelihood (sklearn `penalty=None`, statsmodels `Logit`). It is solved
//! by Newton–Raphson (IRLS) with a backtracking line search: with at most a dozen features the
//! Hessian is tiny, and Newton converges to machine precision in a handful of iterations where
//! lbfgs stops at its tolerance. Reference (T2, coefficients within 1e-3; in practice < 1e-6):
//! statsmodels `Logit` on the Spector & Mazzeo data (unpenalised) and sklearn
//! `LogisticRegression(C=1.0)` on standardised features.
//!
//! [`StandardScaler`] matches sklearn's `StandardScaler` (population sd, ddof = 0, a constant
//! feature gets scale 1). [`LogisticModel::explain`] gives the interventional SHAP values of a
//! linear model (shap `LinearExplainer`): φᵢ = βᵢ(zᵢ − z̄ᵢ), base = β₀ + βᵀz̄.

use super::finite;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Per-feature centring and scaling, fitted on training rows (sklearn `StandardScaler`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardScaler {
    /// Per-feature mean.
    pub mean: Vec<f64>,
    /// Per-feature population standard deviation (ddof = 0); 1 for a constant feature.
    pub scale: Vec<f64>,
}

impl StandardScaler {
    /// Fits means and scales on `rows` (each of the same length). `None` when there are no
    /// rows, the rows are ragged, or a value is not finite.
    ///
    /// Like sklearn, a feature whose sd is (numerically) zero — all values equal, or sd below
    /// 10·ε — gets scale 1, so it transforms to 0 instead of dividing by zero.
    pub fn fit<R: AsRef<[f64]>>(rows: &[R]) -> Option<Self> {
        let p = rows.first()?.as_ref().len();
        if rows.iter().any(|r| r.as_ref().len() != p) {
            return None;
        }
        let mut mean = Vec::with_capacity(p);
        let mut scale = Vec::with_capacity(p);
        for j in 0..p {
            let col: Vec<f64> = rows
                .iter()
                .filter_map(|r| r.as_ref().get(j).copied())
                .collect();
            mean.push(super::mean(&col)?);
            let constant = col.iter().all(|v| Some(v) == col.first());
            let sd = super::population_sd(&col)?;
            scale.push(if constant || sd < 10.0 * f64::EPSILON {
                1.0
            } else {
                sd
            });
        }
        Some(Self { mean, scale })
    }

    /// z = (x − mean)/scale; `None` when the length differs or a result is not finite.
    pub fn transform(&self, row: &[f64]) -> Option<Vec<f64>> {
        if row.len() != self.mean.len() {
            return None;
        }
        row.iter()
            .zip(self.mean.iter().zip(&self.scale))
            .map(|(x, (m, s))| finite((x - m) / s))
            .collect()
    }

    /// [`Self::transform`] applied to every row.
    pub fn transform_all<R: AsRef<[f64]>>(&self, rows: &[R]) -> Option<Vec<Vec<f64>>> {
        rows.iter().map(|r| self.transform(r.as_ref())).collect()
    }
}

/// Training options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogisticOptions {
    /// Inverse regularisation strength C (sklearn's); `None` = no penalty.
    pub c: Option<f64>,
    /// Maximum number of Newton iterations.
    pub max_iter: usize,
    /// Convergence threshold on the largest component of the mean gradient,
    /// maxⱼ |∂f/∂βⱼ| / n.
    pub tol: f64,
}

impl Default for LogisticOptions {
    /// C = 1 (sklearn's default), 100 iterations, tolerance 1e-10.
    fn default() -> Self {
        Self {
            c: Some(1.0),
            max_iter: 100,
            tol: 1e-10,
        }
    }
}

/// A fitted logistic model: logit p = intercept + coefᵀz.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogisticModel {
    /// β₀.
    pub intercept: f64,
    /// β₁…βₚ, in feature order.
    pub coef: Vec<f64>,
    /// Newton iterations performed.
    pub iterations: usize,
    /// Whether the gradient tolerance was reached within `max_iter` iterations. A penalised fit
    /// that stops at `max_iter` is returned with `false`; its coefficients are the last
    /// (finite) iterate.
    pub converged: bool,
}

/// Why a logistic fit could not be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogisticError {
    /// No training rows.
    NoRows,
    /// Rows of different lengths, or labels not matching the rows.
    DimensionMismatch,
    /// A feature value is NaN or infinite.
    NonFiniteInput,
    /// All labels are equal: the model is not identified.
    SingleClass,
    /// C is not a positive finite number.
    InvalidPenalty,
    /// Unpenalised fit on perfectly separable data: the maximum-likelihood coefficients are
    /// infinite. Use a penalty (C). Only complete separation is detected (every fitted
    /// probability within 1e-6 of its label, statsmodels' test); under quasi-complete
    /// separation the fit stops with large finite coefficients, as statsmodels does.
    PerfectSeparation,
    /// The iteration produced non-finite values (extreme inputs); no model is returned.
    Diverged,
}

impl fmt::Display for LogisticError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            Self::NoRows => "no training rows",
            Self::DimensionMismatch => "feature rows and labels do not line up",
            Self::NonFiniteInput => "a feature value is not finite",
            Self::SingleClass => "all labels belong to one class",
            Self::InvalidPenalty => "C must be a positive finite number",
            Self::PerfectSeparation => {
                "the classes are perfectly separable; an unpenalised fit has no finite solution"
            }
            Self::Diverged => "the fit produced non-finite values",
        };
        f.write_str(msg)
    }
}

impl std::error::Error for LogisticError {}

/// The logistic function, evaluated without overflow for any finite input.
pub(crate) fn sigmoid(eta: f64) -> f64 {
    if eta >= 0.0 {
        1.0 / (1.0 + (-eta).exp())
    } else {
        let e = eta.exp();
        e / (1.0 + e)
    }
}

/// ln(1 + e^η) without overflow or loss of precision.
fn softplus(eta: f64) -> f64 {
    if eta > 0.0 {
        eta + (-eta).exp().ln_1p()
    } else {
        eta.exp().ln_1p()
    }
}

/// Objective value, gradient and Hessian at `w` (w[0] = intercept).
struct Eval {
    f: f64,
    grad: Vec<f64>,
    hess: Vec<f64>,
}

struct Problem<'a> {
    rows: Vec<&'a [f64]>,
    y: &'a [bool],
    /// 1/C, or 0 without penalty.
    lambda: f64,
    dim: usize,
}

impl Problem<'_> {
    fn eta(&self, w: &[f64], row: &[f64]) -> f64 {
        w.first().copied().unwrap_or(0.0)
            + row
                .iter()
                .zip(w.iter().skip(1))
                .map(|(x, b)| x * b)
                .sum::<f64>()
    }

    fn penalty(&self, w: &[f64]) -> f64 {
        0.5 * self.lambda * w.iter().skip(1).map(|b| b * b).sum::<f64>()
    }

    fn objective(&self, w: &[f64]) -> f64 {
        let loss: f64 = self
            .rows
            .iter()
            .zip(self.y)
            .map(|(row, &yi)| {
                let eta = self.eta(w, row);
                softplus(eta) - if yi { eta } else { 0.0 }
            })
            .sum();
        loss + self.penalty(w)
    }

    fn gradient(&self, w: &[f64]) -> Vec<f64> {
        let mut g = vec![0.0; self.dim];
        for (row, &yi) in self.rows.iter().zip(self.y) {
            let r = sigmoid(self.eta(w, row)) - f64::from(u8::from(yi));
            add_scaled_features(&mut g, row, r);
        }
        for (gj, wj) in g.iter_mut().zip(w).skip(1) {
            *gj += self.lambda * wj;
        }
        g
    }

    fn eval(&self, w: &[f64]) -> Eval {
        let dim = self.dim;
        let mut hess = vec![0.0; dim * dim];
        for row in &self.rows {
            let p = sigmoid(self.eta(w, row));
            let weight = p * (1.0 - p);
            // x̃ = (1, row); accumulate the upper triangle of weight·x̃x̃ᵀ.
            for a in 0..dim {
                let xa = if a == 0 {
                    1.0
                } else {
                    row.get(a - 1).copied().unwrap_or(0.0)
                };
                for b in a..dim {
                    let xb = if b == 0 {
                        1.0
                    } else {
                        row.get(b - 1).copied().unwrap_or(0.0)
                    };
                    if let Some(h) = hess.get_mut(a * dim + b) {
                        *h += weight * xa * xb;
                    }
                }
            }
        }
        for a in 0..dim {
            for b in 0..a {
                let upper = hess.get(b * dim + a).copied().unwrap_or(0.0);
                if let Some(h) = hess.get_mut(a * dim + b) {
                    *h = upper;
                }
            }
            if a > 0
                && let Some(h) = hess.get_mut(a * dim + a)
            {
                *h += self.lambda;
            }
        }
        Eval {
            f: self.objective(w),
            grad: self.gradient(w),
            hess,
        }
    }
}

/// g += r·(1, row).
fn add_scaled_features(g: &mut [f64], row: &[f64], r: f64) {
    if let Some(g0) = g.first_mut() {
        *g0 += r;
    }
    for (gj, x) in g.iter_mut().skip(1).zip(row) {
        *gj += r * x;
    }
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0_f64, |m, x| m.max(x.abs()))
}

/// Solves (H + μI)d = rhs by Cholesky; `None` if the matrix is not positive definite.
fn cholesky_solve(h: &[f64], dim: usize, mu: f64, rhs: &[f64]) -> Option<Vec<f64>> {
    let at = |m: &[f64], i: usize, j: usize| m.get(i * dim + j).copied().unwrap_or(0.0);
    let mut l = vec![0.0; dim * dim];
    for i in 0..dim {
        for j in 0..=i {
            let mut s = at(h, i, j) + if i == j { mu } else { 0.0 };
            for k in 0..j {
                s -= at(&l, i, k) * at(&l, j, k);
            }
            let v = if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                s.sqrt()
            } else {
                s / at(&l, j, j)
            };
            *l.get_mut(i * dim + j)? = v;
        }
    }
    // Forward then backward substitution.
    let mut z = vec![0.0; dim];
    for i in 0..dim {
        let s = rhs.get(i).copied().unwrap_or(0.0)
            - (0..i)
                .map(|k| at(&l, i, k) * z.get(k).copied().unwrap_or(0.0))
                .sum::<f64>();
        *z.get_mut(i)? = s / at(&l, i, i);
    }
    let mut d = vec![0.0; dim];
    for i in (0..dim).rev() {
        let s = z.get(i).copied().unwrap_or(0.0)
            - (i + 1..dim)
                .map(|k| at(&l, k, i) * d.get(k).copied().unwrap_or(0.0))
                .sum::<f64>();
        *d.get_mut(i)? = s / at(&l, i, i);
    }
    d.iter().all(|v| v.is_finite()).then_some(d)
}

/// Newton direction −H⁻¹g, with Levenberg damping μI added when H is (numerically) singular
/// (collinear features without a penalty, or saturated probabilities).
fn newton_direction(e: &Eval, dim: usize) -> Option<Vec<f64>> {
    let rhs: Vec<f64> = e.grad.iter().map(|g| -g).collect();
    let diag_max = (0..dim)
        .map(|i| e.hess.get(i * dim + i).copied().unwrap_or(0.0))
        .fold(0.0_f64, f64::max);
    let mut mu = 0.0;
    for _ in 0..40 {
        if let Some(d) = cholesky_solve(&e.hess, dim, mu, &rhs) {
            return Some(d);
        }
        mu = if mu == 0.0 {
            1e-12 * diag_max.max(1e-300)
        } else {
            mu * 10.0
        };
    }
    // Fall back to steepest descent.
    Some(rhs)
}

/// Fits a logistic regression of `y` on the feature rows `x` (see the module docs for the
/// objective). Features are used as given: standardise them first with [`StandardScaler`]
/// when a penalty is used, as the analytics do.
pub fn fit_logistic<R: AsRef<[f64]>>(
    x: &[R],
    y: &[bool],
    options: &LogisticOptions,
) -> Result<LogisticModel, LogisticError> {
    let first = x.first().ok_or(LogisticError::NoRows)?;
    let p = first.as_ref().len();
    if x.len() != y.len() || x.iter().any(|r| r.as_ref().len() != p) {
        return Err(LogisticError::DimensionMismatch);
    }
    if x.iter().any(|r| r.as_ref().iter().any(|v| !v.is_finite())) {
        return Err(LogisticError::NonFiniteInput);
    }
    if y.iter().all(|v| *v) || y.iter().all(|v| !*v) {
        return Err(LogisticError::SingleClass);
    }
    let lambda = match options.c {
        None => 0.0,
        Some(c) if c > 0.0 && c.is_finite() => 1.0 / c,
        Some(_) => return Err(LogisticError::InvalidPenalty),
    };
    let dim = p + 1;
    let n = x.len() as f64;
    let problem = Problem {
        rows: x.iter().map(AsRef::as_ref).collect(),
        y,
        lambda,
        dim,
    };

    let mut w = vec![0.0; dim];
    let mut e = problem.eval(&w);
    let mut iterations = 0;
    let mut converged = false;
    let mut polished = false;
    while iterations < options.max_iter {
        if !e.f.is_finite() || e.grad.iter().any(|g| !g.is_finite()) {
            return Err(LogisticError::Diverged);
        }
        if max_abs(&e.grad) / n <= options.tol {
            converged = true;
            // One more Newton step once within tolerance: convergence is quadratic, so it
            // takes the coefficients to machine precision (and is rejected if it does not help).
            if polished {
                break;
            }
            polished = true;
        }
        let Some(d) = newton_direction(&e, dim) else {
            break;
        };
        let slope: f64 = e.grad.iter().zip(&d).map(|(g, di)| g * di).sum();
        let g_norm = max_abs(&e.grad);
        let mut step = 1.0;
        let mut accepted = None;
        while step > 1e-20 {
            let cand: Vec<f64> = w.iter().zip(&d).map(|(wi, di)| wi + step * di).collect();
            let f_new = problem.objective(&cand);
            if f_new.is_finite() {
                // Armijo; or, at the rounding floor of f, a step that still reduces the gradient.
                let armijo = f_new <= e.f + 1e-4 * step * slope;
                let flat = (f_new - e.f).abs() <= 1e-12 * e.f.abs().max(1.0);
                if armijo || (flat && max_abs(&problem.gradient(&cand)) < g_norm) {
                    accepted = Some(cand);
                    break;
                }
            }
            step *= 0.5;
        }
        iterations += 1;
        let Some(cand) = accepted else { break };
        w = cand;
        e = problem.eval(&w);
    }
    if !converged && max_abs(&e.grad) / n <= options.tol {
        converged = true;
    }
    if w.iter().any(|v| !v.is_finite()) {
        return Err(LogisticError::Diverged);
    }
    if lambda == 0.0 {
        // Complete separation: every fitted probability equals its label (statsmodels' test).
        let separated = problem.rows.iter().zip(y).all(|(row, &yi)| {
            let pi = sigmoid(problem.eta(&w, row));
            (pi - f64::from(u8::from(yi))).abs() < 1e-6
        });
        if separated {
            return Err(LogisticError::PerfectSeparation);
        }
    }
    let intercept = w.first().copied().unwrap_or(0.0);
    Ok(LogisticModel {
        intercept,
        coef: w.into_iter().skip(1).collect(),
        iterations,
        converged,
    })
}

/// A linear SHAP decomposition of one prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Explanation {
    /// β₀ + βᵀz̄: the logit of the background (training-mean) input.
    pub base: f64,
    /// φᵢ = βᵢ(zᵢ − z̄ᵢ), in feature order.
    pub contributions: Vec<f64>,
    /// base + Σφᵢ (summed in feature order).
    pub logit: f64,
    /// σ(logit).
    pub probability: f64,
}

impl LogisticModel {
    /// The linear predictor β₀ + βᵀz; `None` if the length differs or it is not finite.
    pub fn logit(&self, z: &[f64]) -> Option<f64> {
        if z.len() != self.coef.len() {
            return None;
        }
        finite(self.intercept + z.iter().zip(&self.coef).map(|(a, b)| a * b).sum::<f64>())
    }

    /// P(y = 1 | z) = σ(β₀ + βᵀz), sklearn `predict_proba(z)[:, 1]`.
    pub fn predict_proba(&self, z: &[f64]) -> Option<f64> {
        self.logit(z).map(sigmoid)
    }

    /// Linear SHAP values of `z` against the background mean `z_mean` (for features
    /// standardised on the training set, z̄ = 0): φᵢ = βᵢ(zᵢ − z̄ᵢ), base = β₀ + βᵀz̄, and
    /// logit = base + Σφᵢ. `None` when lengths differ or a value is not finite.
    pub fn explain(&self, z: &[f64], z_mean: &[f64]) -> Option<Explanation> {
        if z.len() != self.coef.len() || z_mean.len() != self.coef.len() {
            return None;
        }
        let base = self.logit(z_mean)?;
        let contributions: Vec<f64> = self
            .coef
            .iter()
            .zip(z.iter().zip(z_mean))
            .map(|(b, (zi, mi))| finite(b * (zi - mi)))
            .collect::<Option<_>>()?;
        let logit = finite(base + contributions.iter().sum::<f64>())?;
        Some(Explanation {
            base,
            contributions,
            logit,
            probability: sigmoid(logit),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    /// Spector & Mazzeo (1980), as shipped by `statsmodels.datasets.spector`:
    /// GPA, TUCE, PSI → GRADE.
    const SPECTOR: [[f64; 4]; 32] = [
        [2.66, 20.0, 0.0, 0.0],
        [2.89, 22.0, 0.0, 0.0],
        [3.28, 24.0, 0.0, 0.0],
        [2.92, 12.0, 0.0, 0.0],
        [4.00, 21.0, 0.0, 1.0],
        [2.86, 17.0, 0.0, 0.0],
        [2.76, 17.0, 0.0, 0.0],
        [2.87, 21.0, 0.0, 0.0],
        [3.03, 25.0, 0.0, 0.0],
        [3.92, 29.0, 0.0, 1.0],
        [2.63, 20.0, 0.0, 0.0],
        [3.32, 23.0, 0.0, 0.0],
        [3.57, 23.0, 0.0, 0.0],
        [3.26, 25.0, 0.0, 1.0],
        [3.53, 26.0, 0.0, 0.0],
        [2.74, 19.0, 0.0, 0.0],
        [2.75, 25.0, 0.0, 0.0],
        [2.83, 19.0, 0.0, 0.0],
        [3.12, 23.0, 1.0, 0.0],
        [3.16, 25.0, 1.0, 1.0],
        [2.06, 22.0, 1.0, 0.0],
        [3.62, 28.0, 1.0, 1.0],
        [2.89, 14.0, 1.0, 0.0],
        [3.51, 26.0, 1.0, 0.0],
        [3.54, 24.0, 1.0, 1.0],
        [2.83, 27.0, 1.0, 1.0],
        [3.39, 17.0, 1.0, 1.0],
        [2.67, 24.0, 1.0, 0.0],
        [3.65, 21.0, 1.0, 1.0],
        [4.00, 23.0, 1.0, 1.0],
        [3.10, 21.0, 1.0, 0.0],
        [2.39, 19.0, 1.0, 1.0],
    ];

    fn spector() -> (Vec<Vec<f64>>, Vec<bool>) {
        let x = SPECTOR.iter().map(|r| r[..3].to_vec()).collect();
        let y = SPECTOR.iter().map(|r| r[3] == 1.0).collect();
        (x, y)
    }

    #[test]
    fn golden_unpenalised_spector_matches_statsmodels_logit() {
        let (x, y) = spector();
        let opts = LogisticOptions {
            c: None,
            ..LogisticOptions::default()
        };
        let m = fit_logistic(&x, &y, &opts).unwrap();
        assert!(m.converged);
        // Golden (9 decimals) at T2 = 1e-3, and the full statsmodels values (tol=1e-14) at 1e-9.
        let golden = [-13.021346858, 2.826112595, 0.095157661, 2.378687655];
        let full = [
            -13.021346858115697,
            2.826112594889322,
            0.0951576613179095,
            2.3786876550933544,
        ];
        let got = [m.intercept, m.coef[0], m.coef[1], m.coef[2]];
        for ((g, w), f) in got.iter().zip(golden).zip(full) {
            assert_close(*g, w, 1e-3);
            assert_close(*g, w, 1e-8);
            assert_t1(*g, f);
        }
    }

    #[test]
    fn penalised_spector_matches_sklearn_on_standardised_features() {
        let (x, y) = spector();
        let scaler = StandardScaler::fit(&x).unwrap();
        // sklearn StandardScaler().fit(X).mean_ / .scale_
        let means = [3.1171875, 21.9375, 0.4375];
        let scales = [0.45936256360716854, 3.8400642898264086, 0.49607837082461076];
        for j in 0..3 {
            assert_t1(scaler.mean[j], means[j]);
            assert_t1(scaler.scale[j], scales[j]);
        }
        let z = scaler.transform_all(&x).unwrap();
        let m = fit_logistic(&z, &y, &LogisticOptions::default()).unwrap();
        assert!(m.converged);
        // sklearn LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-14).fit(Z, y)
        let want = [
            -0.9264596502825869,
            0.9774980035498108,
            0.3270842210890086,
            0.8930148664732906,
        ];
        let got = [m.intercept, m.coef[0], m.coef[1], m.coef[2]];
        for (g, w) in got.iter().zip(want) {
            assert_close(*g, w, 1e-6);
        }
        // predict_proba(Z[:3])[:, 1]
        let probs = [
            0.05458193342862226,
            0.10045822184122512,
            0.23292077321311244,
        ];
        for (row, p) in z.iter().zip(probs) {
            assert_close(m.predict_proba(row).unwrap(), p, 1e-6);
        }
    }

    #[test]
    fn stronger_penalty_matches_sklearn() {
        let (x, y) = spector();
        let scaler = StandardScaler::fit(&x).unwrap();
        let z = scaler.transform_all(&x).unwrap();
        let m = fit_logistic(
            &z,
            &y,
            &LogisticOptions {
                c: Some(0.1),
                ..LogisticOptions::default()
            },
        )
        .unwrap();
        // sklearn LogisticRegression(C=0.1, solver="newton-cholesky", tol=1e-14).fit(Z, y)
        let want = [
            -0.7087332129590491,
            0.40814449248474954,
            0.1965014389067261,
            0.36458130348858936,
        ];
        let got = [m.intercept, m.coef[0], m.coef[1], m.coef[2]];
        for (g, w) in got.iter().zip(want) {
            assert_close(*g, w, 1e-6);
        }
    }

    #[test]
    fn shap_contributions_add_up_to_the_logit() {
        let (x, y) = spector();
        let scaler = StandardScaler::fit(&x).unwrap();
        let z = scaler.transform_all(&x).unwrap();
        let m = fit_logistic(&z, &y, &LogisticOptions::default()).unwrap();
        let zero = vec![0.0; 3];
        for row in &z {
            let e = m.explain(row, &zero).unwrap();
            assert_eq!(e.base, m.intercept);
            assert_eq!(e.logit, e.base + e.contributions.iter().sum::<f64>());
            assert_close(e.logit, m.logit(row).unwrap(), 1e-12);
            assert_close(e.probability, m.predict_proba(row).unwrap(), 1e-12);
            assert_eq!(e.contributions[1], m.coef[1] * row[1]);
        }
    }

    #[test]
    fn scaler_gives_constant_features_unit_scale() {
        let s = StandardScaler::fit(&[vec![1.0, 5.0], vec![3.0, 5.0]]).unwrap();
        assert_eq!(s.scale, vec![1.0, 1.0]);
        assert_eq!(s.transform(&[2.0, 5.0]).unwrap(), vec![0.0, 0.0]);
        assert_eq!(s.transform(&[2.0]), None);
        assert_eq!(StandardScaler::fit::<Vec<f64>>(&[]), None);
        assert_eq!(StandardScaler::fit(&[vec![1.0], vec![1.0, 2.0]]), None);
    }

    #[test]
    fn degenerate_training_data_is_an_error() {
        let opts = LogisticOptions::default();
        assert_eq!(
            fit_logistic::<Vec<f64>>(&[], &[], &opts),
            Err(LogisticError::NoRows)
        );
        assert_eq!(
            fit_logistic(&[vec![1.0], vec![2.0]], &[true, true], &opts),
            Err(LogisticError::SingleClass)
        );
        assert_eq!(
            fit_logistic(&[vec![1.0], vec![2.0]], &[true], &opts),
            Err(LogisticError::DimensionMismatch)
        );
        assert_eq!(
            fit_logistic(&[vec![f64::NAN], vec![2.0]], &[true, false], &opts),
            Err(LogisticError::NonFiniteInput)
        );
        let bad_c = LogisticOptions {
            c: Some(0.0),
            ..opts.clone()
        };
        assert_eq!(
            fit_logistic(&[vec![1.0], vec![2.0]], &[true, false], &bad_c),
            Err(LogisticError::InvalidPenalty)
        );
    }

    #[test]
    fn separable_data_without_penalty_is_reported_not_infinite() {
        let x = [vec![0.0], vec![1.0], vec![2.0], vec![3.0]];
        let y = [false, false, true, true];
        let unpenalised = LogisticOptions {
            c: None,
            ..LogisticOptions::default()
        };
        assert_eq!(
            fit_logistic(&x, &y, &unpenalised),
            Err(LogisticError::PerfectSeparation)
        );
        // With the default penalty the same data has a finite, converged solution.
        let m = fit_logistic(&x, &y, &LogisticOptions::default()).unwrap();
        assert!(m.converged && m.coef[0] > 0.0);
    }

    #[test]
    fn intercept_only_model_fits_the_base_rate() {
        let x: Vec<Vec<f64>> = vec![vec![]; 4];
        let y = [true, false, false, false];
        let m = fit_logistic(&x, &y, &LogisticOptions::default()).unwrap();
        assert_close(m.predict_proba(&[]).unwrap(), 0.25, 1e-12);
    }

    #[test]
    fn model_round_trips_through_json() {
        let m = LogisticModel {
            intercept: -1.0,
            coef: vec![0.5, 2.0],
            iterations: 6,
            converged: true,
        };
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"intercept\""));
        assert_eq!(serde_json::from_str::<LogisticModel>(&json).unwrap(), m);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn logistic_fit_never_returns_non_finite(
            rows in proptest::collection::vec((any_finite(), any_finite(), any::<bool>()), 0..12),
            penalised in any::<bool>()
        ) {
            let x: Vec<Vec<f64>> = rows.iter().map(|r| vec![r.0, r.1]).collect();
            let y: Vec<bool> = rows.iter().map(|r| r.2).collect();
            let opts = LogisticOptions { c: penalised.then_some(1.0), ..LogisticOptions::default() };
            if let Ok(m) = fit_logistic(&x, &y, &opts) {
                prop_assert!(ok(m.intercept) && m.coef.iter().all(|v| ok(*v)));
                for row in &x {
                    prop_assert!(ok_opt(m.predict_proba(row)));
                    if let Some(e) = m.explain(row, &[0.0, 0.0]) {
                        prop_assert!(ok(e.base) && ok(e.logit) && ok(e.probability));
                    }
                }
            }
            if let Some(s) = StandardScaler::fit(&x) {
                prop_assert!(s.mean.iter().chain(&s.scale).all(|v| ok(*v)));
                if let Ok(m) = fit_logistic(&s.transform_all(&x).unwrap_or_default(), &y, &opts) {
                    prop_assert!(ok(m.intercept) && m.coef.iter().all(|v| ok(*v)));
                }
            }
        }
    }
}
