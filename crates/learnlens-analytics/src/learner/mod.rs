//! Learner analytics (`analytics.md` §2, LEARNER).
//!
//! Each module is one analytic with the same two entry points:
//! - `compute(data: &Dataset, user_id, as_of, cfg)`: indexes `data`, then computes;
//! - `compute_indexed(index: &DatasetIndex, user_id, as_of, cfg)`: for batches, which build the
//!   index once per organisation and reuse it for every learner.
//!
//! Both are pure: the result depends only on the data stamped ≤ `as_of`, `as_of` itself and the
//! configuration.

pub mod content;
pub mod engagement;
pub mod mastery;
pub mod performance;
mod responses;
pub mod skill_gap;
pub mod velocity;

#[cfg(test)]
mod properties {
    //! Properties of analytics 1–3 on small random datasets: never a panic, never a NaN or an
    //! infinity anywhere in a payload, values in their documented ranges, and independence from
    //! data stamped after `asOf`.

    use chrono::TimeDelta;
    use proptest::prelude::*;

    use crate::config::Config;
    use crate::input::Dataset;
    use crate::test_support::{arb_as_of, arb_dataset, non_finite_paths};

    use super::{engagement, skill_gap, velocity};

    const SUBJECTS: [&str; 4] = ["u0", "u1", "u2", "ghost"];

    fn arb_config() -> impl Strategy<Value = Config> {
        (1u32..16, 1u32..40, 1u32..6, 0u32..90).prop_map(|(weeks, days, current, gap)| {
            let mut cfg = Config::default();
            cfg.velocity.window_weeks = weeks;
            cfg.velocity.current_bins = current;
            cfg.engagement.window_days = days;
            cfg.session.gap_minutes = gap;
            cfg
        })
    }

    fn check_velocity(v: &velocity::LearnerVelocity, cfg: &Config) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(v).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(v)
        );
        prop_assert!(
            v.weekly.len() <= usize::try_from(cfg.velocity.window_weeks).unwrap_or(usize::MAX)
        );
        prop_assert!(
            v.weekly
                .windows(2)
                .all(|w| w[0].week_start < w[1].week_start)
        );
        prop_assert!(v.weekly.iter().all(|w| w.units >= 0.0));
        let items: u64 = v.weekly.iter().map(|w| w.items_completed).sum();
        prop_assert_eq!(Some(&items), v.header.n.get("completions"));
        prop_assert!(v.current_velocity.is_none_or(|x| x >= 0.0));
        prop_assert!(v.average_velocity.is_none_or(|x| x >= 0.0));
        if v.weekly.len() < 3 {
            prop_assert!(v.trend.is_none());
        }
        if let Some(t) = &v.trend {
            prop_assert!(t.r2.is_none_or(|r| (0.0..=1.0 + 1e-12).contains(&r)));
            prop_assert!(t.p_value.is_none_or(|p| (0.0..=1.0).contains(&p)));
        }
        for p in &v.projections {
            prop_assert!(p.remaining_hours.is_none_or(|h| h >= 0.0));
            prop_assert!(p.weeks_to_complete.is_none_or(|w| w >= 0.0));
            if v.current_velocity.is_none_or(|c| c == 0.0) {
                prop_assert!(p.weeks_to_complete.is_none());
            }
        }
        Ok(())
    }

    fn check_skill_gap(m: &skill_gap::SkillGapMatrix) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(m).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(m)
        );
        prop_assert!(m.readiness.is_none_or(|r| (0.0..=1.0).contains(&r)));
        for s in &m.skills {
            prop_assert!(s.target > 0.0);
            prop_assert!(s.gap >= 0.0 && s.gap <= s.target);
            prop_assert!((0.0..=1.0).contains(&s.normalized_gap));
            prop_assert!(s.importance >= 0.0 && s.priority >= 0.0);
            prop_assert!(s.p_mastery.is_none_or(|p| (0.0..=1.0).contains(&p)));
            prop_assert_eq!(
                s.current.is_none(),
                s.status == skill_gap::GapStatus::Unassessed
            );
        }
        prop_assert!(m.skills.windows(2).all(|w| w[0].priority >= w[1].priority));
        prop_assert!(m.top_gaps.len() <= 3);
        let expected: Vec<&str> = m
            .skills
            .iter()
            .filter(|s| s.gap > 0.0)
            .take(3)
            .map(|s| s.skill_id.as_str())
            .collect();
        prop_assert_eq!(
            m.top_gaps.iter().map(String::as_str).collect::<Vec<_>>(),
            expected
        );
        prop_assert_eq!(
            m.skills.is_empty(),
            m.header.status == crate::common::Status::InsufficientData
        );
        Ok(())
    }

    fn check_engagement(e: &engagement::EngagementScore) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(e).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(e)
        );
        prop_assert!((0.0..=100.0).contains(&e.score));
        let c = &e.components;
        for value in [
            c.recency.value,
            c.frequency.value,
            c.time_on_task.value,
            c.consistency.value,
        ] {
            prop_assert!((0.0..=1.0).contains(&value));
        }
        prop_assert!(e.window_days >= 1);
        prop_assert!(c.frequency.active_days <= e.window_days);
        prop_assert!(c.consistency.active_weeks <= e.window_days.div_ceil(7));
        prop_assert!(c.time_on_task.hours >= 0.0);
        prop_assert_eq!(
            e.last_activity_at.is_none(),
            c.recency.days_since_last.is_none()
        );
        if e.last_activity_at.is_none() {
            prop_assert_eq!(e.score, 0.0);
        }
        Ok(())
    }

    /// The same dataset with every timestamped record moved after `asOf` removed.
    fn cut_at_as_of(data: &Dataset) -> Dataset {
        let as_of = arb_as_of();
        let mut cut = data.clone();
        cut.events.retain(|e| e.timestamp <= as_of);
        cut.enrollments.retain(|e| e.enrolled_at <= as_of);
        cut.user_skills.retain(|s| s.updated_at <= as_of);
        cut
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn learner_analytics_never_panic_nor_produce_non_finite_numbers(
            data in arb_dataset(),
            cfg in arb_config(),
            shift in -3i64..3,
        ) {
            let as_of = arb_as_of() + TimeDelta::hours(shift * 37);
            let idx = data.index();
            for user in SUBJECTS {
                check_velocity(&velocity::compute_indexed(&idx, user, as_of, &cfg), &cfg)?;
                check_skill_gap(&skill_gap::compute_indexed(&idx, user, as_of, &cfg))?;
                check_engagement(&engagement::compute_indexed(&idx, user, as_of, &cfg))?;
            }
        }

        #[test]
        fn records_stamped_after_as_of_never_change_a_payload(data in arb_dataset()) {
            let as_of = arb_as_of();
            let cfg = Config::default();
            let cut = cut_at_as_of(&data);
            for user in SUBJECTS {
                prop_assert_eq!(velocity::compute(&data, user, as_of, &cfg), velocity::compute(&cut, user, as_of, &cfg));
                prop_assert_eq!(skill_gap::compute(&data, user, as_of, &cfg), skill_gap::compute(&cut, user, as_of, &cfg));
                prop_assert_eq!(engagement::compute(&data, user, as_of, &cfg), engagement::compute(&cut, user, as_of, &cfg));
            }
        }

        #[test]
        fn indexed_and_plain_entry_points_agree(data in arb_dataset()) {
            let as_of = arb_as_of();
            let cfg = Config::default();
            let idx = data.index();
            prop_assert_eq!(velocity::compute(&data, "u1", as_of, &cfg), velocity::compute_indexed(&idx, "u1", as_of, &cfg));
            prop_assert_eq!(engagement::compute(&data, "u1", as_of, &cfg), engagement::compute_indexed(&idx, "u1", as_of, &cfg));
            prop_assert_eq!(skill_gap::compute(&data, "u1", as_of, &cfg), skill_gap::compute_indexed(&idx, "u1", as_of, &cfg));
        }
    }
}
