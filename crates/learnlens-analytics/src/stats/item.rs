//! Classical item analysis (Crocker & Algina 1986): correlation, point-biserial and Kelley's
//! discrimination index (contentEffectiveness).
//!
//! [`pearson`] and [`point_biserial`] match `scipy.stats.pearsonr` / `pointbiserialr`
//! (`pointbiserialr(item, total - item)` for the corrected form), tolerance T1.
//! [`discrimination_index`] has no library reference; it follows analytics.md §6 exactly
//! (T0 for the groups, T1 for D).

use super::finite;

/// Pearson correlation coefficient of paired samples, computed as scipy's `pearsonr` does
/// (centred, scaled by the largest deviation, normalised, clipped to [−1, 1]).
///
/// `None` when the lengths differ, n < 2, a value is not finite, or either side is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() || x.len() < 2 {
        return None;
    }
    let dx = unit_deviations(x)?;
    let dy = unit_deviations(y)?;
    let r: f64 = dx.iter().zip(&dy).map(|(a, b)| a * b).sum();
    finite(r.clamp(-1.0, 1.0))
}

/// Deviations from the mean scaled to unit Euclidean norm; `None` if constant (every value
/// equal to the first, scipy's test) or non-finite. Dividing by the largest deviation first
/// (as scipy does) keeps the norm from overflowing; values near `f64::MAX` are quartered
/// first so that x − x̄ stays finite (the correlation does not depend on scale).
fn unit_deviations(x: &[f64]) -> Option<Vec<f64>> {
    let first = *x.first()?;
    if x.iter().all(|v| *v == first) {
        return None;
    }
    let big = x.iter().any(|v| v.abs() > f64::MAX / 4.0);
    let x: Vec<f64> = if big {
        x.iter().map(|v| v / 4.0).collect()
    } else {
        x.to_vec()
    };
    let m = super::mean(&x)?;
    let mut d: Vec<f64> = x.iter().map(|v| v - m).collect();
    let max_abs = d.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
    if !(max_abs > 0.0 && max_abs.is_finite()) {
        return None;
    }
    d.iter_mut().for_each(|v| *v /= max_abs);
    let norm = d.iter().map(|v| v * v).sum::<f64>().sqrt();
    if !(norm > 0.0 && norm.is_finite()) {
        return None;
    }
    d.iter_mut().for_each(|v| *v /= norm);
    Some(d)
}

/// Point-biserial correlation between a 0/1 item score and the test total
/// (`scipy.stats.pointbiserialr`).
///
/// With `corrected = true` the item is removed from the total first, r = corr(item,
/// total − item) (the "corrected item–total correlation" the analytics report; it avoids the
/// item correlating with itself). `None` when either side is constant, lengths differ or
/// n < 2.
pub fn point_biserial(item: &[f64], total: &[f64], corrected: bool) -> Option<f64> {
    if corrected {
        if item.len() != total.len() {
            return None;
        }
        let rest: Vec<f64> = total.iter().zip(item).map(|(t, i)| t - i).collect();
        pearson(item, &rest)
    } else {
        pearson(item, total)
    }
}

/// Kelley's upper/lower-group fraction.
pub const KELLEY_FRACTION: f64 = 0.27;

/// Kelley's upper/lower-group size for N examinees: round(0.27·N), rounding half away from
/// zero (Rust's `f64::round`; note numpy's `round` would round half to even).
pub fn kelley_group_size(n: usize) -> usize {
    extreme_group_size(n, KELLEY_FRACTION)
}

/// Upper/lower-group size round(fraction·N) for another group fraction (rounding half away
/// from zero). The fraction is clamped to \[0, 0.5\] (with an odd N and ½ the two groups share
/// the middle examinee); a non-finite fraction gives 0.
pub fn extreme_group_size(n: usize, fraction: f64) -> usize {
    if !fraction.is_finite() {
        return 0;
    }
    // fraction ≤ ½, so g ≤ ⌈N/2⌉ ≤ N; the `min` only guards the float-to-int cast.
    let g = (fraction.clamp(0.0, 0.5) * n as f64).round() as usize;
    g.min(n)
}

/// Kelley's discrimination index D = p_upper − p_lower over `records` of
/// (user id, item answered correctly, total score).
///
/// Examinees are sorted by total descending, ties broken by user id ascending (so the result
/// is deterministic); the upper and lower groups are the first and last
/// g = [`kelley_group_size`]\(N) examinees. `None` when g = 0 (N ≤ 1) or a total is not
/// finite.
pub fn discrimination_index(records: &[(&str, bool, f64)]) -> Option<f64> {
    discrimination_index_at(records, KELLEY_FRACTION)
}

/// [`discrimination_index`] with upper and lower groups of g = [`extreme_group_size`]\(N,
/// `fraction`) examinees (Kelley's 27 % is `fraction = 0.27`). `None` when g = 0 or a total is
/// not finite.
pub fn discrimination_index_at(records: &[(&str, bool, f64)], fraction: f64) -> Option<f64> {
    if records.iter().any(|r| !r.2.is_finite()) {
        return None;
    }
    let g = extreme_group_size(records.len(), fraction);
    if g == 0 {
        return None;
    }
    let mut sorted: Vec<&(&str, bool, f64)> = records.iter().collect();
    sorted.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(b.0)));
    let share =
        |group: &[&(&str, bool, f64)]| group.iter().filter(|r| r.1).count() as f64 / g as f64;
    let upper = share(sorted.get(..g)?);
    let lower = share(sorted.get(sorted.len() - g..)?);
    Some(upper - lower)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use proptest::prelude::*;

    const ITEM: [f64; 8] = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    const TOTAL: [f64; 8] = [9.0, 4.0, 8.0, 7.0, 5.0, 9.0, 3.0, 6.0];

    #[test]
    fn golden_point_biserial() {
        // Golden at 6 decimals; full precision from scipy.stats.pointbiserialr.
        let r = point_biserial(&ITEM, &TOTAL, false).unwrap();
        assert_close(r, 0.868737, 5e-7);
        assert_t1(r, 0.8687369180325039);
        let rc = point_biserial(&ITEM, &TOTAL, true).unwrap();
        assert_close(rc, 0.790906, 5e-7);
        assert_t1(rc, 0.7909057560124448);
    }

    #[test]
    fn pearson_matches_scipy() {
        assert_t1(
            pearson(&[1.0, 2.0, 3.0, 4.0], &[2.0, 1.0, 4.0, 3.0]).unwrap(),
            0.6,
        );
        assert_t1(pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap(), -1.0);
    }

    #[test]
    fn constant_sides_give_none() {
        assert_eq!(
            point_biserial(&[1.0, 1.0, 1.0], &[3.0, 4.0, 5.0], false),
            None
        );
        // total − item constant: rest score carries no information.
        assert_eq!(
            point_biserial(&[1.0, 0.0, 1.0], &[5.0, 4.0, 5.0], true),
            None
        );
        assert_eq!(pearson(&[1.0], &[2.0]), None);
        assert_eq!(pearson(&[1.0, 2.0], &[2.0]), None);
    }

    #[test]
    fn discrimination_index_uses_27_percent_groups() {
        assert_eq!(kelley_group_size(8), 2);
        assert_eq!(kelley_group_size(10), 3); // 2.7 → 3
        assert_eq!(kelley_group_size(50), 14); // 13.5 → 14 (half away from zero)
        assert_eq!(kelley_group_size(1), 0);
        let ids = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let recs: Vec<(&str, bool, f64)> = ids
            .iter()
            .zip(ITEM.iter().zip(TOTAL))
            .map(|(id, (i, t))| (*id, *i == 1.0, t))
            .collect();
        // Upper two: a (9), f (9), both correct; lower two: g (3), b (4), both wrong.
        assert_eq!(discrimination_index(&recs), Some(1.0));
    }

    #[test]
    fn other_group_fractions_change_only_the_group_size() {
        assert_eq!(extreme_group_size(10, 0.27), kelley_group_size(10));
        assert_eq!(extreme_group_size(10, 0.5), 5);
        assert_eq!(extreme_group_size(10, 0.9), 5); // clamped to halves
        assert_eq!(extreme_group_size(10, 0.25), 3); // 2.5 → 3
        assert_eq!(extreme_group_size(10, -1.0), 0);
        assert_eq!(extreme_group_size(10, f64::NAN), 0);
        let ids = ["a", "b", "c", "d", "e", "f", "g", "h"];
        let recs: Vec<(&str, bool, f64)> = ids
            .iter()
            .zip(ITEM.iter().zip(TOTAL))
            .map(|(id, (i, t))| (*id, *i == 1.0, t))
            .collect();
        assert_eq!(
            discrimination_index_at(&recs, 0.27),
            discrimination_index(&recs)
        );
        // Halves: upper a, f, c, d (9, 9, 8, 7) all correct; lower h, e, b, g (6, 5, 4, 3):
        // only h correct. D = 4/4 − 1/4.
        assert_eq!(discrimination_index_at(&recs, 0.5), Some(0.75));
        assert_eq!(discrimination_index_at(&recs, 0.0), None);
    }

    #[test]
    fn discrimination_ties_break_by_user_id() {
        // Three tied totals; g = round(0.27·4) = 1. Upper = "a" (wrong), lower = "d".
        let recs = [
            ("c", true, 5.0),
            ("a", false, 5.0),
            ("b", true, 5.0),
            ("d", true, 1.0),
        ];
        assert_eq!(discrimination_index(&recs), Some(-1.0));
        let recs = [
            ("b", true, 5.0),
            ("a", true, 5.0),
            ("c", false, 5.0),
            ("d", false, 5.0),
        ];
        // Upper = "a" (correct), lower = "d" (wrong).
        assert_eq!(discrimination_index(&recs), Some(1.0));
        assert_eq!(discrimination_index(&[("a", true, 1.0)]), None);
    }

    proptest! {
        #[test]
        fn correlations_never_return_non_finite(x in finite_vec(10), y in finite_vec(10)) {
            let n = x.len().min(y.len());
            let r = pearson(&x[..n], &y[..n]);
            prop_assert!(ok_opt(r));
            prop_assert!(r.is_none_or(|r| (-1.0..=1.0).contains(&r)));
            prop_assert!(ok_opt(point_biserial(&x[..n], &y[..n], true)));
        }

        #[test]
        fn discrimination_is_between_minus_one_and_one(
            recs in proptest::collection::vec((0u8..5, any::<bool>(), any_finite()), 0..40)
        ) {
            let ids: Vec<String> = recs.iter().map(|r| r.0.to_string()).collect();
            let recs: Vec<(&str, bool, f64)> = recs.iter().zip(&ids).map(|(r, id)| (id.as_str(), r.1, r.2)).collect();
            if let Some(d) = discrimination_index(&recs) {
                prop_assert!((-1.0..=1.0).contains(&d));
            }
        }
    }
}
