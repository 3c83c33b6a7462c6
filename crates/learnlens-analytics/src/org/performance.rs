//! Analytic 14, **orgPerformance**: the organisation's learning outcomes in the current period,
//! each with its change against the previous period of equal length.
//!
//! **Periods**: current = `(asOf − P, asOf]`, previous = `(asOf − 2P, asOf − P]`, with
//! P = `org.performance_period_days` (90: a quarter). Every metric is a *period* metric: it
//! counts the events that fall inside the period, judged with what was known at the period's
//! end. `delta` = current − previous, `null` when either is `null`.
//!
//! Metrics, over the enrollments and attempts of the active users (see [`crate::org`]; shared
//! terms — matured, completed/dropped by, first attempt, score — are those of
//! [`crate::trainer`]):
//! - `completionRate` / `dropoutRate`: the cohort is the enrollments that **matured inside the
//!   period** (enrolledAt + 2 × expectedDuration in it); rate = completed (resp. dropped) by the
//!   period's end / cohort, with a Wilson interval. Enrollments in courses missing from the
//!   dataset cannot mature and are left out (`n.unknownCourse`).
//! - `passRate` / `meanScore` (`analytics.md`'s firstAttemptPassRate and
//!   meanFirstAttemptScore): first attempts submitted inside the period at any assessment
//!   except `pre` (a pre-test measures the starting point, not performance): passed/those
//!   with a Wilson interval, and their mean score/maxScore.
//! - `hakeGain`: per course, Hake's ⟨g⟩ over the matched pre/post pairs (as in
//!   teachingEffectiveness) whose post-test was submitted inside the period; then the mean of
//!   the course gains weighted by their number of pairs ("enrollment-weighted": each
//!   enrollment with a pair weighs the same). `n` = pairs.
//! - `mandatoryCompliance`: enrollments that are mandatory (`assignedBy = mandatory` or the
//!   course `isMandatory`) with `dueAt` inside the period; compliant = completed with
//!   `completedAt ≤ dueAt`; Wilson interval.
//! - Each metric is `{value, ci, n, previous, delta}` (`ci` only on proportions), so the
//!   Output line's `{value, ci, delta}` plus the sample size and the previous value.
//! - **departments**: the same metrics per department, every value `null` below k users.
//! - Zero denominators give `null`. No active user: status `insufficient_data`, reason
//!   `no_active_users`.
//!
//! `n`: `users`, `enrollments` (≤ asOf), `unknownCourse`, `departments`,
//! `suppressedDepartments`, `noDepartment`.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{AssessmentKind, AssignedBy, Dataset, DatasetIndex, User};
use crate::stats;
use crate::stats::proportion::Proportion;
use crate::trainer::{
    PairOutcome, dropped_by, first_attempts, maturity_instant, pre_post_pair, scaled_score, to_u64,
};

use super::{department_rows, members};

/// The orgPerformance payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgPerformance {
    #[serde(flatten)]
    pub header: Header,
    /// P in days.
    pub period_days: u32,
    #[serde(flatten)]
    pub metrics: PerformanceMetrics,
    pub departments: Vec<DepartmentPerformance>,
}

/// The six metrics of one population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceMetrics {
    pub completion_rate: Option<RateMetric>,
    pub dropout_rate: Option<RateMetric>,
    pub pass_rate: Option<RateMetric>,
    pub mean_score: Option<MeanMetric>,
    pub hake_gain: Option<MeanMetric>,
    pub mandatory_compliance: Option<RateMetric>,
}

/// A proportion in the current period, with its change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateMetric {
    pub value: Option<f64>,
    pub ci: Option<(f64, f64)>,
    pub n: u64,
    pub previous: Option<f64>,
    pub delta: Option<f64>,
}

/// A mean in the current period, with its change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeanMetric {
    pub value: Option<f64>,
    pub n: u64,
    pub previous: Option<f64>,
    pub delta: Option<f64>,
}

/// One department's metrics; all `null` when suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentPerformance {
    pub department: String,
    pub suppressed: bool,
    pub users: Option<u64>,
    #[serde(flatten)]
    pub metrics: PerformanceMetrics,
}

/// Computes orgPerformance for `org_id` from `data` (indexes it first).
pub fn compute(data: &Dataset, org_id: &str, as_of: DateTime<Utc>, cfg: &Config) -> OrgPerformance {
    compute_indexed(&data.index(), org_id, as_of, cfg)
}

/// Computes orgPerformance for `org_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    org_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> OrgPerformance {
    let mut header = Header::new(as_of);
    let users = members(idx, org_id, as_of);
    let (metrics, counts) = metrics_of(idx, &users, as_of, cfg);

    let departments = department_rows(&users, cfg, &mut header, |name, members| {
        DepartmentPerformance {
            department: name.to_owned(),
            suppressed: members.is_none(),
            users: members.map(|m| to_u64(m.len())),
            metrics: members.map_or_else(PerformanceMetrics::empty, |m| {
                metrics_of(idx, m, as_of, cfg).0
            }),
        }
    });

    if users.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_active_users");
    }
    header.set_n("users", users.len());
    header.set_n("enrollments", counts.enrollments);
    header.set_n("unknownCourse", counts.unknown_course);

    OrgPerformance {
        header,
        period_days: cfg.org.performance_period_days,
        metrics,
        departments,
    }
}

impl PerformanceMetrics {
    fn empty() -> Self {
        PerformanceMetrics {
            completion_rate: None,
            dropout_rate: None,
            pass_rate: None,
            mean_score: None,
            hake_gain: None,
            mandatory_compliance: None,
        }
    }
}

/// A half-open period `(start, end]`.
#[derive(Debug, Clone, Copy)]
struct Period {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Period {
    fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start < t && t <= self.end
    }
}

/// The raw tallies of one period.
#[derive(Debug, Default)]
struct Tally {
    cohort: u64,
    completed: u64,
    dropped: u64,
    attempts: u64,
    passed: u64,
    scores: Vec<f64>,
    /// Pre and post scores per course.
    pairs: BTreeMap<String, (Vec<f64>, Vec<f64>)>,
    due: u64,
    compliant: u64,
}

impl Tally {
    fn hake(&self) -> (Option<f64>, usize) {
        let (mut gains, mut weights, mut n) = (Vec::new(), Vec::new(), 0usize);
        for (pre, post) in self.pairs.values() {
            n += pre.len();
            if let Some(g) = stats::gain::hake_gain(pre, post) {
                gains.push(g);
                weights.push(pre.len() as f64);
            }
        }
        (stats::weighted_mean(&gains, &weights), n)
    }
}

#[derive(Debug, Default)]
struct Counts {
    enrollments: usize,
    unknown_course: usize,
}

fn metrics_of(
    idx: &DatasetIndex<'_>,
    users: &[&User],
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> (PerformanceMetrics, Counts) {
    let p =
        TimeDelta::try_days(i64::from(cfg.org.performance_period_days)).unwrap_or(TimeDelta::MAX);
    let mid = as_of
        .checked_sub_signed(p)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let start = mid
        .checked_sub_signed(p)
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let periods = [
        Period {
            start: mid,
            end: as_of,
        },
        Period { start, end: mid },
    ];
    let mut tallies = [Tally::default(), Tally::default()];
    let mut counts = Counts::default();

    for user in users {
        let enrollments: Vec<_> = idx
            .enrollments_of(&user.id)
            .iter()
            .filter(|e| e.enrolled_at <= as_of)
            .collect();
        counts.enrollments += enrollments.len();
        for e in &enrollments {
            let Some(course) = idx.course(&e.course_id) else {
                counts.unknown_course += 1;
                continue;
            };
            let matures = maturity_instant(e, course, cfg.course.maturity_factor);
            let mandatory = e.assigned_by == AssignedBy::Mandatory || course.is_mandatory;
            for (period, tally) in periods.iter().zip(tallies.iter_mut()) {
                if matures.is_some_and(|t| period.contains(t)) {
                    tally.cohort += 1;
                    if e.completed_by(period.end) {
                        tally.completed += 1;
                    } else if dropped_by(e, period.end) {
                        tally.dropped += 1;
                    }
                }
                if let Some(due) = e.due_at.filter(|d| mandatory && period.contains(*d)) {
                    tally.due += 1;
                    if e.completed_by(due) {
                        tally.compliant += 1;
                    }
                }
            }
        }

        let firsts = first_attempts(idx, &user.id, as_of);
        for (assessment_id, attempt) in &firsts {
            let Some(assessment) = idx.assessment(assessment_id) else {
                continue;
            };
            if assessment.kind == AssessmentKind::Pre {
                continue;
            }
            let Some(score) = scaled_score(attempt, assessment) else {
                continue;
            };
            for (period, tally) in periods.iter().zip(tallies.iter_mut()) {
                if period.contains(attempt.submitted_at) {
                    tally.attempts += 1;
                    tally.passed += u64::from(attempt.passed);
                    tally.scores.push(score);
                }
            }
        }
        // Pairs: one per course the user is enrolled in.
        let mut courses: Vec<&str> = enrollments.iter().map(|e| e.course_id.as_str()).collect();
        courses.sort_unstable();
        courses.dedup();
        for course_id in courses {
            if let PairOutcome::Pair(pair) = pre_post_pair(idx, &firsts, course_id) {
                for (period, tally) in periods.iter().zip(tallies.iter_mut()) {
                    if period.contains(pair.post_at) {
                        let slot = tally.pairs.entry(course_id.to_owned()).or_default();
                        slot.0.push(pair.pre);
                        slot.1.push(pair.post);
                    }
                }
            }
        }
    }

    let [now, before] = &tallies;
    let level = cfg.stats.confidence_level;
    let rate = |k: fn(&Tally) -> (u64, u64)| {
        let (a, n) = k(now);
        let (b, m) = k(before);
        rate_metric(
            Proportion::wilson_at(a, n, level),
            n,
            Proportion::wilson_at(b, m, level).map(|p| p.value),
        )
    };
    let (hake_now, pairs_now) = now.hake();
    let metrics = PerformanceMetrics {
        completion_rate: rate(|t| (t.completed, t.cohort)),
        dropout_rate: rate(|t| (t.dropped, t.cohort)),
        pass_rate: rate(|t| (t.passed, t.attempts)),
        mean_score: Some(mean_metric(
            stats::mean(&now.scores),
            to_u64(now.scores.len()),
            stats::mean(&before.scores),
        )),
        hake_gain: Some(mean_metric(hake_now, to_u64(pairs_now), before.hake().0)),
        mandatory_compliance: rate(|t| (t.compliant, t.due)),
    };
    (metrics, counts)
}

fn delta(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    Some(now? - before?).filter(|d| d.is_finite())
}

fn rate_metric(now: Option<Proportion>, n: u64, previous: Option<f64>) -> Option<RateMetric> {
    let value = now.as_ref().map(|p| p.value);
    Some(RateMetric {
        value,
        ci: now.map(|p| p.ci),
        n,
        previous,
        delta: delta(value, previous),
    })
}

fn mean_metric(value: Option<f64>, n: u64, previous: Option<f64>) -> MeanMetric {
    MeanMetric {
        value,
        n,
        previous,
        delta: delta(value, previous),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Course, Enrollment, EnrollmentStatus};
    use crate::test_support::*;
    use crate::trainer::testdata::{assessment, attempt};

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn with_course(id: &str, hours: f64, mandatory: bool) -> Course {
        let mut c = course(id, hours);
        c.is_mandatory = mandatory;
        c
    }

    fn enr(id: &str, user: &str, course: &str, at: &str, status: EnrollmentStatus) -> Enrollment {
        enrollment(id, user, course, at, status)
    }

    fn ended(mut e: Enrollment, at: &str) -> Enrollment {
        match e.status {
            EnrollmentStatus::Dropped => e.dropped_at = Some(ts(at)),
            _ => e.completed_at = Some(ts(at)),
        }
        e
    }

    /// Current period (2025-04-01T12:00Z, asOf], previous (2025-01-01T12:00Z, 2025-04-01T12:00Z].
    /// Users u1–u5 in department `a`, u6 in `b`.
    fn example() -> Dataset {
        let mut users: Vec<_> = (1..=6)
            .map(|i| user(&format!("u{i}"), "o1", None))
            .collect();
        for u in users.iter_mut().take(5) {
            u.department = Some("a".into());
        }
        users[5].department = Some("b".into());
        let mut mandatory = ended(
            enr(
                "e1",
                "u1",
                "p1",
                "2025-05-01T00:00:00Z",
                EnrollmentStatus::Completed,
            ),
            "2025-05-10T00:00:00Z",
        );
        mandatory.assigned_by = AssignedBy::Mandatory;
        mandatory.due_at = Some(ts("2025-05-15T00:00:00Z"));
        let mut late = ended(
            enr(
                "m2",
                "u5",
                "p3",
                "2025-05-01T00:00:00Z",
                EnrollmentStatus::Completed,
            ),
            "2025-06-20T00:00:00Z",
        );
        late.due_at = Some(ts("2025-06-15T00:00:00Z"));
        let mut open = enr(
            "m1",
            "u4",
            "p3",
            "2025-05-01T00:00:00Z",
            EnrollmentStatus::InProgress,
        );
        open.due_at = Some(ts("2025-06-01T00:00:00Z"));
        let mut earlier = ended(
            enr(
                "m3",
                "u5",
                "p3",
                "2025-01-15T00:00:00Z",
                EnrollmentStatus::Completed,
            ),
            "2025-02-25T00:00:00Z",
        );
        earlier.due_at = Some(ts("2025-03-01T00:00:00Z"));
        Dataset {
            users,
            courses: vec![
                with_course("p1", 24.0, false),
                with_course("p2", 1e6, false),
                with_course("p3", 1e6, true),
            ],
            enrollments: vec![
                // Cohort maturing in the current period: 1 of 4 completed, 1 dropped.
                mandatory,
                ended(
                    enr(
                        "e2",
                        "u2",
                        "p1",
                        "2025-05-01T00:00:00Z",
                        EnrollmentStatus::Dropped,
                    ),
                    "2025-05-05T00:00:00Z",
                ),
                enr(
                    "e3",
                    "u3",
                    "p1",
                    "2025-05-01T00:00:00Z",
                    EnrollmentStatus::InProgress,
                ),
                ended(
                    enr(
                        "e4",
                        "u4",
                        "p1",
                        "2025-05-01T00:00:00Z",
                        EnrollmentStatus::Completed,
                    ),
                    "2025-07-05T00:00:00Z",
                ),
                // Cohort maturing in the previous period: 2 of 2 completed.
                ended(
                    enr(
                        "d1",
                        "u1",
                        "p1",
                        "2025-02-01T00:00:00Z",
                        EnrollmentStatus::Completed,
                    ),
                    "2025-02-10T00:00:00Z",
                ),
                ended(
                    enr(
                        "d2",
                        "u2",
                        "p1",
                        "2025-02-01T00:00:00Z",
                        EnrollmentStatus::Completed,
                    ),
                    "2025-02-20T00:00:00Z",
                ),
                // p2 never matures: only its pre/post pair counts.
                enr(
                    "g3",
                    "u3",
                    "p2",
                    "2025-04-02T00:00:00Z",
                    EnrollmentStatus::InProgress,
                ),
                // Mandatory course p3: due in the current period 2 (0 compliant), previous 1 (1).
                open,
                late,
                earlier,
                // An enrollment in an unknown course.
                enr(
                    "z1",
                    "u1",
                    "gone",
                    "2025-05-01T00:00:00Z",
                    EnrollmentStatus::Enrolled,
                ),
            ],
            assessments: vec![
                assessment("x1", "p1", AssessmentKind::Exam, 100.0),
                assessment("q1", "p1", AssessmentKind::Quiz, 100.0),
                assessment("pr1", "p1", AssessmentKind::Pre, 100.0),
                assessment("po1", "p1", AssessmentKind::Post, 100.0),
                assessment("pr2", "p2", AssessmentKind::Pre, 100.0),
                assessment("po2", "p2", AssessmentKind::Post, 100.0),
            ],
            attempts: vec![
                attempt("a1", "x1", "u1", "2025-05-09T00:00:00Z", 80.0, true),
                attempt("a2", "q1", "u2", "2025-05-04T00:00:00Z", 40.0, false),
                attempt("a3", "x1", "u3", "2025-03-01T00:00:00Z", 50.0, false),
                attempt("a4", "x1", "u3", "2025-05-20T00:00:00Z", 90.0, true), // retake
                attempt("b1", "pr1", "u1", "2025-04-05T00:00:00Z", 40.0, false),
                attempt("b2", "po1", "u1", "2025-05-09T01:00:00Z", 70.0, true),
                attempt("b3", "pr1", "u2", "2025-04-05T00:00:00Z", 60.0, false),
                attempt("b4", "po1", "u2", "2025-05-04T01:00:00Z", 80.0, true),
                attempt("b5", "pr2", "u3", "2025-04-05T00:00:00Z", 20.0, false),
                attempt("b6", "po2", "u3", "2025-06-01T00:00:00Z", 40.0, false),
                attempt("b7", "x1", "u6", "2025-07-02T00:00:00Z", 10.0, false), // after asOf
            ],
            ..Dataset::default()
        }
    }

    fn rate(m: &Option<RateMetric>) -> &RateMetric {
        m.as_ref().expect("metric")
    }

    #[test]
    fn completion_and_dropout_use_the_cohort_maturing_in_each_period() {
        let p = compute(&example(), "o1", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::Ok);
        assert_eq!(p.period_days, 90);
        let c = rate(&p.metrics.completion_rate);
        assert_eq!((c.value, c.n, c.previous), (Some(0.25), 4, Some(1.0)));
        assert_eq!(c.ci, Proportion::wilson(1, 4).map(|w| w.ci));
        assert_eq!(c.delta, Some(-0.75));
        let d = rate(&p.metrics.dropout_rate);
        assert_eq!(
            (d.value, d.previous, d.delta),
            (Some(0.25), Some(0.0), Some(0.25))
        );
        assert_eq!(p.header.n.get("unknownCourse"), Some(&1));
    }

    #[test]
    fn pass_rate_and_mean_score_use_first_attempts_except_pre_tests() {
        let p = compute(&example(), "o1", ts(AS_OF), &Config::default());
        // Current: x1 u1 0.8 ✓, q1 u2 0.4 ✗, po1 u1 0.7 ✓, po1 u2 0.8 ✓, po2 u3 0.4 ✗.
        // Previous: x1 u3 0.5 ✗ (its retake is not a first attempt).
        let pass = rate(&p.metrics.pass_rate);
        assert_eq!((pass.n, pass.previous), (5, Some(0.0)));
        close(pass.value.expect("pass"), 0.6);
        close(pass.delta.expect("delta"), 0.6);
        let score = p.metrics.mean_score.as_ref().expect("score");
        close(score.value.expect("mean"), 3.1 / 5.0);
        assert_eq!(score.previous, Some(0.5));
        close(score.delta.expect("delta"), 3.1 / 5.0 - 0.5);
    }

    #[test]
    fn hake_gain_weights_course_gains_by_their_pairs() {
        let p = compute(&example(), "o1", ts(AS_OF), &Config::default());
        // p1: pre 40, 60 → post 70, 80: (75 − 50)/50 = 0.5; p2: (40 − 20)/80 = 0.25.
        let g = p.metrics.hake_gain.as_ref().expect("hake");
        close(g.value.expect("gain"), (2.0 * 0.5 + 0.25) / 3.0);
        assert_eq!(g.n, 3);
        assert_eq!((g.previous, g.delta), (None, None));
    }

    #[test]
    fn mandatory_compliance_counts_completions_by_the_due_date() {
        let p = compute(&example(), "o1", ts(AS_OF), &Config::default());
        // Due now: u1 (p1, assigned mandatory, done before due), u4 (open), u5 (late).
        let m = rate(&p.metrics.mandatory_compliance);
        assert_eq!(m.n, 3);
        close(m.value.expect("compliance"), 1.0 / 3.0);
        assert_eq!(m.ci, Proportion::wilson(1, 3).map(|w| w.ci));
        assert_eq!(m.previous, Some(1.0));
        close(m.delta.expect("delta"), 1.0 / 3.0 - 1.0);
    }

    #[test]
    fn the_period_length_is_configurable() {
        let mut cfg = Config::default();
        cfg.org.performance_period_days = 30;
        let p = compute(&example(), "o1", ts(AS_OF), &cfg);
        assert_eq!(p.period_days, 30);
        // Current (05-31, 06-30]: no enrollment matures, the p2 pair and u5's late mandatory
        // enrollment fall inside; previous (05-01, 05-31]: the p1 cohort matures (05-03).
        let c = rate(&p.metrics.completion_rate);
        assert_eq!((c.value, c.n, c.delta), (None, 0, None));
        assert_eq!(c.previous, Some(0.25));
        assert_eq!(
            p.metrics.hake_gain.as_ref().and_then(|g| g.value),
            Some(0.25)
        );
    }

    #[test]
    fn departments_below_k_users_are_suppressed() {
        let p = compute(&example(), "o1", ts(AS_OF), &Config::default());
        assert_eq!(p.departments.len(), 2);
        let a = &p.departments[0];
        assert_eq!(
            (a.department.as_str(), a.suppressed, a.users),
            ("a", false, Some(5))
        );
        // u6 has nothing before asOf, so department a equals the organisation.
        assert_eq!(a.metrics, p.metrics);
        let b = &p.departments[1];
        assert!(b.suppressed && b.users.is_none());
        assert_eq!(b.metrics, PerformanceMetrics::empty());
        let json = serde_json::to_value(b).expect("serialises");
        assert!(json["completionRate"].is_null() && json["users"].is_null());
    }

    #[test]
    fn zero_denominators_give_null_values() {
        let p = compute(&example(), "o9", ts(AS_OF), &Config::default());
        assert_eq!(p.header.status, Status::InsufficientData);
        let c = rate(&p.metrics.completion_rate);
        assert_eq!(
            (c.value, c.ci, c.n, c.previous, c.delta),
            (None, None, 0, None, None)
        );
        assert_eq!(p.metrics.mean_score.as_ref().and_then(|m| m.value), None);
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let p = compute(&example(), "o1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&p).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&p).expect("serialises");
        for key in [
            "completionRate",
            "dropoutRate",
            "passRate",
            "meanScore",
            "hakeGain",
            "mandatoryCompliance",
            "departments",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in ["value", "ci", "delta"] {
            assert!(
                json["completionRate"].get(key).is_some(),
                "missing completionRate.{key}"
            );
        }
        for key in ["value", "ci"] {
            assert!(json["mandatoryCompliance"].get(key).is_some());
        }
        let back: OrgPerformance = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, p);
    }
}
