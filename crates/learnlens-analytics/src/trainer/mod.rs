//! Trainer analytics (`analytics.md` §2, TRAINER): analytics 7–10 over the courses whose
//! `trainerId` is the subject.
//!
//! Each module is one analytic with the same two entry points as the learner analytics:
//! `compute(data, trainer_id, as_of, cfg)` indexes `data` and computes;
//! `compute_indexed(index, trainer_id, as_of, cfg)` reuses a prebuilt index (batches).
//! studentDistribution also takes the metric (see [`student_distribution::Metric`]).
//!
//! Definitions shared by analytics 7–10 (and, through `pub(crate)` helpers, by orgPerformance):
//! - **The trainer's courses** are the dataset's courses with this `trainerId`, sorted by id; a
//!   duplicated course id keeps its first occurrence, as [`DatasetIndex`] does.
//! - **A course's enrollments** are those with `enrolledAt ≤ asOf` (later ones do not exist
//!   yet at `asOf`).
//! - **Matured**: `enrolledAt + maturity_factor × expectedDurationHours ≤ asOf` (factor 2), so
//!   recent cohorts do not depress rates. `expectedDurationHours` is read as calendar time
//!   here, as this rule requires; a negative or non-finite duration reads as 0 (every
//!   enrollment is matured), and one so large that the instant overflows never matures.
//! - **Completed by t**: status `completed` with `completedAt ≤ t`; **dropped by t**: status
//!   `dropped` with `droppedAt ≤ t`. An end without a date cannot be placed in time and counts
//!   as neither (the same rule as [`crate::input::Enrollment::completed_by`]). `failed` counts
//!   as neither completed nor dropped.
//! - **An event's course** is its `courseId` (the xAPI parent context) when present, else the
//!   course of the content item it is about; events about neither are about no course.
//! - **Active learner of a course**: an enrolled learner with at least one event about the
//!   course in the last `course.active_days` (28) day bins ending at `asOf` (left-open,
//!   right-closed, see [`crate::common`]).
//! - **First attempt** at an assessment: the user's attempt stamped ≤ `asOf` with the earliest
//!   `submittedAt` (ties: lowest `attemptNo`, then id). Time order, not the source's
//!   `attemptNo`, decides, so a missing attempt 1 does not leave the assessment without one.
//! - **Score** s = score/maxScore, clamped to \[0,1\] (a score outside \[0, maxScore\] is a
//!   source error); an attempt with maxScore ≤ 0 or a non-finite score or maxScore has no
//!   score. Pass/fail is the attempt's own `passed` flag, as the assessment service decides it.
//! - **Final attempts** of a course are the first attempts of its enrolled learners at its
//!   `post` and `exam` assessments; each (learner, assessment) is one observation.
//! - **Ratings** are feedback records stamped ≤ `asOf` with a finite rating in \[1,5\]; others
//!   are ignored. The Bayesian average is r̃ = (C·m + Σr)/(C + n) with C =
//!   `course_health.rating_prior_weight` (5) and m = the global mean of the same kind of
//!   rating (course or trainer) over the whole dataset stamped ≤ `asOf`: in a batch that is
//!   the organisation's data set, in a cold request the subject's. Its normalised value is
//!   (r̃ − 1)/4. `bayesian` and `raw` are on the 1–5 scale.

pub mod course_health;
pub mod course_performance;
pub mod student_distribution;
pub mod teaching;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{DAY_SECS, bins_back, seconds_between};
use crate::config::Config;
use crate::input::{
    ActivityEvent, Assessment, AssessmentKind, Attempt, Course, DatasetIndex, Enrollment,
    EnrollmentStatus, nonneg_finite,
};
use crate::memo::CohortMemo;
use crate::stats;

/// A rating summary: the Bayesian average, the raw mean and the number of ratings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    /// r̃ = (C·m + Σr)/(C + n) on the 1–5 scale; `null` when there is no rating anywhere in
    /// the dataset (m undefined).
    pub bayesian: Option<f64>,
    /// Mean of the subject's own ratings; `null` without ratings.
    pub raw: Option<f64>,
    pub n: u64,
}

impl Rating {
    /// Summarises `ratings` (already valid) against the prior mean `m` with weight `c`.
    pub(crate) fn of(ratings: &[f64], prior_mean: Option<f64>, prior_weight: f64) -> Self {
        Rating {
            bayesian: prior_mean.and_then(|m| stats::bayesian_average(ratings, m, prior_weight)),
            raw: stats::mean(ratings),
            n: to_u64(ratings.len()),
        }
    }

    /// (r̃ − 1)/4 in \[0,1\].
    pub(crate) fn normalized(&self) -> Option<f64> {
        self.bayesian.map(|r| ((r - 1.0) / 4.0).clamp(0.0, 1.0))
    }
}

/// A rating when it is a finite number in \[1,5\].
pub(crate) fn valid_rating(r: f64) -> Option<f64> {
    (r.is_finite() && (1.0..=5.0).contains(&r)).then_some(r)
}

/// `usize` → `u64`, saturating.
pub(crate) fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The trainer's courses, sorted by id (first occurrence of a duplicated id).
pub(crate) fn courses_of<'a>(idx: &DatasetIndex<'a>, trainer_id: &str) -> Vec<&'a Course> {
    let mut courses: Vec<&'a Course> = idx
        .dataset()
        .courses
        .iter()
        .filter(|c| c.trainer_id == trainer_id)
        .filter(|c| {
            idx.course(&c.id)
                .is_some_and(|first| std::ptr::eq(first, *c))
        })
        .collect();
    courses.sort_by(|a, b| a.id.cmp(&b.id));
    courses
}

/// The course's enrollments with `enrolledAt ≤ as_of`.
pub(crate) fn enrollments_at<'a>(
    idx: &DatasetIndex<'a>,
    course_id: &str,
    as_of: DateTime<Utc>,
) -> Vec<&'a Enrollment> {
    idx.enrollments_in(course_id)
        .iter()
        .filter(|e| e.enrolled_at <= as_of)
        .copied()
        .collect()
}

/// When an enrollment matures: `enrolledAt + factor × expectedHours`; `None` when that
/// instant is not representable (the enrollment never matures).
pub(crate) fn maturity_instant(
    enrollment: &Enrollment,
    course: &Course,
    factor: f64,
) -> Option<DateTime<Utc>> {
    let secs = nonneg_finite(factor) * nonneg_finite(course.expected_duration_hours) * 3600.0;
    // 1e15 s is some 31 million years: beyond chrono's range anyway.
    if !(secs.is_finite() && secs < 1e15) {
        return None;
    }
    // secs < 1e15, so secs·1000 < 1e18 < i64::MAX: the cast is exact enough and never wraps.
    let delta = TimeDelta::try_milliseconds((secs * 1000.0).round() as i64)?;
    enrollment.enrolled_at.checked_add_signed(delta)
}

/// Whether the enrollment has matured at `as_of`.
pub(crate) fn is_matured(
    enrollment: &Enrollment,
    course: &Course,
    as_of: DateTime<Utc>,
    factor: f64,
) -> bool {
    maturity_instant(enrollment, course, factor).is_some_and(|t| t <= as_of)
}

/// Status `dropped` with `droppedAt ≤ t`.
pub(crate) fn dropped_by(enrollment: &Enrollment, t: DateTime<Utc>) -> bool {
    enrollment.status == EnrollmentStatus::Dropped && enrollment.dropped_at.is_some_and(|d| d <= t)
}

/// The course an event is about: its `courseId`, else its content item's course.
pub(crate) fn event_course<'a>(
    idx: &DatasetIndex<'a>,
    event: &'a ActivityEvent,
) -> Option<&'a str> {
    event.course_id.as_deref().or_else(|| {
        idx.content_item(&event.object_id)
            .map(|item| item.course_id.as_str())
    })
}

/// The courses the user has an event about in the last `course.active_days` day bins ending
/// at `as_of` (see "Active learner of a course"): the user's `recentCourses` digest part
/// ([`crate::digest`]).
pub(crate) fn recent_courses(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> BTreeSet<String> {
    let days = u64::from(cfg.course.active_days);
    let mut courses = BTreeSet::new();
    // Events are sorted by time: walk back from asOf and stop at the window start.
    for event in idx.events_until(user_id, as_of).iter().rev() {
        match bins_back(event.timestamp, as_of, DAY_SECS) {
            Some(day) if day < days => {
                if let Some(course) = event_course(idx, event) {
                    courses.insert(course.to_owned());
                }
            }
            _ => break,
        }
    }
    courses
}

/// The active learners of `course` (see the module documentation): its learners enrolled by
/// `as_of` with the course among their recent courses.
pub(crate) fn active_learners<'a>(
    idx: &DatasetIndex<'a>,
    course: &Course,
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'_>,
) -> BTreeSet<&'a str> {
    enrollments_at(idx, &course.id, as_of)
        .into_iter()
        .map(|e| e.user_id.as_str())
        .filter(|user| {
            memo.digest(user)
                .recent_courses(idx, as_of, cfg)
                .contains(&course.id)
        })
        .collect()
}

/// The user's first attempt at each assessment (see the module documentation), keyed by
/// assessment id.
pub(crate) fn first_attempts<'a>(
    idx: &DatasetIndex<'a>,
    user_id: &str,
    as_of: DateTime<Utc>,
) -> BTreeMap<&'a str, &'a Attempt> {
    let mut first: BTreeMap<&'a str, &'a Attempt> = BTreeMap::new();
    for attempt in idx
        .attempts_of(user_id)
        .iter()
        .filter(|a| a.submitted_at <= as_of)
    {
        let key = (
            attempt.submitted_at,
            attempt.attempt_no,
            attempt.id.as_str(),
        );
        let better = first
            .get(attempt.assessment_id.as_str())
            .is_none_or(|held| key < (held.submitted_at, held.attempt_no, held.id.as_str()));
        if better {
            first.insert(attempt.assessment_id.as_str(), attempt);
        }
    }
    first
}

/// score/maxScore clamped to \[0,1\]; `None` when maxScore ≤ 0 or a value is not finite.
pub(crate) fn scaled_score(attempt: &Attempt, assessment: &Assessment) -> Option<f64> {
    let max = assessment.max_score;
    if !(max.is_finite() && max > 0.0 && attempt.score.is_finite()) {
        return None;
    }
    let s = attempt.score / max;
    s.is_finite().then(|| s.clamp(0.0, 1.0))
}

/// One final-attempt observation: a learner's first attempt at a `post` or `exam` assessment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FinalAttempt<'a> {
    pub user_id: &'a str,
    pub score: f64,
    pub passed: bool,
}

/// The final attempts of `user_id` in `course_id` (one per post/exam assessment with a score).
pub(crate) fn final_attempts_of<'a>(
    idx: &DatasetIndex<'a>,
    firsts: &BTreeMap<&'a str, &'a Attempt>,
    user_id: &'a str,
    course_id: &str,
) -> Vec<FinalAttempt<'a>> {
    firsts
        .iter()
        .filter_map(|(assessment_id, attempt)| {
            let assessment = idx.assessment(assessment_id)?;
            let is_final = matches!(assessment.kind, AssessmentKind::Post | AssessmentKind::Exam);
            if !is_final || assessment.course_id != course_id {
                return None;
            }
            Some(FinalAttempt {
                user_id,
                score: scaled_score(attempt, assessment)?,
                passed: attempt.passed,
            })
        })
        .collect()
}

/// A matched pre/post pair of one learner in one course, on the percent scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PrePostPair {
    pub pre: f64,
    pub post: f64,
    /// When the post-test was submitted.
    pub post_at: DateTime<Utc>,
}

/// Why a learner's pre/post attempts did not make a usable pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PairOutcome {
    Pair(PrePostPair),
    /// The pre-test was submitted after the post-test.
    OutOfOrder,
    /// pre = 100 % (no room to gain: excluded, `analytics.md` §10).
    Ceiling,
    /// No scored first attempt at a pre- or post-test.
    Missing,
}

/// The learner's pre/post pair in `course_id`: the earliest first attempt among the course's
/// `pre` assessments and the earliest among its `post` assessments, each ×100.
pub(crate) fn pre_post_pair<'a>(
    idx: &DatasetIndex<'a>,
    firsts: &BTreeMap<&'a str, &'a Attempt>,
    course_id: &str,
) -> PairOutcome {
    let earliest = |kind: AssessmentKind| {
        firsts
            .iter()
            .filter_map(|(assessment_id, attempt)| {
                let assessment = idx.assessment(assessment_id)?;
                if assessment.kind != kind || assessment.course_id != course_id {
                    return None;
                }
                Some((attempt, 100.0 * scaled_score(attempt, assessment)?))
            })
            .min_by(|(a, _), (b, _)| {
                (a.submitted_at, a.attempt_no, a.id.as_str()).cmp(&(
                    b.submitted_at,
                    b.attempt_no,
                    b.id.as_str(),
                ))
            })
    };
    let (Some((pre_at, pre)), Some((post_at, post))) = (
        earliest(AssessmentKind::Pre),
        earliest(AssessmentKind::Post),
    ) else {
        return PairOutcome::Missing;
    };
    if pre_at.submitted_at > post_at.submitted_at {
        PairOutcome::OutOfOrder
    } else if pre >= 100.0 {
        PairOutcome::Ceiling
    } else {
        PairOutcome::Pair(PrePostPair {
            pre,
            post,
            post_at: post_at.submitted_at,
        })
    }
}

/// The matched pre/post pairs of one course at `asOf`: one per learner enrolled
/// (`enrolledAt ≤ asOf`), by [`pre_post_pair`], with the pairs left out counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CoursePairs {
    /// Pre-test percentages, in learner id order.
    pub pre: Vec<f64>,
    /// Post-test percentages, same order.
    pub post: Vec<f64>,
    /// Pairs left out because pre = 100.
    pub ceiling: usize,
    /// Pairs left out because the pre-test came after the post-test.
    pub out_of_order: usize,
}

impl CoursePairs {
    /// Number of usable pairs.
    pub(crate) fn len(&self) -> usize {
        self.pre.len()
    }

    /// Hake's ⟨g⟩ over the pairs; `None` without pairs.
    pub(crate) fn hake_gain(&self) -> Option<f64> {
        stats::gain::hake_gain(&self.pre, &self.post)
    }
}

/// The pre/post pairs of the learners enrolled in `course_id` at `as_of` (teachingEffectiveness
/// pools them over a trainer's courses; recommendations uses them per course).
pub(crate) fn course_pairs(
    idx: &DatasetIndex<'_>,
    course_id: &str,
    as_of: DateTime<Utc>,
) -> CoursePairs {
    let mut out = CoursePairs::default();
    let users: BTreeSet<&str> = enrollments_at(idx, course_id, as_of)
        .iter()
        .map(|e| e.user_id.as_str())
        .collect();
    for user in users {
        let firsts = first_attempts(idx, user, as_of);
        match pre_post_pair(idx, &firsts, course_id) {
            PairOutcome::Pair(p) => {
                out.pre.push(p.pre);
                out.post.push(p.post);
            }
            PairOutcome::Ceiling => out.ceiling += 1,
            PairOutcome::OutOfOrder => out.out_of_order += 1,
            PairOutcome::Missing => {}
        }
    }
    out
}

/// The learner outcomes of one course at `asOf`: the basis of analytics 7, 8 and 10.
#[derive(Debug, Clone, Default)]
pub(crate) struct CourseOutcomes<'a> {
    /// Enrollments with `enrolledAt ≤ asOf`.
    pub enrolled: usize,
    pub matured: u64,
    pub matured_completed: u64,
    pub matured_dropped: u64,
    /// Completed by `asOf`, among all enrollments (the raw rate's numerator).
    pub completed: u64,
    pub final_attempts: Vec<FinalAttempt<'a>>,
    /// Clamped progress of every enrollment.
    pub progress: Vec<f64>,
    /// Days from enrollment to completion, for enrollments completed by `asOf`.
    pub days_to_complete: Vec<f64>,
}

impl CourseOutcomes<'_> {
    /// completed/matured with its Wilson interval.
    pub(crate) fn completion_rate(&self, cfg: &Config) -> Option<stats::proportion::Proportion> {
        stats::proportion::Proportion::wilson_at(
            self.matured_completed,
            self.matured,
            cfg.stats.confidence_level,
        )
    }

    /// dropped/matured with its Wilson interval.
    pub(crate) fn dropout_rate(&self, cfg: &Config) -> Option<stats::proportion::Proportion> {
        stats::proportion::Proportion::wilson_at(
            self.matured_dropped,
            self.matured,
            cfg.stats.confidence_level,
        )
    }

    /// passed/final attempts with its Wilson interval.
    pub(crate) fn pass_rate(&self, cfg: &Config) -> Option<stats::proportion::Proportion> {
        let passed = self.final_attempts.iter().filter(|f| f.passed).count();
        stats::proportion::Proportion::wilson_at(
            to_u64(passed),
            to_u64(self.final_attempts.len()),
            cfg.stats.confidence_level,
        )
    }

    pub(crate) fn mean_final_score(&self) -> Option<f64> {
        let scores: Vec<f64> = self.final_attempts.iter().map(|f| f.score).collect();
        stats::mean(&scores)
    }
}

/// Computes the outcomes of `course` at `as_of`.
pub(crate) fn course_outcomes<'a>(
    idx: &DatasetIndex<'a>,
    course: &Course,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> CourseOutcomes<'a> {
    let mut out = CourseOutcomes::default();
    let enrollments = enrollments_at(idx, &course.id, as_of);
    out.enrolled = enrollments.len();
    let mut users: BTreeSet<&'a str> = BTreeSet::new();
    for e in &enrollments {
        users.insert(e.user_id.as_str());
        if is_matured(e, course, as_of, cfg.course.maturity_factor) {
            out.matured += 1;
            if e.completed_by(as_of) {
                out.matured_completed += 1;
            } else if dropped_by(e, as_of) {
                out.matured_dropped += 1;
            }
        }
        if e.completed_by(as_of) {
            out.completed += 1;
            if let Some(done) = e.completed_at.filter(|t| *t >= e.enrolled_at) {
                out.days_to_complete
                    .push(seconds_between(e.enrolled_at, done) / DAY_SECS as f64);
            }
        }
        out.progress.push(e.progress_clamped());
    }
    for user in users {
        let firsts = first_attempts(idx, user, as_of);
        out.final_attempts
            .extend(final_attempts_of(idx, &firsts, user, &course.id));
    }
    out
}

/// The global mean of valid ratings stamped ≤ `as_of`, course ratings or trainer ratings.
pub(crate) fn global_mean_rating(
    idx: &DatasetIndex<'_>,
    as_of: DateTime<Utc>,
    kind: RatingKind,
) -> Option<f64> {
    let ratings: Vec<f64> = idx
        .dataset()
        .feedback
        .iter()
        .filter(|f| f.created_at <= as_of)
        .filter_map(|f| valid_rating(kind.of(f)))
        .collect();
    stats::mean(&ratings)
}

/// Which rating of a feedback record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RatingKind {
    Course,
    Trainer,
}

impl RatingKind {
    pub(crate) fn of(self, f: &crate::input::Feedback) -> f64 {
        match self {
            RatingKind::Course => f.course_rating,
            RatingKind::Trainer => f.trainer_rating,
        }
    }
}

#[cfg(test)]
pub(crate) mod testdata {
    //! Builders for assessments, attempts and feedback, and a richer random dataset for the
    //! trainer and organisation properties, built on [`crate::test_support::arb_dataset`].

    use proptest::prelude::*;

    use crate::input::*;
    use crate::test_support::{arb_as_of, arb_dataset, ts};

    pub fn assessment(id: &str, course: &str, kind: AssessmentKind, max: f64) -> Assessment {
        Assessment {
            due_at: None,
            weight: None,
            id: id.into(),
            course_id: course.into(),
            content_item_id: None,
            kind,
            max_score: max,
            pass_score: max * 0.6,
            items: vec![],
        }
    }

    pub fn attempt(
        id: &str,
        assessment: &str,
        user: &str,
        at: &str,
        score: f64,
        passed: bool,
    ) -> Attempt {
        Attempt {
            id: id.into(),
            assessment_id: assessment.into(),
            user_id: user.into(),
            attempt_no: 1,
            submitted_at: ts(at),
            score,
            passed,
            responses: vec![],
        }
    }

    pub fn feedback(
        id: &str,
        user: &str,
        course: &str,
        trainer: &str,
        ratings: (f64, f64),
        at: &str,
    ) -> Feedback {
        Feedback {
            id: id.into(),
            user_id: user.into(),
            course_id: course.into(),
            trainer_id: trainer.into(),
            course_rating: ratings.0,
            trainer_rating: ratings.1,
            created_at: ts(at),
        }
    }

    fn arb_time() -> impl Strategy<Value = chrono::DateTime<chrono::Utc>> {
        let base = arb_as_of();
        (-200i64 * 86_400..10 * 86_400).prop_map(move |s| base + chrono::TimeDelta::seconds(s))
    }

    fn arb_number(ordinary: f64) -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => 0.0..ordinary,
            1 => Just(0.0),
            1 => prop_oneof![Just(-1.0), Just(1e300), Just(f64::NAN), Just(f64::INFINITY)],
        ]
    }

    fn pick(ids: &'static [&'static str]) -> impl Strategy<Value = String> {
        proptest::sample::select(ids).prop_map(str::to_owned)
    }

    const USERS: &[&str] = &["u0", "u1", "u2"];
    const COURSES: &[&str] = &["c0", "c1", "c2"];
    const KINDS: [AssessmentKind; 4] = [
        AssessmentKind::Pre,
        AssessmentKind::Post,
        AssessmentKind::Quiz,
        AssessmentKind::Exam,
    ];

    fn arb_assessments() -> impl Strategy<Value = Vec<Assessment>> {
        proptest::collection::vec(
            (
                pick(COURSES),
                proptest::sample::select(KINDS.to_vec()),
                arb_number(120.0),
            ),
            0..6,
        )
        .prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (course, kind, max))| assessment(&format!("a{i}"), &course, kind, max))
                .collect()
        })
    }

    fn arb_attempt() -> impl Strategy<Value = Attempt> {
        (
            pick(&["a0", "a1", "a2", "a3", "a4", "a5", "a9"]),
            pick(USERS),
            1u32..4,
            arb_time(),
            arb_number(130.0),
            any::<bool>(),
        )
            .prop_map(
                |(assessment_id, user_id, attempt_no, submitted_at, score, passed)| Attempt {
                    id: format!(
                        "t-{assessment_id}-{user_id}-{attempt_no}-{}",
                        submitted_at.timestamp()
                    ),
                    assessment_id,
                    user_id,
                    attempt_no,
                    submitted_at,
                    score,
                    passed,
                    responses: vec![],
                },
            )
    }

    fn arb_feedback() -> impl Strategy<Value = Feedback> {
        (
            pick(USERS),
            pick(COURSES),
            pick(&["t1", "t2"]),
            arb_number(6.0),
            arb_number(6.0),
            arb_time(),
        )
            .prop_map(
                |(user_id, course_id, trainer_id, cr, tr, created_at)| Feedback {
                    id: format!("f-{user_id}-{course_id}-{}", created_at.timestamp()),
                    user_id,
                    course_id,
                    trainer_id,
                    course_rating: cr,
                    trainer_rating: tr,
                    created_at,
                },
            )
    }

    /// Per enrollment: who assigned it and an optional due date.
    fn arb_enrollment_extras()
    -> impl Strategy<Value = Vec<(AssignedBy, Option<chrono::DateTime<chrono::Utc>>)>> {
        let by = [
            AssignedBy::SelfAssigned,
            AssignedBy::Manager,
            AssignedBy::Mandatory,
        ];
        proptest::collection::vec(
            (
                proptest::sample::select(by.to_vec()),
                proptest::option::of(arb_time()),
            ),
            6,
        )
    }

    /// [`arb_dataset`] plus assessments, attempts, feedback, departments, user statuses,
    /// trainers, mandatory courses, assigners, due dates and item skills.
    pub fn arb_org_dataset() -> impl Strategy<Value = Dataset> {
        (
            arb_dataset(),
            arb_assessments(),
            proptest::collection::vec(arb_attempt(), 0..16),
            proptest::collection::vec(arb_feedback(), 0..8),
            proptest::collection::vec(
                (proptest::option::of(pick(&["d0", "d1"])), any::<bool>()),
                3,
            ),
            proptest::collection::vec((pick(&["t1", "t2"]), any::<bool>()), 3),
            arb_enrollment_extras(),
            proptest::collection::vec(
                proptest::collection::vec(pick(&["s0", "s1", "s2"]), 0..3),
                6,
            ),
        )
            .prop_map(
                |(mut data, assessments, attempts, feedback, users, courses, extras, skills)| {
                    data.assessments = assessments;
                    data.attempts = attempts;
                    data.feedback = feedback;
                    for (user, (department, active)) in data.users.iter_mut().zip(users) {
                        user.department = department;
                        if !active {
                            user.status = UserStatus::Inactive;
                        }
                    }
                    for (course, (trainer, mandatory)) in data.courses.iter_mut().zip(courses) {
                        course.trainer_id = trainer;
                        course.is_mandatory = mandatory;
                    }
                    for (e, (by, due)) in data.enrollments.iter_mut().zip(extras) {
                        e.assigned_by = by;
                        e.due_at = due;
                    }
                    for (item, skill_ids) in data.content_items.iter_mut().zip(skills) {
                        item.skill_ids = skill_ids;
                    }
                    data
                },
            )
    }

    /// The same dataset without any record stamped after `asOf`.
    pub fn cut_at_as_of(data: &Dataset) -> Dataset {
        let as_of = arb_as_of();
        let mut cut = data.clone();
        cut.events.retain(|e| e.timestamp <= as_of);
        cut.enrollments.retain(|e| e.enrolled_at <= as_of);
        cut.user_skills.retain(|s| s.updated_at <= as_of);
        cut.attempts.retain(|a| a.submitted_at <= as_of);
        cut.feedback.retain(|f| f.created_at <= as_of);
        cut.users.retain(|u| u.created_at <= as_of);
        cut
    }
}

#[cfg(test)]
mod properties {
    //! Properties of analytics 7–10 on small random datasets: never a panic, never a NaN or an
    //! infinity anywhere in a payload, rates in \[0,1\], indices in \[0,100\], and independence
    //! from data stamped after `asOf`.

    use chrono::TimeDelta;
    use proptest::prelude::*;

    use crate::config::Config;
    use crate::stats::proportion::Proportion;
    use crate::test_support::{arb_as_of, non_finite_paths};

    use super::testdata::{arb_org_dataset, cut_at_as_of};
    use super::{course_health, course_performance, student_distribution, teaching};

    const SUBJECTS: [&str; 3] = ["t1", "t2", "ghost"];
    const METRICS: [student_distribution::Metric; 3] = [
        student_distribution::Metric::FinalScore,
        student_distribution::Metric::Progress,
        student_distribution::Metric::Engagement,
    ];

    fn unit(x: Option<f64>) -> bool {
        x.is_none_or(|v| (0.0..=1.0).contains(&v))
    }

    fn unit_prop(p: Option<&Proportion>) -> bool {
        p.is_none_or(|p| (0.0..=1.0).contains(&p.value) && p.ci.0 <= p.value && p.value <= p.ci.1)
    }

    fn arb_config() -> impl Strategy<Value = Config> {
        (1u32..60, 0.0..4.0f64, 0u32..7, 0.0..10.0f64).prop_map(
            |(active_days, factor, min_n, prior)| {
                let mut cfg = Config::default();
                cfg.course.active_days = active_days;
                cfg.course.maturity_factor = factor;
                cfg.course_health.indicator_min_n = min_n;
                cfg.course_health.rating_prior_weight = prior;
                cfg
            },
        )
    }

    fn check_performance(p: &course_performance::CoursePerformance) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(p).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(p)
        );
        for r in &p.courses {
            prop_assert!(
                unit_prop(r.completion_rate.as_ref()),
                "{:?}",
                r.completion_rate
            );
            prop_assert!(unit_prop(r.dropout_rate.as_ref()));
            prop_assert!(unit_prop(r.pass_rate.as_ref()));
            prop_assert!(unit(r.raw_completion_rate) && unit(r.mean_final_score));
            prop_assert!(unit(r.mean_progress));
            prop_assert!(r.median_days_to_complete.is_none_or(|d| d >= 0.0));
            prop_assert!(r.active <= r.enrolled);
            let sum = r.completion_rate.as_ref().map_or(0.0, |c| c.value)
                + r.dropout_rate.as_ref().map_or(0.0, |d| d.value);
            prop_assert!(sum <= 1.0 + 1e-12);
        }
        let o = &p.overall;
        for v in [
            o.completion_rate,
            o.raw_completion_rate,
            o.dropout_rate,
            o.pass_rate,
            o.mean_final_score,
            o.mean_progress,
        ] {
            prop_assert!(unit(v));
        }
        Ok(())
    }

    fn check_health(h: &course_health::CourseHealth) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(h).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(h)
        );
        for r in &h.courses {
            prop_assert!(r.health.is_none_or(|v| (0.0..=100.0).contains(&v)));
            prop_assert_eq!(
                r.health.is_none(),
                r.status == course_health::HealthStatus::InsufficientData
            );
            let i = &r.indicators;
            for v in [
                i.completion,
                i.retention,
                i.score,
                i.pace,
                i.rating.normalized(),
            ] {
                prop_assert!(unit(v));
            }
            prop_assert!(i.rating.bayesian.is_none_or(|b| (1.0..=5.0).contains(&b)));
            prop_assert!(r.missing_indicators.len() <= 5);
        }
        Ok(())
    }

    fn check_distribution(
        d: &student_distribution::StudentDistribution,
    ) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(d).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(d)
        );
        let n = d.header.n.get("values").copied().unwrap_or(0);
        prop_assert!(unit(d.mean));
        prop_assert!(d.gini.is_none_or(|g| (0.0..=1.0).contains(&g)));
        if let Some(q) = &d.quantiles {
            prop_assert!(q.values().all(|v| (0.0..=1.0).contains(v)));
        }
        if let Some(h) = &d.histogram {
            prop_assert_eq!(h.counts.iter().sum::<u64>(), n);
        }
        if let Some(b) = &d.bands {
            prop_assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), n);
        }
        if n == 0 {
            prop_assert!(d.mean.is_none() && d.histogram.is_none() && d.bands.is_none());
        }
        if n < 2 {
            prop_assert!(d.sd.is_none());
        }
        Ok(())
    }

    fn check_teaching(t: &teaching::TeachingEffectiveness) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(t).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(t)
        );
        prop_assert!(t.hake_gain.is_none_or(|g| g <= 1.0));
        prop_assert!(t.mean_individual_gain.is_none_or(|g| g <= 1.0));
        prop_assert!(
            t.normalized_change
                .is_none_or(|c| (-1.0..=1.0).contains(&c))
        );
        prop_assert!(unit_prop(t.completion_rate.as_ref()));
        prop_assert!(
            t.effectiveness_index
                .value
                .is_none_or(|v| (0.0..=100.0).contains(&v))
        );
        prop_assert_eq!(t.low_sample, t.pairs < 5);
        if t.pairs == 0 {
            prop_assert!(t.hake_gain.is_none() && t.cohen_d.is_none());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

        #[test]
        fn trainer_analytics_never_panic_and_stay_in_range(
            data in arb_org_dataset(),
            cfg in arb_config(),
            shift in -3i64..3,
        ) {
            let as_of = arb_as_of() + TimeDelta::hours(shift * 37);
            let idx = data.index();
            for trainer in SUBJECTS {
                check_performance(&course_performance::compute_indexed(&idx, trainer, as_of, &cfg))?;
                check_health(&course_health::compute_indexed(&idx, trainer, as_of, &cfg))?;
                for metric in METRICS {
                    check_distribution(&student_distribution::compute_indexed(&idx, trainer, metric, as_of, &cfg))?;
                }
                check_teaching(&teaching::compute_indexed(&idx, trainer, as_of, &cfg))?;
            }
        }

        #[test]
        fn records_stamped_after_as_of_never_change_a_trainer_payload(data in arb_org_dataset()) {
            let as_of = arb_as_of();
            let cfg = Config::default();
            let cut = cut_at_as_of(&data);
            for t in SUBJECTS {
                prop_assert_eq!(course_performance::compute(&data, t, as_of, &cfg), course_performance::compute(&cut, t, as_of, &cfg));
                prop_assert_eq!(course_health::compute(&data, t, as_of, &cfg), course_health::compute(&cut, t, as_of, &cfg));
                for metric in METRICS {
                    prop_assert_eq!(
                        student_distribution::compute(&data, t, metric, as_of, &cfg),
                        student_distribution::compute(&cut, t, metric, as_of, &cfg)
                    );
                }
                prop_assert_eq!(teaching::compute(&data, t, as_of, &cfg), teaching::compute(&cut, t, as_of, &cfg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testdata::{assessment, attempt};
    use super::*;
    use crate::input::Dataset;
    use crate::test_support::*;

    #[test]
    fn maturity_is_twice_the_expected_duration_after_enrolling() {
        let c = course("c1", 10.0);
        let e = enrollment(
            "e",
            "u",
            "c1",
            "2025-06-01T00:00:00Z",
            EnrollmentStatus::Enrolled,
        );
        assert_eq!(
            maturity_instant(&e, &c, 2.0),
            Some(ts("2025-06-01T20:00:00Z"))
        );
        assert!(is_matured(&e, &c, ts("2025-06-01T20:00:00Z"), 2.0));
        assert!(!is_matured(&e, &c, ts("2025-06-01T19:59:59Z"), 2.0));
        let huge = course("c2", 1e300);
        assert_eq!(maturity_instant(&e, &huge, 2.0), None);
        let negative = course("c3", -4.0);
        assert_eq!(maturity_instant(&e, &negative, 2.0), Some(e.enrolled_at));
    }

    #[test]
    fn the_first_attempt_is_the_earliest_submitted_before_as_of() {
        let mut late_first = attempt("x1", "a1", "u", "2025-06-03T00:00:00Z", 90.0, true);
        late_first.attempt_no = 1;
        let mut early_second = attempt("x2", "a1", "u", "2025-06-02T00:00:00Z", 40.0, false);
        early_second.attempt_no = 2;
        let future = attempt("x0", "a1", "u", "2025-07-09T00:00:00Z", 10.0, false);
        let data = Dataset {
            attempts: vec![late_first, early_second, future],
            ..Dataset::default()
        };
        let idx = data.index();
        let firsts = first_attempts(&idx, "u", ts("2025-06-30T00:00:00Z"));
        assert_eq!(firsts.get("a1").map(|a| a.id.as_str()), Some("x2"));
        assert!(first_attempts(&idx, "u", ts("2025-06-01T00:00:00Z")).is_empty());
    }

    #[test]
    fn scores_are_clamped_to_the_unit_interval_and_need_a_positive_max_score() {
        let a = assessment("a", "c", AssessmentKind::Exam, 20.0);
        let at = |score| attempt("t", "a", "u", "2025-06-01T00:00:00Z", score, true);
        assert_eq!(scaled_score(&at(15.0), &a), Some(0.75));
        assert_eq!(scaled_score(&at(25.0), &a), Some(1.0));
        assert_eq!(scaled_score(&at(-5.0), &a), Some(0.0));
        assert_eq!(scaled_score(&at(f64::NAN), &a), None);
        let zero = assessment("a", "c", AssessmentKind::Exam, 0.0);
        assert_eq!(scaled_score(&at(5.0), &zero), None);
    }

    #[test]
    fn a_rating_summary_shrinks_towards_the_global_mean() {
        let r = Rating::of(&[5.0, 5.0], Some(3.0), 5.0);
        // (5·3 + 10)/7 = 25/7
        assert!((r.bayesian.expect("bayesian") - 25.0 / 7.0).abs() < 1e-12);
        assert_eq!((r.raw, r.n), (Some(5.0), 2));
        assert!((r.normalized().expect("norm") - (25.0 / 7.0 - 1.0) / 4.0).abs() < 1e-12);
        let none = Rating::of(&[], None, 5.0);
        assert_eq!((none.bayesian, none.raw, none.n), (None, None, 0));
        assert_eq!(valid_rating(0.5), None);
        assert_eq!(valid_rating(f64::NAN), None);
        assert_eq!(valid_rating(5.0), Some(5.0));
    }
}
