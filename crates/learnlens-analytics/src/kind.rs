//! The catalogue of analytics: each one's name, route slug, role and subject, and [`compute`],
//! the one entry point that runs any of them by kind and returns its JSON payload. The service
//! (API, cache keys, batch) and the reference-check CLI go through here, so adding an analytic
//! means adding it here once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::comparison::peer_comparison;
use crate::comparison::skill_demand::{self, DemandScope};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex};
use crate::memo::CohortMemo;
use crate::predictive::drop_off::{self, DropOffModel};
use crate::predictive::{forecast, recommendations};
use crate::{learner, org, trainer};

/// Which role's routes an analytic belongs to (its URL prefix in api.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    Learner,
    Trainer,
    OrgAdmin,
    Comparison,
    Predictive,
}

/// What the subject id of an analytic names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    /// A learner's user id.
    User,
    /// A trainer's user id.
    Trainer,
    /// An organisation id.
    Org,
    /// An organisation id, or `global` for every organisation.
    OrgOrGlobal,
}

/// The analytics, in the order of analytics.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AnalyticsKind {
    LearnerVelocity,
    SkillGapMatrix,
    EngagementScore,
    MasteryProgress,
    PerformanceAnalytics,
    ContentEffectiveness,
    CoursePerformance,
    CourseHealth,
    StudentDistribution,
    TeachingEffectiveness,
    OrgLearningVelocity,
    StrategicAlignment,
    LearningCulture,
    OrgPerformance,
    PeerComparison,
    SkillDemand,
    DropOffRisk,
    PerformanceForecast,
    Recommendations,
}

impl AnalyticsKind {
    pub const ALL: [AnalyticsKind; 19] = [
        AnalyticsKind::LearnerVelocity,
        AnalyticsKind::SkillGapMatrix,
        AnalyticsKind::EngagementScore,
        AnalyticsKind::MasteryProgress,
        AnalyticsKind::PerformanceAnalytics,
        AnalyticsKind::ContentEffectiveness,
        AnalyticsKind::CoursePerformance,
        AnalyticsKind::CourseHealth,
        AnalyticsKind::StudentDistribution,
        AnalyticsKind::TeachingEffectiveness,
        AnalyticsKind::OrgLearningVelocity,
        AnalyticsKind::StrategicAlignment,
        AnalyticsKind::LearningCulture,
        AnalyticsKind::OrgPerformance,
        AnalyticsKind::PeerComparison,
        AnalyticsKind::SkillDemand,
        AnalyticsKind::DropOffRisk,
        AnalyticsKind::PerformanceForecast,
        AnalyticsKind::Recommendations,
    ];

    /// The name of analytics.md (`learnerVelocity`); also the stored `analytics_type`.
    pub fn name(self) -> &'static str {
        use AnalyticsKind::*;
        match self {
            LearnerVelocity => "learnerVelocity",
            SkillGapMatrix => "skillGapMatrix",
            EngagementScore => "engagementScore",
            MasteryProgress => "masteryProgress",
            PerformanceAnalytics => "performanceAnalytics",
            ContentEffectiveness => "contentEffectiveness",
            CoursePerformance => "coursePerformance",
            CourseHealth => "courseHealth",
            StudentDistribution => "studentDistribution",
            TeachingEffectiveness => "teachingEffectiveness",
            OrgLearningVelocity => "orgLearningVelocity",
            StrategicAlignment => "strategicAlignment",
            LearningCulture => "learningCulture",
            OrgPerformance => "orgPerformance",
            PeerComparison => "peerComparison",
            SkillDemand => "skillDemand",
            DropOffRisk => "dropOffRisk",
            PerformanceForecast => "performanceForecast",
            Recommendations => "recommendations",
        }
    }

    /// The last segment of its route (`velocity` in `learner/analytics/velocity/:userId`);
    /// unique within its [`Group`].
    pub fn slug(self) -> &'static str {
        use AnalyticsKind::*;
        match self {
            LearnerVelocity => "velocity",
            SkillGapMatrix => "skill-gap",
            EngagementScore => "engagement",
            MasteryProgress => "mastery",
            PerformanceAnalytics => "performance",
            ContentEffectiveness => "content-effectiveness",
            CoursePerformance => "course-performance",
            CourseHealth => "course-health",
            StudentDistribution => "student-distribution",
            TeachingEffectiveness => "teaching-effectiveness",
            OrgLearningVelocity => "learning-velocity",
            StrategicAlignment => "strategic-alignment",
            LearningCulture => "learning-culture",
            OrgPerformance => "performance",
            PeerComparison => "peer-comparison",
            SkillDemand => "skill-demand",
            DropOffRisk => "drop-off-risk",
            PerformanceForecast => "performance-forecast",
            Recommendations => "recommendations",
        }
    }

    pub fn group(self) -> Group {
        use AnalyticsKind::*;
        match self {
            LearnerVelocity | SkillGapMatrix | EngagementScore | MasteryProgress
            | PerformanceAnalytics | ContentEffectiveness => Group::Learner,
            CoursePerformance | CourseHealth | StudentDistribution | TeachingEffectiveness => {
                Group::Trainer
            }
            OrgLearningVelocity | StrategicAlignment | LearningCulture | OrgPerformance => {
                Group::OrgAdmin
            }
            PeerComparison | SkillDemand => Group::Comparison,
            DropOffRisk | PerformanceForecast | Recommendations => Group::Predictive,
        }
    }

    pub fn subject(self) -> SubjectKind {
        match self {
            // The one comparison analytic about a population rather than a learner.
            AnalyticsKind::SkillDemand => SubjectKind::OrgOrGlobal,
            _ => match self.group() {
                Group::Learner | Group::Comparison | Group::Predictive => SubjectKind::User,
                Group::Trainer => SubjectKind::Trainer,
                Group::OrgAdmin => SubjectKind::Org,
            },
        }
    }

    /// The kind with this route slug in this group.
    pub fn from_slug(group: Group, slug: &str) -> Option<AnalyticsKind> {
        AnalyticsKind::ALL
            .into_iter()
            .find(|k| k.group() == group && k.slug() == slug)
    }

    /// The kind with this analytics.md name.
    pub fn from_name(name: &str) -> Option<AnalyticsKind> {
        AnalyticsKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// Trained models some analytics need; `None` where none is available.
#[derive(Debug, Clone, Copy, Default)]
pub struct Models<'a> {
    pub drop_off: Option<&'a DropOffModel>,
}

/// The subject id that selects global scope for [`AnalyticsKind::SkillDemand`].
pub const GLOBAL_SUBJECT: &str = "global";

/// The subject ids `kind` is computed for over `data`, sorted and distinct: users with the role
/// `learner` for learner, comparison and predictive analytics, users with the role `trainer`
/// for trainer analytics, every organisation for organisation analytics, and every
/// organisation plus [`GLOBAL_SUBJECT`] for skillDemand.
pub fn subjects(data: &Dataset, kind: AnalyticsKind) -> Vec<String> {
    let with_role = |role: &str| -> Vec<String> {
        data.users
            .iter()
            .filter(|u| u.roles.iter().any(|r| r == role))
            .map(|u| u.id.clone())
            .collect()
    };
    let orgs = || -> Vec<String> { data.organizations.iter().map(|o| o.id.clone()).collect() };
    let mut ids = match kind.subject() {
        SubjectKind::User => with_role("learner"),
        SubjectKind::Trainer => with_role("trainer"),
        SubjectKind::Org => orgs(),
        SubjectKind::OrgOrGlobal => {
            let mut ids = orgs();
            ids.push(GLOBAL_SUBJECT.to_owned());
            ids
        }
    };
    ids.sort();
    ids.dedup();
    ids
}

/// Computes one analytic for one subject and returns its payload as JSON.
pub fn compute(
    kind: AnalyticsKind,
    idx: &DatasetIndex<'_>,
    subject: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    models: Models<'_>,
) -> Result<serde_json::Value, serde_json::Error> {
    compute_shared(kind, idx, subject, as_of, cfg, models, &CohortMemo::new())
}

/// [`compute`] with the cohort quantities several subjects (or kinds) share taken from (and
/// added to) `memo` ([`CohortMemo`]); the same payload. Computing many subjects of one index
/// at one `asOf` through one memo avoids rescanning each cohort per subject.
pub fn compute_shared<'a>(
    kind: AnalyticsKind,
    idx: &DatasetIndex<'a>,
    subject: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    models: Models<'_>,
    memo: &CohortMemo<'a>,
) -> Result<serde_json::Value, serde_json::Error> {
    use AnalyticsKind::*;
    let s = subject;
    match kind {
        LearnerVelocity => {
            serde_json::to_value(learner::velocity::compute_indexed(idx, s, as_of, cfg))
        }
        SkillGapMatrix => {
            serde_json::to_value(learner::skill_gap::compute_indexed(idx, s, as_of, cfg))
        }
        EngagementScore => {
            serde_json::to_value(learner::engagement::compute_indexed(idx, s, as_of, cfg))
        }
        MasteryProgress => {
            serde_json::to_value(learner::mastery::compute_indexed(idx, s, as_of, cfg))
        }
        PerformanceAnalytics => {
            serde_json::to_value(learner::performance::compute_indexed(idx, s, as_of, cfg))
        }
        ContentEffectiveness => {
            serde_json::to_value(learner::content::compute_shared(idx, s, as_of, cfg, memo))
        }
        CoursePerformance => serde_json::to_value(trainer::course_performance::compute_shared(
            idx, s, as_of, cfg, memo,
        )),
        CourseHealth => {
            serde_json::to_value(trainer::course_health::compute_indexed(idx, s, as_of, cfg))
        }
        StudentDistribution => serde_json::to_value(trainer::student_distribution::compute_shared(
            idx,
            s,
            trainer::student_distribution::Metric::default(),
            as_of,
            cfg,
            memo,
        )),
        TeachingEffectiveness => {
            serde_json::to_value(trainer::teaching::compute_indexed(idx, s, as_of, cfg))
        }
        OrgLearningVelocity => serde_json::to_value(org::learning_velocity::compute_shared(
            idx, s, as_of, cfg, memo,
        )),
        StrategicAlignment => serde_json::to_value(org::strategic_alignment::compute_shared(
            idx, s, as_of, cfg, memo,
        )),
        LearningCulture => serde_json::to_value(org::learning_culture::compute_shared(
            idx, s, as_of, cfg, memo,
        )),
        OrgPerformance => {
            serde_json::to_value(org::performance::compute_indexed(idx, s, as_of, cfg))
        }
        PeerComparison => {
            serde_json::to_value(peer_comparison::compute_shared(idx, s, as_of, cfg, memo))
        }
        SkillDemand => {
            let scope = if s == GLOBAL_SUBJECT {
                DemandScope::Global
            } else {
                DemandScope::Org {
                    org_id: s.to_owned(),
                }
            };
            serde_json::to_value(skill_demand::compute_indexed(idx, &scope, as_of, cfg))
        }
        DropOffRisk => serde_json::to_value(drop_off::compute_shared(
            idx,
            s,
            as_of,
            models.drop_off,
            cfg,
            memo,
        )),
        PerformanceForecast => serde_json::to_value(forecast::compute_indexed(idx, s, as_of, cfg)),
        Recommendations => {
            serde_json::to_value(recommendations::compute_shared(idx, s, as_of, cfg, memo))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Dataset;

    #[test]
    fn names_are_unique_and_slugs_unique_within_a_group() {
        let mut names = std::collections::BTreeSet::new();
        let mut slugs = std::collections::BTreeSet::new();
        for k in AnalyticsKind::ALL {
            assert!(names.insert(k.name()), "{}", k.name());
            assert!(slugs.insert((k.group() as u8, k.slug())), "{}", k.slug());
            assert_eq!(AnalyticsKind::from_slug(k.group(), k.slug()), Some(k));
            assert_eq!(AnalyticsKind::from_name(k.name()), Some(k));
            let json = serde_json::to_value(k).unwrap_or_default();
            assert_eq!(json, k.name(), "serde name is the analytics.md name");
        }
        assert_eq!(AnalyticsKind::ALL.len(), 19);
        assert!(
            AnalyticsKind::ALL.windows(2).all(|w| w[0] < w[1]),
            "analytics.md order"
        );
        assert_eq!(
            AnalyticsKind::from_slug(Group::Comparison, "peer-comparison"),
            Some(AnalyticsKind::PeerComparison)
        );
        assert_eq!(AnalyticsKind::PeerComparison.subject(), SubjectKind::User);
        assert_eq!(
            AnalyticsKind::SkillDemand.subject(),
            SubjectKind::OrgOrGlobal
        );
        assert_eq!(
            AnalyticsKind::from_slug(Group::Predictive, "recommendations"),
            Some(AnalyticsKind::Recommendations)
        );
        assert_eq!(AnalyticsKind::Recommendations.subject(), SubjectKind::User);
        assert_eq!(AnalyticsKind::from_slug(Group::Trainer, "velocity"), None);
        assert_eq!(
            AnalyticsKind::from_slug(Group::OrgAdmin, "performance"),
            Some(AnalyticsKind::OrgPerformance)
        );
    }

    #[test]
    fn every_kind_computes_a_payload_with_the_common_header_on_empty_data() {
        let data = Dataset::default();
        let idx = data.index();
        let as_of = chrono::DateTime::parse_from_rfc3339("2026-11-26T00:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        for k in AnalyticsKind::ALL {
            let v = compute(
                k,
                &idx,
                "nobody",
                as_of,
                &Config::default(),
                Models::default(),
            );
            let v = v.unwrap_or_default();
            assert!(v["status"].is_string(), "{}: {v}", k.name());
            assert!(v["asOf"].is_string(), "{}: {v}", k.name());
            assert!(v["reasons"].is_array(), "{}: {v}", k.name());
        }
    }
}
