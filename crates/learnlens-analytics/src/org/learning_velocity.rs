//! Analytic 11, **orgLearningVelocity**: the organisation's weekly learning units, per employee
//! and per active learner, with a trend; per department with k-suppression.
//!
//! Definitions and interpretations (the population is defined in [`crate::org`]):
//! - **Weeks**: the W = `velocity.window_weeks` (12) rolling weekly bins ending at `asOf`, all
//!   of them (an organisation has no "first enrollment"; bins without learning are 0).
//! - **units** U_b = Σ over the active users of their learnerVelocity units in bin b: the
//!   expected hours of content items completed for the first time, from the very helper
//!   learnerVelocity uses ([`crate::learner::velocity`]). A learner's bins before their own
//!   series starts (their first enrollment) count 0 for them, exactly as in their
//!   learnerVelocity, so U_b is the sum of the learners' own weekly series.
//! - **headcount** = the number of active users, the same in every week (the directory gives
//!   today's status, not its history); **activeLearners** = active users with ≥ 1 event (any
//!   verb) stamped in bin b.
//! - perEmployee = U_b / headcount; perActiveLearner = U_b / activeLearners_b; `null` when the
//!   denominator is 0.
//! - `currentPerEmployee` = mean of the last 4 (`velocity.current_bins`) perEmployee values,
//!   as learnerVelocity's `currentVelocity`.
//! - **trend** = `scipy.stats.linregress` of perEmployee on the week position 0…W−1, with
//!   learnerVelocity's `direction` rule (p < 0.05); `null` with fewer than 3 weeks or no
//!   headcount.
//! - **departments**: `{department, suppressed, headcount, units, averagePerEmployee,
//!   currentPerEmployee}` with units the window total, averagePerEmployee = units /
//!   (headcount·W) (the mean weekly perEmployee) and currentPerEmployee as above; suppressed
//!   (all `null`) below k users.
//! - No active user: status `insufficient_data`, reason `no_active_users`.
//!
//! `n`: `users` (headcount), `weeks`, `completions` (first completions inside the learners'
//! series), `departments`, `suppressedDepartments`, `noDepartment`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status, week_bins, week_index};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex, User};
use crate::learner::velocity::{Trend, saturating_add, trend_of, unit_series};
use crate::memo::CohortMemo;
use crate::stats;
use crate::trainer::to_u64;

use super::{department_rows, members, ratio};

/// The orgLearningVelocity payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgLearningVelocity {
    #[serde(flatten)]
    pub header: Header,
    pub weekly: Vec<OrgWeek>,
    pub current_per_employee: Option<f64>,
    pub trend: Option<Trend>,
    pub departments: Vec<DepartmentVelocity>,
}

/// One week of the organisation's series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgWeek {
    /// Open lower bound of the 7-day bin.
    pub week_start: DateTime<Utc>,
    /// Expected hours of first completions.
    pub units: f64,
    pub active_learners: u64,
    pub headcount: u64,
    pub per_employee: Option<f64>,
    pub per_active_learner: Option<f64>,
}

/// One department's velocity; every value `null` when suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepartmentVelocity {
    pub department: String,
    pub suppressed: bool,
    pub headcount: Option<u64>,
    /// Units over the whole window.
    pub units: Option<f64>,
    /// units / (headcount · W).
    pub average_per_employee: Option<f64>,
    pub current_per_employee: Option<f64>,
}

/// Computes orgLearningVelocity for `org_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    org_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> OrgLearningVelocity {
    compute_indexed(&data.index(), org_id, as_of, cfg)
}

/// Computes orgLearningVelocity for `org_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    org_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> OrgLearningVelocity {
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
) -> OrgLearningVelocity {
    let mut header = Header::new(as_of);
    let weeks = cfg.velocity.window_weeks;
    let users = members(idx, org_id, as_of);
    let series = Series::of(idx, &users, as_of, cfg, memo);
    let headcount = users.len();

    let weekly: Vec<OrgWeek> = week_bins(as_of, weeks)
        .iter()
        .zip(series.units.iter().zip(&series.active))
        .map(|(bin, (units, active))| OrgWeek {
            week_start: bin.start,
            units: *units,
            active_learners: to_u64(*active),
            headcount: to_u64(headcount),
            per_employee: ratio(*units, headcount),
            per_active_learner: ratio(*units, *active),
        })
        .collect();
    let per_employee: Option<Vec<f64>> = weekly.iter().map(|w| w.per_employee).collect();
    let current_per_employee = per_employee.as_deref().and_then(|y| current_mean(y, cfg));
    let min_bins = usize::try_from(cfg.velocity.min_trend_bins.max(3)).unwrap_or(usize::MAX);
    let trend = per_employee
        .as_deref()
        .filter(|y| y.len() >= min_bins)
        .and_then(|y| trend_of(y, cfg.stats.significance_level));

    let departments = department_rows(&users, cfg, &mut header, |name, members| {
        let Some(members) = members else {
            return DepartmentVelocity {
                department: name.to_owned(),
                suppressed: true,
                headcount: None,
                units: None,
                average_per_employee: None,
                current_per_employee: None,
            };
        };
        let s = Series::of(idx, members, as_of, cfg, memo);
        let total = s.units.iter().fold(0.0, |a, u| saturating_add(a, *u));
        let per: Option<Vec<f64>> = s.units.iter().map(|u| ratio(*u, members.len())).collect();
        DepartmentVelocity {
            department: name.to_owned(),
            suppressed: false,
            headcount: Some(to_u64(members.len())),
            units: Some(total),
            average_per_employee: per.as_deref().and_then(stats::mean),
            current_per_employee: per.as_deref().and_then(|y| current_mean(y, cfg)),
        }
    });

    if users.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_active_users");
    }
    header.set_n("users", headcount);
    header.set_n("weeks", weekly.len());
    header.set_n("completions", series.completions);

    OrgLearningVelocity {
        header,
        weekly,
        current_per_employee,
        trend,
        departments,
    }
}

/// Mean of the last `velocity.current_bins` values.
fn current_mean(y: &[f64], cfg: &Config) -> Option<f64> {
    let k = usize::try_from(cfg.velocity.current_bins.max(1)).unwrap_or(usize::MAX);
    stats::mean(y.get(y.len().saturating_sub(k)..).unwrap_or(&[]))
}

/// One user's part of the organisation's series (their `velocity` digest part,
/// [`crate::digest`]): their learnerVelocity weekly units over the window and the window's
/// weeks in which they have an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VelocityPart {
    /// Forward index b (in the W-bin window ending at `asOf`) of the learner's first week.
    pub start_bin: usize,
    /// The learner's units per week from `start_bin` on.
    pub units: Vec<f64>,
    /// First completions inside the learner's series.
    pub counted: usize,
    /// Forward indices of the weeks with at least one event (any verb), ascending.
    pub active_weeks: Vec<usize>,
}

/// `user_id`'s [`VelocityPart`] over the `velocity.window_weeks` bins ending at `as_of`.
pub(crate) fn part(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> VelocityPart {
    let weeks = cfg.velocity.window_weeks;
    let learner = unit_series(idx, user_id, as_of, weeks);
    let mut active_weeks: Vec<usize> = idx
        .events_until(user_id, as_of)
        .iter()
        .filter_map(|event| week_index(event.timestamp, as_of, weeks))
        .collect();
    active_weeks.sort_unstable();
    active_weeks.dedup();
    VelocityPart {
        start_bin: learner.start_bin,
        units: learner.weekly.iter().map(|point| point.units).collect(),
        counted: learner.counted,
        active_weeks,
    }
}

/// Weekly units and active learners of a group of users.
struct Series {
    units: Vec<f64>,
    active: Vec<usize>,
    completions: usize,
}

impl Series {
    fn of(
        idx: &DatasetIndex<'_>,
        users: &[&User],
        as_of: DateTime<Utc>,
        cfg: &Config,
        memo: &CohortMemo<'_>,
    ) -> Self {
        let w = usize::try_from(cfg.velocity.window_weeks).unwrap_or(usize::MAX);
        let mut units = vec![0.0_f64; w];
        let mut active = vec![0usize; w];
        let mut completions = 0usize;
        for user in users {
            let digest = memo.digest(&user.id);
            let learner = digest.velocity(idx, as_of, cfg);
            completions += learner.counted;
            for (i, u) in learner.units.iter().enumerate() {
                if let Some(slot) = units.get_mut(learner.start_bin + i) {
                    *slot = saturating_add(*slot, *u);
                }
            }
            for b in &learner.active_weeks {
                if let Some(count) = active.get_mut(*b) {
                    *count += 1;
                }
            }
        }
        Series {
            units,
            active,
            completions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{EnrollmentStatus, UserStatus, Verb};
    use crate::learner::velocity::Direction;
    use crate::test_support::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    /// Six active users of o1 (u1–u5 in `eng`, u6 in `ops`), an inactive one, one of another
    /// org and one created after asOf, all enrolled in c1 since January.
    fn example() -> Dataset {
        let mut users: Vec<_> = (1..=9)
            .map(|i| user(&format!("u{i}"), "o1", None))
            .collect();
        for u in users.iter_mut().take(5) {
            u.department = Some("eng".into());
        }
        users[5].department = Some("ops".into());
        users[6].status = UserStatus::Inactive;
        users[7].org_id = "o2".into();
        users[8].created_at = ts("2025-07-01T00:00:00Z");
        Dataset {
            users,
            content_items: vec![
                item("i1", "c1", 60.0),
                item("i2", "c1", 120.0),
                item("i3", "c1", 30.0),
            ],
            enrollments: (1..=9)
                .map(|i| {
                    enrollment(
                        &format!("e{i}"),
                        &format!("u{i}"),
                        "c1",
                        "2025-01-01T00:00:00Z",
                        EnrollmentStatus::InProgress,
                    )
                })
                .collect(),
            events: vec![
                event("u1", "i1", Verb::Completed, "2025-06-29T00:00:00Z"), // b11: 1 h
                event("u2", "i2", Verb::Completed, "2025-06-28T00:00:00Z"), // b11: 2 h
                event("u6", "i3", Verb::Completed, "2025-06-20T00:00:00Z"), // b10: 0.5 h
                event("u1", "i2", Verb::Launched, "2025-05-15T00:00:00Z"),  // b5: active only
                event("u7", "i1", Verb::Completed, "2025-06-29T00:00:00Z"), // inactive user
                event("u8", "i1", Verb::Completed, "2025-06-29T00:00:00Z"), // other org
                event("u9", "i1", Verb::Completed, "2025-06-29T00:00:00Z"), // created later
            ],
            ..Dataset::default()
        }
    }

    #[test]
    fn weekly_units_are_the_sum_of_the_learners_velocity_units() {
        let v = compute(&example(), "o1", ts(AS_OF), &Config::default());
        assert_eq!(v.header.status, Status::Ok);
        assert_eq!(v.weekly.len(), 12);
        let units: Vec<f64> = v.weekly.iter().map(|w| w.units).collect();
        let mut want = vec![0.0; 12];
        want[10] = 0.5;
        want[11] = 3.0;
        assert_eq!(units, want);
        let active: Vec<u64> = v.weekly.iter().map(|w| w.active_learners).collect();
        assert_eq!(active, [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2]);
        assert!(v.weekly.iter().all(|w| w.headcount == 6));
        assert_eq!(v.header.n.get("completions"), Some(&3));
    }

    #[test]
    fn per_employee_and_per_active_learner_divide_by_their_own_denominators() {
        let v = compute(&example(), "o1", ts(AS_OF), &Config::default());
        close(v.weekly[11].per_employee.expect("per employee"), 0.5);
        close(v.weekly[10].per_employee.expect("per employee"), 0.5 / 6.0);
        assert_eq!(v.weekly[0].per_employee, Some(0.0));
        close(v.weekly[11].per_active_learner.expect("per learner"), 1.5);
        close(v.weekly[10].per_active_learner.expect("per learner"), 0.5);
        assert_eq!(v.weekly[5].per_active_learner, Some(0.0));
        assert_eq!(v.weekly[0].per_active_learner, None);
        close(
            v.current_per_employee.expect("current"),
            (0.5 / 6.0 + 0.5) / 4.0,
        );
    }

    #[test]
    fn the_trend_is_ols_of_per_employee_on_the_week() {
        let v = compute(&example(), "o1", ts(AS_OF), &Config::default());
        let t = v.trend.expect("trend");
        // x̄ = 5.5, Sxx = 143, Sxy = 4.5·(1/12) + 5.5·0.5 = 3.125.
        close(t.slope, 3.125 / 143.0);
        close(t.intercept, (0.5 + 0.5 / 6.0) / 12.0 - 5.5 * 3.125 / 143.0);
        assert_eq!(t.direction, Direction::Steady);
    }

    #[test]
    fn departments_below_k_users_are_suppressed() {
        let v = compute(&example(), "o1", ts(AS_OF), &Config::default());
        assert_eq!(v.departments.len(), 2);
        let eng = &v.departments[0];
        assert_eq!((eng.department.as_str(), eng.suppressed), ("eng", false));
        assert_eq!(eng.headcount, Some(5));
        assert_eq!(eng.units, Some(3.0));
        close(eng.average_per_employee.expect("average"), 3.0 / 60.0);
        close(eng.current_per_employee.expect("current"), 0.6 / 4.0);
        let ops = &v.departments[1];
        assert_eq!(
            ops,
            &DepartmentVelocity {
                department: "ops".into(),
                suppressed: true,
                headcount: None,
                units: None,
                average_per_employee: None,
                current_per_employee: None
            }
        );
        assert_eq!(v.header.n.get("suppressedDepartments"), Some(&1));

        let mut cfg = Config::default();
        cfg.samples.k_anonymity = 6;
        let v = compute(&example(), "o1", ts(AS_OF), &cfg);
        assert!(v.departments.iter().all(|d| d.suppressed));
        let json = serde_json::to_value(&v.departments[0]).expect("serialises");
        assert!(json["headcount"].is_null() && json["units"].is_null());
    }

    #[test]
    fn an_org_without_active_users_is_insufficient_data() {
        let v = compute(&example(), "o9", ts(AS_OF), &Config::default());
        assert_eq!(v.header.status, Status::InsufficientData);
        assert_eq!(v.header.reasons, ["no_active_users"]);
        assert!(v.weekly.iter().all(|w| w.per_employee.is_none()));
        assert_eq!((v.trend.clone(), v.current_per_employee), (None, None));
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let v = compute(&example(), "o1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&v).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&v).expect("serialises");
        for key in ["weekly", "currentPerEmployee", "trend", "departments"] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in [
            "weekStart",
            "units",
            "activeLearners",
            "headcount",
            "perEmployee",
            "perActiveLearner",
        ] {
            assert!(json["weekly"][0].get(key).is_some(), "missing weekly.{key}");
        }
        let back: OrgLearningVelocity = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, v);
    }
}
