//! Predictive analytics (`analytics.md` §2, PREDICTIVE): dropOffRisk (17), with its features,
//! training and evaluation, performanceForecast (18) and recommendations (19).
//!
//! Entry points follow the learner analytics: `compute(data, user_id, as_of, …, cfg)` indexes
//! the dataset, `compute_indexed(index, user_id, as_of, …, cfg)` reuses a prebuilt index.
//! dropOffRisk also takes the trained model (`None` gives `model_unavailable`); training
//! ([`drop_off::train`]) is itself a pure function of the data stamped ≤ its `asOf`.

pub mod drop_off;
pub mod features;
pub mod forecast;
pub mod recommendations;

#[cfg(test)]
mod properties {
    //! Properties of analytics 17–18 and of the drop-off training path on small random
    //! datasets: never a panic, never a NaN or an infinity anywhere in a payload or a model,
    //! and independence from data stamped after `asOf`.

    use chrono::{DateTime, TimeDelta, Utc};
    use proptest::prelude::*;

    use crate::common::{DAY_SECS, Status};
    use crate::config::Config;
    use crate::input::{Assessment, AssessmentKind, Attempt, Dataset};
    use crate::test_support::{arb_as_of, arb_dataset, non_finite_paths};

    use super::drop_off::{self, DropOffModel};
    use super::features::{self, EnrollmentTrace, FEATURE_NAMES};
    use super::forecast;

    const SUBJECTS: [&str; 4] = ["u0", "u1", "u2", "ghost"];

    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        let base = arb_as_of();
        (-200 * DAY_SECS..10 * DAY_SECS).prop_map(move |s| base + TimeDelta::seconds(s))
    }

    fn measure(ordinary: f64) -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => 0.0..ordinary,
            1 => Just(0.0),
            1 => prop_oneof![Just(-1.0), Just(f64::MAX), Just(f64::NAN), Just(f64::INFINITY)],
        ]
    }

    fn arb_attempt() -> impl Strategy<Value = Attempt> {
        (
            proptest::sample::select(vec!["u0", "u1", "u2"]),
            proptest::sample::select(vec!["a0", "a1", "a2", "a3", "a9"]),
            1u32..4,
            time(),
            measure(120.0),
        )
            .prop_map(|(user, assessment, no, at, score)| Attempt {
                id: format!("t-{user}-{assessment}-{no}"),
                assessment_id: assessment.into(),
                user_id: user.into(),
                attempt_no: no,
                submitted_at: at,
                score,
                passed: false,
                responses: vec![],
            })
    }

    /// [`arb_dataset`] plus assessments of c0/c1 and attempts on them.
    fn arb_data() -> impl Strategy<Value = Dataset> {
        (
            arb_dataset(),
            proptest::collection::vec(measure(100.0), 4),
            proptest::collection::vec(arb_attempt(), 0..14),
        )
            .prop_map(|(mut data, max_scores, attempts)| {
                data.assessments = max_scores
                    .into_iter()
                    .enumerate()
                    .map(|(i, max)| Assessment {
                        id: format!("a{i}"),
                        course_id: if i % 2 == 0 { "c0" } else { "c1" }.into(),
                        content_item_id: None,
                        kind: AssessmentKind::Quiz,
                        max_score: max,
                        pass_score: 0.0,
                        items: vec![],
                    })
                    .collect();
                data.attempts = attempts;
                data
            })
    }

    /// A hand-made usable model.
    fn model() -> DropOffModel {
        DropOffModel {
            version: "v".into(),
            features: FEATURE_NAMES.iter().map(|s| (*s).to_owned()).collect(),
            intercept: -0.5,
            coefficients: vec![0.4, -0.9, -0.3, 0.8, -0.6, 0.2],
            means: vec![12.0, 0.3, 0.8, 0.1, 0.5, 0.5],
            scales: vec![9.0, 0.25, 0.6, 0.3, 0.2, 0.5],
            trained_as_of: arb_as_of(),
            window_start: arb_as_of(),
            window_end: arb_as_of(),
            snapshot_days: vec![7],
            n: 10,
            n_positive: 3,
            n_enrollments: 10,
            n_users: 5,
            base_rate: 0.3,
            in_sample_auc: None,
            in_sample_brier: None,
            l2_c: 1.0,
            converged: true,
        }
    }

    /// The same dataset with every record stamped after `asOf` removed.
    fn cut_at_as_of(data: &Dataset, as_of: DateTime<Utc>) -> Dataset {
        let mut cut = data.clone();
        cut.events.retain(|e| e.timestamp <= as_of);
        cut.enrollments.retain(|e| e.enrolled_at <= as_of);
        cut.user_skills.retain(|s| s.updated_at <= as_of);
        cut.attempts.retain(|a| a.submitted_at <= as_of);
        cut
    }

    fn check_forecast(f: &forecast::PerformanceForecast) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(f).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(f)
        );
        let n = f.header.n.get("observations").copied().unwrap_or(0);
        prop_assert_eq!(n == 0, f.forecasts.is_none());
        prop_assert_eq!(n == 0, f.header.status == Status::InsufficientData);
        for p in f.forecasts.iter().flatten() {
            prop_assert!((0.0..=1.0).contains(&p.value));
            if let (Some(lo), Some(hi)) = (p.lower95, p.upper95) {
                prop_assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
                prop_assert!(lo <= p.value && p.value <= hi);
            }
        }
        Ok(())
    }

    fn check_risk(r: &drop_off::DropOffRisk) -> Result<(), TestCaseError> {
        prop_assert!(
            non_finite_paths(r).is_empty(),
            "non-finite: {:?}",
            non_finite_paths(r)
        );
        for e in &r.enrollments {
            if let (Some(risk), Some(logit), Some(base)) = (e.risk, e.logit, e.base) {
                prop_assert!((0.0..=1.0).contains(&risk));
                let sum: f64 = e.contributions.iter().map(|c| c.contribution).sum();
                prop_assert_eq!(logit, base + sum);
                prop_assert!(e.reasons.len() <= 3);
            } else {
                prop_assert!(e.reasons == ["too_early"] || e.reasons == ["score_failed"]);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn predictive_analytics_never_panic_nor_produce_non_finite_numbers(
            data in arb_data(),
            shift in -3i64..3,
            horizon in 0u32..5,
            holt_min in 0u32..7,
        ) {
            let as_of = arb_as_of() + TimeDelta::hours(shift * 37);
            let mut cfg = Config::default();
            cfg.forecast.horizon = horizon;
            cfg.forecast.holt_min_n = holt_min;
            let idx = data.index();
            let m = model();
            for user in SUBJECTS {
                check_forecast(&forecast::compute_indexed(&idx, user, as_of, &cfg))?;
                check_risk(&drop_off::compute_indexed(&idx, user, as_of, Some(&m), &cfg))?;
                let none = drop_off::compute_indexed(&idx, user, as_of, None, &cfg);
                prop_assert_eq!(none.header.status, Status::ModelUnavailable);
                prop_assert!(none.enrollments.is_empty());
            }
            if let Ok(trained) = drop_off::train(&data, as_of, &cfg) {
                prop_assert!(non_finite_paths(&trained).is_empty());
                prop_assert!(trained.is_usable());
            }
        }

        #[test]
        fn records_stamped_after_as_of_never_change_a_payload(data in arb_data()) {
            let as_of = arb_as_of();
            let cfg = Config::default();
            let cut = cut_at_as_of(&data, as_of);
            let m = model();
            for user in SUBJECTS {
                prop_assert_eq!(
                    forecast::compute(&data, user, as_of, &cfg),
                    forecast::compute(&cut, user, as_of, &cfg)
                );
                prop_assert_eq!(
                    drop_off::compute(&data, user, as_of, Some(&m), &cfg),
                    drop_off::compute(&cut, user, as_of, Some(&m), &cfg)
                );
            }
            let days = features::snapshot_days(&cfg);
            prop_assert_eq!(
                features::training_set(&data, as_of, &days, &cfg),
                features::training_set(&cut, as_of, &days, &cfg)
            );
        }

        #[test]
        fn features_at_an_instant_ignore_everything_stamped_after_it(
            data in arb_data(),
            back in 0i64..(120 * DAY_SECS),
        ) {
            // Seen from a trace read up to asOf, or from one read only up to t: the same row.
            let as_of = arb_as_of();
            let t = as_of - TimeDelta::seconds(back);
            let cfg = Config::default();
            let idx = data.index();
            for e in &data.enrollments {
                let trace = EnrollmentTrace::new(&idx, e, as_of, &cfg);
                let row = trace.features_at(t);
                prop_assert_eq!(&row, &features::features_at(&idx, e, t, &cfg));
                prop_assert!(non_finite_paths(&row).is_empty());
                prop_assert!((0.0..=60.0).contains(&row.values[0]));
                prop_assert!((0.0..=1.0).contains(&row.values[1]));
                prop_assert!((-1.0..=1.0).contains(&row.values[features::PACE_GAP]));
            }
        }
    }
}
