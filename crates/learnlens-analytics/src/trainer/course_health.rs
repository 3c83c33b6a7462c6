//! Analytic 8, **courseHealth**: an operational traffic light per course of a trainer.
//!
//! Indicators h ∈ \[0,1\] (shared terms are defined in [`crate::trainer`]):
//! - `completion` = completed/matured, with n = matured enrollments;
//! - `retention` = 1 − dropped/matured, with n = matured enrollments;
//! - `score` = meanFinalScore (first attempts at `post`/`exam` assessments), n = those
//!   attempts;
//! - `rating`: the course ratings' Bayesian average r̃ = (C·m + Σr)/(C + n), C = 5, where m
//!   is the **global mean course rating of the dataset** (every valid `courseRating` stamped
//!   ≤ `asOf`, all courses and trainers); h = (r̃ − 1)/4; n = the course's ratings;
//! - `pace` = min(1, expected / median actual completion time), with expected =
//!   `expectedDurationHours` and actual = completedAt − enrolledAt in hours over the
//!   enrollments completed by `asOf`; n = those completions. Both durations are calendar
//!   time, the reading the maturity rule of `analytics.md` §7 already imposes on
//!   `expectedDurationHours`. An expected duration ≤ 0 (unknown) leaves pace `null`; a median
//!   of 0 gives pace 1.
//!
//! Formula: health = 100·Σ w_i·h_i / Σ w_i over the **available** indicators: defined, with
//! n ≥ `indicator_min_n` (5), weights from `course_health.weights` (equal by default; a
//! negative or non-finite weight reads as 0). Status `healthy` at ≥ 70, `at_risk` at ≥ 50,
//! `critical` below.
//!
//! Interpretations:
//! - Indicator values are reported whenever they are defined, even with n < 5;
//!   `missingIndicators` lists, in the fixed order completion, retention, score, rating,
//!   pace, those that did not enter the health score (undefined or n < 5).
//! - A course with no available indicator (or only zero-weight ones) has `health = null` and
//!   status `insufficient_data`. When no course has a health value, the payload status is
//!   `insufficient_data` with reason `no_indicators` (`no_courses` without courses).
//!
//! `n`: `courses`, `ratings` (valid course ratings in the dataset), `coursesWithHealth`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Course, Dataset, DatasetIndex, nonneg_finite};
use crate::stats;

use super::{
    CourseOutcomes, Rating, RatingKind, course_outcomes, courses_of, global_mean_rating,
    valid_rating,
};

/// The courseHealth payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseHealth {
    #[serde(flatten)]
    pub header: Header,
    pub courses: Vec<CourseHealthRow>,
}

/// The health of one course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseHealthRow {
    pub course_id: String,
    /// In \[0,100\]; `null` when no indicator is available.
    pub health: Option<f64>,
    pub status: HealthStatus,
    pub indicators: Indicators,
    pub missing_indicators: Vec<Indicator>,
}

/// Traffic-light status of a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Healthy,
    AtRisk,
    Critical,
    InsufficientData,
}

/// The indicator values, each in \[0,1\] (rating on its 1–5 scale, see [`Rating`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Indicators {
    pub completion: Option<f64>,
    pub retention: Option<f64>,
    pub score: Option<f64>,
    pub rating: Rating,
    pub pace: Option<f64>,
}

/// The name of an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    Completion,
    Retention,
    Score,
    Rating,
    Pace,
}

/// Computes courseHealth for `trainer_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    trainer_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> CourseHealth {
    compute_indexed(&data.index(), trainer_id, as_of, cfg)
}

/// Computes courseHealth for `trainer_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    trainer_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> CourseHealth {
    let mut header = Header::new(as_of);
    let courses = courses_of(idx, trainer_id);
    let prior = global_mean_rating(idx, as_of, RatingKind::Course);
    let rows: Vec<CourseHealthRow> = courses
        .iter()
        .map(|course| {
            let outcomes = course_outcomes(idx, course, as_of, cfg);
            row_of(idx, course, &outcomes, prior, as_of, cfg)
        })
        .collect();

    let with_health = rows.iter().filter(|r| r.health.is_some()).count();
    if courses.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_courses");
    } else if with_health == 0 {
        header.status = Status::InsufficientData;
        header.add_reason("no_indicators");
    }
    let ratings = idx
        .dataset()
        .feedback
        .iter()
        .filter(|f| f.created_at <= as_of && valid_rating(f.course_rating).is_some())
        .count();
    header.set_n("courses", courses.len());
    header.set_n("ratings", ratings);
    header.set_n("coursesWithHealth", with_health);
    CourseHealth {
        header,
        courses: rows,
    }
}

fn row_of(
    idx: &DatasetIndex<'_>,
    course: &Course,
    o: &CourseOutcomes<'_>,
    prior: Option<f64>,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> CourseHealthRow {
    let hc = &cfg.course_health;
    let ratings: Vec<f64> = idx
        .feedback_on(&course.id)
        .iter()
        .filter(|f| f.created_at <= as_of)
        .filter_map(|f| valid_rating(f.course_rating))
        .collect();
    let rating = Rating::of(&ratings, prior, hc.rating_prior_weight);
    let completion = o.completion_rate(cfg).map(|p| p.value);
    let retention = o.dropout_rate(cfg).map(|p| 1.0 - p.value);
    let score = o.mean_final_score();
    let pace = pace_of(course.expected_duration_hours, &o.days_to_complete);

    let n_min = u64::from(hc.indicator_min_n);
    let finals = super::to_u64(o.final_attempts.len());
    let completions = super::to_u64(o.days_to_complete.len());
    let w = &hc.weights;
    let candidates = [
        (Indicator::Completion, completion, o.matured, w.completion),
        (Indicator::Retention, retention, o.matured, w.retention),
        (Indicator::Score, score, finals, w.score),
        (Indicator::Rating, rating.normalized(), rating.n, w.rating),
        (Indicator::Pace, pace, completions, w.pace),
    ];
    let mut missing = Vec::new();
    let (mut weighted, mut total) = (0.0_f64, 0.0_f64);
    for (name, value, n, weight) in candidates {
        match value {
            Some(h) if n >= n_min => {
                let weight = nonneg_finite(weight);
                weighted += weight * h.clamp(0.0, 1.0);
                total += weight;
            }
            _ => missing.push(name),
        }
    }
    let health = (total > 0.0 && total.is_finite())
        .then(|| (100.0 * weighted / total).clamp(0.0, 100.0))
        .filter(|h| h.is_finite());
    CourseHealthRow {
        course_id: course.id.clone(),
        health,
        status: status_of(health, cfg),
        indicators: Indicators {
            completion,
            retention,
            score,
            rating,
            pace,
        },
        missing_indicators: missing,
    }
}

/// min(1, expected / median actual), durations in hours.
fn pace_of(expected_hours: f64, days_to_complete: &[f64]) -> Option<f64> {
    let expected = nonneg_finite(expected_hours);
    if expected <= 0.0 {
        return None;
    }
    let median_hours = stats::median(days_to_complete)? * 24.0;
    if median_hours <= 0.0 {
        return Some(1.0);
    }
    let pace = (expected / median_hours).min(1.0);
    pace.is_finite().then_some(pace)
}

/// `healthy` at ≥ 70, `at_risk` at ≥ 50, `critical` below; `insufficient_data` without health.
fn status_of(health: Option<f64>, cfg: &Config) -> HealthStatus {
    match health {
        None => HealthStatus::InsufficientData,
        Some(h) if h >= cfg.course_health.healthy => HealthStatus::Healthy,
        Some(h) if h >= cfg.course_health.at_risk => HealthStatus::AtRisk,
        Some(_) => HealthStatus::Critical,
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

    /// h1 (24 h): six matured enrollments, five completed in 1–5 days, one dropped; five
    /// final scores 0.6…1.0; five course ratings. h2: two enrollments, two low ratings.
    fn example() -> Dataset {
        let mut data = Dataset {
            courses: vec![course("h1", 24.0), course("h2", 24.0)],
            assessments: vec![assessment("x", "h1", AssessmentKind::Exam, 10.0)],
            ..Dataset::default()
        };
        for i in 0..5u32 {
            let user = format!("u{i}");
            let mut e = enrollment(
                &format!("e{i}"),
                &user,
                "h1",
                "2025-05-01T00:00:00Z",
                EnrollmentStatus::Completed,
            );
            e.completed_at =
                Some(ts("2025-05-01T00:00:00Z") + chrono::TimeDelta::days(i64::from(i) + 1));
            data.enrollments.push(e);
            data.attempts.push(attempt(
                &format!("t{i}"),
                "x",
                &user,
                "2025-05-20T00:00:00Z",
                6.0 + f64::from(i),
                true,
            ));
        }
        let mut dropped = enrollment(
            "e5",
            "u5",
            "h1",
            "2025-05-01T00:00:00Z",
            EnrollmentStatus::Dropped,
        );
        dropped.dropped_at = Some(ts("2025-05-03T00:00:00Z"));
        data.enrollments.push(dropped);
        for (i, user) in ["v0", "v1"].iter().enumerate() {
            data.enrollments.push(enrollment(
                &format!("g{i}"),
                user,
                "h2",
                "2025-05-01T00:00:00Z",
                EnrollmentStatus::InProgress,
            ));
        }
        for (i, r) in [5.0, 4.0, 4.0, 5.0, 3.0].iter().enumerate() {
            data.feedback.push(feedback(
                &format!("f{i}"),
                &format!("u{i}"),
                "h1",
                "t1",
                (*r, 3.0),
                "2025-06-01T00:00:00Z",
            ));
        }
        data.feedback.push(feedback(
            "f5",
            "v0",
            "h2",
            "t1",
            (1.0, 3.0),
            "2025-06-01T00:00:00Z",
        ));
        data.feedback.push(feedback(
            "f6",
            "v1",
            "h2",
            "t1",
            (1.0, 3.0),
            "2025-06-01T00:00:00Z",
        ));
        // Invalid and future ratings are ignored.
        data.feedback.push(feedback(
            "f7",
            "v1",
            "h2",
            "t1",
            (9.0, 3.0),
            "2025-06-01T00:00:00Z",
        ));
        data.feedback.push(feedback(
            "f8",
            "v1",
            "h1",
            "t1",
            (1.0, 3.0),
            "2025-07-01T00:00:00Z",
        ));
        data
    }

    fn row<'a>(h: &'a CourseHealth, id: &str) -> &'a CourseHealthRow {
        h.courses.iter().find(|r| r.course_id == id).expect("row")
    }

    #[test]
    fn indicators_follow_the_documented_formulas() {
        let h = compute(&example(), "t1", ts(AS_OF), &Config::default());
        let i = &row(&h, "h1").indicators;
        close(i.completion.expect("completion"), 5.0 / 6.0);
        close(i.retention.expect("retention"), 5.0 / 6.0);
        close(i.score.expect("score"), 0.8);
        // m = (21 + 2)/7 over every valid course rating; r̃ = (5·m + 21)/(5 + 5).
        let m = 23.0 / 7.0;
        let bayes = (5.0 * m + 21.0) / 10.0;
        close(i.rating.bayesian.expect("bayesian"), bayes);
        close(i.rating.raw.expect("raw"), 4.2);
        assert_eq!(i.rating.n, 5);
        // Median completion 3 days = 72 h against 24 h expected.
        close(i.pace.expect("pace"), 1.0 / 3.0);
    }

    #[test]
    fn health_is_the_weighted_mean_of_available_indicators_and_sets_the_status() {
        let h = compute(&example(), "t1", ts(AS_OF), &Config::default());
        let r = row(&h, "h1");
        let rating_norm = ((5.0 * 23.0 / 7.0 + 21.0) / 10.0 - 1.0) / 4.0;
        let want = 100.0 * (5.0 / 6.0 + 5.0 / 6.0 + 0.8 + rating_norm + 1.0 / 3.0) / 5.0;
        close(r.health.expect("health"), want);
        assert!((50.0..70.0).contains(&want));
        assert_eq!(r.status, HealthStatus::AtRisk);
        assert!(r.missing_indicators.is_empty());
        assert_eq!(h.header.status, Status::Ok);
    }

    #[test]
    fn indicators_below_five_observations_are_missing_and_renormalised() {
        let h = compute(&example(), "t1", ts(AS_OF), &Config::default());
        let r = row(&h, "h2");
        // Two matured enrollments (n = 2 < 5), no completion, no final score, two ratings.
        assert_eq!(r.health, None);
        assert_eq!(r.status, HealthStatus::InsufficientData);
        assert_eq!(
            r.missing_indicators,
            [
                Indicator::Completion,
                Indicator::Retention,
                Indicator::Score,
                Indicator::Rating,
                Indicator::Pace
            ]
        );
        // The values are still reported where defined.
        assert_eq!(r.indicators.completion, Some(0.0));
        assert_eq!(r.indicators.rating.n, 2);

        // Drop the score: health renormalises over the four other indicators.
        let mut data = example();
        data.attempts.truncate(4);
        let h = compute(&data, "t1", ts(AS_OF), &Config::default());
        let r = row(&h, "h1");
        assert_eq!(r.missing_indicators, [Indicator::Score]);
        let rating_norm = ((5.0 * 23.0 / 7.0 + 21.0) / 10.0 - 1.0) / 4.0;
        close(
            r.health.expect("health"),
            100.0 * (5.0 / 6.0 + 5.0 / 6.0 + rating_norm + 1.0 / 3.0) / 4.0,
        );
    }

    #[test]
    fn configured_weights_change_the_mix() {
        let mut cfg = Config::default();
        cfg.course_health.weights.pace = 0.0;
        cfg.course_health.weights.score = 2.0;
        let h = compute(&example(), "t1", ts(AS_OF), &cfg);
        let rating_norm = ((5.0 * 23.0 / 7.0 + 21.0) / 10.0 - 1.0) / 4.0;
        let want = 100.0 * (5.0 / 6.0 + 5.0 / 6.0 + 2.0 * 0.8 + rating_norm) / 5.0;
        close(row(&h, "h1").health.expect("health"), want);
        assert_eq!(row(&h, "h1").status, HealthStatus::Healthy);
    }

    #[test]
    fn status_bands_are_healthy_from_seventy_and_critical_below_fifty() {
        let cfg = Config::default();
        assert_eq!(status_of(Some(70.0), &cfg), HealthStatus::Healthy);
        assert_eq!(status_of(Some(69.99), &cfg), HealthStatus::AtRisk);
        assert_eq!(status_of(Some(50.0), &cfg), HealthStatus::AtRisk);
        assert_eq!(status_of(Some(49.99), &cfg), HealthStatus::Critical);
        assert_eq!(status_of(None, &cfg), HealthStatus::InsufficientData);
    }

    #[test]
    fn pace_is_capped_at_one_and_undefined_without_an_expected_duration() {
        assert_eq!(pace_of(24.0, &[0.5]), Some(1.0));
        assert_eq!(pace_of(24.0, &[0.0]), Some(1.0));
        assert_eq!(pace_of(24.0, &[2.0, 4.0]), Some(24.0 / 72.0));
        assert_eq!(pace_of(0.0, &[2.0]), None);
        assert_eq!(pace_of(f64::NAN, &[2.0]), None);
        assert_eq!(pace_of(24.0, &[]), None);
    }

    #[test]
    fn no_available_indicator_anywhere_is_insufficient_data() {
        let mut data = example();
        data.courses.retain(|c| c.id == "h2");
        let h = compute(&data, "t1", ts(AS_OF), &Config::default());
        assert_eq!(h.header.status, Status::InsufficientData);
        assert_eq!(h.header.reasons, ["no_indicators"]);
        let none = compute(&data, "t9", ts(AS_OF), &Config::default());
        assert_eq!(none.header.reasons, ["no_courses"]);
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let h = compute(&example(), "t1", ts(AS_OF), &Config::default());
        let json = serde_json::to_value(&h).expect("serialises");
        let row = &json["courses"][0];
        for key in [
            "courseId",
            "health",
            "status",
            "indicators",
            "missingIndicators",
        ] {
            assert!(row.get(key).is_some(), "missing {key}");
        }
        for key in ["completion", "retention", "score", "rating", "pace"] {
            assert!(
                row["indicators"].get(key).is_some(),
                "missing indicators.{key}"
            );
        }
        for key in ["bayesian", "raw", "n"] {
            assert!(row["indicators"]["rating"].get(key).is_some());
        }
        assert_eq!(row["status"], "at_risk");
        assert_eq!(json["courses"][1]["status"], "insufficient_data");
        assert_eq!(json["courses"][1]["missingIndicators"][0], "completion");
        let back: CourseHealth = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, h);
    }
}
