//! Learning-gain statistics over matched pre/post pairs on a 0–100 scale
//! (teachingEffectiveness, recommendations).
//!
//! - Hake's class-average normalized gain ⟨g⟩ = (⟨post⟩ − ⟨pre⟩)/(100 − ⟨pre⟩) (Hake 1998);
//! - the mean of individual gains gᵢ = (postᵢ − preᵢ)/(100 − preᵢ) (Bao 2006: it differs
//!   from ⟨g⟩);
//! - Marx & Cummings' (2007) normalized change c;
//! - Cohen's d_av = (mean post − mean pre)/√((s²_pre + s²_post)/2), ddof = 1, which is what
//!   `pingouin.compute_effsize(post, pre, paired=True, eftype="cohen")` returns.
//!
//! Reference: numpy re-implementation and pingouin (tolerance T1). Scores above the scale's
//! ceiling make the gains meaningless; a pair whose gain is undefined is excluded as stated
//! on each function.

use super::{finite, mean, sample_variance};
use serde::Serialize;

/// The top of the percent scale the gains are normalised by.
pub const MAX_SCORE: f64 = 100.0;

/// All gain statistics of a set of matched pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GainSummary {
    /// Number of matched pairs given (all finite).
    pub pairs: usize,
    /// Hake's ⟨g⟩; `None` without pairs or when ⟨pre⟩ ≥ 100.
    pub hake_gain: Option<f64>,
    /// Mean of individual gains over pairs with pre < 100; `None` if there are none.
    pub mean_individual_gain: Option<f64>,
    /// Mean Marx–Cummings normalized change; `None` if every pair was dropped.
    pub normalized_change: Option<f64>,
    /// Number of pairs the normalized change was averaged over.
    pub normalized_change_pairs: usize,
    /// Cohen's d_av; `None` for fewer than 2 pairs or zero variance on both sides.
    pub cohen_d: Option<f64>,
}

fn valid_pairs(pre: &[f64], post: &[f64]) -> bool {
    pre.len() == post.len() && pre.iter().chain(post).all(|v| v.is_finite())
}

/// Hake's class-average normalized gain (⟨post⟩ − ⟨pre⟩)/(100 − ⟨pre⟩).
///
/// `None` when there are no pairs, the lengths differ, a value is not finite, or ⟨pre⟩ ≥ 100
/// (no room to gain).
pub fn hake_gain(pre: &[f64], post: &[f64]) -> Option<f64> {
    if !valid_pairs(pre, post) {
        return None;
    }
    let m_pre = mean(pre)?;
    let m_post = mean(post)?;
    if m_pre >= MAX_SCORE {
        return None;
    }
    finite((m_post - m_pre) / (MAX_SCORE - m_pre))
}

/// Mean of individual normalized gains (postᵢ − preᵢ)/(100 − preᵢ), excluding pairs with
/// preᵢ ≥ 100 (analytics.md §10: "pre = 100: excluded"). `None` if no pair remains.
pub fn mean_individual_gain(pre: &[f64], post: &[f64]) -> Option<f64> {
    if !valid_pairs(pre, post) {
        return None;
    }
    let gains: Vec<f64> = pre
        .iter()
        .zip(post)
        .filter(|(p, _)| **p < MAX_SCORE)
        .filter_map(|(p, q)| finite((q - p) / (MAX_SCORE - p)))
        .collect();
    mean(&gains)
}

/// Marx & Cummings' normalized change of one pair: (post − pre)/(100 − pre) if post > pre,
/// (post − pre)/pre if post < pre, 0 if equal; `None` (pair dropped) when pre = post ∈ {0, 100}
/// or the ratio is undefined (e.g. pre > 100).
pub fn normalized_change(pre: f64, post: f64) -> Option<f64> {
    if !pre.is_finite() || !post.is_finite() {
        return None;
    }
    let c = if post > pre {
        (post - pre) / (MAX_SCORE - pre)
    } else if post < pre {
        (post - pre) / pre
    } else if pre == 0.0 || pre == MAX_SCORE {
        return None;
    } else {
        0.0
    };
    finite(c)
}

/// Mean normalized change over the pairs that are not dropped, with the number of pairs
/// used; `None` if none remains or the lengths differ.
pub fn mean_normalized_change(pre: &[f64], post: &[f64]) -> Option<(f64, usize)> {
    if pre.len() != post.len() {
        return None;
    }
    let c: Vec<f64> = pre
        .iter()
        .zip(post)
        .filter_map(|(p, q)| normalized_change(*p, *q))
        .collect();
    Some((mean(&c)?, c.len()))
}

/// Cohen's d_av = (mean post − mean pre)/√((s²_pre + s²_post)/2), sample variances (ddof = 1).
/// `None` for fewer than 2 pairs, differing lengths, or zero variance on both sides.
pub fn cohen_d_av(pre: &[f64], post: &[f64]) -> Option<f64> {
    if !valid_pairs(pre, post) {
        return None;
    }
    let diff = mean(post)? - mean(pre)?;
    let v = (sample_variance(pre)? + sample_variance(post)?) / 2.0;
    if !(v > 0.0 && v.is_finite()) {
        return None;
    }
    finite(diff / v.sqrt())
}

/// All gain statistics for matched pairs (`pre[i]`, `post[i]`); `None` when the lengths
/// differ or a value is not finite.
pub fn summarize_gains(pre: &[f64], post: &[f64]) -> Option<GainSummary> {
    if !valid_pairs(pre, post) {
        return None;
    }
    let change = mean_normalized_change(pre, post);
    Some(GainSummary {
        pairs: pre.len(),
        hake_gain: hake_gain(pre, post),
        mean_individual_gain: mean_individual_gain(pre, post),
        normalized_change: change.map(|c| c.0),
        normalized_change_pairs: change.map_or(0, |c| c.1),
        cohen_d: cohen_d_av(pre, post),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    const PRE: [f64; 5] = [40.0, 55.0, 60.0, 35.0, 70.0];
    const POST: [f64; 5] = [60.0, 70.0, 65.0, 50.0, 90.0];

    #[test]
    fn golden_learning_gain() {
        assert_t1(hake_gain(&PRE, &POST).unwrap(), 0.3125);
        assert_t1(
            mean_individual_gain(&PRE, &POST).unwrap(),
            0.3378205128205128,
        );
        assert_t1(cohen_d_av(&PRE, &POST).unwrap(), 1.0259783520851542);
        let s = summarize_gains(&PRE, &POST).unwrap();
        assert_eq!(s.pairs, 5);
        // Every post > pre, so c equals the individual gain here.
        assert_t1(s.normalized_change.unwrap(), 0.3378205128205128);
        assert_eq!(s.normalized_change_pairs, 5);
    }

    #[test]
    fn normalized_change_follows_marx_cummings() {
        assert_eq!(normalized_change(40.0, 70.0), Some(0.5));
        assert_eq!(normalized_change(80.0, 60.0), Some(-0.25));
        assert_eq!(normalized_change(50.0, 50.0), Some(0.0));
        assert_eq!(normalized_change(0.0, 0.0), None);
        assert_eq!(normalized_change(100.0, 100.0), None);
        assert_eq!(normalized_change(100.0, 90.0), Some(-0.1));
        assert_eq!(normalized_change(0.0, 30.0), Some(0.3));
    }

    #[test]
    fn ceiling_pairs_are_excluded_or_undefined() {
        assert_eq!(hake_gain(&[100.0, 100.0], &[100.0, 90.0]), None);
        // Only the second pair counts: (80 − 60)/40.
        assert_eq!(
            mean_individual_gain(&[100.0, 60.0], &[100.0, 80.0]),
            Some(0.5)
        );
        assert_eq!(mean_individual_gain(&[100.0], &[90.0]), None);
    }

    #[test]
    fn empty_and_single_pairs() {
        let s = summarize_gains(&[], &[]).unwrap();
        assert_eq!(
            (
                s.hake_gain,
                s.mean_individual_gain,
                s.normalized_change,
                s.cohen_d
            ),
            (None, None, None, None)
        );
        assert_eq!(cohen_d_av(&[50.0], &[60.0]), None);
        assert_eq!(cohen_d_av(&[50.0, 50.0], &[60.0, 60.0]), None);
        assert_eq!(summarize_gains(&[1.0], &[]), None);
    }

    proptest! {
        #[test]
        fn gains_never_return_non_finite(pre in finite_vec(8), post in finite_vec(8)) {
            let n = pre.len().min(post.len());
            if let Some(s) = summarize_gains(&pre[..n], &post[..n]) {
                prop_assert!(ok_opt(s.hake_gain) && ok_opt(s.mean_individual_gain));
                prop_assert!(ok_opt(s.normalized_change) && ok_opt(s.cohen_d));
            }
        }

        #[test]
        fn gains_on_the_percent_scale_are_bounded(pairs in proptest::collection::vec((0.0..=100.0f64, 0.0..=100.0f64), 1..20)) {
            let (pre, post): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
            if let Some((c, _)) = mean_normalized_change(&pre, &post) {
                prop_assert!((-1.0..=1.0).contains(&c));
            }
            if let Some(g) = mean_individual_gain(&pre, &post) {
                prop_assert!(g <= 1.0);
            }
        }
    }
}
