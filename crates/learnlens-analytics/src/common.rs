//! What every analytic shares: the payload [`Header`], rolling time bins ending at `asOf`, and
//! the session / time-on-task rule of `analytics.md` §1.
//!
//! # Time bins
//! Bins are rolling and end at `asOf`; a bin is *left-open, right-closed*. With bin length L,
//! bin j-back covers `(asOf − (j+1)·L, asOf − j·L]`, so an event stamped exactly at `asOf` falls
//! in the last bin (results use data stamped ≤ `asOf`), and an event exactly on a boundary
//! belongs to the earlier bin. In forward numbering over a window of W weekly bins, bin
//! `b = 0…W−1` covers `(asOf − (W−b)·7d, asOf − (W−b−1)·7d]`; its `weekStart` is the open lower
//! bound `asOf − (W−b)·7d`. Day bins (engagement) use the same rule with L = 24 h; they are
//! not UTC calendar days, so a learner's day does not depend on the server's time zone.
//!
//! # Sessions and time-on-task
//! Kovanović et al. (2015) show that the time-on-task estimator changes findings, so the rule is
//! fixed here, once, for every analytic:
//! - a user's events (sorted by timestamp, only those stamped ≤ `asOf`) form sessions; a session
//!   ends where the gap to the next event is **strictly greater** than 30 minutes (a gap of
//!   exactly 30 minutes continues the session);
//! - an event's time-on-task is its `durationSec` when present, finite and ≥ 0, capped at 4 h;
//! - otherwise it is the gap to the next event of the same session (≤ 30 min by construction;
//!   it is also capped at 4 h, which only matters if the gap is configured above the cap);
//! - the last event of a session without `durationSec` contributes 0;
//! - time is attributed to the event's own timestamp, so an event just before a window start
//!   contributes nothing to that window even if its gap reaches into it.
//!
//! Both thresholds come from [`crate::config::SessionConfig`].

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::config::SessionConfig;
use crate::input::{ActivityEvent, nonneg_finite};

/// Seconds in a day.
pub const DAY_SECS: i64 = 86_400;
/// Seconds in a week.
pub const WEEK_SECS: i64 = 7 * DAY_SECS;

/// The outcome of an analytic, first field of every payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    InsufficientData,
    Suppressed,
    ModelUnavailable,
}

/// The header every analytic payload starts with: `{status, asOf, n:{…}, reasons:[…]}`.
///
/// Payload structs embed it as their first field with `#[serde(flatten)]`, so its keys come
/// first in the JSON object. `n` maps a sample name to its size (ordered by name, for
/// deterministic output); `reasons` are snake_case codes such as `no_activity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub status: Status,
    pub as_of: DateTime<Utc>,
    pub n: BTreeMap<String, u64>,
    pub reasons: Vec<String>,
}

impl Header {
    /// An `ok` header with no sample sizes and no reasons.
    pub fn new(as_of: DateTime<Utc>) -> Self {
        Header {
            status: Status::Ok,
            as_of,
            n: BTreeMap::new(),
            reasons: Vec::new(),
        }
    }

    /// Records a sample size.
    pub fn set_n(&mut self, name: &str, value: usize) {
        self.n
            .insert(name.to_owned(), u64::try_from(value).unwrap_or(u64::MAX));
    }

    /// Adds a reason code once.
    pub fn add_reason(&mut self, code: &str) {
        if !self.reasons.iter().any(|r| r == code) {
            self.reasons.push(code.to_owned());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// time
// ---------------------------------------------------------------------------------------------

/// `b − a` in (fractional) seconds; microsecond precision, whole seconds beyond ±292,000 years.
pub fn seconds_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    let d = b - a;
    match d.num_microseconds() {
        Some(us) => us as f64 / 1e6,
        None => d.num_seconds() as f64,
    }
}

/// How many whole bins of `bin_secs` seconds lie between `t` and `as_of`: the `j` with
/// `t ∈ (asOf − (j+1)·L, asOf − j·L]`. `None` when `t > as_of` or `bin_secs ≤ 0`.
pub fn bins_back(t: DateTime<Utc>, as_of: DateTime<Utc>, bin_secs: i64) -> Option<u64> {
    if t > as_of || bin_secs <= 0 {
        return None;
    }
    let d = as_of - t;
    // d ≥ 0 and L is whole seconds, so floor(d / L) = floor(floor(d) / L).
    u64::try_from(d.num_seconds() / bin_secs).ok()
}

/// One weekly bin of a window ending at `asOf`: `(start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekBin {
    /// Forward index b = 0…W−1 (W−1 is the bin ending at `asOf`).
    pub index: usize,
    /// Open lower bound `asOf − (W−b)·7d`.
    pub start: DateTime<Utc>,
    /// Closed upper bound `asOf − (W−b−1)·7d`.
    pub end: DateTime<Utc>,
}

/// `as_of − k·7 days`, saturating at the smallest representable time.
fn weeks_before(as_of: DateTime<Utc>, k: u64) -> DateTime<Utc> {
    i64::try_from(k)
        .ok()
        .and_then(|k| k.checked_mul(WEEK_SECS))
        .and_then(TimeDelta::try_seconds)
        .and_then(|d| as_of.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The W weekly bins ending at `as_of`, oldest first.
pub fn week_bins(as_of: DateTime<Utc>, weeks: u32) -> Vec<WeekBin> {
    let w = u64::from(weeks);
    (0..w)
        .map(|b| WeekBin {
            index: usize::try_from(b).unwrap_or(usize::MAX),
            start: weeks_before(as_of, w - b),
            end: weeks_before(as_of, w - b - 1),
        })
        .collect()
}

/// The forward weekly bin index b of `t` in a window of `weeks` bins ending at `as_of`, or
/// `None` when `t` is after `as_of` or before the window.
pub fn week_index(t: DateTime<Utc>, as_of: DateTime<Utc>, weeks: u32) -> Option<usize> {
    let j = bins_back(t, as_of, WEEK_SECS)?;
    let w = u64::from(weeks);
    if j < w {
        usize::try_from(w - 1 - j).ok()
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------
// sessions and time-on-task
// ---------------------------------------------------------------------------------------------

/// The session / time-on-task rule (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionRule {
    /// A gap strictly greater than this ends a session.
    pub max_gap: TimeDelta,
    /// Time-on-task of one event is capped at this many seconds.
    pub cap_secs: f64,
}

impl SessionRule {
    pub fn from_config(cfg: &SessionConfig) -> Self {
        SessionRule {
            max_gap: TimeDelta::try_minutes(i64::from(cfg.gap_minutes)).unwrap_or(TimeDelta::MAX),
            cap_secs: nonneg_finite(cfg.duration_cap_hours) * 3600.0,
        }
    }
}

/// Splits events sorted by timestamp into sessions (index ranges into `events`).
pub fn sessions(events: &[&ActivityEvent], rule: &SessionRule) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, pair) in events.windows(2).enumerate() {
        if let [a, b] = pair
            && b.timestamp - a.timestamp > rule.max_gap
        {
            out.push(start..i + 1);
            start = i + 1;
        }
    }
    if start < events.len() {
        out.push(start..events.len());
    }
    out
}

/// Time-on-task in seconds of each event (same order as `events`, which must be sorted by
/// timestamp and already cut at `asOf`). Always finite and in `\[0, cap\]`.
pub fn time_on_task(events: &[&ActivityEvent], rule: &SessionRule) -> Vec<f64> {
    let mut out = vec![0.0; events.len()];
    for range in sessions(events, rule) {
        for i in range.clone() {
            let (Some(event), Some(slot)) = (events.get(i), out.get_mut(i)) else {
                continue;
            };
            let secs = match event.duration_sec.filter(|d| d.is_finite() && *d >= 0.0) {
                Some(d) => d,
                None if i + 1 < range.end => events
                    .get(i + 1)
                    .map(|next| seconds_between(event.timestamp, next.timestamp).max(0.0))
                    .unwrap_or(0.0),
                None => 0.0,
            };
            *slot = secs.min(rule.cap_secs);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Verb;

    fn ts(s: &str) -> DateTime<Utc> {
        s.parse().expect("valid timestamp")
    }

    fn ev(at: &str, duration: Option<f64>) -> ActivityEvent {
        ActivityEvent {
            user_id: "u".into(),
            verb: Verb::Experienced,
            object_id: "i".into(),
            course_id: None,
            timestamp: ts(at),
            duration_sec: duration,
            score_scaled: None,
            completion: None,
            success: None,
            clicks: None,
        }
    }

    #[test]
    fn header_serialises_with_camel_case_and_snake_case_status() {
        let mut h = Header::new(ts("2025-03-01T00:00:00Z"));
        h.status = Status::InsufficientData;
        h.set_n("events", 3);
        h.add_reason("no_targets");
        h.add_reason("no_targets");
        let json = serde_json::to_value(&h).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"status": "insufficient_data", "asOf": "2025-03-01T00:00:00Z",
                               "n": {"events": 3}, "reasons": ["no_targets"]})
        );
        for (s, word) in [
            (Status::Ok, "ok"),
            (Status::Suppressed, "suppressed"),
            (Status::ModelUnavailable, "model_unavailable"),
        ] {
            assert_eq!(
                serde_json::to_value(s).expect("serialises"),
                serde_json::json!(word)
            );
        }
    }

    #[test]
    fn week_bins_end_at_as_of_and_are_left_open() {
        let as_of = ts("2025-03-29T12:00:00Z");
        let bins = week_bins(as_of, 3);
        assert_eq!(bins.len(), 3);
        assert_eq!(bins[0].start, ts("2025-03-08T12:00:00Z"));
        assert_eq!(bins[2].end, as_of);
        assert_eq!(bins[1].end, bins[2].start);
        // Exactly at asOf: last bin. Exactly on a boundary: the earlier bin.
        assert_eq!(week_index(as_of, as_of, 3), Some(2));
        assert_eq!(week_index(ts("2025-03-22T12:00:00Z"), as_of, 3), Some(1));
        assert_eq!(
            week_index(ts("2025-03-22T12:00:00.001Z"), as_of, 3),
            Some(2)
        );
        // The window start itself is outside (open bound); a hair later is inside.
        assert_eq!(week_index(ts("2025-03-08T12:00:00Z"), as_of, 3), None);
        assert_eq!(week_index(ts("2025-03-08T12:00:01Z"), as_of, 3), Some(0));
        // After asOf: never.
        assert_eq!(week_index(ts("2025-03-29T12:00:01Z"), as_of, 3), None);
    }

    #[test]
    fn bins_back_counts_whole_bins_before_as_of() {
        let as_of = ts("2025-03-29T00:00:00Z");
        assert_eq!(bins_back(as_of, as_of, DAY_SECS), Some(0));
        assert_eq!(
            bins_back(ts("2025-03-28T00:00:00Z"), as_of, DAY_SECS),
            Some(1)
        );
        assert_eq!(
            bins_back(ts("2025-03-27T23:59:59Z"), as_of, DAY_SECS),
            Some(1)
        );
        assert_eq!(
            bins_back(ts("2025-03-26T23:59:59Z"), as_of, DAY_SECS),
            Some(2)
        );
        assert_eq!(bins_back(as_of, as_of, 0), None);
    }

    #[test]
    fn week_bins_saturate_instead_of_overflowing() {
        let bins = week_bins(DateTime::<Utc>::MIN_UTC, 2);
        assert_eq!(bins[0].start, DateTime::<Utc>::MIN_UTC);
        assert!(week_bins(ts("2025-01-01T00:00:00Z"), 0).is_empty());
    }

    #[test]
    fn a_gap_of_more_than_thirty_minutes_starts_a_new_session() {
        let a = ev("2025-01-01T10:00:00Z", None);
        let b = ev("2025-01-01T10:30:00Z", None); // exactly 30 min: same session
        let c = ev("2025-01-01T11:00:01Z", None); // 30 min 1 s: new session
        let events = [&a, &b, &c];
        let rule = SessionRule::from_config(&SessionConfig::default());
        assert_eq!(sessions(&events, &rule), vec![0..2, 2..3]);
        assert!(sessions(&[], &rule).is_empty());
    }

    #[test]
    fn time_on_task_uses_duration_then_gap_then_zero() {
        let a = ev("2025-01-01T10:00:00Z", None); // gap to b: 600 s
        let b = ev("2025-01-01T10:10:00Z", Some(20_000.0)); // capped at 4 h = 14,400 s
        let c = ev("2025-01-01T10:25:00Z", None); // last of session: 0
        let d = ev("2025-01-01T12:00:00Z", Some(90.0)); // own duration even if last
        let e = ev("2025-01-01T12:05:00Z", Some(-5.0)); // invalid duration: gap rule → last → 0
        let events = [&a, &b, &c, &d, &e];
        let rule = SessionRule::from_config(&SessionConfig::default());
        assert_eq!(
            time_on_task(&events, &rule),
            vec![600.0, 14_400.0, 0.0, 90.0, 0.0]
        );
    }

    #[test]
    fn seconds_between_keeps_sub_second_precision() {
        let a = ts("2025-01-01T00:00:00Z");
        let b = ts("2025-01-01T00:00:01.5Z");
        assert_eq!(seconds_between(a, b), 1.5);
        assert_eq!(seconds_between(b, a), -1.5);
    }
}
