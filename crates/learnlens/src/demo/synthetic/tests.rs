//! Tests of the synthetic generator: determinism, referential integrity, the demo accounts,
//! sizes, the latent structure the analytics are meant to find, and the learner analytics
//! running on the demo learner.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use learnlens_analytics::Status;
use learnlens_analytics::config::Config;
use learnlens_analytics::input::{
    AssessmentKind, AssignedBy, ContentType, Dataset, EnrollmentStatus, GoalScope, SkillSource,
    UserStatus, Verb,
};
use learnlens_analytics::learner::{engagement, skill_gap, velocity};

use super::world::{LEARNER, TRAINER};
use super::*;
use crate::demo::{DEMO_ACCOUNTS, DEMO_ORG};

fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

// ---------------------------------------------------------------------------------------------
// parsing
// ---------------------------------------------------------------------------------------------

#[test]
fn sizes_and_specs_parse_from_their_words() {
    for size in Size::ALL {
        assert_eq!(size.as_str().parse::<Size>(), Ok(size));
        assert_eq!(size.to_string(), size.as_str());
    }
    assert_eq!("Large".parse::<Size>(), Ok(Size::Large));
    assert!("huge".parse::<Size>().is_err());
    let spec = |s: &str| s.parse::<SyntheticSpec>();
    assert_eq!(
        spec("synthetic"),
        Ok(SyntheticSpec {
            size: Size::Demo,
            seed: DEFAULT_SEED
        })
    );
    assert_eq!(
        spec("synthetic:small"),
        Ok(SyntheticSpec {
            size: Size::Small,
            seed: DEFAULT_SEED
        })
    );
    assert_eq!(
        spec("synthetic:large:7"),
        Ok(SyntheticSpec {
            size: Size::Large,
            seed: 7
        })
    );
    assert!(matches!(spec("oulad"), Err(SpecError::UnknownDataset(_))));
    assert!(matches!(spec("synthetic:tiny"), Err(SpecError::Size(_))));
    assert!(matches!(spec("synthetic:demo:x"), Err(SpecError::Seed(_))));
    assert!(matches!(
        spec("synthetic:demo:1:2"),
        Err(SpecError::TooManyParts(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// determinism
// ---------------------------------------------------------------------------------------------

#[test]
fn the_same_seed_gives_the_same_dataset_and_another_seed_a_different_one() {
    let json = |seed: u64| {
        serde_json::to_string(&Generator::new(Size::Demo, seed).dataset()).expect("serialises")
    };
    let a = json(42);
    assert_eq!(a, json(42));
    assert_ne!(a, json(43));
}

#[test]
fn events_of_a_user_are_the_same_whenever_they_are_generated() {
    let g = Generator::new(Size::Small, 5);
    let other = Generator::new(Size::Small, 5);
    let ids: Vec<String> = g.user_ids().step_by(97).map(str::to_owned).collect();
    for id in &ids {
        let first: Vec<_> = g.events_of(id).collect();
        assert_eq!(first, g.events_of(id).collect::<Vec<_>>());
        assert_eq!(first, other.events_of(id).collect::<Vec<_>>());
        assert_eq!(first.len() as u64, g.event_count(id));
    }
    assert_eq!(g.events_of("nobody").count(), 0);
    assert_eq!(g.event_count("nobody"), 0);
}

#[test]
fn dataset_events_are_the_per_user_events() {
    let g = Generator::new(Size::Demo, 11);
    let data = g.dataset();
    assert_eq!(data.events.len() as u64, g.total_events());
    for id in g.user_ids() {
        let from_dataset: Vec<_> = data.events.iter().filter(|e| *e.user_id == *id).collect();
        let lazy: Vec<_> = g.events_of(id).collect();
        assert_eq!(from_dataset.len(), lazy.len(), "{id}");
        assert!(from_dataset.iter().zip(&lazy).all(|(a, b)| *a == b), "{id}");
    }
}

// ---------------------------------------------------------------------------------------------
// referential integrity
// ---------------------------------------------------------------------------------------------

/// Checks every reference and invariant of a data set. `foreign_trainers` allows `trainerId`s
/// of global courses (and of feedback on them) to be missing, as in an organisation's data set.
fn check_integrity(data: &Dataset, as_of: DateTime<Utc>, foreign_trainers: bool) {
    let idx = data.index();
    let orgs: HashSet<&str> = data.organizations.iter().map(|o| o.id.as_str()).collect();
    let skills: HashSet<&str> = data.skills.iter().map(|s| s.id.as_str()).collect();
    let roles: HashMap<&str, &str> = data
        .job_roles
        .iter()
        .map(|r| (r.id.as_str(), r.org_id.as_str()))
        .collect();
    assert_eq!(orgs.len(), data.organizations.len(), "duplicate org ids");
    assert_eq!(roles.len(), data.job_roles.len(), "duplicate role ids");
    let unique = |ids: Vec<&str>| {
        let n = ids.len();
        assert_eq!(
            ids.into_iter().collect::<HashSet<_>>().len(),
            n,
            "duplicate ids"
        );
    };
    unique(data.users.iter().map(|u| u.id.as_str()).collect());
    unique(data.users.iter().map(|u| u.email.as_str()).collect());
    unique(data.courses.iter().map(|c| c.id.as_str()).collect());
    unique(data.content_items.iter().map(|c| c.id.as_str()).collect());
    unique(data.enrollments.iter().map(|c| c.id.as_str()).collect());
    unique(data.assessments.iter().map(|c| c.id.as_str()).collect());
    unique(data.attempts.iter().map(|c| c.id.as_str()).collect());
    unique(data.feedback.iter().map(|c| c.id.as_str()).collect());

    for org in &data.organizations {
        assert!(!org.strategic_goals.is_empty());
        for goal in &org.strategic_goals {
            assert!(skills.contains(goal.skill_id.as_str()));
            assert!(goal.weight > 0.0);
            if let GoalScope::JobRoles(ids) = &goal.scope {
                assert!(!ids.is_empty());
                for id in ids {
                    assert_eq!(roles.get(id.as_str()), Some(&org.id.as_str()));
                }
            }
        }
    }
    for role in &data.job_roles {
        assert!(orgs.contains(role.org_id.as_str()));
        assert!(!role.requirements.is_empty());
        for r in &role.requirements {
            assert!(skills.contains(r.skill_id.as_str()));
            assert!(r.target_level > 0.0 && r.target_level <= 5.0 && r.weight > 0.0);
        }
    }
    for u in &data.users {
        assert!(orgs.contains(u.org_id.as_str()), "{}", u.id);
        assert!(!u.roles.is_empty());
        assert!(u.created_at <= as_of);
        if let Some(r) = &u.job_role_id {
            assert_eq!(roles.get(r.as_str()), Some(&u.org_id.as_str()));
            assert!(u.department.is_some());
        }
    }
    for s in &data.user_skills {
        assert!(idx.user(&s.user_id).is_some());
        assert!(skills.contains(s.skill_id.as_str()));
        assert!((0.0..=5.0).contains(&s.current_level));
        assert!(s.updated_at <= as_of);
    }
    for c in &data.courses {
        match idx.user(&c.trainer_id) {
            Some(t) => {
                assert!(t.roles.iter().any(|r| r == "trainer"), "{}", c.id);
                if let Some(o) = &c.org_id {
                    assert_eq!(&t.org_id, o);
                }
            }
            None => assert!(foreign_trainers && c.org_id.is_none(), "{}", c.id),
        }
        if let Some(o) = &c.org_id {
            assert!(orgs.contains(o.as_str()));
        }
        assert!(!c.skills.is_empty() && !c.modules.is_empty());
        for s in &c.skills {
            assert!(skills.contains(s.skill_id.as_str()));
        }
        let mut minutes = 0.0;
        for m in &c.modules {
            assert!(!m.content_item_ids.is_empty());
            for id in &m.content_item_ids {
                let item = idx.content_item(id).expect("module item exists");
                assert_eq!(item.course_id, c.id);
                assert_eq!(item.module_id, m.id);
                minutes += item.expected_duration_min;
            }
        }
        assert!((minutes / 60.0 - c.expected_duration_hours).abs() < 1e-9);
    }
    for item in &data.content_items {
        assert!(idx.course(&item.course_id).is_some());
        assert!(item.expected_duration_min > 0.0);
        assert!(!item.skill_ids.is_empty());
        for s in &item.skill_ids {
            assert!(skills.contains(s.as_str()));
        }
    }
    for a in &data.assessments {
        assert!(idx.course(&a.course_id).is_some());
        let item = a
            .content_item_id
            .as_deref()
            .and_then(|i| idx.content_item(i))
            .expect("assessment item");
        assert_eq!(item.course_id, a.course_id);
        assert_eq!(item.content_type, ContentType::Quiz);
        let total: f64 = a.items.iter().map(|q| q.max_points).sum();
        assert_eq!(total, a.max_score);
        assert!(a.pass_score > 0.0 && a.pass_score <= a.max_score);
        for q in &a.items {
            assert!(q.skill_ids.iter().all(|s| skills.contains(s.as_str())));
        }
    }
    let enrolled: HashMap<(&str, &str), &learnlens_analytics::input::Enrollment> = data
        .enrollments
        .iter()
        .map(|e| ((e.user_id.as_str(), e.course_id.as_str()), e))
        .collect();
    assert_eq!(
        enrolled.len(),
        data.enrollments.len(),
        "one enrollment per course"
    );
    for e in &data.enrollments {
        let user = idx.user(&e.user_id).expect("enrolled user");
        assert!(user.roles.iter().any(|r| r == "learner"));
        let course = idx.course(&e.course_id).expect("enrolled course");
        if let Some(o) = &course.org_id {
            assert_eq!(o, &user.org_id, "courses of another organisation");
        }
        assert!(e.enrolled_at <= as_of && e.enrolled_at >= user.created_at);
        assert!((0.0..=1.0).contains(&e.progress));
        assert_eq!(
            e.completed_at.is_some(),
            e.status == EnrollmentStatus::Completed
        );
        assert_eq!(
            e.dropped_at.is_some(),
            e.status == EnrollmentStatus::Dropped
        );
        for end in [e.completed_at, e.dropped_at].into_iter().flatten() {
            assert!(end >= e.enrolled_at && end <= as_of, "{}", e.id);
        }
        if e.status == EnrollmentStatus::Completed {
            assert_eq!(e.progress, 1.0);
        }
        if e.status == EnrollmentStatus::Enrolled {
            assert_eq!(e.progress, 0.0);
        }
        if e.assigned_by == AssignedBy::Mandatory {
            assert!(course.is_mandatory && e.due_at.is_some());
        }
    }
    for f in &data.feedback {
        let course = idx.course(&f.course_id).expect("feedback course");
        assert_eq!(f.trainer_id, course.trainer_id);
        assert!(enrolled.contains_key(&(f.user_id.as_str(), f.course_id.as_str())));
        assert!((1.0..=5.0).contains(&f.course_rating) && (1.0..=5.0).contains(&f.trainer_rating));
        assert!(f.created_at <= as_of);
    }
    let mut tries: HashMap<(&str, &str), Vec<u32>> = HashMap::new();
    for t in &data.attempts {
        let a = idx
            .assessment(&t.assessment_id)
            .expect("attempt assessment");
        let e = enrolled
            .get(&(t.user_id.as_str(), a.course_id.as_str()))
            .expect("attempts only in enrolled courses");
        assert!(t.submitted_at <= as_of && t.submitted_at >= e.enrolled_at);
        assert!(t.score >= 0.0 && t.score <= a.max_score);
        assert_eq!(t.passed, t.score >= a.pass_score);
        assert_eq!(t.responses.len(), a.items.len());
        let mut points = 0.0;
        for (r, q) in t.responses.iter().zip(&a.items) {
            assert_eq!(r.item_id, q.item_id);
            assert!(r.points >= 0.0 && r.points <= q.max_points);
            assert_eq!(r.correct, r.points == q.max_points);
            points += r.points;
        }
        assert_eq!(points, t.score);
        tries
            .entry((t.user_id.as_str(), t.assessment_id.as_str()))
            .or_default()
            .push(t.attempt_no);
    }
    for numbers in tries.values() {
        let expected: Vec<u32> = (1..=numbers.len() as u32).collect();
        assert_eq!(numbers, &expected, "attempt numbers are 1, 2, …");
    }
    let mut last: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for ev in &data.events {
        assert!(idx.user(&ev.user_id).is_some(), "event of an unknown user");
        let item = idx.content_item(&ev.object_id).expect("event object");
        assert_eq!(ev.course_id.as_deref(), Some(item.course_id.as_str()));
        let e = enrolled
            .get(&(&*ev.user_id, item.course_id.as_str()))
            .expect("events only in enrolled courses");
        assert!(ev.timestamp <= as_of && ev.timestamp >= e.enrolled_at);
        if let Some(d) = e.dropped_at {
            assert!(ev.timestamp <= d, "activity after the drop-out");
        }
        assert!(ev.score_scaled.is_none_or(|s| (0.0..=1.0).contains(&s)));
        assert!(ev.duration_sec.is_none_or(|d| d >= 0.0));
        let prev = last.insert(&*ev.user_id, ev.timestamp);
        assert!(prev.is_none_or(|p| p <= ev.timestamp), "per-user order");
    }
}

#[test]
fn every_reference_in_the_demo_and_small_datasets_resolves() {
    for size in [Size::Demo, Size::Small] {
        let g = Generator::new(size, 3);
        check_integrity(&g.dataset(), g.as_of(), false);
    }
}

#[test]
fn organisation_datasets_partition_the_whole() {
    let g = Generator::new(Size::Small, 8);
    let all = g.dataset();
    let (mut users, mut enrollments, mut attempts, mut events) = (0, 0, 0, 0);
    for org in g.org_ids() {
        let data = g.org_dataset(org);
        check_integrity(&data, g.as_of(), true);
        assert_eq!(data.organizations.len(), 1);
        assert!(data.users.iter().all(|u| u.org_id == org));
        assert!(
            data.courses
                .iter()
                .all(|c| c.org_id.as_deref().is_none_or(|o| o == org))
        );
        let entities = g.org_entities(org);
        assert!(entities.events.is_empty());
        assert_eq!(entities.attempts, data.attempts);
        users += data.users.len();
        enrollments += data.enrollments.len();
        attempts += data.attempts.len();
        events += data.events.len();
    }
    assert_eq!(users, all.users.len());
    assert_eq!(enrollments, all.enrollments.len());
    assert_eq!(attempts, all.attempts.len());
    assert_eq!(events, all.events.len());
    assert_eq!(g.org_dataset("no-such-org"), Dataset::default());
}

// ---------------------------------------------------------------------------------------------
// demo accounts
// ---------------------------------------------------------------------------------------------

fn check_demo_accounts(g: &Generator, data: &Dataset) {
    let idx = data.index();
    let as_of = g.as_of();
    for a in &DEMO_ACCOUNTS {
        let u = idx.user(a.id).expect("demo account exists");
        assert_eq!(u.org_id, DEMO_ORG);
        assert_eq!(u.email, a.email);
        assert_eq!(u.status, UserStatus::Active);
        let roles: Vec<&str> = a.roles.iter().map(|r| r.as_str()).collect();
        assert_eq!(u.roles, roles, "{}", a.id);
    }
    assert!(idx.organization(DEMO_ORG).is_some());

    // demo-learner: several enrollments in every state of a lively learner, rich activity.
    let enrollments = idx.enrollments_of("demo-learner");
    assert!(enrollments.len() >= 5, "{}", enrollments.len());
    let count = |s: EnrollmentStatus| enrollments.iter().filter(|e| e.status == s).count();
    assert!(count(EnrollmentStatus::Completed) >= 1);
    assert!(count(EnrollmentStatus::InProgress) >= 1);
    assert!(
        enrollments
            .iter()
            .any(|e| e.assigned_by == AssignedBy::Mandatory)
    );
    let courses_of = |trainer: &str| -> Vec<&str> {
        data.courses
            .iter()
            .filter(|c| c.trainer_id == trainer)
            .map(|c| c.id.as_str())
            .collect()
    };
    let trainer_courses = courses_of("demo-trainer");
    let multi_courses = courses_of("demo-multi");
    assert!(
        enrollments
            .iter()
            .any(|e| trainer_courses.contains(&e.course_id.as_str()))
    );
    assert!(
        enrollments
            .iter()
            .any(|e| multi_courses.contains(&e.course_id.as_str()))
    );
    let events = idx.events_of("demo-learner");
    assert!(events.len() >= 300, "{}", events.len());
    assert!(
        events
            .iter()
            .any(|e| e.timestamp > as_of - TimeDelta::days(7)),
        "recent activity"
    );
    assert!(idx.attempts_of("demo-learner").len() >= 5);
    assert!(!idx.user_skills_of("demo-learner").is_empty());

    // demo-trainer: three courses with pre/post tests, learners, pairs and feedback.
    assert_eq!(trainer_courses.len(), 3);
    let mut pairs = 0;
    let mut learners = 0;
    let mut feedback = 0;
    for c in &trainer_courses {
        let kinds: HashSet<AssessmentKind> = data
            .assessments
            .iter()
            .filter(|a| a.course_id == *c)
            .map(|a| a.kind)
            .collect();
        assert!(kinds.contains(&AssessmentKind::Pre) && kinds.contains(&AssessmentKind::Post));
        learners += idx.enrollments_in(c).len();
        feedback += idx.feedback_on(c).len();
        pairs += pre_post_pairs(data, c).len();
    }
    assert!(learners >= 20, "{learners}");
    assert!(pairs >= 10, "{pairs}");
    assert!(feedback >= 5, "{feedback}");

    // demo-multi: learns in some courses and teaches one that has learners.
    assert_eq!(multi_courses.len(), 1);
    assert!(!idx.enrollments_in(multi_courses[0]).is_empty());
    assert!(idx.enrollments_of("demo-multi").len() >= 2);
    assert!(!idx.events_of("demo-multi").is_empty());
    // demo-admin administers without learning.
    assert!(idx.enrollments_of("demo-admin").is_empty());
}

/// Matched (pre %, post %) first attempts of the learners of a course.
fn pre_post_pairs(data: &Dataset, course: &str) -> Vec<(f64, f64)> {
    let idx = data.index();
    let find = |kind: AssessmentKind| {
        data.assessments
            .iter()
            .find(|a| a.course_id == course && a.kind == kind)
    };
    let (Some(pre), Some(post)) = (find(AssessmentKind::Pre), find(AssessmentKind::Post)) else {
        return Vec::new();
    };
    let first = |user: &str, a: &learnlens_analytics::input::Assessment| {
        idx.attempts_of(user)
            .iter()
            .find(|t| t.assessment_id == a.id && t.attempt_no == 1)
            .map(|t| 100.0 * t.score / a.max_score)
    };
    idx.enrollments_in(course)
        .iter()
        .filter_map(|e| Some((first(&e.user_id, pre)?, first(&e.user_id, post)?)))
        .collect()
}

#[test]
fn demo_accounts_exist_with_their_roles_and_data() {
    for seed in [1, 42, 2026] {
        let g = Generator::new(Size::Demo, seed);
        check_demo_accounts(&g, &g.dataset());
    }
    let g = Generator::new(Size::Small, 42);
    check_demo_accounts(&g, &g.org_dataset(DEMO_ORG));
}

#[test]
fn learner_analytics_find_real_numbers_for_the_demo_learner() {
    let g = Generator::new(Size::Demo, DEFAULT_SEED);
    let data = g.dataset();
    let cfg = Config::default();
    let as_of = g.as_of();

    let v = velocity::compute(&data, "demo-learner", as_of, &cfg);
    assert_eq!(v.header.status, Status::Ok);
    assert!(v.header.reasons.is_empty(), "{:?}", v.header.reasons);
    assert!(v.average_velocity.is_some_and(|x| x > 0.0), "{v:?}");
    assert!(v.weekly.iter().filter(|w| w.units > 0.0).count() >= 3);
    assert!(v.courses_completed >= 1);
    assert!(v.trend.is_some());
    assert!(!v.projections.is_empty());

    let s = skill_gap::compute(&data, "demo-learner", as_of, &cfg);
    assert_eq!(s.header.status, Status::Ok);
    assert!(s.skills.len() >= 3);
    assert!(s.readiness.is_some_and(|r| r > 0.0 && r <= 1.0));

    let e = engagement::compute(&data, "demo-learner", as_of, &cfg);
    assert_eq!(e.header.status, Status::Ok);
    assert!(e.score > 20.0, "{e:?}");
    assert!(e.last_activity_at.is_some());
    assert!(e.components.frequency.active_days >= 3);
    assert!(e.components.time_on_task.hours > 0.5);
}

// ---------------------------------------------------------------------------------------------
// sizes and coverage
// ---------------------------------------------------------------------------------------------

fn check_counts(s: &Summary, orgs: usize, learners: usize, trainers: (usize, usize)) {
    assert_eq!(s.organizations, orgs);
    assert_eq!(s.learners, learners);
    assert!(
        (trainers.0..=trainers.1).contains(&s.trainers),
        "{}",
        s.trainers
    );
    let per_learner = s.events as f64 / learners as f64;
    assert!((150.0..=240.0).contains(&per_learner), "{per_learner}");
    let enrollments = s.enrollments as f64 / learners as f64;
    assert!((2.0..=5.0).contains(&enrollments), "{enrollments}");
    assert!(s.attempts > s.enrollments && s.feedback > 0 && s.user_skills > s.users);
}

#[test]
fn demo_small_and_medium_have_their_sizes() {
    let demo = Generator::new(Size::Demo, 1).summary();
    check_counts(&demo, 2, 50, (5, 5));
    assert!((8..=20).contains(&demo.courses), "{}", demo.courses);
    let small = Generator::new(Size::Small, 1).summary();
    check_counts(&small, 3, 1_000, (20, 30));
    let medium = Generator::new(Size::Medium, 1).summary();
    check_counts(&medium, 5, 10_000, (140, 160));
}

#[test]
fn large_has_100k_learners_and_about_20m_events_without_materialising_them() {
    let g = Generator::new(Size::Large, DEFAULT_SEED);
    let s = g.summary();
    check_counts(&s, 8, 100_000, (950, 1_050));
    assert!(
        (17_000_000..=23_000_000).contains(&s.events),
        "{}",
        s.events
    );
    // A sample of users: the lazily generated events agree with the exact counts, are ordered,
    // and extrapolate to the total.
    let ids: Vec<String> = g.user_ids().step_by(211).map(str::to_owned).collect();
    let mut sampled = 0u64;
    for id in &ids {
        let events: Vec<_> = g.events_of(id).collect();
        assert_eq!(events.len() as u64, g.event_count(id));
        assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        assert!(events.iter().all(|e| e.timestamp <= g.as_of()));
        sampled += events.len() as u64;
    }
    let estimate = sampled as f64 * s.users as f64 / ids.len() as f64;
    assert!((15e6..=25e6).contains(&estimate), "{estimate}");
    let demo_org = g.org_entities(DEMO_ORG);
    assert!(demo_org.users.len() > 25_000);
    assert!(demo_org.users.iter().any(|u| u.id == "demo-learner"));
}

#[test]
fn every_value_of_every_enumeration_occurs() {
    let g = Generator::new(Size::Small, 42);
    let data = g.dataset();
    let verbs: HashSet<Verb> = data.events.iter().map(|e| e.verb).collect();
    assert_eq!(verbs.len(), 8, "{verbs:?}");
    let types: HashSet<ContentType> = data.content_items.iter().map(|i| i.content_type).collect();
    assert_eq!(types.len(), 4);
    let statuses: HashSet<EnrollmentStatus> = data.enrollments.iter().map(|e| e.status).collect();
    assert_eq!(statuses.len(), 5);
    let assigned: HashSet<AssignedBy> = data.enrollments.iter().map(|e| e.assigned_by).collect();
    assert_eq!(assigned.len(), 3);
    let kinds: HashSet<AssessmentKind> = data.assessments.iter().map(|a| a.kind).collect();
    assert_eq!(kinds.len(), 4);
    let sources: HashSet<SkillSource> = data.user_skills.iter().map(|s| s.source).collect();
    assert_eq!(sources.len(), 3);
    let user_statuses: HashSet<UserStatus> = data.users.iter().map(|u| u.status).collect();
    assert_eq!(user_statuses.len(), 2);
    assert!(data.events.iter().any(|e| e.duration_sec.is_some()));
    assert!(data.events.iter().any(|e| e.duration_sec.is_none()));
    assert!(data.courses.iter().any(|c| c.is_mandatory));
    assert!(data.courses.iter().any(|c| c.org_id.is_none()));
    assert!(data.attempts.iter().any(|a| a.attempt_no >= 2), "retakes");
    assert!(data.users.iter().any(|u| u.job_role_id.is_none()));
    // Young and matured enrollments, learners without any activity.
    let as_of = g.as_of();
    let young = data
        .enrollments
        .iter()
        .filter(|e| e.enrolled_at > as_of - TimeDelta::days(7))
        .count();
    let old = data
        .enrollments
        .iter()
        .filter(|e| e.enrolled_at < as_of - TimeDelta::days(90))
        .count();
    assert!(young >= 10 && old >= 500, "{young} {old}");
    let silent = data
        .users
        .iter()
        .filter(|u| u.roles.iter().any(|r| r == "learner"))
        .filter(|u| g.event_count(&u.id) == 0)
        .count();
    assert!(silent >= 10, "{silent}");
    // Mandatory courses with due dates both passed and still ahead.
    let dues: Vec<DateTime<Utc>> = data.enrollments.iter().filter_map(|e| e.due_at).collect();
    assert!(dues.iter().any(|d| *d < as_of) && dues.iter().any(|d| *d > as_of));
}

#[test]
fn every_organisation_has_groups_below_and_above_k() {
    for size in [Size::Demo, Size::Small] {
        let data = Generator::new(size, 9).dataset();
        let mut goal_sets = BTreeSet::new();
        for org in &data.organizations {
            let mut departments: HashMap<&str, usize> = HashMap::new();
            let mut roles: HashMap<&str, usize> = HashMap::new();
            for u in data.users.iter().filter(|u| u.org_id == org.id) {
                if let Some(d) = &u.department {
                    *departments.entry(d.as_str()).or_default() += 1;
                }
                if let Some(r) = &u.job_role_id {
                    *roles.entry(r.as_str()).or_default() += 1;
                }
            }
            assert!(departments.values().any(|&n| n < 5), "{departments:?}");
            assert!(departments.values().any(|&n| n >= 5), "{departments:?}");
            assert!(roles.values().any(|&n| n < 5));
            assert!(roles.values().any(|&n| n >= 5));
            let goals: Vec<&str> = org
                .strategic_goals
                .iter()
                .map(|g| g.skill_id.as_str())
                .collect();
            goal_sets.insert(goals);
        }
        assert_eq!(goal_sets.len(), data.organizations.len(), "goals differ");
    }
}

// ---------------------------------------------------------------------------------------------
// latent structure
// ---------------------------------------------------------------------------------------------

/// The latent structure of a `small` world, measured on its public data.
struct Structure {
    ability_vs_first_score: f64,
    motivation_vs_active_days: f64,
    events_dropped: f64,
    events_completed: f64,
    mean_pre: f64,
    mean_post: f64,
    hake_gain: f64,
    difficulty_vs_p_correct: f64,
    effectiveness_vs_gain: f64,
    self_minus_assessed: f64,
}

fn measure(seed: u64) -> Structure {
    let g = Generator::new(Size::Small, seed);
    let w = &g.world;
    let data = g.dataset();
    let idx = data.index();

    // Ability against the mean first-attempt score (score/maxScore).
    let max_of: HashMap<&str, f64> = data
        .assessments
        .iter()
        .map(|a| (a.id.as_str(), a.max_score))
        .collect();
    let (mut ability, mut first_score) = (Vec::new(), Vec::new());
    let (mut motivation, mut active_days) = (Vec::new(), Vec::new());
    for u in w.users.iter().filter(|u| u.roles & LEARNER != 0) {
        let scores: Vec<f64> = idx
            .attempts_of(&u.id)
            .iter()
            .filter(|t| t.attempt_no == 1)
            .map(|t| t.score / max_of[t.assessment_id.as_str()])
            .collect();
        if !scores.is_empty() {
            ability.push(f64::from(u.ability));
            first_score.push(mean(&scores));
        }
        let days: HashSet<i64> = idx
            .events_of(&u.id)
            .iter()
            .map(|e| e.timestamp.timestamp().div_euclid(86_400))
            .collect();
        motivation.push(f64::from(u.motivation));
        active_days.push(days.len() as f64);
    }

    // Course activity of dropped and completed enrollments.
    let mut per_enrollment: HashMap<(&str, &str), usize> = HashMap::new();
    for e in &data.events {
        if let Some(c) = &e.course_id {
            *per_enrollment.entry((&*e.user_id, &**c)).or_default() += 1;
        }
    }
    let activity = |status: EnrollmentStatus| {
        let xs: Vec<f64> = data
            .enrollments
            .iter()
            .filter(|e| e.status == status)
            .map(|e| {
                per_enrollment
                    .get(&(e.user_id.as_str(), e.course_id.as_str()))
                    .copied()
                    .unwrap_or(0) as f64
            })
            .collect();
        mean(&xs)
    };

    // Pre/post pairs, overall and per trainer.
    let mut pre = Vec::new();
    let mut post = Vec::new();
    let mut by_trainer: HashMap<&str, Vec<(f64, f64)>> = HashMap::new();
    for c in &data.courses {
        let pairs = pre_post_pairs(&data, &c.id);
        for &(a, b) in &pairs {
            pre.push(a);
            post.push(b);
        }
        by_trainer
            .entry(c.trainer_id.as_str())
            .or_default()
            .extend(pairs);
    }
    let (mean_pre, mean_post) = (mean(&pre), mean(&post));
    let (mut eff, mut gains) = (Vec::new(), Vec::new());
    for (trainer, pairs) in &by_trainer {
        if pairs.len() >= 10 {
            let p = mean(&pairs.iter().map(|x| x.0).collect::<Vec<_>>());
            let q = mean(&pairs.iter().map(|x| x.1).collect::<Vec<_>>());
            let t = &w.users[w.user_index[*trainer] as usize];
            assert!(t.roles & TRAINER != 0);
            eff.push(f64::from(t.effectiveness));
            gains.push((q - p) / (100.0 - p));
        }
    }

    // Question difficulty against the proportion answering correctly (first attempts).
    let mut per_question: HashMap<&str, (f64, f64)> = HashMap::new();
    for t in data.attempts.iter().filter(|t| t.attempt_no == 1) {
        for r in &t.responses {
            let e = per_question.entry(r.item_id.as_str()).or_default();
            e.0 += f64::from(u8::from(r.correct));
            e.1 += 1.0;
        }
    }
    let (mut b, mut p) = (Vec::new(), Vec::new());
    for (a_idx, a) in w.assessments.iter().enumerate() {
        for (k, q) in a.questions.clone().enumerate() {
            let id = format!("as-{a_idx:05}-q{:02}", k + 1);
            let question = &w.questions[q as usize];
            if let Some((correct, n)) = per_question.get(id.as_str())
                && *n >= 30.0
                && question.a > 0.5
            {
                b.push(question.b);
                p.push(correct / n);
            }
        }
    }

    // Self-reported levels against assessed ones, relative to the true level.
    let (mut self_err, mut assessed_err) = (Vec::new(), Vec::new());
    let initial_until = w.window_start + 30 * super::world::DAY;
    for s in w.user_skills.iter().filter(|s| s.at <= initial_until) {
        let err = s.level - w.true_level(s.user, s.skill);
        match s.source {
            SkillSource::SelfReported => self_err.push(err),
            SkillSource::Assessed => assessed_err.push(err),
            SkillSource::Inferred => {}
        }
    }

    Structure {
        ability_vs_first_score: pearson(&ability, &first_score),
        motivation_vs_active_days: pearson(&motivation, &active_days),
        events_dropped: activity(EnrollmentStatus::Dropped),
        events_completed: activity(EnrollmentStatus::Completed),
        mean_pre,
        mean_post,
        hake_gain: (mean_post - mean_pre) / (100.0 - mean_pre),
        difficulty_vs_p_correct: pearson(&b, &p),
        effectiveness_vs_gain: pearson(&eff, &gains),
        self_minus_assessed: mean(&self_err) - mean(&assessed_err),
    }
}

#[test]
fn the_latent_structure_is_visible_in_the_data() {
    for seed in [42, 7] {
        let s = measure(seed);
        eprintln!(
            "seed {seed}: corr(ability, first-attempt score) = {:.3}, corr(motivation, active days) = {:.3}, \
             events per dropped/completed enrollment = {:.1}/{:.1}, pre/post = {:.1}/{:.1} (Hake g = {:.3}), \
             corr(difficulty, p correct) = {:.3}, corr(trainer effectiveness, gain) = {:.3}, self − assessed = {:.2}",
            s.ability_vs_first_score,
            s.motivation_vs_active_days,
            s.events_dropped,
            s.events_completed,
            s.mean_pre,
            s.mean_post,
            s.hake_gain,
            s.difficulty_vs_p_correct,
            s.effectiveness_vs_gain,
            s.self_minus_assessed,
        );
        assert!(s.ability_vs_first_score > 0.3);
        assert!(s.motivation_vs_active_days > 0.3);
        assert!(s.events_dropped < s.events_completed);
        assert!(s.mean_post > s.mean_pre + 5.0);
        assert!((0.1..0.7).contains(&s.hake_gain));
        assert!(s.difficulty_vs_p_correct < -0.5);
        assert!(s.effectiveness_vs_gain > 0.3);
        assert!(s.self_minus_assessed > 0.3);
    }
}

#[test]
fn the_other_existing_analytics_find_signal_too() {
    use learnlens_analytics::comparison::skill_demand::{self, DemandScope, SkillDemandRow};
    use learnlens_analytics::predictive::{drop_off, features, forecast};

    let g = Generator::new(Size::Small, DEFAULT_SEED);
    let data = g.dataset();
    let cfg = Config::default();
    let as_of = g.as_of();

    // skillDemand: demand in every organisation, and globally across them.
    for scope in [
        DemandScope::Global,
        DemandScope::Org {
            org_id: DEMO_ORG.to_owned(),
        },
    ] {
        let d = skill_demand::compute(&data, &scope, as_of, &cfg);
        assert_eq!(d.header.status, Status::Ok, "{:?}", d.header);
        assert!(
            d.skills
                .iter()
                .any(|s| matches!(s, SkillDemandRow::Released(e) if e.demand_index > 0.0))
        );
    }

    // performanceForecast on the demo learner's first attempts.
    let f = forecast::compute(&data, "demo-learner", as_of, &cfg);
    assert_eq!(f.header.status, Status::Ok);
    assert!(f.forecasts.is_some_and(|p| !p.is_empty()));

    // dropOffRisk: a model trained on the organisation's history separates drop-outs from the
    // rest out of sample (user-grouped cross-validation).
    let examples = features::training_set(&data, as_of, &features::snapshot_days(&cfg), &cfg);
    let evaluation = drop_off::evaluate(&examples, 5, &cfg.drop_off).expect("evaluates");
    eprintln!(
        "drop-off model on small: n = {}, positives = {}, AUC = {:?}, Brier = {:?}",
        evaluation.n, evaluation.n_positive, evaluation.auc, evaluation.brier
    );
    assert!(evaluation.auc.is_some_and(|auc| auc > 0.65));
    let model = drop_off::train(&data, as_of, &cfg).expect("trains");
    let risk = drop_off::compute(&data, "demo-learner", as_of, Some(&model), &cfg);
    assert_eq!(risk.header.status, Status::Ok);
    assert!(!risk.enrollments.is_empty());
}
