//! Analytic 2, **skillGapMatrix**: the learner's current level against the levels the job role
//! and the organisation's strategic goals ask for, weighted by importance
//! (Importance–Performance Analysis, Martilla & James 1977).
//!
//! Interpretations (where `analytics.md` leaves a choice):
//! - **Targets** are the requirements of the user's job role plus the strategic goals of the
//!   user's organisation whose scope is `all` or lists the user's `jobRoleId` (a user without a
//!   job role only gets `all` goals). A skill that is both a requirement and a goal gets the
//!   higher of the two target levels. Duplicate requirements of one skill: the highest target
//!   and the highest weight. Duplicate goals of one skill: the highest target, weights added.
//! - **roleWeight** = the requirement's weight (negative or non-finite weights read as 0), 1.0
//!   for a goal-only skill. **w_s** = the (summed) weight of the scoped goals on s, 0 if none;
//!   **Σw** = the sum of the weights of all goals scoped to this user (not of every goal of the
//!   organisation), so importance = roleWeight·(1 + w_s/Σw) ∈ \[roleWeight, 2·roleWeight\]. Goals
//!   whose weight is not > 0 are ignored (reason `invalid_goal_ignored`).
//! - A target ≤ 0 (or not finite) drops the skill (`n.droppedTargets`), as normGap = gap/target
//!   is undefined.
//! - **current** = the user's `UserSkill.currentLevel` stamped ≤ `asOf`; with several records
//!   the source decides (`assessed` over `inferred` over `self`), then the latest `updatedAt`,
//!   then the later record in the dataset. Negative levels read as 0; non-finite ones are
//!   ignored. No record: `current = null`, status `unassessed`.
//! - gap = max(0, target − current), normalizedGap = gap/target; an **unassessed** skill is
//!   prioritised as gap = target (so `gap` = target and `normalizedGap` = 1 in the output), and
//!   excluded from readiness.
//! - status: `met` when gap = 0, `gap` when gap > 0, `unassessed` when current is `null`.
//! - readiness = Σ importance·min(cur, tgt)/tgt ÷ Σ importance over assessed skills; `null`
//!   when no skill is assessed (or their importances sum to 0).
//! - `skills` are sorted by priority (descending), then skill id; `topGaps` = the ids of the
//!   3 highest-priority skills with gap > 0 (unassessed included), same order.
//! - **pMastery** = the skill's BKT pMastery from masteryProgress (analytic 4, same `asOf` and
//!   configuration) when the learner has at least one observation of the skill (an item
//!   response tagged with it); `null` otherwise, so that the prior L0 is never mistaken for
//!   evidence. Also `null` when the BKT parameters are unusable.
//! - No targets (no role requirements, no scoped goals, or all dropped), or an unknown user:
//!   status `insufficient_data` with reason `no_targets` / `unknown_user`.
//!
//! `n`: `targets` (skills in the matrix), `assessed`, `requirements` (role requirements read),
//! `goals` (scoped goals used), `droppedTargets`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::mastery;
use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex, SkillSource, User, UserSkill, nonneg_finite};

/// The skillGapMatrix payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillGapMatrix {
    #[serde(flatten)]
    pub header: Header,
    pub skills: Vec<SkillGap>,
    /// Importance-weighted share of the targets reached, over assessed skills, in \[0,1\].
    pub readiness: Option<f64>,
    pub met_count: u64,
    pub unassessed_count: u64,
    /// Skill ids of the highest-priority open gaps.
    pub top_gaps: Vec<String>,
}

/// One row of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillGap {
    pub skill_id: String,
    /// `null` = unassessed.
    pub current: Option<f64>,
    pub target: f64,
    pub gap: f64,
    pub normalized_gap: f64,
    pub importance: f64,
    pub priority: f64,
    /// BKT probability of mastery from masteryProgress (analytic 4); `null` when the learner
    /// has no observation of the skill.
    pub p_mastery: Option<f64>,
    pub status: GapStatus,
}

/// Whether a target is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapStatus {
    Met,
    Gap,
    Unassessed,
}

/// Target and weights collected for one skill.
#[derive(Debug, Default)]
struct TargetParts {
    role_target: Option<f64>,
    role_weight: Option<f64>,
    goal_target: Option<f64>,
    goal_weight: f64,
}

fn max_opt(a: Option<f64>, b: f64) -> Option<f64> {
    Some(a.map_or(b, |a| a.max(b)))
}

/// Computes skillGapMatrix for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> SkillGapMatrix {
    compute_indexed(&data.index(), user_id, as_of, cfg)
}

/// Computes skillGapMatrix for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> SkillGapMatrix {
    let mut m = matrix(idx, user_id, as_of, cfg);
    if !m.skills.is_empty() {
        let p_mastery = mastery::observed_p_mastery(idx, user_id, as_of, cfg);
        for s in &mut m.skills {
            s.p_mastery = p_mastery.get(&s.skill_id).copied();
        }
    }
    m
}

/// The importance of each target skill of `user_id` (the `importance` column of the matrix),
/// for masteryProgress's weightedMastery. Empty when the matrix is.
pub(crate) fn importances(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> BTreeMap<String, f64> {
    matrix(idx, user_id, as_of, cfg)
        .skills
        .into_iter()
        .map(|s| (s.skill_id, s.importance))
        .collect()
}

/// The matrix without `pMastery` (which needs analytic 4; analytic 4 needs the importances,
/// so the two meet here instead of calling each other in a circle).
fn matrix(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> SkillGapMatrix {
    let mut header = Header::new(as_of);
    let Some(user) = idx.user(user_id) else {
        header.status = Status::InsufficientData;
        header.add_reason("unknown_user");
        return empty(header);
    };
    let UserTargets {
        mut skills,
        requirements,
        goals,
        dropped,
        reasons,
    } = user_targets(idx, user, as_of);
    for reason in reasons {
        header.add_reason(reason);
    }
    skills.sort_by(by_priority);

    let (mut weighted, mut total) = (0.0_f64, 0.0_f64);
    for s in &skills {
        if let Some(c) = s.current {
            weighted = (weighted + s.importance * (c.min(s.target) / s.target)).min(f64::MAX);
            total = (total + s.importance).min(f64::MAX);
        }
    }
    let readiness = (total > 0.0).then(|| (weighted / total).clamp(0.0, 1.0));
    let top_n = usize::try_from(cfg.skill_gap.top_gaps).unwrap_or(usize::MAX);
    let top_gaps = skills
        .iter()
        .filter(|s| s.gap > 0.0)
        .take(top_n)
        .map(|s| s.skill_id.clone())
        .collect();
    let count = |status| skills.iter().filter(|s| s.status == status).count();
    let met_count = count(GapStatus::Met);
    let unassessed_count = count(GapStatus::Unassessed);

    if skills.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_targets");
    }
    header.set_n("targets", skills.len());
    header.set_n("assessed", skills.len() - unassessed_count);
    header.set_n("requirements", requirements);
    header.set_n("goals", goals);
    header.set_n("droppedTargets", dropped);

    SkillGapMatrix {
        header,
        skills,
        readiness,
        met_count: u64::try_from(met_count).unwrap_or(u64::MAX),
        unassessed_count: u64::try_from(unassessed_count).unwrap_or(u64::MAX),
        top_gaps,
    }
}

/// The target rows of one user, before sorting, and what was read to build them.
///
/// Shared with skillDemand (analytic 16), which aggregates these rows over a population: both
/// analytics read targets, weights and current levels by the rules of the module
/// documentation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UserTargets {
    /// One row per target skill, in skill id order (`pMastery` is `None`).
    pub skills: Vec<SkillGap>,
    /// Role requirements read.
    pub requirements: usize,
    /// Scoped goals used.
    pub goals: usize,
    /// Targets dropped because their level is not > 0.
    pub dropped: usize,
    /// Reason codes met on the way (`unknown_job_role`, `invalid_goal_ignored`).
    pub reasons: Vec<&'static str>,
}

/// The targets of `user` at `as_of`: role requirements plus scoped goals, each with its current
/// level, gap, normalised gap, importance and priority (see the module documentation).
pub(crate) fn user_targets(
    idx: &DatasetIndex<'_>,
    user: &User,
    as_of: DateTime<Utc>,
) -> UserTargets {
    let mut reasons = Vec::new();
    let job_role_id = user.job_role_id.as_deref();

    let mut parts: BTreeMap<&str, TargetParts> = BTreeMap::new();
    let mut requirements = 0usize;
    if let Some(role_id) = job_role_id {
        match idx.job_role(role_id) {
            Some(role) => {
                for req in &role.requirements {
                    requirements += 1;
                    let p = parts.entry(req.skill_id.as_str()).or_default();
                    p.role_target = max_opt(p.role_target, req.target_level);
                    p.role_weight = max_opt(p.role_weight, nonneg_finite(req.weight));
                }
            }
            None => reasons.push("unknown_job_role"),
        }
    }
    let mut goals = 0usize;
    let mut goal_weight_sum = 0.0_f64;
    if let Some(org) = idx.organization(&user.org_id) {
        for goal in org
            .strategic_goals
            .iter()
            .filter(|g| g.scope.includes(job_role_id))
        {
            if !(goal.weight.is_finite() && goal.weight > 0.0) {
                if !reasons.contains(&"invalid_goal_ignored") {
                    reasons.push("invalid_goal_ignored");
                }
                continue;
            }
            goals += 1;
            goal_weight_sum = (goal_weight_sum + goal.weight).min(f64::MAX);
            let p = parts.entry(goal.skill_id.as_str()).or_default();
            p.goal_target = max_opt(p.goal_target, goal.target_level);
            p.goal_weight = (p.goal_weight + goal.weight).min(f64::MAX);
        }
    }

    let levels = current_levels(idx.user_skills_of(&user.id), as_of);
    let mut dropped = 0usize;
    let mut skills = Vec::with_capacity(parts.len());
    for (skill_id, p) in parts {
        let target = match (p.role_target, p.goal_target) {
            (Some(a), Some(b)) => a.max(b),
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => f64::NAN,
        };
        if !(target.is_finite() && target > 0.0) {
            dropped += 1;
            continue;
        }
        let role_weight = p.role_weight.unwrap_or(1.0);
        let share = if goal_weight_sum > 0.0 {
            p.goal_weight / goal_weight_sum
        } else {
            0.0
        };
        let importance = (role_weight * (1.0 + share)).min(f64::MAX);
        let current = levels.get(skill_id).copied();
        let (gap, status) = match current {
            // current ≥ 0, so 0 ≤ gap ≤ target: never overflows.
            Some(c) if c < target => (target - c, GapStatus::Gap),
            Some(_) => (0.0, GapStatus::Met),
            None => (target, GapStatus::Unassessed),
        };
        let normalized_gap = (gap / target).clamp(0.0, 1.0);
        skills.push(SkillGap {
            skill_id: skill_id.to_owned(),
            current,
            target,
            gap,
            normalized_gap,
            importance,
            priority: normalized_gap * importance,
            p_mastery: None,
            status,
        });
    }
    UserTargets {
        skills,
        requirements,
        goals,
        dropped,
        reasons,
    }
}

fn empty(header: Header) -> SkillGapMatrix {
    SkillGapMatrix {
        header,
        skills: Vec::new(),
        readiness: None,
        met_count: 0,
        unassessed_count: 0,
        top_gaps: Vec::new(),
    }
}

/// Priority descending, then skill id ascending.
fn by_priority(a: &SkillGap, b: &SkillGap) -> Ordering {
    b.priority
        .total_cmp(&a.priority)
        .then_with(|| a.skill_id.cmp(&b.skill_id))
}

fn source_rank(source: SkillSource) -> u8 {
    match source {
        SkillSource::Assessed => 3,
        SkillSource::Inferred => 2,
        SkillSource::SelfReported => 1,
    }
}

/// The chosen current level of each skill (see the module documentation).
pub(crate) fn current_levels<'a>(
    records: &[&'a UserSkill],
    as_of: DateTime<Utc>,
) -> BTreeMap<&'a str, f64> {
    let mut best: BTreeMap<&'a str, &'a UserSkill> = BTreeMap::new();
    for record in records
        .iter()
        .filter(|r| r.updated_at <= as_of && r.current_level.is_finite())
    {
        let better = match best.get(record.skill_id.as_str()) {
            None => true,
            Some(held) => {
                (source_rank(record.source), record.updated_at)
                    >= (source_rank(held.source), held.updated_at)
            }
        };
        if better {
            best.insert(record.skill_id.as_str(), record);
        }
    }
    best.into_iter()
        .map(|(skill, r)| (skill, r.current_level.max(0.0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{GoalScope, JobRole, Organization, SkillRequirement, StrategicGoal};
    use crate::test_support::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn req(skill: &str, target: f64, weight: f64) -> SkillRequirement {
        SkillRequirement {
            skill_id: skill.into(),
            target_level: target,
            weight,
        }
    }

    fn goal(skill: &str, weight: f64, target: f64, scope: GoalScope) -> StrategicGoal {
        StrategicGoal {
            skill_id: skill.into(),
            weight,
            target_level: target,
            scope,
        }
    }

    fn level(skill: &str, level: f64, source: SkillSource, at: &str) -> UserSkill {
        UserSkill {
            user_id: "u1".into(),
            skill_id: skill.into(),
            current_level: level,
            source,
            updated_at: ts(at),
        }
    }

    fn example() -> Dataset {
        Dataset {
            organizations: vec![Organization {
                id: "o1".into(),
                name: "Org".into(),
                strategic_goals: vec![
                    goal("s1", 3.0, 5.0, GoalScope::All),
                    goal("s4", 1.0, 2.0, GoalScope::JobRoles(vec!["r1".into()])),
                    goal("s6", 5.0, 3.0, GoalScope::JobRoles(vec!["r2".into()])), // not scoped
                ],
            }],
            job_roles: vec![JobRole {
                id: "r1".into(),
                org_id: "o1".into(),
                name: "Engineer".into(),
                requirements: vec![
                    req("s1", 4.0, 1.0),
                    req("s2", 3.0, 0.5),
                    req("s3", 2.0, 2.0),
                    req("s5", 0.0, 1.0), // target 0: dropped
                ],
            }],
            users: vec![user("u1", "o1", Some("r1")), user("u2", "o1", None)],
            user_skills: vec![
                level("s1", 4.0, SkillSource::SelfReported, "2025-01-01T00:00:00Z"),
                level("s1", 3.0, SkillSource::Assessed, "2025-02-01T00:00:00Z"),
                level("s2", 3.5, SkillSource::Inferred, "2025-03-01T00:00:00Z"),
                level("s2", 1.0, SkillSource::Assessed, "2025-07-01T00:00:00Z"), // after asOf
                level("s4", 1.0, SkillSource::SelfReported, "2025-03-01T00:00:00Z"),
            ],
            ..Dataset::default()
        }
    }

    fn row<'a>(m: &'a SkillGapMatrix, skill: &str) -> &'a SkillGap {
        m.skills
            .iter()
            .find(|s| s.skill_id == skill)
            .expect("skill in matrix")
    }

    #[test]
    fn targets_merge_role_requirements_and_scoped_goals_taking_the_higher_level() {
        let m = compute(&example(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(m.header.status, Status::Ok);
        let ids: Vec<&str> = m.skills.iter().map(|s| s.skill_id.as_str()).collect();
        // Sorted by priority: s3 (2.0), s1 (0.7), s4 (0.625), s2 (0).
        assert_eq!(ids, ["s3", "s1", "s4", "s2"]);
        assert_eq!(row(&m, "s1").target, 5.0); // max(requirement 4, goal 5)
        assert_eq!(row(&m, "s4").target, 2.0); // goal-only
        assert_eq!(m.header.n.get("droppedTargets"), Some(&1));
        assert_eq!(m.header.n.get("goals"), Some(&2));
        assert_eq!(m.header.n.get("requirements"), Some(&4));
    }

    #[test]
    fn gap_importance_and_priority_follow_the_ipa_formulas() {
        let m = compute(&example(), "u1", ts(AS_OF), &Config::default());
        // Σw = 3 + 1 over the goals scoped to r1.
        let s1 = row(&m, "s1");
        assert_eq!(s1.current, Some(3.0)); // assessed beats the newer-or-older self report
        assert_eq!((s1.gap, s1.normalized_gap), (2.0, 0.4));
        close(s1.importance, 1.0 * (1.0 + 3.0 / 4.0));
        close(s1.priority, 0.4 * 1.75);
        assert_eq!(s1.status, GapStatus::Gap);

        let s2 = row(&m, "s2");
        assert_eq!(s2.current, Some(3.5)); // the assessed record is after asOf
        assert_eq!((s2.gap, s2.normalized_gap, s2.priority), (0.0, 0.0, 0.0));
        close(s2.importance, 0.5);
        assert_eq!(s2.status, GapStatus::Met);

        let s4 = row(&m, "s4");
        close(s4.importance, 1.0 * (1.0 + 1.0 / 4.0)); // goal-only: roleWeight 1
        close(s4.priority, 0.5 * 1.25);
        assert!(m.skills.iter().all(|s| s.p_mastery.is_none()));
    }

    #[test]
    fn an_unassessed_skill_is_prioritised_as_a_full_gap_and_excluded_from_readiness() {
        let m = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let s3 = row(&m, "s3");
        assert_eq!(s3.current, None);
        assert_eq!(s3.status, GapStatus::Unassessed);
        assert_eq!((s3.gap, s3.normalized_gap), (2.0, 1.0));
        close(s3.priority, 2.0);
        // readiness over s1, s2, s4 only:
        // (1.75·3/5 + 0.5·1 + 1.25·1/2) / (1.75 + 0.5 + 1.25) = 2.175 / 3.5
        close(m.readiness.expect("readiness"), 2.175 / 3.5);
        assert_eq!((m.met_count, m.unassessed_count), (1, 1));
        assert_eq!(m.header.n.get("assessed"), Some(&3));
    }

    #[test]
    fn top_gaps_are_the_three_highest_priorities_with_an_open_gap() {
        let m = compute(&example(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(m.top_gaps, ["s3", "s1", "s4"]);
    }

    #[test]
    fn priority_ties_are_broken_by_skill_id() {
        let mut data = example();
        data.organizations[0].strategic_goals.clear();
        data.user_skills.clear();
        data.job_roles[0].requirements = vec![
            req("b", 2.0, 1.0),
            req("a", 4.0, 1.0),
            req("d", 1.0, 1.0),
            req("c", 3.0, 1.0),
        ];
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        // All unassessed: normGap 1, importance 1, priority 1.
        assert_eq!(m.top_gaps, ["a", "b", "c"]);
        assert_eq!(m.readiness, None);
        assert_eq!(m.unassessed_count, 4);
    }

    #[test]
    fn a_user_without_a_job_role_gets_only_goals_scoped_to_all() {
        let m = compute(&example(), "u2", ts(AS_OF), &Config::default());
        let ids: Vec<&str> = m.skills.iter().map(|s| s.skill_id.as_str()).collect();
        assert_eq!(ids, ["s1"]);
        let s1 = row(&m, "s1");
        // Goal-only, the only goal in scope: importance 1·(1 + 3/3) = 2.
        close(s1.importance, 2.0);
        assert_eq!(s1.status, GapStatus::Unassessed);
    }

    #[test]
    fn no_targets_is_insufficient_data() {
        let mut data = example();
        data.organizations[0].strategic_goals.clear();
        data.job_roles[0].requirements = vec![req("s5", 0.0, 1.0)];
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(m.header.status, Status::InsufficientData);
        assert_eq!(m.header.reasons, ["no_targets"]);
        assert!(m.skills.is_empty() && m.top_gaps.is_empty());
        assert_eq!(m.readiness, None);
        assert_eq!(m.header.n.get("droppedTargets"), Some(&1));
    }

    #[test]
    fn an_unknown_user_is_insufficient_data() {
        let m = compute(&example(), "ghost", ts(AS_OF), &Config::default());
        assert_eq!(m.header.status, Status::InsufficientData);
        assert_eq!(m.header.reasons, ["unknown_user"]);
    }

    #[test]
    fn goals_without_a_positive_weight_are_ignored_with_a_reason() {
        let mut data = example();
        data.organizations[0]
            .strategic_goals
            .push(goal("s7", 0.0, 3.0, GoalScope::All));
        data.organizations[0]
            .strategic_goals
            .push(goal("s8", f64::NAN, 3.0, GoalScope::All));
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert!(
            m.skills
                .iter()
                .all(|s| s.skill_id != "s7" && s.skill_id != "s8")
        );
        assert!(m.header.reasons.iter().any(|r| r == "invalid_goal_ignored"));
        close(row(&m, "s1").importance, 1.75);
    }

    #[test]
    fn a_current_level_above_target_is_met_with_full_readiness() {
        let mut data = example();
        data.organizations[0].strategic_goals.clear();
        data.job_roles[0].requirements = vec![req("s1", 2.0, 1.0)];
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(row(&m, "s1").status, GapStatus::Met);
        assert_eq!(m.readiness, Some(1.0));
        assert!(m.top_gaps.is_empty());
    }

    #[test]
    fn p_mastery_is_the_bkt_estimate_for_observed_skills_and_null_otherwise() {
        use crate::input::{AssessmentKind, Response};
        let mut data = example();
        data.assessments = vec![assessment(
            "a1",
            AssessmentKind::Quiz,
            None,
            vec![quiz_item("q1", &["s1"]), quiz_item("q2", &["s9"])],
        )];
        let golden = [false, true, true, false, true, true, true];
        data.attempts = golden
            .iter()
            .enumerate()
            .map(|(i, &correct)| {
                let mut responses = vec![Response {
                    item_id: "q1".into(),
                    points: 1.0,
                    correct,
                }];
                if i == 0 {
                    responses.push(Response {
                        item_id: "q2".into(),
                        points: 1.0,
                        correct: true,
                    });
                }
                attempt(
                    &format!("t{i}"),
                    "a1",
                    "u1",
                    1,
                    &format!("2025-06-{:02}T00:00:00Z", i + 1),
                    1.0,
                    responses,
                )
            })
            .collect();
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        // The golden BKT vector (analytics.md §3): final L = 0.9867746380606548.
        crate::stats::testutil::assert_t1(
            row(&m, "s1").p_mastery.expect("observed"),
            0.9867746380606548,
        );
        // Targets without observations stay null (not L0); s9 is observed but not a target.
        for skill in ["s2", "s3", "s4"] {
            assert_eq!(row(&m, skill).p_mastery, None, "{skill}");
        }
        assert!(m.skills.iter().all(|s| s.skill_id != "s9"));
        // The rest of the matrix does not depend on the responses.
        let without = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let mut cleared = m.clone();
        cleared.skills.iter_mut().for_each(|s| s.p_mastery = None);
        assert_eq!(cleared, without);
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let m = compute(&example(), "u1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&m).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&m).expect("serialises");
        for key in [
            "skills",
            "readiness",
            "metCount",
            "unassessedCount",
            "topGaps",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in [
            "skillId",
            "current",
            "target",
            "gap",
            "normalizedGap",
            "importance",
            "priority",
            "pMastery",
            "status",
        ] {
            assert!(json["skills"][0].get(key).is_some(), "missing skills.{key}");
        }
        assert_eq!(json["skills"][0]["status"], "unassessed");
        assert!(json["skills"][0]["current"].is_null() && json["skills"][0]["pMastery"].is_null());
        let back: SkillGapMatrix = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, m);
    }
}
