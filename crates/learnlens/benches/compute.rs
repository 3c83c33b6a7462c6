//! The computation of a cold read: all 19 analytics for one learner with at least 1,000 events
//! (its six learner analytics, peer comparison and the three predictive ones on the learner,
//! the four trainer analytics on the trainer of one of its courses, the four organisation
//! analytics and skillDemand on its organisation and globally), over a data set holding that
//! learner, its courses and their trainer. The index is built inside each iteration (a cold
//! compute builds it too), and each subject's analytics share one memo, as a cold read's do;
//! the drop-off model is trained once beforehand, as the batch does. The learner comes from
//! synthetic `large`, the smallest set with a learner of 1,000 events.
//! Floor: building the index alone. Runs with the binary's allocator (`support`), as the
//! service computes. Before Criterion's runs it prints each analytic's mean time over 300
//! loops, which says what limits the whole.
//!
//! Run: `cargo bench -p learnlens --bench compute`. Results go to bench/RESULTS.md by hand.

mod support;

use std::collections::HashSet;

use criterion::{Criterion, criterion_group, criterion_main};
use learnlens::demo::synthetic::{Generator, Size};
use learnlens_analytics::kind::{self, AnalyticsKind, GLOBAL_SUBJECT, Models, SubjectKind};
use learnlens_analytics::memo::CohortMemo;
use learnlens_analytics::predictive::{drop_off, features};
use learnlens_analytics::{Config, Dataset, DatasetIndex};

/// The learner of synthetic `large` with the fewest events at or above 1,000 (`small` peaks at
/// 814 events for one user, `medium` at 961), with everything its analytics read.
fn one_learner() -> (Generator, Dataset, String, String, String) {
    let generator = Generator::new(Size::Large, 42);
    let everyone = generator.entities();
    let chosen = everyone
        .users
        .iter()
        .filter(|u| u.roles.iter().any(|r| r == "learner"))
        .filter(|u| generator.event_count(&u.id) >= 1000)
        .min_by_key(|u| generator.event_count(&u.id))
        .expect("a learner with at least 1,000 events");
    let (learner, org) = (chosen.id.clone(), chosen.org_id.clone());
    drop(everyone);
    let (data, trainer) = around(&generator, &learner, &org);
    (generator, data, learner, trainer, org)
}

/// The data set of `learner`'s analytics: the learner, its courses and their trainer.
fn around(generator: &Generator, learner: &str, org: &str) -> (Dataset, String) {
    let entities = generator.org_entities(org);
    let courses: HashSet<String> = entities
        .enrollments
        .iter()
        .filter(|e| e.user_id == learner)
        .map(|e| e.course_id.clone())
        .collect();
    let trainer = entities
        .courses
        .iter()
        .find(|c| courses.contains(&c.id))
        .map(|c| c.trainer_id.clone())
        .expect("a course with a trainer");
    let keep_user = |u: &str| u == learner || u == trainer;
    let data = Dataset {
        organizations: entities.organizations.clone(),
        job_roles: entities.job_roles.clone(),
        users: entities
            .users
            .iter()
            .filter(|u| keep_user(&u.id))
            .cloned()
            .collect(),
        skills: entities.skills.clone(),
        user_skills: entities
            .user_skills
            .iter()
            .filter(|s| keep_user(&s.user_id))
            .cloned()
            .collect(),
        courses: entities
            .courses
            .iter()
            .filter(|c| courses.contains(&c.id))
            .cloned()
            .collect(),
        content_items: entities
            .content_items
            .iter()
            .filter(|i| courses.contains(&i.course_id))
            .cloned()
            .collect(),
        enrollments: entities
            .enrollments
            .iter()
            .filter(|e| e.user_id == learner)
            .cloned()
            .collect(),
        feedback: entities
            .feedback
            .iter()
            .filter(|f| f.user_id == learner)
            .cloned()
            .collect(),
        assessments: entities
            .assessments
            .iter()
            .filter(|a| courses.contains(&a.course_id))
            .cloned()
            .collect(),
        attempts: entities
            .attempts
            .iter()
            .filter(|a| a.user_id == learner)
            .cloned()
            .collect(),
        events: generator.events_of(learner).collect(),
    };
    (data, trainer)
}

fn cold_compute(c: &mut Criterion) {
    let (generator, data, learner, trainer, org) = one_learner();
    let cfg = Config::default();
    let as_of = Generator::new(Size::Demo, 42).as_of();
    // The organisation's model, trained once beforehand on the whole organisation.
    let org_data = generator.org_dataset(&org);
    let model = drop_off::train_on_days(
        &org_data.index(),
        as_of,
        &features::snapshot_days(&cfg),
        &cfg,
    )
    .ok();
    drop(org_data);
    eprintln!(
        "one learner ({learner}): {} events, {} enrolments, {} attempts; model: {}",
        data.events.len(),
        data.enrollments.len(),
        data.attempts.len(),
        if model.is_some() { "trained" } else { "none" }
    );
    // One group per subject, as a cold read computes them: every analytic of the subject in
    // its role through one memo (`pipeline::read`).
    let subject_of = |k: AnalyticsKind| match k.subject() {
        SubjectKind::User => learner.clone(),
        SubjectKind::Trainer => trainer.clone(),
        SubjectKind::Org | SubjectKind::OrgOrGlobal => org.clone(),
    };
    let mut work: Vec<(String, Vec<AnalyticsKind>)> = Vec::new();
    for k in AnalyticsKind::ALL {
        let subject = subject_of(k);
        match work.iter_mut().find(|(s, _)| *s == subject) {
            Some((_, kinds)) => kinds.push(k),
            None => work.push((subject, vec![k])),
        }
    }
    work.push((GLOBAL_SUBJECT.to_owned(), vec![AnalyticsKind::SkillDemand]));
    let models = Models {
        drop_off: model.as_ref(),
    };
    breakdown(&data, &work, as_of, &cfg, models);
    let mut group = c.benchmark_group("cold_compute");
    group.bench_function("floor_index_only", |b| {
        b.iter(|| DatasetIndex::new(std::hint::black_box(&data)))
    });
    group.bench_function("all_19_analytics", |b| {
        b.iter(|| {
            let idx = DatasetIndex::new(&data);
            for (subject, kinds) in &work {
                let memo = CohortMemo::new();
                for k in kinds {
                    let payload =
                        kind::compute_shared(*k, &idx, subject, as_of, &cfg, models, &memo)
                            .expect("payload");
                    std::hint::black_box(payload);
                }
            }
        })
    });
    group.finish();
}

/// Prints each analytic's mean time over `LOOPS` runs of `all_19_analytics`'s work (each
/// subject's analytics through one memo, in the benchmark's order), to say what limits it.
fn breakdown(
    data: &Dataset,
    work: &[(String, Vec<AnalyticsKind>)],
    as_of: chrono::DateTime<chrono::Utc>,
    cfg: &Config,
    models: Models<'_>,
) {
    const LOOPS: u32 = 300;
    // One slot per (subject, analytic), in the order the loop visits them.
    let mut spent: Vec<(String, std::time::Duration)> = work
        .iter()
        .flat_map(|(subject, kinds)| {
            kinds
                .iter()
                .map(move |k| (format!("{} ({subject})", k.name()), Default::default()))
        })
        .collect();
    for _ in 0..LOOPS {
        let idx = DatasetIndex::new(data);
        let mut slots = spent.iter_mut();
        for (subject, kinds) in work {
            let memo = CohortMemo::new();
            for (k, (_, total)) in kinds.iter().zip(slots.by_ref()) {
                let started = std::time::Instant::now();
                let payload = kind::compute_shared(*k, &idx, subject, as_of, cfg, models, &memo)
                    .expect("payload");
                std::hint::black_box(payload);
                *total += started.elapsed();
            }
        }
    }
    spent.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    println!("mean time per analytic over {LOOPS} loops:");
    for (name, d) in spent {
        println!(
            "  {:>8.1} µs  {name}",
            d.as_secs_f64() * 1e6 / f64::from(LOOPS)
        );
    }
}

criterion_group!(benches, cold_compute);
criterion_main!(benches);
