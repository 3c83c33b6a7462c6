//! Bayesian Knowledge Tracing (Corbett & Anderson 1995) with fixed parameters (masteryProgress).
//!
//! The forward recursion of the standard BKT HMM with forget = 0: before each response the
//! probability of knowing the skill is L; P(correct) = L(1 − S) + (1 − L)G; the posterior
//! after the response is L(1 − S)/pc (correct) or LS/(1 − pc) (wrong); then learning
//! L ← L′ + (1 − L′)T.
//!
//! Reference: pyBKT `Model` with `coef_` set and `fit(..., fixed=True)`; its
//! `state_predictions` are the pre-step L here and `Roster.get_mastery_prob` the final L,
//! identical to full precision (T1). EM-fitted parameters are never compared (T3).

use super::finite;
use serde::{Deserialize, Serialize};

/// pyBKT's `Roster` default mastery threshold.
pub const MASTERY_THRESHOLD: f64 = 0.95;

/// BKT parameters of one skill.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BktParams {
    /// Prior probability of knowing the skill, L0.
    pub l0: f64,
    /// Learning (transit) probability per opportunity, T.
    pub t: f64,
    /// Guess probability, G.
    pub g: f64,
    /// Slip probability, S.
    pub s: f64,
}

impl Default for BktParams {
    /// analytics.md defaults: L0 = 0.2, T = 0.15, G = 0.25, S = 0.1.
    fn default() -> Self {
        Self {
            l0: 0.2,
            t: 0.15,
            g: 0.25,
            s: 0.1,
        }
    }
}

impl BktParams {
    /// Validated parameters: L0, T ∈ [0, 1] and G, S ∈ (0, 1). The open intervals for G and S
    /// guarantee 0 < P(correct) < 1, so every posterior is defined.
    pub fn new(l0: f64, t: f64, g: f64, s: f64) -> Option<Self> {
        let p = Self { l0, t, g, s };
        p.is_valid().then_some(p)
    }

    fn is_valid(&self) -> bool {
        let unit = |v: f64| (0.0..=1.0).contains(&v);
        let open = |v: f64| v > 0.0 && v < 1.0;
        unit(self.l0) && unit(self.t) && open(self.g) && open(self.s)
    }

    /// P(correct) = L(1 − S) + (1 − L)G when the probability of knowing is `l`; `None` for
    /// invalid parameters or `l` outside [0, 1].
    pub fn p_correct(&self, l: f64) -> Option<f64> {
        (self.is_valid() && (0.0..=1.0).contains(&l)).then(|| self.p_correct_unchecked(l))
    }

    /// One step of the recursion: the L before the next response, given the L before this
    /// response and whether it was correct. `None` for invalid parameters or `l` outside
    /// [0, 1].
    pub fn update(&self, l: f64, correct: bool) -> Option<f64> {
        (self.is_valid() && (0.0..=1.0).contains(&l)).then(|| self.update_unchecked(l, correct))
    }

    fn p_correct_unchecked(&self, l: f64) -> f64 {
        l * (1.0 - self.s) + (1.0 - l) * self.g
    }

    /// With valid parameters and l ∈ [0, 1], 0 < pc < 1, so both divisions are defined.
    fn update_unchecked(&self, l: f64, correct: bool) -> f64 {
        let pc = self.p_correct_unchecked(l);
        let posterior = if correct {
            l * (1.0 - self.s) / pc
        } else {
            l * self.s / (1.0 - pc)
        };
        posterior + (1.0 - posterior) * self.t
    }
}

/// One observed response with the model's state before it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BktStep {
    /// P(known) before this response (pyBKT `state_predictions`).
    pub p_known_before: f64,
    /// Predicted P(correct) for this response.
    pub p_correct: f64,
    /// The observed response.
    pub correct: bool,
}

/// The trace of a learner's responses on one skill.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BktTrace {
    /// One entry per response, in order.
    pub steps: Vec<BktStep>,
    /// P(known) after the last response (L0 without responses): the reported pMastery.
    pub p_mastery: f64,
    /// Predicted P(correct) on the next opportunity.
    pub p_correct_next: f64,
    /// `p_mastery ≥` [`MASTERY_THRESHOLD`].
    pub mastered: bool,
    /// Index of the first response after which P(known) reached the threshold, if any.
    pub mastered_at_step: Option<usize>,
}

/// Runs the BKT recursion over time-ordered `observations` (true = correct).
/// `None` when the parameters are invalid (see [`BktParams::new`]).
pub fn bkt_trace(params: &BktParams, observations: &[bool]) -> Option<BktTrace> {
    if !params.is_valid() {
        return None;
    }
    let mut l = params.l0;
    let mut steps = Vec::with_capacity(observations.len());
    let mut mastered_at_step = None;
    for (i, &correct) in observations.iter().enumerate() {
        steps.push(BktStep {
            p_known_before: l,
            p_correct: params.p_correct_unchecked(l),
            correct,
        });
        // Rounding can push L a hair above 1; keep it a probability.
        l = finite(params.update_unchecked(l, correct))?.clamp(0.0, 1.0);
        if mastered_at_step.is_none() && l >= MASTERY_THRESHOLD {
            mastered_at_step = Some(i);
        }
    }
    Some(BktTrace {
        steps,
        p_mastery: l,
        p_correct_next: params.p_correct_unchecked(l),
        mastered: l >= MASTERY_THRESHOLD,
        mastered_at_step,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden_bkt_recursion() {
        let obs = [false, true, true, false, true, true, true];
        let trace = bkt_trace(&BktParams::default(), &obs).unwrap();
        let pre = [0.2, 0.17742, 0.52152, 0.82737, 0.48140, 0.80423, 0.94616];
        let pc = [0.38, 0.36532, 0.58899, 0.78779, 0.56291, 0.77275, 0.86501];
        for (step, (l, p)) in trace.steps.iter().zip(pre.iter().zip(pc)) {
            assert_close(step.p_known_before, *l, 5e-6);
            assert_close(step.p_correct, p, 5e-6);
        }
        assert_t1(trace.p_mastery, 0.9867746380606548);
        assert_t1(trace.p_correct_next, 0.8914035147394256);
        assert!(trace.mastered);
        assert_eq!(trace.mastered_at_step, Some(6));
    }

    #[test]
    fn no_observations_keep_the_prior() {
        let trace = bkt_trace(&BktParams::default(), &[]).unwrap();
        assert_eq!(trace.p_mastery, 0.2);
        assert!(trace.steps.is_empty() && !trace.mastered);
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert_eq!(BktParams::new(0.2, 0.1, 0.0, 0.1), None);
        assert_eq!(BktParams::new(1.2, 0.1, 0.2, 0.1), None);
        assert!(BktParams::new(0.0, 0.0, 0.5, 0.5).is_some());
        assert_eq!(BktParams::default().p_correct(1.5), None);
        assert_eq!(
            BktParams::default().update(0.2, true).map(|l| l > 0.2),
            Some(true)
        );
        let bad = BktParams {
            l0: 0.2,
            t: 0.1,
            g: 1.0,
            s: 0.1,
        };
        assert_eq!(bkt_trace(&bad, &[true]), None);
    }

    proptest! {
        #[test]
        fn bkt_probabilities_stay_in_unit_interval(
            l0 in 0.0..=1.0f64, t in 0.0..=1.0f64, g in 1e-9..(1.0 - 1e-9f64), s in 1e-9..(1.0 - 1e-9f64),
            obs in proptest::collection::vec(any::<bool>(), 0..50)
        ) {
            let trace = bkt_trace(&BktParams { l0, t, g, s }, &obs).unwrap();
            prop_assert!(ok(trace.p_mastery) && (0.0..=1.0).contains(&trace.p_mastery));
            prop_assert!(ok(trace.p_correct_next));
            for step in &trace.steps {
                prop_assert!(ok(step.p_known_before) && ok(step.p_correct));
            }
        }

        #[test]
        fn bkt_never_returns_non_finite(l0 in any_finite(), t in any_finite(), g in any_finite(), s in any_finite()) {
            if let Some(trace) = bkt_trace(&BktParams { l0, t, g, s }, &[true, false, true]) {
                prop_assert!(ok(trace.p_mastery) && ok(trace.p_correct_next));
            }
        }
    }
}
