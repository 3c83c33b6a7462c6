//! Analytic 19, **recommendations**: the courses that would close the learner's most important
//! skill gaps, ranked by relevance and by how much learners gained in them (Drachsler, Verbert,
//! Santos & Manouselis 2015 on recommender systems for learning).
//!
//! Definitions and interpretations (where `analytics.md` leaves a choice):
//! - **Gaps** are the rows of skillGapMatrix (analytic 2, same `asOf`, read by the same code,
//!   [`crate::learner::skill_gap`]): a skill is a gap when its priority = normGap·importance is
//!   > 0 (an unassessed target counts as a full gap, as skillGapMatrix prioritises it).
//! - **Catalogue**: the courses the learner can take: the organisation's own (`orgId` = the
//!   learner's) and the global ones (no `orgId`); a duplicated course id keeps its first
//!   occurrence. Only **courses** are recommended: content items are reached through their
//!   course, and a course is what has the outcome data (pairs, completions) that
//!   effectiveness needs; `analytics.md` allows either.
//! - **Candidates**: catalogue courses teaching (`Course.skills`) at least one gap skill that
//!   the learner has not completed (no enrollment with `enrolledAt ≤ asOf`, status
//!   `completed` and `completedAt ≤ asOf`). `kind` = `resume` when the learner has an enrollment active at
//!   `asOf` ([`crate::input::Enrollment::is_active_at`]), else `new` (a dropped or failed
//!   course may be recommended anew). `skills` = the course's gap skills, by priority
//!   (descending), then id.
//! - **relevance** = Σ_{s∈S(c)} priority_s / Σ priority, S(c) = the course's gap skills, Σ over
//!   all the learner's skills: in \[0,1\].
//! - **effectiveness**, in \[0,1\]:
//!   - a course with n ≥ 1 matched pre/post pairs (first attempts of its enrolled learners at
//!     its `pre` and `post` assessments, pre < 100, exactly as teachingEffectiveness pairs
//!     them, [`crate::trainer`]): its Hake ⟨g⟩, clipped to \[0,1\] (as teachingEffectiveness's
//!     index does: a negative class gain is no evidence of effectiveness, and ⟨g⟩ has no lower
//!     bound), shrunk towards the catalogue mean m as (C·m + n·g)/(C + n), C =
//!     `recommendations.effectiveness_prior_weight` (10); `evidence` = `gain`;
//!   - else completionRate·meanFinalScore of coursePerformance (analytic 7, matured
//!     completions and first final attempts) when both exist; `evidence` = `completion`;
//!   - else m; `evidence` = `catalogue_mean`;
//!   - m = the mean of the clipped ⟨g⟩ of the catalogue courses with at least one pair (each
//!     course counts once, whatever its size). No course has a pair: effectiveness is `null`
//!     and `evidence` = `none`; the score then uses 0 (nothing known, nothing credited).
//! - **score** = relevance·(0.5 + 0.5·effectiveness), ×1.1 (`recommendations.best_type_bonus`)
//!   when the course's **dominant content type** equals the learner's contentEffectiveness
//!   `bestType` (analytic 6); `bestTypeBonus` says whether it applied. The dominant type is
//!   the type with the largest total expected duration among the course's content items
//!   (ties: more items, then the order video, text, quiz, lab); a course without items has
//!   none. The bonus is optional in `analytics.md`; a bonus that is not finite and > 0 is
//!   read as 1 (off).
//! - **Order**: score descending, then shorter `expectedDurationHours` (a negative or
//!   non-finite duration sorts last), then course id. **At most 2 items per skill**
//!   (`recommendations.max_per_skill`): walking down that order, a course is kept only while
//!   every skill of its `skills` list appears in fewer than 2 kept courses, so no skill is
//!   named by more than 2 items. `rank` = 1, 2, … over the kept courses.
//! - **reasons** (templates of `analytics.md`): one "Closes your {skill} gap ({cur}→{tgt});
//!   strategic priority (weight {w})" per skill of `skills`, with {skill} the skill's name
//!   (its id when the taxonomy lacks it), {cur} the current level or `unassessed`, {tgt} the
//!   target and {w} the skill's skillGapMatrix importance (roleWeight·(1 + goal share), which
//!   carries the strategic weight), numbers with at most two decimals and no trailing zeros;
//!   then, for `evidence` = `gain`, "Learners gained {g:.0%} of possible improvement (n={n})"
//!   with the course's raw ⟨g⟩ (Python's `{:.0%}`) and its number of pairs.
//! - **No open gaps** (the learner has targets, every priority is 0): the candidates are the
//!   uncompleted catalogue courses teaching any target skill (the job role's requirements and
//!   the scoped goals), `skills` = those target skills by id, relevance `null`, score =
//!   (0.5 + 0.5·effectiveness)·bonus (every such course equally relevant: the most effective
//!   come first), reasons `no_open_gaps` plus the gain template; reason `no_open_gaps` in the
//!   header too. The per-skill limit applies to these skills.
//! - **Edge cases**: unknown user or one created after `asOf`: `insufficient_data`, reason
//!   `unknown_user`; no targets: `insufficient_data`, reason `no_targets`; an empty catalogue
//!   (or no candidate): `items = []` with status `ok` and reason `empty_catalogue`
//!   (`no_candidates`).
//!
//! `n`: `targets`, `gapSkills`, `catalogue`, `candidates`, `items`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{ContentType, Course, Dataset, DatasetIndex, User, nonneg_finite};
use crate::learner::content;
use crate::learner::skill_gap::{SkillGap, UserTargets, user_targets};
use crate::memo::{CohortMemo, remember};
use crate::stats;
use crate::trainer::{course_outcomes, course_pairs};

/// The recommendations payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendations {
    #[serde(flatten)]
    pub header: Header,
    pub items: Vec<Recommendation>,
}

/// One recommended course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// 1 = first.
    pub rank: u32,
    pub course_id: String,
    pub kind: RecommendationKind,
    pub score: f64,
    /// Share of the learner's total priority the course addresses; `null` without open gaps.
    pub relevance: Option<f64>,
    /// In \[0,1\]; `null` when nothing at all is known about any course's outcomes.
    pub effectiveness: Option<f64>,
    /// What `effectiveness` rests on.
    pub evidence: Evidence,
    /// Whether the best-content-type bonus applied.
    pub best_type_bonus: bool,
    /// The gap skills the course teaches (or the target skills, without open gaps).
    pub skills: Vec<String>,
    pub reasons: Vec<String>,
}

/// Whether the learner starts the course or goes back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendationKind {
    New,
    Resume,
}

/// The basis of a course's effectiveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The course's own shrunk Hake gain.
    Gain,
    /// completionRate·meanFinalScore.
    Completion,
    /// The catalogue mean gain m.
    CatalogueMean,
    /// No outcome data anywhere in the catalogue.
    None,
}

/// Computes recommendations for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> Recommendations {
    compute_indexed(&data.index(), user_id, as_of, cfg)
}

/// Computes recommendations for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> Recommendations {
    compute_shared(idx, user_id, as_of, cfg, &CohortMemo::new())
}

/// [`compute_indexed`] with the organisation's catalogue (and its gains), each course's
/// completion outcome and dominant content type, and the learner's best content type (or the
/// item statistics behind it) taken from (and added to) `memo`; the same payload.
pub fn compute_shared<'a>(
    idx: &DatasetIndex<'a>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
    memo: &CohortMemo<'a>,
) -> Recommendations {
    let mut header = Header::new(as_of);
    let Some(user) = idx.user(user_id).filter(|u| u.created_at <= as_of) else {
        header.status = Status::InsufficientData;
        header.add_reason("unknown_user");
        return empty(header);
    };
    let UserTargets {
        skills: rows,
        reasons,
        ..
    } = user_targets(idx, user, as_of);
    for reason in reasons {
        header.add_reason(reason);
    }
    header.set_n("targets", rows.len());
    if rows.is_empty() {
        header.status = Status::InsufficientData;
        header.add_reason("no_targets");
        return empty(header);
    }
    let gaps: BTreeMap<&str, &SkillGap> = rows
        .iter()
        .filter(|r| r.priority > 0.0)
        .map(|r| (r.skill_id.as_str(), r))
        .collect();
    let total_priority = gaps
        .values()
        .fold(0.0_f64, |a, r| (a + r.priority).min(f64::MAX));
    let open_gaps = !gaps.is_empty() && total_priority > 0.0;
    header.set_n("gapSkills", gaps.len());

    let catalogue = remember(&memo.catalogues, &user.org_id, || {
        Rc::new(Catalogue::of(idx, &user.org_id, as_of))
    });
    header.set_n("catalogue", catalogue.courses.len());
    if catalogue.courses.is_empty() {
        header.add_reason("empty_catalogue");
        header.set_n("candidates", 0);
        header.set_n("items", 0);
        return empty(header);
    }
    let gains = &catalogue.gains;
    let best_type = remember(&memo.best_types, user_id, || {
        content::compute_shared(idx, user_id, as_of, cfg, memo).best_type
    });
    let bonus = Some(cfg.recommendations.best_type_bonus)
        .filter(|b| b.is_finite() && *b > 0.0)
        .unwrap_or(1.0);
    let prior_weight = cfg.recommendations.effectiveness_prior_weight;

    // The courses teaching a gap skill (or, without open gaps, a target skill): no other
    // course can be a candidate.
    let wanted: Vec<&str> = if open_gaps {
        gaps.keys().copied().collect()
    } else {
        rows.iter().map(|r| r.skill_id.as_str()).collect()
    };
    let mut teaching: Vec<usize> = wanted
        .iter()
        .filter_map(|s| catalogue.by_skill.get(s))
        .flatten()
        .copied()
        .collect();
    teaching.sort_unstable();
    teaching.dedup();

    let mut candidates = Vec::new();
    for course in teaching
        .into_iter()
        .filter_map(|i| catalogue.courses.get(i))
    {
        if completed(idx, user, course, as_of) {
            continue;
        }
        let taught: BTreeSet<&str> = course.skills.iter().map(|s| s.skill_id.as_str()).collect();
        let mut skills: Vec<&SkillGap> = if open_gaps {
            taught.iter().filter_map(|s| gaps.get(s).copied()).collect()
        } else {
            rows.iter()
                .filter(|r| taught.contains(r.skill_id.as_str()))
                .collect()
        };
        if skills.is_empty() {
            continue;
        }
        if open_gaps {
            skills.sort_by(|a, b| {
                b.priority
                    .total_cmp(&a.priority)
                    .then_with(|| a.skill_id.cmp(&b.skill_id))
            });
        }
        let (effectiveness, evidence) =
            gains.effectiveness(idx, course, as_of, prior_weight, cfg, memo);
        let best_type_bonus = best_type.is_some()
            && remember(&memo.dominant_type, &course.id, || {
                dominant_type(idx, course)
            }) == best_type;
        let factor = if best_type_bonus { bonus } else { 1.0 };
        let base = 0.5 + 0.5 * effectiveness.unwrap_or(0.0);
        let relevance = open_gaps.then(|| {
            let sum = skills.iter().fold(0.0_f64, |a, r| a + r.priority);
            (sum / total_priority).clamp(0.0, 1.0)
        });
        let score = relevance.unwrap_or(1.0) * base * factor;
        let mut reasons: Vec<String> = if open_gaps {
            skills.iter().map(|r| gap_reason(idx, r)).collect()
        } else {
            vec!["no_open_gaps".to_owned()]
        };
        if evidence == Evidence::Gain
            && let Some(g) = gains.raw_gain(&course.id)
        {
            reasons.push(format!(
                "Learners gained {:.0}% of possible improvement (n={})",
                g * 100.0,
                gains.pairs(&course.id)
            ));
        }
        let active = idx
            .enrollments_of(&user.id)
            .iter()
            .any(|e| e.course_id == course.id && e.is_active_at(as_of));
        candidates.push(Candidate {
            duration: duration_key(course),
            item: Recommendation {
                rank: 0,
                course_id: course.id.clone(),
                kind: if active {
                    RecommendationKind::Resume
                } else {
                    RecommendationKind::New
                },
                score: if score.is_finite() { score } else { 0.0 },
                relevance,
                effectiveness,
                evidence,
                best_type_bonus,
                skills: skills.iter().map(|r| r.skill_id.clone()).collect(),
                reasons,
            },
        });
    }
    header.set_n("candidates", candidates.len());
    candidates.sort_by(by_score);

    let limit = usize::try_from(cfg.recommendations.max_per_skill).unwrap_or(usize::MAX);
    let mut named: BTreeMap<String, usize> = BTreeMap::new();
    let mut items = Vec::new();
    for Candidate { mut item, .. } in candidates {
        let full = item
            .skills
            .iter()
            .any(|s| named.get(s).copied().unwrap_or(0) >= limit);
        if full {
            continue;
        }
        for s in &item.skills {
            *named.entry(s.clone()).or_default() += 1;
        }
        item.rank = u32::try_from(items.len() + 1).unwrap_or(u32::MAX);
        items.push(item);
    }

    if !open_gaps {
        header.add_reason("no_open_gaps");
    }
    if items.is_empty() {
        header.add_reason("no_candidates");
    }
    header.set_n("items", items.len());
    Recommendations { header, items }
}

fn empty(header: Header) -> Recommendations {
    Recommendations {
        header,
        items: Vec::new(),
    }
}

/// A recommendation before ranking, with its tie-break key.
struct Candidate {
    duration: f64,
    item: Recommendation,
}

/// Score descending, then shorter duration, then course id.
fn by_score(a: &Candidate, b: &Candidate) -> Ordering {
    b.item
        .score
        .total_cmp(&a.item.score)
        .then_with(|| a.duration.total_cmp(&b.duration))
        .then_with(|| a.item.course_id.cmp(&b.item.course_id))
}

/// The course's expected hours; +∞ (last) when negative or not finite.
fn duration_key(course: &Course) -> f64 {
    let h = course.expected_duration_hours;
    if h.is_finite() && h >= 0.0 {
        h
    } else {
        f64::INFINITY
    }
}

/// An organisation's catalogue: its own courses and the global ones (first record of each
/// id, in id order), which of them teach each skill, and their gains. The same for every
/// learner of the organisation, so a batch builds it once ([`CohortMemo`]).
pub(crate) struct Catalogue<'a> {
    courses: Vec<&'a Course>,
    /// Skill id → positions in `courses`.
    by_skill: HashMap<&'a str, Vec<usize>>,
    gains: CatalogueGains,
}

impl<'a> Catalogue<'a> {
    fn of(idx: &DatasetIndex<'a>, org_id: &str, as_of: DateTime<Utc>) -> Self {
        let mut courses: Vec<&'a Course> = idx
            .dataset()
            .courses
            .iter()
            .filter(|c| c.org_id.as_ref().is_none_or(|o| o == org_id))
            .filter(|c| {
                idx.course(&c.id)
                    .is_some_and(|first| std::ptr::eq(first, *c))
            })
            .collect();
        courses.sort_by(|a, b| a.id.cmp(&b.id));
        let mut by_skill: HashMap<&'a str, Vec<usize>> = HashMap::new();
        for (i, course) in courses.iter().enumerate() {
            for s in &course.skills {
                let at = by_skill.entry(s.skill_id.as_str()).or_default();
                if at.last() != Some(&i) {
                    at.push(i);
                }
            }
        }
        let gains = CatalogueGains::of(idx, &courses, as_of);
        Catalogue {
            courses,
            by_skill,
            gains,
        }
    }
}

impl std::fmt::Debug for Catalogue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("courses", &self.courses.len())
            .finish_non_exhaustive()
    }
}

/// Whether the learner completed the course by `as_of` (an enrollment that does not exist yet
/// at `as_of` does not count, whatever its dates say).
fn completed(idx: &DatasetIndex<'_>, user: &User, course: &Course, as_of: DateTime<Utc>) -> bool {
    idx.enrollments_of(&user.id)
        .iter()
        .any(|e| e.course_id == course.id && e.enrolled_at <= as_of && e.completed_by(as_of))
}

/// The content type with the largest total expected duration among the course's items (ties:
/// more items, then the earlier type); `None` without items.
fn dominant_type(idx: &DatasetIndex<'_>, course: &Course) -> Option<ContentType> {
    let mut totals: BTreeMap<ContentType, (f64, usize)> = BTreeMap::new();
    for item in idx.course_items(course) {
        let t = totals.entry(item.content_type).or_default();
        t.0 = (t.0 + item.expected_hours()).min(f64::MAX);
        t.1 += 1;
    }
    // BTreeMap order is video, text, quiz, lab; `max_by` keeps the last maximum, so walk it
    // backwards to let the earlier type win ties.
    totals
        .into_iter()
        .rev()
        .max_by(|(_, a), (_, b)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
        .map(|(t, _)| t)
}

/// "Closes your {skill} gap ({cur}→{tgt}); strategic priority (weight {w})".
fn gap_reason(idx: &DatasetIndex<'_>, row: &SkillGap) -> String {
    let name = idx
        .skill(&row.skill_id)
        .map_or(row.skill_id.as_str(), |s| s.name.as_str());
    let current = row.current.map_or_else(|| "unassessed".to_owned(), compact);
    format!(
        "Closes your {name} gap ({current}→{}); strategic priority (weight {})",
        compact(row.target),
        compact(row.importance)
    )
}

/// A number with at most two decimals and no trailing zeros (2 → "2", 1.5 → "1.5").
fn compact(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The gains of the catalogue's courses and their mean m.
struct CatalogueGains {
    /// Per course id: (raw ⟨g⟩, pairs), for courses with at least one pair.
    by_course: BTreeMap<String, (f64, usize)>,
    /// Mean of the clipped gains; `None` when no course has a pair.
    mean: Option<f64>,
}

impl CatalogueGains {
    fn of(idx: &DatasetIndex<'_>, catalogue: &[&Course], as_of: DateTime<Utc>) -> Self {
        let mut by_course = BTreeMap::new();
        for course in catalogue {
            let pairs = course_pairs(idx, &course.id, as_of);
            if let Some(g) = pairs.hake_gain() {
                by_course.insert(course.id.clone(), (g, pairs.len()));
            }
        }
        let clipped: Vec<f64> = by_course.values().map(|(g, _)| clip(*g)).collect();
        CatalogueGains {
            mean: stats::mean(&clipped),
            by_course,
        }
    }

    fn raw_gain(&self, course_id: &str) -> Option<f64> {
        self.by_course.get(course_id).map(|(g, _)| *g)
    }

    fn pairs(&self, course_id: &str) -> usize {
        self.by_course.get(course_id).map_or(0, |(_, n)| *n)
    }

    /// The course's effectiveness and what it rests on (see the module documentation).
    fn effectiveness(
        &self,
        idx: &DatasetIndex<'_>,
        course: &Course,
        as_of: DateTime<Utc>,
        prior_weight: f64,
        cfg: &Config,
        memo: &CohortMemo<'_>,
    ) -> (Option<f64>, Evidence) {
        if let (Some(&(g, n)), Some(m)) = (self.by_course.get(&course.id), self.mean) {
            // (C·m + n·g)/(C + n): the weighted mean of m (weight C) and g (weight n).
            let c = nonneg_finite(prior_weight);
            if let Some(e) = stats::weighted_mean(&[m, clip(g)], &[c, n as f64]) {
                return (Some(e.clamp(0.0, 1.0)), Evidence::Gain);
            }
        }
        let completion = remember(&memo.course_completion, &course.id, || {
            let outcomes = course_outcomes(idx, course, as_of, cfg);
            let rate = outcomes.completion_rate(cfg)?;
            Some((rate.value * outcomes.mean_final_score()?).clamp(0.0, 1.0))
        });
        if let Some(e) = completion {
            return (Some(e), Evidence::Completion);
        }
        match self.mean {
            Some(m) => (Some(m), Evidence::CatalogueMean),
            None => (None, Evidence::None),
        }
    }
}

/// ⟨g⟩ clipped to \[0,1\].
fn clip(g: f64) -> f64 {
    g.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{
        AssessmentKind, ContentItem, CourseSkill, EnrollmentStatus, GoalScope, JobRole,
        Organization, Response, Skill, SkillRequirement, SkillSource, StrategicGoal, UserSkill,
        Verb,
    };
    use crate::test_support::*;
    use crate::trainer::testdata::{assessment, attempt};

    const AS_OF: &str = "2025-06-30T12:00:00Z";

    fn teaching(id: &str, hours: f64, skills: &[&str]) -> Course {
        let mut c = course(id, hours);
        c.skills = skills
            .iter()
            .map(|s| CourseSkill {
                skill_id: (*s).into(),
                level: 4.0,
            })
            .collect();
        c
    }

    fn level(skill: &str, level: f64) -> UserSkill {
        UserSkill {
            user_id: "me".into(),
            skill_id: skill.into(),
            current_level: level,
            source: SkillSource::Assessed,
            updated_at: ts("2025-03-01T00:00:00Z"),
        }
    }

    fn req(skill: &str, target: f64) -> SkillRequirement {
        SkillRequirement {
            skill_id: skill.into(),
            target_level: target,
            weight: 1.0,
        }
    }

    /// Enrolls `user` in `course` and adds a first attempt at its pre- and post-test.
    fn pair(data: &mut Dataset, course: &str, user: &str, pre: f64, post: f64) {
        let n = data.enrollments.len();
        data.enrollments.push(enrollment(
            &format!("e{n}"),
            user,
            course,
            "2025-05-01T00:00:00Z",
            EnrollmentStatus::InProgress,
        ));
        let m = data.attempts.len();
        data.attempts.push(attempt(
            &format!("t{m}"),
            &format!("{course}-pre"),
            user,
            "2025-05-02T00:00:00Z",
            pre,
            false,
        ));
        data.attempts.push(attempt(
            &format!("t{}", m + 1),
            &format!("{course}-post"),
            user,
            "2025-06-01T00:00:00Z",
            post,
            true,
        ));
    }

    /// Learner `me` (org o1, role R): targets s1 "Rust" at 4 (also an org goal: importance 2),
    /// s2 "SQL" at 2 and s3 "Docker" at 2 (importance 1 each); levels s1 2, s2 1, s3 2, so
    /// priorities are s1 1.0, s2 0.5, s3 0 (Σ = 1.5).
    ///
    /// Catalogue (o1 and global): cA (s1, 10 h; five golden pairs, ⟨g⟩ = .3125), cB (s1, 5 h;
    /// no pairs, matured completion 2/4 and mean final score .7), cC (s1+s2, 20 h; two pairs
    /// 50→100, ⟨g⟩ = 1), cD (s2, 8 h; `me` is enrolled), cE (s3, 3 h), cF (s1, completed by
    /// `me`), cH and cI (s2, 6 h each); cG (s1) belongs to o2. m = (.3125 + 1)/2 = .65625.
    fn example() -> Dataset {
        let mut data = Dataset {
            organizations: vec![Organization {
                id: "o1".into(),
                name: "Org".into(),
                strategic_goals: vec![StrategicGoal {
                    skill_id: "s1".into(),
                    weight: 1.0,
                    target_level: 4.0,
                    scope: GoalScope::All,
                }],
            }],
            job_roles: vec![JobRole {
                id: "R".into(),
                org_id: "o1".into(),
                name: "R".into(),
                requirements: vec![req("s1", 4.0), req("s2", 2.0), req("s3", 2.0)],
            }],
            users: vec![user("me", "o1", Some("R"))],
            skills: vec![
                Skill {
                    id: "s1".into(),
                    name: "Rust".into(),
                    max_level: 5.0,
                },
                Skill {
                    id: "s2".into(),
                    name: "SQL".into(),
                    max_level: 5.0,
                },
            ],
            user_skills: vec![level("s1", 2.0), level("s2", 1.0), level("s3", 2.0)],
            courses: vec![
                teaching("cA", 10.0, &["s1"]),
                teaching("cB", 5.0, &["s1"]),
                teaching("cC", 20.0, &["s1", "s2"]),
                teaching("cD", 8.0, &["s2"]),
                teaching("cE", 3.0, &["s3"]),
                teaching("cF", 1.0, &["s1"]),
                teaching("cH", 6.0, &["s2"]),
                teaching("cI", 6.0, &["s2"]),
                teaching("cG", 1.0, &["s1"]),
            ],
            ..Dataset::default()
        };
        data.courses[4].org_id = None; // cE is global
        data.courses[8].org_id = Some("o2".into()); // cG is another organisation's
        for c in ["cA", "cC"] {
            data.assessments.push(assessment(
                &format!("{c}-pre"),
                c,
                AssessmentKind::Pre,
                100.0,
            ));
            data.assessments.push(assessment(
                &format!("{c}-post"),
                c,
                AssessmentKind::Post,
                100.0,
            ));
        }
        data.assessments
            .push(assessment("cB-post", "cB", AssessmentKind::Post, 10.0));
        let golden = [
            (40.0, 60.0),
            (55.0, 70.0),
            (60.0, 65.0),
            (35.0, 50.0),
            (70.0, 90.0),
        ];
        for (i, (pre, post)) in golden.into_iter().enumerate() {
            pair(&mut data, "cA", &format!("p{i}"), pre, post);
        }
        pair(&mut data, "cC", "r0", 50.0, 100.0);
        pair(&mut data, "cC", "r1", 50.0, 100.0);
        // cB: four enrollments matured long ago (2 × 5 h), two completed; final scores 8 and 6.
        for (i, done) in [true, true, false, false].into_iter().enumerate() {
            let mut e = enrollment(
                &format!("b{i}"),
                &format!("q{i}"),
                "cB",
                "2025-01-01T00:00:00Z",
                EnrollmentStatus::InProgress,
            );
            if done {
                e.status = EnrollmentStatus::Completed;
                e.completed_at = Some(ts("2025-02-01T00:00:00Z"));
            }
            data.enrollments.push(e);
        }
        data.attempts.push(attempt(
            "f0",
            "cB-post",
            "q0",
            "2025-02-01T00:00:00Z",
            8.0,
            true,
        ));
        data.attempts.push(attempt(
            "f1",
            "cB-post",
            "q1",
            "2025-02-01T00:00:00Z",
            6.0,
            true,
        ));
        // `me`: active in cD, completed cF.
        data.enrollments.push(enrollment(
            "m1",
            "me",
            "cD",
            "2025-06-01T00:00:00Z",
            EnrollmentStatus::InProgress,
        ));
        let mut done = enrollment(
            "m2",
            "me",
            "cF",
            "2025-01-01T00:00:00Z",
            EnrollmentStatus::Completed,
        );
        done.completed_at = Some(ts("2025-02-01T00:00:00Z"));
        data.enrollments.push(done);
        data
    }

    fn ids(r: &Recommendations) -> Vec<&str> {
        r.items.iter().map(|i| i.course_id.as_str()).collect()
    }

    fn rec<'a>(r: &'a Recommendations, id: &str) -> &'a Recommendation {
        r.items
            .iter()
            .find(|i| i.course_id == id)
            .expect("recommended course")
    }

    const M: f64 = (0.3125 + 1.0) / 2.0;

    #[test]
    fn effectiveness_follows_the_shrunk_gain_and_its_fallbacks() {
        let mut cfg = Config::default();
        cfg.recommendations.max_per_skill = 10;
        let r = compute(&example(), "me", ts(AS_OF), &cfg);
        // cA: (10·m + 5·.3125)/15; cC: (10·m + 2·1)/12.
        let a = rec(&r, "cA");
        close(
            a.effectiveness.expect("cA"),
            (10.0 * M + 5.0 * 0.3125) / 15.0,
        );
        assert_eq!(a.evidence, Evidence::Gain);
        let c = rec(&r, "cC");
        close(c.effectiveness.expect("cC"), (10.0 * M + 2.0) / 12.0);
        // cB: no pairs → completionRate·meanFinalScore = .5·.7.
        let b = rec(&r, "cB");
        close(b.effectiveness.expect("cB"), 0.5 * 0.7);
        assert_eq!(b.evidence, Evidence::Completion);
        // cD, cH, cI: nothing at all → m.
        for id in ["cD", "cH", "cI"] {
            close(rec(&r, id).effectiveness.expect("m"), M);
            assert_eq!(rec(&r, id).evidence, Evidence::CatalogueMean);
        }
    }

    #[test]
    fn relevance_and_score_are_the_hand_computed_values() {
        let mut cfg = Config::default();
        cfg.recommendations.max_per_skill = 10;
        let r = compute(&example(), "me", ts(AS_OF), &cfg);
        let e_a = (10.0 * M + 5.0 * 0.3125) / 15.0;
        let e_c = (10.0 * M + 2.0) / 12.0;
        let cases = [
            ("cC", 1.0, e_c),
            ("cA", 2.0 / 3.0, e_a),
            ("cB", 2.0 / 3.0, 0.35),
            ("cH", 1.0 / 3.0, M),
            ("cI", 1.0 / 3.0, M),
            ("cD", 1.0 / 3.0, M),
        ];
        for (id, relevance, eff) in cases {
            let i = rec(&r, id);
            close(i.relevance.expect("relevance"), relevance);
            close(i.score, relevance * (0.5 + 0.5 * eff));
            assert!(!i.best_type_bonus);
        }
        // T0 ordering: score; cH, cI and cD tie, so the shorter cH/cI (6 h) come before cD
        // (8 h), and cH before cI by id. cE (s3 met), cF (completed) and cG (o2) are absent.
        assert_eq!(ids(&r), ["cC", "cA", "cB", "cH", "cI", "cD"]);
        let ranks: Vec<u32> = r.items.iter().map(|i| i.rank).collect();
        assert_eq!(ranks, [1, 2, 3, 4, 5, 6]);
        assert_eq!(rec(&r, "cD").kind, RecommendationKind::Resume);
        assert_eq!(rec(&r, "cA").kind, RecommendationKind::New);
        assert_eq!(r.header.n.get("candidates"), Some(&6));
        assert_eq!(r.header.n.get("catalogue"), Some(&8));
        assert_eq!(r.header.n.get("gapSkills"), Some(&2));
    }

    #[test]
    fn no_skill_is_named_by_more_than_two_items() {
        let r = compute(&example(), "me", ts(AS_OF), &Config::default());
        // cC takes s1 and s2, cA fills s1, cB is dropped; cH fills s2, cI and cD are dropped.
        assert_eq!(ids(&r), ["cC", "cA", "cH"]);
        assert_eq!(rec(&r, "cH").rank, 3);
        assert_eq!(r.header.n.get("items"), Some(&3));
    }

    #[test]
    fn reasons_follow_the_templates() {
        let r = compute(&example(), "me", ts(AS_OF), &Config::default());
        assert_eq!(
            rec(&r, "cC").reasons,
            [
                "Closes your Rust gap (2→4); strategic priority (weight 2)",
                "Closes your SQL gap (1→2); strategic priority (weight 1)",
                "Learners gained 100% of possible improvement (n=2)",
            ]
        );
        // ⟨g⟩ = .3125: Python's "{:.0%}" gives "31%".
        assert_eq!(
            rec(&r, "cA").reasons,
            [
                "Closes your Rust gap (2→4); strategic priority (weight 2)",
                "Learners gained 31% of possible improvement (n=5)",
            ]
        );
        assert_eq!(rec(&r, "cC").skills, ["s1", "s2"]);
        // An unassessed skill, and a skill missing from the taxonomy, keep their template.
        let mut data = example();
        data.user_skills.retain(|s| s.skill_id != "s2");
        data.skills.clear();
        let r = compute(&data, "me", ts(AS_OF), &Config::default());
        assert_eq!(
            rec(&r, "cC").reasons[1],
            "Closes your s2 gap (unassessed→2); strategic priority (weight 1)"
        );
    }

    #[test]
    fn the_best_content_type_multiplies_the_score_by_one_point_one() {
        let mut data = example();
        // `me` completes a lab on s1 and then answers an s1 question correctly: the lab's lift
        // (1 − 1 = 0) is the only one, so bestType = lab.
        data.content_items = vec![
            ContentItem {
                content_type: ContentType::Lab,
                skill_ids: vec!["s1".into()],
                ..item("lab1", "cF", 60.0)
            },
            ContentItem {
                content_type: ContentType::Lab,
                ..item("cb-lab", "cB", 60.0)
            },
            item("cb-video", "cB", 30.0),
            item("cc-video", "cC", 90.0),
            ContentItem {
                content_type: ContentType::Lab,
                ..item("cc-lab", "cC", 60.0)
            },
        ];
        data.events
            .push(event("me", "lab1", Verb::Completed, "2025-06-01T00:00:00Z"));
        let mut quiz = assessment("q", "cF", AssessmentKind::Quiz, 1.0);
        quiz.items = vec![quiz_item("q1", &["s1"])];
        data.assessments.push(quiz);
        let mut answer = attempt("tq", "q", "me", "2025-06-05T00:00:00Z", 1.0, true);
        answer.responses = vec![Response {
            item_id: "q1".into(),
            points: 1.0,
            correct: true,
        }];
        data.attempts.push(answer);
        let mut cfg = Config::default();
        cfg.content.lift_min_n = 1;
        cfg.recommendations.max_per_skill = 10;
        let best = content::compute(&data, "me", ts(AS_OF), &cfg).best_type;
        assert_eq!(best, Some(ContentType::Lab));
        let r = compute(&data, "me", ts(AS_OF), &cfg);
        // cB is mostly lab (60 of 90 min): ×1.1. cC is mostly video (90 of 150 min): no bonus.
        let b = rec(&r, "cB");
        assert!(b.best_type_bonus);
        close(b.score, 2.0 / 3.0 * 0.675 * 1.1);
        assert!(!rec(&r, "cC").best_type_bonus);
        // A bonus of 1 switches it off.
        cfg.recommendations.best_type_bonus = 1.0;
        close(
            rec(&compute(&data, "me", ts(AS_OF), &cfg), "cB").score,
            2.0 / 3.0 * 0.675,
        );
    }

    #[test]
    fn the_dominant_type_is_the_one_with_the_most_expected_time() {
        let mut data = example();
        data.content_items = vec![
            item("v", "cA", 30.0),
            ContentItem {
                content_type: ContentType::Text,
                ..item("t", "cA", 30.0)
            },
            ContentItem {
                content_type: ContentType::Quiz,
                ..item("q", "cB", 10.0)
            },
        ];
        let idx = data.index();
        let course = |id: &str| idx.course(id).expect("course");
        // Tie of 30 min each, one item each: the earlier type (video) wins.
        assert_eq!(dominant_type(&idx, course("cA")), Some(ContentType::Video));
        assert_eq!(dominant_type(&idx, course("cB")), Some(ContentType::Quiz));
        assert_eq!(dominant_type(&idx, course("cC")), None);
    }

    #[test]
    fn without_open_gaps_the_most_effective_courses_for_the_targets_come_with_no_open_gaps() {
        let mut data = example();
        data.user_skills = vec![level("s1", 4.0), level("s2", 3.0), level("s3", 2.0)];
        let r = compute(&data, "me", ts(AS_OF), &Config::default());
        assert_eq!(r.header.status, Status::Ok);
        assert_eq!(r.header.reasons, ["no_open_gaps"]);
        // Scores .5 + .5·effectiveness: cC .857, then cE/cH/cI/cD at m (.828; cE 3 h first,
        // cH/cI 6 h, cD 8 h), cA .771, cB .675. Two per skill: cC (s1, s2), cE (s3), cH (s2),
        // cA (s1); cI, cD and cB find their skills taken.
        assert_eq!(ids(&r), ["cC", "cE", "cH", "cA"]);
        for i in &r.items {
            assert_eq!(i.relevance, None);
            assert_eq!(i.reasons[0], "no_open_gaps");
            close(i.score, 0.5 + 0.5 * i.effectiveness.expect("effectiveness"));
        }
        assert_eq!(rec(&r, "cC").skills, ["s1", "s2"]);
        assert_eq!(
            rec(&r, "cA").reasons,
            [
                "no_open_gaps",
                "Learners gained 31% of possible improvement (n=5)"
            ]
        );
    }

    #[test]
    fn an_empty_catalogue_gives_no_items() {
        let mut data = example();
        data.courses.clear();
        let r = compute(&data, "me", ts(AS_OF), &Config::default());
        assert_eq!(r.header.status, Status::Ok);
        assert_eq!(r.header.reasons, ["empty_catalogue"]);
        assert!(r.items.is_empty());
        let json = serde_json::to_value(&r).expect("serialises");
        assert_eq!(json["items"], serde_json::json!([]));
    }

    #[test]
    fn without_any_outcome_data_effectiveness_is_null_and_scores_use_half_the_relevance() {
        let mut data = example();
        data.attempts.clear();
        data.enrollments.retain(|e| e.user_id == "me");
        let mut cfg = Config::default();
        cfg.recommendations.max_per_skill = 10;
        let r = compute(&data, "me", ts(AS_OF), &cfg);
        for i in &r.items {
            assert_eq!((i.effectiveness, i.evidence), (None, Evidence::None));
            close(i.score, 0.5 * i.relevance.expect("relevance"));
        }
        // cA and cB tie at 1/3: the shorter cB (5 h) first.
        assert_eq!(ids(&r), ["cC", "cB", "cA", "cH", "cI", "cD"]);
    }

    #[test]
    fn unknown_users_and_users_without_targets_are_insufficient_data() {
        let r = compute(&example(), "ghost", ts(AS_OF), &Config::default());
        assert_eq!(r.header.status, Status::InsufficientData);
        assert_eq!(r.header.reasons, ["unknown_user"]);
        let mut data = example();
        data.job_roles.clear();
        data.organizations[0].strategic_goals.clear();
        let r = compute(&data, "me", ts(AS_OF), &Config::default());
        assert_eq!(r.header.status, Status::InsufficientData);
        // The dataset lost the role too: skillGapMatrix's reason comes along.
        assert_eq!(r.header.reasons, ["unknown_job_role", "no_targets"]);
        assert!(r.items.is_empty());
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let r = compute(&example(), "me", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&r).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&r).expect("serialises");
        for key in [
            "rank",
            "courseId",
            "kind",
            "score",
            "relevance",
            "effectiveness",
            "skills",
            "reasons",
        ] {
            assert!(json["items"][0].get(key).is_some(), "missing items.{key}");
        }
        assert_eq!(json["items"][0]["kind"], "new");
        let back: Recommendations = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, r);
        let data = example();
        assert_eq!(
            r,
            compute_indexed(&data.index(), "me", ts(AS_OF), &Config::default())
        );
    }

    #[test]
    fn compact_numbers_have_at_most_two_decimals() {
        assert_eq!(compact(2.0), "2");
        assert_eq!(compact(1.5), "1.5");
        assert_eq!(compact(4.0 / 3.0), "1.33");
        assert_eq!(compact(-0.001), "0");
        assert_eq!(compact(0.0), "0");
    }

    mod properties {
        //! recommendations on small random datasets: no panic, no NaN or infinity, ranks and
        //! order as documented, at most `max_per_skill` items per skill, completed courses
        //! never recommended, and independence from data stamped after `asOf`.

        use super::*;
        use crate::test_support::{arb_as_of, non_finite_paths};
        use crate::trainer::testdata::{arb_org_dataset, cut_at_as_of};
        use chrono::TimeDelta;
        use proptest::prelude::*;

        const SUBJECTS: [&str; 4] = ["u0", "u1", "u2", "ghost"];

        /// [`arb_org_dataset`] with random skills on the courses and a global course.
        fn arb_data() -> impl Strategy<Value = Dataset> {
            let skills = proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(vec!["s0", "s1", "s2", "s3"]),
                    0..3,
                ),
                3,
            );
            (arb_org_dataset(), skills, any::<bool>()).prop_map(|(mut data, skills, global)| {
                for (c, s) in data.courses.iter_mut().zip(skills) {
                    c.skills = s
                        .into_iter()
                        .map(|id| CourseSkill {
                            skill_id: id.into(),
                            level: 3.0,
                        })
                        .collect();
                }
                if global {
                    data.courses[2].org_id = None;
                }
                data
            })
        }

        fn check(
            idx: &DatasetIndex<'_>,
            user: &str,
            r: &Recommendations,
            as_of: DateTime<Utc>,
            cfg: &Config,
        ) -> Result<(), TestCaseError> {
            prop_assert!(
                non_finite_paths(r).is_empty(),
                "non-finite: {:?}",
                non_finite_paths(r)
            );
            let limit = usize::try_from(cfg.recommendations.max_per_skill).unwrap_or(usize::MAX);
            let mut named: BTreeMap<&str, usize> = BTreeMap::new();
            for (i, item) in r.items.iter().enumerate() {
                prop_assert_eq!(item.rank as usize, i + 1);
                prop_assert!(item.relevance.is_none_or(|x| (0.0..=1.0).contains(&x)));
                prop_assert!(item.effectiveness.is_none_or(|x| (0.0..=1.0).contains(&x)));
                prop_assert!(item.score >= 0.0 && item.score <= 1.1 + 1e-12);
                prop_assert!(!item.skills.is_empty());
                for s in &item.skills {
                    *named.entry(s.as_str()).or_default() += 1;
                }
                let mine = idx
                    .enrollments_of(user)
                    .iter()
                    .filter(|e| e.course_id == item.course_id);
                prop_assert!(
                    !mine
                        .clone()
                        .any(|e| e.enrolled_at <= as_of && e.completed_by(as_of))
                );
                prop_assert_eq!(
                    item.kind == RecommendationKind::Resume,
                    mine.clone().any(|e| e.is_active_at(as_of))
                );
                if let Some(prev) = i.checked_sub(1).and_then(|j| r.items.get(j)) {
                    prop_assert!(prev.score >= item.score);
                }
            }
            prop_assert!(named.values().all(|n| *n <= limit));
            if r.header.status != Status::Ok {
                prop_assert!(r.items.is_empty());
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

            #[test]
            fn recommendations_never_panic_and_keep_their_documented_order(
                data in arb_data(),
                limit in 0u32..4,
                shift in -3i64..3,
            ) {
                let as_of = arb_as_of() + TimeDelta::hours(shift * 37);
                let mut cfg = Config::default();
                cfg.recommendations.max_per_skill = limit;
                let idx = data.index();
                for user in SUBJECTS {
                    let r = compute_indexed(&idx, user, as_of, &cfg);
                    check(&idx, user, &r, as_of, &cfg)?;
                }
            }

            #[test]
            fn records_stamped_after_as_of_never_change_recommendations(data in arb_data()) {
                let as_of = arb_as_of();
                let cfg = Config::default();
                let cut = cut_at_as_of(&data);
                for user in SUBJECTS {
                    prop_assert_eq!(
                        compute(&data, user, as_of, &cfg),
                        compute(&cut, user, as_of, &cfg)
                    );
                }
            }
        }
    }
}
