//! Distribution shape: the Gini coefficient and fixed-edge histograms (studentDistribution).
//!
//! [`gini`] matches PySAL `inequality.gini.Gini(x).g` (population form,
//! G = 2Σ i·x₍ᵢ₎/(nΣx) − (n+1)/n with x₍ᵢ₎ ascending, i = 1..n). [`histogram`] matches
//! `numpy.histogram(x, bins=edges)` and [`uniform_edges`] `numpy.linspace(lo, hi, bins + 1)`
//! (tolerance T0 for counts, T1 for values).

use super::finite;
use serde::{Deserialize, Serialize};

/// Population Gini coefficient of `x` (PySAL `Gini(x).g`).
///
/// 0 for n = 1 or equal values; `None` for an empty slice, a non-finite value, Σx = 0 (the
/// coefficient is undefined) or an overflow. Negative values are accepted as PySAL accepts
/// them (the result may then leave [0, 1]).
pub fn gini(x: &[f64]) -> Option<f64> {
    if !super::all_finite(x) {
        return None;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len() as f64;
    let sum: f64 = v.iter().sum();
    if sum == 0.0 || !sum.is_finite() {
        return None;
    }
    // PySAL: (Σ 2i·x₍ᵢ₎ − nΣx − Σx) / (nΣx).
    let ranked: f64 = v
        .iter()
        .enumerate()
        .map(|(i, xi)| 2.0 * (i + 1) as f64 * xi)
        .sum();
    let n_sum = n * sum;
    finite((ranked - n_sum - sum) / n_sum)
}

/// Bin edges and counts of a histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Histogram {
    /// The bins + 1 edges, increasing.
    pub edges: Vec<f64>,
    /// Count per bin; bin i is `[edges[i], edges[i+1])`, the last bin also includes its right
    /// edge.
    pub counts: Vec<u64>,
}

/// `numpy.linspace(lo, hi, bins + 1)`: edge i is lo + i·(hi − lo)/bins, the last edge exactly
/// `hi`. `None` for bins = 0, non-finite bounds or hi ≤ lo.
pub fn uniform_edges(lo: f64, hi: f64, bins: usize) -> Option<Vec<f64>> {
    if bins == 0 || !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return None;
    }
    let step = finite((hi - lo) / bins as f64)?;
    let mut edges: Vec<f64> = (0..bins).map(|i| i as f64 * step + lo).collect();
    edges.push(hi);
    Some(edges)
}

/// Histogram of `x` over the given `edges`, like `numpy.histogram(x, bins=edges)`: bins are
/// half-open [eᵢ, eᵢ₊₁) except the last, which is closed; values outside [e₀, eₙ] and
/// non-finite values are not counted. `None` when there are fewer than two edges or they are
/// not finite and strictly increasing.
pub fn histogram(x: &[f64], edges: &[f64]) -> Option<Histogram> {
    if edges.len() < 2 || !super::all_finite(edges) || edges.windows(2).any(|w| w[0] >= w[1]) {
        return None;
    }
    let bins = edges.len() - 1;
    let first = *edges.first()?;
    let last = *edges.last()?;
    let mut counts = vec![0u64; bins];
    for &v in x {
        if !(v >= first && v <= last) {
            continue;
        }
        // Number of edges ≤ v, minus one, is the bin (numpy's searchsorted side="right");
        // v == last falls into the last bin.
        let bin = (edges.partition_point(|e| *e <= v) - 1).min(bins - 1);
        if let Some(c) = counts.get_mut(bin) {
            *c += 1;
        }
    }
    Some(Histogram {
        edges: edges.to_vec(),
        counts,
    })
}

/// The studentDistribution histogram: 10 equal bins on [0, 1]
/// (`numpy.histogram(x, bins=numpy.linspace(0, 1, 11))`).
pub fn unit_histogram(x: &[f64]) -> Option<Histogram> {
    histogram(x, &uniform_edges(0.0, 1.0, 10)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn golden_gini() {
        assert_t1(gini(&[1.0, 2.0, 3.0, 4.0, 10.0]).unwrap(), 0.4);
        assert_t1(gini(&[0.0, 0.0, 0.0, 10.0]).unwrap(), 0.75);
        assert_eq!(gini(&[5.0, 5.0, 5.0]), Some(0.0));
    }

    #[test]
    fn gini_edge_cases() {
        assert_eq!(gini(&[3.0]), Some(0.0));
        assert_eq!(gini(&[]), None);
        assert_eq!(gini(&[0.0, 0.0]), None);
        // Order does not matter.
        assert_t1(gini(&[0.9, 0.2, 0.7, 0.4]).unwrap(), 0.2727272727272725);
    }

    #[test]
    fn linspace_edges_match_numpy() {
        let e = uniform_edges(0.0, 1.0, 10).unwrap();
        let want = [
            0.0,
            0.1,
            0.2,
            0.30000000000000004,
            0.4,
            0.5,
            0.6000000000000001,
            0.7000000000000001,
            0.8,
            0.9,
            1.0,
        ];
        assert_eq!(e, want);
    }

    #[test]
    fn histogram_matches_numpy_at_the_edges() {
        // numpy.histogram(x, bins=np.linspace(0, 1, 11))[0]
        let x = [
            0.0,
            0.05,
            0.1,
            0.3,
            0.30000000000000004,
            0.6000000000000001,
            0.6,
            0.7,
            0.9999,
            1.0,
            1.2,
            -0.1,
        ];
        let h = unit_histogram(&x).unwrap();
        assert_eq!(h.counts, vec![2, 1, 1, 1, 0, 1, 2, 0, 0, 2]);
        assert_eq!(h.edges.len(), 11);
    }

    #[test]
    fn histogram_rejects_bad_edges() {
        assert_eq!(histogram(&[0.5], &[0.0]), None);
        assert_eq!(histogram(&[0.5], &[1.0, 0.0]), None);
        assert_eq!(histogram(&[], &[0.0, 1.0]).unwrap().counts, vec![0]);
    }

    proptest! {
        #[test]
        fn gini_and_histogram_never_return_non_finite(x in finite_vec(12)) {
            prop_assert!(ok_opt(gini(&x)));
            let h = unit_histogram(&x).unwrap();
            let inside = x.iter().filter(|v| (0.0..=1.0).contains(*v)).count() as u64;
            prop_assert_eq!(h.counts.iter().sum::<u64>(), inside);
        }

        #[test]
        fn gini_of_non_negative_values_is_in_unit_interval(x in proptest::collection::vec(0.0..1e6f64, 1..20)) {
            if let Some(g) = gini(&x) {
                prop_assert!((-1e-12..=1.0).contains(&g));
            }
        }
    }
}
