//! The compact internal model of the synthetic world and the construction of its static part:
//! organisations, job roles, users with their latent traits, the catalogue (courses, content
//! items, assessments and their question parameters).
//!
//! Everything is indexed by `u32`/`u16` positions instead of ids, so the `large` size (100,000
//! learners, millions of attempts) fits in a few hundred megabytes; ids are formatted from the
//! positions only when public entities are materialised (see `mod.rs`).

use std::collections::HashMap;
use std::ops::Range;

use learnlens_analytics::input::{
    AssessmentKind, AssignedBy, ContentType, EnrollmentStatus, GoalScope, SkillSource,
    StrategicGoal,
};

use super::Size;
use super::names::{
    COURSE_TITLES, DEPARTMENTS, FIRST_NAMES, LAST_NAMES, MANDATORY_COURSES, ORGS, SHARED_SKILLS,
    SKILLS, TINY_DEPARTMENT, TRAINER_ROLE, TRAINER_SKILLS, TRAINING_DEPARTMENT,
};
use super::rng::Rng;
use crate::demo::DEMO_ORG;

/// Seconds in a day.
pub(super) const DAY: i64 = 86_400;
/// 2026-11-26T00:00:00Z, the seed-independent anchor: `asOf` of every synthetic data set.
pub(super) const ANCHOR: i64 = 1_795_651_200;
/// Length of the reference window (26 weeks) that ends at `asOf`.
pub(super) const WINDOW_DAYS: i64 = 182;

/// Role bits of a user.
pub(super) const LEARNER: u8 = 1;
pub(super) const TRAINER: u8 = 2;
pub(super) const ADMIN: u8 = 4;

/// Which demo account a user is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Special {
    None,
    Learner,
    Trainer,
    Admin,
    Multi,
}

#[derive(Debug, Clone)]
pub(super) struct OrgM {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) domain: String,
    pub(super) goals: Vec<StrategicGoal>,
    /// Job roles of this organisation (indices into `World::roles`).
    pub(super) roles: Range<u32>,
}

#[derive(Debug, Clone)]
pub(super) struct RoleM {
    pub(super) id: String,
    pub(super) org: u16,
    pub(super) name: &'static str,
    pub(super) department: &'static str,
    /// (skill, target level, weight).
    pub(super) requirements: Vec<(u16, f64, f64)>,
    /// Relative share of the organisation's learners (0 for the tiny and the trainer role,
    /// which are filled by count).
    pub(super) share: f64,
}

#[derive(Debug, Clone)]
pub(super) struct UserM {
    pub(super) id: String,
    pub(super) org: u16,
    pub(super) roles: u8,
    pub(super) special: Special,
    /// Index into `World::roles`; `None` for the few users the directory has no role for.
    pub(super) job_role: Option<u32>,
    pub(super) first: u8,
    pub(super) last: u8,
    pub(super) created_at: i64,
    /// When an inactive user left (their status is `inactive` from then on).
    pub(super) left_at: Option<i64>,
    /// Latent ability (standard normal): scores, pass rates, gains, skill levels, speed.
    pub(super) ability: f32,
    /// Latent motivation (standard normal): activity frequency, session length, enrollments,
    /// retakes, drop-outs.
    pub(super) motivation: f32,
    /// Trainers: effectiveness (learning gains) and charisma (ratings; correlated 0.4).
    pub(super) effectiveness: f32,
    pub(super) charisma: f32,
    /// Whether the learner's LRS client reports `result.duration`.
    pub(super) durations: bool,
    /// False for the few learners who never start anything.
    pub(super) engaged: bool,
}

#[derive(Debug, Clone)]
pub(super) struct CourseM {
    pub(super) id: String,
    pub(super) title: String,
    pub(super) trainer: u32,
    pub(super) org: Option<u16>,
    /// (skill, level taught).
    pub(super) skills: Vec<(u16, f64)>,
    /// Content items, contiguous in `World::items`.
    pub(super) items: Range<u32>,
    /// Module boundaries as item ranges.
    pub(super) modules: Vec<Range<u32>>,
    pub(super) mandatory: bool,
    /// Mandatory courses: when the organisation assigned it to everyone.
    pub(super) campaign: Option<i64>,
    /// Course quality (standard normal): ratings and a little of the gain.
    pub(super) quality: f32,
    /// The assessment whose pass decides completion (exam, else post-test).
    pub(super) final_assessment: Option<u32>,
    /// The post-test, if any (used to solve the learner's end-of-course ability).
    pub(super) post: Option<u32>,
    pub(super) expected_hours: f64,
}

#[derive(Debug, Clone)]
pub(super) struct ItemM {
    pub(super) course: u32,
    /// Position of the module in the course.
    pub(super) module: u16,
    /// Position of the item in the course.
    pub(super) pos: u16,
    pub(super) kind: ContentType,
    pub(super) minutes: f64,
    pub(super) skills: Vec<u16>,
    pub(super) assessment: Option<u32>,
}

#[derive(Debug, Clone)]
pub(super) struct AssessM {
    pub(super) course: u32,
    pub(super) item: u32,
    pub(super) kind: AssessmentKind,
    pub(super) max_score: f64,
    pub(super) pass_score: f64,
    pub(super) questions: Range<u32>,
    /// Whether a fail blocks progress (module quizzes and the final assessment) or not
    /// (pre-test, and a post-test followed by an exam).
    pub(super) gated: bool,
}

/// One question: 3PL item parameters (discrimination `a`, difficulty `b`, guessing 0.2).
#[derive(Debug, Clone)]
pub(super) struct QuestionM {
    pub(super) skill: u16,
    pub(super) max_points: f64,
    pub(super) a: f64,
    pub(super) b: f64,
}

/// The guessing floor of every question.
pub(super) const GUESS: f64 = 0.2;

impl QuestionM {
    /// Probability that a learner of ability `theta` answers correctly.
    pub(super) fn p_correct(&self, theta: f64) -> f64 {
        GUESS + (1.0 - GUESS) * super::rng::sigmoid(1.7 * self.a * (theta - self.b))
    }
}

#[derive(Debug, Clone)]
pub(super) struct EnrollM {
    pub(super) user: u32,
    pub(super) course: u32,
    pub(super) enrolled_at: i64,
    pub(super) due_at: Option<i64>,
    pub(super) assigned: AssignedBy,
    pub(super) status: EnrollmentStatus,
    /// completedAt (completed), droppedAt (dropped); failed enrollments keep the time of the
    /// last failed attempt here, which the catalogue does not expose.
    pub(super) ended_at: Option<i64>,
    pub(super) progress: f64,
}

#[derive(Debug, Clone)]
pub(super) struct AttemptM {
    pub(super) assessment: u32,
    pub(super) user: u32,
    pub(super) no: u8,
    pub(super) submitted: i64,
    pub(super) score: f64,
    pub(super) passed: bool,
    /// Bit i = question i answered correctly (≤ 32 questions per assessment).
    pub(super) correct: u32,
}

#[derive(Debug, Clone)]
pub(super) struct FeedbackM {
    pub(super) user: u32,
    pub(super) course: u32,
    pub(super) course_rating: u8,
    pub(super) trainer_rating: u8,
    pub(super) at: i64,
}

#[derive(Debug, Clone)]
pub(super) struct UserSkillM {
    pub(super) user: u32,
    pub(super) skill: u16,
    pub(super) level: f64,
    pub(super) source: SkillSource,
    pub(super) at: i64,
}

/// The whole synthetic world.
#[derive(Debug, Clone)]
pub(super) struct World {
    pub(super) seed: u64,
    pub(super) as_of: i64,
    pub(super) window_start: i64,
    pub(super) orgs: Vec<OrgM>,
    pub(super) roles: Vec<RoleM>,
    pub(super) users: Vec<UserM>,
    pub(super) user_index: HashMap<String, u32>,
    pub(super) courses: Vec<CourseM>,
    pub(super) items: Vec<ItemM>,
    pub(super) assessments: Vec<AssessM>,
    pub(super) questions: Vec<QuestionM>,
    /// Per organisation: the courses its learners may take (own + global), mandatory ones
    /// excluded.
    pub(super) offer: Vec<Vec<u32>>,
    /// Per organisation: its mandatory courses.
    pub(super) mandatory: Vec<Vec<u32>>,
    /// Per job role: the offered courses teaching a skill it requires.
    pub(super) role_courses: Vec<Vec<u32>>,
    // Filled by the simulation, all sorted by user.
    pub(super) enrollments: Vec<EnrollM>,
    pub(super) attempts: Vec<AttemptM>,
    pub(super) feedback: Vec<FeedbackM>,
    pub(super) user_skills: Vec<UserSkillM>,
    /// Number of activity events per user (exact; the events themselves are generated lazily).
    pub(super) event_counts: Vec<u32>,
}

/// How big each size is.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spec {
    pub(super) orgs: usize,
    pub(super) learners: usize,
    pub(super) trainers: usize,
    pub(super) global_courses: usize,
}

impl Size {
    pub(super) fn spec(self) -> Spec {
        match self {
            Size::Demo => Spec {
                orgs: 2,
                learners: 50,
                trainers: 5,
                global_courses: 2,
            },
            Size::Small => Spec {
                orgs: 3,
                learners: 1_000,
                trainers: 24,
                global_courses: 6,
            },
            Size::Medium => Spec {
                orgs: 5,
                learners: 10_000,
                trainers: 150,
                global_courses: 16,
            },
            Size::Large => Spec {
                orgs: 8,
                learners: 100_000,
                trainers: 1_000,
                global_courses: 40,
            },
        }
    }
}

/// Relative organisation sizes (the demo size uses 30/20).
const ORG_SHARES: [f64; 8] = [0.30, 0.22, 0.16, 0.12, 0.08, 0.06, 0.04, 0.02];

/// Splits `total` over the first `n` shares, the rounding remainder going to the first.
fn split(total: usize, shares: &[f64]) -> Vec<usize> {
    let sum: f64 = shares.iter().sum();
    let mut out: Vec<usize> = shares
        .iter()
        .map(|s| ((total as f64) * s / sum).floor() as usize)
        .collect();
    let assigned: usize = out.iter().sum();
    if let Some(first) = out.first_mut() {
        *first += total.saturating_sub(assigned);
    }
    out
}

/// `x` rounded to a multiple of `1/per_unit` (dividing last keeps 0.6 from becoming
/// 0.6000000000000001).
fn round_to(x: f64, per_unit: f64) -> f64 {
    (x * per_unit).round() / per_unit
}

impl World {
    /// Builds the static world (no enrollments yet).
    pub(super) fn build(size: Size, seed: u64) -> World {
        let spec = size.spec();
        let as_of = ANCHOR;
        let mut w = World {
            seed,
            as_of,
            window_start: as_of - WINDOW_DAYS * DAY,
            orgs: Vec::new(),
            roles: Vec::new(),
            users: Vec::new(),
            user_index: HashMap::new(),
            courses: Vec::new(),
            items: Vec::new(),
            assessments: Vec::new(),
            questions: Vec::new(),
            offer: Vec::new(),
            mandatory: Vec::new(),
            role_courses: Vec::new(),
            enrollments: Vec::new(),
            attempts: Vec::new(),
            feedback: Vec::new(),
            user_skills: Vec::new(),
            event_counts: Vec::new(),
        };
        let shares = &ORG_SHARES[..spec.orgs.min(ORG_SHARES.len())];
        let learners = if size == Size::Demo {
            vec![30, 20]
        } else {
            split(spec.learners, shares)
        };
        let trainers = if size == Size::Demo {
            vec![3, 2]
        } else {
            split(spec.trainers, shares)
                .into_iter()
                .map(|t| t.max(2))
                .collect()
        };
        // Trainers per organisation, for the course pass below.
        let mut org_trainers: Vec<Vec<u32>> = Vec::new();
        for o in 0..learners.len() {
            let n_learners = learners.get(o).copied().unwrap_or(0);
            let n_trainers = trainers.get(o).copied().unwrap_or(2);
            w.build_org(o, n_learners);
            org_trainers.push(w.build_users(o, n_learners, n_trainers));
        }
        w.user_index = w
            .users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i as u32))
            .collect();
        w.build_courses(&org_trainers, spec.global_courses);
        w.role_courses = w
            .roles
            .iter()
            .map(|r| {
                w.offer[r.org as usize]
                    .iter()
                    .copied()
                    .filter(|&c| {
                        w.courses[c as usize]
                            .skills
                            .iter()
                            .any(|(s, _)| r.requirements.iter().any(|(q, _, _)| q == s))
                    })
                    .collect()
            })
            .collect();
        w
    }

    fn build_org(&mut self, o: usize, n_learners: usize) {
        let mut rng = Rng::stream_n(self.seed, "org", o as u64);
        let (id, name, domain) = if o == 0 {
            (
                DEMO_ORG.to_owned(),
                "Demo Organisation".to_owned(),
                "demo.test".to_owned(),
            )
        } else {
            let (name, domain) = ORGS[(o - 1) % ORGS.len()];
            (format!("org-{}", o + 1), name.to_owned(), domain.to_owned())
        };
        // Bigger organisations have more departments; the tiny one is always there.
        let n_depts = (3 + n_learners / 1_500).min(TINY_DEPARTMENT);
        let mut depts: Vec<usize> = (0..n_depts).collect();
        depts.push(TINY_DEPARTMENT);
        let first_role = self.roles.len() as u32;
        for (rank, &d) in depts.iter().enumerate() {
            let def = &DEPARTMENTS[d];
            let n_roles = if d == TINY_DEPARTMENT {
                1
            } else {
                (1 + n_learners / 2_500).min(def.roles.len())
            };
            let dept_share = if d == TINY_DEPARTMENT {
                0.0
            } else {
                rng.uniform(0.7, 1.3) / (rank as f64 + 1.0).powf(0.8)
            };
            for (j, role_name) in def.roles.iter().take(n_roles).enumerate() {
                let mut skills: Vec<usize> = def.skills.to_vec();
                rng.shuffle(&mut skills);
                let n_domain = 2 + rng.index(2);
                let mut req: Vec<usize> = skills.into_iter().take(n_domain).collect();
                let shared = SHARED_SKILLS[rng.index(SHARED_SKILLS.len())];
                if !req.contains(&shared) {
                    req.push(shared);
                }
                let requirements = req
                    .into_iter()
                    .map(|s| {
                        (
                            s as u16,
                            round_to(rng.uniform(2.5, 4.5), 2.0),
                            round_to(rng.uniform(0.5, 1.5), 10.0),
                        )
                    })
                    .collect();
                let idx = self.roles.len();
                self.roles.push(RoleM {
                    id: format!("jr-{idx:04}"),
                    org: o as u16,
                    name: role_name,
                    department: def.name,
                    requirements,
                    share: dept_share / (j as f64 + 1.0),
                });
            }
        }
        // The trainer role.
        let idx = self.roles.len();
        self.roles.push(RoleM {
            id: format!("jr-{idx:04}"),
            org: o as u16,
            name: TRAINER_ROLE,
            department: TRAINING_DEPARTMENT,
            requirements: TRAINER_SKILLS
                .iter()
                .map(|&s| (s as u16, 4.0, 1.0))
                .collect(),
            share: 0.0,
        });
        let roles = first_role..self.roles.len() as u32;

        // Strategic goals: the first on everyone, the others on a few roles; every
        // organisation draws its own skills, so the organisations differ.
        let mut candidates: Vec<usize> = depts
            .iter()
            .flat_map(|&d| DEPARTMENTS[d].skills.iter().copied())
            .chain(SHARED_SKILLS)
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        rng.shuffle(&mut candidates);
        let n_goals = 2 + rng.index(3);
        let learner_roles: Vec<String> = self.roles[first_role as usize..]
            .iter()
            .filter(|r| r.share > 0.0)
            .map(|r| r.id.clone())
            .collect();
        let goals = candidates
            .into_iter()
            .take(n_goals)
            .enumerate()
            .map(|(g, s)| {
                let scope = if g == 0 || learner_roles.len() < 2 || rng.chance(0.4) {
                    GoalScope::All
                } else {
                    let mut ids = learner_roles.clone();
                    rng.shuffle(&mut ids);
                    ids.truncate(1 + rng.index(2));
                    ids.sort();
                    GoalScope::JobRoles(ids)
                };
                StrategicGoal {
                    skill_id: SKILLS[s].0.to_owned(),
                    weight: (1 + rng.index(3)) as f64,
                    target_level: round_to(rng.uniform(3.0, 4.0), 2.0),
                    scope,
                }
            })
            .collect();
        self.orgs.push(OrgM {
            id,
            name,
            domain,
            goals,
            roles,
        });
        self.offer.push(Vec::new());
        self.mandatory.push(Vec::new());
    }

    /// Adds the organisation's users; returns its trainers (demo trainers first).
    fn build_users(&mut self, o: usize, n_learners: usize, n_trainers: usize) -> Vec<u32> {
        let mut rng = Rng::stream_n(self.seed, "users", o as u64);
        let org = &self.orgs[o];
        let roles: Vec<u32> = org.roles.clone().collect();
        let learner_roles: Vec<u32> = roles
            .iter()
            .copied()
            .filter(|&r| self.roles[r as usize].share > 0.0)
            .collect();
        let shares: Vec<f64> = learner_roles
            .iter()
            .map(|&r| self.roles[r as usize].share)
            .collect();
        let tiny_role = roles
            .iter()
            .copied()
            .find(|&r| self.roles[r as usize].department == DEPARTMENTS[TINY_DEPARTMENT].name);
        let trainer_role = roles.last().copied();
        let largest_role = learner_roles.first().copied();
        let tiny_count = 2 + rng.index(3);

        // Who exists in this organisation, in id order.
        let mut kinds: Vec<(u8, Special)> = Vec::new();
        let mut generic_learners = n_learners;
        let mut generic_trainers = n_trainers;
        let mut generic_admins = (n_learners / 2_500).max(1);
        if o == 0 {
            kinds.push((LEARNER, Special::Learner));
            kinds.push((TRAINER, Special::Trainer));
            kinds.push((ADMIN, Special::Admin));
            kinds.push((LEARNER | TRAINER | ADMIN, Special::Multi));
            generic_learners = generic_learners.saturating_sub(2);
            generic_trainers = generic_trainers.saturating_sub(2);
            generic_admins = generic_admins.saturating_sub(1);
        }
        kinds.extend(std::iter::repeat_n((ADMIN, Special::None), generic_admins));
        kinds.extend(std::iter::repeat_n(
            (TRAINER, Special::None),
            generic_trainers,
        ));
        kinds.extend(std::iter::repeat_n(
            (LEARNER, Special::None),
            generic_learners,
        ));

        let mut trainers = Vec::new();
        let mut generic_learner_no = 0usize;
        for (roles_bits, special) in kinds {
            let idx = self.users.len() as u32;
            let id = match special {
                Special::Learner => "demo-learner".to_owned(),
                Special::Trainer => "demo-trainer".to_owned(),
                Special::Admin => "demo-admin".to_owned(),
                Special::Multi => "demo-multi".to_owned(),
                Special::None => format!("u-{idx:06}"),
            };
            let ability = rng.normal();
            let motivation = 0.2 * ability + 0.98 * rng.normal();
            let effectiveness = rng.normal();
            let charisma = 0.4 * effectiveness + 0.92 * rng.normal();
            let hired_recently = rng.chance(0.12);
            let created_at = if hired_recently && special == Special::None {
                rng.int(self.window_start, self.as_of - 21 * DAY)
            } else {
                self.window_start - rng.int(7 * DAY, 3 * 365 * DAY)
            };
            let leaves = special == Special::None && rng.chance(0.04);
            let left_at =
                leaves.then(|| rng.int(created_at.max(self.window_start), self.as_of - DAY));
            let durations = rng.chance(0.8);
            let engaged = !rng.chance(0.05);
            let no_role = rng.chance(0.01);
            let first = rng.index(FIRST_NAMES.len()) as u8;
            let last = rng.index(LAST_NAMES.len()) as u8;

            let job_role = if roles_bits & TRAINER != 0 {
                trainer_role
            } else if roles_bits & LEARNER != 0 {
                if special == Special::Learner {
                    largest_role
                } else if generic_learner_no < tiny_count {
                    tiny_role
                } else if no_role {
                    None
                } else {
                    learner_roles.get(rng.weighted(&shares)).copied()
                }
            } else {
                learner_roles.get(rng.weighted(&shares)).copied()
            };
            if roles_bits == LEARNER && special == Special::None {
                generic_learner_no += 1;
            }
            let mut user = UserM {
                id,
                org: o as u16,
                roles: roles_bits,
                special,
                job_role,
                first,
                last,
                created_at,
                left_at,
                ability: ability as f32,
                motivation: motivation as f32,
                effectiveness: effectiveness as f32,
                charisma: charisma as f32,
                durations,
                engaged,
            };
            match special {
                Special::Learner => {
                    user.first = 0;
                    user.last = 0;
                    user.ability = 0.6;
                    user.motivation = 1.0;
                    user.durations = true;
                    user.engaged = true;
                }
                Special::Multi => {
                    user.ability = 0.3;
                    user.motivation = 0.9;
                    user.effectiveness = 0.8;
                    user.charisma = 0.6;
                    user.engaged = true;
                }
                Special::Trainer => {
                    user.effectiveness = 1.0;
                    user.charisma = 0.5;
                }
                Special::Admin | Special::None => {}
            }
            if roles_bits & TRAINER != 0 {
                trainers.push(idx);
            }
            self.users.push(user);
        }
        trainers
    }

    fn build_courses(&mut self, org_trainers: &[Vec<u32>], n_global: usize) {
        // Organisation courses: each trainer teaches 1–3 (demo-trainer 3, demo-multi 1).
        for (o, trainers) in org_trainers.iter().enumerate() {
            let mut rng = Rng::stream_n(self.seed, "courses", o as u64);
            let n_learners = self
                .users
                .iter()
                .filter(|u| u.org as usize == o && u.roles & LEARNER != 0)
                .count();
            let n_mandatory = if o == 0 || n_learners >= 1_000 { 2 } else { 1 };
            // Topic pool: the skills of the organisation's job roles, weighted by role size.
            let role_range = self.orgs[o].roles.clone();
            let mut topics: Vec<(u16, f64)> = Vec::new();
            for r in role_range {
                let role = &self.roles[r as usize];
                for (s, _, _) in &role.requirements {
                    topics.push((*s, role.share.max(0.05)));
                }
            }
            let topic_weights: Vec<f64> = topics.iter().map(|t| t.1).collect();
            let mut mandatory_left = n_mandatory;
            for &t in trainers {
                let special = self.users[t as usize].special;
                let n = match special {
                    Special::Trainer => 3,
                    Special::Multi => 1,
                    _ => 1 + rng.index(3),
                };
                for k in 0..n {
                    // The first course of the first trainers is mandatory (demo-trainer's first,
                    // then the generic demo-org trainer's first).
                    let mandatory = k == 0 && special != Special::Multi && mandatory_left > 0;
                    let which = n_mandatory - mandatory_left;
                    if mandatory {
                        mandatory_left -= 1;
                    }
                    let (title, main) = if mandatory {
                        let (title, skill) =
                            MANDATORY_COURSES[(o + which) % MANDATORY_COURSES.len()];
                        (title.to_owned(), skill as u16)
                    } else {
                        let main = topics.get(rng.weighted(&topic_weights)).map_or(0, |t| t.0);
                        let pattern = COURSE_TITLES[rng.index(COURSE_TITLES.len())];
                        (pattern.replace("{}", SKILLS[main as usize].1), main)
                    };
                    let force_pre_post = matches!(special, Special::Trainer | Special::Multi);
                    let c = self.add_course(
                        &mut rng,
                        title,
                        t,
                        Some(o as u16),
                        main,
                        mandatory,
                        force_pre_post,
                    );
                    if mandatory {
                        self.mandatory[o].push(c);
                    } else {
                        self.offer[o].push(c);
                    }
                }
            }
        }
        // The global catalogue, taught by trainers of the other organisations.
        let mut rng = Rng::stream_n(self.seed, "courses", u64::MAX);
        let pool: Vec<u32> = org_trainers.iter().skip(1).flatten().copied().collect();
        for g in 0..n_global {
            let Some(&trainer) = pool.get(g % pool.len().max(1)) else {
                break;
            };
            let main = rng.index(SKILLS.len()) as u16;
            let pattern = COURSE_TITLES[rng.index(COURSE_TITLES.len())];
            let title = pattern.replace("{}", SKILLS[main as usize].1);
            let c = self.add_course(&mut rng, title, trainer, None, main, false, false);
            for offer in &mut self.offer {
                offer.push(c);
            }
        }
        // Campaign dates of the mandatory courses.
        for o in 0..self.mandatory.len() {
            let mut rng = Rng::stream_n(self.seed, "campaign", o as u64);
            for &c in &self.mandatory[o] {
                let days = rng.int(70, 150);
                self.courses[c as usize].campaign = Some(self.as_of - days * DAY);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_course(
        &mut self,
        rng: &mut Rng,
        title: String,
        trainer: u32,
        org: Option<u16>,
        main: u16,
        mandatory: bool,
        force_pre_post: bool,
    ) -> u32 {
        let c = self.courses.len() as u32;
        let id = format!("c-{c:05}");
        // Secondary skills from the main skill's department, or shared ones.
        let mut skills = vec![(main, round_to(rng.uniform(2.5, 4.5), 2.0))];
        let related: Vec<usize> = DEPARTMENTS
            .iter()
            .filter(|d| d.skills.contains(&(main as usize)))
            .flat_map(|d| d.skills.iter().copied())
            .chain(SHARED_SKILLS)
            .filter(|&s| s != main as usize)
            .collect();
        for _ in 0..rng.index(3) {
            if related.is_empty() {
                break;
            }
            let s = related[rng.index(related.len())] as u16;
            if !skills.iter().any(|(k, _)| *k == s) {
                skills.push((s, round_to(rng.uniform(2.0, 4.0), 2.0)));
            }
        }
        let difficulty = rng.gauss(0.0, 0.4);
        let quality = rng.normal();
        let n_modules = if mandatory { 2 } else { 2 + rng.index(3) };
        let has_pre_post = force_pre_post || rng.chance(0.75);
        let has_exam = if force_pre_post {
            false
        } else {
            mandatory || rng.chance(0.35)
        };
        let first_item = self.items.len() as u32;
        let mut modules = Vec::new();
        let mut pos: u16 = 0;
        let mut post = None;
        let mut final_assessment = None;
        for m in 0..n_modules {
            let start = self.items.len() as u32;
            if m == 0 && has_pre_post {
                self.add_assessment_item(
                    rng,
                    c,
                    m as u16,
                    &mut pos,
                    AssessmentKind::Pre,
                    &skills,
                    difficulty,
                );
            }
            let n_items = if mandatory {
                2 + rng.index(2)
            } else {
                2 + rng.index(4)
            };
            for _ in 0..n_items {
                let r = rng.f64();
                let kind = if r < 0.42 {
                    ContentType::Video
                } else if r < 0.78 {
                    ContentType::Text
                } else {
                    ContentType::Lab
                };
                let minutes = match kind {
                    ContentType::Video => rng.uniform(4.0, 18.0),
                    ContentType::Text => rng.uniform(5.0, 15.0),
                    _ => rng.uniform(25.0, 80.0),
                }
                .round();
                let mut item_skills = vec![skills[rng.index(skills.len())].0];
                if skills.len() > 1 && rng.chance(0.2) {
                    let other = skills[rng.index(skills.len())].0;
                    if !item_skills.contains(&other) {
                        item_skills.push(other);
                    }
                }
                self.items.push(ItemM {
                    course: c,
                    module: m as u16,
                    pos,
                    kind,
                    minutes,
                    skills: item_skills,
                    assessment: None,
                });
                pos += 1;
            }
            if rng.chance(0.6) {
                self.add_assessment_item(
                    rng,
                    c,
                    m as u16,
                    &mut pos,
                    AssessmentKind::Quiz,
                    &skills,
                    difficulty,
                );
            }
            if m + 1 == n_modules {
                if has_pre_post {
                    let a = self.add_assessment_item(
                        rng,
                        c,
                        m as u16,
                        &mut pos,
                        AssessmentKind::Post,
                        &skills,
                        difficulty,
                    );
                    post = Some(a);
                    final_assessment = Some(a);
                }
                if has_exam {
                    let a = self.add_assessment_item(
                        rng,
                        c,
                        m as u16,
                        &mut pos,
                        AssessmentKind::Exam,
                        &skills,
                        difficulty,
                    );
                    if let Some(p) = post {
                        // The post-test is then an ungraded measurement.
                        self.assessments[p as usize].gated = false;
                    }
                    final_assessment = Some(a);
                }
            }
            modules.push(start..self.items.len() as u32);
        }
        let items = first_item..self.items.len() as u32;
        let expected_hours = self.items[items.start as usize..items.end as usize]
            .iter()
            .map(|i| i.minutes)
            .sum::<f64>()
            / 60.0;
        self.courses.push(CourseM {
            id,
            title,
            trainer,
            org,
            skills,
            items,
            modules,
            mandatory,
            campaign: None,
            quality: quality as f32,
            final_assessment,
            post,
            expected_hours,
        });
        c
    }

    #[allow(clippy::too_many_arguments)]
    fn add_assessment_item(
        &mut self,
        rng: &mut Rng,
        course: u32,
        module: u16,
        pos: &mut u16,
        kind: AssessmentKind,
        skills: &[(u16, f64)],
        difficulty: f64,
    ) -> u32 {
        let (n_q, points, pass) = match kind {
            AssessmentKind::Quiz => (5u32, 2.0, 6.0),
            AssessmentKind::Exam => (20, 5.0, 60.0),
            AssessmentKind::Pre | AssessmentKind::Post => (10, 10.0, 60.0),
        };
        let a_idx = self.assessments.len() as u32;
        let item = self.items.len() as u32;
        let q_start = self.questions.len() as u32;
        let offset = rng.index(skills.len().max(1));
        for q in 0..n_q as usize {
            let skill = skills
                .get((q + offset) % skills.len().max(1))
                .map_or(0, |s| s.0);
            // About 6 % of questions are flawed (near-zero or negative discrimination), so item
            // analysis has something to flag.
            let a = if rng.chance(0.06) {
                rng.uniform(-0.5, 0.15)
            } else {
                rng.uniform(0.7, 1.9)
            };
            let b = difficulty + rng.gauss(0.0, 0.9);
            self.questions.push(QuestionM {
                skill,
                max_points: points,
                a,
                b,
            });
        }
        let minutes = (f64::from(n_q) * rng.uniform(1.0, 2.0)).round();
        let mut item_skills: Vec<u16> = skills.iter().map(|s| s.0).collect();
        if kind == AssessmentKind::Quiz {
            item_skills.truncate(2);
        }
        self.items.push(ItemM {
            course,
            module,
            pos: *pos,
            kind: ContentType::Quiz,
            minutes,
            skills: item_skills,
            assessment: Some(a_idx),
        });
        *pos += 1;
        self.assessments.push(AssessM {
            course,
            item,
            kind,
            max_score: f64::from(n_q) * points,
            pass_score: pass,
            questions: q_start..self.questions.len() as u32,
            gated: kind != AssessmentKind::Pre,
        });
        a_idx
    }

    /// The learner's true level in a skill (0.5–5): ability plus a per-(user, skill) offset
    /// and a bonus for skills their job role requires. Deterministic, never stored.
    pub(super) fn true_level(&self, user: u32, skill: u16) -> f64 {
        let u = &self.users[user as usize];
        let mut rng = Rng::stream_n(
            self.seed,
            "level",
            (u64::from(user) << 16) | u64::from(skill),
        );
        let required = u.job_role.is_some_and(|r| {
            self.roles[r as usize]
                .requirements
                .iter()
                .any(|(s, _, _)| *s == skill)
        });
        let bonus = if required { 0.5 } else { 0.0 };
        (2.0 + 0.8 * f64::from(u.ability) + bonus + rng.gauss(0.0, 0.6)).clamp(0.5, 5.0)
    }

    /// The user's skill offset: how far the true level lies from what ability alone predicts.
    pub(super) fn skill_offset(&self, user: u32, skill: u16) -> f64 {
        let u = &self.users[user as usize];
        self.true_level(user, skill) - (2.0 + 0.8 * f64::from(u.ability))
    }
}
