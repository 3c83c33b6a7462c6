//! Percentile rank of a score within a cohort (peerComparison, engagement normalisation).
//!
//! [`percentile_of_score`] matches `scipy.stats.percentileofscore(a, score, kind)` for all four
//! kinds (tolerance T1; the counts are exact).

use serde::{Deserialize, Serialize};

/// How ties with the score are counted (scipy's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum PercentileKind {
    /// Average of `Weak` and `Strict` plus a half-step when the score occurs (scipy's default).
    #[default]
    Rank,
    /// Share of the cohort ≤ score.
    Weak,
    /// Share of the cohort < score.
    Strict,
    /// Average of `Weak` and `Strict`.
    Mean,
}

/// Percentile rank (0–100) of `score` in `cohort`, exactly as
/// `scipy.stats.percentileofscore(cohort, score, kind)`:
/// with L = #(a < score), R = #(a ≤ score), n = len:
/// strict = 100L/n, weak = 100R/n, mean = 50(L+R)/n, rank = 50(L + R + `[L < R]`)/n, with `[L < R]` = 1 when the score
/// occurs in the cohort.
///
/// `None` for an empty cohort, a non-finite score or a non-finite cohort value (scipy would
/// return NaN).
pub fn percentile_of_score(cohort: &[f64], score: f64, kind: PercentileKind) -> Option<f64> {
    if !super::all_finite(cohort) || !score.is_finite() {
        return None;
    }
    let left = cohort.iter().filter(|&&a| a < score).count();
    let right = cohort.iter().filter(|&&a| a <= score).count();
    Some(from_counts(left, right, cohort.len(), kind))
}

/// [`percentile_of_score`] over a cohort already sorted by `f64::total_cmp`, in O(log n):
/// the same counts by binary search, the same value. (Sorted that way, a non-finite value
/// sits at one of the ends, so the ends alone are checked.)
pub fn percentile_of_sorted(sorted: &[f64], score: f64, kind: PercentileKind) -> Option<f64> {
    let ends_finite = matches!((sorted.first(), sorted.last()), (Some(a), Some(b)) if a.is_finite() && b.is_finite());
    if !ends_finite || !score.is_finite() {
        return None;
    }
    let left = sorted.partition_point(|&a| a < score);
    let right = sorted.partition_point(|&a| a <= score);
    Some(from_counts(left, right, sorted.len(), kind))
}

/// The rank from L = #(a < score), R = #(a ≤ score) and n (see [`percentile_of_score`]).
fn from_counts(left: usize, right: usize, n: usize, kind: PercentileKind) -> f64 {
    let n = n as f64;
    match kind {
        PercentileKind::Strict => left as f64 * (100.0 / n),
        PercentileKind::Weak => right as f64 * (100.0 / n),
        PercentileKind::Mean => (left + right) as f64 * (50.0 / n),
        PercentileKind::Rank => (left + right + usize::from(left < right)) as f64 * (50.0 / n),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    const COHORT: [f64; 5] = [50.0, 60.0, 60.0, 70.0, 80.0];

    #[test]
    fn golden_percentile_of_score() {
        use PercentileKind::*;
        assert_t1(percentile_of_score(&COHORT, 60.0, Mean).unwrap(), 40.0);
        assert_t1(percentile_of_score(&COHORT, 60.0, Weak).unwrap(), 60.0);
        assert_t1(percentile_of_score(&COHORT, 60.0, Strict).unwrap(), 20.0);
        assert_t1(percentile_of_score(&COHORT, 60.0, Rank).unwrap(), 50.0);
    }

    #[test]
    fn absent_scores_and_extremes() {
        use PercentileKind::*;
        for kind in [Mean, Weak, Strict, Rank] {
            assert_t1(percentile_of_score(&COHORT, 65.0, kind).unwrap(), 60.0);
            assert_eq!(percentile_of_score(&COHORT, 0.5, kind), Some(0.0));
            assert_eq!(percentile_of_score(&[], 0.5, kind), None);
        }
        assert_eq!(percentile_of_score(&COHORT, 80.0, Weak), Some(100.0));
    }

    #[test]
    fn kind_serialises_in_camel_case() {
        assert_eq!(
            serde_json::to_string(&PercentileKind::Strict).unwrap(),
            "\"strict\""
        );
    }

    proptest! {
        #[test]
        fn percentile_is_finite_and_in_range(x in finite_vec(12), s in any_finite()) {
            for kind in [PercentileKind::Mean, PercentileKind::Weak, PercentileKind::Strict, PercentileKind::Rank] {
                let p = percentile_of_score(&x, s, kind);
                prop_assert!(ok_opt(p));
                // scipy's n·(100/n) can round to 100.00000000000001; the formula is kept identical.
                prop_assert!(p.is_none_or(|p| (0.0..=100.0 + 1e-12).contains(&p)));
            }
        }

        #[test]
        fn the_sorted_cohort_gives_the_same_rank(x in finite_vec(12), pick in any::<prop::sample::Index>(), s in any_finite()) {
            let mut sorted = x.clone();
            sorted.sort_by(f64::total_cmp);
            // Scores from the cohort (ties) and anywhere else.
            let tie = x.get(pick.index(x.len().max(1))).copied();
            for score in [Some(s), tie].into_iter().flatten() {
                for kind in [PercentileKind::Mean, PercentileKind::Weak, PercentileKind::Strict, PercentileKind::Rank] {
                    prop_assert_eq!(percentile_of_sorted(&sorted, score, kind), percentile_of_score(&x, score, kind));
                }
            }
        }
    }
}
