//! Analytic 1, **learnerVelocity**: learning units completed per week, its trend, and when the
//! learner's open courses would be finished at the current pace.
//!
//! Interpretations (where `analytics.md` leaves a choice):
//! - **Units** are the expected hours (`expectedDurationMin / 60`) of content items completed
//!   *for the first time*. A completion is an event with verb `completed` or `passed`, or with
//!   `completion == true`, whose `objectId` is a content item of the dataset; events about
//!   unknown objects carry no expected duration and are ignored. Only the earliest completion of
//!   an item (stamped ≤ `asOf`) counts; a later repeat never does, even if the first one fell
//!   before the window. `itemsCompleted` counts these first completions per week.
//! - **Weekly series**: W rolling 7-day bins ending at `asOf` (see [`crate::common`] for the
//!   left-open, right-closed boundary). The series starts at the bin holding the learner's first
//!   enrollment (`enrolledAt ≤ asOf`) when that is inside the window, else at the window start;
//!   earlier bins are omitted, not zero. A learner without enrollments gets the full window
//!   (and reason `no_enrollment`). Weeks without completions are 0.
//! - `currentVelocity` = mean of the last 4 bins of the series (all of them when it is shorter);
//!   `averageVelocity` = mean of the series. Both are hours per week.
//! - **Trend** = OLS of y on x = 0…len−1, the position in `weekly` (so `intercept` is the fitted
//!   value of the first returned week; the slope equals that of the absolute bin index b).
//!   Computed by [`crate::stats::regression::linregress`], i.e. `scipy.stats.linregress(x, y)`.
//!   `direction` is `accelerating`/`decelerating` by the sign of the slope when p < 0.05,
//!   otherwise `steady`. Fewer than 3 bins: `trend` is `null`.
//! - **No events** (or no completions): every week is 0, both velocities are 0, and, with ≥ 3
//!   bins, the trend is the OLS of a zero series: `slope = 0`, `intercept = 0`, `r2 = null`,
//!   `pValue = null` (constant y), `direction = steady`. Reason `no_activity` when the learner
//!   has no events at all.
//! - `coursesCompleted` = enrollments with status `completed` and `completedAt ≤ asOf`.
//! - **Projections**, one per enrollment active at `asOf` (see
//!   [`crate::input::Enrollment::is_active_at`]), sorted by course id: `remainingHours` = the
//!   expected hours of the course's content items not yet completed, or
//!   `expectedDurationHours·(1 − progress)` when the course lists no content items;
//!   `weeksToComplete` = remainingHours / currentVelocity, `null` when the velocity is 0.
//!   An enrollment in a course missing from the dataset gets `remainingHours = null` and reason
//!   `unknown_course`.
//!
//! `n`: `events` (the learner's events ≤ asOf), `enrollments` (≤ asOf), `completions` (first
//! completions inside the series), `bins` (length of `weekly`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status, week_bins, week_index};
use crate::config::Config;
use crate::input::{ActivityEvent, Dataset, DatasetIndex, nonneg_finite};
use crate::stats;

/// The learnerVelocity payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LearnerVelocity {
    #[serde(flatten)]
    pub header: Header,
    pub weekly: Vec<WeekPoint>,
    /// Mean units of the last 4 weeks (hours per week).
    pub current_velocity: Option<f64>,
    /// Mean units of all weeks of the series (hours per week).
    pub average_velocity: Option<f64>,
    pub trend: Option<Trend>,
    pub courses_completed: u64,
    pub projections: Vec<Projection>,
}

/// One week of the series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeekPoint {
    /// Open lower bound of the 7-day bin `(weekStart, weekStart + 7d]`.
    pub week_start: DateTime<Utc>,
    pub items_completed: u64,
    /// Expected hours of the items completed for the first time in this week.
    pub units: f64,
}

/// OLS trend of the weekly units on the week position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trend {
    pub slope: f64,
    pub intercept: f64,
    pub r2: Option<f64>,
    pub stderr: Option<f64>,
    pub p_value: Option<f64>,
    pub direction: Direction,
}

/// Whether the learner speeds up, slows down, or neither (at the configured significance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Accelerating,
    Decelerating,
    Steady,
}

/// When an open enrollment would be finished at the current velocity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Projection {
    pub course_id: String,
    pub remaining_hours: Option<f64>,
    pub weeks_to_complete: Option<f64>,
}

/// Computes learnerVelocity for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> LearnerVelocity {
    compute_indexed(&data.index(), user_id, as_of, cfg)
}

/// Computes learnerVelocity for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> LearnerVelocity {
    let mut header = Header::new(as_of);
    let weeks = cfg.velocity.window_weeks;
    let events = idx.events_until(user_id, as_of);
    let enrollments: Vec<_> = idx
        .enrollments_of(user_id)
        .iter()
        .filter(|e| e.enrolled_at <= as_of)
        .copied()
        .collect();
    let UnitSeries {
        weekly,
        counted,
        completions,
        ..
    } = unit_series(idx, user_id, as_of, weeks);

    let y: Vec<f64> = weekly.iter().map(|w| w.units).collect();
    let current_bins = usize::try_from(cfg.velocity.current_bins.max(1)).unwrap_or(usize::MAX);
    let current_velocity =
        stats::mean(y.get(y.len().saturating_sub(current_bins)..).unwrap_or(&[]));
    let average_velocity = stats::mean(&y);
    let min_bins = usize::try_from(cfg.velocity.min_trend_bins.max(3)).unwrap_or(usize::MAX);
    let trend = if y.len() >= min_bins {
        trend_of(&y, cfg.stats.significance_level)
    } else {
        None
    };

    let courses_completed = enrollments.iter().filter(|e| e.completed_by(as_of)).count();

    let mut active: Vec<_> = enrollments
        .iter()
        .filter(|e| e.is_active_at(as_of))
        .collect();
    active.sort_by(|a, b| a.course_id.cmp(&b.course_id).then_with(|| a.id.cmp(&b.id)));
    let mut projections = Vec::with_capacity(active.len());
    for enrollment in active {
        let remaining_hours = match idx.course(&enrollment.course_id) {
            None => {
                header.add_reason("unknown_course");
                None
            }
            Some(course) => {
                let items = idx.course_items(course);
                if items.is_empty() {
                    Some(
                        nonneg_finite(course.expected_duration_hours)
                            * (1.0 - enrollment.progress_clamped()),
                    )
                } else {
                    Some(
                        items
                            .iter()
                            .filter(|i| !completions.contains_key(i.id.as_str()))
                            .fold(0.0, |acc, i| saturating_add(acc, i.expected_hours())),
                    )
                }
            }
        };
        let weeks_to_complete = match (remaining_hours, current_velocity) {
            (Some(h), Some(v)) if v > 0.0 => Some(h / v).filter(|w| w.is_finite()),
            _ => None,
        };
        projections.push(Projection {
            course_id: enrollment.course_id.clone(),
            remaining_hours,
            weeks_to_complete,
        });
    }

    if events.is_empty() {
        header.add_reason("no_activity");
    }
    if enrollments.is_empty() {
        header.add_reason("no_enrollment");
    }
    if weekly.is_empty() {
        header.status = Status::InsufficientData;
    }
    header.set_n("events", events.len());
    header.set_n("enrollments", enrollments.len());
    header.set_n("completions", counted);
    header.set_n("bins", weekly.len());

    LearnerVelocity {
        header,
        weekly,
        current_velocity,
        average_velocity,
        trend,
        courses_completed: u64::try_from(courses_completed).unwrap_or(u64::MAX),
        projections,
    }
}

/// A learner's weekly unit series as learnerVelocity defines it (see the module
/// documentation); orgLearningVelocity sums these series over an organisation.
pub(crate) struct UnitSeries<'a> {
    /// Forward index b (in the W-bin window ending at `asOf`) of the series' first week.
    pub start_bin: usize,
    /// The series, from `start_bin` to the bin ending at `asOf`.
    pub weekly: Vec<WeekPoint>,
    /// First completions that fall inside the series.
    pub counted: usize,
    /// The first completion time of every content item completed ≤ `asOf`.
    pub completions: HashMap<&'a str, DateTime<Utc>>,
}

/// Builds the learner's weekly unit series over `weeks` bins ending at `as_of`: it starts at
/// the bin of the first enrollment (`enrolledAt ≤ asOf`) when that lies inside the window,
/// else at the window start; each week holds the expected hours of the content items
/// completed there for the first time.
pub(crate) fn unit_series<'a>(
    idx: &DatasetIndex<'a>,
    user_id: &str,
    as_of: DateTime<Utc>,
    weeks: u32,
) -> UnitSeries<'a> {
    let events = idx.events_until(user_id, as_of);
    let completions = first_completions(idx, events);
    let first_enrolled = idx
        .enrollments_of(user_id)
        .iter()
        .filter(|e| e.enrolled_at <= as_of)
        .map(|e| e.enrolled_at)
        .min();
    let start_bin = first_enrolled
        .and_then(|t| week_index(t, as_of, weeks))
        .unwrap_or(0);
    let mut weekly: Vec<WeekPoint> = week_bins(as_of, weeks)
        .into_iter()
        .skip(start_bin)
        .map(|bin| WeekPoint {
            week_start: bin.start,
            items_completed: 0,
            units: 0.0,
        })
        .collect();
    let mut counted = 0usize;
    // Sum in a fixed order (time, then item id): HashMap order varies between runs, and
    // floating-point addition is not associative, so the units would differ in the last bit.
    let mut ordered: Vec<(DateTime<Utc>, &str)> =
        completions.iter().map(|(id, at)| (*at, *id)).collect();
    ordered.sort_unstable();
    for (at, item_id) in &ordered {
        let Some(b) = week_index(*at, as_of, weeks) else {
            continue;
        };
        let Some(point) = b.checked_sub(start_bin).and_then(|i| weekly.get_mut(i)) else {
            continue;
        };
        let hours = idx
            .content_item(item_id)
            .map_or(0.0, |i| i.expected_hours());
        point.items_completed += 1;
        point.units = saturating_add(point.units, hours);
        counted += 1;
    }
    UnitSeries {
        start_bin,
        weekly,
        counted,
        completions,
    }
}

/// The first completion time of each content item of the dataset in `events` (sorted by
/// timestamp, already cut at `asOf`).
pub(crate) fn first_completions<'a>(
    idx: &DatasetIndex<'a>,
    events: &[&'a ActivityEvent],
) -> HashMap<&'a str, DateTime<Utc>> {
    let mut first = HashMap::new();
    for event in events {
        if event.signals_completion() && idx.content_item(&event.object_id).is_some() {
            first.entry(&*event.object_id).or_insert(event.timestamp);
        }
    }
    first
}

/// OLS trend of `y` on 0…len−1; `None` when the regression is undefined.
pub(crate) fn trend_of(y: &[f64], alpha: f64) -> Option<Trend> {
    let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
    let fit = stats::regression::linregress(&x, y)?;
    if !fit.slope.is_finite() || !fit.intercept.is_finite() {
        return None;
    }
    let significant = fit.p_value.is_some_and(|p| p < alpha);
    let direction = if significant && fit.slope > 0.0 {
        Direction::Accelerating
    } else if significant && fit.slope < 0.0 {
        Direction::Decelerating
    } else {
        Direction::Steady
    };
    Some(Trend {
        slope: fit.slope,
        intercept: fit.intercept,
        r2: fit.r2.filter(|v| v.is_finite()),
        stderr: fit.stderr.filter(|v| v.is_finite()),
        p_value: fit.p_value.filter(|v| v.is_finite()),
        direction,
    })
}

/// `a + b` for non-negative finite values, saturating at `f64::MAX` instead of overflowing.
pub(crate) fn saturating_add(a: f64, b: f64) -> f64 {
    (a + b).min(f64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{EnrollmentStatus, Verb};
    use crate::test_support::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn close_opt(got: Option<f64>, want: f64) {
        close(got.expect("a value"), want);
    }

    /// u1 enrolled on 2025-05-27T00:00Z (34.5 days before asOf: bin b = 7 of 12, so 5 weeks).
    fn example() -> Dataset {
        let mut completed = enrollment(
            "e0",
            "u1",
            "c0",
            "2025-05-27T00:00:00Z",
            EnrollmentStatus::Completed,
        );
        completed.completed_at = Some(ts("2025-06-01T00:00:00Z"));
        let mut later = enrollment(
            "e2",
            "u1",
            "c2",
            "2025-06-02T00:00:00Z",
            EnrollmentStatus::Completed,
        );
        later.completed_at = Some(ts("2025-07-15T00:00:00Z")); // after asOf: still active then
        let mut no_items = enrollment(
            "e3",
            "u1",
            "c3",
            "2025-06-03T00:00:00Z",
            EnrollmentStatus::Enrolled,
        );
        no_items.progress = 0.25;
        let mut again = event("u1", "i1", Verb::Completed, "2025-06-20T00:00:00Z");
        again.completion = Some(true);
        let mut by_result = event("u1", "i2", Verb::Experienced, "2025-06-10T00:00:00Z");
        by_result.completion = Some(true);
        Dataset {
            courses: vec![
                course("c0", 1.0),
                course("c1", 5.0),
                course("c2", 5.0),
                course("c3", 10.0),
            ],
            content_items: vec![
                item("i1", "c1", 60.0),
                item("i2", "c1", 30.0),
                item("i3", "c1", 120.0),
                item("i5", "c1", 45.0),
                item("i4", "c2", 90.0),
            ],
            enrollments: vec![
                completed,
                enrollment(
                    "e1",
                    "u1",
                    "c1",
                    "2025-05-28T00:00:00Z",
                    EnrollmentStatus::InProgress,
                ),
                later,
                no_items,
                enrollment(
                    "e9",
                    "u2",
                    "c1",
                    "2025-01-01T00:00:00Z",
                    EnrollmentStatus::InProgress,
                ),
            ],
            events: vec![
                event("u1", "i1", Verb::Completed, "2025-05-28T10:00:00Z"), // week 0: +1 h
                again,                                                      // repeat: ignored
                by_result,                                                  // week 2: +0.5 h
                event("u1", "i3", Verb::Passed, "2025-06-29T12:00:00Z"),    // week 4: +2 h
                event("u1", "i4", Verb::Launched, "2025-06-29T13:00:00Z"),  // not a completion
                event("u1", "x9", Verb::Completed, "2025-06-29T14:00:00Z"), // unknown object
                event("u1", "i4", Verb::Completed, "2025-07-01T00:00:00Z"), // after asOf
                event("u2", "i5", Verb::Completed, "2025-06-29T14:00:00Z"), // someone else
            ],
            ..Dataset::default()
        }
    }

    #[test]
    fn weekly_units_are_expected_hours_of_first_completions_from_the_first_enrollment() {
        let v = compute(&example(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(v.header.status, Status::Ok);
        let starts: Vec<_> = v.weekly.iter().map(|w| w.week_start).collect();
        assert_eq!(starts.len(), 5);
        assert_eq!(starts[0], ts("2025-05-26T12:00:00Z"));
        assert_eq!(starts[4], ts("2025-06-23T12:00:00Z"));
        let units: Vec<f64> = v.weekly.iter().map(|w| w.units).collect();
        assert_eq!(units, [1.0, 0.0, 0.5, 0.0, 2.0]);
        let items: Vec<u64> = v.weekly.iter().map(|w| w.items_completed).collect();
        assert_eq!(items, [1, 0, 1, 0, 1]);
        assert_eq!(v.header.n.get("completions"), Some(&3));
        assert_eq!(v.header.n.get("bins"), Some(&5));
        assert_eq!(v.header.n.get("events"), Some(&6));
        assert_eq!(v.header.n.get("enrollments"), Some(&4));
    }

    #[test]
    fn current_velocity_is_the_mean_of_the_last_four_weeks_and_average_of_all() {
        let v = compute(&example(), "u1", ts(AS_OF), &Config::default());
        close_opt(v.current_velocity, 0.625); // (0 + 0.5 + 0 + 2) / 4
        close_opt(v.average_velocity, 0.7); // 3.5 / 5
    }

    #[test]
    fn trend_is_ols_of_units_on_week_position() {
        let v = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let trend = v.trend.expect("five bins give a trend");
        // x = 0..4, y = [1, 0, 0.5, 0, 2]: Sxx = 10, Sxy = 2, Syy = 2.8.
        close(trend.slope, 0.2);
        close(trend.intercept, 0.3);
        close_opt(trend.r2, 1.0 / 7.0);
        close_opt(trend.stderr, 0.08_f64.sqrt());
        // t = sqrt(0.5) with 3 df; p from the closed-form t(3) CDF.
        let p = trend.p_value.expect("p");
        assert!((p - 0.5304777709329569).abs() < 1e-9, "p = {p}");
        assert_eq!(trend.direction, Direction::Steady);
    }

    #[test]
    fn courses_completed_counts_completions_dated_at_or_before_as_of() {
        let v = compute(&example(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(v.courses_completed, 1);
        let before = compute(
            &example(),
            "u1",
            ts("2025-05-31T00:00:00Z"),
            &Config::default(),
        );
        assert_eq!(before.courses_completed, 0);
    }

    #[test]
    fn projections_use_remaining_item_hours_or_the_course_estimate() {
        let v = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let rows: Vec<(&str, Option<f64>)> = v
            .projections
            .iter()
            .map(|p| (p.course_id.as_str(), p.remaining_hours))
            .collect();
        // c1: only i5 (45 min) is left; c2: i4 completed after asOf, so 1.5 h left;
        // c3 lists no items: 10 h × (1 − 0.25).
        assert_eq!(
            rows,
            [("c1", Some(0.75)), ("c2", Some(1.5)), ("c3", Some(7.5))]
        );
        let weeks: Vec<f64> = v
            .projections
            .iter()
            .filter_map(|p| p.weeks_to_complete)
            .collect();
        assert_eq!(weeks.len(), 3);
        close(weeks[0], 1.2);
        close(weeks[1], 2.4);
        close(weeks[2], 12.0);
    }

    #[test]
    fn a_first_enrollment_before_the_window_gives_all_twelve_weeks() {
        let mut data = example();
        data.enrollments[0].enrolled_at = ts("2025-01-01T00:00:00Z");
        let v = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(v.weekly.len(), 12);
        assert_eq!(v.weekly[0].week_start, ts("2025-04-07T12:00:00Z"));
        // The same three completions, now in the last five of twelve weeks.
        let units: Vec<f64> = v.weekly.iter().map(|w| w.units).collect();
        assert_eq!(units[7..], [1.0, 0.0, 0.5, 0.0, 2.0]);
        assert!(units[..7].iter().all(|u| *u == 0.0));
        close_opt(v.average_velocity, 3.5 / 12.0);
    }

    #[test]
    fn no_events_gives_zero_weeks_zero_velocity_and_a_flat_steady_trend() {
        let data = Dataset {
            courses: vec![course("c1", 4.0)],
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c1",
                "2025-01-01T00:00:00Z",
                EnrollmentStatus::Enrolled,
            )],
            ..Dataset::default()
        };
        let v = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(v.header.status, Status::Ok);
        assert_eq!(v.header.reasons, ["no_activity"]);
        assert_eq!(v.weekly.len(), 12);
        assert!(
            v.weekly
                .iter()
                .all(|w| w.units == 0.0 && w.items_completed == 0)
        );
        assert_eq!(
            (v.current_velocity, v.average_velocity),
            (Some(0.0), Some(0.0))
        );
        let trend = v.trend.expect("twelve bins give a trend");
        assert_eq!((trend.slope, trend.intercept), (0.0, 0.0));
        assert_eq!((trend.r2, trend.p_value), (None, None));
        assert_eq!(trend.direction, Direction::Steady);
        // Zero velocity: no projection in weeks, but the remaining hours are known.
        assert_eq!(v.projections.len(), 1);
        assert_eq!(v.projections[0].remaining_hours, Some(4.0));
        assert_eq!(v.projections[0].weeks_to_complete, None);
    }

    #[test]
    fn a_learner_without_enrollments_or_events_gets_the_full_window_of_zeros() {
        let v = compute(&Dataset::default(), "nobody", ts(AS_OF), &Config::default());
        assert_eq!(v.weekly.len(), 12);
        assert_eq!(v.header.reasons, ["no_activity", "no_enrollment"]);
        assert_eq!(v.courses_completed, 0);
        assert!(v.projections.is_empty());
    }

    #[test]
    fn fewer_than_three_bins_give_a_null_trend() {
        // Enrolled 10 days before asOf: bins b = 10 and 11 only.
        let data = Dataset {
            content_items: vec![item("i1", "c1", 60.0)],
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c1",
                "2025-06-20T12:00:00Z",
                EnrollmentStatus::Enrolled,
            )],
            events: vec![event("u1", "i1", Verb::Completed, "2025-06-30T11:00:00Z")],
            ..Dataset::default()
        };
        let v = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(v.weekly.len(), 2);
        assert_eq!(v.trend, None);
        close_opt(v.current_velocity, 0.5);
    }

    #[test]
    fn a_constant_series_has_null_r2_and_p_value() {
        // One 60-minute item in each of the last three weeks, enrolled 20 days before asOf.
        let data = Dataset {
            content_items: vec![
                item("a", "c", 60.0),
                item("b", "c", 60.0),
                item("d", "c", 60.0),
            ],
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c",
                "2025-06-10T00:00:00Z",
                EnrollmentStatus::Enrolled,
            )],
            events: vec![
                event("u1", "a", Verb::Completed, "2025-06-12T00:00:00Z"),
                event("u1", "b", Verb::Completed, "2025-06-20T00:00:00Z"),
                event("u1", "d", Verb::Completed, "2025-06-29T00:00:00Z"),
            ],
            ..Dataset::default()
        };
        let v = compute(&data, "u1", ts(AS_OF), &Config::default());
        let units: Vec<f64> = v.weekly.iter().map(|w| w.units).collect();
        assert_eq!(units, [1.0, 1.0, 1.0]);
        let trend = v.trend.expect("three bins give a trend");
        close(trend.slope, 0.0);
        close(trend.intercept, 1.0);
        assert_eq!((trend.r2, trend.p_value), (None, None));
        assert_eq!(trend.direction, Direction::Steady);
    }

    fn ramp(hours: [f64; 6]) -> Dataset {
        let ids = ["a", "b", "d", "f", "g", "h"];
        let days = [
            "2025-05-21",
            "2025-05-27",
            "2025-06-03",
            "2025-06-10",
            "2025-06-17",
            "2025-06-24",
        ];
        Dataset {
            content_items: ids
                .iter()
                .zip(hours)
                .map(|(id, h)| item(id, "c", h * 60.0))
                .collect(),
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c",
                "2025-05-20T13:00:00Z",
                EnrollmentStatus::Enrolled,
            )],
            events: ids
                .iter()
                .zip(days)
                .map(|(id, d)| event("u1", id, Verb::Completed, &format!("{d}T00:00:00Z")))
                .collect(),
            ..Dataset::default()
        }
    }

    #[test]
    fn a_significant_positive_slope_is_accelerating_and_a_negative_one_decelerating() {
        let up = compute(
            &ramp([0.5, 1.0, 2.0, 3.0, 4.0, 5.5]),
            "u1",
            ts(AS_OF),
            &Config::default(),
        );
        let units: Vec<f64> = up.weekly.iter().map(|w| w.units).collect();
        assert_eq!(units, [0.5, 1.0, 2.0, 3.0, 4.0, 5.5]);
        let trend = up.trend.expect("trend");
        assert!(trend.p_value.expect("p") < 0.05);
        assert_eq!(trend.direction, Direction::Accelerating);

        let down = compute(
            &ramp([5.5, 4.0, 3.0, 2.0, 1.0, 0.5]),
            "u1",
            ts(AS_OF),
            &Config::default(),
        );
        assert_eq!(
            down.trend.expect("trend").direction,
            Direction::Decelerating
        );
    }

    #[test]
    fn an_enrollment_in_an_unknown_course_has_null_remaining_hours() {
        let data = Dataset {
            content_items: vec![item("i1", "c1", 60.0)],
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "gone",
                "2025-06-01T00:00:00Z",
                EnrollmentStatus::InProgress,
            )],
            events: vec![event("u1", "i1", Verb::Completed, "2025-06-29T00:00:00Z")],
            ..Dataset::default()
        };
        let v = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(v.projections.len(), 1);
        assert_eq!(v.projections[0].remaining_hours, None);
        assert_eq!(v.projections[0].weeks_to_complete, None);
        assert!(v.header.reasons.iter().any(|r| r == "unknown_course"));
    }

    #[test]
    fn a_completion_before_the_series_counts_as_done_but_not_as_velocity() {
        // i1 was completed before the learner's first enrollment (e.g. in another platform
        // context): not in the series, yet no longer remaining for c1.
        let data = Dataset {
            courses: vec![course("c1", 2.0)],
            content_items: vec![item("i1", "c1", 60.0), item("i2", "c1", 60.0)],
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c1",
                "2025-06-20T00:00:00Z",
                EnrollmentStatus::InProgress,
            )],
            events: vec![
                event("u1", "i1", Verb::Completed, "2025-06-01T00:00:00Z"),
                event("u1", "i2", Verb::Completed, "2025-06-29T00:00:00Z"),
            ],
            ..Dataset::default()
        };
        let v = compute(&data, "u1", ts(AS_OF), &Config::default());
        let units: Vec<f64> = v.weekly.iter().map(|w| w.units).collect();
        assert_eq!(units, [0.0, 1.0]);
        assert_eq!(v.projections[0].remaining_hours, Some(0.0));
        close_opt(v.projections[0].weeks_to_complete, 0.0);
    }

    #[test]
    fn payload_json_has_the_documented_field_names_with_the_header_first() {
        let v = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&v).expect("serialises");
        assert!(
            text.starts_with(r#"{"status":"ok","asOf":"2025-06-30T12:00:00Z","n":{"#),
            "{text}"
        );
        let json = serde_json::to_value(&v).expect("serialises");
        for key in [
            "weekly",
            "currentVelocity",
            "averageVelocity",
            "trend",
            "coursesCompleted",
            "projections",
            "reasons",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in ["weekStart", "itemsCompleted", "units"] {
            assert!(json["weekly"][0].get(key).is_some(), "missing weekly.{key}");
        }
        for key in ["slope", "intercept", "r2", "stderr", "pValue", "direction"] {
            assert!(json["trend"].get(key).is_some(), "missing trend.{key}");
        }
        for key in ["courseId", "remainingHours", "weeksToComplete"] {
            assert!(
                json["projections"][0].get(key).is_some(),
                "missing projections.{key}"
            );
        }
        assert_eq!(json["trend"]["direction"], "steady");
        let back: LearnerVelocity = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, v);
    }
}
