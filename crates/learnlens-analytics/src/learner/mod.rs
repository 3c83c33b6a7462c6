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
    //! Properties of analytics 1–6 on small random datasets: never a panic, never a NaN or an
    //! infinity anywhere in a payload, values in their documented ranges, and independence from
    //! data stamped after `asOf`.

    use chrono::TimeDelta;
    use proptest::prelude::*;

    use crate::config::Config;
    use crate::input::Dataset;
    use crate::test_support::{
        arb_as_of, arb_dataset, arb_dataset_with_attempts, non_finite_paths,
    };

    use super::{content, engagement, mastery, performance, skill_gap, velocity};

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
        cut.attempts.retain(|a| a.submitted_at <= as_of);
        cut
    }

    fn arb_config_4_to_6() -> impl Strategy<Value = Config> {
        (
            0u32..4,
            0u32..7,
            0u32..7,
            0.5f64..=1.0,
            0u32..30,
            0.05f64..0.5,
        )
            .prop_map(
                |(item_min_n, lift_min_n, skill_min_n, threshold, window, fraction)| {
                    let mut cfg = Config::default();
                    cfg.samples.item_statistics_min_n = item_min_n;
                    cfg.content.lift_min_n = lift_min_n;
                    cfg.content.post_window_days = window;
                    cfg.content.extreme_group_fraction = fraction;
                    cfg.performance.skill_min_n = skill_min_n;
                    cfg.mastery.mastery_threshold = threshold;
                    cfg
                },
            )
    }

    /// The same dataset with every event and attempt moved ten times closer to `asOf` (same
    /// order, same side of `asOf`), so that completions and later responses fall inside the
    /// 14-day windows of contentEffectiveness far more often.
    fn dense(mut data: Dataset) -> Dataset {
        let as_of = arb_as_of();
        let squeeze = |t: chrono::DateTime<chrono::Utc>| as_of - (as_of - t) / 10;
        data.events
            .iter_mut()
            .for_each(|e| e.timestamp = squeeze(e.timestamp));
        data.attempts
            .iter_mut()
            .for_each(|a| a.submitted_at = squeeze(a.submitted_at));
        data
    }

    fn unit(x: f64) -> bool {
        (0.0..=1.0).contains(&x)
    }

    fn check_mastery(
        m: &mastery::MasteryProgress,
        as_of: chrono::DateTime<chrono::Utc>,
        cfg: &Config,
    ) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(m).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(m)
        );
        prop_assert!(m.skills.windows(2).all(|w| w[0].skill_id < w[1].skill_id));
        prop_assert_eq!(m.tracked_skills, m.skills.len() as u64);
        prop_assert_eq!(
            m.mastered_count,
            m.skills.iter().filter(|s| s.mastered).count() as u64
        );
        for s in &m.skills {
            prop_assert!(s.p_mastery.is_some_and(unit));
            prop_assert!(s.p_correct_next.is_some_and(unit));
            let p = s.p_mastery.unwrap_or(f64::NAN);
            prop_assert_eq!(s.mastered, p >= cfg.mastery.mastery_threshold);
            if s.observations == 0 {
                prop_assert_eq!(s.p_mastery, Some(cfg.mastery.bkt.prior));
                prop_assert!(s.mastered_at.is_none());
            }
            if let Some(at) = s.mastered_at {
                prop_assert!(s.mastered && at <= as_of);
            }
        }
        prop_assert!(m.mastery_ratio.is_none_or(unit));
        prop_assert_eq!(m.mastery_ratio.is_none(), m.skills.is_empty());
        prop_assert!(m.weighted_mastery.is_none_or(unit));
        prop_assert!(m.course_progress.is_none_or(unit));
        Ok(())
    }

    fn check_rate(r: &Option<performance::RateWithCi>) -> Result<(), TestCaseError> {
        if let Some(r) = r {
            prop_assert!(unit(r.value));
            let ci = r.ci.unwrap_or([f64::NAN; 2]);
            prop_assert!(unit(ci[0]) && unit(ci[1]));
            prop_assert!(ci[0] <= r.value + 1e-12 && r.value <= ci[1] + 1e-12);
        }
        Ok(())
    }

    fn check_performance(
        p: &performance::PerformanceAnalytics,
        cfg: &Config,
    ) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(p).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(p)
        );
        for v in [
            p.mean_first_attempt_score,
            p.mean_best_score,
            p.median_score,
        ] {
            prop_assert!(v.is_none_or(unit));
        }
        if let (Some(first), Some(best)) = (p.mean_first_attempt_score, p.mean_best_score) {
            prop_assert!(first <= best + 1e-12);
        }
        prop_assert!(p.sd_score.is_none_or(|sd| sd >= 0.0));
        prop_assert!(p.assessments <= p.attempts);
        prop_assert_eq!(
            Some(&(p.attempts + p.invalid_attempts)),
            p.header.n.get("attemptsTotal")
        );
        if p.assessments <= 1 {
            prop_assert!(p.sd_score.is_none() && p.trend.is_none());
        }
        if p.attempts == 0 {
            prop_assert!(
                p.mean_first_attempt_score.is_none() && p.first_attempt_pass_rate.is_none()
            );
        }
        check_rate(&p.first_attempt_pass_rate)?;
        check_rate(&p.eventual_pass_rate)?;
        if let (Some(first), Some(eventual)) = (&p.first_attempt_pass_rate, &p.eventual_pass_rate) {
            prop_assert!(first.value <= eventual.value);
        }
        prop_assert!(p.mean_attempts_to_pass.is_none_or(|m| m >= 1.0));
        if let Some(t) = &p.trend {
            prop_assert!(t.p_value.is_none_or(unit));
        }
        let min_n = u64::from(cfg.performance.skill_min_n.max(1));
        for s in &p.skills {
            prop_assert!(s.n >= 1);
            prop_assert_eq!(s.accuracy.is_some(), s.n >= min_n);
            prop_assert!(s.accuracy.is_none_or(unit));
            prop_assert_eq!(s.ci.is_some(), s.accuracy.is_some());
        }
        let with_ci = p.skills.iter().filter(|s| s.ci.is_some()).count();
        prop_assert!(p.strongest.len() <= 3.min(with_ci / 2));
        prop_assert!(p.weakest.len() <= 3.min(with_ci / 2));
        prop_assert!(p.strongest.iter().all(|s| !p.weakest.contains(s)));
        Ok(())
    }

    fn check_content(c: &content::ContentEffectiveness, cfg: &Config) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(c).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(c)
        );
        prop_assert!(
            c.by_type
                .windows(2)
                .all(|w| w[0].content_type < w[1].content_type)
        );
        for t in &c.by_type {
            prop_assert!(t.completed <= t.started && t.started >= 1);
            prop_assert!(t.completion_rate.is_some_and(unit));
            prop_assert!(t.median_time_ratio.is_none_or(|r| r >= 0.0));
            prop_assert!(t.post_accuracy.is_none_or(unit));
            prop_assert_eq!(t.post_accuracy.is_some(), t.n_responses > 0);
            prop_assert!(t.lift.is_none_or(|l| (-1.0..=1.0).contains(&l)));
            if t.lift.is_some() {
                prop_assert!(t.n_responses >= u64::from(cfg.content.lift_min_n.max(1)));
            }
        }
        let best = c
            .by_type
            .iter()
            .filter_map(|t| t.lift)
            .fold(None, |m: Option<f64>, l| Some(m.map_or(l, |m| m.max(l))));
        match c.best_type {
            None => prop_assert!(best.is_none()),
            Some(kind) => {
                let t = c.by_type.iter().find(|t| t.content_type == kind);
                prop_assert_eq!(t.and_then(|t| t.lift), best);
            }
        }
        prop_assert!(
            c.items
                .windows(2)
                .all(|w| w[0].content_item_id < w[1].content_item_id)
        );
        for item in &c.items {
            prop_assert!(item.time_ratio.is_none_or(|r| r >= 0.0));
            if item.time_ratio.is_some() {
                prop_assert!(item.completed);
            }
            for s in item.item_stats.iter().flatten() {
                prop_assert!(unit(s.difficulty));
                prop_assert!(s.point_biserial.is_none_or(|r| (-1.0..=1.0).contains(&r)));
                prop_assert!(
                    s.discrimination_index
                        .is_none_or(|d| (-1.0..=1.0).contains(&d))
                );
                prop_assert!(s.n_examinees >= u64::from(cfg.samples.item_statistics_min_n.max(1)));
                let reject = s.flags.contains(&content::ItemFlag::Reject);
                prop_assert_eq!(reject, s.point_biserial.is_some_and(|r| r < 0.0));
            }
        }
        Ok(())
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
        fn analytics_4_to_6_never_panic_nor_produce_non_finite_numbers(
            data in arb_dataset_with_attempts(),
            cfg in arb_config_4_to_6(),
            shift in -3i64..3,
            squeeze in any::<bool>(),
        ) {
            let data = if squeeze { dense(data) } else { data };
            let as_of = arb_as_of() + TimeDelta::hours(shift * 37);
            let idx = data.index();
            for user in SUBJECTS {
                check_mastery(&mastery::compute_indexed(&idx, user, as_of, &cfg), as_of, &cfg)?;
                check_performance(&performance::compute_indexed(&idx, user, as_of, &cfg), &cfg)?;
                check_content(&content::compute_indexed(&idx, user, as_of, &cfg), &cfg)?;
                check_skill_gap(&skill_gap::compute_indexed(&idx, user, as_of, &cfg))?;
            }
        }

        #[test]
        fn skill_gap_p_mastery_is_mastery_progress_for_observed_skills(
            data in arb_dataset_with_attempts(),
        ) {
            let as_of = arb_as_of();
            let cfg = Config::default();
            for user in SUBJECTS {
                let gaps = skill_gap::compute(&data, user, as_of, &cfg);
                let m = mastery::compute(&data, user, as_of, &cfg);
                for s in &gaps.skills {
                    // Every target skill is tracked by masteryProgress.
                    let row = m.skills.iter().find(|r| r.skill_id == s.skill_id);
                    prop_assert!(row.is_some());
                    let row = row.map(|r| (r.observations, r.p_mastery));
                    let want = row.and_then(|(n, p)| if n > 0 { p } else { None });
                    prop_assert_eq!(s.p_mastery, want);
                }
            }
        }

        #[test]
        fn records_stamped_after_as_of_never_change_analytics_4_to_6(
            data in arb_dataset_with_attempts(),
            squeeze in any::<bool>(),
        ) {
            let data = if squeeze { dense(data) } else { data };
            let as_of = arb_as_of();
            let mut cfg = Config::default();
            cfg.samples.item_statistics_min_n = 1;
            cfg.content.lift_min_n = 1;
            cfg.performance.skill_min_n = 1;
            let cut = cut_at_as_of(&data);
            for user in SUBJECTS {
                prop_assert_eq!(mastery::compute(&data, user, as_of, &cfg), mastery::compute(&cut, user, as_of, &cfg));
                prop_assert_eq!(performance::compute(&data, user, as_of, &cfg), performance::compute(&cut, user, as_of, &cfg));
                prop_assert_eq!(content::compute(&data, user, as_of, &cfg), content::compute(&cut, user, as_of, &cfg));
                prop_assert_eq!(skill_gap::compute(&data, user, as_of, &cfg), skill_gap::compute(&cut, user, as_of, &cfg));
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

        #[test]
        fn indexed_and_plain_entry_points_of_4_to_6_agree(data in arb_dataset_with_attempts()) {
            let as_of = arb_as_of();
            let cfg = Config::default();
            let idx = data.index();
            prop_assert_eq!(mastery::compute(&data, "u1", as_of, &cfg), mastery::compute_indexed(&idx, "u1", as_of, &cfg));
            prop_assert_eq!(performance::compute(&data, "u1", as_of, &cfg), performance::compute_indexed(&idx, "u1", as_of, &cfg));
            prop_assert_eq!(content::compute(&data, "u1", as_of, &cfg), content::compute_indexed(&idx, "u1", as_of, &cfg));
        }
    }
}
