//! Analytic 17, **dropOffRisk**: the probability that each active enrollment of a learner ends
//! without success, from an L2 logistic regression trained by the service on the
//! organisation's history (early-warning tradition of Macfadyen & Dawson 2010 and OU Analyse,
//! Kuzilek et al. 2015), with an exact linear SHAP explanation.
//!
//! Training ([`train`]):
//! - examples from [`features::training_set`] at the weekly snapshot days of
//!   [`features::snapshot_days`] (or any list, [`train_on_days`]);
//! - a missing feature value (`meanScoreSoFar` before the first scored attempt,
//!   `submittedShare` while no assessment is due) is imputed with the mean of that feature's
//!   observed training values (0 if none is observed), which leaves the mean unchanged, so the
//!   scaler's μ is the observed mean;
//! - features are z-scored with [`StandardScaler`] (sklearn semantics: population sd, a constant
//!   feature gets σ = 1) and fitted by [`fit_logistic`] with C = `drop_off.l2_c` (1.0), intercept
//!   unpenalised: sklearn `LogisticRegression(C=1.0)` on the standardised features (T2);
//! - the stored [`DropOffModel`] carries β₀, β, μ, σ, the feature names, the training window,
//!   n, the base rate (share of positive examples) and the in-sample AUC and Brier score.
//!   `version` is derived from `asOf` and n; the service may replace it with its store's id.
//!
//! Scoring ([`compute`]), for each enrollment of the learner active at `asOf`:
//! - completed enrollments are skipped (`n.completed`), as are other ended ones (`n.ended`);
//! - an enrollment younger than `drop_off.too_early_days` (7) days gets no score and the reason
//!   `too_early`;
//! - z = (x − μ)/σ; p = σ(β₀ + βᵀz); band `high` at p ≥ `band_high` (0.5), `medium` at p ≥
//!   `band_medium` (0.25), else `low`;
//! - contributions φᵢ = βᵢ(zᵢ − z̄ᵢ) with z̄ = 0 (the training mean after z-scoring), base = β₀,
//!   and logit = base + Σφᵢ, summed in feature order, exactly (shap `LinearExplainer`);
//! - a missing feature is imputed with the training mean, i.e. z = 0 and φ = 0, and flagged
//!   (`imputed` on the contribution and the entry; header reason `imputed_features`);
//! - `reasons` = the names of the `drop_off.top_reasons` (3) largest positive contributions,
//!   largest first (ties by feature order);
//! - no model: status `model_unavailable`, reason `no_model`, no enrollment scored; a model that
//!   does not fit the features of this build (names, lengths, non-finite values, σ ≤ 0):
//!   `model_unavailable`, reason `model_incompatible`. A score is never invented.
//! - Entries are sorted by course id, then enrollment id.
//!
//! Evaluation ([`evaluate`]): user-grouped K-fold cross-validation (`GroupKFold` semantics, see
//! [`group_k_fold`]) with out-of-fold predictions pooled into AUC, Brier score and a 10-bin
//! calibration table, plus per-fold and per-snapshot-day AUC.
//!
//! `n`: `enrollments` (active at asOf), `scored`, `tooEarly`, `completed`, `ended`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::features::{
    self, EnrollmentTrace, FEATURE_NAMES, FeatureRow, Features, N_FEATURES, TrainingExample,
    day_of_life,
};
use crate::common::{Header, Status};
use crate::config::{Config, DropOffConfig};
use crate::input::{Dataset, DatasetIndex, Enrollment};
use crate::memo::CohortMemo;
use crate::stats::logistic::{
    LogisticError, LogisticModel, LogisticOptions, StandardScaler, fit_logistic,
};
use crate::stats::metrics::{CalibrationBin, brier_score, calibration, roc_auc};

/// Bins of the calibration table of [`evaluate`].
pub const CALIBRATION_BINS: usize = 10;

/// A trained drop-off model, stored versioned by the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DropOffModel {
    pub version: String,
    /// Feature names, in coefficient order ([`FEATURE_NAMES`]).
    pub features: Vec<String>,
    /// β₀.
    pub intercept: f64,
    /// β, one per feature, on z-scored features.
    pub coefficients: Vec<f64>,
    /// μ: training means of the raw features.
    pub means: Vec<f64>,
    /// σ: training scales of the raw features (population sd; 1 for a constant feature).
    pub scales: Vec<f64>,
    /// The `asOf` of training: labels and features use only data stamped ≤ it.
    pub trained_as_of: DateTime<Utc>,
    /// Earliest `enrolledAt` among the training examples.
    pub window_start: DateTime<Utc>,
    /// Latest snapshot instant among the training examples.
    pub window_end: DateTime<Utc>,
    /// Snapshot days of life used.
    pub snapshot_days: Vec<u32>,
    /// Training examples.
    pub n: u64,
    /// Positive examples (ended without success).
    pub n_positive: u64,
    pub n_enrollments: u64,
    pub n_users: u64,
    /// n_positive / n.
    pub base_rate: f64,
    pub in_sample_auc: Option<f64>,
    pub in_sample_brier: Option<f64>,
    /// The C used.
    pub l2_c: f64,
    pub converged: bool,
}

impl DropOffModel {
    /// Whether the model fits this build's features and holds only finite numbers.
    pub fn is_usable(&self) -> bool {
        self.features.len() == N_FEATURES
            && self.features.iter().zip(FEATURE_NAMES).all(|(a, b)| a == b)
            && self.coefficients.len() == N_FEATURES
            && self.means.len() == N_FEATURES
            && self.scales.len() == N_FEATURES
            && self.intercept.is_finite()
            && self
                .coefficients
                .iter()
                .chain(&self.means)
                .all(|v| v.is_finite())
            && self.scales.iter().all(|s| s.is_finite() && *s > 0.0)
    }

    fn logistic(&self) -> LogisticModel {
        LogisticModel {
            intercept: self.intercept,
            coef: self.coefficients.clone(),
            iterations: 0,
            converged: self.converged,
        }
    }

    /// z-scores a feature row; a missing (or non-finite) value becomes 0, the training mean.
    /// Returns z and which values were imputed.
    pub fn standardise(&self, row: &FeatureRow) -> ([f64; N_FEATURES], [bool; N_FEATURES]) {
        let mut z = [0.0; N_FEATURES];
        let mut imputed = [false; N_FEATURES];
        for i in 0..N_FEATURES {
            let (Some(x), Some(m), Some(s)) =
                (row.values.get(i), self.means.get(i), self.scales.get(i))
            else {
                continue;
            };
            let zi = (x - m) / s;
            if row.missing.get(i).copied().unwrap_or(true) || !zi.is_finite() {
                imputed[i] = true;
            } else {
                z[i] = zi;
            }
        }
        (z, imputed)
    }

    /// P(ended without success) of a feature row.
    pub fn predict(&self, row: &FeatureRow) -> Option<f64> {
        let (z, _) = self.standardise(row);
        self.logistic().predict_proba(&z)
    }
}

/// Why a model could not be trained or evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropOffError {
    /// No labelled enrollment has a snapshot.
    NoTrainingExamples,
    /// Fewer distinct users than folds.
    TooFewGroups { groups: usize, folds: usize },
    /// Fewer than 2 folds requested.
    TooFewFolds,
    /// The logistic fit failed (one class only, non-finite values, …).
    Fit(LogisticError),
}

impl fmt::Display for DropOffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTrainingExamples => f.write_str("no training examples"),
            Self::TooFewGroups { groups, folds } => {
                write!(f, "{groups} users cannot fill {folds} folds")
            }
            Self::TooFewFolds => f.write_str("cross-validation needs at least 2 folds"),
            Self::Fit(e) => write!(f, "logistic fit failed: {e}"),
        }
    }
}

impl std::error::Error for DropOffError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Fit(e) => Some(e),
            _ => None,
        }
    }
}

impl From<LogisticError> for DropOffError {
    fn from(e: LogisticError) -> Self {
        Self::Fit(e)
    }
}

/// Raw rows with missing values imputed by the observed mean of their feature.
fn imputed_rows(rows: &[&FeatureRow]) -> Vec<[f64; N_FEATURES]> {
    let mut means = [0.0; N_FEATURES];
    for (i, mean) in means.iter_mut().enumerate() {
        let observed: Vec<f64> = rows
            .iter()
            .filter(|r| !r.missing.get(i).copied().unwrap_or(true))
            .filter_map(|r| r.values.get(i).copied())
            .collect();
        *mean = crate::stats::mean(&observed).unwrap_or(0.0);
    }
    rows.iter()
        .map(|r| {
            let mut v = r.values;
            for i in 0..N_FEATURES {
                if r.missing.get(i).copied().unwrap_or(true)
                    && let (Some(slot), Some(m)) = (v.get_mut(i), means.get(i))
                {
                    *slot = *m;
                }
            }
            v
        })
        .collect()
}

/// Imputes, z-scores and fits `rows`; the model's metadata other than n, the base rate, C
/// and convergence is left at neutral values for the caller to fill in.
fn fit_rows(
    rows: &[&FeatureRow],
    labels: &[bool],
    cfg: &DropOffConfig,
) -> Result<DropOffModel, DropOffError> {
    if rows.is_empty() {
        return Err(DropOffError::NoTrainingExamples);
    }
    let raw = imputed_rows(rows);
    let scaler =
        StandardScaler::fit(&raw).ok_or(DropOffError::Fit(LogisticError::NonFiniteInput))?;
    let z = scaler
        .transform_all(&raw)
        .ok_or(DropOffError::Fit(LogisticError::NonFiniteInput))?;
    let options = LogisticOptions {
        c: Some(cfg.l2_c),
        ..LogisticOptions::default()
    };
    let fit = fit_logistic(&z, labels, &options)?;
    let n_positive = labels.iter().filter(|l| **l).count();
    Ok(DropOffModel {
        version: String::new(),
        features: FEATURE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
        intercept: fit.intercept,
        coefficients: fit.coef,
        means: scaler.mean,
        scales: scaler.scale,
        trained_as_of: DateTime::<Utc>::MIN_UTC,
        window_start: DateTime::<Utc>::MIN_UTC,
        window_end: DateTime::<Utc>::MIN_UTC,
        snapshot_days: Vec::new(),
        n: count(rows.len()),
        n_positive: count(n_positive),
        n_enrollments: 0,
        n_users: 0,
        base_rate: n_positive as f64 / rows.len() as f64,
        in_sample_auc: None,
        in_sample_brier: None,
        l2_c: cfg.l2_c,
        converged: fit.converged,
    })
}

/// Trains the drop-off model on `data` as known at `as_of`, at the weekly snapshot days.
pub fn train(
    data: &Dataset,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> Result<DropOffModel, DropOffError> {
    train_on_days(&data.index(), as_of, &features::snapshot_days(cfg), cfg)
}

/// [`train`] on an index, with each learner's training examples taken from `examples` (their
/// digest parts, [`features::training_set_of_digests`]): the same model, trainable from
/// digests without the events.
pub fn train_from_digests(
    idx: &DatasetIndex<'_>,
    as_of: DateTime<Utc>,
    cfg: &Config,
    examples: HashMap<String, Vec<features::ExampleDigest>>,
) -> Result<DropOffModel, DropOffError> {
    let examples = features::training_set_of_digests(idx, as_of, cfg, examples);
    fit_examples(
        &examples,
        as_of,
        &features::snapshot_days(cfg),
        &cfg.drop_off,
    )
}

/// Trains on the snapshots at `days` (for instance `&[d]`, the day of life of the enrollment
/// about to be scored).
pub fn train_on_days(
    idx: &DatasetIndex<'_>,
    as_of: DateTime<Utc>,
    days: &[u32],
    cfg: &Config,
) -> Result<DropOffModel, DropOffError> {
    let examples = features::training_set_indexed(idx, as_of, days, cfg);
    fit_examples(&examples, as_of, days, &cfg.drop_off)
}

/// Fits a model on prepared examples, labelled as known at `as_of` and taken at `days`.
pub fn fit_examples(
    examples: &[TrainingExample],
    as_of: DateTime<Utc>,
    days: &[u32],
    cfg: &DropOffConfig,
) -> Result<DropOffModel, DropOffError> {
    let rows: Vec<&FeatureRow> = examples.iter().map(|x| &x.features).collect();
    let labels: Vec<bool> = examples.iter().map(|x| x.label).collect();
    let mut model = fit_rows(&rows, &labels, cfg)?;
    let n = examples.len();
    let distinct = |key: fn(&TrainingExample) -> &str| {
        count(examples.iter().map(key).collect::<BTreeSet<_>>().len())
    };
    model.version = format!("drop-off-{}-n{n}", as_of.format("%Y%m%dT%H%M%SZ"));
    model.trained_as_of = as_of;
    model.window_start = examples
        .iter()
        .map(|x| x.enrolled_at)
        .min()
        .unwrap_or(as_of);
    model.window_end = examples.iter().map(|x| x.at).max().unwrap_or(as_of);
    model.snapshot_days = days.to_vec();
    model.n_enrollments = distinct(|x| x.enrollment_id.as_str());
    model.n_users = distinct(|x| x.user_id.as_str());
    let probs: Option<Vec<f64>> = rows.iter().map(|r| model.predict(r)).collect();
    if let Some(p) = probs {
        model.in_sample_auc = roc_auc(&p, &labels);
        model.in_sample_brier = brier_score(&p, &labels);
    }
    Ok(model)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------------
// scoring
// ---------------------------------------------------------------------------------------------

/// The dropOffRisk payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DropOffRisk {
    #[serde(flatten)]
    pub header: Header,
    pub enrollments: Vec<EnrollmentRisk>,
}

/// Risk band of a score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskBand {
    High,
    Medium,
    Low,
}

/// The risk of one active enrollment (score fields `null` when it is too early).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentRisk {
    pub enrollment_id: String,
    pub course_id: String,
    /// Whole days since `enrolledAt`.
    pub day_of_life: u64,
    pub risk: Option<f64>,
    pub band: Option<RiskBand>,
    pub logit: Option<f64>,
    pub base: Option<f64>,
    pub contributions: Vec<Contribution>,
    pub reasons: Vec<String>,
    pub model_version: String,
    /// Names of the features imputed with the training mean.
    pub imputed: Vec<String>,
}

/// One feature's share of the logit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contribution {
    pub feature: String,
    /// The raw feature value; `null` when missing.
    pub value: Option<f64>,
    /// φ = β(z − z̄), 0 when imputed.
    pub contribution: f64,
    pub imputed: bool,
}

/// Computes dropOffRisk for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    model: Option<&DropOffModel>,
    cfg: &Config,
) -> DropOffRisk {
    compute_indexed(&data.index(), user_id, as_of, model, cfg)
}

/// Computes dropOffRisk for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    model: Option<&DropOffModel>,
    cfg: &Config,
) -> DropOffRisk {
    compute_shared(idx, user_id, as_of, model, cfg, &CohortMemo::new())
}

/// The learner's enrollments, sorted by course id then enrollment id, with the number of
/// completed and of otherwise ended ones: the enrollments dropOffRisk lists.
struct Enrollments<'a> {
    active: Vec<&'a Enrollment>,
    completed: usize,
    ended: usize,
}

impl<'a> Enrollments<'a> {
    fn of(idx: &DatasetIndex<'a>, user_id: &str, as_of: DateTime<Utc>) -> Self {
        let mut out = Enrollments {
            active: Vec::new(),
            completed: 0,
            ended: 0,
        };
        for enrollment in idx.enrollments_of(user_id) {
            if enrollment.enrolled_at > as_of {
                continue;
            }
            if enrollment.completed_by(as_of) {
                out.completed += 1;
            } else if enrollment.is_active_at(as_of) {
                out.active.push(*enrollment);
            } else {
                out.ended += 1;
            }
        }
        out.active
            .sort_by(|a, b| a.course_id.cmp(&b.course_id).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// Whether `enrollment` is too young to be scored.
    fn too_early(enrollment: &Enrollment, as_of: DateTime<Utc>, cfg: &Config) -> bool {
        day_of_life(enrollment, as_of) < u64::from(cfg.drop_off.too_early_days)
    }
}

/// The features at `as_of` of each enrollment that dropOffRisk scores, in its order: the
/// learner's `dropOffCurrent` digest part ([`crate::digest`]).
pub(crate) fn current_features(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> Vec<Features> {
    Enrollments::of(idx, user_id, as_of)
        .active
        .into_iter()
        .filter(|e| !Enrollments::too_early(e, as_of, cfg))
        .map(|e| Features::from(&EnrollmentTrace::new(idx, e, as_of, cfg).features_at(as_of)))
        .collect()
}

/// [`compute_indexed`] with the learner's features taken from (and added to) their digest in
/// `memo`; the same payload.
pub fn compute_shared(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    model: Option<&DropOffModel>,
    cfg: &Config,
    memo: &CohortMemo<'_>,
) -> DropOffRisk {
    let mut header = Header::new(as_of);
    let dc = &cfg.drop_off;
    let Enrollments {
        active,
        completed,
        ended,
    } = Enrollments::of(idx, user_id, as_of);
    header.set_n("enrollments", active.len());
    header.set_n("completed", completed);
    header.set_n("ended", ended);

    let model = match model {
        None => {
            header.status = Status::ModelUnavailable;
            header.add_reason("no_model");
            return DropOffRisk {
                header,
                enrollments: Vec::new(),
            };
        }
        Some(m) if !m.is_usable() => {
            header.status = Status::ModelUnavailable;
            header.add_reason("model_incompatible");
            return DropOffRisk {
                header,
                enrollments: Vec::new(),
            };
        }
        Some(m) => m,
    };
    let logistic = model.logistic();
    let top = usize::try_from(dc.top_reasons).unwrap_or(usize::MAX);

    let digest = memo.digest(user_id);
    let mut rows = digest.drop_off_current(idx, as_of, cfg).iter();
    let mut entries = Vec::with_capacity(active.len());
    let (mut scored, mut too_early) = (0usize, 0usize);
    for enrollment in active {
        let day = day_of_life(enrollment, as_of);
        let mut entry = EnrollmentRisk {
            enrollment_id: enrollment.id.clone(),
            course_id: enrollment.course_id.clone(),
            day_of_life: day,
            risk: None,
            band: None,
            logit: None,
            base: None,
            contributions: Vec::new(),
            reasons: Vec::new(),
            model_version: model.version.clone(),
            imputed: Vec::new(),
        };
        if Enrollments::too_early(enrollment, as_of, cfg) {
            too_early += 1;
            entry.reasons.push("too_early".to_owned());
            header.add_reason("too_early");
            entries.push(entry);
            continue;
        }
        // One row per scored enrollment, in this order (`current_features`).
        let Some(row) = rows.next().map(|f| FeatureRow::from(*f)) else {
            entry.reasons.push("score_failed".to_owned());
            header.add_reason("score_failed");
            entries.push(entry);
            continue;
        };
        let (z, imputed) = model.standardise(&row);
        let Some(explanation) = logistic.explain(&z, &[0.0; N_FEATURES]) else {
            entry.reasons.push("score_failed".to_owned());
            header.add_reason("score_failed");
            entries.push(entry);
            continue;
        };
        scored += 1;
        for (i, name) in FEATURE_NAMES.iter().enumerate() {
            let is_imputed = imputed.get(i).copied().unwrap_or(false);
            let missing = row.missing.get(i).copied().unwrap_or(true);
            entry.contributions.push(Contribution {
                feature: (*name).to_owned(),
                value: if missing {
                    None
                } else {
                    row.values.get(i).copied()
                },
                contribution: explanation.contributions.get(i).copied().unwrap_or(0.0),
                imputed: is_imputed,
            });
            if is_imputed {
                entry.imputed.push((*name).to_owned());
                header.add_reason("imputed_features");
            }
        }
        let mut positive: Vec<&Contribution> = entry
            .contributions
            .iter()
            .filter(|c| c.contribution > 0.0)
            .collect();
        // Stable sort: equal contributions keep feature order.
        positive.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        entry.reasons = positive
            .iter()
            .take(top)
            .map(|c| c.feature.clone())
            .collect();
        entry.risk = Some(explanation.probability);
        entry.band = Some(band_of(explanation.probability, dc));
        entry.logit = Some(explanation.logit);
        entry.base = Some(explanation.base);
        entries.push(entry);
    }
    if entries.is_empty() {
        header.add_reason("no_active_enrollments");
    }
    header.set_n("scored", scored);
    header.set_n("tooEarly", too_early);
    DropOffRisk {
        header,
        enrollments: entries,
    }
}

/// `high` at p ≥ band_high, `medium` at p ≥ band_medium, else `low`.
pub fn band_of(p: f64, cfg: &DropOffConfig) -> RiskBand {
    if p >= cfg.band_high {
        RiskBand::High
    } else if p >= cfg.band_medium {
        RiskBand::Medium
    } else {
        RiskBand::Low
    }
}

// ---------------------------------------------------------------------------------------------
// evaluation
// ---------------------------------------------------------------------------------------------

/// Cross-validated performance of the training procedure.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub folds: usize,
    pub n: usize,
    pub n_users: usize,
    pub n_positive: usize,
    /// Pooled out-of-fold AUC.
    pub auc: Option<f64>,
    /// Pooled out-of-fold Brier score.
    pub brier: Option<f64>,
    pub calibration: Vec<CalibrationBin>,
    /// AUC of each fold's held-out examples (`null` when a fold holds one class only).
    pub fold_auc: Vec<Option<f64>>,
    /// Pooled out-of-fold AUC per snapshot day.
    pub by_day: Vec<DayMetrics>,
}

/// Out-of-fold metrics at one snapshot day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayMetrics {
    pub day: u32,
    pub n: usize,
    pub auc: Option<f64>,
    pub brier: Option<f64>,
}

/// Assigns each example to one of `folds` folds by its group, with the semantics of sklearn's
/// `GroupKFold` (no group in two folds): groups are taken by decreasing size, ties by group id
/// ascending (sklearn leaves this order to an unstable sort; it is fixed here), and each goes
/// to the fold holding the fewest examples so far (the lowest fold index on a tie).
///
/// `None` when `folds` < 2 or there are fewer distinct groups than folds.
pub fn group_k_fold(groups: &[&str], folds: usize) -> Option<Vec<usize>> {
    if folds < 2 {
        return None;
    }
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for g in groups {
        *sizes.entry(g).or_default() += 1;
    }
    if sizes.len() < folds {
        return None;
    }
    let mut order: Vec<(&str, usize)> = sizes.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut load = vec![0usize; folds];
    let mut fold_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (group, size) in order {
        let lightest = load
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(&b.0)))
            .map_or(0, |(i, _)| i);
        if let Some(l) = load.get_mut(lightest) {
            *l += size;
        }
        fold_of.insert(group, lightest);
    }
    groups.iter().map(|g| fold_of.get(g).copied()).collect()
}

/// User-grouped K-fold cross-validation of the training procedure on `examples`.
pub fn evaluate(
    examples: &[TrainingExample],
    folds: usize,
    cfg: &DropOffConfig,
) -> Result<Evaluation, DropOffError> {
    if folds < 2 {
        return Err(DropOffError::TooFewFolds);
    }
    if examples.is_empty() {
        return Err(DropOffError::NoTrainingExamples);
    }
    let groups: Vec<&str> = examples.iter().map(|x| x.user_id.as_str()).collect();
    let n_users = groups.iter().collect::<BTreeSet<_>>().len();
    let fold_of = group_k_fold(&groups, folds).ok_or(DropOffError::TooFewGroups {
        groups: n_users,
        folds,
    })?;
    let labels: Vec<bool> = examples.iter().map(|x| x.label).collect();
    let mut oof = vec![0.0; examples.len()];
    let mut fold_auc = Vec::with_capacity(folds);
    for k in 0..folds {
        let (mut train_rows, mut train_labels) = (Vec::new(), Vec::new());
        let mut test = Vec::new();
        for (i, (x, f)) in examples.iter().zip(&fold_of).enumerate() {
            if *f == k {
                test.push(i);
            } else {
                train_rows.push(&x.features);
                train_labels.push(x.label);
            }
        }
        let model = fit_rows(&train_rows, &train_labels, cfg)?;
        let (mut p, mut y) = (Vec::new(), Vec::new());
        for &i in &test {
            let (Some(x), Some(slot)) = (examples.get(i), oof.get_mut(i)) else {
                continue;
            };
            let prob = model.predict(&x.features).unwrap_or(model.base_rate);
            *slot = prob;
            p.push(prob);
            y.push(x.label);
        }
        fold_auc.push(roc_auc(&p, &y));
    }
    let mut by_day_idx: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, x) in examples.iter().enumerate() {
        by_day_idx.entry(x.day).or_default().push(i);
    }
    let by_day = by_day_idx
        .into_iter()
        .map(|(day, idxs)| {
            let p: Vec<f64> = idxs.iter().filter_map(|i| oof.get(*i).copied()).collect();
            let y: Vec<bool> = idxs
                .iter()
                .filter_map(|i| labels.get(*i).copied())
                .collect();
            DayMetrics {
                day,
                n: idxs.len(),
                auc: roc_auc(&p, &y),
                brier: brier_score(&p, &y),
            }
        })
        .collect();
    Ok(Evaluation {
        folds,
        n: examples.len(),
        n_users,
        n_positive: labels.iter().filter(|l| **l).count(),
        auc: roc_auc(&oof, &labels),
        brier: brier_score(&oof, &labels),
        calibration: calibration(&oof, &labels, CALIBRATION_BINS).unwrap_or_default(),
        fold_auc,
        by_day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{
        ActivityEvent, Assessment, AssessmentKind, Attempt, Enrollment, EnrollmentStatus, Verb,
    };
    use crate::test_support::*;
    use chrono::TimeDelta;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    /// A small deterministic generator (PCG-style LCG), so the synthetic data is fixed.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// `n` learners, one enrollment each in c1 (20 h, 10 items), enrolled two days apart from
    /// 2024-06-01. Learner u has a daily activity probability p ∈ [0.05, 0.9]; it drops out
    /// with probability (1 − p)², on a day between 20 and 70, and then stops; otherwise it
    /// completes on day 100. Session lengths are drawn independently of p, so inactivity (not
    /// time) drives drop-out.
    fn synthetic(n: usize, seed: u64) -> Dataset {
        let mut rng = Lcg(seed);
        let mut data = Dataset {
            courses: vec![course("c1", 20.0)],
            content_items: (0..10)
                .map(|i| item(&format!("i{i}"), "c1", 120.0))
                .collect(),
            ..Dataset::default()
        };
        let base = ts("2024-06-01T00:00:00Z");
        for u in 0..n {
            let user_id = format!("u{u}");
            let p = 0.05 + 0.85 * rng.next();
            let drops = rng.next() < (1.0 - p).powi(2);
            let end_day = if drops {
                20 + (rng.next() * 50.0) as i64
            } else {
                100
            };
            let enrolled = base + TimeDelta::days(2 * u as i64);
            let mut next_item = 0;
            for day in 0..end_day {
                if rng.next() >= p {
                    continue;
                }
                let at = enrolled
                    + TimeDelta::days(day)
                    + TimeDelta::hours(9 + (rng.next() * 8.0) as i64);
                let mut e = ActivityEvent {
                    user_id: user_id.as_str().into(),
                    verb: Verb::Experienced,
                    object_id: format!("i{}", next_item % 10).into(),
                    course_id: Some("c1".into()),
                    timestamp: at,
                    duration_sec: Some(300.0 + 3300.0 * rng.next()),
                    score_scaled: None,
                    completion: None,
                    success: None,
                    clicks: None,
                };
                if rng.next() < 0.3 && next_item < 10 {
                    e.verb = Verb::Completed;
                    next_item += 1;
                }
                data.events.push(e);
            }
            let end = enrolled + TimeDelta::days(end_day);
            let mut enrollment = Enrollment {
                id: format!("e{u}"),
                user_id: user_id.clone(),
                course_id: "c1".into(),
                enrolled_at: enrolled,
                status: if drops {
                    EnrollmentStatus::Dropped
                } else {
                    EnrollmentStatus::Completed
                },
                completed_at: None,
                dropped_at: None,
                due_at: None,
                progress: 0.0,
                assigned_by: crate::input::AssignedBy::Manager,
            };
            if drops {
                enrollment.dropped_at = Some(end);
            } else {
                enrollment.completed_at = Some(end);
            }
            data.enrollments.push(enrollment);
            data.users.push(user(&user_id, "o1", None));
        }
        data
    }

    fn trained() -> (Dataset, DropOffModel) {
        let data = synthetic(160, 7);
        let model = train(&data, ts(AS_OF), &Config::default()).expect("trains");
        (data, model)
    }

    const ACTIVE_DAYS: usize = features::ACTIVE_DAYS;

    fn ended_by_as_of(data: &Dataset) -> u64 {
        let n = data
            .enrollments
            .iter()
            .filter(|e| {
                e.completed_at
                    .or(e.dropped_at)
                    .is_some_and(|t| t <= ts(AS_OF))
            })
            .count();
        u64::try_from(n).unwrap_or(0)
    }

    #[test]
    fn a_model_trained_where_inactivity_drives_drop_out_learns_it() {
        let (data, model) = trained();
        assert!(model.is_usable());
        assert!(model.converged);
        assert!(
            model.coefficients[ACTIVE_DAYS] < 0.0,
            "β(activeDays14) = {:?}",
            model.coefficients
        );
        let auc = model.in_sample_auc.expect("auc");
        assert!(auc > 0.7, "in-sample AUC {auc}");
        assert!(model.n > 500 && model.n_positive > 50 && model.n_positive < model.n);
        // One enrollment per user; those still running at asOf are not examples.
        let ended = ended_by_as_of(&data);
        assert!(ended > 140);
        assert_eq!((model.n_users, model.n_enrollments), (ended, ended));
        close(model.base_rate, model.n_positive as f64 / model.n as f64);
        assert_eq!(model.snapshot_days.first(), Some(&7));
        assert_eq!(model.trained_as_of, ts(AS_OF));
        assert_eq!(model.window_start, ts("2024-06-01T00:00:00Z"));
        assert!(model.window_end <= ts(AS_OF));
        assert_eq!(
            model.version,
            format!("drop-off-20250630T120000Z-n{}", model.n)
        );
    }

    #[test]
    fn the_training_path_is_a_standardised_l2_logistic_fit() {
        let data = synthetic(60, 11);
        let days = features::snapshot_days(&Config::default());
        let examples = features::training_set(&data, ts(AS_OF), &days, &Config::default());
        let model =
            fit_examples(&examples, ts(AS_OF), &days, &Config::default().drop_off).expect("fits");
        // The same fit done by hand with the stats building blocks (no feature is missing).
        let rows: Vec<[f64; N_FEATURES]> = examples.iter().map(|x| x.features.values).collect();
        let y: Vec<bool> = examples.iter().map(|x| x.label).collect();
        let scaler = StandardScaler::fit(&rows).expect("scaler");
        let z = scaler.transform_all(&rows).expect("z");
        let fit = fit_logistic(&z, &y, &LogisticOptions::default()).expect("fit");
        assert_eq!(model.means, scaler.mean);
        assert_eq!(model.scales, scaler.scale);
        assert_eq!(model.coefficients, fit.coef);
        assert_eq!(model.intercept, fit.intercept);
    }

    #[test]
    fn the_logit_is_the_base_plus_the_contributions_exactly() {
        let (mut data, model) = trained();
        let mut live = enrollment(
            "live",
            "u3",
            "c1",
            "2025-06-01T00:00:00Z",
            EnrollmentStatus::InProgress,
        );
        live.due_at = Some(ts("2025-08-01T00:00:00Z"));
        data.enrollments.push(live);
        data.events
            .push(event("u3", "i0", Verb::Completed, "2025-06-20T10:00:00Z"));
        let r = compute(&data, "u3", ts(AS_OF), Some(&model), &Config::default());
        assert_eq!(r.header.status, Status::Ok);
        let e = &r.enrollments[0];
        assert_eq!(e.day_of_life, 29);
        let phi: Vec<f64> = e.contributions.iter().map(|c| c.contribution).collect();
        let base = e.base.expect("base");
        let logit = e.logit.expect("logit");
        assert_eq!(logit, base + phi.iter().sum::<f64>());
        assert_eq!(base, model.intercept);
        assert_eq!(e.risk, Some(1.0 / (1.0 + (-logit).exp())));
        // φᵢ = βᵢ·zᵢ with z = (x − μ)/σ; the learner has no assessment: the score features
        // are imputed (φ = 0).
        for (i, c) in e.contributions.iter().enumerate() {
            assert_eq!(c.feature, FEATURE_NAMES[i]);
            match c.value {
                Some(x) => {
                    let z = (x - model.means[i]) / model.scales[i];
                    assert_eq!(c.contribution, model.coefficients[i] * z);
                }
                None => assert!(c.imputed && c.contribution == 0.0),
            }
        }
        assert_eq!(e.imputed, ["meanScoreSoFar", "submittedShare"]);
    }

    /// A hand-made model: β₀ = −1, β = (.5, −1, −.8, −1.2), μ and σ below.
    fn hand_model() -> DropOffModel {
        DropOffModel {
            version: "v-test".into(),
            features: FEATURE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
            intercept: -1.0,
            coefficients: vec![0.5, -1.0, -0.8, -1.2],
            means: vec![10.0, 0.3, 0.5, 0.6],
            scales: vec![10.0, 0.2, 0.25, 0.3],
            trained_as_of: ts("2025-06-01T00:00:00Z"),
            window_start: ts("2024-06-01T00:00:00Z"),
            window_end: ts("2025-06-01T00:00:00Z"),
            snapshot_days: vec![7, 14],
            n: 100,
            n_positive: 30,
            n_enrollments: 50,
            n_users: 40,
            base_rate: 0.3,
            in_sample_auc: Some(0.8),
            in_sample_brier: Some(0.15),
            l2_c: 1.0,
            converged: true,
        }
    }

    /// u1 in c1 (4 items) since 2025-06-01: last activity two days before asOf, 3 active days
    /// of 14; of the two assessments due, a1 was submitted (first attempt 30/50 = 0.6), a2 not.
    fn scored_learner() -> Dataset {
        let quiz = |id: &str, due: &str| Assessment {
            id: id.into(),
            course_id: "c1".into(),
            content_item_id: None,
            kind: AssessmentKind::Quiz,
            max_score: 50.0,
            pass_score: 25.0,
            due_at: Some(ts(due)),
            weight: None,
            items: vec![],
        };
        let timed = |object: &str, verb, at: &str, secs: Option<f64>| {
            let mut e = event("u1", object, verb, at);
            e.duration_sec = secs;
            e
        };
        Dataset {
            courses: vec![course("c1", 14.0)],
            content_items: (1..=4)
                .map(|i| item(&format!("i{i}"), "c1", 30.0))
                .collect(),
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c1",
                "2025-06-01T00:00:00Z",
                EnrollmentStatus::InProgress,
            )],
            events: vec![
                timed("i1", Verb::Completed, "2025-05-20T10:00:00Z", Some(600.0)),
                timed(
                    "i2",
                    Verb::Experienced,
                    "2025-06-18T10:00:00Z",
                    Some(1800.0),
                ),
                timed("i2", Verb::Completed, "2025-06-18T10:30:00Z", None),
                timed(
                    "i3",
                    Verb::Experienced,
                    "2025-06-25T09:00:00Z",
                    Some(3600.0),
                ),
                timed("i3", Verb::Completed, "2025-06-28T12:00:00Z", None),
            ],
            assessments: vec![
                quiz("a1", "2025-06-10T00:00:00Z"),
                quiz("a2", "2025-06-20T00:00:00Z"),
            ],
            attempts: vec![Attempt {
                id: "t1".into(),
                assessment_id: "a1".into(),
                user_id: "u1".into(),
                attempt_no: 1,
                submitted_at: ts("2025-06-09T12:00:00Z"),
                score: 30.0,
                passed: true,
                responses: vec![],
            }],
            ..Dataset::default()
        }
    }

    #[test]
    fn scoring_follows_the_hand_computed_model() {
        let r = compute(
            &scored_learner(),
            "u1",
            ts(AS_OF),
            Some(&hand_model()),
            &Config::default(),
        );
        let e = &r.enrollments[0];
        let x = [2.0, 3.0 / 14.0, 0.6, 0.5];
        let m = hand_model();
        let phi: Vec<f64> = (0..N_FEATURES)
            .map(|i| m.coefficients[i] * (x[i] - m.means[i]) / m.scales[i])
            .collect();
        for (c, (xi, p)) in e.contributions.iter().zip(x.iter().zip(&phi)) {
            close(c.value.expect("value"), *xi);
            close(c.contribution, *p);
            assert!(!c.imputed);
        }
        let logit = -1.0 + phi.iter().sum::<f64>();
        close(e.logit.expect("logit"), logit);
        close(e.risk.expect("risk"), 1.0 / (1.0 + (-logit).exp()));
        // φ ≈ (−.400, .429, −.320, .400): only two are positive, largest first.
        assert_eq!(e.reasons, ["activeDays14", "submittedShare"]);
        close(phi[2], -0.32);
        close(phi[3], 0.4);
        // logit ≈ −.891, p ≈ .291: band medium.
        assert_eq!(e.band, Some(RiskBand::Medium));
        assert_eq!(e.model_version, "v-test");
        assert_eq!(
            e.band,
            Some(band_of(e.risk.expect("risk"), &Config::default().drop_off))
        );
    }

    #[test]
    fn no_model_means_model_unavailable_and_no_score() {
        let r = compute(&scored_learner(), "u1", ts(AS_OF), None, &Config::default());
        assert_eq!(r.header.status, Status::ModelUnavailable);
        assert_eq!(r.header.reasons, ["no_model"]);
        assert!(r.enrollments.is_empty());
        assert_eq!(r.header.n.get("enrollments"), Some(&1));
        let mut wrong = hand_model();
        wrong.features[0] = "clicks".into();
        let r = compute(
            &scored_learner(),
            "u1",
            ts(AS_OF),
            Some(&wrong),
            &Config::default(),
        );
        assert_eq!(r.header.status, Status::ModelUnavailable);
        assert_eq!(r.header.reasons, ["model_incompatible"]);
        let mut broken = hand_model();
        broken.scales[2] = 0.0;
        assert!(!broken.is_usable());
    }

    #[test]
    fn an_enrollment_younger_than_seven_days_is_too_early() {
        let mut data = scored_learner();
        data.enrollments[0].enrolled_at = ts("2025-06-24T13:00:00Z"); // 5.96 days
        let r = compute(
            &data,
            "u1",
            ts(AS_OF),
            Some(&hand_model()),
            &Config::default(),
        );
        let e = &r.enrollments[0];
        assert_eq!(e.day_of_life, 5);
        assert_eq!(e.reasons, ["too_early"]);
        assert_eq!((e.risk, e.band, e.logit, e.base), (None, None, None, None));
        assert!(e.contributions.is_empty());
        assert_eq!(r.header.n.get("tooEarly"), Some(&1));
        assert_eq!(r.header.n.get("scored"), Some(&0));
        // Exactly seven days: scored.
        data.enrollments[0].enrolled_at = ts("2025-06-23T12:00:00Z");
        let r = compute(
            &data,
            "u1",
            ts(AS_OF),
            Some(&hand_model()),
            &Config::default(),
        );
        assert!(r.enrollments[0].risk.is_some());
    }

    #[test]
    fn a_missing_feature_is_imputed_with_the_training_mean_and_flagged() {
        let mut data = scored_learner();
        // Before a1 was due or submitted: no score, nothing due.
        data.attempts.clear();
        data.assessments.clear();
        let r = compute(
            &data,
            "u1",
            ts(AS_OF),
            Some(&hand_model()),
            &Config::default(),
        );
        let e = &r.enrollments[0];
        for i in [features::MEAN_SCORE, features::SUBMITTED_SHARE] {
            let c = &e.contributions[i];
            assert_eq!((c.value, c.contribution, c.imputed), (None, 0.0, true));
        }
        assert_eq!(e.imputed, ["meanScoreSoFar", "submittedShare"]);
        assert!(!e.contributions[features::ACTIVE_DAYS].imputed);
        assert!(r.header.reasons.iter().any(|x| x == "imputed_features"));
        let logit = e.logit.expect("logit");
        assert_eq!(
            logit,
            e.base.expect("base") + e.contributions.iter().map(|c| c.contribution).sum::<f64>()
        );
    }

    #[test]
    fn completed_and_ended_enrollments_are_skipped() {
        let mut data = scored_learner();
        let mut done = enrollment(
            "e2",
            "u1",
            "c1",
            "2025-03-01T00:00:00Z",
            EnrollmentStatus::Completed,
        );
        done.completed_at = Some(ts("2025-04-01T00:00:00Z"));
        let mut dropped = enrollment(
            "e3",
            "u1",
            "c1",
            "2025-03-01T00:00:00Z",
            EnrollmentStatus::Dropped,
        );
        dropped.dropped_at = Some(ts("2025-04-01T00:00:00Z"));
        data.enrollments.extend([done, dropped]);
        let r = compute(
            &data,
            "u1",
            ts(AS_OF),
            Some(&hand_model()),
            &Config::default(),
        );
        assert_eq!(r.enrollments.len(), 1);
        assert_eq!(r.enrollments[0].enrollment_id, "e1");
        assert_eq!(r.header.n.get("completed"), Some(&1));
        assert_eq!(r.header.n.get("ended"), Some(&1));
        let none = compute(
            &data,
            "nobody",
            ts(AS_OF),
            Some(&hand_model()),
            &Config::default(),
        );
        assert_eq!(none.header.reasons, ["no_active_enrollments"]);
        assert_eq!(none.header.status, Status::Ok);
    }

    #[test]
    fn bands_are_high_from_one_half_and_medium_from_one_quarter() {
        let cfg = Config::default().drop_off;
        assert_eq!(band_of(0.5, &cfg), RiskBand::High);
        assert_eq!(band_of(0.4999, &cfg), RiskBand::Medium);
        assert_eq!(band_of(0.25, &cfg), RiskBand::Medium);
        assert_eq!(band_of(0.2499, &cfg), RiskBand::Low);
        let mut tuned = cfg.clone();
        tuned.band_high = 0.8;
        assert_eq!(band_of(0.5, &tuned), RiskBand::Medium);
    }

    #[test]
    fn group_k_fold_never_splits_a_user_and_balances_the_folds() {
        let groups = ["a", "a", "a", "b", "b", "c", "c", "d", "e", "e"];
        let folds = group_k_fold(&groups, 3).expect("folds");
        // Sizes a3, b2, c2, e2, d1 → a→0, b→1, c→2, e→1 (tie 1/2 → lowest), d→2.
        assert_eq!(folds, [0, 0, 0, 1, 1, 2, 2, 2, 1, 1]);
        for (g, f) in groups.iter().zip(&folds) {
            for (h, k) in groups.iter().zip(&folds) {
                if g == h {
                    assert_eq!(f, k);
                }
            }
        }
        assert_eq!(group_k_fold(&groups, 6), None);
        assert_eq!(group_k_fold(&groups, 1), None);
    }

    #[test]
    fn grouped_cross_validation_reports_auc_brier_and_calibration() {
        let data = synthetic(160, 7);
        let cfg = Config::default();
        let examples =
            features::training_set(&data, ts(AS_OF), &features::snapshot_days(&cfg), &cfg);
        let eval = evaluate(&examples, 5, &cfg.drop_off).expect("evaluates");
        let users = usize::try_from(ended_by_as_of(&data)).unwrap_or(0);
        assert_eq!(
            (eval.folds, eval.n, eval.n_users),
            (5, examples.len(), users)
        );
        let auc = eval.auc.expect("auc");
        assert!(auc > 0.7, "cross-validated AUC {auc}");
        let brier = eval.brier.expect("brier");
        assert!(brier > 0.0 && brier < 0.25, "brier {brier}");
        assert_eq!(eval.calibration.iter().map(|b| b.n).sum::<usize>(), eval.n);
        assert_eq!(eval.fold_auc.len(), 5);
        assert_eq!(eval.by_day.first().map(|d| d.day), Some(7));
        assert_eq!(eval.by_day.iter().map(|d| d.n).sum::<usize>(), eval.n);
        assert_eq!(
            evaluate(&examples, 1, &cfg.drop_off),
            Err(DropOffError::TooFewFolds)
        );
        assert_eq!(
            evaluate(&examples[..3], 5, &cfg.drop_off),
            Err(DropOffError::TooFewGroups {
                groups: 1,
                folds: 5
            })
        );
    }

    #[test]
    fn training_without_examples_or_with_one_class_is_an_error() {
        let empty = train(&Dataset::default(), ts(AS_OF), &Config::default());
        assert_eq!(empty, Err(DropOffError::NoTrainingExamples));
        let mut data = synthetic(20, 3);
        for e in &mut data.enrollments {
            e.status = EnrollmentStatus::Completed;
            e.completed_at = e.completed_at.or(e.dropped_at);
        }
        let one_class = train(&data, ts(AS_OF), &Config::default());
        assert_eq!(
            one_class,
            Err(DropOffError::Fit(LogisticError::SingleClass))
        );
    }

    #[test]
    fn the_model_round_trips_through_json() {
        let (_, model) = trained();
        let json = serde_json::to_string(&model).expect("serialises");
        assert!(json.contains("\"coefficients\"") && json.contains("\"inSampleAuc\""));
        let back: DropOffModel = serde_json::from_str(&json).expect("parses");
        // serde_json's default float parser may be one ulp off; everything else is exact.
        let ulp_close = |a: &[f64], b: &[f64]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(1.0))
        };
        assert!(ulp_close(&back.coefficients, &model.coefficients));
        assert!(ulp_close(&back.means, &model.means));
        assert!(ulp_close(&back.scales, &model.scales));
        assert!(ulp_close(&[back.intercept], &[model.intercept]));
        assert_eq!(
            (
                &back.version,
                &back.features,
                back.n,
                back.trained_as_of,
                &back.snapshot_days
            ),
            (
                &model.version,
                &model.features,
                model.n,
                model.trained_as_of,
                &model.snapshot_days
            )
        );
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let r = compute(
            &scored_learner(),
            "u1",
            ts(AS_OF),
            Some(&hand_model()),
            &Config::default(),
        );
        let text = serde_json::to_string(&r).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&r).expect("serialises");
        let e = &json["enrollments"][0];
        for key in [
            "courseId",
            "risk",
            "band",
            "logit",
            "base",
            "contributions",
            "reasons",
            "modelVersion",
        ] {
            assert!(e.get(key).is_some(), "missing enrollments.{key}");
        }
        for key in ["feature", "value", "contribution"] {
            assert!(
                e["contributions"][0].get(key).is_some(),
                "missing contributions.{key}"
            );
        }
        let back: DropOffRisk = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, r);
    }
}
