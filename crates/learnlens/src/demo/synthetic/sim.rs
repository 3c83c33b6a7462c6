//! The learner model: who enrolls where ([`plans`]), how a learner studies day by day
//! ([`simulate`]), and the xAPI statements each study visit leaves ([`Emitter`]).
//!
//! One function simulates one learner from `(seed, user id)` and the static catalogue. The
//! eager pass runs it for every learner and keeps the outcomes (enrollment states, attempts,
//! feedback, skill updates, the number of statements); `events_of` runs the same function
//! again and keeps the statements. Both runs draw the same numbers in the same order, so the
//! events always agree with the stored outcomes.
//!
//! # The model
//! - **Enrollments** ([`plans`]): every mandatory course of the organisation (at its campaign,
//!   or a few days after a later hire, due 42 days later), Poisson(0.5) manager-assigned
//!   courses (90 % teaching a skill of the job role, 60 % with a due date 8 weeks later) and
//!   Poisson(0.8·e^{0.4·motivation}) self-chosen ones (65 % role-related), at uniform times in
//!   the window after the user was hired.
//! - **Study days.** Each day a learner studies with probability
//!   q = 0.025 + 0.34·σ(1.4·motivation − 0.4) (×1.6 when a mandatory course is due within ten
//!   days), in one session (two with probability 0.2) of log-normal length (median
//!   30·e^{0.2·motivation} minutes) around a preferred hour.
//! - **Work.** A session works through the items of one open enrollment in course order;
//!   an item takes its expected duration × log-normal(median e^{−0.1·ability}, σ 0.3). Long
//!   items continue in the next session. A learner starts an enrollment after an exponential
//!   delay (mean 1–7 days, shorter when motivated), and sometimes revisits a completed item.
//! - **Ability and scores.** Questions follow a 3PL model, P = 0.2 + 0.8·σ(1.7·a·(θ − b)),
//!   with about 6 % flawed questions (a ≤ 0.15). A learner starts a course at
//!   θ_pre = ability − 0.6 + N(0, 0.4) and ends at θ_post, solved so that the expected
//!   post-test score is pre + g·(1 − pre), where the normalised gain
//!   g = 0.3 + 0.10·trainer effectiveness + 0.06·ability + 0.04·motivation + 0.04·course
//!   quality + N(0, 0.07), clamped to \[0.02, 0.9\]. An assessment at position f ∈ \[0,1\] of the
//!   course is taken at θ_pre + f·(θ_post − θ_pre), plus 0.25 per retake and 0.25× the
//!   learner's offset in the question's skill, so per-skill correctness rises over time (what
//!   knowledge tracing looks for).
//! - **Gates.** Module quizzes and the final assessment (exam, else post-test) must be passed:
//!   a fail is retaken after 1–4 days with probability 0.55 + 0.35·σ(motivation), at most 3
//!   attempts (final assessment: 0.75 + 0.2·σ(motivation), at most 4 attempts). A learner who
//!   gives up on a module quiz moves on; one who gives up on the final assessment fails the
//!   course. Pre-tests (and a post-test followed by an exam) are not gated.
//! - **Drop-out.** Each enrollment has an exponential drop-out time with weekly hazard
//!   0.05·e^{−0.8·motivation − 0.3·ability}, ×0.25 for mandatory and ×0.6 for
//!   manager-assigned courses; in the three weeks before it the learner turns to that course
//!   far less often (weight ×0.15, and 70 % of those sessions do not happen), and nothing
//!   happens on it afterwards. A failed gated attempt brings the drop-out forward (within
//!   about a week) with probability 0.15·(1 − σ(motivation)). A user who leaves the
//!   organisation drops every open enrollment on that day.
//! - **Outcomes.** completed (all items done, final passed), failed, dropped, in_progress (some
//!   activity) or enrolled (none yet); progress = items completed / items.
//! - **Feedback** follows completion (probability 0.45 + 0.3·σ(motivation)), failure (0.3) or
//!   drop-out (0.12): ratings rise with course quality, trainer charisma (correlated 0.4 with
//!   effectiveness) and the learner's success.
//! - **Skill updates.** Completing a course writes an `assessed` level for each of its skills:
//!   the true level moved by g towards the level the course teaches.
//!
//! # Statements
//! A visit to an item opens with `launched`; videos and labs then send `progressed`, texts
//! `experienced`, at most ten minutes apart (so a visit never splits into two sessions), and a
//! finished item ends with `completed` (labs with a graded `score.scaled`). An assessment
//! attempt is `launched`, `attempted`, one `answered` per question (`success` = correct), then
//! `passed`/`failed` (gated) or `completed` with the score (ungated). A revisit is `launched`
//! then `experienced`. 80 % of learners' clients report `result.duration`: each statement's
//! `durationSec` is then the time since the previous statement of the same visit (0 for
//! `launched`), so durations add up to the time spent, never twice; the other 20 % report none
//! and leave time-on-task to the session rule.

use learnlens_analytics::input::{AssignedBy, ContentType, EnrollmentStatus, SkillSource, Verb};

use super::rng::{Rng, sigmoid};
use super::world::{
    AttemptM, CourseM, DAY, EnrollM, FeedbackM, LEARNER, Special, UserSkillM, World,
};

/// An enrollment before it is lived: decided up front from the "enroll" stream.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) course: u32,
    pub(super) enrolled_at: i64,
    pub(super) due_at: Option<i64>,
    pub(super) assigned: AssignedBy,
}

/// A statement before its ids are formatted.
#[derive(Debug, Clone, Copy)]
pub(super) struct RawEvent {
    pub(super) verb: Verb,
    pub(super) item: u32,
    pub(super) ts: i64,
    pub(super) duration: Option<f64>,
    pub(super) score: Option<f64>,
    pub(super) completion: Option<bool>,
    pub(super) success: Option<bool>,
}

/// What one learner's simulation produced.
#[derive(Debug, Default)]
pub(super) struct SimOut {
    /// One per plan, same order.
    pub(super) enrollments: Vec<EnrollM>,
    pub(super) attempts: Vec<AttemptM>,
    pub(super) feedback: Vec<FeedbackM>,
    pub(super) skills: Vec<UserSkillM>,
    pub(super) events: u32,
}

/// The enrollments of a learner (empty for users without the learner role).
pub(super) fn plans(w: &World, user: u32) -> Vec<Plan> {
    let Some(u) = w.users.get(user as usize) else {
        return Vec::new();
    };
    if u.roles & LEARNER == 0 {
        return Vec::new();
    }
    let mut rng = Rng::stream(w.seed, "enroll", &u.id);
    let org = u.org as usize;
    let start = u.created_at.max(w.window_start);
    let end = u.left_at.unwrap_or(w.as_of).min(w.as_of - 3_600);
    if end <= start {
        return Vec::new();
    }
    let mut plans: Vec<Plan> = Vec::new();
    for &c in w.mandatory.get(org).map_or(&[][..], Vec::as_slice) {
        let course = &w.courses[c as usize];
        let campaign = course.campaign.unwrap_or(start);
        let (enrolled_at, due_at) = if u.created_at < campaign {
            (campaign + rng.int(0, 2 * DAY), campaign + 42 * DAY)
        } else {
            let at = u.created_at + rng.int(DAY, 7 * DAY);
            (at, at + 42 * DAY)
        };
        if enrolled_at < end && course.trainer != user {
            plans.push(Plan {
                course: c,
                enrolled_at,
                due_at: Some(due_at),
                assigned: AssignedBy::Mandatory,
            });
        }
    }
    let offer = w.offer.get(org).map_or(&[][..], Vec::as_slice);
    let related = u
        .job_role
        .and_then(|r| w.role_courses.get(r as usize))
        .map_or(&[][..], Vec::as_slice);
    let taken = |plans: &[Plan], c: u32| {
        plans.iter().any(|p| p.course == c) || w.courses[c as usize].trainer == user
    };

    match u.special {
        Special::Learner | Special::Multi => {
            // Fixed enrollments, so the demo accounts always have something to look at.
            let by = |s: Special| {
                offer
                    .iter()
                    .copied()
                    .filter(|&c| w.users[w.courses[c as usize].trainer as usize].special == s)
                    .collect::<Vec<u32>>()
            };
            let mut wanted: Vec<(u32, i64, AssignedBy)> = Vec::new();
            let trainer_courses = by(Special::Trainer);
            if u.special == Special::Learner {
                let days = [150, 110, 60, 25, 6];
                let multi_courses = by(Special::Multi);
                // Then a global course, and last (6 days before `asOf`, so it is still
                // running) the longest course on offer.
                let mut chosen: Vec<u32> = trainer_courses
                    .iter()
                    .copied()
                    .chain(multi_courses)
                    .collect();
                if let Some(&g) = offer
                    .iter()
                    .find(|&&c| w.courses[c as usize].org.is_none() && !chosen.contains(&c))
                {
                    chosen.push(g);
                }
                let longest = offer
                    .iter()
                    .copied()
                    .filter(|c| !chosen.contains(c))
                    .max_by(|a, b| {
                        w.courses[*a as usize]
                            .expected_hours
                            .total_cmp(&w.courses[*b as usize].expected_hours)
                    });
                chosen.extend(longest);
                for (k, c) in chosen.into_iter().take(days.len()).enumerate() {
                    let assigned = if k == 0 {
                        AssignedBy::Manager
                    } else {
                        AssignedBy::SelfAssigned
                    };
                    wanted.push((c, w.as_of - days[k] * DAY, assigned));
                }
            } else {
                for (k, c) in trainer_courses.into_iter().take(2).enumerate() {
                    let days = [100, 40];
                    wanted.push((c, w.as_of - days[k] * DAY, AssignedBy::SelfAssigned));
                }
            }
            for (c, at, assigned) in wanted {
                if !taken(&plans, c) {
                    let due_at = (assigned == AssignedBy::Manager).then_some(at + 56 * DAY);
                    plans.push(Plan {
                        course: c,
                        enrolled_at: at + rng.int(0, 6 * 3_600),
                        due_at,
                        assigned,
                    });
                }
            }
        }
        _ => {
            let m = f64::from(u.motivation);
            let n_manager = rng.poisson(0.5);
            let n_self = rng.poisson(0.8 * (0.4 * m).exp()).min(8);
            for k in 0..n_manager + n_self {
                let manager = k < n_manager;
                let p_related = if manager { 0.9 } else { 0.65 };
                for _ in 0..3 {
                    let pool = if !related.is_empty() && rng.chance(p_related) {
                        related
                    } else {
                        offer
                    };
                    let Some(&c) = pool.get(rng.index(pool.len())) else {
                        break;
                    };
                    if taken(&plans, c) {
                        continue;
                    }
                    let enrolled_at = rng.int(start, end);
                    let due_at = (manager && rng.chance(0.6)).then_some(enrolled_at + 56 * DAY);
                    plans.push(Plan {
                        course: c,
                        enrolled_at,
                        due_at,
                        assigned: if manager {
                            AssignedBy::Manager
                        } else {
                            AssignedBy::SelfAssigned
                        },
                    });
                    break;
                }
            }
        }
    }
    plans.retain(|p| p.enrolled_at < end);
    plans.sort_by_key(|p| (p.enrolled_at, p.course));
    plans
}

/// Collects (or only counts) a learner's statements.
pub(super) struct Emitter<'a> {
    out: Option<&'a mut Vec<RawEvent>>,
    count: u32,
    durations: bool,
    /// Timestamp of the previous statement of the current visit.
    prev: i64,
}

/// Seconds between intermediate statements of a long visit (keeps gaps below the 30-minute
/// session threshold).
const STEP: i64 = 600;

impl<'a> Emitter<'a> {
    pub(super) fn new(out: Option<&'a mut Vec<RawEvent>>, durations: bool) -> Self {
        Emitter {
            out,
            count: 0,
            durations,
            prev: 0,
        }
    }

    /// Emits one statement; its `durationSec` (when the learner's client reports durations) is
    /// the time since the previous statement of the same visit, so summing durations gives the
    /// visit's length exactly once.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        verb: Verb,
        item: u32,
        ts: i64,
        opens_visit: bool,
        score: Option<f64>,
        completion: Option<bool>,
        success: Option<bool>,
    ) {
        if opens_visit {
            self.prev = ts;
        }
        let duration = self.durations.then_some((ts - self.prev).max(0) as f64);
        self.prev = ts;
        self.count += 1;
        if let Some(out) = self.out.as_deref_mut() {
            out.push(RawEvent {
                verb,
                item,
                ts,
                duration,
                score,
                completion,
                success,
            });
        }
    }

    /// A visit to a video, text or lab: `launched`, intermediate `progressed` (video, lab) or
    /// `experienced` (text) every ten minutes at most, then `completed` when the item is
    /// finished (labs with their grade) or a last intermediate statement when it is not.
    fn work(&mut self, item: u32, kind: ContentType, start: i64, end: i64, done: Option<f64>) {
        self.push(Verb::Launched, item, start, true, None, None, None);
        let step_verb = if kind == ContentType::Text {
            Verb::Experienced
        } else {
            Verb::Progressed
        };
        let len = end - start;
        let step = STEP.min(len / 2).max(1);
        let mut t = start + step;
        while t < end {
            self.push(step_verb, item, t, false, None, None, None);
            t += step;
        }
        match done {
            Some(grade) => {
                let (score, success) = if kind == ContentType::Lab {
                    (Some(grade), Some(grade >= 0.6))
                } else {
                    (None, None)
                };
                self.push(
                    Verb::Completed,
                    item,
                    end,
                    false,
                    score,
                    Some(true),
                    success,
                );
            }
            None => self.push(step_verb, item, end, false, None, Some(false), None),
        }
    }

    /// A revisit of a completed item: `launched`, then `experienced`.
    fn review(&mut self, item: u32, start: i64, end: i64) {
        self.push(Verb::Launched, item, start, true, None, None, None);
        let mut t = start + STEP;
        while t < end {
            self.push(Verb::Experienced, item, t, false, None, None, None);
            t += STEP;
        }
        self.push(Verb::Experienced, item, end, false, None, None, None);
    }

    /// An assessment attempt: `launched`, `attempted`, one `answered` per question, then
    /// `passed`/`failed` (gated assessments) or `completed` with the score (ungated ones); a
    /// learner giving up on a module quiz also `completed` it, unsuccessfully.
    #[allow(clippy::too_many_arguments)]
    fn attempt(
        &mut self,
        item: u32,
        start: i64,
        end: i64,
        answers: &[(bool, f64)],
        score_scaled: f64,
        passed: bool,
        gated: bool,
        gave_up: bool,
    ) {
        self.push(Verb::Launched, item, start, true, None, None, None);
        self.push(Verb::Attempted, item, start + 1, false, None, None, None);
        let n = answers.len() as i64;
        let span = (end - start - 2).max(n + 1);
        for (i, (correct, scaled)) in answers.iter().enumerate() {
            let ts = start + 1 + span * (i as i64 + 1) / (n + 1);
            self.push(
                Verb::Answered,
                item,
                ts.min(end - 1),
                false,
                Some(*scaled),
                None,
                Some(*correct),
            );
        }
        if gated {
            let verb = if passed { Verb::Passed } else { Verb::Failed };
            self.push(
                verb,
                item,
                end,
                false,
                Some(score_scaled),
                Some(passed),
                Some(passed),
            );
            if gave_up {
                self.push(
                    Verb::Completed,
                    item,
                    end + 1,
                    false,
                    None,
                    Some(true),
                    Some(false),
                );
            }
        } else {
            self.push(
                Verb::Completed,
                item,
                end,
                false,
                Some(score_scaled),
                Some(true),
                Some(passed),
            );
        }
    }
}

/// The state of one enrollment during the simulation.
struct Live<'w> {
    course_idx: u32,
    course: &'w CourseM,
    plan: Plan,
    start_at: i64,
    drop_at: i64,
    /// Position of the current item in the course.
    pos: u32,
    /// Seconds of work left on the current item; negative when not started.
    remaining: f64,
    tries: u8,
    next_try: i64,
    status: EnrollmentStatus,
    ended_at: Option<i64>,
    done_items: u32,
    active: bool,
    last_work: i64,
    theta_pre: f64,
    theta_post: f64,
    gain: f64,
}

impl Live<'_> {
    fn n_items(&self) -> u32 {
        self.course.items.end - self.course.items.start
    }

    fn is_open(&self) -> bool {
        matches!(
            self.status,
            EnrollmentStatus::Enrolled | EnrollmentStatus::InProgress
        )
    }

    /// θ at position `f` ∈ \[0,1\] of the course.
    fn theta_at(&self, f: f64) -> f64 {
        self.theta_pre + f * (self.theta_post - self.theta_pre)
    }
}

/// The learner simulation; see the module documentation for the model.
struct Sim<'w, 'e> {
    w: &'w World,
    user: u32,
    ability: f64,
    motivation: f64,
    rng: Rng,
    em: Emitter<'e>,
    end_time: i64,
    live: Vec<Live<'w>>,
    offsets: Vec<(u16, f64)>,
    /// The demo learner: starts courses at once and studies on the day of each enrolment.
    starts_at_once: bool,
    out: SimOut,
}

/// Simulates learner `user` with its `plans`; statements go to `events` when given.
pub(super) fn simulate(
    w: &World,
    user: u32,
    plans: &[Plan],
    events: Option<&mut Vec<RawEvent>>,
) -> SimOut {
    let Some(u) = w.users.get(user as usize) else {
        return SimOut::default();
    };
    let mut sim = Sim {
        w,
        user,
        ability: f64::from(u.ability),
        motivation: f64::from(u.motivation),
        rng: Rng::stream(w.seed, "sim", &u.id),
        em: Emitter::new(events, u.durations),
        end_time: u.left_at.unwrap_or(w.as_of).min(w.as_of) - 10,
        live: Vec::with_capacity(plans.len()),
        offsets: Vec::new(),
        starts_at_once: u.special == Special::Learner,
        out: SimOut::default(),
    };
    let never_drops = matches!(u.special, Special::Learner | Special::Multi);
    for plan in plans {
        let Some(course) = w.courses.get(plan.course as usize) else {
            continue;
        };
        let l = sim.start(plan, course, never_drops);
        sim.live.push(l);
    }
    if u.engaged {
        sim.run_days();
    }
    sim.finish();
    let mut out = sim.out;
    out.events = sim.em.count;
    out
}

impl<'w> Sim<'w, '_> {
    fn offset(&mut self, skill: u16) -> f64 {
        if let Some((_, o)) = self.offsets.iter().find(|(s, _)| *s == skill) {
            return *o;
        }
        let o = self.w.skill_offset(self.user, skill);
        self.offsets.push((skill, o));
        o
    }

    fn start(&mut self, plan: &Plan, course: &'w CourseM, never_drops: bool) -> Live<'w> {
        let (a, m) = (self.ability, self.motivation);
        let trainer = &self.w.users[course.trainer as usize];
        let delay_mean = 1.0 + 6.0 * (1.0 - sigmoid(m));
        let delay = self.rng.exponential(delay_mean);
        // The demo learner starts every course on the day of enrolment.
        let start_at = if self.starts_at_once {
            plan.enrolled_at
        } else {
            plan.enrolled_at + (delay * DAY as f64) as i64
        };
        let factor = match plan.assigned {
            AssignedBy::Mandatory => 0.25,
            AssignedBy::Manager => 0.6,
            AssignedBy::SelfAssigned => 1.0,
        };
        let weekly_hazard = 0.05 * (-0.8 * m - 0.3 * a).exp() * factor;
        let drop_weeks = self.rng.exponential(1.0 / weekly_hazard.max(1e-6));
        let drop_at = if never_drops {
            i64::MAX
        } else {
            start_at.saturating_add((drop_weeks * 7.0 * DAY as f64).min(1e12) as i64)
        };
        let gain = (0.3
            + 0.10 * f64::from(trainer.effectiveness)
            + 0.06 * a
            + 0.04 * m
            + 0.04 * f64::from(course.quality)
            + self.rng.gauss(0.0, 0.07))
        .clamp(0.02, 0.9);
        // A learner is better prepared for some courses than for others.
        let theta_pre = a - 0.6 + self.rng.gauss(0.0, 0.4);
        let theta_post = self.solve_post(course, theta_pre, gain);
        Live {
            course_idx: plan.course,
            course,
            plan: plan.clone(),
            start_at,
            drop_at,
            pos: 0,
            remaining: -1.0,
            tries: 0,
            next_try: i64::MIN,
            status: EnrollmentStatus::Enrolled,
            ended_at: None,
            done_items: 0,
            active: false,
            last_work: plan.enrolled_at,
            theta_pre,
            theta_post,
            gain,
        }
    }

    /// θ_post such that the expected score on the course's post-test (else final assessment,
    /// else first assessment) is pre + g·(1 − pre).
    fn solve_post(&self, course: &CourseM, theta_pre: f64, gain: f64) -> f64 {
        let w = self.w;
        let assessment = course.post.or(course.final_assessment).or_else(|| {
            w.items[course.items.start as usize..course.items.end as usize]
                .iter()
                .find_map(|i| i.assessment)
        });
        let Some(a) = assessment.and_then(|a| w.assessments.get(a as usize)) else {
            return theta_pre + 3.0 * gain;
        };
        let qs = &w.questions[a.questions.start as usize..a.questions.end as usize];
        if qs.is_empty() {
            return theta_pre + 3.0 * gain;
        }
        let mean_p =
            |theta: f64| qs.iter().map(|q| q.p_correct(theta)).sum::<f64>() / qs.len() as f64;
        let pre = mean_p(theta_pre);
        let target = pre + gain * (1.0 - pre);
        // Bisection to 8/2²⁴ ≈ 5e-7 in θ, far below any visible effect.
        let (mut lo, mut hi) = (theta_pre, theta_pre + 8.0);
        for _ in 0..24 {
            let mid = 0.5 * (lo + hi);
            if mean_p(mid) < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    fn run_days(&mut self) {
        let Some(first) = self.live.iter().map(|l| l.start_at).min() else {
            return;
        };
        let m = self.motivation;
        let q_base = 0.025 + 0.34 * sigmoid(1.4 * m - 0.4);
        let pref_hour = 8.0 + self.rng.uniform(0.0, 10.0);
        let median_minutes = 30.0 * (0.2 * m).exp();
        let mut busy_until = i64::MIN;
        let first_day = first.div_euclid(DAY);
        let last_day = self.end_time.div_euclid(DAY);
        for day in first_day..=last_day {
            let day_start = day * DAY;
            self.process_drops(day_start + DAY);
            if !self.live.iter().any(Live::is_open) {
                continue;
            }
            let due_soon = self.live.iter().any(|l| {
                l.is_open()
                    && l.plan.assigned == AssignedBy::Mandatory
                    && l.plan
                        .due_at
                        .is_some_and(|d| d > day_start && d - day_start < 10 * DAY)
            });
            let q = if due_soon {
                (q_base * 1.6).min(0.9)
            } else {
                q_base
            };
            let starts_today =
                self.starts_at_once && self.live.iter().any(|l| l.start_at.div_euclid(DAY) == day);
            if !self.rng.chance(q) && !starts_today {
                continue;
            }
            let sessions = if self.rng.chance(0.2) { 2 } else { 1 };
            let hour = (pref_hour + self.rng.gauss(0.0, 1.5)).clamp(6.0, 21.5);
            // Never before the previous session ended (a late one may run past midnight).
            let mut t =
                (day_start + (hour * 3_600.0) as i64 + self.rng.int(0, 1_799)).max(busy_until);
            for _ in 0..sessions {
                let minutes = self.rng.lognormal(median_minutes, 0.5).clamp(5.0, 150.0);
                t = self.session(t, minutes * 60.0);
                busy_until = t + 60;
                t += self.rng.int(2 * 3_600, 5 * 3_600);
            }
        }
        let end = self.end_time;
        self.process_drops(end + 1);
    }

    /// Drops the open enrollments whose drop-out time has come (before `until`).
    fn process_drops(&mut self, until: i64) {
        let end = self.end_time;
        for k in 0..self.live.len() {
            let l = &self.live[k];
            if l.is_open() && l.drop_at < until && l.drop_at <= end {
                let at = l.drop_at.max(l.last_work).max(l.plan.enrolled_at);
                self.end(k, EnrollmentStatus::Dropped, at);
            }
        }
    }

    /// Ends enrollment `k` and writes what follows from it (feedback, skill updates).
    fn end(&mut self, k: usize, status: EnrollmentStatus, at: i64) {
        let (course_idx, course, gain) = {
            let l = &mut self.live[k];
            l.status = status;
            l.ended_at = Some(at);
            (l.course_idx, l.course, l.gain)
        };
        let m = self.motivation;
        let p_feedback = match status {
            EnrollmentStatus::Completed => 0.45 + 0.3 * sigmoid(m),
            EnrollmentStatus::Failed => 0.3,
            _ => 0.12,
        };
        if self.rng.chance(p_feedback) {
            let trainer = &self.w.users[course.trainer as usize];
            let success = if status == EnrollmentStatus::Completed {
                1.0
            } else {
                0.0
            };
            let q = f64::from(course.quality);
            let ch = f64::from(trainer.charisma);
            let eff = f64::from(trainer.effectiveness);
            let cr = 3.0 + 0.4 * q + 0.2 * ch + 0.9 * success + self.rng.gauss(0.0, 0.7);
            let tr = 3.1 + 0.45 * ch + 0.2 * eff + 0.6 * success + self.rng.gauss(0.0, 0.7);
            let fb_at = at + self.rng.int(3_600, 3 * DAY);
            if fb_at <= self.w.as_of {
                self.out.feedback.push(FeedbackM {
                    user: self.user,
                    course: course_idx,
                    course_rating: cr.round().clamp(1.0, 5.0) as u8,
                    trainer_rating: tr.round().clamp(1.0, 5.0) as u8,
                    at: fb_at,
                });
            }
        }
        if status == EnrollmentStatus::Completed {
            for &(skill, level) in &course.skills {
                let cur = self.w.true_level(self.user, skill);
                let new = (cur + gain * (level - cur).max(0.0) + 0.2 + self.rng.gauss(0.0, 0.2))
                    .clamp(0.0, 5.0);
                let sk_at = at + self.rng.int(3_600, DAY);
                if sk_at <= self.w.as_of {
                    self.out.skills.push(UserSkillM {
                        user: self.user,
                        skill,
                        level: (new * 10.0).round() / 10.0,
                        source: SkillSource::Assessed,
                        at: sk_at,
                    });
                }
            }
        }
    }

    /// Picks the enrollment to work on at `t`: mandatory ones due soon first, then the one
    /// worked on most recently, else any workable one.
    fn pick(&mut self, t: i64) -> Option<usize> {
        let mut weights = Vec::with_capacity(self.live.len());
        let latest = self
            .live
            .iter()
            .filter(|l| l.is_open())
            .map(|l| l.last_work)
            .max();
        for l in &self.live {
            let workable = l.is_open() && l.start_at <= t && l.drop_at > t && l.next_try <= t;
            let mut wgt = if workable { 1.0 } else { 0.0 };
            if workable && l.plan.due_at.is_some_and(|d| d - t < 14 * DAY) {
                wgt *= 4.0;
            }
            if workable && Some(l.last_work) == latest && l.active {
                wgt *= 2.0;
            }
            if workable && l.drop_at - t < 21 * DAY {
                // Drop-outs fade out before they quit (what early-warning models pick up).
                wgt *= 0.15;
            }
            weights.push(wgt);
        }
        if weights.iter().all(|w| *w <= 0.0) {
            return None;
        }
        Some(self.rng.weighted(&weights))
    }

    /// One study session from `t` with `budget` seconds; returns when it ended.
    fn session(&mut self, mut t: i64, mut budget: f64) -> i64 {
        if t >= self.end_time {
            return t;
        }
        if self.rng.chance(0.12) {
            t = self.review(t);
        }
        let Some(k) = self.pick(t) else {
            return t;
        };
        if self.live[k].drop_at - t < 21 * DAY && self.rng.chance(0.7) {
            // Fading out: opened the course, did nothing.
            return t;
        }
        let a = self.ability;
        while budget > 60.0 && t < self.end_time {
            let (item_idx, n_items) = {
                let l = &self.live[k];
                (l.course.items.start + l.pos, l.n_items())
            };
            let Some(item) = self.w.items.get(item_idx as usize) else {
                break;
            };
            if !self.live[k].active {
                self.live[k].active = true;
                self.live[k].status = EnrollmentStatus::InProgress;
            }
            let factor = self.rng.lognormal((-0.1 * a).exp(), 0.3);
            if let Some(assessment) = item.assessment {
                let dur = (item.minutes * 60.0 * factor).max(60.0);
                if budget < 0.5 * dur || t + dur as i64 > self.end_time {
                    break;
                }
                let end = t + dur as i64;
                let blocked = self.attempt(k, assessment, item_idx, t, end);
                self.live[k].last_work = end;
                t = end;
                budget -= dur;
                if blocked {
                    break;
                }
            } else {
                if self.live[k].remaining < 0.0 {
                    self.live[k].remaining = (item.minutes * 60.0 * factor).max(30.0);
                }
                let remaining = self.live[k].remaining;
                let mut work = remaining.min(budget);
                if t + work as i64 > self.end_time {
                    work = (self.end_time - t) as f64;
                }
                if work < remaining && work < 30.0 {
                    // Not worth starting (the session or the window is about to end).
                    break;
                }
                let completes = work >= remaining;
                let end = t + work as i64;
                let grade = if completes {
                    let f = f64::from(item.pos) / f64::from(n_items.saturating_sub(1).max(1));
                    let theta = self.live[k].theta_at(f);
                    Some((sigmoid(1.2 * theta) + self.rng.gauss(0.0, 0.08)).clamp(0.0, 1.0))
                } else {
                    None
                };
                self.em.work(item_idx, item.kind, t, end, grade);
                let l = &mut self.live[k];
                l.last_work = end;
                l.remaining -= work;
                t = end;
                budget -= work;
                if completes {
                    l.remaining = -1.0;
                    l.pos += 1;
                    l.done_items += 1;
                } else {
                    break;
                }
            }
            let l = &self.live[k];
            if !l.is_open() {
                break;
            }
            if l.pos >= n_items {
                let at = l.last_work;
                self.end(k, EnrollmentStatus::Completed, at);
                break;
            }
            t += self.rng.int(20, 120);
        }
        t
    }

    /// A short revisit of a completed item of an open or completed enrollment.
    fn review(&mut self, t: i64) -> i64 {
        let candidates: Vec<usize> = (0..self.live.len())
            .filter(|&k| {
                let l = &self.live[k];
                l.done_items > 0
                    && matches!(
                        l.status,
                        EnrollmentStatus::InProgress | EnrollmentStatus::Completed
                    )
            })
            .collect();
        let Some(&k) = candidates.get(self.rng.index(candidates.len())) else {
            return t;
        };
        let l = &self.live[k];
        let done = l.pos.min(l.n_items());
        let first = l.course.items.start;
        let pick = first + self.rng.below(u64::from(done.max(1))) as u32;
        let dur = self.rng.int(180, 720);
        if t + dur + 60 > self.end_time {
            return t;
        }
        let is_content = self
            .w
            .items
            .get(pick as usize)
            .is_some_and(|i| i.assessment.is_none());
        if !is_content {
            return t;
        }
        self.em.review(pick, t, t + dur);
        t + dur + self.rng.int(20, 90)
    }

    /// One attempt at `assessment` from `start` to `end`; returns whether the enrollment is
    /// blocked for this session (retake later, or ended).
    fn attempt(&mut self, k: usize, assessment: u32, item_idx: u32, start: i64, end: i64) -> bool {
        let w = self.w;
        let Some(a) = w.assessments.get(assessment as usize) else {
            return true;
        };
        let (f, tries) = {
            let l = &self.live[k];
            let pos = w.items.get(item_idx as usize).map_or(0, |i| i.pos);
            let f = f64::from(pos) / f64::from(l.n_items().saturating_sub(1).max(1));
            (f, l.tries)
        };
        let theta = self.live[k].theta_at(f) + 0.25 * f64::from(tries);
        let mut answers: Vec<(bool, f64)> = Vec::with_capacity(a.questions.len());
        let mut mask = 0u32;
        let mut score = 0.0;
        for (i, q) in w.questions[a.questions.start as usize..a.questions.end as usize]
            .iter()
            .enumerate()
        {
            let off = self.offset(q.skill);
            let correct = self.rng.chance(q.p_correct(theta + 0.25 * off));
            if correct {
                if i < 32 {
                    mask |= 1 << i;
                }
                score += q.max_points;
            }
            answers.push((correct, if correct { 1.0 } else { 0.0 }));
        }
        let passed = score >= a.pass_score;
        let attempt_no = tries + 1;
        self.out.attempts.push(AttemptM {
            assessment,
            user: self.user,
            no: attempt_no,
            submitted: end,
            score,
            passed,
            correct: mask,
        });
        let scaled = if a.max_score > 0.0 {
            score / a.max_score
        } else {
            0.0
        };
        let is_final = w.courses[a.course as usize].final_assessment == Some(assessment);
        let mut gave_up = false;
        let mut blocked = false;
        let mut failed_course = false;
        if !a.gated || passed {
            let l = &mut self.live[k];
            l.tries = 0;
            l.pos += 1;
            l.done_items += 1;
        } else {
            // A fail discourages: sometimes the learner soon gives up the course altogether.
            let l = &self.live[k];
            if l.drop_at != i64::MAX && self.rng.chance(0.15 * (1.0 - sigmoid(self.motivation))) {
                let soon = end + (self.rng.exponential(7.0) * DAY as f64) as i64;
                self.live[k].drop_at = l.drop_at.min(soon);
            }
            // The final assessment is worth more effort than a module quiz.
            let (retake_p, max_attempts) = if is_final {
                (0.75 + 0.2 * sigmoid(self.motivation), 4)
            } else {
                (0.55 + 0.35 * sigmoid(self.motivation), 3)
            };
            let retake = attempt_no < max_attempts && self.rng.chance(retake_p);
            if retake {
                let wait = self.rng.int(DAY, 4 * DAY);
                let l = &mut self.live[k];
                l.tries = attempt_no;
                l.next_try = end + wait;
                blocked = true;
            } else if is_final {
                failed_course = true;
                blocked = true;
            } else {
                gave_up = true;
                let l = &mut self.live[k];
                l.tries = 0;
                l.pos += 1;
                l.done_items += 1;
            }
        }
        self.em.attempt(
            item_idx, start, end, &answers, scaled, passed, a.gated, gave_up,
        );
        if gave_up {
            self.live[k].last_work = end + 1;
        }
        if failed_course {
            self.end(k, EnrollmentStatus::Failed, end);
        }
        blocked
    }

    /// Ends the simulation: users who left drop what is open; the rest stays open.
    fn finish(&mut self) {
        let w = self.w;
        let left_at = w.users[self.user as usize].left_at;
        for k in 0..self.live.len() {
            if !self.live[k].is_open() {
                continue;
            }
            if let Some(left) = left_at {
                let at = left
                    .max(self.live[k].last_work)
                    .max(self.live[k].plan.enrolled_at);
                if at <= w.as_of {
                    self.end(k, EnrollmentStatus::Dropped, at);
                }
            }
        }
        for l in &self.live {
            let status = match l.status {
                EnrollmentStatus::Enrolled | EnrollmentStatus::InProgress => {
                    if l.active {
                        EnrollmentStatus::InProgress
                    } else {
                        EnrollmentStatus::Enrolled
                    }
                }
                s => s,
            };
            let n = l.n_items().max(1);
            let progress = if status == EnrollmentStatus::Completed {
                1.0
            } else {
                (f64::from(l.done_items) / f64::from(n)).min(1.0)
            };
            self.out.enrollments.push(EnrollM {
                user: self.user,
                course: l.course_idx,
                enrolled_at: l.plan.enrolled_at,
                due_at: l.plan.due_at,
                assigned: l.plan.assigned,
                status,
                ended_at: l.ended_at,
                progress,
            });
        }
    }
}
