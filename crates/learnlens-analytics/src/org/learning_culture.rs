//! Analytic 13, **learningCulture**: behavioural proxies for the "continuous learning"
//! dimension of the DLOQ (Marsick & Watkins 2003). The DLOQ itself is a survey; these are
//! traces, and the UI must say so.
//!
//! Indicators over a window of W = `culture.window_weeks` (12) weekly bins ending at `asOf`,
//! for a population U of active users (the organisation's, or a department's; see
//! [`crate::org`]):
//! - `participationRate` = users with ≥ 1 learning event (any verb) in the window / |U|;
//! - `activeLearnerRatio` = users with events in ≥ 6 (`culture.active_learner_weeks`) of the
//!   12 weekly bins / |U|;
//! - `voluntaryHoursPerCapita` = time-on-task (session rule of [`crate::common`]) in
//!   self-assigned enrollments / |U| / W, i.e. hours per person **per week**. An event is in a
//!   self-assigned enrollment when its course (its `courseId`, else its item's course) is one
//!   the user enrolled in with `assignedBy = self`, at or before the event;
//! - `voluntaryShare` = voluntary hours / all hours of U in the window; `null` without hours;
//! - `feedbackRate` = completions in the window (enrollments of U completed inside it) that
//!   have a feedback record from the same learner on the same course (stamped ≤ `asOf`) /
//!   those completions. `analytics.md` writes "feedback records / completions"; counting at
//!   most one record per completion keeps it a proportion in \[0,1\]. `null` without
//!   completions.
//! - `cultureIndex` = 100·mean(participationRate, activeLearnerRatio,
//!   min(1, voluntaryHoursPerCapita / 1 h), voluntaryShare), with voluntaryShare dropped from
//!   the mean (three terms) when it is `null`. feedbackRate is reported but not in the index,
//!   as in `analytics.md`.
//! - **departments**: the same indicators per department, `{department, suppressed, users,
//!   …}`, every value `null` below k users.
//! - No active user: every indicator `null`, status `insufficient_data`, reason
//!   `no_active_users`.
//!
//! `n`: `users`, `participants`, `activeLearners`, `completions` (in the window), `weeks`,
//! `departments`, `suppressedDepartments`, `noDepartment`.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status, week_index};
use crate::config::Config;
use crate::input::{AssignedBy, Dataset, DatasetIndex, User};
use crate::learner::velocity::saturating_add;
use crate::memo::CohortMemo;
use crate::stats;
use crate::trainer::{event_course, to_u64};

use super::{department_rows, members, ratio, window_events};

/// The learningCulture payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearningCulture {
    #[serde(flatten)]
    pub header: Header,
    #[serde(flatten)]
    pub indicators: CultureIndicators,
    pub departments: Vec<DepartmentCulture>,
}

/// The culture indicators of one population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CultureIndicators {
    pub participation_rate: Option<f64>,
    pub active_learner_ratio: Option<f64>,
    /// Voluntary hours per person per week.
    pub voluntary_hours_per_capita: Option<f64>,
    pub voluntary_share: Option<f64>,
    pub feedback_rate: Option<f64>,
    /// In \[0,100\].
    pub culture_index: Option<f64>,
}

/// One department's indicators; every value `null` when suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentCulture {
    pub department: String,
    pub suppressed: bool,
    pub users: Option<u64>,
    #[serde(flatten)]
    pub indicators: CultureIndicators,
}

/// Computes learningCulture for `org_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    org_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> LearningCulture {
    compute_indexed(&data.index(), org_id, as_of, cfg)
}

/// Computes learningCulture for `org_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    org_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> LearningCulture {
    compute_shared(idx, org_id, as_of, cfg, &CohortMemo::new())
}

/// [`compute_indexed`] with the users' digests taken from (and added to) `memo`; the same
/// payload.
pub fn compute_shared(
    idx: &DatasetIndex<'_>,
    org_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'_>,
) -> LearningCulture {
    let mut header = Header::new(as_of);
    let users = members(idx, org_id, as_of);
    let (indicators, counts) = indicators_of(idx, &users, as_of, cfg, memo);

    let departments = department_rows(&users, cfg, &mut header, |name, members| {
        DepartmentCulture {
            department: name.to_owned(),
            suppressed: members.is_none(),
            users: members.map(|m| to_u64(m.len())),
            indicators: members.map_or_else(CultureIndicators::empty, |m| {
                indicators_of(idx, m, as_of, cfg, memo).0
            }),
        }
    });

    if users.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_active_users");
    }
    header.set_n("users", users.len());
    header.set_n("participants", counts.participants);
    header.set_n("activeLearners", counts.active_learners);
    header.set_n("completions", counts.completions);
    header.set_n(
        "weeks",
        usize::try_from(cfg.culture.window_weeks).unwrap_or(usize::MAX),
    );

    LearningCulture {
        header,
        indicators,
        departments,
    }
}

impl CultureIndicators {
    fn empty() -> Self {
        CultureIndicators {
            participation_rate: None,
            active_learner_ratio: None,
            voluntary_hours_per_capita: None,
            voluntary_share: None,
            feedback_rate: None,
            culture_index: None,
        }
    }
}

/// Counts behind the indicators.
#[derive(Debug, Default)]
struct Counts {
    participants: usize,
    active_learners: usize,
    completions: usize,
    with_feedback: usize,
    hours: f64,
    voluntary_hours: f64,
}

fn indicators_of(
    idx: &DatasetIndex<'_>,
    users: &[&User],
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'_>,
) -> (CultureIndicators, Counts) {
    let weeks = cfg.culture.window_weeks;
    // Who left feedback on which course by `asOf` (one pass, not one scan per completion).
    let gave_feedback: HashSet<(&str, &str)> = idx
        .dataset()
        .feedback
        .iter()
        .filter(|f| f.created_at <= as_of)
        .map(|f| (f.course_id.as_str(), f.user_id.as_str()))
        .collect();
    let mut c = Counts::default();
    for user in users {
        let enrollments: Vec<_> = idx
            .enrollments_of(&user.id)
            .iter()
            .filter(|e| e.enrolled_at <= as_of)
            .collect();
        let part = memo.digest(&user.id);
        let part = part.culture(idx, as_of, cfg);
        c.participants += usize::from(part.events > 0);
        c.active_learners += usize::from(
            part.active_weeks
                >= usize::try_from(cfg.culture.active_learner_weeks).unwrap_or(usize::MAX),
        );
        c.hours = saturating_add(c.hours, part.hours);
        c.voluntary_hours = saturating_add(c.voluntary_hours, part.voluntary_hours);

        for e in &enrollments {
            let in_window = e.completed_by(as_of)
                && e.completed_at
                    .is_some_and(|t| week_index(t, as_of, weeks).is_some());
            if !in_window {
                continue;
            }
            c.completions += 1;
            let has_feedback = gave_feedback.contains(&(e.course_id.as_str(), user.id.as_str()));
            c.with_feedback += usize::from(has_feedback);
        }
    }

    let n = users.len();
    let participation_rate = ratio(c.participants as f64, n);
    let active_learner_ratio = ratio(c.active_learners as f64, n);
    let voluntary_hours_per_capita = ratio(c.voluntary_hours, n)
        .map(|h| h / f64::from(weeks.max(1)))
        .filter(|h| h.is_finite());
    let voluntary_share = (c.hours > 0.0).then(|| (c.voluntary_hours / c.hours).clamp(0.0, 1.0));
    let feedback_rate = ratio(c.with_feedback as f64, c.completions);
    let reference = cfg.culture.voluntary_hours_reference;
    let culture_index = match (
        participation_rate,
        active_learner_ratio,
        voluntary_hours_per_capita,
    ) {
        (Some(p), Some(a), Some(v)) => {
            let hours_term = if reference.is_finite() && reference > 0.0 {
                (v / reference).min(1.0)
            } else {
                1.0
            };
            let mut terms = vec![p, a, hours_term];
            terms.extend(voluntary_share);
            stats::mean(&terms).map(|m| (100.0 * m).clamp(0.0, 100.0))
        }
        _ => None,
    };
    (
        CultureIndicators {
            participation_rate,
            active_learner_ratio,
            voluntary_hours_per_capita,
            voluntary_share,
            feedback_rate,
            culture_index,
        },
        c,
    )
}

/// One user's part of the indicators (their `culture` digest part, [`crate::digest`]): their
/// events in the `culture.window_weeks` weekly bins ending at `asOf`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CulturePart {
    /// Events in the window.
    pub events: usize,
    /// Weeks of the window with at least one event.
    pub active_weeks: usize,
    /// Their time-on-task in hours.
    pub hours: f64,
    /// The part of `hours` spent on courses the user had enrolled in themselves by then.
    pub voluntary_hours: f64,
}

/// `user_id`'s [`CulturePart`] at `as_of`.
pub(crate) fn part(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> CulturePart {
    // The earliest self-assigned enrollment per course.
    let mut voluntary_since: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for e in idx
        .enrollments_of(user_id)
        .iter()
        .filter(|e| e.enrolled_at <= as_of && e.assigned_by == AssignedBy::SelfAssigned)
    {
        let since = voluntary_since
            .entry(e.course_id.as_str())
            .or_insert(e.enrolled_at);
        *since = (*since).min(e.enrolled_at);
    }

    let timed = window_events(idx, user_id, as_of, cfg.culture.window_weeks, cfg);
    let bins: BTreeSet<usize> = timed.iter().map(|t| t.bin).collect();
    let (mut hours, mut voluntary_hours) = (0.0_f64, 0.0_f64);
    for t in &timed {
        hours = saturating_add(hours, t.hours);
        let voluntary = event_course(idx, t.event)
            .and_then(|course| voluntary_since.get(course))
            .is_some_and(|since| *since <= t.event.timestamp);
        if voluntary {
            voluntary_hours = saturating_add(voluntary_hours, t.hours);
        }
    }
    CulturePart {
        events: timed.len(),
        active_weeks: bins.len(),
        hours,
        voluntary_hours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{EnrollmentStatus, Verb};
    use crate::test_support::*;
    use crate::trainer::testdata::feedback;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn timed(
        user: &str,
        object: &str,
        at: chrono::DateTime<Utc>,
        secs: f64,
    ) -> crate::input::ActivityEvent {
        let mut e = event(user, object, Verb::Experienced, "2025-01-01T00:00:00Z");
        e.timestamp = at;
        e.duration_sec = Some(secs);
        e
    }

    /// Six active users (u1–u5 in `a`, u6 in `b`). u1 learns 30 min in each of the last seven
    /// weeks in a self-assigned course and completes it with feedback; u2 learns 1 h in two
    /// weeks in a manager-assigned course and completes it without feedback; u3 learned only
    /// before the window.
    fn example() -> Dataset {
        let as_of = ts(AS_OF);
        let mut users: Vec<_> = (1..=6)
            .map(|i| user(&format!("u{i}"), "o1", None))
            .collect();
        for u in users.iter_mut().take(5) {
            u.department = Some("a".into());
        }
        users[5].department = Some("b".into());
        let mut voluntary = enrollment(
            "e1",
            "u1",
            "c1",
            "2025-01-01T00:00:00Z",
            EnrollmentStatus::Completed,
        );
        voluntary.completed_at = Some(ts("2025-06-20T00:00:00Z"));
        let mut assigned = enrollment(
            "e2",
            "u2",
            "c2",
            "2025-01-01T00:00:00Z",
            EnrollmentStatus::Completed,
        );
        assigned.assigned_by = AssignedBy::Manager;
        assigned.completed_at = Some(ts("2025-06-10T00:00:00Z"));
        let mut events: Vec<_> = (0..7)
            .map(|k| {
                timed(
                    "u1",
                    "i1",
                    as_of - chrono::TimeDelta::days(7 * k + 1),
                    1800.0,
                )
            })
            .collect();
        events.push(timed(
            "u2",
            "i2",
            as_of - chrono::TimeDelta::days(2),
            3600.0,
        ));
        events.push(timed(
            "u2",
            "i2",
            as_of - chrono::TimeDelta::days(30),
            3600.0,
        ));
        events.push(timed("u3", "i1", ts("2025-01-10T00:00:00Z"), 3600.0));
        Dataset {
            users,
            content_items: vec![item("i1", "c1", 30.0), item("i2", "c2", 30.0)],
            enrollments: vec![voluntary, assigned],
            feedback: vec![
                feedback("f1", "u1", "c1", "t1", (4.0, 4.0), "2025-06-21T00:00:00Z"),
                feedback("f2", "u1", "c1", "t1", (5.0, 5.0), "2025-06-22T00:00:00Z"),
            ],
            events,
            ..Dataset::default()
        }
    }

    #[test]
    fn indicators_follow_the_documented_formulas() {
        let c = compute(&example(), "o1", ts(AS_OF), &Config::default());
        assert_eq!(c.header.status, Status::Ok);
        let i = &c.indicators;
        close(i.participation_rate.expect("participation"), 2.0 / 6.0);
        close(i.active_learner_ratio.expect("active"), 1.0 / 6.0);
        let vhpc = 3.5 / 6.0 / 12.0;
        close(i.voluntary_hours_per_capita.expect("vhpc"), vhpc);
        close(i.voluntary_share.expect("share"), 3.5 / 5.5);
        // Two completions in the window, one with (two) feedback records.
        close(i.feedback_rate.expect("feedback"), 0.5);
        let want = 100.0 * (2.0 / 6.0 + 1.0 / 6.0 + vhpc + 3.5 / 5.5) / 4.0;
        close(i.culture_index.expect("index"), want);
        assert_eq!(c.header.n.get("participants"), Some(&2));
        assert_eq!(c.header.n.get("completions"), Some(&2));
    }

    #[test]
    fn no_hours_drops_voluntary_share_from_the_index() {
        let mut data = example();
        data.events.clear();
        let c = compute(&data, "o1", ts(AS_OF), &Config::default());
        assert_eq!(c.indicators.voluntary_share, None);
        assert_eq!(c.indicators.culture_index, Some(0.0));
        // Only the durations: events without duration at the end of a session give 0 h.
        let mut data = example();
        for e in &mut data.events {
            e.duration_sec = None;
        }
        let c = compute(&data, "o1", ts(AS_OF), &Config::default());
        assert_eq!(c.indicators.voluntary_share, None);
        let want = 100.0 * (2.0 / 6.0 + 1.0 / 6.0 + 0.0) / 3.0;
        close(c.indicators.culture_index.expect("index"), want);
    }

    #[test]
    fn hours_per_capita_saturate_at_the_reference() {
        let mut cfg = Config::default();
        cfg.culture.voluntary_hours_reference = 0.01;
        let c = compute(&example(), "o1", ts(AS_OF), &cfg);
        let want = 100.0 * (2.0 / 6.0 + 1.0 / 6.0 + 1.0 + 3.5 / 5.5) / 4.0;
        close(c.indicators.culture_index.expect("index"), want);
    }

    #[test]
    fn departments_are_computed_alike_and_suppressed_below_k() {
        let c = compute(&example(), "o1", ts(AS_OF), &Config::default());
        assert_eq!(c.departments.len(), 2);
        let a = &c.departments[0];
        assert_eq!(
            (a.department.as_str(), a.suppressed, a.users),
            ("a", false, Some(5))
        );
        close(
            a.indicators.participation_rate.expect("participation"),
            2.0 / 5.0,
        );
        close(
            a.indicators.voluntary_hours_per_capita.expect("vhpc"),
            3.5 / 5.0 / 12.0,
        );
        let b = &c.departments[1];
        assert!(b.suppressed && b.users.is_none());
        assert_eq!(b.indicators, CultureIndicators::empty());
        let json = serde_json::to_value(b).expect("serialises");
        assert!(json["cultureIndex"].is_null() && json["participationRate"].is_null());
    }

    #[test]
    fn no_active_users_is_insufficient_data_with_null_indicators() {
        let c = compute(&example(), "o9", ts(AS_OF), &Config::default());
        assert_eq!(c.header.status, Status::InsufficientData);
        assert_eq!(c.indicators, CultureIndicators::empty());
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let c = compute(&example(), "o1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&c).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&c).expect("serialises");
        for key in [
            "participationRate",
            "activeLearnerRatio",
            "voluntaryHoursPerCapita",
            "voluntaryShare",
            "feedbackRate",
            "cultureIndex",
            "departments",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        let back: LearningCulture = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, c);
    }
}
