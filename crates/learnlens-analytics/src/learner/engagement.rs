//! Analytic 3, **engagementScore**: behavioural engagement (Fredricks, Blumenfeld & Paris 2004)
//! from activity traces (Henrie, Halverson & Graham 2015), on a 0–100 scale.
//!
//! Definitions and interpretations:
//! - **Window**: D day bins of 24 h ending at `asOf` (left-open, right-closed, see
//!   [`crate::common`]). D = 28, or fewer when the first enrollment (`enrolledAt ≤ asOf`) is
//!   more recent: D = the number of day bins from the one holding the first `enrolledAt` to the
//!   one ending at `asOf` (so an enrollment 3.5 days ago gives D = 4). No enrollment: D = 28.
//!   `partialWindow` = D < 28. Only events inside these D days count for F, T and C.
//! - **recency** R = exp(−ln2·daysSinceLast/7), daysSinceLast = fractional days from the last
//!   event stamped ≤ `asOf` (which may lie before the window) to `asOf`.
//! - **frequency** F = activeDays/D, activeDays = day bins of the window with ≥ 1 event (any
//!   verb).
//! - **timeOnTask** T = min(1, hours/(D/7·2 h)), hours = time-on-task of the window's events by
//!   the session rule of [`crate::common`] (`durationSec` capped at 4 h, else the gap to the
//!   next event of the session, 0 for the last one; sessions split at gaps > 30 min).
//! - **consistency** C = activeWeeks/⌈D/7⌉, over 7-day bins ending at `asOf` (the oldest one is
//!   partial when D is not a multiple of 7).
//! - **score** E = 100·Σ w_c·c / Σ w_c. With the default equal weights 0.25 this is exactly
//!   `analytics.md`'s 100·Σ w_c·c; dividing by Σw keeps E in \[0,100\] if configured weights do
//!   not sum to 1. `weights` in the payload are the configured ones. If they are invalid
//!   (negative, non-finite, or summing to 0) the defaults are used and reason
//!   `invalid_weights` is added.
//! - **band**: `high` at E ≥ 70, `low` at E < 40, `medium` between.
//! - **No events ever** (none stamped ≤ `asOf`): every component 0, `score` 0, band `low`,
//!   `daysSinceLast` and `lastActivityAt` `null`, reason `no_activity`; status stays `ok`
//!   because 0 is the measured engagement, not a missing value.
//!
//! `n`: `events` (in the window), `eventsTotal` (≤ asOf), `sessions` (in the window),
//! `weeks` (⌈D/7⌉), `enrollments` (≤ asOf).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{
    DAY_SECS, Header, SessionRule, bins_back, seconds_between, sessions, time_on_task,
};
use crate::config::{Config, EngagementWeights};
use crate::input::{Dataset, DatasetIndex};

/// The engagementScore payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngagementScore {
    #[serde(flatten)]
    pub header: Header,
    /// E in \[0,100\].
    pub score: f64,
    pub band: Band,
    pub components: Components,
    pub weights: EngagementWeights,
    /// D.
    pub window_days: u32,
    pub partial_window: bool,
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// Engagement band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    High,
    Medium,
    Low,
}

/// The four components, each `value` in \[0,1\].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Components {
    pub recency: Recency,
    pub frequency: Frequency,
    pub time_on_task: TimeOnTask,
    pub consistency: Consistency,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recency {
    pub value: f64,
    /// `null` without any activity.
    pub days_since_last: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Frequency {
    pub value: f64,
    pub active_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeOnTask {
    pub value: f64,
    pub hours: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Consistency {
    pub value: f64,
    pub active_weeks: u32,
}

/// Computes engagementScore for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> EngagementScore {
    compute_indexed(&data.index(), user_id, as_of, cfg)
}

/// Computes engagementScore for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> EngagementScore {
    let ec = &cfg.engagement;
    let mut header = Header::new(as_of);
    let events = idx.events_until(user_id, as_of);
    let enrollments = idx
        .enrollments_of(user_id)
        .iter()
        .filter(|e| e.enrolled_at <= as_of);
    let n_enrollments = enrollments.clone().count();

    // D: the full window, or the day bins since the first enrollment if fewer.
    let full = ec.window_days.max(1);
    let window_days = enrollments
        .map(|e| e.enrolled_at)
        .min()
        .and_then(|first| bins_back(first, as_of, DAY_SECS))
        .map_or(full, |j| {
            u32::try_from(j.saturating_add(1))
                .unwrap_or(u32::MAX)
                .min(full)
        });
    let d = f64::from(window_days);
    let weeks = window_days.div_ceil(7);

    // Recency, from the last event ever (≤ asOf).
    let last_activity_at = events.last().map(|e| e.timestamp);
    let days_since_last = last_activity_at.map(|t| (seconds_between(t, as_of) / 86_400.0).max(0.0));
    let recency = match days_since_last {
        Some(days) => decay(days, ec.recency_half_life_days),
        None => 0.0,
    };

    // Frequency, time and consistency, from the window's events.
    let rule = SessionRule::from_config(&cfg.session);
    let seconds = time_on_task(events, &rule);
    let mut active_days = BTreeSet::new();
    let mut in_window = 0usize;
    let mut total_secs = 0.0_f64;
    for (event, secs) in events.iter().zip(&seconds) {
        let Some(day) = bins_back(event.timestamp, as_of, DAY_SECS) else {
            continue;
        };
        if day < u64::from(window_days) {
            in_window += 1;
            active_days.insert(day);
            total_secs = (total_secs + secs).min(f64::MAX);
        }
    }
    let window_sessions = sessions(events, &rule)
        .into_iter()
        .filter(|r| {
            // A session counts when any of its events is in the window.
            events.get(r.clone()).unwrap_or(&[]).iter().any(|e| {
                bins_back(e.timestamp, as_of, DAY_SECS)
                    .is_some_and(|day| day < u64::from(window_days))
            })
        })
        .count();
    let active_weeks: BTreeSet<u64> = active_days.iter().map(|day| day / 7).collect();
    let active_days_n = u32::try_from(active_days.len()).unwrap_or(u32::MAX);
    let active_weeks_n = u32::try_from(active_weeks.len()).unwrap_or(u32::MAX);
    let frequency = (f64::from(active_days_n) / d).clamp(0.0, 1.0);
    let hours = total_secs / 3600.0;
    let expected_hours = d / 7.0 * ec.target_hours_per_week;
    let time_value = if expected_hours.is_finite() && expected_hours > 0.0 {
        (hours / expected_hours).clamp(0.0, 1.0)
    } else if hours > 0.0 {
        1.0
    } else {
        0.0
    };
    let consistency = if weeks > 0 {
        (f64::from(active_weeks_n) / f64::from(weeks)).clamp(0.0, 1.0)
    } else {
        0.0
    };

    let weights = if ec.weights.is_valid() {
        ec.weights
    } else {
        header.add_reason("invalid_weights");
        EngagementWeights::default()
    };
    let weight_sum =
        weights.recency + weights.frequency + weights.time_on_task + weights.consistency;
    let weighted = weights.recency * recency
        + weights.frequency * frequency
        + weights.time_on_task * time_value
        + weights.consistency * consistency;
    let score = if weight_sum > 0.0 && weight_sum.is_finite() {
        (100.0 * weighted / weight_sum).clamp(0.0, 100.0)
    } else {
        0.0
    };
    let score = if score.is_finite() { score } else { 0.0 };
    let band = band_of(score, cfg);

    if events.is_empty() {
        header.add_reason("no_activity");
    }
    header.set_n("events", in_window);
    header.set_n("eventsTotal", events.len());
    header.set_n("sessions", window_sessions);
    header.set_n("weeks", usize::try_from(weeks).unwrap_or(usize::MAX));
    header.set_n("enrollments", n_enrollments);

    EngagementScore {
        header,
        score,
        band,
        components: Components {
            recency: Recency {
                value: recency,
                days_since_last,
            },
            frequency: Frequency {
                value: frequency,
                active_days: active_days_n,
            },
            time_on_task: TimeOnTask {
                value: time_value,
                hours,
            },
            consistency: Consistency {
                value: consistency,
                active_weeks: active_weeks_n,
            },
        },
        weights,
        window_days,
        partial_window: window_days < ec.window_days,
        last_activity_at,
    }
}

/// exp(−ln2·days/halfLife), in \[0,1\]; a non-positive half-life means "only today counts".
fn decay(days: f64, half_life: f64) -> f64 {
    if half_life.is_finite() && half_life > 0.0 {
        let r = (-std::f64::consts::LN_2 * days / half_life).exp();
        if r.is_finite() {
            r.clamp(0.0, 1.0)
        } else {
            0.0
        }
    } else if days == 0.0 {
        1.0
    } else {
        0.0
    }
}

/// `high` at ≥ bandHigh, `low` below bandLow, `medium` between.
fn band_of(score: f64, cfg: &Config) -> Band {
    if score >= cfg.engagement.band_high {
        Band::High
    } else if score < cfg.engagement.band_low {
        Band::Low
    } else {
        Band::Medium
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::Status;
    use crate::input::{EnrollmentStatus, Verb};
    use crate::test_support::*;
    use std::f64::consts::LN_2;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn timed(at: &str, duration: Option<f64>) -> crate::input::ActivityEvent {
        let mut e = event("u1", "i1", Verb::Experienced, at);
        e.duration_sec = duration;
        e
    }

    fn example() -> Dataset {
        Dataset {
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c1",
                "2025-05-01T00:00:00Z",
                EnrollmentStatus::InProgress,
            )],
            events: vec![
                timed("2025-06-29T12:00:00Z", None), // day 1; gap 20 min → 1,200 s
                timed("2025-06-29T12:20:00Z", None), // day 0; last of its session → 0
                timed("2025-06-29T13:00:00Z", Some(1800.0)), // day 0; gap 40 min: new session
                timed("2025-06-20T08:00:00Z", Some(3600.0)), // day 10
                timed("2025-06-10T12:00:00Z", Some(20000.0)), // day 20; capped at 14,400 s
                timed("2025-05-20T12:00:00Z", Some(3600.0)), // day 41: outside the window
                timed("2025-07-01T00:00:00Z", Some(3600.0)), // after asOf: ignored
            ],
            ..Dataset::default()
        }
    }

    #[test]
    fn components_and_score_follow_the_documented_formulas() {
        let e = compute(&example(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(e.header.status, Status::Ok);
        assert_eq!((e.window_days, e.partial_window), (28, false));

        // Recency: the last event is 23 h before asOf.
        let days = 23.0 / 24.0;
        close(e.components.recency.days_since_last.expect("days"), days);
        let r = (-LN_2 * days / 7.0).exp();
        close(e.components.recency.value, r);

        // Frequency: days {0, 1, 10, 20} of 28.
        assert_eq!(e.components.frequency.active_days, 4);
        close(e.components.frequency.value, 4.0 / 28.0);

        // Time: 1,200 + 0 + 1,800 + 3,600 + 14,400 s = 5.8333 h of a 4 × 2 h target.
        let hours = 21_000.0 / 3600.0;
        close(e.components.time_on_task.hours, hours);
        close(e.components.time_on_task.value, hours / 8.0);

        // Consistency: weeks {0, 1, 2} of 4.
        assert_eq!(e.components.consistency.active_weeks, 3);
        close(e.components.consistency.value, 0.75);

        let score = 100.0 * 0.25 * (r + 4.0 / 28.0 + hours / 8.0 + 0.75);
        close(e.score, score);
        assert_eq!(e.band, Band::Medium);
        assert_eq!(e.last_activity_at, Some(ts("2025-06-29T13:00:00Z")));
        assert_eq!(e.header.n.get("events"), Some(&5));
        assert_eq!(e.header.n.get("eventsTotal"), Some(&6));
        assert_eq!(e.header.n.get("sessions"), Some(&4));
        assert_eq!(e.header.n.get("weeks"), Some(&4));
    }

    #[test]
    fn a_recent_first_enrollment_shortens_the_window_and_marks_it_partial() {
        // Enrolled 3.5 days before asOf: D = 4 day bins, one weekly bin.
        let data = Dataset {
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c1",
                "2025-06-27T00:00:00Z",
                EnrollmentStatus::Enrolled,
            )],
            events: vec![
                timed("2025-06-25T12:00:00Z", Some(3600.0)), // before the window (day 5)
                timed("2025-06-29T06:00:00Z", Some(1800.0)), // day 1
            ],
            ..Dataset::default()
        };
        let e = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!((e.window_days, e.partial_window), (4, true));
        close(e.components.frequency.value, 1.0 / 4.0);
        close(e.components.time_on_task.hours, 0.5);
        close(e.components.time_on_task.value, 0.5 / (4.0 / 7.0 * 2.0));
        assert_eq!(e.components.consistency.active_weeks, 1);
        close(e.components.consistency.value, 1.0);
        close(e.components.recency.days_since_last.expect("days"), 1.25);
    }

    #[test]
    fn no_events_ever_gives_score_zero_and_reason_no_activity() {
        let data = Dataset {
            enrollments: vec![enrollment(
                "e1",
                "u1",
                "c1",
                "2025-05-01T00:00:00Z",
                EnrollmentStatus::Enrolled,
            )],
            events: vec![timed("2025-07-02T00:00:00Z", Some(60.0))], // only after asOf
            ..Dataset::default()
        };
        let e = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(e.header.status, Status::Ok);
        assert_eq!(e.header.reasons, ["no_activity"]);
        assert_eq!(e.score, 0.0);
        assert_eq!(e.band, Band::Low);
        assert_eq!(e.last_activity_at, None);
        assert_eq!(e.components.recency.days_since_last, None);
        let c = &e.components;
        assert_eq!(
            (
                c.recency.value,
                c.frequency.value,
                c.time_on_task.value,
                c.consistency.value
            ),
            (0.0, 0.0, 0.0, 0.0)
        );
        let json = serde_json::to_value(&e).expect("serialises");
        assert!(json["lastActivityAt"].is_null());
    }

    #[test]
    fn a_learner_without_enrollments_uses_the_full_window() {
        let data = Dataset {
            events: vec![timed("2025-06-30T12:00:00Z", None)],
            ..Dataset::default()
        };
        let e = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!((e.window_days, e.partial_window), (28, false));
        assert_eq!(e.components.recency.value, 1.0);
        assert_eq!(e.components.time_on_task.hours, 0.0); // last event of its session
    }

    #[test]
    fn recency_halves_every_seven_days() {
        let data = Dataset {
            events: vec![timed("2025-06-23T12:00:00Z", None)],
            ..Dataset::default()
        };
        let e = compute(&data, "u1", ts(AS_OF), &Config::default());
        close(e.components.recency.value, 0.5);
        // An event exactly 7 days back lies on the boundary of day bins 6 and 7: bin 7.
        assert_eq!(e.components.frequency.active_days, 1);
        assert_eq!(e.components.consistency.active_weeks, 1);
    }

    #[test]
    fn time_on_task_saturates_at_the_weekly_target() {
        let events = (0..4)
            .map(|w| {
                timed(
                    &format!("2025-06-{:02}T10:00:00Z", 29 - 7 * w),
                    Some(14_400.0),
                )
            })
            .collect();
        let data = Dataset {
            events,
            ..Dataset::default()
        };
        let e = compute(&data, "u1", ts(AS_OF), &Config::default());
        close(e.components.time_on_task.hours, 16.0);
        assert_eq!(e.components.time_on_task.value, 1.0);
        assert_eq!(e.components.consistency.value, 1.0);
    }

    #[test]
    fn bands_are_high_from_seventy_and_low_below_forty() {
        let cfg = Config::default();
        assert_eq!(band_of(70.0, &cfg), Band::High);
        assert_eq!(band_of(69.999, &cfg), Band::Medium);
        assert_eq!(band_of(40.0, &cfg), Band::Medium);
        assert_eq!(band_of(39.999, &cfg), Band::Low);
        assert_eq!(band_of(100.0, &cfg), Band::High);
    }

    #[test]
    fn a_fully_engaged_learner_scores_one_hundred() {
        // An event with 30 min in each of the last 28 day bins, the last one at asOf.
        let events = (0..28)
            .map(|d| {
                let at = ts(AS_OF) - chrono::TimeDelta::days(d);
                let mut e = timed(AS_OF, Some(1800.0));
                e.timestamp = at;
                e
            })
            .collect();
        let e = compute(
            &Dataset {
                events,
                ..Dataset::default()
            },
            "u1",
            ts(AS_OF),
            &Config::default(),
        );
        assert_eq!(e.components.frequency.active_days, 28);
        close(e.score, 100.0);
        assert_eq!(e.band, Band::High);
    }

    #[test]
    fn invalid_weights_fall_back_to_the_defaults_with_a_reason() {
        let mut cfg = Config::default();
        cfg.engagement.weights.recency = -1.0;
        let e = compute(&example(), "u1", ts(AS_OF), &cfg);
        assert!(e.header.reasons.iter().any(|r| r == "invalid_weights"));
        assert_eq!(e.weights, EngagementWeights::default());
        let reference = compute(&example(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(e.score, reference.score);
    }

    #[test]
    fn weights_that_do_not_sum_to_one_are_normalised() {
        let mut cfg = Config::default();
        cfg.engagement.weights = EngagementWeights {
            recency: 1.0,
            frequency: 0.0,
            time_on_task: 0.0,
            consistency: 1.0,
        };
        let e = compute(&example(), "u1", ts(AS_OF), &cfg);
        let r = e.components.recency.value;
        close(e.score, 100.0 * (r + 0.75) / 2.0);
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let e = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&e).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&e).expect("serialises");
        for key in [
            "score",
            "band",
            "components",
            "weights",
            "windowDays",
            "partialWindow",
            "lastActivityAt",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        let c = &json["components"];
        assert!(c["recency"].get("daysSinceLast").is_some());
        assert!(c["frequency"].get("activeDays").is_some());
        assert!(c["timeOnTask"].get("hours").is_some());
        assert!(c["consistency"].get("activeWeeks").is_some());
        assert_eq!(json["weights"]["timeOnTask"], 0.25);
        assert_eq!(json["band"], "medium");
        let back: EngagementScore = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, e);
    }
}
