//! The synthetic data set of the demo sources: a deterministic world of organisations, people,
//! courses and learning activity, generated from a seed, in four sizes.
//!
//! # What is in it
//! - **Organisations** (2 in `demo`, up to 8 in `large`; the first is always `demo-org`), each
//!   with departments of very different sizes, job roles with skill requirements, and 2–4
//!   strategic goals of its own (the first scoped to everyone, others to some job roles).
//!   Every organisation has a tiny department ("Executive Office", 2–4 learners), so
//!   k-anonymity suppression always has something to suppress; about 1 % of learners have
//!   no job role.
//! - **People**: learners, trainers (department "Learning and Development") and org-admins.
//!   The demo accounts of [`crate::demo::DEMO_ACCOUNTS`] exist in `demo-org` in every size:
//!   `demo-learner` (a motivated learner with fixed enrollments: a manager-assigned course
//!   and another of `demo-trainer`, one of `demo-multi`, a global one and the mandatory
//!   courses), `demo-trainer` (teaches three courses with pre/post tests, one of them
//!   mandatory for the whole organisation), `demo-admin` (org-admin), `demo-multi` (learner,
//!   trainer of one course and org-admin). About 4 % of users leave during the window
//!   (status `inactive`), 12 % were hired during it, 5 % of learners never start anything.
//! - **Catalogue**: courses of each organisation plus a global catalogue (no `orgId`, taught
//!   by trainers of the other organisations); modules of videos, texts and labs with expected
//!   durations and skill tags, module quizzes, pre/post tests (75 % of courses), exams (35 %,
//!   and all mandatory courses). 1–2 mandatory courses per organisation are assigned to
//!   everyone in a campaign 70–150 days before `asOf`, due 42 days later.
//! - **Skills**: 40 skills (max level 5). Users have self-reported (inflated by ~0.6), inferred
//!   and assessed levels (close to the true level) for their role's and goals' skills; a
//!   completed course adds an `assessed` level.
//! - **Activity**: enrollments (self, manager or mandatory), attempts with per-question
//!   responses, feedback, and xAPI-like events, produced by the learner model of `sim.rs`:
//!   latent ability and motivation (standard normal, correlated 0.2) drive activity, scores,
//!   gains, retakes and drop-outs; trainers differ in effectiveness and charisma.
//!
//! # Time
//! `asOf` is fixed at 2026-11-26T00:00:00Z for every seed; the reference window is the 26 weeks
//! before it. Every timestamp is ≤ `asOf`.
//!
//! # Determinism and size
//! [`Generator::new`] builds everything except the activity events eagerly (organisations …
//! attempts, feedback, skills) in a compact indexed form and formats ids only when entities are
//! asked for. Events are produced lazily **per user** ([`Generator::events_of`]) by re-running
//! that learner's simulation from `(seed, user id)`, so the ~20 million events of `large`
//! never need to be in memory at once. Random numbers come from the explicit SplitMix64 of
//! `rng.rs`, so a seed gives the same data with any version of any dependency.
//!
//! Ids are opaque strings: `u-000123` (users), `jr-0012` (job roles), `sk-python` (skills),
//! `c-00042` (courses), `c-00042-m1` (modules), `c-00042-i07` (content items), `as-00123`
//! (assessments), `as-00123-q04` (questions), `en-…`, `at-…`, `fb-…`.
//!
//! The [`Dataset`] of one organisation ([`Generator::org_dataset`]) contains the global
//! courses its learners take; their `trainerId` (and that of the feedback on them) then
//! names a trainer of another organisation, who is not in that data set.

mod names;
mod rng;
mod sim;
mod world;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use learnlens_analytics::input::{
    ActivityEvent, Assessment, AssessmentItem, Attempt, ContentItem, Course, CourseModule,
    CourseSkill, Dataset, Enrollment, EnrollmentStatus, Feedback, JobRole, Organization, Response,
    Skill, SkillRequirement, SkillSource, User, UserSkill, UserStatus,
};

use self::names::{FIRST_NAMES, LAST_NAMES, SKILLS};
use self::rng::Rng;
use self::sim::RawEvent;
use self::world::{ADMIN, LEARNER, Special, TRAINER, UserSkillM, World};
use crate::demo::DEMO_ACCOUNTS;

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 42;

/// How big the synthetic world is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    /// 2 organisations, 5 trainers, 50 learners (~10,000 events).
    Demo,
    /// 3 organisations, ~25 trainers, 1,000 learners (~170,000 events).
    Small,
    /// 5 organisations, ~150 trainers, 10,000 learners (~2 million events).
    Medium,
    /// 8 organisations, ~1,000 trainers, 100,000 learners (~20 million events).
    Large,
}

impl Size {
    pub const ALL: [Size; 4] = [Size::Demo, Size::Small, Size::Medium, Size::Large];

    pub fn as_str(self) -> &'static str {
        match self {
            Size::Demo => "demo",
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
        }
    }

    /// The number of learners (users with the learner role).
    pub fn learners(self) -> usize {
        self.spec().learners
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A size word other than `demo`, `small`, `medium` or `large`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown size {0:?}: expected demo, small, medium or large")]
pub struct UnknownSize(pub String);

impl FromStr for Size {
    type Err = UnknownSize;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Size::ALL
            .into_iter()
            .find(|size| size.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownSize(s.to_owned()))
    }
}

/// `synthetic[:SIZE[:SEED]]`, the data set argument of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticSpec {
    pub size: Size,
    pub seed: u64,
}

/// A malformed `synthetic[:SIZE[:SEED]]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("unknown data set {0:?}: expected synthetic[:SIZE[:SEED]]")]
    UnknownDataset(String),
    #[error(transparent)]
    Size(#[from] UnknownSize),
    #[error("invalid seed {0:?}: expected an unsigned 64-bit integer")]
    Seed(String),
    #[error("too many parts in {0:?}: expected synthetic[:SIZE[:SEED]]")]
    TooManyParts(String),
}

impl FromStr for SyntheticSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split(':');
        if parts.next().map(str::trim) != Some("synthetic") {
            return Err(SpecError::UnknownDataset(s.to_owned()));
        }
        let size = match parts.next() {
            Some(p) if !p.trim().is_empty() => p.parse()?,
            _ => Size::Demo,
        };
        let seed = match parts.next() {
            Some(p) => p
                .trim()
                .parse()
                .map_err(|_| SpecError::Seed(p.to_owned()))?,
            None => DEFAULT_SEED,
        };
        if parts.next().is_some() {
            return Err(SpecError::TooManyParts(s.to_owned()));
        }
        Ok(SyntheticSpec { size, seed })
    }
}

/// The synthetic world of one (size, seed).
#[derive(Debug, Clone)]
pub struct Generator {
    size: Size,
    world: World,
}

fn ts(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

impl Generator {
    /// Generates every entity except the activity events (those come from
    /// [`Generator::events_of`]).
    pub fn new(size: Size, seed: u64) -> Self {
        let mut world = World::build(size, seed);
        for user in 0..world.users.len() as u32 {
            let plans = sim::plans(&world, user);
            let out = sim::simulate(&world, user, &plans, None);
            let initial = initial_skills(&world, user);
            world.user_skills.extend(initial);
            world.user_skills.extend(out.skills);
            world.enrollments.extend(out.enrollments);
            world.attempts.extend(out.attempts);
            world.feedback.extend(out.feedback);
            world.event_counts.push(out.events);
        }
        Generator { size, world }
    }

    pub fn size(&self) -> Size {
        self.size
    }

    pub fn seed(&self) -> u64 {
        self.world.seed
    }

    /// The reference instant: 2026-11-26T00:00:00Z, whatever the seed.
    pub fn as_of(&self) -> DateTime<Utc> {
        ts(self.world.as_of)
    }

    /// Start of the 26-week reference window ending at [`Generator::as_of`].
    pub fn window_start(&self) -> DateTime<Utc> {
        ts(self.world.window_start)
    }

    /// Ids of all users, in generation order.
    pub fn user_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.world.users.iter().map(|u| u.id.as_str())
    }

    /// The number of users.
    pub fn user_count(&self) -> usize {
        self.world.users.len()
    }

    /// The id of the user at `position` in generation order.
    pub fn user_id_at(&self, position: usize) -> Option<&str> {
        self.world.users.get(position).map(|u| u.id.as_str())
    }

    /// The position of a user in generation order (`None` for unknown ids).
    pub fn user_position(&self, user_id: &str) -> Option<usize> {
        self.world.user_index.get(user_id).map(|&u| u as usize)
    }

    /// Ids of the organisations.
    pub fn org_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.world.orgs.iter().map(|o| o.id.as_str())
    }

    /// The exact number of activity events of a user (0 for unknown users), known without
    /// generating them.
    pub fn event_count(&self, user_id: &str) -> u64 {
        self.world
            .user_index
            .get(user_id)
            .and_then(|&u| self.world.event_counts.get(u as usize))
            .map_or(0, |&n| u64::from(n))
    }

    /// The exact number of activity events of the whole data set.
    pub fn total_events(&self) -> u64 {
        self.world.event_counts.iter().map(|&n| u64::from(n)).sum()
    }

    /// The activity events of one user in chronological order, generated on demand from
    /// (seed, user id); empty for unknown users and users who do not learn.
    pub fn events_of(&self, user_id: &str) -> impl Iterator<Item = ActivityEvent> + '_ {
        let raw = match self.world.user_index.get(user_id) {
            Some(&u) => self.raw_events(u),
            None => Vec::new(),
        };
        let uid: String = user_id.to_owned();
        raw.into_iter().map(move |e| self.event(&uid, &e))
    }

    /// Every activity event, user by user (each user's chronologically), generated lazily.
    pub fn all_events(&self) -> impl Iterator<Item = ActivityEvent> + '_ {
        self.world
            .users
            .iter()
            .flat_map(move |u| self.events_of(&u.id))
    }

    fn raw_events(&self, user: u32) -> Vec<RawEvent> {
        let plans = sim::plans(&self.world, user);
        let capacity = self
            .world
            .event_counts
            .get(user as usize)
            .copied()
            .unwrap_or(0) as usize;
        let mut out = Vec::with_capacity(capacity);
        sim::simulate(&self.world, user, &plans, Some(&mut out));
        out.sort_by_key(|e| e.ts);
        out
    }

    /// The whole data set, events included. Fine for `demo` and `small`; `large` would need
    /// tens of gigabytes (use [`Generator::events_of`] per user instead).
    pub fn dataset(&self) -> Dataset {
        self.select(None, true)
    }

    /// One organisation's data set, events included: its users and their records, its job
    /// roles, all skills, its own courses and the global ones. Empty for an unknown id.
    pub fn org_dataset(&self, org_id: &str) -> Dataset {
        match self.world.orgs.iter().position(|o| o.id == org_id) {
            Some(o) => self.select(Some(o as u16), true),
            None => Dataset::default(),
        }
    }

    /// Every entity except the events (cheap for every size: the demo source server of
    /// `medium` and `large` holds this and regenerates events per user on demand).
    pub fn entities(&self) -> Dataset {
        self.select(None, false)
    }

    /// Like [`Generator::org_dataset`] without the events (cheap for every size).
    pub fn org_entities(&self, org_id: &str) -> Dataset {
        match self.world.orgs.iter().position(|o| o.id == org_id) {
            Some(o) => self.select(Some(o as u16), false),
            None => Dataset::default(),
        }
    }

    /// Entity counts (events from the exact per-user counts, not generated).
    pub fn summary(&self) -> Summary {
        let w = &self.world;
        let count = |bit: u8| w.users.iter().filter(|u| u.roles & bit != 0).count();
        Summary {
            size: self.size.as_str(),
            seed: w.seed,
            as_of: self.as_of(),
            organizations: w.orgs.len(),
            job_roles: w.roles.len(),
            users: w.users.len(),
            learners: count(LEARNER),
            trainers: count(TRAINER),
            org_admins: count(ADMIN),
            skills: SKILLS.len(),
            user_skills: w.user_skills.len(),
            courses: w.courses.len(),
            content_items: w.items.len(),
            enrollments: w.enrollments.len(),
            feedback: w.feedback.len(),
            assessments: w.assessments.len(),
            attempts: w.attempts.len(),
            events: self.total_events(),
        }
    }

    // -----------------------------------------------------------------------------------------
    // materialisation
    // -----------------------------------------------------------------------------------------

    fn select(&self, org: Option<u16>, with_events: bool) -> Dataset {
        let w = &self.world;
        let in_org = |o: u16| org.is_none_or(|x| x == o);
        let user_in = |u: u32| w.users.get(u as usize).is_some_and(|u| in_org(u.org));
        let course_in = |c: u32| {
            w.courses
                .get(c as usize)
                .is_some_and(|c| c.org.is_none_or(in_org))
        };
        let mut data = Dataset {
            organizations: (0..w.orgs.len())
                .filter(|&o| in_org(o as u16))
                .map(|o| self.organization(o))
                .collect(),
            job_roles: (0..w.roles.len())
                .filter(|&r| in_org(w.roles[r].org))
                .map(|r| self.job_role(r))
                .collect(),
            users: (0..w.users.len() as u32)
                .filter(|&u| user_in(u))
                .map(|u| self.user(u))
                .collect(),
            skills: SKILLS
                .iter()
                .map(|(id, name)| Skill {
                    id: (*id).to_owned(),
                    name: (*name).to_owned(),
                    max_level: 5.0,
                })
                .collect(),
            user_skills: w
                .user_skills
                .iter()
                .filter(|s| user_in(s.user))
                .map(|s| self.user_skill(s))
                .collect(),
            courses: (0..w.courses.len() as u32)
                .filter(|&c| course_in(c))
                .map(|c| self.course(c))
                .collect(),
            content_items: (0..w.items.len() as u32)
                .filter(|&i| course_in(w.items[i as usize].course))
                .map(|i| self.content_item(i))
                .collect(),
            enrollments: (0..w.enrollments.len())
                .filter(|&e| user_in(w.enrollments[e].user))
                .map(|e| self.enrollment(e))
                .collect(),
            feedback: (0..w.feedback.len())
                .filter(|&f| user_in(w.feedback[f].user))
                .map(|f| self.feedback(f))
                .collect(),
            assessments: (0..w.assessments.len() as u32)
                .filter(|&a| course_in(w.assessments[a as usize].course))
                .map(|a| self.assessment(a))
                .collect(),
            attempts: (0..w.attempts.len())
                .filter(|&a| user_in(w.attempts[a].user))
                .map(|a| self.attempt(a))
                .collect(),
            events: Vec::new(),
        };
        if with_events {
            let total: u64 = (0..w.users.len() as u32)
                .filter(|&u| user_in(u))
                .map(|u| u64::from(w.event_counts.get(u as usize).copied().unwrap_or(0)))
                .sum();
            data.events.reserve(usize::try_from(total).unwrap_or(0));
            for u in (0..w.users.len() as u32).filter(|&u| user_in(u)) {
                let id = &w.users[u as usize].id;
                data.events
                    .extend(self.raw_events(u).iter().map(|e| self.event(id, e)));
            }
        }
        data
    }

    fn organization(&self, o: usize) -> Organization {
        let org = &self.world.orgs[o];
        Organization {
            id: org.id.clone(),
            name: org.name.clone(),
            strategic_goals: org.goals.clone(),
        }
    }

    fn job_role(&self, r: usize) -> JobRole {
        let role = &self.world.roles[r];
        JobRole {
            id: role.id.clone(),
            org_id: self.world.orgs[role.org as usize].id.clone(),
            name: role.name.to_owned(),
            requirements: role
                .requirements
                .iter()
                .map(|&(s, target, weight)| SkillRequirement {
                    skill_id: SKILLS[s as usize].0.to_owned(),
                    target_level: target,
                    weight,
                })
                .collect(),
        }
    }

    fn user(&self, i: u32) -> User {
        let w = &self.world;
        let u = &w.users[i as usize];
        let org = &w.orgs[u.org as usize];
        let demo = DEMO_ACCOUNTS.iter().find(|a| a.id == u.id);
        let first = FIRST_NAMES[u.first as usize % FIRST_NAMES.len()];
        let last = LAST_NAMES[u.last as usize % LAST_NAMES.len()];
        let (email, name) = match demo {
            Some(a) => (a.email.to_owned(), a.name.to_owned()),
            None => (
                format!(
                    "{}.{}.{}@{}",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    i,
                    org.domain
                ),
                format!("{first} {last}"),
            ),
        };
        let mut roles = Vec::new();
        for (bit, word) in [
            (LEARNER, "learner"),
            (TRAINER, "trainer"),
            (ADMIN, "org-admin"),
        ] {
            if u.roles & bit != 0 {
                roles.push(word.to_owned());
            }
        }
        let role = u.job_role.and_then(|r| w.roles.get(r as usize));
        User {
            id: u.id.clone(),
            org_id: org.id.clone(),
            email,
            name,
            roles,
            department: role.map(|r| r.department.to_owned()),
            job_role_id: role.map(|r| r.id.clone()),
            status: if u.left_at.is_some() {
                UserStatus::Inactive
            } else {
                UserStatus::Active
            },
            created_at: ts(u.created_at),
        }
    }

    fn user_skill(&self, s: &UserSkillM) -> UserSkill {
        UserSkill {
            user_id: self.world.users[s.user as usize].id.clone(),
            skill_id: SKILLS[s.skill as usize].0.to_owned(),
            current_level: s.level,
            source: s.source,
            updated_at: ts(s.at),
        }
    }

    fn course(&self, c: u32) -> Course {
        let w = &self.world;
        let course = &w.courses[c as usize];
        Course {
            id: course.id.clone(),
            title: course.title.clone(),
            trainer_id: w.users[course.trainer as usize].id.clone(),
            org_id: course.org.map(|o| w.orgs[o as usize].id.clone()),
            skills: course
                .skills
                .iter()
                .map(|&(s, level)| CourseSkill {
                    skill_id: SKILLS[s as usize].0.to_owned(),
                    level,
                })
                .collect(),
            modules: course
                .modules
                .iter()
                .enumerate()
                .map(|(m, items)| CourseModule {
                    id: format!("{}-m{}", course.id, m + 1),
                    content_item_ids: items.clone().map(|i| self.item_id(i)).collect(),
                })
                .collect(),
            expected_duration_hours: course.expected_hours,
            is_mandatory: course.mandatory,
        }
    }

    fn item_id(&self, i: u32) -> String {
        let w = &self.world;
        let item = &w.items[i as usize];
        format!(
            "{}-i{:02}",
            w.courses[item.course as usize].id,
            item.pos + 1
        )
    }

    fn content_item(&self, i: u32) -> ContentItem {
        let w = &self.world;
        let item = &w.items[i as usize];
        let course = &w.courses[item.course as usize];
        ContentItem {
            id: self.item_id(i),
            course_id: course.id.clone(),
            module_id: format!("{}-m{}", course.id, item.module + 1),
            content_type: item.kind,
            expected_duration_min: item.minutes,
            skill_ids: item
                .skills
                .iter()
                .map(|&s| SKILLS[s as usize].0.to_owned())
                .collect(),
        }
    }

    fn enrollment(&self, e: usize) -> Enrollment {
        let w = &self.world;
        let en = &w.enrollments[e];
        let at = |status: EnrollmentStatus| {
            if en.status == status {
                en.ended_at.map(ts)
            } else {
                None
            }
        };
        Enrollment {
            id: format!("en-{e:07}"),
            user_id: w.users[en.user as usize].id.clone(),
            course_id: w.courses[en.course as usize].id.clone(),
            enrolled_at: ts(en.enrolled_at),
            status: en.status,
            completed_at: at(EnrollmentStatus::Completed),
            dropped_at: at(EnrollmentStatus::Dropped),
            due_at: en.due_at.map(ts),
            progress: en.progress,
            assigned_by: en.assigned,
        }
    }

    fn feedback(&self, f: usize) -> Feedback {
        let w = &self.world;
        let fb = &w.feedback[f];
        let course = &w.courses[fb.course as usize];
        Feedback {
            id: format!("fb-{f:07}"),
            user_id: w.users[fb.user as usize].id.clone(),
            course_id: course.id.clone(),
            trainer_id: w.users[course.trainer as usize].id.clone(),
            course_rating: f64::from(fb.course_rating),
            trainer_rating: f64::from(fb.trainer_rating),
            created_at: ts(fb.at),
        }
    }

    fn assessment_id(a: u32) -> String {
        format!("as-{a:05}")
    }

    fn assessment(&self, a: u32) -> Assessment {
        let w = &self.world;
        let asm = &w.assessments[a as usize];
        let id = Self::assessment_id(a);
        Assessment {
            due_at: None,
            weight: None,
            course_id: w.courses[asm.course as usize].id.clone(),
            content_item_id: Some(self.item_id(asm.item)),
            kind: asm.kind,
            max_score: asm.max_score,
            pass_score: asm.pass_score,
            items: asm
                .questions
                .clone()
                .enumerate()
                .map(|(k, q)| {
                    let question = &w.questions[q as usize];
                    AssessmentItem {
                        item_id: format!("{id}-q{:02}", k + 1),
                        skill_ids: vec![SKILLS[question.skill as usize].0.to_owned()],
                        max_points: question.max_points,
                    }
                })
                .collect(),
            id,
        }
    }

    fn attempt(&self, t: usize) -> Attempt {
        let w = &self.world;
        let at = &w.attempts[t];
        let asm = &w.assessments[at.assessment as usize];
        let aid = Self::assessment_id(at.assessment);
        Attempt {
            id: format!("at-{t:08}"),
            assessment_id: aid.clone(),
            user_id: w.users[at.user as usize].id.clone(),
            attempt_no: u32::from(at.no),
            submitted_at: ts(at.submitted),
            score: at.score,
            passed: at.passed,
            responses: asm
                .questions
                .clone()
                .enumerate()
                .map(|(k, q)| {
                    let correct = k < 32 && at.correct & (1 << k) != 0;
                    Response {
                        item_id: format!("{aid}-q{:02}", k + 1),
                        points: if correct {
                            w.questions[q as usize].max_points
                        } else {
                            0.0
                        },
                        correct,
                    }
                })
                .collect(),
        }
    }

    fn event(&self, user_id: &str, e: &RawEvent) -> ActivityEvent {
        let w = &self.world;
        let course = w
            .items
            .get(e.item as usize)
            .and_then(|i| w.courses.get(i.course as usize));
        ActivityEvent {
            user_id: user_id.into(),
            verb: e.verb,
            object_id: self.item_id(e.item).into(),
            course_id: course.map(|c| c.id.as_str().into()),
            timestamp: ts(e.ts),
            duration_sec: e.duration,
            score_scaled: e.score,
            completion: e.completion,
            success: e.success,
            clicks: None,
        }
    }
}

/// Entity counts of a generated world.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub size: &'static str,
    pub seed: u64,
    pub as_of: DateTime<Utc>,
    pub organizations: usize,
    pub job_roles: usize,
    pub users: usize,
    pub learners: usize,
    pub trainers: usize,
    pub org_admins: usize,
    pub skills: usize,
    pub user_skills: usize,
    pub courses: usize,
    pub content_items: usize,
    pub enrollments: usize,
    pub feedback: usize,
    pub assessments: usize,
    pub attempts: usize,
    pub events: u64,
}

/// A user's skill records before any course: for the skills of their job role and of the
/// organisation's goals (85 % each) plus two others; `assessed` levels lie close to the true
/// level, `inferred` ones a little further, `self`-reported ones are inflated by about 0.6.
fn initial_skills(w: &World, user: u32) -> Vec<UserSkillM> {
    let Some(u) = w.users.get(user as usize) else {
        return Vec::new();
    };
    let mut rng = Rng::stream(w.seed, "skills", &u.id);
    let mut skills: Vec<u16> = Vec::new();
    if let Some(role) = u.job_role.and_then(|r| w.roles.get(r as usize)) {
        skills.extend(role.requirements.iter().map(|r| r.0));
    }
    if let Some(org) = w.orgs.get(u.org as usize) {
        for goal in &org.goals {
            if let Some(s) = SKILLS.iter().position(|(id, _)| *id == goal.skill_id) {
                skills.push(s as u16);
            }
        }
    }
    for _ in 0..2 {
        skills.push(rng.index(SKILLS.len()) as u16);
    }
    let mut seen = Vec::new();
    skills.retain(|s| {
        let new = !seen.contains(s);
        seen.push(*s);
        new
    });
    let from = u.created_at.max(w.window_start - 180 * world::DAY);
    let to = (w.window_start + 30 * world::DAY).min(w.as_of).max(from);
    let mut out = Vec::new();
    for skill in skills {
        if u.special != Special::Learner && !rng.chance(0.85) {
            continue;
        }
        let truth = w.true_level(user, skill);
        let r = rng.f64();
        let (source, level) = if r < 0.45 {
            (SkillSource::Assessed, truth + rng.gauss(0.0, 0.25))
        } else if r < 0.85 {
            let reported = truth + 0.6 + rng.gauss(0.0, 0.5);
            (SkillSource::SelfReported, (reported * 2.0).round() / 2.0)
        } else {
            (SkillSource::Inferred, truth + rng.gauss(0.0, 0.45))
        };
        out.push(UserSkillM {
            user,
            skill,
            level: (level.clamp(0.0, 5.0) * 10.0).round() / 10.0,
            source,
            at: rng.int(from, to),
        });
    }
    out
}
