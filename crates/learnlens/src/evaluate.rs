//! `learnlens evaluate oulad`: the drop-off model (analytic 17) on real data.
//!
//! The question: on day d of a course, which of the learners still registered will not pass?
//! - **Snapshots**: course days d ∈ {28, 56, 84, 140} (configurable), seen at noon of day d
//!   (every OULAD row dated day n is stamped at noon of day n, see [`crate::oulad`]), so the
//!   features read exactly the clicks with `date ≤ d` and the submissions with
//!   `date_submitted ≤ d`.
//! - **Population** ([`in_population`]): registrations registered by day d (`date_registration
//!   ≤ d`; a missing registration date counts as day 0) and not unregistered by then
//!   (`date_unregistration` missing or > d). Registrations that ended before the course began
//!   (`date_unregistration ≤ 0`) are therefore in no snapshot: on any day d ≥ 1 they are
//!   already gone, and nobody would score them.
//! - **Label** ([`label`]): `final_result` Withdrawn or Fail = 1 (will not pass); Pass or
//!   Distinction = 0.
//! - **Features**: the service's own, [`learnlens_analytics::predictive::features`], computed
//!   by [`EnrollmentTrace::features_at`] on OULAD mapped into the analytics entities
//!   ([`crate::oulad::map`]); the model is fitted by
//!   [`learnlens_analytics::predictive::drop_off::fit_examples`] (z-scored, L2 logistic,
//!   C from `[analytics.drop_off]`), one model per snapshot day.
//! - **Temporal split**: train on the 2013 presentations (B and J), test on the 2014 ones.
//! - **Memory**: one presentation at a time: its click rows are streamed, mapped to events,
//!   turned into feature rows at every snapshot day, and dropped before the next one.
//!
//! Reported per day: n and base rate of the test set, AUC, Brier score, a 10-bin calibration
//! table, and the model (intercept, coefficients with their signs, which must match
//! [`EXPECTED_SIGNS`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::Serialize;

use learnlens_analytics::Config as AnalyticsConfig;
use learnlens_analytics::input::Dataset;
use learnlens_analytics::predictive::drop_off::{self, CALIBRATION_BINS};
use learnlens_analytics::predictive::features::{
    EnrollmentTrace, FEATURE_NAMES, N_FEATURES, TrainingExample,
};
use learnlens_analytics::stats::metrics::{CalibrationBin, brier_score, calibration, roc_auc};

use crate::oulad::{
    AssessmentRow, FinalResult, Oulad, OuladError, Presentation, RegistrationRow,
    StudentAssessmentRow, StudentVleRow, day_noon, map,
};

/// The snapshot days of the issue.
pub const DEFAULT_DAYS: [u32; 4] = [28, 56, 84, 140];
/// Presentations of this year train the model…
pub const TRAIN_YEAR: i32 = 2013;
/// …and those of this year test it.
pub const TEST_YEAR: i32 = 2014;

/// The sign a coefficient must have for the explanations to make sense: more days without
/// activity raise the risk; activity, scores and submissions lower it.
pub const EXPECTED_SIGNS: [Sign; N_FEATURES] = [
    Sign::Positive,
    Sign::Negative,
    Sign::Negative,
    Sign::Negative,
];

/// One-line definitions of the features, for the report.
pub const FEATURE_DEFINITIONS: [&str; N_FEATURES] = [
    "days since the last course activity (or since enrolment if none), capped at 60",
    "share of the last 14 days with any course activity",
    "mean first-attempt score so far on summative assessments (weight > 0), score/maxScore in [0,1]; missing before the first one",
    "share of the course's assessments (formative ones included) due since enrolment and by now that were submitted; missing while none is due",
];

/// The sign of a coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    Positive,
    Negative,
}

impl Sign {
    fn of(x: f64) -> Self {
        if x > 0.0 {
            Sign::Positive
        } else {
            Sign::Negative
        }
    }

    fn symbol(self) -> char {
        match self {
            Sign::Positive => '+',
            Sign::Negative => '−',
        }
    }
}

/// Whether a registration is in the population of snapshot day `day`.
pub fn in_population(reg: &RegistrationRow, day: i64) -> bool {
    reg.date_registration.unwrap_or(0) <= day && reg.date_unregistration.is_none_or(|u| u > day)
}

/// The label: will not pass (Withdrawn or Fail).
pub fn label(result: FinalResult) -> bool {
    matches!(result, FinalResult::Withdrawn | FinalResult::Fail)
}

// ---------------------------------------------------------------------------------------------
// report
// ---------------------------------------------------------------------------------------------

/// The evaluation report (`--format json`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub days: Vec<DayReport>,
    pub features: Vec<FeatureInfo>,
    pub train: SplitInfo,
    pub test: SplitInfo,
    /// Every coefficient of every day has its expected sign.
    pub signs_ok: bool,
    /// Registrations left out because a date could not be placed in time or the student had
    /// no `studentInfo` row.
    pub skipped_registrations: usize,
}

/// Metrics and model of one snapshot day.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayReport {
    pub day: u32,
    /// Test examples.
    pub n: usize,
    /// Share of positives in the test set.
    pub base_rate: f64,
    pub auc: Option<f64>,
    pub brier: Option<f64>,
    pub calibration: Vec<CalibrationBin>,
    pub train_n: usize,
    pub train_base_rate: f64,
    pub in_sample_auc: Option<f64>,
    pub intercept: f64,
    pub coefficients: Vec<Coefficient>,
    pub converged: bool,
}

/// One coefficient of a day's model (on the z-scored feature).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Coefficient {
    pub feature: String,
    pub coefficient: f64,
    pub sign: Sign,
    pub expected_sign: Sign,
    /// Training mean μ and scale σ of the raw feature.
    pub mean: f64,
    pub scale: f64,
    /// Share of training / test rows where the feature was missing (imputed with μ).
    pub train_missing: f64,
    pub test_missing: f64,
}

/// A feature of the model.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureInfo {
    pub name: String,
    pub definition: String,
    pub expected_sign: Sign,
}

/// One side of the temporal split.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SplitInfo {
    pub presentations: Vec<String>,
    pub registrations: usize,
    /// Examples per snapshot day.
    pub examples: BTreeMap<u32, usize>,
}

// ---------------------------------------------------------------------------------------------
// building the snapshots of one presentation
// ---------------------------------------------------------------------------------------------

/// A registration with its final result.
#[derive(Debug, Clone, Copy)]
pub struct Registered<'a> {
    pub reg: &'a RegistrationRow,
    pub result: FinalResult,
}

/// The rows of one presentation other than its clicks.
#[derive(Debug, Clone, Copy)]
pub struct PresentationRows<'a> {
    pub presentation: &'a Presentation,
    pub length_days: i64,
    pub registrations: &'a [Registered<'a>],
    pub assessments: &'a [&'a AssessmentRow],
    pub attempts: &'a [&'a StudentAssessmentRow],
}

/// The feature rows of one presentation at each snapshot day: maps its rows into a
/// [`Dataset`] (only clicks and submissions dated ≤ the last snapshot day are kept), then
/// computes the service's features of every registration in the population of each day.
/// Returns the examples and the number of registrations whose dates could not be mapped.
pub fn presentation_examples(
    rows: PresentationRows<'_>,
    clicks: impl Iterator<Item = Result<StudentVleRow, OuladError>>,
    days: &[u32],
    cfg: &AnalyticsConfig,
) -> anyhow::Result<(Vec<TrainingExample>, usize)> {
    let PresentationRows {
        presentation: p,
        length_days,
        registrations,
        assessments,
        attempts,
    } = rows;
    let start = p.start()?;
    let course_id = p.course_id();
    let Some(&max_day) = days.iter().max() else {
        return Ok((Vec::new(), 0));
    };
    let max_day = i64::from(max_day);
    let horizon = day_noon(start, max_day).context("snapshot day out of range")?;

    let mut data = Dataset {
        courses: vec![map::course(p)],
        ..Dataset::default()
    };
    let mut kept = Vec::with_capacity(registrations.len());
    let mut skipped = 0;
    for r in registrations {
        match map::enrollment(r.reg, r.result, start, length_days) {
            Some(e) => {
                data.enrollments.push(e);
                kept.push(*r);
            }
            None => skipped += 1,
        }
    }
    data.assessments = assessments
        .iter()
        .map(|a| map::assessment(a, start))
        .collect();
    data.attempts = attempts
        .iter()
        .filter(|a| a.date_submitted <= max_day)
        .filter_map(|a| map::attempt(a, start))
        .collect();
    for row in clicks {
        let row = row?;
        if row.date > max_day {
            continue;
        }
        if let Some(event) = map::event(&row, &course_id, start) {
            data.events.push(event);
        }
    }
    data.events.shrink_to_fit();

    let idx = data.index();
    let mut out = Vec::new();
    for (enrollment, r) in data.enrollments.iter().zip(&kept) {
        let trace = EnrollmentTrace::new(&idx, enrollment, horizon, cfg);
        for &day in days {
            let d = i64::from(day);
            if !in_population(r.reg, d) {
                continue;
            }
            let at = day_noon(start, d).context("snapshot day out of range")?;
            out.push(TrainingExample {
                enrollment_id: enrollment.id.clone(),
                user_id: enrollment.user_id.clone(),
                course_id: enrollment.course_id.clone(),
                enrolled_at: enrollment.enrolled_at,
                day,
                at,
                features: trace.features_at(at),
                label: label(r.result),
            });
        }
    }
    Ok((out, skipped))
}

// ---------------------------------------------------------------------------------------------
// fitting and scoring one day
// ---------------------------------------------------------------------------------------------

/// Fits the service's model on `train` (all at snapshot `day`) and scores `test`.
pub fn score_day(
    day: u32,
    train: &[&TrainingExample],
    test: &[&TrainingExample],
    trained_as_of: DateTime<Utc>,
    cfg: &AnalyticsConfig,
) -> anyhow::Result<DayReport> {
    if test.is_empty() {
        bail!("day {day}: no test examples");
    }
    let owned: Vec<TrainingExample> = train.iter().map(|x| (*x).clone()).collect();
    let model = drop_off::fit_examples(&owned, trained_as_of, &[day], &cfg.drop_off)
        .map_err(|e| anyhow::anyhow!("day {day}: {e}"))?;
    let mut probs = Vec::with_capacity(test.len());
    let mut labels = Vec::with_capacity(test.len());
    for x in test {
        let p = model
            .predict(&x.features)
            .with_context(|| format!("day {day}: the model gives no probability"))?;
        probs.push(p);
        labels.push(x.label);
    }
    let positives = labels.iter().filter(|l| **l).count();
    let missing_share = |rows: &[&TrainingExample], i: usize| {
        let m = rows
            .iter()
            .filter(|x| x.features.missing.get(i).copied().unwrap_or(false))
            .count();
        m as f64 / rows.len().max(1) as f64
    };
    let coefficients = (0..N_FEATURES)
        .map(|i| {
            let c = model.coefficients.get(i).copied().unwrap_or(0.0);
            Coefficient {
                feature: FEATURE_NAMES.get(i).copied().unwrap_or("?").to_owned(),
                coefficient: c,
                sign: Sign::of(c),
                expected_sign: EXPECTED_SIGNS.get(i).copied().unwrap_or(Sign::Negative),
                mean: model.means.get(i).copied().unwrap_or(0.0),
                scale: model.scales.get(i).copied().unwrap_or(1.0),
                train_missing: missing_share(train, i),
                test_missing: missing_share(test, i),
            }
        })
        .collect();
    Ok(DayReport {
        day,
        n: test.len(),
        base_rate: positives as f64 / test.len() as f64,
        auc: roc_auc(&probs, &labels),
        brier: brier_score(&probs, &labels),
        calibration: calibration(&probs, &labels, CALIBRATION_BINS).unwrap_or_default(),
        train_n: train.len(),
        train_base_rate: model.base_rate,
        in_sample_auc: model.in_sample_auc,
        intercept: model.intercept,
        coefficients,
        converged: model.converged,
    })
}

// ---------------------------------------------------------------------------------------------
// the whole evaluation
// ---------------------------------------------------------------------------------------------

/// Runs the evaluation on the data set at `oulad`. `progress` receives one line per
/// presentation.
pub fn evaluate(
    oulad: &Oulad,
    days: &[u32],
    cfg: &AnalyticsConfig,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<Report> {
    if days.is_empty() {
        bail!("no snapshot days");
    }
    let mut days = days.to_vec();
    days.sort_unstable();
    days.dedup();

    let courses = oulad.courses()?;
    let assessments = oulad.assessments()?;
    let info = oulad.student_info()?;
    let registrations = oulad.registrations()?;
    let submissions = oulad.student_assessments()?;

    let results: HashMap<(&Presentation, i64), FinalResult> = info
        .iter()
        .map(|s| ((&s.presentation, s.id_student), s.final_result))
        .collect();
    let mut regs_of: HashMap<&Presentation, Vec<Registered<'_>>> = HashMap::new();
    let mut skipped = 0;
    for reg in &registrations {
        match results.get(&(&reg.presentation, reg.id_student)) {
            Some(&result) => regs_of
                .entry(&reg.presentation)
                .or_default()
                .push(Registered { reg, result }),
            None => skipped += 1,
        }
    }
    let mut assessments_of: HashMap<&Presentation, Vec<&AssessmentRow>> = HashMap::new();
    let mut presentation_of: HashMap<i64, &Presentation> = HashMap::new();
    for a in &assessments {
        assessments_of.entry(&a.presentation).or_default().push(a);
        presentation_of.insert(a.id_assessment, &a.presentation);
    }
    let mut attempts_of: HashMap<&Presentation, Vec<&StudentAssessmentRow>> = HashMap::new();
    for s in &submissions {
        if let Some(p) = presentation_of.get(&s.id_assessment) {
            attempts_of.entry(p).or_default().push(s);
        }
    }

    let mut ordered: Vec<&crate::oulad::CourseRow> = courses.iter().collect();
    ordered.sort_by(|a, b| a.presentation.cmp(&b.presentation));
    let (mut train, mut test) = (Vec::new(), Vec::new());
    let (mut train_info, mut test_info) = (SplitInfo::default(), SplitInfo::default());
    let mut trained_as_of: Option<DateTime<Utc>> = None;
    for course in ordered {
        let p = &course.presentation;
        let year = p.year()?;
        let (examples, split) = match year {
            TRAIN_YEAR => (&mut train, &mut train_info),
            TEST_YEAR => (&mut test, &mut test_info),
            _ => {
                progress(&format!(
                    "{}: year {year} is in neither split, skipped",
                    p.course_id()
                ));
                continue;
            }
        };
        let started = Instant::now();
        let regs = regs_of.get(p).map(Vec::as_slice).unwrap_or(&[]);
        let empty = Vec::new();
        let rows = PresentationRows {
            presentation: p,
            length_days: course.length_days,
            registrations: regs,
            assessments: assessments_of.get(p).unwrap_or(&empty),
            attempts: attempts_of.get(p).map(Vec::as_slice).unwrap_or(&[]),
        };
        let (rows, bad) = presentation_examples(rows, oulad.student_vle(p)?, &days, cfg)
            .with_context(|| format!("presentation {}", p.course_id()))?;
        skipped += bad;
        split.presentations.push(p.course_id());
        split.registrations += regs.len() - bad;
        for x in &rows {
            *split.examples.entry(x.day).or_default() += 1;
        }
        if year == TRAIN_YEAR {
            let end = day_noon(p.start()?, course.length_days);
            trained_as_of = trained_as_of.max(end);
        }
        progress(&format!(
            "{}: {} registrations, {} snapshots, {:.1} s",
            p.course_id(),
            regs.len(),
            rows.len(),
            started.elapsed().as_secs_f64()
        ));
        examples.extend(rows);
    }
    let trained_as_of = trained_as_of.context("no training presentation")?;

    let mut reports = Vec::with_capacity(days.len());
    for &day in &days {
        let tr: Vec<&TrainingExample> = train.iter().filter(|x| x.day == day).collect();
        let te: Vec<&TrainingExample> = test.iter().filter(|x| x.day == day).collect();
        reports.push(score_day(day, &tr, &te, trained_as_of, cfg)?);
    }
    let signs_ok = reports
        .iter()
        .flat_map(|d| &d.coefficients)
        .all(|c| c.sign == c.expected_sign);
    Ok(Report {
        days: reports,
        features: FEATURE_NAMES
            .iter()
            .zip(FEATURE_DEFINITIONS)
            .zip(EXPECTED_SIGNS)
            .map(|((name, definition), sign)| FeatureInfo {
                name: (*name).to_owned(),
                definition: definition.to_owned(),
                expected_sign: sign,
            })
            .collect(),
        train: train_info,
        test: test_info,
        signs_ok,
        skipped_registrations: skipped,
    })
}

/// The report as plain-text tables (`--format table`).
pub fn render_table(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let opt = |x: Option<f64>| x.map_or("–".to_owned(), |v| format!("{v:.4}"));
    let _ = writeln!(
        s,
        "Drop-off model on OULAD: train {} ({} presentations), test {} ({} presentations)",
        TRAIN_YEAR,
        r.train.presentations.len(),
        TEST_YEAR,
        r.test.presentations.len()
    );
    let _ = writeln!(
        s,
        "\n  day  test n  base rate     AUC   Brier  train n  train base rate"
    );
    for d in &r.days {
        let _ = writeln!(
            s,
            "  {:>3}  {:>6}  {:>9.4}  {:>6}  {:>6}  {:>7}  {:>15.4}",
            d.day,
            d.n,
            d.base_rate,
            opt(d.auc),
            opt(d.brier),
            d.train_n,
            d.train_base_rate
        );
    }
    let _ = writeln!(
        s,
        "\nCoefficients (z-scored features; expected sign in brackets):"
    );
    let _ = write!(s, "  day  intercept");
    for f in FEATURE_NAMES {
        let _ = write!(s, "  {f:>22}");
    }
    let _ = writeln!(s);
    for d in &r.days {
        let _ = write!(s, "  {:>3}  {:>9.4}", d.day, d.intercept);
        for c in &d.coefficients {
            let mark = if c.sign == c.expected_sign { ' ' } else { '!' };
            let _ = write!(
                s,
                "  {:>17.4} [{}]{}",
                c.coefficient,
                c.expected_sign.symbol(),
                mark
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "  signs as expected: {}",
        if r.signs_ok { "yes" } else { "NO" }
    );
    let _ = writeln!(
        s,
        "\nMissing (imputed with the training mean), train / test:"
    );
    for d in &r.days {
        let _ = write!(s, "  {:>3}", d.day);
        for c in &d.coefficients {
            let _ = write!(
                s,
                "  {}: {:.1}% / {:.1}%",
                c.feature,
                100.0 * c.train_missing,
                100.0 * c.test_missing
            );
        }
        let _ = writeln!(s);
    }
    for d in &r.days {
        let _ = writeln!(s, "\nCalibration, day {} (10 equal-width bins):", d.day);
        let _ = writeln!(s, "   lower  upper       n  mean predicted  observed rate");
        for b in &d.calibration {
            let _ = writeln!(
                s,
                "  {:>6.1} {:>6.1}  {:>6}  {:>14.4}  {:>13.4}",
                b.lower, b.upper, b.n, b.mean_predicted, b.observed_rate
            );
        }
    }
    let _ = writeln!(s, "\nFeatures:");
    for f in &r.features {
        let _ = writeln!(s, "  {:<22} {}", f.name, f.definition);
    }
    if r.skipped_registrations > 0 {
        let _ = writeln!(s, "\nSkipped registrations: {}", r.skipped_registrations);
    }
    let _ = writeln!(
        s,
        "\nData: OULAD, Kuzilek J., Hlosta M., Zdrahal Z., \"Open University Learning Analytics dataset\", Scientific Data 4, 170171 (2017), CC BY 4.0."
    );
    s
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oulad::{AssessmentType, StudentAssessmentRow};
    use learnlens_analytics::predictive::features::{
        ACTIVE_DAYS, DAYS_SINCE, MEAN_SCORE, SUBMITTED_SHARE,
    };

    fn p() -> Presentation {
        Presentation::new("AAA", "2013J")
    }

    fn reg(id: i64, on: Option<i64>, off: Option<i64>) -> RegistrationRow {
        RegistrationRow {
            presentation: p(),
            id_student: id,
            date_registration: on,
            date_unregistration: off,
        }
    }

    fn click(id: i64, date: i64, n: u32) -> Result<StudentVleRow, OuladError> {
        Ok(StudentVleRow {
            id_student: id,
            id_site: 100,
            date,
            sum_click: n,
        })
    }

    #[test]
    fn the_population_of_day_d_is_registered_by_d_and_not_unregistered_by_d() {
        // Registered before the start, never left.
        assert!(in_population(&reg(1, Some(-30), None), 28));
        // Left before the course began: in no snapshot.
        assert!(!in_population(&reg(2, Some(-30), Some(-5)), 28));
        assert!(!in_population(&reg(2, Some(-30), Some(0)), 28));
        // Left on day d: gone; the day after: still there on day d.
        assert!(!in_population(&reg(3, Some(-30), Some(28)), 28));
        assert!(in_population(&reg(3, Some(-30), Some(29)), 28));
        // Registered after day d: not yet there; no registration date: day 0.
        assert!(!in_population(&reg(4, Some(30), None), 28));
        assert!(in_population(&reg(4, Some(28), None), 28));
        assert!(in_population(&reg(5, None, None), 28));
    }

    #[test]
    fn withdrawn_and_fail_are_the_positive_class() {
        assert!(label(FinalResult::Withdrawn));
        assert!(label(FinalResult::Fail));
        assert!(!label(FinalResult::Pass));
        assert!(!label(FinalResult::Distinction));
    }

    /// Three students of AAA-2013J (starts 2013-10-01): 1 passes, 2 withdraws on day 40, 3
    /// fails. TMA 10 is due on day 19, TMA 11 on day 54.
    #[test]
    fn snapshots_use_only_rows_dated_up_to_their_day() {
        let regs = [
            reg(1, Some(-10), None),
            reg(2, Some(-5), Some(40)),
            reg(3, Some(-2), None),
        ];
        let registered = [
            Registered {
                reg: &regs[0],
                result: FinalResult::Pass,
            },
            Registered {
                reg: &regs[1],
                result: FinalResult::Withdrawn,
            },
            Registered {
                reg: &regs[2],
                result: FinalResult::Fail,
            },
        ];
        let tma = |id, date| AssessmentRow {
            presentation: p(),
            id_assessment: id,
            assessment_type: AssessmentType::Tma,
            date: Some(date),
            weight: 10.0,
        };
        let assessments = [tma(10, 19), tma(11, 54)];
        let sub = |a, s, date, score| StudentAssessmentRow {
            id_assessment: a,
            id_student: s,
            date_submitted: date,
            is_banked: false,
            score: Some(score),
        };
        let subs = [
            sub(10, 1, 18, 80.0),
            sub(11, 1, 50, 60.0),
            sub(10, 3, 25, 30.0), // late
        ];
        let clicks = vec![
            click(1, -3, 5),
            click(1, 20, 2),
            click(1, 28, 7),
            click(1, 29, 1), // after day 28
            click(2, 10, 3),
            click(3, 15, 1),
            click(3, 200, 9), // after the last snapshot: never read
        ];
        let (assessments, subs): (Vec<_>, Vec<_>) =
            (assessments.iter().collect(), subs.iter().collect());
        let (rows, skipped) = presentation_examples(
            PresentationRows {
                presentation: &p(),
                length_days: 268,
                registrations: &registered,
                assessments: &assessments,
                attempts: &subs,
            },
            clicks.into_iter(),
            &[28, 56],
            &AnalyticsConfig::default(),
        )
        .expect("builds");
        assert_eq!(skipped, 0);
        let seen: Vec<(&str, u32, bool)> = rows
            .iter()
            .map(|x| (x.user_id.as_str(), x.day, x.label))
            .collect();
        // Student 2 left on day 40: in the day-28 snapshot only.
        assert_eq!(
            seen,
            [
                ("1", 28, false),
                ("1", 56, false),
                ("2", 28, true),
                ("3", 28, true),
                ("3", 56, true)
            ]
        );
        let s1 = &rows[0].features;
        assert_eq!(
            rows[0].at,
            "2013-10-29T12:00:00Z".parse::<DateTime<Utc>>().expect("t")
        );
        // Last click on day 28 itself (same noon): 0 days; active on days 20 and 28 of 14.
        assert_eq!(s1.values[DAYS_SINCE], 0.0);
        assert_eq!(s1.values[ACTIVE_DAYS], 2.0 / 14.0);
        assert_eq!(s1.values[MEAN_SCORE], 0.8);
        assert_eq!(s1.values[SUBMITTED_SHARE], 1.0);
        let s1_56 = &rows[1].features;
        // Day 56: last click day 29; both TMAs due and submitted; scores 0.8 and 0.6.
        assert_eq!(s1_56.values[DAYS_SINCE], 27.0);
        assert!((s1_56.values[MEAN_SCORE] - 0.7).abs() < 1e-12);
        assert_eq!(s1_56.values[SUBMITTED_SHARE], 1.0);
        // Student 2 on day 28: last click day 10; no submission of the TMA due on day 19.
        let s2 = &rows[2].features;
        assert_eq!(s2.values[DAYS_SINCE], 18.0);
        assert_eq!(s2.values[ACTIVE_DAYS], 0.0);
        assert!(s2.missing[MEAN_SCORE]);
        assert_eq!(s2.values[SUBMITTED_SHARE], 0.0);
        // Student 3 on day 56: the late TMA 10 counts, TMA 11 was missed.
        let s3 = &rows[4].features;
        assert_eq!(s3.values[SUBMITTED_SHARE], 0.5);
        assert!((s3.values[MEAN_SCORE] - 0.3).abs() < 1e-12);
        assert_eq!(s3.values[DAYS_SINCE], 41.0);
    }

    #[test]
    fn a_bad_click_row_stops_the_presentation_with_its_error() {
        let r = reg(1, Some(-10), None);
        let registered = [Registered {
            reg: &r,
            result: FinalResult::Pass,
        }];
        let clicks = vec![click(1, 1, 1), Err(OuladError::BadPresentation("x".into()))];
        let err = presentation_examples(
            PresentationRows {
                presentation: &p(),
                length_days: 268,
                registrations: &registered,
                assessments: &[],
                attempts: &[],
            },
            clicks.into_iter(),
            &[28],
            &AnalyticsConfig::default(),
        )
        .expect_err("fails");
        assert!(err.to_string().contains("bad presentation code"), "{err}");
    }

    #[test]
    fn a_day_is_fitted_on_train_and_scored_on_test() {
        // Inactive learners fail: activity separates the classes (with some overlap).
        let cfg = AnalyticsConfig::default();
        let example = |i: usize, active: f64, fails: bool| {
            let features = learnlens_analytics::predictive::features::FeatureRow {
                values: [30.0 * (1.0 - active), active, 0.0, 0.0],
                missing: [false, false, true, true],
                names: FEATURE_NAMES,
            };
            TrainingExample {
                enrollment_id: format!("e{i}"),
                user_id: format!("u{i}"),
                course_id: "c".into(),
                enrolled_at: "2013-10-01T00:00:00Z".parse().expect("t"),
                day: 28,
                at: "2013-10-29T12:00:00Z".parse().expect("t"),
                features,
                label: fails,
            }
        };
        let all: Vec<TrainingExample> = (0..200)
            .map(|i| {
                let active = (i % 20) as f64 / 20.0;
                example(i, active, active < 0.3 || i % 7 == 0)
            })
            .collect();
        let (train, test): (Vec<_>, Vec<_>) = all.iter().partition(|x| {
            x.enrollment_id
                .trim_start_matches('e')
                .parse::<usize>()
                .is_ok_and(|i| i % 2 == 0)
        });
        let as_of = "2014-06-30T00:00:00Z".parse().expect("t");
        let d = score_day(28, &train, &test, as_of, &cfg).expect("scores");
        assert_eq!((d.day, d.n, d.train_n), (28, test.len(), train.len()));
        assert!(d.auc.is_some_and(|a| a > 0.8), "{:?}", d.auc);
        assert!(d.brier.is_some_and(|b| b < 0.2), "{:?}", d.brier);
        assert_eq!(d.calibration.iter().map(|b| b.n).sum::<usize>(), d.n);
        assert_eq!(d.coefficients[ACTIVE_DAYS].sign, Sign::Negative);
        assert_eq!(d.coefficients[MEAN_SCORE].train_missing, 1.0);
        let json = serde_json::to_value(&d).expect("json");
        for key in ["day", "n", "baseRate", "auc", "brier", "calibration"] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert!(json["calibration"][0].get("meanPredicted").is_some());
        assert!(score_day(28, &train, &[], as_of, &cfg).is_err());
    }
}
