//! The computation of a cold read: all 19 analytics for one learner with about 1,000 events
//! (its six learner analytics, peer comparison and the three predictive ones on the learner,
//! the four trainer analytics on the trainer of one of its courses, the four organisation
//! analytics and skillDemand on its organisation and globally), over a data set holding that
//! learner, its courses and their trainer. The index is built inside each iteration (a cold
//! compute builds it too); the drop-off model is trained once beforehand, as the batch does.
//! Floor: building the index alone.
//!
//! Run: `cargo bench -p learnlens --bench compute`. Results go to bench/RESULTS.md by hand.

use std::collections::HashSet;

use criterion::{Criterion, criterion_group, criterion_main};
use learnlens::demo::synthetic::{Generator, Size};
use learnlens_analytics::kind::{self, AnalyticsKind, GLOBAL_SUBJECT, Models, SubjectKind};
use learnlens_analytics::predictive::{drop_off, features};
use learnlens_analytics::{Config, Dataset, DatasetIndex};

/// The learner of `small` whose event count is closest to 1,000, with everything its
/// analytics read.
fn one_learner() -> (Dataset, String, String, String) {
    let generator = Generator::new(Size::Small, 42);
    let org = generator
        .org_ids()
        .next()
        .expect("an organisation")
        .to_owned();
    let entities = generator.org_entities(&org);
    let learner = entities
        .users
        .iter()
        .filter(|u| u.roles.iter().any(|r| r == "learner"))
        .min_by_key(|u| generator.event_count(&u.id).abs_diff(1000))
        .expect("a learner")
        .id
        .clone();
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
        events: generator.events_of(&learner).collect(),
    };
    (data, learner, trainer, org)
}

fn cold_compute(c: &mut Criterion) {
    let (data, learner, trainer, org) = one_learner();
    let cfg = Config::default();
    let as_of = Generator::new(Size::Demo, 42).as_of();
    // The organisation's model, trained once beforehand on the whole organisation.
    let generator = Generator::new(Size::Small, 42);
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
    let work: Vec<(AnalyticsKind, String)> = AnalyticsKind::ALL
        .into_iter()
        .flat_map(|k| match k.subject() {
            SubjectKind::User => vec![(k, learner.clone())],
            SubjectKind::Trainer => vec![(k, trainer.clone())],
            SubjectKind::Org => vec![(k, org.clone())],
            SubjectKind::OrgOrGlobal => {
                vec![(k, org.clone()), (k, GLOBAL_SUBJECT.to_owned())]
            }
        })
        .collect();
    let models = Models {
        drop_off: model.as_ref(),
    };
    let mut group = c.benchmark_group("cold_compute");
    group.bench_function("floor_index_only", |b| {
        b.iter(|| DatasetIndex::new(std::hint::black_box(&data)))
    });
    group.bench_function("all_19_analytics", |b| {
        b.iter(|| {
            let idx = DatasetIndex::new(&data);
            for (k, subject) in &work {
                let payload =
                    kind::compute(*k, &idx, subject, as_of, &cfg, models).expect("payload");
                std::hint::black_box(payload);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, cold_compute);
criterion_main!(benches);
