//! Evaluation metrics of a probabilistic classifier: ROC AUC, Brier score and a calibration
//! table (the dropOffRisk model's evaluation).
//!
//! References (T1): [`roc_auc`] = `sklearn.metrics.roc_auc_score` (computed here as the
//! Mann–Whitney U statistic with average ranks for ties, which equals sklearn's trapezoidal
//! area under the ROC curve); [`brier_score`] = `sklearn.metrics.brier_score_loss`;
//! [`calibration`] = `sklearn.calibration.calibration_curve(y, p, n_bins, strategy="uniform")`
//! (its `prob_true` / `prob_pred`, plus bin bounds and counts), empty bins omitted.

use super::finite;
use serde::Serialize;

/// Area under the ROC curve of `scores` for binary `labels` (true = positive class).
///
/// AUC = (R₊ − n₊(n₊+1)/2)/(n₊n₋), R₊ the sum of the positives' ranks, tied scores getting
/// their average rank. `None` when the lengths differ, a score is not finite, or only one
/// class is present (sklearn raises).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || !super::all_finite(scores) {
        return None;
    }
    let n_pos = labels.iter().filter(|l| **l).count();
    let n_neg = labels.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| {
        scores
            .get(a)
            .unwrap_or(&0.0)
            .total_cmp(scores.get(b).unwrap_or(&0.0))
    });
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        // The run [i, j) of equal scores shares the average of ranks i+1..=j.
        let score_at = |k: usize| order.get(k).and_then(|&idx| scores.get(idx)).copied();
        let s = score_at(i)?;
        let mut j = i + 1;
        while j < order.len() && score_at(j) == Some(s) {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        let pos_in_run = order
            .get(i..j)?
            .iter()
            .filter(|&&idx| labels.get(idx).copied().unwrap_or(false))
            .count();
        rank_sum_pos += avg_rank * pos_in_run as f64;
        i = j;
    }
    let (np, nn) = (n_pos as f64, n_neg as f64);
    finite((rank_sum_pos - np * (np + 1.0) / 2.0) / (np * nn))
}

/// Brier score: mean of (pᵢ − yᵢ)². `None` when empty, lengths differ, or a probability is
/// outside [0, 1] (sklearn raises).
pub fn brier_score(probs: &[f64], labels: &[bool]) -> Option<f64> {
    if probs.is_empty()
        || probs.len() != labels.len()
        || !probs.iter().all(|p| (0.0..=1.0).contains(p))
    {
        return None;
    }
    let sq: Vec<f64> = probs
        .iter()
        .zip(labels)
        .map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .collect();
    super::mean(&sq)
}

/// One non-empty bin of a calibration table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalibrationBin {
    /// Lower edge of the bin.
    pub lower: f64,
    /// Upper edge of the bin.
    pub upper: f64,
    /// Number of predictions in the bin.
    pub n: usize,
    /// Mean predicted probability in the bin (sklearn `prob_pred`).
    pub mean_predicted: f64,
    /// Observed share of positives in the bin (sklearn `prob_true`).
    pub observed_rate: f64,
}

/// Calibration table with `bins` equal-width bins on [0, 1], like sklearn's
/// `calibration_curve(strategy="uniform")`.
///
/// Bin membership follows sklearn exactly: edges are `linspace(0, 1, bins + 1)` and a
/// probability goes to `searchsorted(inner_edges, p)` (side "left"), i.e. bins are (eᵢ, eᵢ₊₁]
/// except the first, which also holds 0 — the opposite convention from `numpy.histogram`.
/// Empty bins are omitted. `None` when `bins` = 0, lengths differ, or a probability is
/// outside [0, 1] (sklearn raises).
pub fn calibration(probs: &[f64], labels: &[bool], bins: usize) -> Option<Vec<CalibrationBin>> {
    if bins == 0 || probs.len() != labels.len() || !probs.iter().all(|p| (0.0..=1.0).contains(p)) {
        return None;
    }
    let edges = super::inequality::uniform_edges(0.0, 1.0, bins)?;
    let inner = edges.get(1..bins)?;
    let mut n = vec![0usize; bins];
    let mut sum_p = vec![0.0; bins];
    let mut sum_y = vec![0.0; bins];
    for (&p, &y) in probs.iter().zip(labels) {
        let b = inner.partition_point(|e| *e < p);
        *n.get_mut(b)? += 1;
        *sum_p.get_mut(b)? += p;
        *sum_y.get_mut(b)? += f64::from(u8::from(y));
    }
    let mut out = Vec::new();
    for b in 0..bins {
        let count = *n.get(b)?;
        if count == 0 {
            continue;
        }
        out.push(CalibrationBin {
            lower: *edges.get(b)?,
            upper: *edges.get(b + 1)?,
            n: count,
            mean_predicted: *sum_p.get(b)? / count as f64,
            observed_rate: *sum_y.get(b)? / count as f64,
        });
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    const Y: [bool; 10] = [
        false, false, true, true, false, true, true, false, true, false,
    ];
    const P: [f64; 10] = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.65, 0.2, 0.4, 0.0];

    #[test]
    fn auc_matches_sklearn_with_ties() {
        // sklearn.metrics.roc_auc_score(Y, P)
        assert_t1(roc_auc(&P, &Y).unwrap(), 0.8799999999999999);
        assert_eq!(roc_auc(&[0.1, 0.2], &[false, true]), Some(1.0));
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn brier_matches_sklearn() {
        // sklearn.metrics.brier_score_loss(Y, P)
        assert_t1(brier_score(&P, &Y).unwrap(), 0.1325);
        assert_eq!(brier_score(&[1.2], &[true]), None);
        assert_eq!(brier_score(&[], &[]), None);
    }

    #[test]
    fn calibration_matches_sklearn_uniform_bins() {
        // sklearn.calibration.calibration_curve(Y, P, n_bins=5): prob_true, prob_pred
        let table = calibration(&P, &Y, 5).unwrap();
        let prob_true = [0.0, 0.5, 1.0, 1.0];
        let prob_pred = [
            0.10000000000000002,
            0.38749999999999996,
            0.7250000000000001,
            0.9,
        ];
        assert_eq!(table.len(), 4);
        for ((bin, t), p) in table.iter().zip(prob_true).zip(prob_pred) {
            assert_t1(bin.observed_rate, t);
            assert_t1(bin.mean_predicted, p);
        }
        assert_eq!(
            table.iter().map(|b| b.n).collect::<Vec<_>>(),
            vec![3, 4, 2, 1]
        );
        // 0.4 lies on the edge between bins 2 and 3: sklearn puts it in the lower bin.
        assert_eq!((table[1].lower, table[1].upper), (0.2, 0.4));
    }

    #[test]
    fn calibration_rejects_invalid_input() {
        assert_eq!(calibration(&[0.5], &[true], 0), None);
        assert_eq!(calibration(&[1.5], &[true], 10), None);
        assert_eq!(calibration(&[], &[], 10), Some(vec![]));
    }

    #[test]
    fn calibration_bin_serialises_in_camel_case() {
        let table = calibration(&[0.3], &[true], 2).unwrap();
        let json = serde_json::to_value(&table[0]).unwrap();
        assert!(json.get("meanPredicted").is_some() && json.get("observedRate").is_some());
    }

    proptest! {
        #[test]
        fn metrics_never_return_non_finite(
            rows in proptest::collection::vec((any_finite(), 0.0..=1.0f64, any::<bool>()), 0..30),
            bins in 0usize..15
        ) {
            let s: Vec<f64> = rows.iter().map(|r| r.0).collect();
            let p: Vec<f64> = rows.iter().map(|r| r.1).collect();
            let y: Vec<bool> = rows.iter().map(|r| r.2).collect();
            let auc = roc_auc(&s, &y);
            prop_assert!(ok_opt(auc) && auc.is_none_or(|a| (0.0..=1.0).contains(&a)));
            prop_assert!(ok_opt(brier_score(&p, &y)));
            if let Some(table) = calibration(&p, &y, bins) {
                prop_assert_eq!(table.iter().map(|b| b.n).sum::<usize>(), rows.len());
                for b in table {
                    prop_assert!(ok(b.mean_predicted) && ok(b.observed_rate));
                    prop_assert!(b.lower <= b.mean_predicted + 1e-12 && b.mean_predicted <= b.upper + 1e-12);
                }
            }
        }
    }
}
