//! Analytic 5, **performanceAnalytics**: the learner's assessment results: first-attempt and
//! best scores, pass rates with Wilson intervals, attempts to pass, the trend of first-attempt
//! scores, and per-skill accuracy.
//!
//! Interpretations (where `analytics.md` leaves a choice):
//! - **Attempts** are the learner's attempts submitted ≤ `asOf`. s = score / maxScore of the
//!   attempt's assessment, clamped to \[0,1\] (a bonus above maxScore or a negative score does
//!   not leave the documented range). An attempt whose s is undefined is excluded from every
//!   metric and counted in `invalidAttempts`: maxScore ≤ 0 or not finite (analytics.md), and
//!   also a score that is not finite or an assessment missing from the dataset (reasons
//!   `invalid_max_score`, `invalid_score`, `unknown_assessment`).
//! - **Per assessment**, the valid attempts are ordered by `attemptNo`, then `submittedAt`,
//!   then id; the **first attempt** is the first of them (attempt 1, or the lowest number
//!   present). `assessments` = assessments with at least one valid attempt; `attempts` = valid
//!   attempts.
//! - `meanFirstAttemptScore`, `medianScore` (`np.median`) and `sdScore` (`np.std(ddof=1)`) are
//!   all over the first-attempt scores, one per assessment, because retakes inflate;
//!   `meanBestScore` = mean over assessments of the best s.
//! - **Passing** is the attempt's `passed` flag from the assessment service (not recomputed
//!   from `passScore`). `firstAttemptPassRate` = first attempts passed / assessments;
//!   `eventualPassRate` = assessments with any passed attempt / assessments; both with a Wilson
//!   interval at `stats.confidence_level` (`proportion_confint(method="wilson")`).
//!   `meanAttemptsToPass` = mean, over eventually passed assessments, of the position of the
//!   first passed attempt in the per-assessment order (1 = passed at the first attempt).
//! - **Trend** = OLS (`scipy.stats.linregress`) of the first-attempt s on the chronological
//!   index 0…n−1, the first attempts ordered by `submittedAt` (then `attemptNo`, assessment
//!   id). `null` for n < 2; with n = 2 the slope is exact and `pValue` is `null`.
//! - **Per-skill accuracy** = correct / answered over the matched responses (see
//!   `super::responses`) of the first attempts, for consistency with the first-attempt
//!   scores (a retake of the same items would inflate accuracy too); a multi-skill item counts
//!   for each distinct skill. Every skill answered at least once is listed (sorted by id) with
//!   its `n`; `accuracy` and its Wilson `ci` are given from n ≥ `performance.skill_min_n` (5)
//!   on, `null` below.
//! - **strongest / weakest**: skill ids among those with a CI. strongest = ranked by the CI's
//!   lower bound, descending ("surely at least this good"); weakest = ranked by the upper
//!   bound, ascending ("surely no better than this"); ties by skill id. Each list holds at most
//!   min(3, ⌊k/2⌋) skills, k = skills with a CI, and weakest skips skills already in
//!   strongest, so the two never overlap and one skill alone is neither.
//! - No valid attempt: every mean, rate and the trend are `null`, status `insufficient_data`,
//!   reason `no_attempts`.
//!
//! `n`: `attemptsTotal` (≤ asOf, invalid included), `firstAttempts`, `responses` (matched, of
//! first attempts), `unmatchedResponses` (of first attempts).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::responses::{attempts_until, chrono_key, distinct_skills, matched_responses};
use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Attempt, Dataset, DatasetIndex};
use crate::stats;
use crate::stats::proportion::Proportion;

/// How many skills `strongest` and `weakest` hold at most.
const RANKED_SKILLS: usize = 3;

/// The performanceAnalytics payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceAnalytics {
    #[serde(flatten)]
    pub header: Header,
    /// Valid attempts.
    pub attempts: u64,
    /// Assessments with at least one valid attempt.
    pub assessments: u64,
    /// Attempts excluded because their score cannot be normalised.
    pub invalid_attempts: u64,
    pub mean_first_attempt_score: Option<f64>,
    pub mean_best_score: Option<f64>,
    /// Median of the first-attempt scores.
    pub median_score: Option<f64>,
    /// Sample SD (ddof = 1) of the first-attempt scores; `null` for n < 2.
    pub sd_score: Option<f64>,
    pub first_attempt_pass_rate: Option<RateWithCi>,
    pub eventual_pass_rate: Option<RateWithCi>,
    pub mean_attempts_to_pass: Option<f64>,
    pub trend: Option<ScoreTrend>,
    pub skills: Vec<SkillAccuracy>,
    /// Skill ids, best first.
    pub strongest: Vec<String>,
    /// Skill ids, weakest first.
    pub weakest: Vec<String>,
}

/// A proportion with its Wilson interval `[lower, upper]` (`null` only for an unusable
/// configured confidence level).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateWithCi {
    pub value: f64,
    pub ci: Option<[f64; 2]>,
}

/// OLS trend of first-attempt scores on their chronological index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoreTrend {
    /// Change of s per assessment.
    pub slope: f64,
    pub p_value: Option<f64>,
}

/// Accuracy on one skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillAccuracy {
    pub skill_id: String,
    /// correct / n, from n ≥ `skill_min_n` on.
    pub accuracy: Option<f64>,
    /// Wilson interval `[lower, upper]`, from n ≥ `skill_min_n` on.
    pub ci: Option<[f64; 2]>,
    pub n: u64,
}

/// A valid attempt with its normalised score.
#[derive(Debug, Clone, Copy)]
struct Scored<'a> {
    attempt: &'a Attempt,
    s: f64,
}

/// Computes performanceAnalytics for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> PerformanceAnalytics {
    compute_indexed(&data.index(), user_id, as_of, cfg)
}

/// Computes performanceAnalytics for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> PerformanceAnalytics {
    let mut header = Header::new(as_of);
    let level = cfg.stats.confidence_level;
    let all = attempts_until(idx, user_id, as_of);

    // Valid attempts grouped by assessment.
    let mut by_assessment: BTreeMap<&str, Vec<Scored<'_>>> = BTreeMap::new();
    let mut invalid = 0usize;
    for attempt in &all {
        let Some(assessment) = idx.assessment(&attempt.assessment_id) else {
            invalid += 1;
            header.add_reason("unknown_assessment");
            continue;
        };
        if !(assessment.max_score.is_finite() && assessment.max_score > 0.0) {
            invalid += 1;
            header.add_reason("invalid_max_score");
            continue;
        }
        if !attempt.score.is_finite() {
            invalid += 1;
            header.add_reason("invalid_score");
            continue;
        }
        // score/max may overflow to +∞ for a tiny maxScore; the clamp brings it back to 1.
        let s = (attempt.score / assessment.max_score).clamp(0.0, 1.0);
        by_assessment
            .entry(attempt.assessment_id.as_str())
            .or_default()
            .push(Scored { attempt, s });
    }
    for group in by_assessment.values_mut() {
        group.sort_by(|a, b| {
            (
                a.attempt.attempt_no,
                a.attempt.submitted_at,
                a.attempt.id.as_str(),
            )
                .cmp(&(
                    b.attempt.attempt_no,
                    b.attempt.submitted_at,
                    b.attempt.id.as_str(),
                ))
        });
    }
    let valid: usize = by_assessment.values().map(Vec::len).sum();
    let n_assessments = by_assessment.len();

    // First attempts in chronological order, and the per-assessment summaries.
    let mut firsts: Vec<(&str, Scored<'_>)> = by_assessment
        .iter()
        .filter_map(|(id, group)| group.first().map(|f| (*id, *f)))
        .collect();
    firsts.sort_by(|a, b| {
        chrono_key(a.1.attempt)
            .cmp(&chrono_key(b.1.attempt))
            .then_with(|| a.0.cmp(b.0))
    });
    let first_scores: Vec<f64> = firsts.iter().map(|(_, f)| f.s).collect();
    let best_scores: Vec<f64> = by_assessment
        .values()
        .map(|g| g.iter().fold(0.0_f64, |m, a| m.max(a.s)))
        .collect();
    let first_passed = firsts.iter().filter(|(_, f)| f.attempt.passed).count();
    let attempts_to_pass: Vec<f64> = by_assessment
        .values()
        .filter_map(|g| g.iter().position(|a| a.attempt.passed))
        .map(|i| (i + 1) as f64)
        .collect();

    let rate = |k: usize, n: usize| -> Option<RateWithCi> {
        let (k, n) = (u64::try_from(k).ok()?, u64::try_from(n).ok()?);
        if n == 0 || k > n {
            return None;
        }
        let ci = Proportion::wilson_at(k, n, level).map(|p| [p.ci.0, p.ci.1]);
        Some(RateWithCi {
            value: k as f64 / n as f64,
            ci,
        })
    };

    let trend = trend_of(&first_scores);

    // Per-skill accuracy over the first attempts' responses.
    let mut tally: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let (mut responses, mut unmatched) = (0usize, 0usize);
    for (_, first) in &firsts {
        let (matched, missed) = matched_responses(idx, first.attempt);
        unmatched += missed;
        responses += matched.len();
        for m in matched {
            for skill in distinct_skills(m.item) {
                let t = tally.entry(skill).or_insert((0, 0));
                t.1 += 1;
                if m.response.correct {
                    t.0 += 1;
                }
            }
        }
    }
    let min_n = u64::from(cfg.performance.skill_min_n.max(1));
    let skills: Vec<SkillAccuracy> = tally
        .iter()
        .map(|(skill, &(correct, n))| {
            let p = (n >= min_n)
                .then(|| Proportion::wilson_at(correct, n, level))
                .flatten();
            SkillAccuracy {
                skill_id: (*skill).to_owned(),
                accuracy: (n >= min_n).then(|| correct as f64 / n as f64),
                ci: p.map(|p| [p.ci.0, p.ci.1]),
                n,
            }
        })
        .collect();
    let (strongest, weakest) = rank_skills(&skills);

    if valid == 0 {
        header.status = Status::InsufficientData;
        header.add_reason("no_attempts");
    }
    header.set_n("attemptsTotal", all.len());
    header.set_n("firstAttempts", firsts.len());
    header.set_n("responses", responses);
    header.set_n("unmatchedResponses", unmatched);

    PerformanceAnalytics {
        header,
        attempts: u64::try_from(valid).unwrap_or(u64::MAX),
        assessments: u64::try_from(n_assessments).unwrap_or(u64::MAX),
        invalid_attempts: u64::try_from(invalid).unwrap_or(u64::MAX),
        mean_first_attempt_score: stats::mean(&first_scores).map(|m| m.clamp(0.0, 1.0)),
        mean_best_score: stats::mean(&best_scores).map(|m| m.clamp(0.0, 1.0)),
        median_score: stats::median(&first_scores),
        sd_score: stats::sample_sd(&first_scores),
        first_attempt_pass_rate: rate(first_passed, n_assessments),
        eventual_pass_rate: rate(attempts_to_pass.len(), n_assessments),
        mean_attempts_to_pass: stats::mean(&attempts_to_pass),
        trend,
        skills,
        strongest,
        weakest,
    }
}

/// OLS of `y` on 0…n−1; `None` for n < 2.
fn trend_of(y: &[f64]) -> Option<ScoreTrend> {
    let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
    let fit = stats::regression::linregress(&x, y)?;
    Some(ScoreTrend {
        slope: stats::finite(fit.slope)?,
        p_value: fit.p_value.filter(|p| p.is_finite()),
    })
}

/// strongest by CI lower bound (descending), weakest by CI upper bound (ascending), ties by
/// skill id; at most min(3, ⌊k/2⌋) each, without overlap.
fn rank_skills(skills: &[SkillAccuracy]) -> (Vec<String>, Vec<String>) {
    let with_ci: Vec<(&str, [f64; 2])> = skills
        .iter()
        .filter_map(|s| s.ci.map(|ci| (s.skill_id.as_str(), ci)))
        .collect();
    let take = RANKED_SKILLS.min(with_ci.len() / 2);
    let mut by_lower = with_ci.clone();
    by_lower.sort_by(|a, b| b.1[0].total_cmp(&a.1[0]).then_with(|| a.0.cmp(b.0)));
    let strongest: Vec<String> = by_lower
        .iter()
        .take(take)
        .map(|(id, _)| (*id).to_owned())
        .collect();
    let mut by_upper = with_ci;
    by_upper.sort_by(|a, b| a.1[1].total_cmp(&b.1[1]).then_with(|| a.0.cmp(b.0)));
    let weakest = by_upper
        .iter()
        .filter(|(id, _)| !strongest.iter().any(|s| s == id))
        .take(take)
        .map(|(id, _)| (*id).to_owned())
        .collect();
    (strongest, weakest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{AssessmentKind, Response};
    use crate::stats::testutil::assert_t1;
    use crate::test_support::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn answer(item: &str, correct: bool) -> Response {
        Response {
            item_id: item.into(),
            points: if correct { 1.0 } else { 0.0 },
            correct,
        }
    }

    fn passed(mut a: Attempt) -> Attempt {
        a.passed = true;
        a
    }

    /// Three assessments (maxScore 10):
    /// - a1: 4 (fail, 06-01), 7 (pass, 06-05), 9 (pass, 06-07);
    /// - a2: 8 (pass, 06-03);
    /// - a3: 5 (fail, 06-10), 5.5 (fail, 06-12);
    ///
    /// plus an attempt after asOf and one on an assessment with maxScore 0.
    fn example() -> Dataset {
        let quiz = |id: &str| assessment(id, AssessmentKind::Quiz, None, vec![]);
        let mut broken = quiz("a0");
        broken.max_score = 0.0;
        Dataset {
            assessments: vec![quiz("a1"), quiz("a2"), quiz("a3"), broken],
            attempts: vec![
                attempt("t1", "a1", "u1", 1, "2025-06-01T00:00:00Z", 4.0, vec![]),
                passed(attempt(
                    "t2",
                    "a1",
                    "u1",
                    2,
                    "2025-06-05T00:00:00Z",
                    7.0,
                    vec![],
                )),
                passed(attempt(
                    "t3",
                    "a1",
                    "u1",
                    3,
                    "2025-06-07T00:00:00Z",
                    9.0,
                    vec![],
                )),
                passed(attempt(
                    "t4",
                    "a2",
                    "u1",
                    1,
                    "2025-06-03T00:00:00Z",
                    8.0,
                    vec![],
                )),
                attempt("t5", "a3", "u1", 1, "2025-06-10T00:00:00Z", 5.0, vec![]),
                attempt("t6", "a3", "u1", 2, "2025-06-12T00:00:00Z", 5.5, vec![]),
                passed(attempt(
                    "t7",
                    "a3",
                    "u1",
                    3,
                    "2025-07-02T00:00:00Z",
                    10.0,
                    vec![],
                )),
                attempt("t8", "a0", "u1", 1, "2025-06-02T00:00:00Z", 3.0, vec![]),
                attempt("x1", "a1", "u2", 1, "2025-06-02T00:00:00Z", 10.0, vec![]),
            ],
            ..Dataset::default()
        }
    }

    #[test]
    fn means_median_and_sd_are_over_first_attempts_and_best_scores() {
        let p = compute(&example(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::Ok);
        assert_eq!((p.attempts, p.assessments, p.invalid_attempts), (6, 3, 1));
        // First attempts in time order: a1 0.4 (06-01), a2 0.8 (06-03), a3 0.5 (06-10).
        assert_t1(p.mean_first_attempt_score.expect("mean"), 1.7 / 3.0);
        assert_t1(p.mean_best_score.expect("best"), (0.9 + 0.8 + 0.55) / 3.0);
        assert_eq!(p.median_score, Some(0.5));
        // np.std([0.4, 0.8, 0.5], ddof=1)
        assert_t1(p.sd_score.expect("sd"), 0.2081665999466133);
        assert_eq!(p.header.n.get("attemptsTotal"), Some(&7));
        assert!(p.header.reasons.iter().any(|r| r == "invalid_max_score"));
    }

    #[test]
    fn pass_rates_carry_wilson_intervals_and_attempts_to_pass_count_retakes() {
        let p = compute(&example(), "u1", ts(AS_OF), &Config::default());
        // First attempts passed: a2 only. Eventually passed: a1 (at attempt 2) and a2 (1).
        let first = p.first_attempt_pass_rate.expect("rate");
        assert_t1(first.value, 1.0 / 3.0);
        // proportion_confint(1, 3, method="wilson")
        let ci = first.ci.expect("ci");
        assert_t1(ci[0], 0.06149194472039626);
        assert_t1(ci[1], 0.7923403991979523);
        let eventual = p.eventual_pass_rate.expect("rate");
        assert_t1(eventual.value, 2.0 / 3.0);
        let ci = eventual.ci.expect("ci");
        assert_t1(ci[0], 0.2076596008020477);
        assert_t1(ci[1], 0.9385080552796037);
        assert_t1(p.mean_attempts_to_pass.expect("mean"), 1.5);
    }

    #[test]
    fn the_trend_is_ols_of_first_attempt_scores_on_their_chronological_index() {
        let p = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let trend = p.trend.expect("three points");
        // x = 0, 1, 2; y = 0.4, 0.8, 0.5: Sxy = 0.1, Sxx = 2.
        assert_t1(trend.slope, 0.05);
        // scipy.stats.linregress([0,1,2], [0.4,0.8,0.5]).pvalue
        assert_t1(trend.p_value.expect("p"), 0.8455790416887335);
    }

    #[test]
    fn the_first_attempt_is_the_lowest_attempt_number_not_the_earliest_record() {
        let mut data = example();
        // Attempt 2 of a2 recorded with an earlier timestamp than attempt 1.
        data.attempts.push(attempt(
            "t9",
            "a2",
            "u1",
            2,
            "2025-06-02T00:00:00Z",
            1.0,
            vec![],
        ));
        let p = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_t1(p.mean_first_attempt_score.expect("mean"), 1.7 / 3.0);
    }

    #[test]
    fn a_single_assessment_has_no_sd_and_no_trend() {
        let data = Dataset {
            assessments: vec![assessment("a1", AssessmentKind::Exam, None, vec![])],
            attempts: vec![attempt(
                "t1",
                "a1",
                "u1",
                1,
                "2025-06-01T00:00:00Z",
                7.5,
                vec![],
            )],
            ..Dataset::default()
        };
        let p = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(p.mean_first_attempt_score, Some(0.75));
        assert_eq!(p.median_score, Some(0.75));
        assert_eq!((p.sd_score, p.trend), (None, None));
        assert_eq!(p.mean_attempts_to_pass, None);
        assert_eq!(p.first_attempt_pass_rate.map(|r| r.value), Some(0.0));
    }

    #[test]
    fn two_assessments_give_a_slope_without_a_p_value() {
        let data = Dataset {
            assessments: vec![
                assessment("a1", AssessmentKind::Quiz, None, vec![]),
                assessment("a2", AssessmentKind::Quiz, None, vec![]),
            ],
            attempts: vec![
                attempt("t1", "a1", "u1", 1, "2025-06-01T00:00:00Z", 5.0, vec![]),
                attempt("t2", "a2", "u1", 1, "2025-06-02T00:00:00Z", 8.0, vec![]),
            ],
            ..Dataset::default()
        };
        let p = compute(&data, "u1", ts(AS_OF), &Config::default());
        let trend = p.trend.expect("two points");
        assert_t1(trend.slope, 0.3);
        assert_eq!(trend.p_value, None);
    }

    #[test]
    fn no_attempts_give_null_means_and_insufficient_data() {
        let p = compute(&example(), "nobody", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::InsufficientData);
        assert_eq!(p.header.reasons, ["no_attempts"]);
        assert_eq!((p.attempts, p.assessments, p.invalid_attempts), (0, 0, 0));
        assert_eq!(
            (
                p.mean_first_attempt_score,
                p.mean_best_score,
                p.median_score,
                p.sd_score
            ),
            (None, None, None, None)
        );
        assert_eq!(
            (p.first_attempt_pass_rate, p.eventual_pass_rate),
            (None, None)
        );
        assert_eq!((p.mean_attempts_to_pass, p.trend), (None, None));
        assert!(p.skills.is_empty() && p.strongest.is_empty() && p.weakest.is_empty());
    }

    #[test]
    fn unusable_scores_are_invalid_attempts_with_reasons() {
        let mut data = example();
        data.attempts.push(attempt(
            "n1",
            "a2",
            "u1",
            5,
            "2025-06-20T00:00:00Z",
            f64::NAN,
            vec![],
        ));
        data.attempts.push(attempt(
            "n2",
            "gone",
            "u1",
            1,
            "2025-06-20T00:00:00Z",
            5.0,
            vec![],
        ));
        // A score above maxScore is clamped to 1.
        data.attempts.push(attempt(
            "n3",
            "a2",
            "u1",
            6,
            "2025-06-21T00:00:00Z",
            12.0,
            vec![],
        ));
        let p = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(p.invalid_attempts, 3);
        for reason in ["invalid_max_score", "invalid_score", "unknown_assessment"] {
            assert!(p.header.reasons.iter().any(|r| r == reason), "{reason}");
        }
        assert_t1(p.mean_best_score.expect("best"), (0.9 + 1.0 + 0.55) / 3.0);
        assert_all_finite(&p);
    }

    /// One quiz whose items q1…q4 are tagged s1…s4 (q4 also s1); u1 answers each item in
    /// `per_item` first attempts (one assessment each) with the given correctness pattern.
    fn skills_data(patterns: &[(&str, &[bool])]) -> Dataset {
        let items = vec![
            quiz_item("q1", &["s1"]),
            quiz_item("q2", &["s2"]),
            quiz_item("q3", &["s3"]),
            quiz_item("q4", &["s4", "s1"]),
        ];
        let mut assessments = Vec::new();
        let mut attempts = Vec::new();
        let rounds = patterns.iter().map(|(_, p)| p.len()).max().unwrap_or(0);
        for r in 0..rounds {
            let id = format!("a{r}");
            assessments.push(assessment(&id, AssessmentKind::Quiz, None, items.clone()));
            let responses = patterns
                .iter()
                .filter_map(|(item, p)| p.get(r).map(|c| answer(item, *c)))
                .collect();
            attempts.push(attempt(
                &format!("t{r}"),
                &id,
                "u1",
                1,
                &format!("2025-06-{:02}T00:00:00Z", r + 1),
                5.0,
                responses,
            ));
            // A retake with every answer right: not counted for skills.
            let retake: Vec<Response> = patterns
                .iter()
                .filter(|(_, p)| r < p.len())
                .map(|(item, _)| answer(item, true))
                .collect();
            attempts.push(attempt(
                &format!("r{r}"),
                &id,
                "u1",
                2,
                &format!("2025-06-{:02}T12:00:00Z", r + 1),
                10.0,
                retake,
            ));
        }
        Dataset {
            assessments,
            attempts,
            ..Dataset::default()
        }
    }

    #[test]
    fn skill_accuracy_uses_first_attempt_responses_with_wilson_intervals_from_n_five() {
        let t = true;
        let f = false;
        let data = skills_data(&[
            ("q1", &[t, t, t, t, f]),       // s1: 4/5 (+ q4 below)
            ("q2", &[t, t, t, t, t, t, t]), // s2: 7/7
            ("q3", &[t, f, f, f]),          // s3: 1/4, below n = 5
            ("q4", &[f, f, f, f, f, t]),    // s4: 1/6; s1 gets these too
        ]);
        let p = compute(&data, "u1", ts(AS_OF), &Config::default());
        let rows: Vec<(&str, Option<f64>, u64)> = p
            .skills
            .iter()
            .map(|s| (s.skill_id.as_str(), s.accuracy, s.n))
            .collect();
        assert_eq!(
            rows,
            [
                ("s1", Some(5.0 / 11.0), 11),
                ("s2", Some(1.0), 7),
                ("s3", None, 4),
                ("s4", Some(1.0 / 6.0), 6),
            ]
        );
        assert_eq!(p.skills[2].ci, None);
        // proportion_confint(7, 7, method="wilson") and (1, 6)
        let s2 = p.skills[1].ci.expect("ci");
        assert_t1(s2[0], 0.6456695649333125);
        assert_t1(s2[1], 1.0);
        let s4 = p.skills[3].ci.expect("ci");
        assert_t1(s4[0], 0.030053369748306635);
        assert_t1(s4[1], 0.5635028221864703);
        assert_eq!(p.header.n.get("firstAttempts"), Some(&7));
    }

    #[test]
    fn strongest_and_weakest_are_ranked_by_the_ci_bounds_without_overlap() {
        let t = true;
        let f = false;
        let data = skills_data(&[
            ("q1", &[t, t, t, t, f]),
            ("q2", &[t, t, t, t, t, t, t]),
            ("q3", &[t, f, f, f]),
            ("q4", &[f, f, f, f, f, t]),
        ]);
        let p = compute(&data, "u1", ts(AS_OF), &Config::default());
        // k = 3 skills with a CI → one each. Lower bounds: s2 0.646, s1 0.213, s4 0.030;
        // upper bounds: s4 0.564, s1 0.720, s2 1.
        assert_eq!(p.strongest, ["s2"]);
        assert_eq!(p.weakest, ["s4"]);
    }

    #[test]
    fn a_single_skill_with_a_ci_is_neither_strongest_nor_weakest() {
        let data = skills_data(&[("q2", &[true, true, false, true, true])]);
        let p = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert!(p.skills[0].ci.is_some());
        assert!(p.strongest.is_empty() && p.weakest.is_empty());
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let t = true;
        let data = skills_data(&[("q1", &[t, t, t, t, t]), ("q2", &[t, t, t, t, false])]);
        let p = compute(&data, "u1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&p).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&p).expect("serialises");
        for key in [
            "attempts",
            "assessments",
            "invalidAttempts",
            "meanFirstAttemptScore",
            "meanBestScore",
            "medianScore",
            "sdScore",
            "firstAttemptPassRate",
            "eventualPassRate",
            "meanAttemptsToPass",
            "trend",
            "skills",
            "strongest",
            "weakest",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in ["value", "ci"] {
            assert!(json["firstAttemptPassRate"].get(key).is_some(), "{key}");
        }
        for key in ["slope", "pValue"] {
            assert!(json["trend"].get(key).is_some(), "trend.{key}");
        }
        for key in ["skillId", "accuracy", "ci", "n"] {
            assert!(json["skills"][0].get(key).is_some(), "skills.{key}");
        }
        assert_eq!(json["skills"][0]["ci"].as_array().map(Vec::len), Some(2));
        let back: PerformanceAnalytics = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, p);
    }
}
