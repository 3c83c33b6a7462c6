//! The dropOffRisk features (`analytics.md` §17, as changed in `docs/decisions.md`, "Drop-off
//! features") of one enrollment seen at an instant t of its life, the outcome label of an ended
//! enrollment, and the training-set builder.
//!
//! The feature set is one that both a live platform's data (xAPI statements, attempts) and the
//! Open University's OULAD (daily click counts, no durations, no progress) can compute, so the
//! model evaluated on OULAD (`learnlens evaluate oulad`) is the model the service scores with.
//!
//! Definitions and interpretations:
//! - **Life start** = `enrolledAt`. The **day of life** of an instant t is the number of whole
//!   days between `enrolledAt` and t; a training snapshot at day d is seen at
//!   t = enrolledAt + d·24 h. (Courses carry no start date, so "days since the course started"
//!   is not available to the live model; the OULAD evaluation evaluates the same features at
//!   course day d instead.)
//! - **No leakage**: a feature at t reads only data stamped ≤ t, even when more data (up to the
//!   training `asOf`) is at hand. Due dates are part of the course's schedule, known in advance,
//!   and are not "data stamped" in this sense.
//! - **Course activity**: the learner's events stamped in \[enrolledAt, t\] whose `courseId` is
//!   the course or whose object is one of the course's content items
//!   ([`DatasetIndex::course_items`]). Any verb counts; durations and click counts do not.
//! - `daysSinceLastActivity` = fractional days from the later of `enrolledAt` and the last
//!   course event to t, capped at `drop_off.days_since_cap` (60); an enrollment without any
//!   activity is inactive since its start.
//! - `activeDays14` = course-active day bins among the `drop_off.recent_days` (14) 24-hour
//!   bins ending at t (left-open, right-closed, see [`crate::common`]), divided by 14.
//! - `meanScoreSoFar` = mean of first-attempt scores (score/maxScore clamped to \[0,1\]; the
//!   attempt with the lowest `attemptNo` per assessment among those submitted ≤ t) on the
//!   course's summative assessments, submitted in \[enrolledAt, t\]. **Missing** when there is
//!   none yet (imputed with the training mean at training and scoring time). Attempts on
//!   unknown assessments, on formative ones (`weight` = 0: practice work, possibly marked on
//!   another scale), with `maxScore ≤ 0` or with a non-finite score are ignored.
//! - `submittedShare` = among the course's assessments with a `dueAt` in (enrolledAt, t\], the
//!   share on which the learner submitted at least one attempt in \[enrolledAt, t\] (late
//!   submissions count, formative assessments count, scores do not matter). **Missing** when no assessment is due yet, which
//!   includes every course whose assessments carry no due date.
//! - **Label** ([`EnrollmentTrace::outcome`]), known at the training `asOf`: `completed` with
//!   `completedAt ≤ asOf` → 0, ended at `completedAt`; `dropped` with `droppedAt ≤ asOf` → 1,
//!   ended at `droppedAt`; `failed` → 1, ended at `dueAt` when it lies in (enrolledAt, asOf\],
//!   else at `asOf`; still open at `asOf` but with a `dueAt` and no course activity for
//!   `drop_off.overdue_inactive_days` (30) days after max(`dueAt`, last course activity) → 1,
//!   ended at that max. A completion or drop-out without its date cannot be placed in time and
//!   is not a training example; neither is an enrollment still running.
//! - **Training set** ([`training_set`]): every labelled enrollment, seen at each snapshot day d
//!   of the list with enrolledAt + d ≤ asOf and before its end (still registered on day d),
//!   gathered learner by learner (see [`training_set_indexed`] for the order).
//!   The live model uses weekly snapshot days ([`snapshot_days`]); a call with `&[d]` gives the
//!   "same day of life as the live enrollment" training set.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{DAY_SECS, bins_back, seconds_between};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex, Enrollment, EnrollmentStatus};

/// Number of drop-off features.
pub const N_FEATURES: usize = 4;

/// Feature names, in model order (the JSON names used in contributions and reasons).
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "daysSinceLastActivity",
    "activeDays14",
    "meanScoreSoFar",
    "submittedShare",
];

/// Index of `daysSinceLastActivity`.
pub const DAYS_SINCE: usize = 0;
/// Index of `activeDays14`.
pub const ACTIVE_DAYS: usize = 1;
/// Index of `meanScoreSoFar`, missing before the first scored attempt.
pub const MEAN_SCORE: usize = 2;
/// Index of `submittedShare`, missing while no assessment is due.
pub const SUBMITTED_SHARE: usize = 3;

/// The features of one enrollment at one instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeatureRow {
    /// Feature values in [`FEATURE_NAMES`] order; a missing value is stored as 0 and flagged.
    pub values: [f64; N_FEATURES],
    /// Which values are missing (to be imputed with the training mean).
    pub missing: [bool; N_FEATURES],
    /// Always [`FEATURE_NAMES`].
    pub names: [&'static str; N_FEATURES],
}

impl FeatureRow {
    /// Whether any feature is missing.
    pub fn any_missing(&self) -> bool {
        self.missing.iter().any(|m| *m)
    }
}

/// How an ended enrollment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Completed,
    Dropped,
    Failed,
    /// Inactive for the configured days past its due date without completing.
    Overdue,
}

/// The label of an ended enrollment and when it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub kind: OutcomeKind,
    /// `true` = ended without success (the positive class of the model).
    pub label: bool,
    pub ended_at: DateTime<Utc>,
}

/// One training example: an enrollment seen at a day of its life.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingExample {
    pub enrollment_id: String,
    pub user_id: String,
    pub course_id: String,
    pub enrolled_at: DateTime<Utc>,
    /// Day of life d of the snapshot.
    pub day: u32,
    /// The snapshot instant enrolledAt + d days: features use only data stamped ≤ it.
    pub at: DateTime<Utc>,
    pub features: FeatureRow,
    pub label: bool,
}

/// A first-attempt candidate: a scored attempt on one of the course's assessments.
#[derive(Debug, Clone)]
struct ScoreAt<'a> {
    at: DateTime<Utc>,
    assessment_id: &'a str,
    attempt_no: u32,
    score: f64,
}

/// Everything about one enrollment that its features need, read once up to a horizon
/// (`asOf`), so that features at many instants t ≤ horizon cost a binary search and a scan of
/// the 14-day window.
#[derive(Debug, Clone)]
pub struct EnrollmentTrace<'a> {
    enrollment: &'a Enrollment,
    horizon: DateTime<Utc>,
    /// Course activity in \[enrolledAt, horizon\], sorted.
    events: Vec<DateTime<Utc>>,
    /// Scored attempts on the course's assessments, chronological then by attempt number.
    scores: Vec<ScoreAt<'a>>,
    /// Due dates in (enrolledAt, ∞) of the course's assessments, each with the first time the
    /// learner submitted it in \[enrolledAt, horizon\] (if ever), sorted by due date.
    due: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    days_since_cap: f64,
    recent_days: u32,
    overdue_inactive_days: u32,
}

impl<'a> EnrollmentTrace<'a> {
    /// Reads the data of `enrollment` stamped ≤ `horizon`.
    pub fn new(
        idx: &DatasetIndex<'a>,
        enrollment: &'a Enrollment,
        horizon: DateTime<Utc>,
        cfg: &Config,
    ) -> Self {
        let start = enrollment.enrolled_at;
        let course_id = enrollment.course_id.as_str();
        let item_set: HashSet<&str> = idx
            .course(course_id)
            .map(|c| idx.course_items(c).iter().map(|i| i.id.as_str()).collect())
            .unwrap_or_default();

        let events: Vec<DateTime<Utc>> = idx
            .events_until(&enrollment.user_id, horizon)
            .iter()
            .filter(|e| {
                e.timestamp >= start
                    && (e.course_id.as_deref() == Some(course_id)
                        || item_set.contains(&*e.object_id))
            })
            .map(|e| e.timestamp)
            .collect();

        let mut scores = Vec::new();
        let mut first_submitted: HashMap<&str, DateTime<Utc>> = HashMap::new();
        for attempt in idx.attempts_of(&enrollment.user_id) {
            if attempt.submitted_at < start || attempt.submitted_at > horizon {
                continue;
            }
            let Some(assessment) = idx.assessment(&attempt.assessment_id) else {
                continue;
            };
            if assessment.course_id != course_id {
                continue;
            }
            let id = attempt.assessment_id.as_str();
            let first = first_submitted.entry(id).or_insert(attempt.submitted_at);
            *first = (*first).min(attempt.submitted_at);
            let max = assessment.max_score;
            let formative = matches!(assessment.weight, Some(w) if w <= 0.0);
            if formative || !(max.is_finite() && max > 0.0 && attempt.score.is_finite()) {
                continue;
            }
            scores.push(ScoreAt {
                at: attempt.submitted_at,
                assessment_id: id,
                attempt_no: attempt.attempt_no,
                score: (attempt.score / max).clamp(0.0, 1.0),
            });
        }
        // Chronological, then by attempt number: the first candidate per assessment in this
        // order with the lowest attempt number is its first attempt.
        scores.sort_by(|a, b| a.at.cmp(&b.at).then(a.attempt_no.cmp(&b.attempt_no)));

        let mut seen: HashSet<&str> = HashSet::new();
        let mut due: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = idx
            .assessments_in(course_id)
            .iter()
            .filter(|a| seen.insert(a.id.as_str()))
            .filter_map(|a| {
                let due_at = a.due_at.filter(|d| *d > start)?;
                Some((due_at, first_submitted.get(a.id.as_str()).copied()))
            })
            .collect();
        due.sort();

        let dc = &cfg.drop_off;
        EnrollmentTrace {
            enrollment,
            horizon,
            events,
            scores,
            due,
            days_since_cap: if dc.days_since_cap.is_finite() && dc.days_since_cap > 0.0 {
                dc.days_since_cap
            } else {
                60.0
            },
            recent_days: dc.recent_days.max(1),
            overdue_inactive_days: dc.overdue_inactive_days,
        }
    }

    /// The enrollment this trace is about.
    pub fn enrollment(&self) -> &'a Enrollment {
        self.enrollment
    }

    /// The features at instant `t` (cut at the trace horizon if later).
    pub fn features_at(&self, t: DateTime<Utc>) -> FeatureRow {
        let t = t.min(self.horizon);
        let start = self.enrollment.enrolled_at;
        let visible = self.events.partition_point(|at| *at <= t);
        let events = self.events.get(..visible).unwrap_or(&[]);

        let since = events.last().map_or(start, |at| (*at).max(start));
        let days_since =
            (seconds_between(since, t) / DAY_SECS as f64).clamp(0.0, self.days_since_cap);

        let recent = u64::from(self.recent_days);
        let mut active_days: HashSet<u64> = HashSet::new();
        for at in events.iter().rev() {
            let Some(day) = bins_back(*at, t, DAY_SECS) else {
                continue;
            };
            if day >= recent {
                break;
            }
            active_days.insert(day);
        }
        let active = active_days.len() as f64 / f64::from(self.recent_days);

        let mut values = [0.0; N_FEATURES];
        let mut missing = [false; N_FEATURES];
        values[DAYS_SINCE] = days_since;
        values[ACTIVE_DAYS] = active.clamp(0.0, 1.0);

        // Ordered, so that the sum below adds in the same order every time (a float sum in a
        // hash map's order differs in the last bits from run to run).
        let mut first: BTreeMap<&str, (u32, f64)> = BTreeMap::new();
        for s in self.scores.iter().take_while(|s| s.at <= t) {
            let slot = first
                .entry(s.assessment_id)
                .or_insert((s.attempt_no, s.score));
            if s.attempt_no < slot.0 {
                *slot = (s.attempt_no, s.score);
            }
        }
        if first.is_empty() {
            missing[MEAN_SCORE] = true;
        } else {
            let sum: f64 = first.values().map(|(_, s)| s).sum();
            values[MEAN_SCORE] = (sum / first.len() as f64).clamp(0.0, 1.0);
        }

        let due_now = self.due.partition_point(|(due, _)| *due <= t);
        let due = self.due.get(..due_now).unwrap_or(&[]);
        if due.is_empty() {
            missing[SUBMITTED_SHARE] = true;
        } else {
            let submitted = due
                .iter()
                .filter(|(_, sub)| sub.is_some_and(|s| s <= t))
                .count();
            values[SUBMITTED_SHARE] = (submitted as f64 / due.len() as f64).clamp(0.0, 1.0);
        }
        FeatureRow {
            values,
            missing,
            names: FEATURE_NAMES,
        }
    }

    /// The last course activity stamped ≤ the horizon, if any.
    fn last_activity(&self) -> Option<DateTime<Utc>> {
        self.events.last().copied()
    }

    /// The label of the enrollment as known at the trace horizon (`asOf`), or `None` when it is
    /// still running or its end cannot be placed in time (see the module documentation).
    pub fn outcome(&self) -> Option<Outcome> {
        let e = self.enrollment;
        let as_of = self.horizon;
        if e.enrolled_at > as_of {
            return None;
        }
        match e.status {
            EnrollmentStatus::Completed => match e.completed_at {
                None => return None,
                Some(t) if t <= as_of => {
                    return Some(Outcome {
                        kind: OutcomeKind::Completed,
                        label: false,
                        ended_at: t,
                    });
                }
                Some(_) => {}
            },
            EnrollmentStatus::Dropped => match e.dropped_at {
                None => return None,
                Some(t) if t <= as_of => {
                    return Some(Outcome {
                        kind: OutcomeKind::Dropped,
                        label: true,
                        ended_at: t,
                    });
                }
                Some(_) => {}
            },
            EnrollmentStatus::Failed => {
                let ended_at = e
                    .due_at
                    .filter(|d| *d > e.enrolled_at && *d <= as_of)
                    .unwrap_or(as_of);
                return Some(Outcome {
                    kind: OutcomeKind::Failed,
                    label: true,
                    ended_at,
                });
            }
            EnrollmentStatus::Enrolled | EnrollmentStatus::InProgress => {}
        }
        // Open at asOf: overdue and inactive long enough?
        let due = e.due_at?;
        let quiet_since = self.last_activity().map_or(due, |t| t.max(due));
        let limit = TimeDelta::try_days(i64::from(self.overdue_inactive_days))?;
        let threshold = quiet_since.checked_add_signed(limit)?;
        (threshold <= as_of).then_some(Outcome {
            kind: OutcomeKind::Overdue,
            label: true,
            ended_at: quiet_since,
        })
    }
}

/// The features of `enrollment` at `t`, reading only data stamped ≤ `t`.
pub fn features_at(
    idx: &DatasetIndex<'_>,
    enrollment: &Enrollment,
    t: DateTime<Utc>,
    cfg: &Config,
) -> FeatureRow {
    EnrollmentTrace::new(idx, enrollment, t, cfg).features_at(t)
}

/// Whole days from `enrolledAt` to `t` (0 when `t` is earlier).
pub fn day_of_life(enrollment: &Enrollment, t: DateTime<Utc>) -> u64 {
    bins_back(enrollment.enrolled_at, t, DAY_SECS).unwrap_or(0)
}

/// `enrolledAt + d` days, or `None` if that is not representable.
pub fn snapshot_instant(enrollment: &Enrollment, day: u32) -> Option<DateTime<Utc>> {
    enrollment
        .enrolled_at
        .checked_add_signed(TimeDelta::try_days(i64::from(day))?)
}

/// The weekly snapshot days of the live model: `too_early_days`, then every
/// `snapshot_interval_days`, up to `snapshot_max_day`.
pub fn snapshot_days(cfg: &Config) -> Vec<u32> {
    let dc = &cfg.drop_off;
    let step = usize::try_from(dc.snapshot_interval_days.max(1)).unwrap_or(1);
    (dc.too_early_days..=dc.snapshot_max_day)
        .step_by(step)
        .collect()
}

/// The training examples of `data` as known at `as_of`, at each of `days` (see the module
/// documentation).
pub fn training_set(
    data: &Dataset,
    as_of: DateTime<Utc>,
    days: &[u32],
    cfg: &Config,
) -> Vec<TrainingExample> {
    training_set_indexed(&data.index(), as_of, days, cfg)
}

/// [`training_set`] with a prebuilt index. Examples come learner by learner, learners in the
/// order of their first enrollment in the data set stamped ≤ `as_of` ([`enrolled_users`]), each learner's
/// enrollments in data set order, each enrollment's examples in the order of `days`: the
/// order in which a batch gathers them from its learners' digests ([`training_set_of_digests`]).
pub fn training_set_indexed(
    idx: &DatasetIndex<'_>,
    as_of: DateTime<Utc>,
    days: &[u32],
    cfg: &Config,
) -> Vec<TrainingExample> {
    enrolled_users(idx, as_of)
        .into_iter()
        .flat_map(|user| user_examples(idx, user, as_of, days, cfg))
        .collect()
}

/// [`training_set_indexed`] at the snapshot days of `cfg` ([`snapshot_days`]), each learner's
/// examples taken from `examples` (their `dropOffExamples` digest parts by user id,
/// [`crate::digest::take_examples`]): the same examples, so that the model can be trained
/// without the events. A learner without digest is computed from the index, as a cohort memo
/// computes a missing digest.
pub fn training_set_of_digests(
    idx: &DatasetIndex<'_>,
    as_of: DateTime<Utc>,
    cfg: &Config,
    mut examples: HashMap<String, Vec<ExampleDigest>>,
) -> Vec<TrainingExample> {
    let days = snapshot_days(cfg);
    let mut out = Vec::new();
    for user in enrolled_users(idx, as_of) {
        match examples.remove(user) {
            Some(given) => out.extend(given.into_iter().map(|x| x.into_example(user))),
            None => out.extend(user_examples(idx, user, as_of, &days, cfg)),
        }
    }
    out
}

/// The users with an enrollment stamped ≤ `as_of`, in the order of their first such
/// enrollment in the data set (later enrollments do not exist yet at `as_of`).
pub fn enrolled_users<'a>(idx: &DatasetIndex<'a>, as_of: DateTime<Utc>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    idx.dataset()
        .enrollments
        .iter()
        .filter(|e| e.enrolled_at <= as_of)
        .map(|e| e.user_id.as_str())
        .filter(|user| seen.insert(*user))
        .collect()
}

/// `user_id`'s training examples at `days` (see [`training_set_indexed`] for the order).
pub(crate) fn user_examples(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    days: &[u32],
    cfg: &Config,
) -> Vec<TrainingExample> {
    let mut out = Vec::new();
    for enrollment in idx.enrollments_of(user_id) {
        if enrollment.enrolled_at > as_of {
            continue;
        }
        let trace = EnrollmentTrace::new(idx, enrollment, as_of, cfg);
        let Some(outcome) = trace.outcome() else {
            continue;
        };
        for &day in days {
            let Some(t) = snapshot_instant(enrollment, day) else {
                continue;
            };
            if t > as_of || t >= outcome.ended_at {
                continue;
            }
            out.push(TrainingExample {
                enrollment_id: enrollment.id.clone(),
                user_id: enrollment.user_id.clone(),
                course_id: enrollment.course_id.clone(),
                enrolled_at: enrollment.enrolled_at,
                day,
                at: t,
                features: trace.features_at(t),
                label: outcome.label,
            });
        }
    }
    out
}

/// A [`FeatureRow`] without its names, as a digest keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Features {
    pub values: [f64; N_FEATURES],
    pub missing: [bool; N_FEATURES],
}

impl From<&FeatureRow> for Features {
    fn from(row: &FeatureRow) -> Self {
        Features {
            values: row.values,
            missing: row.missing,
        }
    }
}

impl From<Features> for FeatureRow {
    fn from(f: Features) -> Self {
        FeatureRow {
            values: f.values,
            missing: f.missing,
            names: FEATURE_NAMES,
        }
    }
}

/// A [`TrainingExample`] without its user (the digest's) and its feature names: the
/// `dropOffExamples` digest part is a learner's list of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExampleDigest {
    pub enrollment_id: String,
    pub course_id: String,
    pub enrolled_at: DateTime<Utc>,
    pub day: u32,
    pub at: DateTime<Utc>,
    pub features: Features,
    pub label: bool,
}

impl ExampleDigest {
    /// `user_id`'s example.
    pub fn into_example(self, user_id: &str) -> TrainingExample {
        TrainingExample {
            enrollment_id: self.enrollment_id,
            user_id: user_id.to_owned(),
            course_id: self.course_id,
            enrolled_at: self.enrolled_at,
            day: self.day,
            at: self.at,
            features: self.features.into(),
            label: self.label,
        }
    }
}

impl From<&TrainingExample> for ExampleDigest {
    fn from(x: &TrainingExample) -> Self {
        ExampleDigest {
            enrollment_id: x.enrollment_id.clone(),
            course_id: x.course_id.clone(),
            enrolled_at: x.enrolled_at,
            day: x.day,
            at: x.at,
            features: (&x.features).into(),
            label: x.label,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Assessment, AssessmentKind, Attempt, Verb};
    use crate::test_support::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn assessment(id: &str, course: &str, due: Option<&str>) -> Assessment {
        Assessment {
            id: id.into(),
            course_id: course.into(),
            content_item_id: None,
            kind: AssessmentKind::Quiz,
            max_score: 50.0,
            pass_score: 25.0,
            due_at: due.map(ts),
            weight: None,
            items: vec![],
        }
    }

    fn attempt(id: &str, assessment: &str, no: u32, at: &str, score: f64) -> Attempt {
        Attempt {
            id: id.into(),
            assessment_id: assessment.into(),
            user_id: "u1".into(),
            attempt_no: no,
            submitted_at: ts(at),
            score,
            passed: score >= 25.0,
            responses: vec![],
        }
    }

    /// u1 enrolled in c1 (4 items) on 2025-06-01. c1's assessments are due on 05-25 (before
    /// the enrollment), 06-09, 06-19, 06-29 and 07-10 (after asOf).
    fn example() -> Dataset {
        Dataset {
            courses: vec![course("c1", 14.0), course("c2", 5.0)],
            content_items: vec![
                item("i1", "c1", 30.0),
                item("i2", "c1", 30.0),
                item("i3", "c1", 30.0),
                item("i4", "c1", 30.0),
                item("x1", "c2", 30.0),
            ],
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c1",
                "2025-06-01T00:00:00Z",
                EnrollmentStatus::InProgress,
            )],
            assessments: vec![
                assessment("a0", "c1", Some("2025-05-25T00:00:00Z")),
                assessment("a1", "c1", Some("2025-06-09T00:00:00Z")),
                assessment("a2", "c1", Some("2025-06-19T00:00:00Z")),
                assessment("a3", "c1", Some("2025-06-29T00:00:00Z")),
                assessment("a4", "c1", Some("2025-07-10T00:00:00Z")),
                assessment("b1", "c2", Some("2025-06-05T00:00:00Z")),
            ],
            attempts: vec![
                attempt("t1", "a1", 1, "2025-06-10T10:00:00Z", 20.0), // 0.4, a day late
                attempt("t2", "a1", 2, "2025-06-11T10:00:00Z", 50.0), // retake: ignored
                attempt("t3", "a2", 1, "2025-06-20T10:00:00Z", 40.0), // 0.8
                attempt("t4", "b1", 1, "2025-06-21T10:00:00Z", 0.0),  // other course
                attempt("t5", "a3", 1, "2025-07-01T10:00:00Z", 0.0),  // after asOf
            ],
            events: vec![
                event("u1", "i1", Verb::Completed, "2025-05-20T10:00:00Z"), // before start
                event("u1", "i2", Verb::Experienced, "2025-06-18T10:00:00Z"),
                event("u1", "i2", Verb::Completed, "2025-06-18T10:20:00Z"),
                event("u1", "x1", Verb::Experienced, "2025-06-18T10:30:00Z"), // c2
                event("u1", "i3", Verb::Experienced, "2025-06-25T09:00:00Z"),
                event("u1", "i3", Verb::Completed, "2025-06-28T12:00:00Z"),
                event("u1", "i4", Verb::Completed, "2025-07-02T12:00:00Z"), // after asOf
            ],
            ..Dataset::default()
        }
    }

    #[test]
    fn features_at_as_of_follow_the_documented_formulas() {
        let data = example();
        let idx = data.index();
        let e = &data.enrollments[0];
        let row = features_at(&idx, e, ts(AS_OF), &Config::default());
        assert_eq!(row.names, FEATURE_NAMES);
        // Last course event 2025-06-28T12:00 → 2 days before asOf.
        close(row.values[DAYS_SINCE], 2.0);
        // Day bins back from asOf: 06-28T12:00 → 2, 06-25T09:00 → 5, 06-18 → 12: 3 of 14.
        close(row.values[ACTIVE_DAYS], 3.0 / 14.0);
        // First attempts 0.4 and 0.8.
        close(row.values[MEAN_SCORE], 0.6);
        // Due since the enrollment and by asOf: a1, a2, a3; submitted a1 (late) and a2.
        close(row.values[SUBMITTED_SHARE], 2.0 / 3.0);
        assert!(!row.any_missing());
    }

    #[test]
    fn features_at_an_earlier_instant_ignore_later_data() {
        let data = example();
        let idx = data.index();
        let e = &data.enrollments[0];
        let t = ts("2025-06-09T12:00:00Z");
        let row = features_at(&idx, e, t, &Config::default());
        // No course activity yet: inactive since the start, 8.5 days.
        close(row.values[DAYS_SINCE], 8.5);
        assert_eq!(row.values[ACTIVE_DAYS], 0.0);
        // a1 is due, its attempt comes the next day: nothing scored, nothing submitted.
        assert!(row.missing[MEAN_SCORE]);
        assert_eq!(row.values[MEAN_SCORE], 0.0);
        assert_eq!(
            (row.values[SUBMITTED_SHARE], row.missing[SUBMITTED_SHARE]),
            (0.0, false)
        );
        // The same instant read from a trace built up to asOf gives the same row.
        let trace = EnrollmentTrace::new(&idx, e, ts(AS_OF), &Config::default());
        assert_eq!(trace.features_at(t), row);
        let later = ts("2025-06-18T10:20:00Z");
        let row = trace.features_at(later);
        close(row.values[DAYS_SINCE], 0.0);
        close(row.values[ACTIVE_DAYS], 1.0 / 14.0);
        close(row.values[MEAN_SCORE], 0.4);
        close(row.values[SUBMITTED_SHARE], 1.0);
        assert_eq!(row, features_at(&idx, e, later, &Config::default()));
    }

    #[test]
    fn an_enrollment_without_activity_or_attempts_is_inactive_since_its_start() {
        let data = Dataset {
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c9",
                "2025-06-20T12:00:00Z",
                EnrollmentStatus::Enrolled,
            )],
            ..Dataset::default()
        };
        let row = features_at(
            &data.index(),
            &data.enrollments[0],
            ts(AS_OF),
            &Config::default(),
        );
        close(row.values[DAYS_SINCE], 10.0);
        assert_eq!(row.values[ACTIVE_DAYS], 0.0);
        // No attempt and no assessment due: both missing, stored as 0.
        assert!(row.missing[MEAN_SCORE] && row.missing[SUBMITTED_SHARE]);
        assert_eq!(
            (row.values[MEAN_SCORE], row.values[SUBMITTED_SHARE]),
            (0.0, 0.0)
        );
    }

    #[test]
    fn assessments_without_a_due_date_leave_the_submitted_share_missing() {
        let mut data = example();
        data.assessments.iter_mut().for_each(|a| a.due_at = None);
        let row = features_at(
            &data.index(),
            &data.enrollments[0],
            ts(AS_OF),
            &Config::default(),
        );
        assert!(row.missing[SUBMITTED_SHARE]);
        close(row.values[MEAN_SCORE], 0.6);
    }

    #[test]
    fn an_unscored_attempt_counts_as_submitted_but_not_in_the_mean_score() {
        let mut data = example();
        data.attempts
            .push(attempt("t6", "a3", 1, "2025-06-29T10:00:00Z", f64::NAN));
        // An assessment listed twice counts once.
        data.assessments
            .push(assessment("a3", "c1", Some("2025-06-29T00:00:00Z")));
        let row = features_at(
            &data.index(),
            &data.enrollments[0],
            ts(AS_OF),
            &Config::default(),
        );
        close(row.values[SUBMITTED_SHARE], 1.0);
        close(row.values[MEAN_SCORE], 0.6);
    }

    #[test]
    fn a_formative_assessment_counts_as_submitted_but_not_in_the_mean_score() {
        let mut data = example();
        for a in &mut data.assessments {
            if a.id == "a1" {
                a.weight = Some(0.0);
            } else {
                a.weight = Some(20.0);
            }
        }
        let row = features_at(
            &data.index(),
            &data.enrollments[0],
            ts(AS_OF),
            &Config::default(),
        );
        close(row.values[MEAN_SCORE], 0.8);
        close(row.values[SUBMITTED_SHARE], 2.0 / 3.0);
    }

    #[test]
    fn days_since_last_activity_is_capped() {
        let data = Dataset {
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c1",
                "2024-06-20T12:00:00Z",
                EnrollmentStatus::Enrolled,
            )],
            ..Dataset::default()
        };
        let row = features_at(
            &data.index(),
            &data.enrollments[0],
            ts(AS_OF),
            &Config::default(),
        );
        assert_eq!(row.values[DAYS_SINCE], 60.0);
    }

    fn ended(status: EnrollmentStatus, end: Option<&str>, due: Option<&str>) -> Enrollment {
        let mut e = enrollment("e", "u1", "c1", "2025-03-01T00:00:00Z", status);
        e.completed_at = end.map(ts);
        e.dropped_at = end.map(ts);
        e.due_at = due.map(ts);
        e
    }

    fn outcome_of(e: &Enrollment, events: Vec<crate::input::ActivityEvent>) -> Option<Outcome> {
        let data = Dataset {
            courses: vec![course("c1", 10.0)],
            content_items: vec![item("i1", "c1", 30.0)],
            events,
            ..Dataset::default()
        };
        let idx = data.index();
        EnrollmentTrace::new(&idx, e, ts(AS_OF), &Config::default()).outcome()
    }

    #[test]
    fn labels_follow_the_outcome_rules() {
        let done = ended(
            EnrollmentStatus::Completed,
            Some("2025-05-01T00:00:00Z"),
            None,
        );
        assert_eq!(
            outcome_of(&done, vec![]),
            Some(Outcome {
                kind: OutcomeKind::Completed,
                label: false,
                ended_at: ts("2025-05-01T00:00:00Z")
            })
        );
        let dropped = ended(
            EnrollmentStatus::Dropped,
            Some("2025-04-01T00:00:00Z"),
            None,
        );
        assert_eq!(outcome_of(&dropped, vec![]).map(|o| o.label), Some(true));
        // Completed after asOf: still open then, and not overdue without a due date.
        let later = ended(
            EnrollmentStatus::Completed,
            Some("2025-08-01T00:00:00Z"),
            None,
        );
        assert_eq!(outcome_of(&later, vec![]), None);
        // Undated completion: cannot be placed in time.
        assert_eq!(
            outcome_of(&ended(EnrollmentStatus::Completed, None, None), vec![]),
            None
        );
        // Failed: ends at the due date when it is in the past.
        let failed = ended(EnrollmentStatus::Failed, None, Some("2025-05-15T00:00:00Z"));
        assert_eq!(
            outcome_of(&failed, vec![]).map(|o| (o.kind, o.ended_at)),
            Some((OutcomeKind::Failed, ts("2025-05-15T00:00:00Z")))
        );
        let failed_undated = ended(EnrollmentStatus::Failed, None, None);
        assert_eq!(
            outcome_of(&failed_undated, vec![]).map(|o| o.ended_at),
            Some(ts(AS_OF))
        );
    }

    #[test]
    fn an_open_enrollment_inactive_thirty_days_past_its_due_date_is_a_failure() {
        // Due 2025-05-20; last activity 2025-05-25: quiet since 05-25, 36 days before asOf.
        let open = ended(
            EnrollmentStatus::InProgress,
            None,
            Some("2025-05-20T00:00:00Z"),
        );
        let events = vec![event("u1", "i1", Verb::Experienced, "2025-05-25T00:00:00Z")];
        assert_eq!(
            outcome_of(&open, events),
            Some(Outcome {
                kind: OutcomeKind::Overdue,
                label: true,
                ended_at: ts("2025-05-25T00:00:00Z")
            })
        );
        // Activity 20 days ago: not yet.
        let recent = vec![event("u1", "i1", Verb::Experienced, "2025-06-10T12:00:00Z")];
        assert_eq!(outcome_of(&open, recent), None);
        // Due in the future: running.
        let running = ended(
            EnrollmentStatus::InProgress,
            None,
            Some("2025-09-01T00:00:00Z"),
        );
        assert_eq!(outcome_of(&running, vec![]), None);
    }

    #[test]
    fn training_snapshots_lie_before_the_end_and_before_as_of() {
        let mut data = example();
        let mut done = enrollment(
            "e2",
            "u2",
            "c1",
            "2025-05-01T00:00:00Z",
            EnrollmentStatus::Completed,
        );
        done.completed_at = Some(ts("2025-05-20T00:00:00Z")); // day 19
        let mut dropped = enrollment(
            "e3",
            "u3",
            "c1",
            "2025-06-10T00:00:00Z",
            EnrollmentStatus::Dropped,
        );
        dropped.dropped_at = Some(ts("2025-06-29T00:00:00Z")); // asOf is day 20.5
        data.enrollments.push(done);
        data.enrollments.push(dropped);
        let examples = training_set(&data, ts(AS_OF), &[7, 14, 21], &Config::default());
        let seen: Vec<(&str, u32, bool)> = examples
            .iter()
            .map(|x| (x.enrollment_id.as_str(), x.day, x.label))
            .collect();
        // e1 is still running: no example. e2 ended on day 19; e3's day 21 is after asOf.
        assert_eq!(
            seen,
            [
                ("e2", 7, false),
                ("e2", 14, false),
                ("e3", 7, true),
                ("e3", 14, true)
            ]
        );
        // Features of a snapshot are those at enrolledAt + d.
        let idx = data.index();
        assert_eq!(
            examples[0].features,
            features_at(
                &idx,
                &data.enrollments[1],
                ts("2025-05-08T00:00:00Z"),
                &Config::default()
            )
        );
    }

    #[test]
    fn snapshot_days_are_weekly_from_the_too_early_limit() {
        let cfg = Config::default();
        let days = snapshot_days(&cfg);
        assert_eq!(days.first(), Some(&7));
        assert_eq!(days.get(1), Some(&14));
        assert_eq!(days.last(), Some(&182));
        assert_eq!(days.len(), 26);
    }

    #[test]
    fn day_of_life_counts_whole_days() {
        let e = enrollment(
            "e",
            "u",
            "c",
            "2025-06-01T00:00:00Z",
            EnrollmentStatus::Enrolled,
        );
        assert_eq!(day_of_life(&e, ts("2025-06-07T23:59:59Z")), 6);
        assert_eq!(day_of_life(&e, ts("2025-06-08T00:00:00Z")), 7);
        assert_eq!(day_of_life(&e, ts("2025-05-08T00:00:00Z")), 0);
    }
}
