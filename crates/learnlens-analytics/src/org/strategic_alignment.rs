//! Analytic 12, **strategicAlignment**: how far the organisation's people meet its strategic
//! skill goals, and how much of its learning time goes to those skills.
//!
//! Definitions and interpretations (the population is defined in [`crate::org`]):
//! - **Goals** are the organisation's `strategicGoals`, in their listed order. A goal whose
//!   weight is not a finite number > 0, or whose target is not finite, is ignored with reason
//!   `invalid_goal_ignored`. Several goals on one skill are reported as separate rows.
//! - **Population** P_g = the active users in the goal's scope (`all`, or the listed job
//!   roles; a user without a job role is only in `all` goals).
//! - **proficient** = users of P_g whose current level of the skill is ≥ the target. The
//!   current level is skillGapMatrix's (stamped ≤ `asOf`; `assessed` over `inferred` over
//!   `self`, then the latest). An unassessed user is not proficient: coverage measures who
//!   has *shown* the level.
//! - **coverage** = proficient/|P_g| as `{value, ci, n}` with a 95 % Wilson interval; `null`
//!   for an empty population.
//! - **learningHours** = time-on-task (session rule of [`crate::common`]) of the active users'
//!   events in the last `org.alignment_window_weeks` (12) weekly bins about content items
//!   tagged with the skill; an item tagged with k distinct skills gives each 1/k of the time.
//!   Hours are counted over the whole organisation, not only P_g, so that every goal's share
//!   has the same denominator and the shares add up.
//! - **effortShare** = learningHours / all learning hours of the active users in the window
//!   (events about untagged or unknown items count in the denominator only); `null` when
//!   there are no hours.
//! - **alignmentIndex** = 100·Σ w·coverage / Σ w over the goals whose coverage is defined:
//!   weights are renormalised when a population is empty; `null` when no coverage is defined.
//! - **effortAlignment** = Σ effortShare over the distinct goal skills (a skill with two goals
//!   counts once), in \[0,1\] thanks to the equal split; `null` without hours.
//! - Unknown organisation: `insufficient_data`, reason `unknown_org`; no valid goal:
//!   `insufficient_data`, reason `no_goals`.
//!
//! `n`: `users` (active users), `goals` (valid goals), `events` (the active users' events in
//! the window).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex};
use crate::learner::skill_gap::current_levels;
use crate::learner::velocity::saturating_add;
use crate::memo::CohortMemo;
use crate::stats;
use crate::stats::proportion::Proportion;
use crate::trainer::to_u64;

use super::{members, window_events};

/// The strategicAlignment payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StrategicAlignment {
    #[serde(flatten)]
    pub header: Header,
    pub goals: Vec<GoalAlignment>,
    /// In \[0,100\].
    pub alignment_index: Option<f64>,
    /// In \[0,1\].
    pub effort_alignment: Option<f64>,
}

/// One goal's coverage and effort.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GoalAlignment {
    pub skill_id: String,
    pub weight: f64,
    pub target_level: f64,
    /// |P_g|.
    pub population: u64,
    pub proficient: u64,
    pub coverage: Option<Proportion>,
    pub learning_hours: f64,
    pub effort_share: Option<f64>,
}

/// Computes strategicAlignment for `org_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    org_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> StrategicAlignment {
    compute_indexed(&data.index(), org_id, as_of, cfg)
}

/// Computes strategicAlignment for `org_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    org_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> StrategicAlignment {
    compute_shared(idx, org_id, as_of, cfg, &CohortMemo::new())
}

/// [`compute_indexed`] with the users' digests taken from (and added to) `memo`; the same
/// payload.
pub fn compute_shared(
    idx: &DatasetIndex<'_>,
    org_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'_>,
) -> StrategicAlignment {
    let mut header = Header::new(as_of);
    let users = members(idx, org_id, as_of);
    header.set_n("users", users.len());
    let Some(org) = idx.organization(org_id) else {
        header.status = Status::InsufficientData;
        header.add_reason("unknown_org");
        header.set_n("goals", 0);
        return StrategicAlignment {
            header,
            goals: Vec::new(),
            alignment_index: None,
            effort_alignment: None,
        };
    };
    let goals: Vec<_> = org
        .strategic_goals
        .iter()
        .filter(|g| {
            let valid = g.weight.is_finite() && g.weight > 0.0 && g.target_level.is_finite();
            if !valid {
                header.add_reason("invalid_goal_ignored");
            }
            valid
        })
        .collect();

    // Learning hours in the window, total and per skill.
    let (mut total_hours, mut events) = (0.0_f64, 0usize);
    let mut skill_hours: BTreeMap<String, f64> = BTreeMap::new();
    for user in &users {
        let part = memo.digest(&user.id);
        let part = part.alignment(idx, as_of, cfg);
        events += part.events;
        total_hours = saturating_add(total_hours, part.hours);
        for (skill, hours) in &part.skill_hours {
            let slot = skill_hours.entry(skill.clone()).or_insert(0.0);
            *slot = saturating_add(*slot, *hours);
        }
    }
    let share_of = |hours: f64| (total_hours > 0.0).then(|| (hours / total_hours).clamp(0.0, 1.0));

    let levels: BTreeMap<&str, BTreeMap<&str, f64>> = users
        .iter()
        .map(|u| {
            (
                u.id.as_str(),
                current_levels(idx.user_skills_of(&u.id), as_of),
            )
        })
        .collect();
    let rows: Vec<GoalAlignment> = goals
        .iter()
        .map(|goal| {
            let population: Vec<&str> = users
                .iter()
                .filter(|u| goal.scope.includes(u.job_role_id.as_deref()))
                .map(|u| u.id.as_str())
                .collect();
            let proficient = population
                .iter()
                .filter(|u| {
                    levels
                        .get(*u)
                        .and_then(|l| l.get(goal.skill_id.as_str()))
                        .is_some_and(|level| *level >= goal.target_level)
                })
                .count();
            let learning_hours = skill_hours
                .get(goal.skill_id.as_str())
                .copied()
                .unwrap_or(0.0);
            GoalAlignment {
                skill_id: goal.skill_id.clone(),
                weight: goal.weight,
                target_level: goal.target_level,
                population: to_u64(population.len()),
                proficient: to_u64(proficient),
                coverage: Proportion::wilson_at(
                    to_u64(proficient),
                    to_u64(population.len()),
                    cfg.stats.confidence_level,
                ),
                learning_hours,
                effort_share: share_of(learning_hours),
            }
        })
        .collect();

    let (coverages, weights): (Vec<f64>, Vec<f64>) = rows
        .iter()
        .filter_map(|r| Some((r.coverage.as_ref()?.value, r.weight)))
        .unzip();
    let alignment_index =
        stats::weighted_mean(&coverages, &weights).map(|c| (100.0 * c).clamp(0.0, 100.0));
    let distinct: BTreeSet<&str> = rows.iter().map(|r| r.skill_id.as_str()).collect();
    let effort_alignment = share_of(
        distinct
            .iter()
            .map(|s| skill_hours.get(*s).copied().unwrap_or(0.0))
            .fold(0.0, saturating_add),
    );

    if rows.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_goals");
    } else if alignment_index.is_none() {
        header.add_reason("empty_populations");
    }
    header.set_n("goals", rows.len());
    header.set_n("events", events);

    StrategicAlignment {
        header,
        goals: rows,
        alignment_index,
        effort_alignment,
    }
}

/// One user's part of the effort alignment (their `alignment` digest part,
/// [`crate::digest`]): their events in the `org.alignment_window_weeks` weekly bins ending at
/// `asOf`, with their hours per skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlignmentPart {
    /// Events in the window.
    pub events: usize,
    /// Their time-on-task in hours.
    pub hours: f64,
    /// By skill id: the hours of events about content items tagged with the skill, an event's
    /// hours shared equally among its item's skills.
    pub skill_hours: BTreeMap<String, f64>,
}

/// `user_id`'s [`AlignmentPart`] at `as_of`.
pub(crate) fn part(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> AlignmentPart {
    let timed = window_events(idx, user_id, as_of, cfg.org.alignment_window_weeks, cfg);
    let mut hours = 0.0_f64;
    let mut skill_hours: BTreeMap<String, f64> = BTreeMap::new();
    for t in &timed {
        hours = saturating_add(hours, t.hours);
        let Some(item) = idx.content_item(&t.event.object_id) else {
            continue;
        };
        let skills: BTreeSet<&str> = item.skill_ids.iter().map(String::as_str).collect();
        let share = t.hours / skills.len().max(1) as f64;
        for skill in skills {
            let slot = skill_hours.entry(skill.to_owned()).or_insert(0.0);
            *slot = saturating_add(*slot, share);
        }
    }
    AlignmentPart {
        events: timed.len(),
        hours,
        skill_hours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{GoalScope, Organization, SkillSource, StrategicGoal, UserSkill, Verb};
    use crate::test_support::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn goal(skill: &str, weight: f64, target: f64, scope: GoalScope) -> StrategicGoal {
        StrategicGoal {
            skill_id: skill.into(),
            weight,
            target_level: target,
            scope,
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

    fn timed(user: &str, object: &str, at: &str, secs: f64) -> crate::input::ActivityEvent {
        let mut e = event(user, object, Verb::Experienced, at);
        e.duration_sec = Some(secs);
        e
    }

    fn example() -> Dataset {
        let mut k1 = item("k1", "c1", 30.0);
        k1.skill_ids = vec!["s1".into(), "s2".into(), "s1".into()];
        let mut k2 = item("k2", "c1", 30.0);
        k2.skill_ids = vec!["s1".into()];
        Dataset {
            organizations: vec![Organization {
                id: "o1".into(),
                name: "Org".into(),
                strategic_goals: vec![
                    goal("s1", 2.0, 3.0, GoalScope::All),
                    goal("s2", 1.0, 2.0, GoalScope::JobRoles(vec!["r1".into()])),
                    goal("s3", 1.0, 1.0, GoalScope::JobRoles(vec!["r9".into()])),
                    goal("s4", 0.0, 1.0, GoalScope::All), // invalid weight
                ],
            }],
            users: vec![
                user("u1", "o1", Some("r1")),
                user("u2", "o1", Some("r1")),
                user("u3", "o1", Some("r2")),
                user("u4", "o1", None),
            ],
            user_skills: vec![
                level("u1", "s1", 3.0),
                level("u2", "s1", 2.0),
                level("u3", "s1", 4.0),
                level("u1", "s2", 2.0),
                level("u2", "s2", 2.5),
            ],
            content_items: vec![k1, k2, item("k3", "c1", 30.0)],
            events: vec![
                timed("u1", "k1", "2025-06-01T00:00:00Z", 3600.0),
                timed("u3", "k2", "2025-06-10T00:00:00Z", 7200.0),
                timed("u4", "k3", "2025-06-20T00:00:00Z", 3600.0),
                timed("u1", "k2", "2025-01-01T00:00:00Z", 3600.0), // before the window
                timed("u1", "k2", "2025-07-01T00:00:00Z", 3600.0), // after asOf
            ],
            ..Dataset::default()
        }
    }

    #[test]
    fn coverage_is_the_proficient_share_of_the_scoped_population() {
        let a = compute(&example(), "o1", ts(AS_OF), &Config::default());
        assert_eq!(a.header.status, Status::Ok);
        assert_eq!(a.goals.len(), 3);
        assert!(a.header.reasons.iter().any(|r| r == "invalid_goal_ignored"));
        let s1 = &a.goals[0];
        assert_eq!((s1.population, s1.proficient), (4, 2)); // u1 and u3; u4 unassessed
        assert_eq!(s1.coverage, Proportion::wilson(2, 4));
        let s2 = &a.goals[1];
        assert_eq!((s2.population, s2.proficient), (2, 2));
        assert_eq!(s2.coverage, Proportion::wilson(2, 2));
        let s3 = &a.goals[2];
        assert_eq!((s3.population, s3.coverage.clone()), (0, None));
    }

    #[test]
    fn alignment_index_renormalises_weights_over_defined_coverage() {
        let a = compute(&example(), "o1", ts(AS_OF), &Config::default());
        // (2·0.5 + 1·1.0) / (2 + 1); the empty s3 population drops out.
        close(a.alignment_index.expect("index"), 100.0 * 2.0 / 3.0);
    }

    #[test]
    fn effort_splits_multi_skill_items_equally() {
        let a = compute(&example(), "o1", ts(AS_OF), &Config::default());
        // Window hours: u1 1 h on k1 (s1, s2), u3 2 h on k2 (s1), u4 1 h on k3 (untagged).
        close(a.goals[0].learning_hours, 2.5);
        close(a.goals[0].effort_share.expect("share"), 2.5 / 4.0);
        close(a.goals[1].learning_hours, 0.5);
        close(a.goals[1].effort_share.expect("share"), 0.5 / 4.0);
        assert_eq!(a.goals[2].effort_share, Some(0.0));
        close(a.effort_alignment.expect("effort"), 3.0 / 4.0);
        assert_eq!(a.header.n.get("events"), Some(&3));
    }

    #[test]
    fn no_hours_gives_null_effort_shares() {
        let mut data = example();
        data.events.clear();
        let a = compute(&data, "o1", ts(AS_OF), &Config::default());
        assert!(a.goals.iter().all(|g| g.effort_share.is_none()));
        assert_eq!(a.effort_alignment, None);
        assert!(a.alignment_index.is_some());
    }

    #[test]
    fn no_goals_or_no_org_is_insufficient_data() {
        let mut data = example();
        data.organizations[0].strategic_goals.clear();
        let a = compute(&data, "o1", ts(AS_OF), &Config::default());
        assert_eq!(a.header.status, Status::InsufficientData);
        assert_eq!(a.header.reasons, ["no_goals"]);
        let b = compute(&data, "o9", ts(AS_OF), &Config::default());
        assert_eq!(b.header.reasons, ["unknown_org"]);
    }

    #[test]
    fn only_empty_populations_give_a_null_index() {
        let mut data = example();
        data.organizations[0].strategic_goals =
            vec![goal("s3", 1.0, 1.0, GoalScope::JobRoles(vec!["r9".into()]))];
        let a = compute(&data, "o1", ts(AS_OF), &Config::default());
        assert_eq!(a.header.status, Status::Ok);
        assert_eq!(a.alignment_index, None);
        assert_eq!(a.header.reasons, ["empty_populations"]);
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let a = compute(&example(), "o1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&a).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&a).expect("serialises");
        for key in ["goals", "alignmentIndex", "effortAlignment"] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in [
            "skillId",
            "weight",
            "targetLevel",
            "population",
            "proficient",
            "coverage",
            "learningHours",
            "effortShare",
        ] {
            assert!(json["goals"][0].get(key).is_some(), "missing goals.{key}");
        }
        assert!(json["goals"][0]["coverage"].get("ci").is_some());
        let back: StrategicAlignment = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, a);
    }
}
