//! Analytic 16, **skillDemand**: which skills a population lacks most, weighted by strategy,
//! and how much training is already under way for them, for one organisation or across all.
//!
//! Definitions and interpretations (where `analytics.md` leaves a choice):
//! - **Population** (N): the users of the scope (the organisation, or every organisation for
//!   the global scope) with status `active` and `createdAt ≤ asOf`. The directory reports the
//!   status *now*; it cannot be reconstructed for an earlier `asOf`.
//! - **Targets** of each user are exactly those of skillGapMatrix (analytic 2), computed by the
//!   same code ([`crate::learner::skill_gap`]): job-role requirements plus the organisation's
//!   goals scoped to the user, the higher target when both apply, targets ≤ 0 dropped, current
//!   levels stamped ≤ `asOf` (assessed over inferred over self-reported, then the latest).
//! - **R_s** = users of the population with a target on s; `requiredBy` = |R_s|. A user's gap
//!   and normGap are those of skillGapMatrix; an **unassessed** user counts as a full gap
//!   (normGap = 1), as skillGapMatrix prioritises it; `unassessed` reports how many there are.
//! - `withGap` = |{u ∈ R_s : gap > 0}|, `gapFrequency` = withGap/|R_s|,
//!   `meanNormalizedGap` = Σ_{R_s} normGap / |R_s| (the mean over those requiring s, gaps of 0
//!   included), `gapMass` = Σ_{R_s} normGap / N (per-capita gap: prevalence × size).
//! - **strategicWeight**: for one organisation, w_s/Σw where w_s is the summed weight of its
//!   goals on s and Σw the summed weight of all its goals (whatever their scope; goals whose
//!   weight is not > 0 are ignored), 0 when s is not a goal. Global scope: the
//!   headcount-weighted mean Σ_o N_o·sw_o(s) / N over the organisations of the population
//!   (users of an organisation missing from the dataset count with weight 0).
//! - `demandIndex` = gapMass·(1 + strategicWeight).
//! - `coursesAvailable` = distinct courses whose `skills` list s: for one organisation, its own
//!   courses plus the global catalogue (courses without `orgId`); globally, every course.
//! - `supplyRatio` = (users of the population with an enrollment *active at* `asOf`, see
//!   [`crate::input::Enrollment::is_active_at`], in a course teaching s) / withGap. The
//!   numerator counts every such learner, with or without a gap, so the ratio can exceed 1 (more
//!   learners in training than learners lacking the skill). `null` when withGap = 0.
//! - **k-anonymity** (k = `samples.k_anonymity`): a skill with |R_s| < k is returned as
//!   `{skillId, suppressed: true, reason: "below_k"}` with no count or rate; a population with
//!   N < k is `suppressed` as a whole (reason `population_below_k`, no sample sizes).
//! - **Global scope** needs at least `samples.global_min_orgs` (2) contributing organisations,
//!   i.e. organisations with at least one user of the population who has a target; otherwise
//!   the payload is `suppressed` with reason `too_few_organizations` and only `n.organizations`.
//! - `skills` are sorted by demandIndex descending, then skill id; suppressed skills follow, by
//!   skill id.
//! - Unknown organisation: `insufficient_data`, reason `unknown_org`; empty population:
//!   `insufficient_data`, reason `no_users`; no user has a target: `insufficient_data`, reason
//!   `no_targets`.
//!
//! `n`: `users` (N), `organizations` (contributing), `skills` (released), `suppressedSkills`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex, Organization, User, UserStatus};
use crate::learner::skill_gap::{UserTargets, user_targets};

/// The population a skillDemand payload is about.
///
/// JSON: `{"kind": "global"}` or `{"kind": "org", "orgId": "o1"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DemandScope {
    /// Every organisation of the dataset.
    Global,
    /// One organisation.
    Org {
        #[serde(rename = "orgId")]
        org_id: String,
    },
}

/// The skillDemand payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillDemand {
    #[serde(flatten)]
    pub header: Header,
    pub scope: DemandScope,
    pub skills: Vec<SkillDemandRow>,
}

/// One skill: released, or suppressed by k-anonymity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SkillDemandRow {
    Released(SkillDemandEntry),
    Suppressed(SuppressedSkill),
}

/// The demand for one skill required by at least k users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillDemandEntry {
    pub skill_id: String,
    /// |R_s|.
    pub required_by: u64,
    pub with_gap: u64,
    /// Users of R_s without a current level (counted as full gaps).
    pub unassessed: u64,
    pub gap_frequency: f64,
    pub mean_normalized_gap: f64,
    /// Σ normGap / N.
    pub gap_mass: f64,
    pub strategic_weight: f64,
    pub demand_index: f64,
    pub courses_available: u64,
    pub supply_ratio: Option<f64>,
}

/// A skill required by fewer than k users: nothing but its id is released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SuppressedSkill {
    pub skill_id: String,
    /// Always `true`.
    pub suppressed: bool,
    pub reason: String,
}

/// Per-skill sums over R_s.
#[derive(Debug, Default)]
struct Tally {
    required_by: usize,
    with_gap: usize,
    unassessed: usize,
    norm_gap_sum: f64,
}

/// Computes skillDemand for `scope` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    scope: &DemandScope,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> SkillDemand {
    compute_indexed(&data.index(), scope, as_of, cfg)
}

/// Computes skillDemand for `scope` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    scope: &DemandScope,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> SkillDemand {
    let mut header = Header::new(as_of);
    let scope_org = match scope {
        DemandScope::Global => None,
        DemandScope::Org { org_id } => match idx.organization(org_id) {
            Some(org) => Some(org),
            None => {
                header.status = Status::InsufficientData;
                header.add_reason("unknown_org");
                return empty(header, scope);
            }
        },
    };

    let population = population(idx, scope_org, as_of);
    let n_users = population.len();
    if n_users == 0 {
        header.status = Status::InsufficientData;
        header.add_reason("no_users");
        return empty(header, scope);
    }

    // Targets per user, tallied per skill; headcount per organisation.
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut headcount: BTreeMap<&str, usize> = BTreeMap::new();
    let mut contributing: BTreeSet<&str> = BTreeSet::new();
    for user in &population {
        *headcount.entry(user.org_id.as_str()).or_default() += 1;
        let UserTargets { skills, .. } = user_targets(idx, user, as_of);
        if !skills.is_empty() {
            contributing.insert(user.org_id.as_str());
        }
        for row in skills {
            let tally = tallies.entry(row.skill_id).or_default();
            tally.required_by += 1;
            if row.gap > 0.0 {
                tally.with_gap += 1;
            }
            if row.current.is_none() {
                tally.unassessed += 1;
            }
            tally.norm_gap_sum += row.normalized_gap;
        }
    }

    let min_orgs = usize::try_from(cfg.samples.global_min_orgs).unwrap_or(usize::MAX);
    if scope_org.is_none() && contributing.len() < min_orgs {
        header.status = Status::Suppressed;
        header.add_reason("too_few_organizations");
        header.set_n("organizations", contributing.len());
        return empty(header, scope);
    }
    let k = usize::try_from(cfg.samples.k_anonymity.max(1)).unwrap_or(usize::MAX);
    if n_users < k {
        header.status = Status::Suppressed;
        header.add_reason("population_below_k");
        return empty(header, scope);
    }
    if tallies.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_targets");
        header.set_n("users", n_users);
        header.set_n("organizations", contributing.len());
        return empty(header, scope);
    }

    let weights = strategic_weights(idx, scope_org, &headcount, n_users);
    let supply = learners_in_training(idx, &population, as_of);
    let courses = courses_available(idx, scope_org);

    let n = n_users as f64;
    let mut released = Vec::new();
    let mut suppressed = Vec::new();
    for (skill_id, t) in tallies {
        if t.required_by < k {
            suppressed.push(SuppressedSkill {
                skill_id,
                suppressed: true,
                reason: "below_k".to_owned(),
            });
            continue;
        }
        let required = t.required_by as f64;
        // normGap ∈ [0,1], so every sum is at most |R_s| ≤ N: no overflow.
        let gap_mass = t.norm_gap_sum / n;
        let strategic_weight = weights.get(skill_id.as_str()).copied().unwrap_or(0.0);
        let in_training = supply.get(skill_id.as_str()).copied().unwrap_or(0);
        released.push(SkillDemandEntry {
            required_by: count(t.required_by),
            with_gap: count(t.with_gap),
            unassessed: count(t.unassessed),
            gap_frequency: t.with_gap as f64 / required,
            mean_normalized_gap: t.norm_gap_sum / required,
            gap_mass,
            strategic_weight,
            demand_index: gap_mass * (1.0 + strategic_weight),
            courses_available: count(courses.get(skill_id.as_str()).copied().unwrap_or(0)),
            supply_ratio: (t.with_gap > 0).then(|| in_training as f64 / t.with_gap as f64),
            skill_id,
        });
    }
    released.sort_by(by_demand);

    header.set_n("users", n_users);
    header.set_n("organizations", contributing.len());
    header.set_n("skills", released.len());
    header.set_n("suppressedSkills", suppressed.len());
    let skills = released
        .into_iter()
        .map(SkillDemandRow::Released)
        .chain(suppressed.into_iter().map(SkillDemandRow::Suppressed))
        .collect();
    SkillDemand {
        header,
        scope: scope.clone(),
        skills,
    }
}

fn empty(header: Header, scope: &DemandScope) -> SkillDemand {
    SkillDemand {
        header,
        scope: scope.clone(),
        skills: Vec::new(),
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// demandIndex descending, then skill id ascending. The index is compared on a 1e-12 grid:
/// two indices that differ only by floating-point summation order (one ulp) are a tie, broken
/// by skill id as the definition intends, not by their last bit. Rounding keeps the order total.
fn by_demand(a: &SkillDemandEntry, b: &SkillDemandEntry) -> Ordering {
    let key = |x: f64| (x * 1e12).round();
    key(b.demand_index)
        .total_cmp(&key(a.demand_index))
        .then_with(|| a.skill_id.cmp(&b.skill_id))
}

/// The active users of the scope created by `as_of` (first occurrence of a duplicated id).
fn population<'a>(
    idx: &DatasetIndex<'a>,
    org: Option<&Organization>,
    as_of: DateTime<Utc>,
) -> Vec<&'a User> {
    idx.dataset()
        .users
        .iter()
        .filter(|u| idx.user(&u.id).is_some_and(|first| std::ptr::eq(first, *u)))
        .filter(|u| u.status == UserStatus::Active && u.created_at <= as_of)
        .filter(|u| org.is_none_or(|o| u.org_id == o.id))
        .collect()
}

/// sw_o(s) = Σ weights of o's goals on s / Σ weights of all of o's goals (valid goals only).
fn org_weights(org: &Organization) -> BTreeMap<&str, f64> {
    let valid = org
        .strategic_goals
        .iter()
        .filter(|g| g.weight.is_finite() && g.weight > 0.0);
    let total = valid
        .clone()
        .fold(0.0_f64, |acc, g| (acc + g.weight).min(f64::MAX));
    let mut out: BTreeMap<&str, f64> = BTreeMap::new();
    if total > 0.0 {
        for g in valid {
            *out.entry(g.skill_id.as_str()).or_default() += g.weight / total;
        }
    }
    for w in out.values_mut() {
        *w = w.clamp(0.0, 1.0);
    }
    out
}

/// strategicWeight per skill: the organisation's, or the headcount-weighted mean over the
/// organisations of the population.
fn strategic_weights<'a>(
    idx: &DatasetIndex<'a>,
    scope_org: Option<&'a Organization>,
    headcount: &BTreeMap<&str, usize>,
    n_users: usize,
) -> BTreeMap<&'a str, f64> {
    if let Some(org) = scope_org {
        return org_weights(org);
    }
    let mut out: BTreeMap<&'a str, f64> = BTreeMap::new();
    for (org_id, &n_o) in headcount {
        let Some(org) = idx.organization(org_id) else {
            continue;
        };
        let share = n_o as f64 / n_users as f64;
        for (skill, w) in org_weights(org) {
            *out.entry(skill).or_default() += share * w;
        }
    }
    for w in out.values_mut() {
        *w = w.clamp(0.0, 1.0);
    }
    out
}

/// Per skill, how many users of the population have an enrollment active at `as_of` in a
/// course teaching it (each user counted once per skill).
fn learners_in_training<'a>(
    idx: &DatasetIndex<'a>,
    population: &[&User],
    as_of: DateTime<Utc>,
) -> BTreeMap<&'a str, usize> {
    let mut out: BTreeMap<&'a str, usize> = BTreeMap::new();
    for user in population {
        let mut skills: HashSet<&'a str> = HashSet::new();
        for enrollment in idx.enrollments_of(&user.id) {
            if !enrollment.is_active_at(as_of) {
                continue;
            }
            if let Some(course) = idx.course(&enrollment.course_id) {
                skills.extend(course.skills.iter().map(|s| s.skill_id.as_str()));
            }
        }
        for skill in skills {
            *out.entry(skill).or_default() += 1;
        }
    }
    out
}

/// Per skill, the distinct courses of the scope's catalogue teaching it.
fn courses_available<'a>(
    idx: &DatasetIndex<'a>,
    scope_org: Option<&Organization>,
) -> BTreeMap<&'a str, usize> {
    let mut out: BTreeMap<&'a str, usize> = BTreeMap::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for course in &idx.dataset().courses {
        if !seen.insert(course.id.as_str()) {
            continue;
        }
        let in_scope = match (scope_org, &course.org_id) {
            (None, _) | (Some(_), None) => true,
            (Some(org), Some(id)) => *id == org.id,
        };
        if !in_scope {
            continue;
        }
        let skills: BTreeSet<&'a str> = course.skills.iter().map(|s| s.skill_id.as_str()).collect();
        for skill in skills {
            *out.entry(skill).or_default() += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{
        CourseSkill, EnrollmentStatus, GoalScope, JobRole, SkillRequirement, SkillSource,
        StrategicGoal, UserSkill,
    };
    use crate::test_support::*;

    #[test]
    fn demand_indices_one_ulp_apart_tie_and_are_ordered_by_skill_id() {
        let e = |id: &str, d: f64| SkillDemandEntry {
            skill_id: id.into(),
            required_by: 5,
            with_gap: 5,
            unassessed: 0,
            gap_frequency: 1.0,
            mean_normalized_gap: 0.5,
            gap_mass: d,
            strategic_weight: 0.0,
            demand_index: d,
            courses_available: 1,
            supply_ratio: None,
        };
        let mut v = [
            e("sk-testing", 0.05348272138228941),
            e("sk-rust", 0.053482721382289405),
        ];
        v.sort_by(by_demand);
        assert_eq!(
            v[0].skill_id, "sk-rust",
            "a tie within float noise goes to the skill id"
        );
        let mut w = [e("a", 0.1), e("b", 0.2)];
        w.sort_by(by_demand);
        assert_eq!(
            w[0].skill_id, "b",
            "a real difference still orders by demand"
        );
    }

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn req(skill: &str, target: f64) -> SkillRequirement {
        SkillRequirement {
            skill_id: skill.into(),
            target_level: target,
            weight: 1.0,
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

    fn role(id: &str, org: &str, requirements: Vec<SkillRequirement>) -> JobRole {
        JobRole {
            id: id.into(),
            org_id: org.into(),
            name: id.into(),
            requirements,
        }
    }

    fn level(user: &str, skill: &str, level: f64) -> UserSkill {
        UserSkill {
            user_id: user.into(),
            skill_id: skill.into(),
            current_level: level,
            source: SkillSource::Assessed,
            updated_at: ts("2025-03-01T00:00:00Z"),
        }
    }

    fn teaching(id: &str, org: Option<&str>, skills: &[&str]) -> crate::input::Course {
        let mut c = course(id, 10.0);
        c.org_id = org.map(Into::into);
        c.skills = skills
            .iter()
            .map(|s| CourseSkill {
                skill_id: (*s).into(),
                level: 3.0,
            })
            .collect();
        c
    }

    fn active(id: &str, user: &str, course: &str) -> crate::input::Enrollment {
        enrollment(
            id,
            user,
            course,
            "2025-06-01T00:00:00Z",
            EnrollmentStatus::InProgress,
        )
    }

    /// Organisation o1, goals s1 (weight 3, all, target 3) and s2 (weight 1, role r1, target 2);
    /// role r1 requires s1 at 4 and s3 at 2; role r2 requires s4 at 1.
    /// Population: u1–u5 (r1), u6 (no role), u9 (r2); u7 inactive, u8 created after asOf.
    fn example() -> Dataset {
        let mut inactive = user("u7", "o1", Some("r1"));
        inactive.status = UserStatus::Inactive;
        let mut late = user("u8", "o1", Some("r1"));
        late.created_at = ts("2025-07-01T00:00:00Z");
        let mut completed = enrollment(
            "e4",
            "u4",
            "c1",
            "2025-01-01T00:00:00Z",
            EnrollmentStatus::Completed,
        );
        completed.completed_at = Some(ts("2025-02-01T00:00:00Z"));
        let mut future = active("e1", "u1", "c2");
        future.enrolled_at = ts("2025-07-02T00:00:00Z");
        Dataset {
            organizations: vec![crate::input::Organization {
                id: "o1".into(),
                name: "Org 1".into(),
                strategic_goals: vec![
                    goal("s1", 3.0, 3.0, GoalScope::All),
                    goal("s2", 1.0, 2.0, GoalScope::JobRoles(vec!["r1".into()])),
                    goal("s9", 0.0, 2.0, GoalScope::All), // invalid weight: ignored
                ],
            }],
            job_roles: vec![
                role("r1", "o1", vec![req("s1", 4.0), req("s3", 2.0)]),
                role("r2", "o1", vec![req("s4", 1.0)]),
            ],
            users: vec![
                user("u1", "o1", Some("r1")),
                user("u2", "o1", Some("r1")),
                user("u3", "o1", Some("r1")),
                user("u4", "o1", Some("r1")),
                user("u5", "o1", Some("r1")),
                user("u6", "o1", None),
                inactive,
                late,
                user("u9", "o1", Some("r2")),
            ],
            user_skills: vec![
                level("u1", "s1", 4.0),
                level("u2", "s1", 2.0),
                level("u3", "s1", 3.0),
                level("u5", "s1", 4.0),
                level("u6", "s1", 1.0),
                level("u9", "s1", 3.0),
                level("u1", "s2", 2.0),
                level("u2", "s2", 0.0),
                level("u3", "s2", 1.0),
                level("u5", "s2", 2.0),
                level("u1", "s3", 1.0),
                level("u2", "s3", 2.0),
                level("u3", "s3", 2.0),
                level("u4", "s3", 2.0),
                level("u5", "s3", 2.0),
            ],
            courses: vec![
                teaching("c1", Some("o1"), &["s1"]),
                teaching("c2", None, &["s1", "s2"]),
                teaching("c3", Some("o2"), &["s2"]),
            ],
            enrollments: vec![
                active("e2", "u2", "c1"),
                active("e3", "u3", "c2"),
                completed,
                active("e5", "u5", "c1"),
                future,
            ],
            ..Dataset::default()
        }
    }

    fn org(id: &str) -> DemandScope {
        DemandScope::Org { org_id: id.into() }
    }

    fn released(d: &SkillDemand) -> Vec<&SkillDemandEntry> {
        d.skills
            .iter()
            .filter_map(|r| match r {
                SkillDemandRow::Released(e) => Some(e),
                SkillDemandRow::Suppressed(_) => None,
            })
            .collect()
    }

    fn entry<'a>(d: &'a SkillDemand, skill: &str) -> &'a SkillDemandEntry {
        released(d)
            .into_iter()
            .find(|e| e.skill_id == skill)
            .expect("released skill")
    }

    #[test]
    fn org_demand_follows_the_hand_computed_formulas() {
        let d = compute(&example(), &org("o1"), ts(AS_OF), &Config::default());
        assert_eq!(d.header.status, Status::Ok);
        assert_eq!(d.header.n.get("users"), Some(&7));
        assert_eq!(d.header.n.get("organizations"), Some(&1));

        // s1: all 7 require it; normGaps u2 .5, u3 .25, u4 1 (unassessed), u6 2/3 (target 3).
        let s1 = entry(&d, "s1");
        let sum = 0.5 + 0.25 + 1.0 + 2.0 / 3.0;
        assert_eq!((s1.required_by, s1.with_gap, s1.unassessed), (7, 4, 1));
        close(s1.gap_frequency, 4.0 / 7.0);
        close(s1.mean_normalized_gap, sum / 7.0);
        close(s1.gap_mass, sum / 7.0);
        close(s1.strategic_weight, 0.75);
        close(s1.demand_index, sum / 7.0 * 1.75);
        assert_eq!(s1.courses_available, 2); // c1 (o1) and c2 (global catalogue)
        // In training for s1: u2 (c1), u3 (c2), u5 (c1, no gap); u4's course is completed.
        close(s1.supply_ratio.expect("ratio"), 3.0 / 4.0);

        // s2: u1–u5 at target 2; normGaps u2 1, u3 .5, u4 1 (unassessed).
        let s2 = entry(&d, "s2");
        assert_eq!((s2.required_by, s2.with_gap), (5, 3));
        close(s2.gap_frequency, 3.0 / 5.0);
        close(s2.mean_normalized_gap, 2.5 / 5.0);
        close(s2.gap_mass, 2.5 / 7.0);
        close(s2.strategic_weight, 0.25);
        close(s2.demand_index, 2.5 / 7.0 * 1.25);
        assert_eq!(s2.courses_available, 1); // c3 belongs to another organisation
        close(s2.supply_ratio.expect("ratio"), 1.0 / 3.0);

        // s3: no goal; only u1 (level 1 of 2) has a gap; nobody trains for it.
        let s3 = entry(&d, "s3");
        assert_eq!((s3.required_by, s3.with_gap), (5, 1));
        close(s3.gap_mass, 0.5 / 7.0);
        assert_eq!((s3.strategic_weight, s3.courses_available), (0.0, 0));
        close(s3.demand_index, 0.5 / 7.0);
        assert_eq!(s3.supply_ratio, Some(0.0));
    }

    #[test]
    fn skills_are_sorted_by_demand_and_those_below_k_come_last_without_counts() {
        let d = compute(&example(), &org("o1"), ts(AS_OF), &Config::default());
        let ids: Vec<&str> = d
            .skills
            .iter()
            .map(|r| match r {
                SkillDemandRow::Released(e) => e.skill_id.as_str(),
                SkillDemandRow::Suppressed(s) => s.skill_id.as_str(),
            })
            .collect();
        assert_eq!(ids, ["s1", "s2", "s3", "s4"]);
        assert_eq!(
            d.skills[3],
            SkillDemandRow::Suppressed(SuppressedSkill {
                skill_id: "s4".into(),
                suppressed: true,
                reason: "below_k".into(),
            })
        );
        let json = serde_json::to_value(&d.skills[3]).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"skillId": "s4", "suppressed": true, "reason": "below_k"})
        );
        assert_eq!(d.header.n.get("skills"), Some(&3));
        assert_eq!(d.header.n.get("suppressedSkills"), Some(&1));
    }

    #[test]
    fn equal_demand_is_ordered_by_skill_id() {
        let mut data = example();
        data.organizations[0].strategic_goals.clear();
        data.job_roles[0].requirements = vec![req("b", 2.0), req("a", 2.0)];
        data.user_skills.clear();
        let d = compute(&data, &org("o1"), ts(AS_OF), &Config::default());
        let ids: Vec<&str> = released(&d).iter().map(|e| e.skill_id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        close(released(&d)[0].demand_index, 5.0 / 7.0);
    }

    #[test]
    fn supply_ratio_is_null_without_any_gap() {
        let mut data = example();
        data.user_skills.push(level("u1", "s3", 2.0)); // later in the dataset, same date: wins
        let d = compute(&data, &org("o1"), ts(AS_OF), &Config::default());
        let s3 = entry(&d, "s3");
        assert_eq!((s3.with_gap, s3.supply_ratio), (0, None));
        assert_eq!((s3.gap_mass, s3.demand_index), (0.0, 0.0));
    }

    #[test]
    fn a_population_below_k_is_suppressed_entirely() {
        let mut cfg = Config::default();
        cfg.samples.k_anonymity = 8;
        let d = compute(&example(), &org("o1"), ts(AS_OF), &cfg);
        assert_eq!(d.header.status, Status::Suppressed);
        assert_eq!(d.header.reasons, ["population_below_k"]);
        assert!(d.header.n.is_empty() && d.skills.is_empty());
    }

    #[test]
    fn global_scope_with_one_organisation_is_suppressed() {
        let d = compute(
            &example(),
            &DemandScope::Global,
            ts(AS_OF),
            &Config::default(),
        );
        assert_eq!(d.header.status, Status::Suppressed);
        assert_eq!(d.header.reasons, ["too_few_organizations"]);
        assert_eq!(d.header.n.get("organizations"), Some(&1));
        assert_eq!(d.header.n.len(), 1);
        assert!(d.skills.is_empty());
    }

    /// Adds o2 (goal s2, weight 1, target 3) with five unassessed users of role r3 (s2 at 2).
    fn two_orgs() -> Dataset {
        let mut data = example();
        data.organizations.push(crate::input::Organization {
            id: "o2".into(),
            name: "Org 2".into(),
            strategic_goals: vec![goal("s2", 1.0, 3.0, GoalScope::All)],
        });
        data.job_roles.push(role("r3", "o2", vec![req("s2", 2.0)]));
        for i in 0..5 {
            data.users.push(user(&format!("w{i}"), "o2", Some("r3")));
        }
        data
    }

    #[test]
    fn global_strategic_weight_is_headcount_weighted_across_organisations() {
        let d = compute(
            &two_orgs(),
            &DemandScope::Global,
            ts(AS_OF),
            &Config::default(),
        );
        assert_eq!(d.header.status, Status::Ok);
        assert_eq!(d.header.n.get("users"), Some(&12));
        assert_eq!(d.header.n.get("organizations"), Some(&2));
        // s1: only o1 wants it: (7·0.75 + 5·0)/12.
        let s1 = entry(&d, "s1");
        close(s1.strategic_weight, 7.0 * 0.75 / 12.0);
        close(s1.gap_mass, (0.5 + 0.25 + 1.0 + 2.0 / 3.0) / 12.0);
        assert_eq!(s1.courses_available, 2);
        // s2: (7·0.25 + 5·1)/12; o2's users are unassessed at target 3: five full gaps.
        let s2 = entry(&d, "s2");
        close(s2.strategic_weight, (7.0 * 0.25 + 5.0) / 12.0);
        assert_eq!((s2.required_by, s2.with_gap, s2.unassessed), (10, 8, 6));
        close(s2.gap_mass, 7.5 / 12.0);
        close(s2.demand_index, 7.5 / 12.0 * (1.0 + 6.75 / 12.0));
        assert_eq!(s2.courses_available, 2); // c2 and c3: every course counts globally
        // s2 now leads: 0.976 > s1's 0.29.
        assert_eq!(released(&d)[0].skill_id, "s2");
    }

    #[test]
    fn an_unknown_org_or_an_empty_population_is_insufficient_data() {
        let d = compute(&example(), &org("nope"), ts(AS_OF), &Config::default());
        assert_eq!(d.header.status, Status::InsufficientData);
        assert_eq!(d.header.reasons, ["unknown_org"]);
        let early = compute(
            &example(),
            &org("o1"),
            ts("2023-01-01T00:00:00Z"),
            &Config::default(),
        );
        assert_eq!(early.header.reasons, ["no_users"]);
    }

    #[test]
    fn a_population_without_targets_is_insufficient_data() {
        let mut data = example();
        data.organizations[0].strategic_goals.clear();
        data.job_roles.clear();
        let d = compute(&data, &org("o1"), ts(AS_OF), &Config::default());
        assert_eq!(d.header.status, Status::InsufficientData);
        assert_eq!(d.header.reasons, ["no_targets"]);
        assert_eq!(d.header.n.get("users"), Some(&7));
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let d = compute(&example(), &org("o1"), ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&d).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&d).expect("serialises");
        assert_eq!(
            json["scope"],
            serde_json::json!({"kind": "org", "orgId": "o1"})
        );
        for key in [
            "skillId",
            "requiredBy",
            "withGap",
            "gapFrequency",
            "meanNormalizedGap",
            "strategicWeight",
            "demandIndex",
            "coursesAvailable",
            "supplyRatio",
            "gapMass",
        ] {
            assert!(json["skills"][0].get(key).is_some(), "missing skills.{key}");
        }
        let back: SkillDemand = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, d);
        assert_eq!(
            serde_json::to_value(DemandScope::Global).expect("serialises"),
            serde_json::json!({"kind": "global"})
        );
    }

    #[test]
    fn indexed_and_plain_entry_points_agree() {
        let data = two_orgs();
        let idx = data.index();
        for scope in [DemandScope::Global, org("o1"), org("o2")] {
            assert_eq!(
                compute(&data, &scope, ts(AS_OF), &Config::default()),
                compute_indexed(&idx, &scope, ts(AS_OF), &Config::default())
            );
        }
    }

    mod properties {
        //! skillDemand on small random datasets: no panic, no NaN or infinity, documented
        //! ranges and order, k-anonymity, and independence from data stamped after `asOf`.

        use super::*;
        use crate::test_support::{arb_as_of, arb_dataset, non_finite_paths};
        use chrono::TimeDelta;
        use proptest::prelude::*;

        /// [`arb_dataset`] with a second organisation (u2 moves there, with o1's goals) and
        /// courses teaching skills.
        fn arb_data() -> impl Strategy<Value = Dataset> {
            (arb_dataset(), any::<bool>()).prop_map(|(mut data, second_org)| {
                if second_org {
                    let mut o2 = data.organizations[0].clone();
                    o2.id = "o2".into();
                    data.organizations.push(o2);
                    data.users[2].org_id = "o2".into();
                }
                for (i, c) in data.courses.iter_mut().enumerate() {
                    c.skills = vec![CourseSkill {
                        skill_id: format!("s{i}"),
                        level: 2.0,
                    }];
                }
                data
            })
        }

        fn check(d: &SkillDemand, k: usize) -> Result<(), TestCaseError> {
            prop_assert!(
                non_finite_paths(d).is_empty(),
                "non-finite: {:?}",
                non_finite_paths(d)
            );
            let mut last: Option<&SkillDemandEntry> = None;
            let mut seen_suppressed = false;
            for row in &d.skills {
                match row {
                    SkillDemandRow::Released(e) => {
                        prop_assert!(!seen_suppressed, "released after suppressed");
                        prop_assert!(usize::try_from(e.required_by).unwrap_or(0) >= k);
                        prop_assert!(e.with_gap <= e.required_by);
                        prop_assert!((0.0..=1.0).contains(&e.gap_frequency));
                        prop_assert!((0.0..=1.0).contains(&e.mean_normalized_gap));
                        prop_assert!((0.0..=1.0).contains(&e.gap_mass));
                        prop_assert!((0.0..=1.0).contains(&e.strategic_weight));
                        prop_assert!(e.demand_index >= 0.0 && e.demand_index <= 2.0);
                        prop_assert_eq!(e.supply_ratio.is_none(), e.with_gap == 0);
                        if let Some(prev) = last {
                            prop_assert!(by_demand(prev, e) != Ordering::Greater);
                        }
                        last = Some(e);
                    }
                    SkillDemandRow::Suppressed(s) => {
                        seen_suppressed = true;
                        prop_assert!(s.suppressed);
                    }
                }
            }
            if d.header.status != Status::Ok {
                prop_assert!(d.skills.is_empty());
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn skill_demand_never_panics_nor_produces_non_finite_numbers(
                data in arb_data(),
                k in 1u32..5,
                shift in -3i64..3,
            ) {
                let as_of = arb_as_of() + TimeDelta::hours(shift * 37);
                let mut cfg = Config::default();
                cfg.samples.k_anonymity = k;
                let idx = data.index();
                let k = usize::try_from(k).unwrap_or(1);
                for scope in [DemandScope::Global, org("o1"), org("o2")] {
                    check(&compute_indexed(&idx, &scope, as_of, &cfg), k)?;
                }
            }

            #[test]
            fn records_stamped_after_as_of_never_change_skill_demand(
                data in arb_data(),
                k in 1u32..5,
            ) {
                let as_of = arb_as_of();
                let mut cfg = Config::default();
                cfg.samples.k_anonymity = k;
                let mut cut = data.clone();
                cut.events.retain(|e| e.timestamp <= as_of);
                cut.enrollments.retain(|e| e.enrolled_at <= as_of);
                cut.user_skills.retain(|s| s.updated_at <= as_of);
                cut.users.retain(|u| u.created_at <= as_of);
                for scope in [DemandScope::Global, org("o1"), org("o2")] {
                    prop_assert_eq!(
                        compute(&data, &scope, as_of, &cfg),
                        compute(&cut, &scope, as_of, &cfg)
                    );
                }
            }
        }
    }
}
