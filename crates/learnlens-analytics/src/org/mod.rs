//! Organisation analytics (`analytics.md` §2, ORGANIZATION): analytics 11–14 for one `orgId`.
//!
//! Each module is one analytic with the usual two entry points,
//! `compute(data, org_id, as_of, cfg)` and `compute_indexed(index, org_id, as_of, cfg)`.
//!
//! Definitions shared by analytics 11–14:
//! - **The population** is the organisation's **active users**: users with this `orgId`,
//!   directory status `active` and `createdAt ≤ asOf`, each id once (first occurrence). The
//!   directory reports the status *now*, so for a past `asOf` a user who has since left is
//!   missing from the figures; there is no history to do better. `analytics.md` states the
//!   denominators of analytics 11–13 as active users, so the numerators (units, hours,
//!   enrollments, attempts) are taken over the same people: a rate never mixes populations.
//! - **Departments** group the population by `User.department`; users without a department
//!   count in the organisation's figures but in no department (`n.noDepartment`).
//!   Departments are sorted by name.
//! - **k-anonymity**: a department with fewer than k users (`samples.k_anonymity`, default 5)
//!   is returned as `{department, suppressed: true}` with every value and its size `null`
//!   (`analytics.md` §1: sample sizes are returned unless k-anonymity suppresses them). The
//!   organisation as a whole is never suppressed: its admins may see their own totals.

pub mod learning_culture;
pub mod learning_velocity;
pub mod performance;
pub mod strategic_alignment;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::common::{Header, SessionRule, time_on_task, week_index};
use crate::config::Config;
use crate::input::{ActivityEvent, DatasetIndex, User, UserStatus};

/// The organisation's active users at `as_of`, sorted by id.
pub(crate) fn members<'a>(
    idx: &DatasetIndex<'a>,
    org_id: &str,
    as_of: DateTime<Utc>,
) -> Vec<&'a User> {
    let mut users: Vec<&'a User> = idx
        .dataset()
        .users
        .iter()
        .filter(|u| u.org_id == org_id && u.status == UserStatus::Active && u.created_at <= as_of)
        .filter(|u| idx.user(&u.id).is_some_and(|first| std::ptr::eq(first, *u)))
        .collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    users
}

/// The users grouped by department (name order); users without a department are left out.
pub(crate) fn departments<'a>(users: &[&'a User]) -> BTreeMap<&'a str, Vec<&'a User>> {
    let mut groups: BTreeMap<&'a str, Vec<&'a User>> = BTreeMap::new();
    for user in users {
        if let Some(d) = user.department.as_deref() {
            groups.entry(d).or_default().push(user);
        }
    }
    groups
}

/// How many users have no department.
pub(crate) fn without_department(users: &[&User]) -> usize {
    users.iter().filter(|u| u.department.is_none()).count()
}

/// Whether a group of `size` users is below k and must be suppressed.
pub(crate) fn suppressed(size: usize, cfg: &Config) -> bool {
    size < usize::try_from(cfg.samples.k_anonymity).unwrap_or(usize::MAX)
}

/// One row per department of `users` ([`departments`], name order): `row(name, None)` for a
/// department below k, which must carry no value, `row(name, Some(members))` otherwise. Sets
/// the header's `departments`, `suppressedDepartments` and `noDepartment`.
pub(crate) fn department_rows<'a, T>(
    users: &[&'a User],
    cfg: &Config,
    header: &mut Header,
    mut row: impl FnMut(&str, Option<&[&'a User]>) -> T,
) -> Vec<T> {
    let groups = departments(users);
    let mut hidden = 0usize;
    let rows = groups
        .iter()
        .map(|(name, members)| {
            if suppressed(members.len(), cfg) {
                hidden += 1;
                row(name, None)
            } else {
                row(name, Some(members))
            }
        })
        .collect();
    header.set_n("departments", groups.len());
    header.set_n("suppressedDepartments", hidden);
    header.set_n("noDepartment", without_department(users));
    rows
}

/// One of a user's events inside a window of weekly bins, with its time-on-task.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimedEvent<'a> {
    pub event: &'a ActivityEvent,
    /// Forward weekly bin index b in the window.
    pub bin: usize,
    /// Time-on-task in hours, by the session rule of [`crate::common`].
    pub hours: f64,
}

/// The user's events in the `weeks` weekly bins ending at `as_of`, each with its
/// time-on-task. The session rule runs over all the user's events ≤ `as_of`, so an event's
/// gap to the next one is measured correctly at the window's start.
pub(crate) fn window_events<'a>(
    idx: &DatasetIndex<'a>,
    user_id: &str,
    as_of: DateTime<Utc>,
    weeks: u32,
    cfg: &Config,
) -> Vec<TimedEvent<'a>> {
    let events = idx.events_until(user_id, as_of);
    let seconds = time_on_task(events, &SessionRule::from_config(&cfg.session));
    events
        .iter()
        .zip(seconds)
        .filter_map(|(event, secs)| {
            Some(TimedEvent {
                event,
                bin: week_index(event.timestamp, as_of, weeks)?,
                hours: secs / 3600.0,
            })
        })
        .collect()
}

/// `a / b` for a count denominator; `None` when `b = 0` or the ratio is not finite.
pub(crate) fn ratio(a: f64, b: usize) -> Option<f64> {
    if b == 0 {
        return None;
    }
    let r = a / b as f64;
    r.is_finite().then_some(r)
}

#[cfg(test)]
mod properties {
    //! Properties of analytics 11–14 on small random datasets: never a panic, never a NaN or
    //! an infinity anywhere in a payload, rates in \[0,1\], indices in \[0,100\], suppressed
    //! departments reveal nothing, and independence from data stamped after `asOf`.

    use chrono::TimeDelta;
    use proptest::prelude::*;

    use crate::config::Config;
    use crate::stats::proportion::Proportion;
    use crate::test_support::{arb_as_of, non_finite_paths};
    use crate::trainer::testdata::{arb_org_dataset, cut_at_as_of};

    use super::{learning_culture, learning_velocity, performance, strategic_alignment};

    const SUBJECTS: [&str; 2] = ["o1", "ghost"];

    fn unit(x: Option<f64>) -> bool {
        x.is_none_or(|v| (0.0..=1.0).contains(&v))
    }

    fn index(x: Option<f64>) -> bool {
        x.is_none_or(|v| (0.0..=100.0).contains(&v))
    }

    fn arb_config() -> impl Strategy<Value = Config> {
        (1u32..7, 1u32..16, 1u32..200, 1u32..16, 0u32..14).prop_map(
            |(k, weeks, period, culture_weeks, active_weeks)| {
                let mut cfg = Config::default();
                cfg.samples.k_anonymity = k;
                cfg.velocity.window_weeks = weeks;
                cfg.org.alignment_window_weeks = weeks;
                cfg.org.performance_period_days = period;
                cfg.culture.window_weeks = culture_weeks;
                cfg.culture.active_learner_weeks = active_weeks;
                cfg
            },
        )
    }

    fn check_velocity(
        v: &learning_velocity::OrgLearningVelocity,
        cfg: &Config,
    ) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(v).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(v)
        );
        prop_assert_eq!(
            v.weekly.len(),
            usize::try_from(cfg.velocity.window_weeks).unwrap_or(0)
        );
        for w in &v.weekly {
            prop_assert!(w.units >= 0.0 && w.active_learners <= w.headcount);
            prop_assert!(w.per_employee.is_none_or(|x| x >= 0.0));
            prop_assert!(w.per_active_learner.is_none_or(|x| x >= 0.0));
        }
        if let Some(t) = &v.trend {
            prop_assert!(t.r2.is_none_or(|r| (0.0..=1.0 + 1e-12).contains(&r)));
            prop_assert!(t.p_value.is_none_or(|p| (0.0..=1.0).contains(&p)));
        }
        for d in &v.departments {
            if d.suppressed {
                prop_assert!(d.headcount.is_none() && d.units.is_none());
                prop_assert!(d.average_per_employee.is_none() && d.current_per_employee.is_none());
            } else {
                prop_assert!(
                    d.headcount
                        .is_some_and(|h| h >= u64::from(cfg.samples.k_anonymity))
                );
            }
        }
        Ok(())
    }

    fn check_alignment(a: &strategic_alignment::StrategicAlignment) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(a).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(a)
        );
        prop_assert!(index(a.alignment_index));
        prop_assert!(
            a.effort_alignment
                .is_none_or(|e| (0.0..=1.0 + 1e-9).contains(&e))
        );
        for g in &a.goals {
            prop_assert!(g.proficient <= g.population);
            let coverage_ok = g.coverage.as_ref().is_none_or(|c: &Proportion| {
                (0.0..=1.0).contains(&c.value) && c.ci.0 <= c.value && c.value <= c.ci.1
            });
            prop_assert!(coverage_ok, "{:?}", g.coverage);
            prop_assert!(unit(g.effort_share) && g.learning_hours >= 0.0);
        }
        Ok(())
    }

    fn check_culture(c: &learning_culture::LearningCulture) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(c).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(c)
        );
        let mut all = vec![&c.indicators];
        all.extend(c.departments.iter().map(|d| &d.indicators));
        for i in all {
            prop_assert!(unit(i.participation_rate) && unit(i.active_learner_ratio));
            prop_assert!(unit(i.voluntary_share) && unit(i.feedback_rate));
            prop_assert!(i.voluntary_hours_per_capita.is_none_or(|h| h >= 0.0));
            prop_assert!(index(i.culture_index));
        }
        for d in &c.departments {
            if d.suppressed {
                prop_assert!(d.users.is_none() && d.indicators.culture_index.is_none());
            }
        }
        Ok(())
    }

    fn check_rate(m: Option<&performance::RateMetric>) -> Result<(), TestCaseError> {
        if let Some(m) = m {
            prop_assert!(unit(m.value) && unit(m.previous));
            prop_assert!(m.delta.is_none_or(|d| (-1.0..=1.0).contains(&d)));
            if let (Some(v), Some((lo, hi))) = (m.value, m.ci) {
                prop_assert!(lo <= v && v <= hi);
            }
        }
        Ok(())
    }

    fn check_performance(p: &performance::OrgPerformance) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(p).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(p)
        );
        let mut all = vec![&p.metrics];
        all.extend(p.departments.iter().map(|d| &d.metrics));
        for m in all {
            for r in [
                &m.completion_rate,
                &m.dropout_rate,
                &m.pass_rate,
                &m.mandatory_compliance,
            ] {
                check_rate(r.as_ref())?;
            }
            if let Some(s) = &m.mean_score {
                prop_assert!(unit(s.value) && unit(s.previous));
            }
            if let Some(g) = &m.hake_gain {
                prop_assert!(g.value.is_none_or(|x| x <= 1.0));
            }
        }
        for d in &p.departments {
            if d.suppressed {
                prop_assert!(d.users.is_none() && d.metrics.completion_rate.is_none());
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

        #[test]
        fn org_analytics_never_panic_and_stay_in_range(
            data in arb_org_dataset(),
            cfg in arb_config(),
            shift in -3i64..3,
        ) {
            let as_of = arb_as_of() + TimeDelta::hours(shift * 37);
            let idx = data.index();
            for org in SUBJECTS {
                check_velocity(&learning_velocity::compute_indexed(&idx, org, as_of, &cfg), &cfg)?;
                check_alignment(&strategic_alignment::compute_indexed(&idx, org, as_of, &cfg))?;
                check_culture(&learning_culture::compute_indexed(&idx, org, as_of, &cfg))?;
                check_performance(&performance::compute_indexed(&idx, org, as_of, &cfg))?;
            }
        }

        #[test]
        fn records_stamped_after_as_of_never_change_an_org_payload(data in arb_org_dataset(), k in 1u32..4) {
            let as_of = arb_as_of();
            let mut cfg = Config::default();
            cfg.samples.k_anonymity = k;
            let cut = cut_at_as_of(&data);
            for o in SUBJECTS {
                prop_assert_eq!(learning_velocity::compute(&data, o, as_of, &cfg), learning_velocity::compute(&cut, o, as_of, &cfg));
                prop_assert_eq!(strategic_alignment::compute(&data, o, as_of, &cfg), strategic_alignment::compute(&cut, o, as_of, &cfg));
                prop_assert_eq!(learning_culture::compute(&data, o, as_of, &cfg), learning_culture::compute(&cut, o, as_of, &cfg));
                prop_assert_eq!(performance::compute(&data, o, as_of, &cfg), performance::compute(&cut, o, as_of, &cfg));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Dataset;
    use crate::test_support::*;

    #[test]
    fn members_are_active_users_of_the_org_created_by_as_of() {
        let mut inactive = user("u2", "o1", None);
        inactive.status = UserStatus::Inactive;
        let mut future = user("u3", "o1", None);
        future.created_at = ts("2025-07-01T00:00:00Z");
        let mut duplicate = user("u1", "o2", None);
        duplicate.name = "shadow".into();
        let data = Dataset {
            users: vec![
                user("u4", "o1", None),
                user("u1", "o1", None),
                inactive,
                future,
                user("u5", "o2", None),
                duplicate,
            ],
            ..Dataset::default()
        };
        let idx = data.index();
        let ids: Vec<&str> = members(&idx, "o1", ts("2025-06-30T00:00:00Z"))
            .iter()
            .map(|u| u.id.as_str())
            .collect();
        assert_eq!(ids, ["u1", "u4"]);
        // The second "u1" (in o2) is a duplicate id: the first occurrence wins.
        assert!(members(&idx, "o2", ts("2025-06-30T00:00:00Z")).len() == 1);
    }

    #[test]
    fn departments_below_k_are_suppressed() {
        let cfg = Config::default();
        assert!(suppressed(4, &cfg));
        assert!(!suppressed(5, &cfg));
        let mut a = user("a", "o", None);
        a.department = None;
        let b = user("b", "o", None);
        let users = [&a, &b];
        let groups = departments(&users);
        assert_eq!(groups.keys().copied().collect::<Vec<_>>(), ["dept"]);
        assert_eq!(without_department(&users), 1);
    }
}
