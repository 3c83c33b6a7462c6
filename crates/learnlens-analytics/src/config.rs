//! Every tunable of `analytics.md`, with [`Default`] equal to the documented values.
//!
//! The service reads them from the `[analytics]` table of its configuration; every section and
//! key is optional there (`#[serde(default)]`) and unknown keys are rejected, so a typo is an
//! error at start-up rather than a silently ignored setting. [`Config::validate`] checks the ranges; the
//! analytics still never panic or produce non-finite numbers on an invalid configuration, but
//! their values are then unspecified.

use std::fmt;

use serde::{Deserialize, Serialize};

/// All analytics settings, one section per concern.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub samples: SampleConfig,
    pub stats: StatsConfig,
    pub session: SessionConfig,
    pub velocity: VelocityConfig,
    pub skill_gap: SkillGapConfig,
    pub engagement: EngagementConfig,
    pub mastery: MasteryConfig,
    pub performance: PerformanceConfig,
    pub content: ContentConfig,
    pub course: CourseConfig,
    pub course_health: CourseHealthConfig,
    pub distribution: DistributionConfig,
    pub teaching: TeachingConfig,
    pub culture: CultureConfig,
    pub org: OrgConfig,
    pub drop_off: DropOffConfig,
    pub forecast: ForecastConfig,
    pub recommendations: RecommendationsConfig,
}

/// Minimum sample sizes (§1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SampleConfig {
    /// k-anonymity: any cohort value shown to a learner needs N ≥ k (analytics 11–16).
    pub k_anonymity: u32,
    /// Classical item statistics need N ≥ this many examinees (analytic 6).
    pub item_statistics_min_n: u32,
    /// Global skillDemand (analytic 16) needs at least this many contributing organisations.
    pub global_min_orgs: u32,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            k_anonymity: 5,
            item_statistics_min_n: 30,
            global_min_orgs: 2,
        }
    }
}

/// Shared inferential settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatsConfig {
    /// Two-sided significance level of trend tests (`direction`): p < α.
    pub significance_level: f64,
    /// Confidence level of Wilson intervals.
    pub confidence_level: f64,
}

impl Default for StatsConfig {
    fn default() -> Self {
        StatsConfig {
            significance_level: 0.05,
            confidence_level: 0.95,
        }
    }
}

/// Sessions and time-on-task (§1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// A session ends at a gap of more than this many minutes.
    pub gap_minutes: u32,
    /// `durationSec` is capped at this many hours.
    pub duration_cap_hours: f64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            gap_minutes: 30,
            duration_cap_hours: 4.0,
        }
    }
}

/// Analytic 1 (learnerVelocity); the window is shared by analytic 11.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VelocityConfig {
    /// W: number of weekly bins ending at `asOf`.
    pub window_weeks: u32,
    /// `currentVelocity` is the mean of this many last bins.
    pub current_bins: u32,
    /// The trend needs at least this many bins, else it is `null`.
    pub min_trend_bins: u32,
}

impl Default for VelocityConfig {
    fn default() -> Self {
        VelocityConfig {
            window_weeks: 12,
            current_bins: 4,
            min_trend_bins: 3,
        }
    }
}

/// Analytic 2 (skillGapMatrix).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SkillGapConfig {
    /// Length of `topGaps`.
    pub top_gaps: u32,
}

impl Default for SkillGapConfig {
    fn default() -> Self {
        SkillGapConfig { top_gaps: 3 }
    }
}

/// Analytic 3 (engagementScore).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngagementConfig {
    /// D: window length in days (shorter when the first enrollment is more recent).
    pub window_days: u32,
    /// Target learning hours per week for the time component.
    pub target_hours_per_week: f64,
    /// Half-life of the recency component, in days.
    pub recency_half_life_days: f64,
    /// Component weights (normalised by their sum).
    pub weights: EngagementWeights,
    /// Band `high` at a score ≥ this.
    pub band_high: f64,
    /// Band `low` at a score < this.
    pub band_low: f64,
}

impl Default for EngagementConfig {
    fn default() -> Self {
        EngagementConfig {
            window_days: 28,
            target_hours_per_week: 2.0,
            recency_half_life_days: 7.0,
            weights: EngagementWeights::default(),
            band_high: 70.0,
            band_low: 40.0,
        }
    }
}

/// Weights of the four engagement components; serialised in the payload as `weights`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct EngagementWeights {
    pub recency: f64,
    pub frequency: f64,
    pub time_on_task: f64,
    pub consistency: f64,
}

impl Default for EngagementWeights {
    fn default() -> Self {
        EngagementWeights {
            recency: 0.25,
            frequency: 0.25,
            time_on_task: 0.25,
            consistency: 0.25,
        }
    }
}

impl EngagementWeights {
    fn as_array(&self) -> [f64; 4] {
        [
            self.recency,
            self.frequency,
            self.time_on_task,
            self.consistency,
        ]
    }

    /// Whether every weight is finite and ≥ 0 and their sum is > 0.
    pub fn is_valid(&self) -> bool {
        let w = self.as_array();
        w.iter().all(|x| x.is_finite() && *x >= 0.0) && w.iter().sum::<f64>() > 0.0
    }
}

/// Bayesian Knowledge Tracing parameters (analytic 4).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BktParams {
    /// L0: prior probability of mastery.
    pub prior: f64,
    /// T: probability of learning at each opportunity.
    pub transit: f64,
    /// G: probability of a correct guess.
    pub guess: f64,
    /// S: probability of a slip.
    pub slip: f64,
    /// F: probability of forgetting (0 in the standard model).
    pub forget: f64,
}

impl Default for BktParams {
    fn default() -> Self {
        BktParams {
            prior: 0.2,
            transit: 0.15,
            guess: 0.25,
            slip: 0.1,
            forget: 0.0,
        }
    }
}

/// Analytic 4 (masteryProgress).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MasteryConfig {
    pub bkt: BktParams,
    /// A skill is mastered at L ≥ this (pyBKT `Roster` default).
    pub mastery_threshold: f64,
    /// Per-skill EM fitting needs at least this many learners (later improvement).
    pub em_min_learners: u32,
}

impl Default for MasteryConfig {
    fn default() -> Self {
        MasteryConfig {
            bkt: BktParams::default(),
            mastery_threshold: 0.95,
            em_min_learners: 30,
        }
    }
}

/// Analytic 5 (performanceAnalytics).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PerformanceConfig {
    /// Per-skill accuracy is reported from this many responses on.
    pub skill_min_n: u32,
}

impl Default for PerformanceConfig {
    fn default() -> Self {
        PerformanceConfig { skill_min_n: 5 }
    }
}

/// Analytic 6 (contentEffectiveness).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContentConfig {
    /// postAccuracy looks at responses this many days after completing an item.
    pub post_window_days: u32,
    /// lift needs at least this many responses.
    pub lift_min_n: u32,
    /// Kelley's upper/lower group fraction.
    pub extreme_group_fraction: f64,
    /// Flag an item with difficulty p below this…
    pub difficulty_low: f64,
    /// …or above this.
    pub difficulty_high: f64,
    /// Flag an item with corrected point-biserial r below this (r < 0: reject).
    pub discrimination_min: f64,
}

impl Default for ContentConfig {
    fn default() -> Self {
        ContentConfig {
            post_window_days: 14,
            lift_min_n: 5,
            extreme_group_fraction: 0.27,
            difficulty_low: 0.2,
            difficulty_high: 0.9,
            discrimination_min: 0.2,
        }
    }
}

/// Analytic 7 (coursePerformance), shared by 8, 10 and 14.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CourseConfig {
    /// "Active" means an event in the last this many days.
    pub active_days: u32,
    /// An enrollment is matured when enrolledAt ≤ asOf − factor × expected duration.
    pub maturity_factor: f64,
}

impl Default for CourseConfig {
    fn default() -> Self {
        CourseConfig {
            active_days: 28,
            maturity_factor: 2.0,
        }
    }
}

/// Analytic 8 (courseHealth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CourseHealthConfig {
    /// C of the Bayesian rating average (also used by analytic 10).
    pub rating_prior_weight: f64,
    /// An indicator counts only with n ≥ this.
    pub indicator_min_n: u32,
    /// Status `healthy` at ≥ this.
    pub healthy: f64,
    /// Status `at_risk` at ≥ this (below: `critical`).
    pub at_risk: f64,
    /// Indicator weights w_i.
    pub weights: HealthWeights,
}

impl Default for CourseHealthConfig {
    fn default() -> Self {
        CourseHealthConfig {
            rating_prior_weight: 5.0,
            indicator_min_n: 5,
            healthy: 70.0,
            at_risk: 50.0,
            weights: HealthWeights::default(),
        }
    }
}

/// Weights of the course-health indicators (equal by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthWeights {
    pub completion: f64,
    pub retention: f64,
    pub score: f64,
    pub rating: f64,
    pub pace: f64,
}

impl Default for HealthWeights {
    fn default() -> Self {
        HealthWeights {
            completion: 1.0,
            retention: 1.0,
            score: 1.0,
            rating: 1.0,
            pace: 1.0,
        }
    }
}

/// Analytic 9 (studentDistribution).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DistributionConfig {
    /// Equal histogram bins on \[0,1\].
    pub histogram_bins: u32,
    /// Quantiles reported (Hyndman–Fan type 7).
    pub quantiles: Vec<f64>,
    /// Band edges (<0.5, 0.5–0.7, 0.7–0.85, ≥0.85).
    pub band_edges: Vec<f64>,
}

impl Default for DistributionConfig {
    fn default() -> Self {
        DistributionConfig {
            histogram_bins: 10,
            quantiles: vec![0.1, 0.25, 0.5, 0.75, 0.9],
            band_edges: vec![0.5, 0.7, 0.85],
        }
    }
}

/// Analytic 10 (teachingEffectiveness).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeachingConfig {
    /// Fewer matched pairs than this set `lowSample`.
    pub low_sample_pairs: u32,
    /// Hake bands: low < this…
    pub hake_low: f64,
    /// …high > this.
    pub hake_high: f64,
    /// Heuristic effectivenessIndex weights: gain, completion, rating.
    pub index_weight_gain: f64,
    pub index_weight_completion: f64,
    pub index_weight_rating: f64,
}

impl Default for TeachingConfig {
    fn default() -> Self {
        TeachingConfig {
            low_sample_pairs: 5,
            hake_low: 0.3,
            hake_high: 0.7,
            index_weight_gain: 0.5,
            index_weight_completion: 0.25,
            index_weight_rating: 0.25,
        }
    }
}

/// Analytic 13 (learningCulture).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CultureConfig {
    pub window_weeks: u32,
    /// An active learner is active in at least this many weekly bins.
    pub active_learner_weeks: u32,
    /// Voluntary hours per capita per week that count as full marks.
    pub voluntary_hours_reference: f64,
}

impl Default for CultureConfig {
    fn default() -> Self {
        CultureConfig {
            window_weeks: 12,
            active_learner_weeks: 6,
            voluntary_hours_reference: 1.0,
        }
    }
}

/// Analytics 12 (strategicAlignment) and 14 (orgPerformance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrgConfig {
    /// strategicAlignment counts learning hours over this many weekly bins ending at `asOf`.
    pub alignment_window_weeks: u32,
    /// orgPerformance compares the period `(asOf − P, asOf]` with `(asOf − 2P, asOf − P]`;
    /// P in days. 90 days: a quarter, long enough for courses of a few weeks to mature inside
    /// one period, short enough to show change.
    pub performance_period_days: u32,
}

impl Default for OrgConfig {
    fn default() -> Self {
        OrgConfig {
            alignment_window_weeks: 12,
            performance_period_days: 90,
        }
    }
}

/// Analytic 17 (dropOffRisk).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DropOffConfig {
    /// daysSinceLastActivity is capped at this.
    pub days_since_cap: f64,
    /// Window of activeDays and hours features, in days.
    pub recent_days: u32,
    /// Band `high` at p ≥ this.
    pub band_high: f64,
    /// Band `medium` at p ≥ this.
    pub band_medium: f64,
    /// Enrollments younger than this many days get reason `too_early`.
    pub too_early_days: u32,
    /// An enrollment inactive this many days past its due date counts as failed (label).
    pub overdue_inactive_days: u32,
    /// Inverse L2 regularisation strength (scikit-learn's C).
    pub l2_c: f64,
    /// Number of top positive contributions turned into reasons.
    pub top_reasons: u32,
    /// Training snapshots are taken every this many days of an enrollment's life, starting at
    /// `too_early_days` (the weekly snapshots of analytics.md §17).
    pub snapshot_interval_days: u32,
    /// …up to and including this day of life.
    pub snapshot_max_day: u32,
}

impl Default for DropOffConfig {
    fn default() -> Self {
        DropOffConfig {
            days_since_cap: 60.0,
            recent_days: 14,
            band_high: 0.5,
            band_medium: 0.25,
            too_early_days: 7,
            overdue_inactive_days: 30,
            l2_c: 1.0,
            top_reasons: 3,
            snapshot_interval_days: 7,
            snapshot_max_day: 182,
        }
    }
}

/// Analytic 18 (performanceForecast).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastConfig {
    /// Forecast horizon in attempts.
    pub horizon: u32,
    /// Holt's method from this many observations on (OLS below).
    pub holt_min_n: u32,
    /// The OLS forecast gets a prediction interval from this many observations on.
    pub ols_interval_min_n: u32,
    /// Grid of (α, β*): from `grid_step` to 1 − `grid_step` in steps of `grid_step`.
    pub grid_step: f64,
    /// z of the Holt prediction interval: analytics.md's 1.96, written as Φ⁻¹(0.975) at full
    /// precision, which is what statsmodels uses, so that intervals match it at T1.
    pub interval_z: f64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            horizon: 3,
            holt_min_n: 5,
            ols_interval_min_n: 3,
            grid_step: 0.05,
            interval_z: 1.959_963_984_540_054,
        }
    }
}

/// Analytic 19 (recommendations).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecommendationsConfig {
    /// C of the shrunk course gain (C·m + n·g)/(C + n).
    pub effectiveness_prior_weight: f64,
    /// At most this many items per skill.
    pub max_per_skill: u32,
    /// Score multiplier when the item type equals the learner's `bestType` (1 disables it).
    pub best_type_bonus: f64,
}

impl Default for RecommendationsConfig {
    fn default() -> Self {
        RecommendationsConfig {
            effectiveness_prior_weight: 10.0,
            max_per_skill: 2,
            best_type_bonus: 1.1,
        }
    }
}

/// The problems [`Config::validate`] found, one sentence each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid analytics configuration: {}",
            self.problems.join("; ")
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Checks that every setting is in its meaningful range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, problem: &str| {
            if !ok {
                problems.push(problem.to_owned());
            }
        };
        let prob = |x: f64| x.is_finite() && (0.0..=1.0).contains(&x);
        let open_prob = |x: f64| x.is_finite() && x > 0.0 && x < 1.0;
        let positive = |x: f64| x.is_finite() && x > 0.0;

        check(
            self.samples.k_anonymity >= 1,
            "samples.k_anonymity must be ≥ 1",
        );
        check(
            open_prob(self.stats.significance_level),
            "stats.significance_level must be in (0,1)",
        );
        check(
            open_prob(self.stats.confidence_level),
            "stats.confidence_level must be in (0,1)",
        );
        check(
            self.session.gap_minutes >= 1,
            "session.gap_minutes must be ≥ 1",
        );
        check(
            positive(self.session.duration_cap_hours),
            "session.duration_cap_hours must be > 0",
        );
        check(
            self.velocity.window_weeks >= 1,
            "velocity.window_weeks must be ≥ 1",
        );
        check(
            self.velocity.current_bins >= 1,
            "velocity.current_bins must be ≥ 1",
        );
        check(
            self.velocity.min_trend_bins >= 3,
            "velocity.min_trend_bins must be ≥ 3",
        );
        let e = &self.engagement;
        check(e.window_days >= 1, "engagement.window_days must be ≥ 1");
        check(
            positive(e.target_hours_per_week),
            "engagement.target_hours_per_week must be > 0",
        );
        check(
            positive(e.recency_half_life_days),
            "engagement.recency_half_life_days must be > 0",
        );
        check(
            e.weights.is_valid(),
            "engagement.weights must be ≥ 0 with a positive sum",
        );
        check(
            e.band_low.is_finite() && e.band_high.is_finite() && e.band_low <= e.band_high,
            "engagement.band_low must be ≤ engagement.band_high",
        );
        let b = &self.mastery.bkt;
        check(
            prob(b.prior) && prob(b.transit) && open_prob(b.guess) && open_prob(b.slip),
            "mastery.bkt: prior and transit in [0,1], guess and slip in (0,1)",
        );
        check(prob(b.forget), "mastery.bkt.forget must be in [0,1]");
        check(
            prob(self.mastery.mastery_threshold),
            "mastery.mastery_threshold must be in [0,1]",
        );
        let c = &self.content;
        check(
            c.extreme_group_fraction.is_finite()
                && c.extreme_group_fraction > 0.0
                && c.extreme_group_fraction <= 0.5,
            "content.extreme_group_fraction must be in (0,0.5]",
        );
        check(
            prob(c.difficulty_low)
                && prob(c.difficulty_high)
                && c.difficulty_low < c.difficulty_high,
            "content.difficulty_low < difficulty_high, both in [0,1]",
        );
        check(
            positive(self.course.maturity_factor),
            "course.maturity_factor must be > 0",
        );
        let h = &self.course_health;
        check(
            h.rating_prior_weight.is_finite() && h.rating_prior_weight >= 0.0,
            "course_health.rating_prior_weight must be ≥ 0",
        );
        let hw = &h.weights;
        check(
            [hw.completion, hw.retention, hw.score, hw.rating, hw.pace]
                .iter()
                .all(|w| w.is_finite() && *w >= 0.0),
            "course_health.weights must be ≥ 0",
        );
        check(
            h.at_risk <= h.healthy,
            "course_health.at_risk must be ≤ healthy",
        );
        check(
            self.distribution.histogram_bins >= 1,
            "distribution.histogram_bins must be ≥ 1",
        );
        check(
            self.distribution.quantiles.iter().all(|q| prob(*q)),
            "distribution.quantiles must be in [0,1]",
        );
        check(
            self.culture.window_weeks >= 1,
            "culture.window_weeks must be ≥ 1",
        );
        check(
            positive(self.culture.voluntary_hours_reference),
            "culture.voluntary_hours_reference must be > 0",
        );
        check(
            self.org.alignment_window_weeks >= 1,
            "org.alignment_window_weeks must be ≥ 1",
        );
        check(
            self.org.performance_period_days >= 1,
            "org.performance_period_days must be ≥ 1",
        );
        let d = &self.drop_off;
        check(positive(d.l2_c), "drop_off.l2_c must be > 0");
        check(
            prob(d.band_medium) && prob(d.band_high) && d.band_medium <= d.band_high,
            "drop_off.band_medium ≤ drop_off.band_high, both in [0,1]",
        );
        check(
            d.snapshot_interval_days >= 1,
            "drop_off.snapshot_interval_days must be ≥ 1",
        );
        check(
            d.days_since_cap.is_finite() && d.days_since_cap > 0.0,
            "drop_off.days_since_cap must be > 0",
        );
        check(d.recent_days >= 1, "drop_off.recent_days must be ≥ 1");
        check(
            (1..=3).contains(&self.forecast.horizon),
            "forecast.horizon must be in 1..=3",
        );
        check(
            self.forecast.holt_min_n >= 2,
            "forecast.holt_min_n must be ≥ 2",
        );
        check(
            self.forecast.grid_step.is_finite() && (0.001..=0.5).contains(&self.forecast.grid_step),
            "forecast.grid_step must be in [0.001,0.5]",
        );
        check(
            positive(self.forecast.interval_z),
            "forecast.interval_z must be > 0",
        );
        check(
            self.recommendations.effectiveness_prior_weight.is_finite()
                && self.recommendations.effectiveness_prior_weight >= 0.0,
            "recommendations.effectiveness_prior_weight must be ≥ 0",
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values_and_valid() {
        let cfg = Config::default();
        assert_eq!(cfg.velocity.window_weeks, 12);
        assert_eq!(cfg.velocity.current_bins, 4);
        assert_eq!(cfg.engagement.window_days, 28);
        assert_eq!(cfg.engagement.target_hours_per_week, 2.0);
        assert_eq!(cfg.engagement.weights.time_on_task, 0.25);
        assert_eq!(
            (cfg.engagement.band_high, cfg.engagement.band_low),
            (70.0, 40.0)
        );
        assert_eq!(cfg.session.gap_minutes, 30);
        assert_eq!(cfg.session.duration_cap_hours, 4.0);
        assert_eq!(cfg.samples.k_anonymity, 5);
        assert_eq!(cfg.samples.item_statistics_min_n, 30);
        assert_eq!(
            cfg.mastery.bkt,
            BktParams {
                prior: 0.2,
                transit: 0.15,
                guess: 0.25,
                slip: 0.1,
                forget: 0.0
            }
        );
        assert_eq!(cfg.mastery.mastery_threshold, 0.95);
        assert_eq!(cfg.stats.significance_level, 0.05);
        assert_eq!(cfg.org.alignment_window_weeks, 12);
        assert_eq!(cfg.org.performance_period_days, 90);
        assert_eq!(cfg.validate(), Ok(()));
    }

    #[test]
    fn config_deserialises_partially_and_rejects_unknown_keys() {
        let cfg: Config = serde_json::from_value(serde_json::json!({
            "velocity": {"window_weeks": 8}
        }))
        .expect("parses");
        assert_eq!(cfg.velocity.window_weeks, 8);
        assert_eq!(cfg.velocity.current_bins, 4);
        let bad = serde_json::from_value::<Config>(serde_json::json!({"velocity": {"weeks": 8}}));
        assert!(bad.is_err());
    }

    #[test]
    fn validate_lists_every_problem() {
        let mut cfg = Config::default();
        cfg.velocity.window_weeks = 0;
        cfg.engagement.weights.recency = -1.0;
        cfg.engagement.target_hours_per_week = f64::NAN;
        let err = cfg.validate().expect_err("invalid");
        assert_eq!(err.problems.len(), 3);
        assert!(err.to_string().contains("velocity.window_weeks"));
    }
}
