//! Analytic 4, **masteryProgress**: Bayesian Knowledge Tracing (Corbett & Anderson 1995) per
//! skill over the learner's time-ordered item responses.
//!
//! The recursion is [`crate::stats::bkt`] (pyBKT's fixed-parameter forward pass, T1): before a
//! response L is P(known), pc = L(1−S) + (1−L)G, the posterior is L(1−S)/pc after a correct and
//! LS/(1−pc) after a wrong response, then L ← L′ + (1−L′)T.
//!
//! Interpretations (where `analytics.md` leaves a choice):
//! - **Observations** are the learner's matched item responses (see `super::responses`) of
//!   every attempt submitted ≤ `asOf`, of every assessment kind, retakes included (each answer
//!   is an opportunity to show the skill): attempts in chronological order (`submittedAt`,
//!   `attemptNo`, id), responses in the attempt's order, one response per item and attempt.
//!   The response's `correct` flag is the observation; points are not used.
//! - A **multi-skill item** updates each distinct tagged skill with the same observation
//!   (analytics.md); an untagged item updates nothing.
//! - **Parameters**: L0, T, G, S from `mastery.bkt` for every skill (per-skill EM fitting is a
//!   later improvement). The model has no forgetting: a configured `forget ≠ 0` is ignored and
//!   reason `forget_ignored` added. Parameters the recursion cannot use (L0 or T outside
//!   \[0,1\], G or S outside (0,1)) make every `pMastery`/`pCorrectNext` `null`, `mastered`
//!   false, with status `insufficient_data` and reason `invalid_bkt_parameters`.
//! - **Tracked skills** = the skills with at least one observation ∪ the learner's target
//!   skills (the rows of skillGapMatrix: job-role requirements and scoped org goals with a
//!   positive target). Sorted by skill id. A target skill without observations has
//!   `observations = 0`, `pMastery = L0` and `pCorrectNext = L0(1−S) + (1−L0)G`; the payload
//!   then carries reason `no_evidence` (and `n.skillsWithoutEvidence`).
//! - **mastered** = final L ≥ `mastery.mastery_threshold` (0.95, pyBKT `Roster`'s default).
//!   `masteredAt` = the `submittedAt` of the response after which L first reached the
//!   threshold, reported only while the skill is mastered (L can fall below it again after a
//!   wrong answer; then `mastered = false` and `masteredAt = null`). A skill mastered by its
//!   prior alone (L0 ≥ threshold) has `masteredAt = null`.
//! - `masteredCount`, `trackedSkills`, `masteryRatio` = masteredCount / trackedSkills (`null`
//!   without tracked skills).
//! - **weightedMastery** = Σ importance·pMastery / Σ importance over the target skills, with
//!   the importances of skillGapMatrix. Skills without an importance (observed but not a
//!   target) weigh 0: the index answers "how much of what the role needs is mastered", and a
//!   weight for a skill nobody asked for would be invented. `null` without target skills (or
//!   when their importances sum to 0).
//! - **courseProgress** = the mean of `progress` (clamped to \[0,1\]) over the learner's
//!   enrollments with `enrolledAt ≤ asOf`, every status included; `null` without enrollments.
//!   `progress` is the catalogue's current value: it cannot be reconstructed at an earlier
//!   `asOf`.
//! - No tracked skill at all (no observations and no targets): status `insufficient_data`,
//!   reason `no_evidence`.
//!
//! `n`: `attempts` (≤ asOf), `responses` (matched), `unmatchedResponses`, `observations`
//! (skill updates), `targetSkills`, `skillsWithoutEvidence`, `enrollments` (≤ asOf).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::responses::{attempts_until, distinct_skills, matched_responses};
use super::skill_gap;
use crate::common::{Header, Status};
use crate::config::Config;
use crate::input::{Dataset, DatasetIndex};
use crate::stats;
use crate::stats::bkt::{BktParams, bkt_trace};

/// The masteryProgress payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MasteryProgress {
    #[serde(flatten)]
    pub header: Header,
    pub skills: Vec<SkillMastery>,
    pub mastered_count: u64,
    pub tracked_skills: u64,
    /// masteredCount / trackedSkills, in \[0,1\].
    pub mastery_ratio: Option<f64>,
    /// Importance-weighted mean pMastery over the target skills, in \[0,1\].
    pub weighted_mastery: Option<f64>,
    /// Mean enrollment progress, in \[0,1\].
    pub course_progress: Option<f64>,
}

/// The BKT state of one skill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillMastery {
    pub skill_id: String,
    /// P(known) after the last observation (L0 without observations).
    pub p_mastery: Option<f64>,
    /// Predicted P(correct) at the next opportunity.
    pub p_correct_next: Option<f64>,
    pub observations: u64,
    pub mastered: bool,
    /// When L first reached the threshold, while the skill is mastered.
    pub mastered_at: Option<DateTime<Utc>>,
}

/// One skill observation: the response's correctness and when it was submitted.
#[derive(Debug, Clone, Copy)]
struct Observation {
    correct: bool,
    at: DateTime<Utc>,
}

/// The learner's observations per skill, in time order, and what was read.
#[derive(Debug, Default)]
struct Evidence<'a> {
    by_skill: BTreeMap<&'a str, Vec<Observation>>,
    attempts: usize,
    responses: usize,
    unmatched: usize,
    observations: usize,
}

fn evidence<'a>(idx: &DatasetIndex<'a>, user_id: &str, as_of: DateTime<Utc>) -> Evidence<'a> {
    let mut ev = Evidence::default();
    let attempts = attempts_until(idx, user_id, as_of);
    ev.attempts = attempts.len();
    for attempt in attempts {
        let (matched, unmatched) = matched_responses(idx, attempt);
        ev.unmatched += unmatched;
        ev.responses += matched.len();
        for m in matched {
            for skill in distinct_skills(m.item) {
                ev.observations += 1;
                ev.by_skill.entry(skill).or_default().push(Observation {
                    correct: m.response.correct,
                    at: attempt.submitted_at,
                });
            }
        }
    }
    ev
}

/// The configured BKT parameters, if the recursion can use them.
fn params_of(cfg: &Config) -> Option<BktParams> {
    let b = &cfg.mastery.bkt;
    BktParams::new(b.prior, b.transit, b.guess, b.slip)
}

/// Runs BKT over one skill's observations.
fn skill_state(
    skill_id: &str,
    params: Option<&BktParams>,
    threshold: f64,
    obs: &[Observation],
) -> SkillMastery {
    let flags: Vec<bool> = obs.iter().map(|o| o.correct).collect();
    let trace = params.and_then(|p| bkt_trace(p, &flags));
    let observations = u64::try_from(obs.len()).unwrap_or(u64::MAX);
    let Some(trace) = trace else {
        return SkillMastery {
            skill_id: skill_id.to_owned(),
            p_mastery: None,
            p_correct_next: None,
            observations,
            mastered: false,
            mastered_at: None,
        };
    };
    let mastered = trace.p_mastery >= threshold;
    // L after step i is L before step i+1, and the final L after the last step.
    let after_each = trace
        .steps
        .iter()
        .skip(1)
        .map(|s| s.p_known_before)
        .chain(std::iter::once(trace.p_mastery));
    let first_crossing = if obs.is_empty() {
        None
    } else {
        after_each.take(obs.len()).position(|l| l >= threshold)
    };
    let mastered_at = if mastered {
        first_crossing.and_then(|i| obs.get(i)).map(|o| o.at)
    } else {
        None
    };
    SkillMastery {
        skill_id: skill_id.to_owned(),
        p_mastery: stats::finite(trace.p_mastery),
        p_correct_next: stats::finite(trace.p_correct_next),
        observations,
        mastered,
        mastered_at,
    }
}

/// The BKT pMastery of every skill with at least one observation (used by skillGapMatrix);
/// empty when the configured parameters are unusable.
pub(crate) fn observed_p_mastery(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> BTreeMap<String, f64> {
    let params = params_of(cfg);
    let threshold = cfg.mastery.mastery_threshold;
    evidence(idx, user_id, as_of)
        .by_skill
        .iter()
        .filter_map(|(skill, obs)| {
            skill_state(skill, params.as_ref(), threshold, obs)
                .p_mastery
                .map(|p| ((*skill).to_owned(), p))
        })
        .collect()
}

/// Computes masteryProgress for `user_id` from `data` (indexes it first).
pub fn compute(
    data: &Dataset,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> MasteryProgress {
    compute_indexed(&data.index(), user_id, as_of, cfg)
}

/// Computes masteryProgress for `user_id` with a prebuilt index.
pub fn compute_indexed(
    idx: &DatasetIndex<'_>,
    user_id: &str,
    as_of: DateTime<Utc>,
    cfg: &Config,
) -> MasteryProgress {
    let mut header = Header::new(as_of);
    let params = params_of(cfg);
    let threshold = cfg.mastery.mastery_threshold;
    if params.is_none() {
        header.status = Status::InsufficientData;
        header.add_reason("invalid_bkt_parameters");
    }
    if cfg.mastery.bkt.forget != 0.0 {
        header.add_reason("forget_ignored");
    }

    let ev = evidence(idx, user_id, as_of);
    let importances = skill_gap::importances(idx, user_id, as_of, cfg);
    let mut tracked: BTreeMap<&str, &[Observation]> = ev
        .by_skill
        .iter()
        .map(|(skill, obs)| (*skill, obs.as_slice()))
        .collect();
    for skill in importances.keys() {
        tracked.entry(skill.as_str()).or_insert(&[]);
    }

    let skills: Vec<SkillMastery> = tracked
        .iter()
        .map(|(skill, obs)| skill_state(skill, params.as_ref(), threshold, obs))
        .collect();
    let without_evidence = skills.iter().filter(|s| s.observations == 0).count();
    let mastered_count = skills.iter().filter(|s| s.mastered).count();
    let mastery_ratio =
        (!skills.is_empty()).then(|| (mastered_count as f64 / skills.len() as f64).clamp(0.0, 1.0));

    let (mut weighted, mut total) = (0.0_f64, 0.0_f64);
    let mut undefined = false;
    for s in &skills {
        let Some(w) = importances.get(&s.skill_id) else {
            continue;
        };
        match s.p_mastery {
            Some(p) => {
                weighted = (weighted + w * p).min(f64::MAX);
                total = (total + w).min(f64::MAX);
            }
            None => undefined = true,
        }
    }
    let weighted_mastery = (!undefined && total > 0.0)
        .then(|| (weighted / total).clamp(0.0, 1.0))
        .filter(|v| v.is_finite());

    let enrollments: Vec<f64> = idx
        .enrollments_of(user_id)
        .iter()
        .filter(|e| e.enrolled_at <= as_of)
        .map(|e| e.progress_clamped())
        .collect();
    let course_progress = stats::mean(&enrollments).map(|m| m.clamp(0.0, 1.0));

    if without_evidence > 0 || skills.is_empty() {
        header.add_reason("no_evidence");
    }
    if skills.is_empty() {
        header.status = Status::InsufficientData;
    }
    header.set_n("attempts", ev.attempts);
    header.set_n("responses", ev.responses);
    header.set_n("unmatchedResponses", ev.unmatched);
    header.set_n("observations", ev.observations);
    header.set_n("targetSkills", importances.len());
    header.set_n("skillsWithoutEvidence", without_evidence);
    header.set_n("enrollments", enrollments.len());

    MasteryProgress {
        header,
        mastered_count: u64::try_from(mastered_count).unwrap_or(u64::MAX),
        tracked_skills: u64::try_from(skills.len()).unwrap_or(u64::MAX),
        skills,
        mastery_ratio,
        weighted_mastery,
        course_progress,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{
        AssessmentKind, EnrollmentStatus, JobRole, Organization, Response, SkillRequirement,
    };
    use crate::stats::testutil::assert_t1;
    use crate::test_support::*;

    const AS_OF: &str = "2025-06-30T12:00:00Z";
    const GOLDEN: [bool; 7] = [false, true, true, false, true, true, true];

    fn answer(item: &str, correct: bool) -> Response {
        Response {
            item_id: item.into(),
            points: if correct { 1.0 } else { 0.0 },
            correct,
        }
    }

    /// u1 answers q1 (skill s1) in seven attempts, one a day from 2025-06-01, with the golden
    /// observations; each attempt also answers q2 (skills s1 and s2) wrongly in the last two.
    fn golden() -> Dataset {
        let attempts = GOLDEN
            .iter()
            .enumerate()
            .map(|(i, &correct)| {
                let at = format!("2025-06-{:02}T10:00:00Z", i + 1);
                let no = u32::try_from(i + 1).unwrap_or(u32::MAX);
                attempt(
                    &format!("t{i}"),
                    "a1",
                    "u1",
                    no,
                    &at,
                    5.0,
                    vec![answer("q1", correct)],
                )
            })
            .collect();
        Dataset {
            users: vec![user("u1", "o1", None)],
            assessments: vec![assessment(
                "a1",
                AssessmentKind::Quiz,
                None,
                vec![quiz_item("q1", &["s1"]), quiz_item("q2", &["s1", "s2"])],
            )],
            attempts,
            ..Dataset::default()
        }
    }

    fn row<'a>(m: &'a MasteryProgress, skill: &str) -> &'a SkillMastery {
        m.skills
            .iter()
            .find(|s| s.skill_id == skill)
            .expect("tracked skill")
    }

    #[test]
    fn the_golden_bkt_vector_comes_out_of_the_analytic() {
        let m = compute(&golden(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(m.header.status, Status::Ok);
        let s1 = row(&m, "s1");
        assert_t1(s1.p_mastery.expect("pMastery"), 0.9867746380606548);
        assert_t1(s1.p_correct_next.expect("pc"), 0.8914035147394256);
        assert_eq!(s1.observations, 7);
        assert!(s1.mastered);
        // L first reaches 0.95 after the seventh response (pre-step L there is 0.94616).
        assert_eq!(s1.mastered_at, Some(ts("2025-06-07T10:00:00Z")));
        assert_eq!((m.mastered_count, m.tracked_skills), (1, 1));
        assert_eq!(m.mastery_ratio, Some(1.0));
        assert_eq!(m.header.n.get("observations"), Some(&7));
        assert!(m.header.reasons.is_empty());
    }

    #[test]
    fn attempts_are_replayed_in_submission_order_whatever_the_dataset_order() {
        let mut data = golden();
        data.attempts.reverse();
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_t1(
            row(&m, "s1").p_mastery.expect("pMastery"),
            0.9867746380606548,
        );
    }

    #[test]
    fn attempts_after_as_of_are_not_observations() {
        // At the end of 2025-06-03 only [0, 1, 1] are in: L = pre-step L of step 4.
        let m = compute(
            &golden(),
            "u1",
            ts("2025-06-03T23:00:00Z"),
            &Config::default(),
        );
        let s1 = row(&m, "s1");
        assert_eq!(s1.observations, 3);
        assert!((s1.p_mastery.expect("pMastery") - 0.82737).abs() < 5e-6);
        assert!(!s1.mastered);
        assert_eq!(s1.mastered_at, None);
    }

    #[test]
    fn a_multi_skill_item_updates_every_tagged_skill() {
        let mut data = golden();
        for a in &mut data.attempts[5..] {
            a.responses.push(answer("q2", false));
        }
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        // s1: 0,1,1,0,1, then (1, 0), (1, 0); s2: 0, 0.
        let p = BktParams::default();
        let s1_obs = [false, true, true, false, true, true, false, true, false];
        let want_s1 = bkt_trace(&p, &s1_obs).expect("trace").p_mastery;
        assert_t1(row(&m, "s1").p_mastery.expect("s1"), want_s1);
        assert_eq!(row(&m, "s1").observations, 9);
        // s2 by hand: two wrong answers from L0 = 0.2 (the first gives the golden 0.17742).
        let wrong = |l: f64| {
            let pc = l * 0.9 + (1.0 - l) * 0.25;
            let post = l * 0.1 / (1.0 - pc);
            post + (1.0 - post) * 0.15
        };
        let l2 = wrong(wrong(0.2));
        assert_t1(row(&m, "s2").p_mastery.expect("s2"), l2);
        assert_eq!(row(&m, "s2").observations, 2);
        assert_eq!(m.header.n.get("responses"), Some(&9));
        assert_eq!(m.header.n.get("observations"), Some(&11));
    }

    #[test]
    fn mastered_at_is_dropped_when_a_later_wrong_answer_falls_below_the_threshold() {
        let mut data = golden();
        data.attempts.push(attempt(
            "t7",
            "a1",
            "u1",
            8,
            "2025-06-08T10:00:00Z",
            1.0,
            vec![answer("q1", false)],
        ));
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        let s1 = row(&m, "s1");
        // L = 0.98677·0.1/(1 − 0.89140) → 0.9086…, then + T: below 0.95.
        assert!(!s1.mastered);
        assert_eq!(s1.mastered_at, None);
        let obs: Vec<bool> = GOLDEN.iter().copied().chain([false]).collect();
        let want = bkt_trace(&BktParams::default(), &obs).expect("trace");
        assert_t1(s1.p_mastery.expect("pMastery"), want.p_mastery);
        assert!(want.p_mastery < 0.95);
    }

    #[test]
    fn mastered_at_is_the_first_crossing_while_the_skill_stays_mastered() {
        // Two more correct answers after the golden run: first crossing stays at step 7.
        let mut data = golden();
        for (i, day) in [(7u32, "08"), (8, "09")] {
            data.attempts.push(attempt(
                &format!("t{i}"),
                "a1",
                "u1",
                i + 1,
                &format!("2025-06-{day}T10:00:00Z"),
                1.0,
                vec![answer("q1", true)],
            ));
        }
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(row(&m, "s1").mastered_at, Some(ts("2025-06-07T10:00:00Z")));
    }

    #[test]
    fn the_mastery_threshold_comes_from_the_configuration() {
        let mut cfg = Config::default();
        cfg.mastery.mastery_threshold = 0.8;
        let m = compute(&golden(), "u1", ts(AS_OF), &cfg);
        // Post-step L: 0.17742, 0.52152, 0.82737 ≥ 0.8 after the third response (06-03).
        assert_eq!(row(&m, "s1").mastered_at, Some(ts("2025-06-03T10:00:00Z")));
    }

    fn with_targets(mut data: Dataset) -> Dataset {
        data.users = vec![user("u1", "o1", Some("r1"))];
        data.organizations = vec![Organization {
            id: "o1".into(),
            name: "Org".into(),
            strategic_goals: vec![],
        }];
        data.job_roles = vec![JobRole {
            id: "r1".into(),
            org_id: "o1".into(),
            name: "Role".into(),
            requirements: vec![
                SkillRequirement {
                    skill_id: "s1".into(),
                    target_level: 3.0,
                    weight: 2.0,
                },
                SkillRequirement {
                    skill_id: "s3".into(),
                    target_level: 3.0,
                    weight: 1.0,
                },
            ],
        }];
        data
    }

    #[test]
    fn a_target_skill_without_observations_keeps_the_prior_with_reason_no_evidence() {
        let m = compute(&with_targets(golden()), "u1", ts(AS_OF), &Config::default());
        let ids: Vec<&str> = m.skills.iter().map(|s| s.skill_id.as_str()).collect();
        assert_eq!(ids, ["s1", "s3"]);
        let s3 = row(&m, "s3");
        assert_eq!(s3.observations, 0);
        assert_eq!(s3.p_mastery, Some(0.2));
        assert_t1(s3.p_correct_next.expect("pc"), 0.2 * 0.9 + 0.8 * 0.25);
        assert!(!s3.mastered && s3.mastered_at.is_none());
        assert_eq!(m.header.reasons, ["no_evidence"]);
        assert_eq!(m.header.n.get("skillsWithoutEvidence"), Some(&1));
        assert_eq!(m.header.n.get("targetSkills"), Some(&2));
        assert_eq!((m.mastered_count, m.tracked_skills), (1, 2));
        assert_eq!(m.mastery_ratio, Some(0.5));
    }

    #[test]
    fn weighted_mastery_uses_skill_gap_importances_and_ignores_non_target_skills() {
        let mut data = with_targets(golden());
        // An observed skill that is not a target: tracked, but weighs 0.
        data.assessments[0].items.push(quiz_item("q3", &["s9"]));
        data.attempts[0].responses.push(answer("q3", true));
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_eq!(m.tracked_skills, 3);
        // No goals: importance = roleWeight, s1 = 2, s3 = 1.
        let want = (2.0 * 0.9867746380606548 + 1.0 * 0.2) / 3.0;
        assert_t1(m.weighted_mastery.expect("weighted"), want);
    }

    #[test]
    fn weighted_mastery_is_null_without_target_skills() {
        let m = compute(&golden(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(m.weighted_mastery, None);
    }

    #[test]
    fn no_observations_and_no_targets_is_insufficient_data() {
        let m = compute(&Dataset::default(), "u1", ts(AS_OF), &Config::default());
        assert_eq!(m.header.status, Status::InsufficientData);
        assert_eq!(m.header.reasons, ["no_evidence"]);
        assert!(m.skills.is_empty());
        assert_eq!(
            (m.mastery_ratio, m.weighted_mastery, m.course_progress),
            (None, None, None)
        );
    }

    #[test]
    fn course_progress_is_the_mean_clamped_progress_of_enrollments_until_as_of() {
        let mut data = golden();
        let mut a = enrollment(
            "e1",
            "u1",
            "c1",
            "2025-05-01T00:00:00Z",
            EnrollmentStatus::InProgress,
        );
        a.progress = 0.5;
        let mut b = enrollment(
            "e2",
            "u1",
            "c2",
            "2025-05-02T00:00:00Z",
            EnrollmentStatus::Completed,
        );
        b.progress = 1.2; // clamped to 1
        let mut c = enrollment(
            "e3",
            "u1",
            "c3",
            "2025-05-03T00:00:00Z",
            EnrollmentStatus::Dropped,
        );
        c.progress = 0.1;
        let mut later = enrollment(
            "e4",
            "u1",
            "c4",
            "2025-07-01T00:00:00Z",
            EnrollmentStatus::Enrolled,
        );
        later.progress = 0.9;
        data.enrollments = vec![a, b, c, later];
        let m = compute(&data, "u1", ts(AS_OF), &Config::default());
        assert_t1(m.course_progress.expect("progress"), 1.6 / 3.0);
        assert_eq!(m.header.n.get("enrollments"), Some(&3));
    }

    #[test]
    fn unusable_bkt_parameters_give_null_probabilities_and_a_reason() {
        let mut cfg = Config::default();
        cfg.mastery.bkt.guess = 0.0;
        cfg.mastery.bkt.forget = 0.1;
        let m = compute(&with_targets(golden()), "u1", ts(AS_OF), &cfg);
        assert_eq!(m.header.status, Status::InsufficientData);
        assert!(
            m.header
                .reasons
                .iter()
                .any(|r| r == "invalid_bkt_parameters")
        );
        assert!(m.header.reasons.iter().any(|r| r == "forget_ignored"));
        assert!(
            m.skills
                .iter()
                .all(|s| s.p_mastery.is_none() && !s.mastered)
        );
        assert_eq!(m.weighted_mastery, None);
        assert_all_finite(&m);
    }

    #[test]
    fn payload_json_has_the_documented_field_names() {
        let m = compute(&with_targets(golden()), "u1", ts(AS_OF), &Config::default());
        let text = serde_json::to_string(&m).expect("serialises");
        assert!(text.starts_with(r#"{"status":"ok","asOf":"#), "{text}");
        let json = serde_json::to_value(&m).expect("serialises");
        for key in [
            "skills",
            "masteredCount",
            "trackedSkills",
            "masteryRatio",
            "weightedMastery",
            "courseProgress",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        for key in [
            "skillId",
            "pMastery",
            "pCorrectNext",
            "observations",
            "mastered",
            "masteredAt",
        ] {
            assert!(json["skills"][0].get(key).is_some(), "missing skills.{key}");
        }
        assert_eq!(json["skills"][0]["masteredAt"], "2025-06-07T10:00:00Z");
        let back: MasteryProgress = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, m);
    }
}
