//! Analytic 9, **studentDistribution**: the distribution of one metric over a trainer's active
//! learners.
//!
//! Definitions and interpretations (shared terms are defined in [`crate::trainer`]):
//! - **Active learners** are the distinct learners enrolled (`enrolledAt ≤ asOf`) in one of
//!   the trainer's courses with an event about that course in the last 28 days: the same
//!   "active" as coursePerformance's `active`, the only meaning of the word in the trainer
//!   analytics.
//! - **Metric** (one per request, default `finalScore`), one value per learner in \[0,1\]:
//!   - `finalScore`: the mean of the learner's final attempts (first attempts at `post`/`exam`
//!     assessments) in the trainer's courses they are enrolled in; learners without one have
//!     no value and are left out;
//!   - `progress`: the mean `progress` (clamped) of the learner's enrollments in the
//!     trainer's courses;
//!   - `engagement`: the learner's engagementScore (analytic 3, [`crate::learner::engagement`])
//!     divided by 100.
//! - **histogram**: 10 equal bins on \[0,1\] (`numpy.histogram(x, bins=np.linspace(0,1,11))`:
//!   half-open bins, the last one closed).
//! - **quantiles**: Hyndman–Fan type 7 (`numpy.quantile(x, q, method="linear")`) at the
//!   configured levels, keyed `p10`, `p25`, `p50`, `p75`, `p90`.
//! - **mean** and **sd**: sd is the sample standard deviation (ddof = 1), which is what makes
//!   `analytics.md`'s "n = 1: sd null" hold.
//! - **gini**: G = 2Σ i·x₍ᵢ₎/(nΣx) − (n+1)/n, population form (PySAL `Gini(x).g`); 0 for one
//!   learner, `null` when Σx = 0 — also for a single learner at 0, where PySAL gives NaN.
//! - **bands**: counts for x < 0.5, 0.5 ≤ x < 0.7, 0.7 ≤ x < 0.85, x ≥ 0.85 (configured edges),
//!   each `{lower, upper, count}` with `null` for the open ends.
//! - **n**: the Output line's `n` is the header's `n` map (`n.values`), because the header
//!   already owns the key `n`.
//! - n = 0: every statistic is `null`, status `insufficient_data`, reason `no_values`
//!   (`no_courses` when the trainer has none).
//!
//! `n`: `courses`, `learners` (active learners), `values` (those with a value).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex};
use crate::memo::CohortMemo;
use crate::stats;
use crate::stats::inequality::Histogram;

use super::{courses_of, enrollments_at, final_attempts_of, first_attempts};

/// The metric whose distribution is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Metric {
    #[default]
    FinalScore,
    Progress,
    Engagement,
}

impl Metric {
    /// The wire name (`finalScore`, `progress`, `engagement`).
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::FinalScore => "finalScore",
            Metric::Progress => "progress",
            Metric::Engagement => "engagement",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown metric name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMetric(pub String);

impl fmt::Display for UnknownMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown metric {:?} (expected finalScore, progress or engagement)",
            self.0
        )
    }
}

impl std::error::Error for UnknownMetric {}

impl FromStr for Metric {
    type Err = UnknownMetric;

    /// Parses the exact wire name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Metric::FinalScore, Metric::Progress, Metric::Engagement]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| UnknownMetric(s.to_owned()))
    }
}

/// The studentDistribution payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StudentDistribution {
    #[serde(flatten)]
    pub header: Header,
    pub metric: Metric,
    pub histogram: Option<Histogram>,
    /// Type-7 quantiles keyed `p10`, `p25`, …
    pub quantiles: Option<BTreeMap<String, f64>>,
    pub mean: Option<f64>,
    /// Sample standard deviation (ddof = 1).
    pub sd: Option<f64>,
    /// Population Gini coefficient.
    pub gini: Option<f64>,
    pub bands: Option<Vec<BandCount>>,
}

/// The number of values in `[lower, upper)`; an open end is `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BandCount {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub count: u64,
}

/// Computes studentDistribution of `metric` for `trainer_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    trainer_id: &str,
    metric: Metric,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> StudentDistribution {
    compute_indexed(&data.index(), trainer_id, metric, as_of, cfg)
}

/// Computes studentDistribution of `metric` for `trainer_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    trainer_id: &str,
    metric: Metric,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> StudentDistribution {
    compute_shared(idx, trainer_id, metric, as_of, cfg, &CohortMemo::new())
}

/// [`compute_indexed`] with the learners' digests taken from (and added to) `memo`; the same
/// payload.
pub fn compute_shared(
    idx: &DatasetIndex<'_>,
    trainer_id: &str,
    metric: Metric,
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'_>,
) -> StudentDistribution {
    let mut header = Header::new(as_of);
    let courses = courses_of(idx, trainer_id);

    // Active learners, and every learner's enrolled trainer courses.
    let mut active: BTreeSet<&str> = BTreeSet::new();
    let mut enrolled_in: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut progress: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for course in &courses {
        for e in enrollments_at(idx, &course.id, as_of) {
            let user = e.user_id.as_str();
            enrolled_in
                .entry(user)
                .or_default()
                .insert(course.id.as_str());
            progress.entry(user).or_default().push(e.progress_clamped());
        }
    }
    for (user, course_ids) in &enrolled_in {
        let recent = memo.digest(user);
        let recent = recent.recent_courses(idx, as_of, cfg);
        if course_ids.iter().any(|c| recent.contains(*c)) {
            active.insert(user);
        }
    }

    let values: Vec<f64> = active
        .iter()
        .filter_map(|user| match metric {
            Metric::FinalScore => {
                let firsts = first_attempts(idx, user, as_of);
                let scores: Vec<f64> = enrolled_in
                    .get(user)
                    .into_iter()
                    .flatten()
                    .flat_map(|c| final_attempts_of(idx, &firsts, user, c))
                    .map(|f| f.score)
                    .collect();
                stats::mean(&scores)
            }
            Metric::Progress => progress.get(user).and_then(|p| stats::mean(p)),
            Metric::Engagement => {
                let score = memo.digest(user).engagement(idx, as_of, cfg);
                Some((score / 100.0).clamp(0.0, 1.0))
            }
        })
        .map(|v| v.clamp(0.0, 1.0))
        .collect();

    if courses.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_courses");
    } else if values.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_values");
    }
    header.set_n("courses", courses.len());
    header.set_n("learners", active.len());
    header.set_n("values", values.len());

    let dc = &cfg.distribution;
    let nonempty = !values.is_empty();
    let histogram = nonempty
        .then(|| {
            let bins = usize::try_from(dc.histogram_bins).ok()?;
            stats::inequality::histogram(
                &values,
                &stats::inequality::uniform_edges(0.0, 1.0, bins)?,
            )
        })
        .flatten();
    let levels: Vec<f64> = dc
        .quantiles
        .iter()
        .copied()
        .filter(|q| (0.0..=1.0).contains(q))
        .collect();
    let quantiles = stats::quantiles_type7(&values, &levels).map(|qs| {
        levels
            .iter()
            .zip(qs)
            .map(|(level, q)| (quantile_key(*level), q))
            .collect()
    });
    StudentDistribution {
        header,
        metric,
        histogram,
        quantiles,
        mean: stats::mean(&values),
        sd: stats::sample_sd(&values),
        gini: stats::inequality::gini(&values),
        bands: nonempty.then(|| bands_of(&values, &dc.band_edges)),
    }
}

/// `p10` for 0.1, `p2.5` for 0.025.
fn quantile_key(level: f64) -> String {
    format!("p{}", (level * 1000.0).round() / 10.0)
}

/// Counts per band between the (finite, sorted, distinct) edges.
fn bands_of(values: &[f64], edges: &[f64]) -> Vec<BandCount> {
    let mut edges: Vec<f64> = edges.iter().copied().filter(|e| e.is_finite()).collect();
    edges.sort_by(f64::total_cmp);
    edges.dedup();
    let mut bands: Vec<BandCount> = (0..=edges.len())
        .map(|i| BandCount {
            lower: i.checked_sub(1).and_then(|j| edges.get(j).copied()),
            upper: edges.get(i).copied(),
            count: 0,
        })
        .collect();
    for v in values {
        // The band is the number of edges ≤ v.
        let band = edges.partition_point(|e| e <= v);
        if let Some(b) = bands.get_mut(band) {
            b.count += 1;
        }
    }
    bands
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{AssessmentKind, EnrollmentStatus, Verb};
    use crate::test_support::*;
    use crate::trainer::testdata::{assessment, attempt};

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    /// Five active learners of course d1 with exam scores 10, 20, 30, 40, 100 (of 100), and an
    /// inactive one (last event 60 days ago) with 90.
    fn example() -> Dataset {
        let mut data = Dataset {
            courses: vec![course("d1", 100.0)],
            content_items: vec![item("i1", "d1", 30.0)],
            assessments: vec![assessment("x", "d1", AssessmentKind::Exam, 100.0)],
            ..Dataset::default()
        };
        let scores = [10.0, 20.0, 30.0, 40.0, 100.0, 90.0];
        for (i, score) in scores.iter().enumerate() {
            let user = format!("u{i}");
            let mut e = enrollment(
                &format!("e{i}"),
                &user,
                "d1",
                "2025-04-01T00:00:00Z",
                EnrollmentStatus::InProgress,
            );
            e.progress = 0.25 * i as f64;
            data.enrollments.push(e);
            data.attempts.push(attempt(
                &format!("t{i}"),
                "x",
                &user,
                "2025-06-01T00:00:00Z",
                *score,
                *score >= 50.0,
            ));
            let at = if i == 5 {
                "2025-05-01T00:00:00Z"
            } else {
                "2025-06-25T00:00:00Z"
            };
            data.events.push(event(&user, "i1", Verb::Experienced, at));
        }
        data
    }

    #[test]
    fn final_score_distribution_matches_the_reference_statistics() {
        let d = compute(
            &example(),
            "t1",
            Metric::default(),
            ts(AS_OF),
            &Config::default(),
        );
        assert_eq!(d.header.status, Status::Ok);
        assert_eq!(d.metric, Metric::FinalScore);
        assert_eq!(d.header.n.get("learners"), Some(&5));
        assert_eq!(d.header.n.get("values"), Some(&5));
        // x = [0.1, 0.2, 0.3, 0.4, 1.0]; 0.3 falls below linspace's 0.30000000000000004.
        let h = d.histogram.as_ref().expect("histogram");
        assert_eq!(h.counts, [0, 1, 2, 0, 1, 0, 0, 0, 0, 1]);
        assert_eq!(h.edges.len(), 11);
        let q = d.quantiles.as_ref().expect("quantiles");
        let keys: Vec<&str> = q.keys().map(String::as_str).collect();
        assert_eq!(keys, ["p10", "p25", "p50", "p75", "p90"]);
        close(q["p10"], 0.14);
        close(q["p25"], 0.2);
        close(q["p50"], 0.3);
        close(q["p75"], 0.4);
        close(q["p90"], 0.76);
        close(d.mean.expect("mean"), 0.4);
        close(d.sd.expect("sd"), 0.125_f64.sqrt());
        // Golden Gini: [1, 2, 3, 4, 10] → 0.4 (scale-invariant).
        close(d.gini.expect("gini"), 0.4);
        let counts: Vec<u64> = d
            .bands
            .as_ref()
            .expect("bands")
            .iter()
            .map(|b| b.count)
            .collect();
        assert_eq!(counts, [4, 0, 0, 1]);
    }

    #[test]
    fn bands_have_open_ends_and_lower_inclusive_edges() {
        let bands = bands_of(&[0.0, 0.49, 0.5, 0.7, 0.84, 0.85, 1.0], &[0.5, 0.7, 0.85]);
        let shape: Vec<(Option<f64>, Option<f64>, u64)> =
            bands.iter().map(|b| (b.lower, b.upper, b.count)).collect();
        assert_eq!(
            shape,
            [
                (None, Some(0.5), 2),
                (Some(0.5), Some(0.7), 1),
                (Some(0.7), Some(0.85), 2),
                (Some(0.85), None, 2)
            ]
        );
    }

    #[test]
    fn golden_gini_vectors_hold_through_the_progress_metric() {
        // Progress [0, 0, 0, 1] (scaled [0, 0, 0, 10]) → 0.75; [0.5, 0.5, 0.5] → 0.
        let mut data = example();
        data.events.retain(|e| &*e.user_id != "u4");
        for (e, p) in data.enrollments.iter_mut().zip([0.0, 0.0, 0.0, 1.0]) {
            e.progress = p;
        }
        let d = compute(&data, "t1", Metric::Progress, ts(AS_OF), &Config::default());
        assert_eq!(d.header.n.get("values"), Some(&4));
        close(d.gini.expect("gini"), 0.75);
        data.events.retain(|e| &*e.user_id != "u3");
        for e in &mut data.enrollments {
            e.progress = 0.5;
        }
        let d = compute(&data, "t1", Metric::Progress, ts(AS_OF), &Config::default());
        assert_eq!(d.header.n.get("values"), Some(&3));
        assert_eq!(d.gini, Some(0.0));
    }

    #[test]
    fn progress_of_zero_everywhere_gives_a_null_gini() {
        let mut data = example();
        for e in &mut data.enrollments {
            e.progress = 0.0;
        }
        let d = compute(&data, "t1", Metric::Progress, ts(AS_OF), &Config::default());
        assert_eq!(d.mean, Some(0.0));
        assert_eq!(d.sd, Some(0.0));
        assert_eq!(d.gini, None);
    }

    #[test]
    fn progress_is_the_mean_over_the_learners_enrollments() {
        let d = compute(
            &example(),
            "t1",
            Metric::Progress,
            ts(AS_OF),
            &Config::default(),
        );
        // Learners u0–u4: progress 0, 0.25, 0.5, 0.75, 1.
        close(d.mean.expect("mean"), 0.5);
        assert_eq!(d.header.n.get("values"), Some(&5));
    }

    #[test]
    fn engagement_uses_the_engagement_score_over_one_hundred() {
        let data = example();
        let cfg = Config::default();
        let d = compute(&data, "t1", Metric::Engagement, ts(AS_OF), &cfg);
        let want: Vec<f64> = (0..5)
            .map(|i| {
                crate::learner::engagement::compute(&data, &format!("u{i}"), ts(AS_OF), &cfg).score
                    / 100.0
            })
            .collect();
        close(d.mean.expect("mean"), stats::mean(&want).expect("mean"));
        assert_eq!(d.metric, Metric::Engagement);
    }

    #[test]
    fn one_learner_has_null_sd_and_zero_gini() {
        let mut data = example();
        data.events.retain(|e| &*e.user_id == "u2");
        let d = compute(
            &data,
            "t1",
            Metric::FinalScore,
            ts(AS_OF),
            &Config::default(),
        );
        assert_eq!(d.header.n.get("values"), Some(&1));
        assert_eq!(d.sd, None);
        assert_eq!(d.gini, Some(0.0));
        assert_eq!(d.mean, Some(0.3));
    }

    #[test]
    fn no_active_learner_gives_all_null() {
        let mut data = example();
        data.events.clear();
        let d = compute(
            &data,
            "t1",
            Metric::FinalScore,
            ts(AS_OF),
            &Config::default(),
        );
        assert_eq!(d.header.status, Status::InsufficientData);
        assert_eq!(d.header.reasons, ["no_values"]);
        assert_eq!(
            (
                d.histogram.clone(),
                d.quantiles.clone(),
                d.mean,
                d.sd,
                d.gini,
                d.bands.clone()
            ),
            (None, None, None, None, None, None)
        );
        let json = serde_json::to_value(&d).expect("serialises");
        assert!(json["histogram"].is_null() && json["bands"].is_null());
    }

    #[test]
    fn metric_names_parse_and_print_exactly() {
        for m in [Metric::FinalScore, Metric::Progress, Metric::Engagement] {
            assert_eq!(m.to_string().parse::<Metric>(), Ok(m));
            assert_eq!(
                serde_json::to_value(m).expect("serialises"),
                serde_json::json!(m.as_str())
            );
        }
        assert!("FinalScore".parse::<Metric>().is_err());
        assert_eq!(quantile_key(0.025), "p2.5");
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let d = compute(
            &example(),
            "t1",
            Metric::FinalScore,
            ts(AS_OF),
            &Config::default(),
        );
        let text = serde_json::to_string(&d).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&d).expect("serialises");
        for key in [
            "metric",
            "n",
            "histogram",
            "quantiles",
            "mean",
            "sd",
            "gini",
            "bands",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["metric"], "finalScore");
        assert_eq!(json["n"]["values"], 5);
        assert!(
            json["histogram"].get("edges").is_some() && json["histogram"].get("counts").is_some()
        );
        let back: StudentDistribution = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, d);
    }
}
