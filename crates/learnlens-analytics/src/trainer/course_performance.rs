//! Analytic 7, **coursePerformance**: learner outcomes per course of a trainer, and their
//! enrollment-weighted aggregate.
//!
//! Definitions and interpretations (shared terms — matured, completed/dropped by, active,
//! first and final attempts, score — are defined in [`crate::trainer`]):
//! - `enrolled` = the course's enrollments with `enrolledAt ≤ asOf` (a learner enrolled twice
//!   counts twice); `active` = distinct enrolled learners with an event about the course in
//!   the last 28 days.
//! - `completionRate` = completed/matured and `dropoutRate` = dropped/matured, each
//!   `{value, ci, n}` with a 95 % Wilson interval and n = matured enrollments; `null` when no
//!   enrollment has matured. `rawCompletionRate` = completed/enrolled over all enrollments,
//!   matured or not (`null` without enrollments).
//! - `passRate` = the share of final attempts (first attempts at the course's `post` and `exam`
//!   assessments) flagged `passed`, as `{value, ci, n}`; `meanFinalScore` = the mean score of
//!   the same observations. Both `null` without final attempts.
//! - `meanProgress` = mean of `progress` (clamped to \[0,1\]) over the enrollments. The
//!   catalogue reports progress *now*, so for a past `asOf` it may include later progress.
//! - `medianDaysToComplete` = median of (completedAt − enrolledAt) in days over the
//!   enrollments completed by `asOf` (matured or not; a completion dated before its enrollment
//!   is left out).
//! - **overall**: for every rate and mean, the enrollment-weighted mean of the course values
//!   Σ enrolled_c·x_c / Σ enrolled_c over the courses where x_c is defined
//!   (`numpy.average(x, weights=enrolled)`); `medianDaysToComplete` likewise averages the
//!   course medians. `enrolled` and `active` are sums over courses (a learner active in two
//!   courses counts twice). The aggregate rates carry no interval: a weighted mean of rates is
//!   not a binomial proportion.
//! - Courses are sorted by id. No course for this trainer: status `insufficient_data`, reason
//!   `no_courses`; courses without enrollments: reason `no_enrollments`.
//!
//! `n`: `courses`, `enrollments`, `matured`, `finalAttempts`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex};
use crate::memo::CohortMemo;
use crate::stats;
use crate::stats::proportion::Proportion;

use super::{active_learners, course_outcomes, courses_of, to_u64};

/// The coursePerformance payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoursePerformance {
    #[serde(flatten)]
    pub header: Header,
    pub courses: Vec<CourseRow>,
    pub overall: Overall,
}

/// The outcomes of one course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CourseRow {
    pub course_id: String,
    pub enrolled: u64,
    pub active: u64,
    /// completed/matured.
    pub completion_rate: Option<Proportion>,
    /// completed/enrolled, matured or not.
    pub raw_completion_rate: Option<f64>,
    /// dropped/matured.
    pub dropout_rate: Option<Proportion>,
    /// passed/final attempts.
    pub pass_rate: Option<Proportion>,
    pub mean_final_score: Option<f64>,
    pub mean_progress: Option<f64>,
    pub median_days_to_complete: Option<f64>,
}

/// The trainer aggregate: enrollment-weighted means of the course values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overall {
    pub enrolled: u64,
    pub active: u64,
    pub completion_rate: Option<f64>,
    pub raw_completion_rate: Option<f64>,
    pub dropout_rate: Option<f64>,
    pub pass_rate: Option<f64>,
    pub mean_final_score: Option<f64>,
    pub mean_progress: Option<f64>,
    pub median_days_to_complete: Option<f64>,
}

/// Computes coursePerformance for `trainer_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    trainer_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> CoursePerformance {
    compute_indexed(&data.index(), trainer_id, as_of, cfg)
}

/// Computes coursePerformance for `trainer_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    trainer_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> CoursePerformance {
    compute_shared(idx, trainer_id, as_of, cfg, &CohortMemo::new())
}

/// [`compute_indexed`] with the learners' digests taken from (and added to) `memo`; the same
/// payload.
pub fn compute_shared(
    idx: &DatasetIndex<'_>,
    trainer_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'_>,
) -> CoursePerformance {
    let mut header = Header::new(as_of);
    let courses = courses_of(idx, trainer_id);
    let (mut enrollments, mut matured, mut finals) = (0usize, 0u64, 0usize);
    let mut rows = Vec::with_capacity(courses.len());
    for course in &courses {
        let o = course_outcomes(idx, course, as_of, cfg);
        enrollments += o.enrolled;
        matured += o.matured;
        finals += o.final_attempts.len();
        let raw_completion_rate = (o.enrolled > 0).then(|| o.completed as f64 / o.enrolled as f64);
        rows.push(CourseRow {
            course_id: course.id.clone(),
            enrolled: to_u64(o.enrolled),
            active: to_u64(active_learners(idx, course, as_of, cfg, memo).len()),
            completion_rate: o.completion_rate(cfg),
            raw_completion_rate,
            dropout_rate: o.dropout_rate(cfg),
            pass_rate: o.pass_rate(cfg),
            mean_final_score: o.mean_final_score(),
            mean_progress: stats::mean(&o.progress),
            median_days_to_complete: stats::median(&o.days_to_complete),
        });
    }
    let overall = overall_of(&rows);

    if courses.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_courses");
    } else if enrollments == 0 {
        header.add_reason("no_enrollments");
    }
    header.set_n("courses", courses.len());
    header.set_n("enrollments", enrollments);
    header.set_n("matured", usize::try_from(matured).unwrap_or(usize::MAX));
    header.set_n("finalAttempts", finals);

    CoursePerformance {
        header,
        courses: rows,
        overall,
    }
}

/// Enrollment-weighted means of the course values.
fn overall_of(rows: &[CourseRow]) -> Overall {
    let weighted = |value: fn(&CourseRow) -> Option<f64>| {
        let (x, w): (Vec<f64>, Vec<f64>) = rows
            .iter()
            .filter_map(|r| Some((value(r)?, r.enrolled as f64)))
            .unzip();
        stats::weighted_mean(&x, &w)
    };
    Overall {
        enrolled: rows.iter().fold(0u64, |a, r| a.saturating_add(r.enrolled)),
        active: rows.iter().fold(0u64, |a, r| a.saturating_add(r.active)),
        completion_rate: weighted(|r| r.completion_rate.as_ref().map(|p| p.value)),
        raw_completion_rate: weighted(|r| r.raw_completion_rate),
        dropout_rate: weighted(|r| r.dropout_rate.as_ref().map(|p| p.value)),
        pass_rate: weighted(|r| r.pass_rate.as_ref().map(|p| p.value)),
        mean_final_score: weighted(|r| r.mean_final_score),
        mean_progress: weighted(|r| r.mean_progress),
        median_days_to_complete: weighted(|r| r.median_days_to_complete),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::input::{ActivityEvent, AssessmentKind, Course, EnrollmentStatus, Verb};
    use crate::test_support::*;
    use crate::trainer::testdata::{assessment, attempt};

    pub(crate) const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn trainer_course(id: &str, trainer: &str, hours: f64) -> Course {
        let mut c = course(id, hours);
        c.trainer_id = trainer.into();
        c
    }

    fn on_course(user: &str, course: &str, at: &str) -> ActivityEvent {
        let mut e = event(user, "elsewhere", Verb::Experienced, at);
        e.course_id = Some(course.into());
        e
    }

    /// Trainer t1: c1 (10 h; five enrollments ≤ asOf, four matured) and c2 (5 h; one
    /// matured enrollment); c3 belongs to t2.
    pub(crate) fn example() -> Dataset {
        let done = |id: &str, user: &str, at: &str, end: &str| {
            let mut e = enrollment(id, user, "c1", at, EnrollmentStatus::Completed);
            e.completed_at = Some(ts(end));
            e.progress = 1.0;
            e
        };
        let mut dropped = enrollment(
            "e2",
            "u2",
            "c1",
            "2025-05-02T00:00:00Z",
            EnrollmentStatus::Dropped,
        );
        dropped.dropped_at = Some(ts("2025-05-20T00:00:00Z"));
        dropped.progress = 0.3;
        let mut open = enrollment(
            "e3",
            "u3",
            "c1",
            "2025-05-03T00:00:00Z",
            EnrollmentStatus::InProgress,
        );
        open.progress = 0.5;
        // 12 h before asOf: matures only 20 h after enrolling.
        let mut fresh = enrollment(
            "e5",
            "u5",
            "c1",
            "2025-06-30T00:00:00Z",
            EnrollmentStatus::InProgress,
        );
        fresh.progress = 0.1;
        let mut other = enrollment(
            "f1",
            "u1",
            "c2",
            "2025-06-01T00:00:00Z",
            EnrollmentStatus::Enrolled,
        );
        other.progress = 0.2;
        let mut retake = attempt("t2", "a-post", "u1", "2025-05-11T00:00:00Z", 50.0, true);
        retake.attempt_no = 2;
        Dataset {
            courses: vec![
                trainer_course("c2", "t1", 5.0),
                trainer_course("c1", "t1", 10.0),
                trainer_course("c3", "t2", 1.0),
            ],
            content_items: vec![item("i1", "c1", 30.0), item("i2", "c2", 30.0)],
            enrollments: vec![
                done("e1", "u1", "2025-05-01T00:00:00Z", "2025-05-11T00:00:00Z"),
                dropped,
                open,
                done("e4", "u4", "2025-05-04T00:00:00Z", "2025-05-24T00:00:00Z"),
                fresh,
                enrollment(
                    "e6",
                    "u6",
                    "c1",
                    "2025-07-05T00:00:00Z",
                    EnrollmentStatus::Enrolled,
                ),
                other,
                enrollment(
                    "g1",
                    "u1",
                    "c3",
                    "2025-01-01T00:00:00Z",
                    EnrollmentStatus::Dropped,
                ),
            ],
            assessments: vec![
                assessment("a-pre", "c1", AssessmentKind::Pre, 100.0),
                assessment("a-post", "c1", AssessmentKind::Post, 50.0),
                assessment("a-exam", "c1", AssessmentKind::Exam, 100.0),
                assessment("a-quiz", "c1", AssessmentKind::Quiz, 100.0),
            ],
            attempts: vec![
                attempt("t1", "a-post", "u1", "2025-05-10T00:00:00Z", 40.0, true),
                retake,
                attempt("t3", "a-exam", "u1", "2025-05-10T01:00:00Z", 70.0, true),
                attempt("t4", "a-post", "u3", "2025-06-01T00:00:00Z", 20.0, false),
                attempt("t5", "a-post", "u4", "2025-07-01T00:00:00Z", 50.0, true),
                attempt("t6", "a-quiz", "u4", "2025-05-05T00:00:00Z", 100.0, true),
                attempt("t7", "a-pre", "u3", "2025-05-04T00:00:00Z", 10.0, false),
            ],
            events: vec![
                event("u3", "i1", Verb::Experienced, "2025-06-20T00:00:00Z"),
                on_course("u5", "c1", "2025-06-30T06:00:00Z"),
                event("u1", "i1", Verb::Experienced, "2025-05-15T00:00:00Z"),
                event("u2", "i2", Verb::Experienced, "2025-06-25T00:00:00Z"),
                event("u4", "i1", Verb::Experienced, "2025-07-01T00:00:00Z"),
            ],
            ..Dataset::default()
        }
    }

    fn row<'a>(p: &'a CoursePerformance, id: &str) -> &'a CourseRow {
        p.courses
            .iter()
            .find(|r| r.course_id == id)
            .expect("course row")
    }

    #[test]
    fn rates_use_matured_enrollments_with_wilson_intervals() {
        let p = compute(&example(), "t1", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::Ok);
        let ids: Vec<&str> = p.courses.iter().map(|r| r.course_id.as_str()).collect();
        assert_eq!(ids, ["c1", "c2"]);
        let c1 = row(&p, "c1");
        assert_eq!((c1.enrolled, c1.active), (5, 2));
        assert_eq!(c1.completion_rate, Proportion::wilson(2, 4));
        assert_eq!(c1.completion_rate.as_ref().map(|r| r.value), Some(0.5));
        assert_eq!(c1.completion_rate.as_ref().map(|r| r.n), Some(4));
        assert_eq!(c1.dropout_rate, Proportion::wilson(1, 4));
        close(c1.raw_completion_rate.expect("raw"), 0.4);
    }

    #[test]
    fn final_scores_are_first_attempts_at_post_and_exam_assessments() {
        let p = compute(&example(), "t1", ts(AS_OF), &Config::default());
        let c1 = row(&p, "c1");
        // u1: post 40/50 (the retake is ignored) and exam 70/100; u3: post 20/50; u4's post
        // is after asOf and the quiz and pre-test are not final.
        close(c1.mean_final_score.expect("score"), (0.8 + 0.7 + 0.4) / 3.0);
        assert_eq!(c1.pass_rate, Proportion::wilson(2, 3));
        assert_eq!(p.header.n.get("finalAttempts"), Some(&3));
    }

    #[test]
    fn progress_and_days_to_complete_cover_all_enrollments_at_as_of() {
        let p = compute(&example(), "t1", ts(AS_OF), &Config::default());
        let c1 = row(&p, "c1");
        close(c1.mean_progress.expect("progress"), 2.9 / 5.0);
        assert_eq!(c1.median_days_to_complete, Some(15.0));
        let c2 = row(&p, "c2");
        assert_eq!((c2.enrolled, c2.active), (1, 0));
        assert_eq!(c2.completion_rate, Proportion::wilson(0, 1));
        assert_eq!(c2.median_days_to_complete, None);
        assert_eq!((c2.mean_final_score, c2.pass_rate.clone()), (None, None));
    }

    #[test]
    fn overall_is_the_enrollment_weighted_mean_of_course_values() {
        let p = compute(&example(), "t1", ts(AS_OF), &Config::default());
        let o = &p.overall;
        assert_eq!((o.enrolled, o.active), (6, 2));
        close(
            o.completion_rate.expect("rate"),
            (5.0 * 0.5 + 1.0 * 0.0) / 6.0,
        );
        close(o.raw_completion_rate.expect("raw"), (5.0 * 0.4) / 6.0);
        close(o.dropout_rate.expect("dropout"), (5.0 * 0.25) / 6.0);
        close(o.pass_rate.expect("pass"), 2.0 / 3.0); // c2 has none
        close(o.mean_final_score.expect("score"), 1.9 / 3.0);
        close(o.mean_progress.expect("progress"), (2.9 + 0.2) / 6.0);
        close(o.median_days_to_complete.expect("days"), 15.0);
        assert_eq!(p.header.n.get("courses"), Some(&2));
        assert_eq!(p.header.n.get("enrollments"), Some(&6));
        assert_eq!(p.header.n.get("matured"), Some(&5));
    }

    #[test]
    fn golden_wilson_interval_for_eight_completions_of_ten() {
        let mut data = Dataset {
            courses: vec![trainer_course("w1", "t1", 1.0)],
            ..Dataset::default()
        };
        for i in 0..10 {
            let mut e = enrollment(
                &format!("e{i}"),
                &format!("u{i}"),
                "w1",
                "2025-01-01T00:00:00Z",
                EnrollmentStatus::InProgress,
            );
            if i < 8 {
                e.status = EnrollmentStatus::Completed;
                e.completed_at = Some(ts("2025-01-05T00:00:00Z"));
            }
            data.enrollments.push(e);
        }
        let p = compute(&data, "t1", ts(AS_OF), &Config::default());
        let rate = p.courses[0].completion_rate.as_ref().expect("rate");
        assert_eq!((rate.value, rate.n), (0.8, 10));
        // statsmodels proportion_confint(8, 10, method="wilson")
        assert!((rate.ci.0 - 0.49016247153664183).abs() < 1e-9);
        assert!((rate.ci.1 - 0.9433178485456247).abs() < 1e-9);
        assert_eq!(p.courses[0].median_days_to_complete, Some(4.0));
    }

    #[test]
    fn no_matured_enrollment_gives_null_rates() {
        let p = compute(
            &example(),
            "t1",
            ts("2025-05-01T10:00:00Z"),
            &Config::default(),
        );
        let c1 = row(&p, "c1");
        assert_eq!(c1.enrolled, 1);
        assert_eq!(c1.completion_rate, None);
        assert_eq!(c1.dropout_rate, None);
        assert_eq!(c1.raw_completion_rate, Some(0.0));
        assert_eq!(p.overall.completion_rate, None);
        let json = serde_json::to_value(&p).expect("serialises");
        assert!(json["courses"][0]["completionRate"].is_null());
    }

    #[test]
    fn a_trainer_without_courses_is_insufficient_data() {
        let p = compute(&example(), "nobody", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::InsufficientData);
        assert_eq!(p.header.reasons, ["no_courses"]);
        assert!(p.courses.is_empty());
        assert_eq!(p.overall.enrolled, 0);
        assert_eq!(p.overall.completion_rate, None);
    }

    #[test]
    fn courses_without_enrollments_are_reported_with_null_values() {
        let mut data = example();
        data.enrollments.clear();
        let p = compute(&data, "t1", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::Ok);
        assert_eq!(p.header.reasons, ["no_enrollments"]);
        assert!(p.courses.iter().all(|r| r.enrolled == 0
            && r.raw_completion_rate.is_none()
            && r.mean_progress.is_none()));
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let p = compute(&example(), "t1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&p).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&p).expect("serialises");
        for key in [
            "courseId",
            "enrolled",
            "active",
            "completionRate",
            "rawCompletionRate",
            "dropoutRate",
            "passRate",
            "meanFinalScore",
            "meanProgress",
            "medianDaysToComplete",
        ] {
            assert!(
                json["courses"][0].get(key).is_some(),
                "missing courses.{key}"
            );
        }
        for key in ["value", "ci", "n"] {
            assert!(json["courses"][0]["completionRate"].get(key).is_some());
        }
        assert!(json["overall"].get("completionRate").is_some());
        let back: CoursePerformance = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, p);
    }
}
