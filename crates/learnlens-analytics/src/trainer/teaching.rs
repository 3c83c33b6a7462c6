//! Analytic 10, **teachingEffectiveness**: learning gains on matched pre/post pairs in a
//! trainer's courses, reported next to (never blended into) ratings and completion.
//!
//! Definitions and interpretations (shared terms are defined in [`crate::trainer`]):
//! - **Matched pair**: one learner enrolled (`enrolledAt ≤ asOf`) in one of the trainer's
//!   courses with a first attempt at a `pre` and at a `post` assessment of that course (with
//!   several of a kind, the earliest first attempt), both stamped ≤ `asOf`, on the percent
//!   scale 100·score/maxScore. A learner in two courses gives two pairs. A pre-test submitted
//!   after the post-test is no pre-test: the pair is left out (`n.outOfOrder`). A pair with
//!   pre = 100 is excluded from every statistic (`n.ceiling`), as `analytics.md` says.
//! - **Gains** (from [`crate::stats::gain`]): Hake ⟨g⟩ = (⟨post⟩−⟨pre⟩)/(100−⟨pre⟩); the mean
//!   of individual gains (Bao 2006); the mean Marx–Cummings normalized change (pairs with
//!   pre = post ∈ {0, 100} dropped); Cohen's d_av with sample variances (ddof = 1),
//!   `pingouin.compute_effsize(post, pre, paired=True, eftype="cohen")`. No pairs: all `null`.
//!   `lowSample` = fewer than 5 pairs; the gains are still reported.
//! - **rating**: the trainer's `trainerRating`s (feedback with this `trainerId`), Bayesian
//!   average with C = 5 and m = the global mean trainer rating of the dataset.
//! - **completionRate**: completed/matured over all enrollments in the trainer's courses,
//!   `{value, ci, n}` with a Wilson interval.
//! - **effectivenessIndex** = 100·(0.5·clip(⟨g⟩,0,1) + 0.25·completion + 0.25·ratingNorm)
//!   / Σw, ratingNorm = (r̃ − 1)/4. It is a **heuristic** and says so: the payload field is
//!   `{value, label: "heuristic"}`. Ratings are reported separately because they are
//!   unrelated to learning (Uttl, White & Gonzalez 2017); the index is only for callers that
//!   insist on one number. It is `null` (reason `index_incomplete`) unless ⟨g⟩, the
//!   completion rate and at least one trainer rating all exist.
//! - No course for this trainer: status `insufficient_data`, reason `no_courses`. Courses
//!   without pairs: status `ok`, reason `no_pairs`.
//!
//! `n`: `courses`, `pairs`, `ceiling`, `outOfOrder`, `normalizedChangePairs`, `ratings`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex};
use crate::stats;
use crate::stats::proportion::Proportion;

use super::{
    Rating, RatingKind, course_pairs, courses_of, enrollments_at, global_mean_rating, is_matured,
    to_u64, valid_rating,
};

/// The teachingEffectiveness payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeachingEffectiveness {
    #[serde(flatten)]
    pub header: Header,
    /// Matched pairs used (pre < 100).
    pub pairs: u64,
    pub hake_gain: Option<f64>,
    pub mean_individual_gain: Option<f64>,
    pub normalized_change: Option<f64>,
    pub cohen_d: Option<f64>,
    pub rating: Rating,
    pub completion_rate: Option<Proportion>,
    pub effectiveness_index: EffectivenessIndex,
    pub low_sample: bool,
}

/// The heuristic single number, labelled as such.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EffectivenessIndex {
    /// In \[0,100\].
    pub value: Option<f64>,
    pub label: IndexLabel,
}

/// What kind of number the index is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexLabel {
    Heuristic,
}

/// Computes teachingEffectiveness for `trainer_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    trainer_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> TeachingEffectiveness {
    compute_indexed(&data.index(), trainer_id, as_of, cfg)
}

/// Computes teachingEffectiveness for `trainer_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    trainer_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> TeachingEffectiveness {
    let mut header = Header::new(as_of);
    let courses = courses_of(idx, trainer_id);

    let (mut pre, mut post) = (Vec::new(), Vec::new());
    let (mut ceiling, mut out_of_order) = (0usize, 0usize);
    let (mut matured, mut completed) = (0u64, 0u64);
    for course in &courses {
        let enrollments = enrollments_at(idx, &course.id, as_of);
        for e in &enrollments {
            if is_matured(e, course, as_of, cfg.course.maturity_factor) {
                matured += 1;
                if e.completed_by(as_of) {
                    completed += 1;
                }
            }
        }
        let pairs = course_pairs(idx, &course.id, as_of);
        pre.extend(pairs.pre);
        post.extend(pairs.post);
        ceiling += pairs.ceiling;
        out_of_order += pairs.out_of_order;
    }
    let gains = stats::gain::summarize_gains(&pre, &post);
    let field = |f: fn(&stats::gain::GainSummary) -> Option<f64>| gains.as_ref().and_then(f);
    let hake_gain = field(|g| g.hake_gain);

    let ratings: Vec<f64> = idx
        .dataset()
        .feedback
        .iter()
        .filter(|f| f.trainer_id == trainer_id && f.created_at <= as_of)
        .filter_map(|f| valid_rating(f.trainer_rating))
        .collect();
    let prior = global_mean_rating(idx, as_of, RatingKind::Trainer);
    let rating = Rating::of(&ratings, prior, cfg.course_health.rating_prior_weight);
    let completion_rate = Proportion::wilson_at(completed, matured, cfg.stats.confidence_level);

    let tc = &cfg.teaching;
    let index = match (
        hake_gain,
        completion_rate.as_ref(),
        rating.normalized().filter(|_| rating.n > 0),
    ) {
        (Some(g), Some(c), Some(r)) => {
            let weights = [
                tc.index_weight_gain,
                tc.index_weight_completion,
                tc.index_weight_rating,
            ];
            let parts = [g.clamp(0.0, 1.0), c.value, r];
            stats::weighted_mean(&parts, &weights).map(|v| (100.0 * v).clamp(0.0, 100.0))
        }
        _ => None,
    };
    if index.is_none() {
        header.add_reason("index_incomplete");
    }

    if courses.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_courses");
    } else if pre.is_empty() {
        header.add_reason("no_pairs");
    }
    header.set_n("courses", courses.len());
    header.set_n("pairs", pre.len());
    header.set_n("ceiling", ceiling);
    header.set_n("outOfOrder", out_of_order);
    header.set_n(
        "normalizedChangePairs",
        gains.as_ref().map_or(0, |g| g.normalized_change_pairs),
    );
    header.set_n("ratings", ratings.len());

    TeachingEffectiveness {
        header,
        pairs: to_u64(pre.len()),
        hake_gain,
        mean_individual_gain: field(|g| g.mean_individual_gain),
        normalized_change: field(|g| g.normalized_change),
        cohen_d: field(|g| g.cohen_d),
        rating,
        completion_rate,
        effectiveness_index: EffectivenessIndex {
            value: index,
            label: IndexLabel::Heuristic,
        },
        low_sample: pre.len() < usize::try_from(tc.low_sample_pairs).unwrap_or(usize::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{AssessmentKind, EnrollmentStatus};
    use crate::test_support::*;
    use crate::trainer::testdata::*;
    use crate::trainer::testdata::{assessment, attempt};

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn t1(got: f64, want: f64) {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "got {got}, want {want}"
        );
    }

    /// The golden learning-gain vector on course g1 (pre and post out of `max`), plus a
    /// ceiling pair (u5), an out-of-order pair (u6) and a learner with only a pre-test (u7).
    fn example(max: f64) -> Dataset {
        let pre = [40.0, 55.0, 60.0, 35.0, 70.0];
        let post = [60.0, 70.0, 65.0, 50.0, 90.0];
        let mut data = Dataset {
            courses: vec![course("g1", 10.0)],
            assessments: vec![
                assessment("pre", "g1", AssessmentKind::Pre, max),
                assessment("post", "g1", AssessmentKind::Post, max),
            ],
            ..Dataset::default()
        };
        let scale = max / 100.0;
        for i in 0..8 {
            let user = format!("u{i}");
            let mut e = enrollment(
                &format!("e{i}"),
                &user,
                "g1",
                "2025-05-01T00:00:00Z",
                EnrollmentStatus::InProgress,
            );
            if i < 4 {
                e.status = EnrollmentStatus::Completed;
                e.completed_at = Some(ts("2025-06-02T00:00:00Z"));
            }
            data.enrollments.push(e);
        }
        let mut add = |user: &str, kind: &str, at: &str, pct: f64| {
            let n = data.attempts.len();
            data.attempts
                .push(attempt(&format!("t{n}"), kind, user, at, pct * scale, true));
        };
        for i in 0..5 {
            let user = format!("u{i}");
            add(&user, "pre", "2025-05-02T00:00:00Z", pre[i]);
            add(&user, "post", "2025-06-01T00:00:00Z", post[i]);
        }
        add("u5", "pre", "2025-05-02T00:00:00Z", 100.0);
        add("u5", "post", "2025-06-01T00:00:00Z", 100.0);
        add("u6", "pre", "2025-06-05T00:00:00Z", 10.0);
        add("u6", "post", "2025-06-01T00:00:00Z", 90.0);
        add("u7", "pre", "2025-05-02T00:00:00Z", 20.0);
        // A post-test retake and a future post-test do not change the pairs.
        add("u0", "post", "2025-06-10T00:00:00Z", 100.0);
        add("u7", "post", "2025-07-10T00:00:00Z", 100.0);
        data.feedback = vec![
            feedback("f1", "u0", "g1", "t1", (3.0, 4.0), "2025-06-03T00:00:00Z"),
            feedback("f2", "u1", "g1", "t1", (3.0, 5.0), "2025-06-03T00:00:00Z"),
            feedback("f3", "x", "zz", "t2", (3.0, 2.0), "2025-06-03T00:00:00Z"),
            feedback("f4", "x", "zz", "t2", (3.0, 0.0), "2025-06-03T00:00:00Z"),
        ];
        data
    }

    #[test]
    fn golden_learning_gains_through_the_analytic() {
        let t = compute(&example(100.0), "t1", ts(AS_OF), &Config::default());
        assert_eq!(t.header.status, Status::Ok);
        assert_eq!(t.pairs, 5);
        t1(t.hake_gain.expect("hake"), 0.3125);
        t1(
            t.mean_individual_gain.expect("individual"),
            0.3378205128205128,
        );
        t1(t.cohen_d.expect("d"), 1.0259783520851542);
        // Every post > pre, so c equals the individual gain.
        t1(t.normalized_change.expect("c"), 0.3378205128205128);
        assert!(!t.low_sample);
        assert_eq!(t.header.n.get("ceiling"), Some(&1));
        assert_eq!(t.header.n.get("outOfOrder"), Some(&1));
    }

    #[test]
    fn scores_are_put_on_the_percent_scale_before_the_gains() {
        let t = compute(&example(20.0), "t1", ts(AS_OF), &Config::default());
        t1(t.hake_gain.expect("hake"), 0.3125);
        t1(t.cohen_d.expect("d"), 1.0259783520851542);
    }

    #[test]
    fn rating_is_a_bayesian_average_towards_the_global_trainer_mean() {
        let t = compute(&example(100.0), "t1", ts(AS_OF), &Config::default());
        // Valid trainer ratings: t1 4, 5; t2 2 (0 is invalid). m = 11/3.
        let m = 11.0 / 3.0;
        t1(t.rating.bayesian.expect("bayesian"), (5.0 * m + 9.0) / 7.0);
        assert_eq!((t.rating.raw, t.rating.n), (Some(4.5), 2));
    }

    #[test]
    fn effectiveness_index_is_the_labelled_heuristic_of_gain_completion_and_rating() {
        let t = compute(&example(100.0), "t1", ts(AS_OF), &Config::default());
        let completion = t.completion_rate.as_ref().expect("completion");
        assert_eq!(completion, &Proportion::wilson(4, 8).expect("wilson"));
        let rating_norm = ((5.0 * 11.0 / 3.0 + 9.0) / 7.0 - 1.0) / 4.0;
        let want = 100.0 * (0.5 * 0.3125 + 0.25 * 0.5 + 0.25 * rating_norm);
        t1(t.effectiveness_index.value.expect("index"), want);
        assert_eq!(t.effectiveness_index.label, IndexLabel::Heuristic);
        let json = serde_json::to_value(&t).expect("serialises");
        assert_eq!(json["effectivenessIndex"]["label"], "heuristic");
    }

    #[test]
    fn normalized_change_handles_losses_and_drops_equal_pairs_at_the_bounds() {
        // (40→70): c = 30/60 = 0.5; (80→60): c = −20/80 = −0.25; (50→50): c = 0;
        // (0→0): dropped from c only.
        let mut data = example(100.0);
        data.attempts.clear();
        for (i, (pre, post)) in [(40.0, 70.0), (80.0, 60.0), (50.0, 50.0), (0.0, 0.0)]
            .iter()
            .enumerate()
        {
            let user = format!("u{i}");
            data.attempts.push(attempt(
                &format!("p{i}"),
                "pre",
                &user,
                "2025-05-02T00:00:00Z",
                *pre,
                false,
            ));
            data.attempts.push(attempt(
                &format!("q{i}"),
                "post",
                &user,
                "2025-06-01T00:00:00Z",
                *post,
                true,
            ));
        }
        let t = compute(&data, "t1", ts(AS_OF), &Config::default());
        assert_eq!(t.pairs, 4);
        assert_eq!(t.header.n.get("normalizedChangePairs"), Some(&3));
        t1(t.normalized_change.expect("c"), 0.25 / 3.0);
        // ⟨pre⟩ = 42.5, ⟨post⟩ = 45: ⟨g⟩ = 2.5/57.5.
        t1(t.hake_gain.expect("hake"), 2.5 / 57.5);
        // Individual gains (post − pre)/(100 − pre): 0.5, −20/20 = −1, 0, 0. Unlike c, a loss
        // is normalised by the room to gain, which is why Marx & Cummings changed it.
        t1(t.mean_individual_gain.expect("individual"), -0.125);
        assert!(t.low_sample);
    }

    #[test]
    fn fewer_than_five_pairs_set_low_sample() {
        let mut data = example(100.0);
        data.attempts.retain(|a| a.user_id != "u4");
        let t = compute(&data, "t1", ts(AS_OF), &Config::default());
        assert_eq!(t.pairs, 4);
        assert!(t.low_sample);
        assert!(t.hake_gain.is_some());
    }

    #[test]
    fn no_pairs_gives_null_gains_and_no_index() {
        let mut data = example(100.0);
        data.attempts.retain(|a| a.assessment_id == "pre");
        let t = compute(&data, "t1", ts(AS_OF), &Config::default());
        assert_eq!(t.header.status, Status::Ok);
        assert_eq!(t.pairs, 0);
        assert_eq!(
            (
                t.hake_gain,
                t.mean_individual_gain,
                t.normalized_change,
                t.cohen_d
            ),
            (None, None, None, None)
        );
        assert!(t.low_sample);
        assert_eq!(t.effectiveness_index.value, None);
        assert!(t.header.reasons.iter().any(|r| r == "no_pairs"));
        assert!(t.header.reasons.iter().any(|r| r == "index_incomplete"));
        // Completion and rating are still reported.
        assert!(t.completion_rate.is_some() && t.rating.n == 2);
    }

    #[test]
    fn a_trainer_without_courses_is_insufficient_data() {
        let t = compute(&example(100.0), "t2", ts(AS_OF), &Config::default());
        assert_eq!(t.header.status, Status::InsufficientData);
        assert!(t.header.reasons.iter().any(|r| r == "no_courses"));
        assert_eq!(t.rating.n, 1);
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let t = compute(&example(100.0), "t1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&t).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&t).expect("serialises");
        for key in [
            "pairs",
            "hakeGain",
            "meanIndividualGain",
            "normalizedChange",
            "cohenD",
            "rating",
            "completionRate",
            "effectivenessIndex",
            "lowSample",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        let back: TeachingEffectiveness = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, t);
    }
}
