//! Bayesian Knowledge Tracing (Corbett & Anderson 1995) with fixed parameters (masteryProgress).
//!
//! The forward recursion of the standard BKT HMM with forget = 0: before each response the
//! probability of knowing the skill is L; P(correct) = L(1 − S) + (1 − L)G; the posterior
//! after the response is L(1 − S)/pc (correct) or LS/(1 − pc) (wrong); then learning
//! L ← L′ + (1 − L′)T.
//!
//! Numerics: the state is carried as the pair (L, U) of P(known) and P(unknown) = 1 − L, each
//! updated from its own terms (the two-state forward recursion of the HMM, as pyBKT computes
//! it): pc = L(1 − S) + UG, 1 − pc = LS + U(1 − G), U′ = U·(G or 1 − G)/(pc or 1 − pc),
//! U ← U′(1 − T). Written on L alone, the recursion loses 1 − L to rounding once L is within
//! ~1e-12 of 1 (a run of correct answers); a following run of wrong answers then multiplies
//! that lost precision back into L. On a 58-response sequence of the synthetic demo data the
//! L-only form ended 8e-9 away from the exact (rational arithmetic) value, beyond T1; the pair
//! form agrees with the exact value and with pyBKT to the last digits.
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
        self.p_correct_of(State::known(l))
    }

    fn update_unchecked(&self, l: f64, correct: bool) -> f64 {
        self.step(State::known(l), correct).known
    }

    /// P(correct) = L(1 − S) + UG.
    fn p_correct_of(&self, state: State) -> f64 {
        state.known * (1.0 - self.s) + state.unknown * self.g
    }

    /// One step of the two-state forward recursion (see the module documentation). With valid
    /// parameters and a state in [0, 1]² summing to 1, the evidence P(response) is > 0, so the
    /// divisions are defined.
    fn step(&self, state: State, correct: bool) -> State {
        let (known, unknown) = if correct {
            (state.known * (1.0 - self.s), state.unknown * self.g)
        } else {
            (state.known * self.s, state.unknown * (1.0 - self.g))
        };
        let evidence = known + unknown;
        let (known, unknown) = (known / evidence, unknown / evidence);
        State {
            known: known + unknown * self.t,
            unknown: unknown * (1.0 - self.t),
        }
    }
}

/// P(known) and P(unknown), each kept to full relative precision.
#[derive(Debug, Clone, Copy)]
struct State {
    known: f64,
    unknown: f64,
}

impl State {
    fn known(l: f64) -> Self {
        State {
            known: l,
            unknown: 1.0 - l,
        }
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
    let mut state = State::known(params.l0);
    let mut steps = Vec::with_capacity(observations.len());
    let mut mastered_at_step = None;
    for (i, &correct) in observations.iter().enumerate() {
        steps.push(BktStep {
            p_known_before: state.known,
            p_correct: params.p_correct_of(state),
            correct,
        });
        let next = params.step(state, correct);
        // Rounding can push a probability a hair outside [0, 1]; keep both probabilities.
        state = State {
            known: finite(next.known)?.clamp(0.0, 1.0),
            unknown: finite(next.unknown)?.clamp(0.0, 1.0),
        };
        if mastered_at_step.is_none() && state.known >= MASTERY_THRESHOLD {
            mastered_at_step = Some(i);
        }
    }
    let l = state.known;
    Some(BktTrace {
        steps,
        p_mastery: l,
        p_correct_next: params.p_correct_of(state),
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

    /// Regression: 58 responses of the synthetic demo data (seed 42, `demo-learner`,
    /// sk-communication) on which the L-only recursion lost 1 − L to rounding near L = 1 and
    /// ended 8.1e-9 away from the exact value; the reference check against pyBKT caught it.
    /// Expected values: the recursion in exact rational arithmetic (Python `fractions`), equal
    /// to pyBKT's `state_predictions` to the last digit.
    #[test]
    fn long_sequences_near_mastery_keep_full_precision() {
        let obs: Vec<bool> = "0101010111111111111111111110000010110111001100011001000100"
            .chars()
            .map(|c| c == '1')
            .collect();
        let trace = bkt_trace(&BktParams::default(), &obs).unwrap();
        assert_t1(trace.p_mastery, 0.9999693588842462);
        assert_t1(trace.p_correct_next, 0.89998008327476);
        // 1 − L to 1e-9 relative, which the L-only form missed by 2.6e-4 relative.
        assert_close(1.0 - trace.p_mastery, 1.0 - 0.9999693588842462, 1e-15);
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
