//! The pipeline end to end over the in-process demo sources (real HTTP): an organisation read
//! through the clients equals the generator's data set; the nightly batch fans out and stores
//! every analytic of every subject; manual refresh through the API (validation, policy,
//! duplicates, rate limit, job status and cancel); fallback provenance when a source is down.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use learnlens::clock::Clock as _;
use learnlens::demo::synthetic::{DEFAULT_SEED, Generator, Size};
use learnlens::demo::{DEMO_ORG, server};
use learnlens::pipeline::batch::{BATCH_KIND, ORG_KIND};
use learnlens::pipeline::chunks::{CHUNK_KIND, FINAL_KIND};
use learnlens::pipeline::{self, Selection};
use learnlens::sources::{Provenance, Service};
use learnlens::store::{JobStatus, NewJob};
use learnlens_analytics::kind::{self, AnalyticsKind};
use serde_json::{Value, json};

use crate::fault_proxy::{FaultProxy, Mode};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

/// Sorted JSON of each entity list, so two data sets compare regardless of order.
fn canonical(d: &learnlens_analytics::Dataset) -> BTreeMap<&'static str, Vec<String>> {
    fn sorted<T: serde::Serialize>(items: &[T]) -> Vec<String> {
        let mut v: Vec<String> = items
            .iter()
            .map(|i| serde_json::to_string(i).expect("json"))
            .collect();
        v.sort();
        v
    }
    BTreeMap::from([
        ("organizations", sorted(&d.organizations)),
        ("job_roles", sorted(&d.job_roles)),
        ("users", sorted(&d.users)),
        ("skills", sorted(&d.skills)),
        ("user_skills", sorted(&d.user_skills)),
        ("courses", sorted(&d.courses)),
        ("content_items", sorted(&d.content_items)),
        ("enrollments", sorted(&d.enrollments)),
        ("feedback", sorted(&d.feedback)),
        ("assessments", sorted(&d.assessments)),
        ("attempts", sorted(&d.attempts)),
        ("events", sorted(&d.events)),
    ])
}

async fn an_organisation_read_through_the_clients_is_the_generators_data_set(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let as_of = Generator::new(Size::Demo, DEFAULT_SEED).as_of();
    let loaded = pipeline::load_org(&app.state.sources, DEMO_ORG, as_of, pipeline::Reader::Batch)
        .await
        .expect("load");
    let expected = Generator::new(Size::Demo, DEFAULT_SEED).org_dataset(DEMO_ORG);
    let got = canonical(&loaded.dataset);
    let want = canonical(&expected);
    for (entity, items) in &want {
        assert!(!items.is_empty(), "the demo org has {entity}");
        assert_eq!(got[entity].len(), items.len(), "{entity} count");
        assert_eq!(&got[entity], items, "{entity}");
    }
    assert!(!loaded.quality.degraded());
    assert_eq!(
        loaded.quality.to_json()["sources"],
        json!({"directory": "live", "skills": "live", "courses": "live",
               "assessments": "live", "activity": "live"})
    );
    assert_eq!(loaded.statements as usize, expected.events.len());
    // The batch does not copy the LRS into the store; JSON answers are kept as snapshots.
    let store = &app.state.store;
    let key = "statements?agent=demo-learner";
    assert!(
        store
            .get_snapshot("activity", key)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        store
            .get_snapshot("directory", "users?orgId=demo-org")
            .await
            .expect("get")
            .is_some()
    );
}
on_both_backends!(an_organisation_read_through_the_clients_is_the_generators_data_set);

async fn the_nightly_batch_stores_every_analytic_of_every_subject(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let now = app.clock.now();
    let batch = app
        .state
        .jobs
        .enqueue(&NewJob {
            kind: BATCH_KIND.into(),
            payload: json!({}),
            owner_id: None,
            parent_id: None,
            singleton_key: Some("batch:test".into()),
            max_attempts: 1,
            run_at: now,
        })
        .await
        .expect("enqueue");
    let done = app.finished_job(&batch.id, Duration::from_secs(120)).await;
    assert_eq!(done.status, JobStatus::Completed, "{:?}", done.error);
    assert_eq!(done.progress, 100);
    let children = app
        .state
        .store
        .child_jobs(&batch.id)
        .await
        .expect("children");
    let generator = Generator::new(Size::Demo, DEFAULT_SEED);
    let orgs: Vec<&str> = generator.org_ids().collect();
    assert_eq!(children.len(), orgs.len(), "one child per organisation");
    assert!(
        children
            .iter()
            .all(|c| c.kind == ORG_KIND && c.status == JobStatus::Completed)
    );

    // Every kind for every subject of every organisation, plus the global skillDemand.
    let mut expected = 1;
    for org in &orgs {
        let data = generator.org_entities(org);
        for k in AnalyticsKind::ALL {
            let subjects = kind::subjects(&data, k);
            for subject in subjects.iter().filter(|s| *s != "global") {
                let role = pipeline::stored_role(k, subject);
                let row = app
                    .state
                    .store
                    .get_analytics(subject, role, k.name())
                    .await
                    .expect("get")
                    .unwrap_or_else(|| panic!("{} of {subject} stored", k.name()));
                assert!(row.data["status"].is_string());
                assert_eq!(row.data_quality["degraded"], json!(false));
                assert_eq!(row.calculated_at, now);
                assert_eq!(row.expires_at, now + pipeline::FRESH_FOR);
                expected += 1;
            }
        }
    }
    let global = app
        .state
        .store
        .get_analytics("global", "any", "skillDemand")
        .await
        .expect("get")
        .expect("global skillDemand stored");
    assert_eq!(global.data["scope"], json!({"kind": "global"}));
    assert!(
        expected > 19 * 10,
        "the demo world has many subjects: {expected}"
    );
}
on_both_backends!(the_nightly_batch_stores_every_analytic_of_every_subject);

async fn an_organisation_is_written_in_chunks_while_it_is_computed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let data = Generator::new(Size::Demo, DEFAULT_SEED).org_entities(DEMO_ORG);
    let mut expected: Vec<(String, String, String)> = AnalyticsKind::ALL
        .into_iter()
        .flat_map(|k| {
            kind::subjects(&data, k)
                .into_iter()
                .filter(|s| s != "global")
                .map(move |s| {
                    let role = pipeline::stored_role(k, &s).to_owned();
                    (s, role, k.name().to_owned())
                })
        })
        .collect();
    // Several chunks, the last one partial.
    let chunk = (5..)
        .find(|c| !expected.len().is_multiple_of(*c))
        .expect("a size");
    assert!(expected.len() > chunk * 3, "{} results", expected.len());
    let mut p = app.state.pipeline.clone();
    p.write_chunk = chunk;
    let now = app.clock.now();
    // The batch benchmark's floor (`learnlens batch --fetch-only`) reads what the batch reads
    // and writes nothing.
    let fetched = p.fetch_org(DEMO_ORG, now).await.expect("fetch");
    assert_eq!(fetched.results, 0);
    assert!(
        fetched.learners > 0 && fetched.statements > 0,
        "{fetched:?}"
    );
    let store = &app.state.store;
    assert!(store.analytics_keys(None).await.expect("keys").is_empty());
    let models = store.model_versions(pipeline::DROP_OFF_MODEL, DEMO_ORG);
    assert!(models.await.expect("models").is_empty());
    let run = p
        .run_org(
            DEMO_ORG,
            Selection::default(),
            now,
            pipeline::Reader::Batch,
            None,
        )
        .await
        .expect("run");
    assert_eq!(run.results as usize, expected.len());
    assert_eq!(
        (run.learners, run.statements),
        (fetched.learners, fetched.statements)
    );
    let mut stored = store.analytics_keys(None).await.expect("keys");
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected, "every result of every chunk");
}
on_both_backends!(an_organisation_is_written_in_chunks_while_it_is_computed);

/// Every stored result by (subject, role, analytics type), with the `modelVersion` of every
/// dropOffRisk score blanked (each run stores its own model version).
async fn stored_results(
    store: &learnlens::store::Store,
) -> BTreeMap<(String, String, String), Value> {
    let mut out = BTreeMap::new();
    for (subject, role, kind) in store.analytics_keys(None).await.expect("keys") {
        let row = store
            .get_analytics(&subject, &role, &kind)
            .await
            .expect("get")
            .expect("stored");
        let mut data = row.data;
        if let Some(scores) = data["enrollments"].as_array_mut() {
            for score in scores {
                if score.get("modelVersion").is_some() {
                    score["modelVersion"] = Value::Null;
                }
            }
        }
        out.insert((subject, role, kind), data);
    }
    out
}

async fn an_organisation_computed_in_chunks_stores_the_results_of_one_piece(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = app.clock.now();
    let mut p = app.state.pipeline.clone();
    let run = |p: pipeline::batch::Pipeline| async move {
        p.run_org(
            DEMO_ORG,
            Selection::default(),
            now,
            pipeline::Reader::Batch,
            None,
        )
        .await
        .expect("run")
    };
    p.chunk_users = 0;
    let whole = run(p.clone()).await;
    let one_piece = stored_results(store).await;
    assert_eq!(one_piece.len() as u64, whole.results);

    store.delete_analytics(None).await.expect("cleared");
    let users = Generator::new(Size::Demo, DEFAULT_SEED)
        .org_entities(DEMO_ORG)
        .users
        .len();
    p.chunk_users = 7;
    assert!(
        users > 3 * p.chunk_users,
        "{users} users make several chunks"
    );
    let chunked = run(p).await;
    assert_eq!(
        (chunked.learners, chunked.statements, chunked.results),
        (whole.learners, whole.statements, whole.results)
    );
    let in_chunks = stored_results(store).await;
    assert_eq!(
        in_chunks.keys().collect::<Vec<_>>(),
        one_piece.keys().collect::<Vec<_>>()
    );
    for (key, data) in &one_piece {
        assert_eq!(in_chunks.get(key), Some(data), "{key:?}");
    }
    // Each run trained and stored a model; the chunked one trained it from the digests.
    let versions = store.model_versions(pipeline::DROP_OFF_MODEL, DEMO_ORG);
    assert_eq!(versions.await.expect("versions").len(), 2);
    let scored = one_piece
        .iter()
        .filter(|((_, _, kind), _)| kind == "dropOffRisk")
        .flat_map(|(_, data)| data["enrollments"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["risk"].is_f64())
        .count();
    assert!(scored > 0, "some enrollments are scored");
}
on_both_backends!(an_organisation_computed_in_chunks_stores_the_results_of_one_piece);

async fn the_nightly_batch_computes_large_organisations_by_chunk_jobs_on_every_worker(
    backend: Backend,
) {
    const CHUNK: usize = 7;
    let Some(app) = TestApp::spawn_with(
        backend,
        Box::new(|c| {
            c.jobs.batch_chunk_users = CHUNK;
            c.jobs.workers = 2;
        }),
    )
    .await
    else {
        return;
    };
    // A second process's workers take jobs of the same queue.
    let replica = app.replica().await;
    let store = &app.state.store;
    // An operator's batch (`learnlens jobs batch --as-of`) for another instant than now.
    let as_of = app.clock.now() - chrono::TimeDelta::days(1);
    let batch = app
        .state
        .jobs
        .enqueue(&NewJob {
            kind: BATCH_KIND.into(),
            payload: json!({ "asOf": as_of }),
            owner_id: None,
            parent_id: None,
            singleton_key: Some("batch:chunks".into()),
            max_attempts: 1,
            run_at: app.clock.now(),
        })
        .await
        .expect("enqueue");
    let done = app.finished_job(&batch.id, Duration::from_secs(180)).await;
    assert_eq!(done.status, JobStatus::Completed, "{:?}", done.error);
    assert_eq!(done.progress, 100);

    // One organisation job per organisation; a chunk job per chunk and one final job per
    // organisation with more than CHUNK users, all children of the batch.
    let generator = Generator::new(Size::Demo, DEFAULT_SEED);
    let mut want = BTreeMap::new();
    for org in generator.org_ids() {
        let users = generator.org_entities(org).users.len();
        *want.entry(ORG_KIND).or_insert(0) += 1;
        if users > CHUNK {
            *want.entry(CHUNK_KIND).or_insert(0) += users.div_ceil(CHUNK);
            *want.entry(FINAL_KIND).or_insert(0) += 1;
        }
    }
    assert!(want.get(FINAL_KIND).is_some_and(|n| *n > 0), "{want:?}");
    let children = store.child_jobs(&batch.id).await.expect("children");
    let mut kinds = BTreeMap::new();
    for child in &children {
        assert_eq!(child.status, JobStatus::Completed, "{child:?}");
        *kinds.entry(child.kind.as_str()).or_insert(0) += 1;
    }
    assert_eq!(kinds, want);
    // Every run's records and digests were deleted by its final job.
    for org_job in children.iter().filter(|c| c.kind == ORG_KIND) {
        assert_eq!(store.chunked_run(&org_job.id).await.expect("run"), None);
        assert!(
            store
                .done_chunks(&org_job.id)
                .await
                .expect("done")
                .is_empty()
        );
    }
    let by_jobs = stored_results(store).await;
    let learner = (
        "demo-learner".to_owned(),
        "learner".to_owned(),
        "engagementScore".to_owned(),
    );
    assert_eq!(
        by_jobs[&learner]["asOf"],
        json!(as_of),
        "the payload's asOf"
    );

    // The same organisations in one piece each give the same results.
    store.delete_analytics(None).await.expect("cleared");
    let mut p = app.state.pipeline.clone();
    p.chunk_users = 0;
    for org in generator.org_ids() {
        p.run_org(
            org,
            Selection::default(),
            as_of,
            pipeline::Reader::Batch,
            None,
        )
        .await
        .expect("run");
    }
    p.run_global(as_of).await.expect("global");
    let one_piece = stored_results(store).await;
    assert_eq!(
        by_jobs.keys().collect::<Vec<_>>(),
        one_piece.keys().collect::<Vec<_>>()
    );
    for (key, data) in &one_piece {
        assert_eq!(by_jobs.get(key), Some(data), "{key:?}");
    }
    drop(replica);
}
on_both_backends!(the_nightly_batch_computes_large_organisations_by_chunk_jobs_on_every_worker);

/// The `modelVersion` of every scored enrollment of a dropOffRisk result.
fn model_versions(data: &Value) -> Vec<String> {
    data["enrollments"]
        .as_array()
        .map(|es| {
            es.iter()
                .filter_map(|e| e["modelVersion"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn the_batch_trains_and_stores_the_drop_off_model_and_reads_reuse_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let p = &app.state.pipeline;
    let store = &app.state.store;
    let now = app.clock.now();
    let drop_off = || Selection {
        kinds: vec![AnalyticsKind::DropOffRisk],
        subject: None,
    };
    let read = |subject: &str| Selection {
        kinds: vec![AnalyticsKind::DropOffRisk],
        subject: Some(subject.to_owned()),
    };
    let scored = |subject: &'static str| async move {
        let row = store
            .get_analytics(subject, "learner", "dropOffRisk")
            .await
            .expect("get")
            .expect("stored");
        model_versions(&row.data)
    };
    let versions_stored = || async {
        store
            .model_versions(pipeline::DROP_OFF_MODEL, DEMO_ORG)
            .await
            .expect("versions")
    };
    // A cold read with no model stored trains one and stores it as version 1.
    p.run_org(
        DEMO_ORG,
        read("demo-learner"),
        now,
        pipeline::Reader::Interactive,
        None,
    )
    .await
    .expect("cold read");
    assert_eq!(versions_stored().await, vec![1]);
    let v1 = format!("drop-off:{DEMO_ORG}:v1");
    let versions = scored("demo-learner").await;
    assert!(
        !versions.is_empty(),
        "the demo learner has scored enrollments"
    );
    assert!(versions.iter().all(|v| *v == v1), "{versions:?}");

    // The batch trains version 2, stores it, and every score names it.
    p.run_org(DEMO_ORG, drop_off(), now, pipeline::Reader::Batch, None)
        .await
        .expect("batch");
    let v2 = format!("drop-off:{DEMO_ORG}:v2");
    let stored = store
        .latest_model(pipeline::DROP_OFF_MODEL, DEMO_ORG)
        .await
        .expect("read")
        .expect("the batch stored a model");
    assert_eq!(stored.id, v2);
    assert!(stored.metrics["n"].as_u64().expect("n") > 0);
    assert!(scored("demo-learner").await.iter().all(|v| *v == v2));

    // A refresh or cold read uses the latest stored model: nothing is trained or stored.
    p.run_org(
        DEMO_ORG,
        read("demo-learner"),
        now,
        pipeline::Reader::Interactive,
        None,
    )
    .await
    .expect("refresh");
    assert_eq!(versions_stored().await, vec![2, 1]);
    let versions = scored("demo-learner").await;
    assert!(
        !versions.is_empty() && versions.iter().all(|v| *v == v2),
        "{versions:?}"
    );
}
on_both_backends!(the_batch_trains_and_stores_the_drop_off_model_and_reads_reuse_it);

async fn refresh(app: &TestApp, token: &str, role: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/analytics/refresh"))
        .bearer_auth(token)
        .header("x-active-role", role)
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn job_request(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    id: &str,
) -> reqwest::Response {
    app.client
        .request(method, app.url(&format!("/api/v1/jobs/{id}")))
        .bearer_auth(token)
        .header("x-active-role", "learner")
        .send()
        .await
        .expect("request")
}

async fn refresh_requests_are_checked_deduplicated_and_cancellable(backend: Backend) {
    // No workers: jobs stay queued, so duplicates and cancels are deterministic.
    let Some(app) =
        TestApp::spawn_with(backend, Box::new(|c| c.jobs.serve_runs_workers = false)).await
    else {
        return;
    };
    let (learner, _) = app.login_as("learner@demo.test").await;
    let (multi, _) = app.login_as("multi@demo.test").await;

    // Bad bodies: 400 with the field named; nothing queued.
    for (body, field) in [
        (
            json!({"userId": "demo-learner", "role": "learner", "analytics": []}),
            "analytics",
        ),
        (
            json!({"userId": "demo-learner", "role": "learner", "analytics": ["course-health"]}),
            "analytics",
        ),
        (
            json!({"userId": "demo-learner", "role": "boss", "analytics": ["velocity"]}),
            "role",
        ),
        (
            json!({"userId": "no/slash", "role": "learner", "analytics": ["velocity"]}),
            "userId",
        ),
    ] {
        let r = refresh(&app, &multi, "learner", &body).await;
        assert_eq!(r.status(), 400, "{body}");
        let b: Value = r.json().await.expect("json");
        assert_eq!(b["error"], "validation_failed");
        assert!(b["validation"][field].is_array(), "{b}");
    }
    // Someone else's data, or a role other than the active one: 403.
    let r = refresh(
        &app,
        &multi,
        "learner",
        &json!({"userId": "demo-learner", "role": "learner", "analytics": ["velocity"]}),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = refresh(
        &app,
        &multi,
        "learner",
        &json!({"userId": "demo-multi", "role": "trainer", "analytics": ["course-health"]}),
    )
    .await;
    assert_eq!(r.status(), 403);

    // Two clicks, one job.
    let body = json!({"userId": "demo-learner", "role": "learner", "analytics": ["velocity", "drop-off-risk"]});
    let first: Value = refresh(&app, &learner, "learner", &body)
        .await
        .json()
        .await
        .expect("json");
    let second = refresh(&app, &learner, "learner", &body).await;
    assert_eq!(second.status(), 200);
    let second: Value = second.json().await.expect("json");
    let id = first["jobId"].as_str().expect("job id").to_owned();
    assert_eq!(second["jobId"], first["jobId"]);
    assert_ne!(second["message"], first["message"]);
    let job = app
        .state
        .store
        .get_job(&id)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(
        job.payload["analytics"],
        json!(["learnerVelocity", "dropOffRisk"])
    );
    assert_eq!(
        job.singleton_key.as_deref(),
        Some("refresh:learner:demo-learner")
    );

    // The third request of the hour is the last one allowed (3/h).
    let r = refresh(&app, &learner, "learner", &body).await;
    assert_eq!(r.status(), 200);
    let r = refresh(&app, &learner, "learner", &body).await;
    assert_eq!(r.status(), 429);
    let b: Value = r.json().await.expect("json");
    assert!(b["retryAfter"].as_u64().expect("retryAfter") > 0);

    // Status: the owner sees it; anyone else gets 404, as for a job that does not exist.
    let r = job_request(&app, reqwest::Method::GET, &learner, &id).await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["status"], "queued");
    assert_eq!(b["kind"], "refresh");
    assert_eq!(b["progress"], 0);
    let r = job_request(&app, reqwest::Method::GET, &multi, &id).await;
    assert_eq!(r.status(), 404);
    let r = job_request(&app, reqwest::Method::GET, &learner, "no-such-job").await;
    assert_eq!(r.status(), 404);
    let r = job_request(&app, reqwest::Method::GET, &learner, "bad%20id").await;
    assert_eq!(r.status(), 400);

    // Cancel: a queued job is cancelled at once; a second cancel is a conflict.
    let r = job_request(&app, reqwest::Method::DELETE, &multi, &id).await;
    assert_eq!(r.status(), 404);
    let r = job_request(&app, reqwest::Method::DELETE, &learner, &id).await;
    assert_eq!(r.status(), 200);
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["status"], "cancelled");
    let r = job_request(&app, reqwest::Method::DELETE, &learner, &id).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.expect("json")["error"], "conflict");
}
on_both_backends!(refresh_requests_are_checked_deduplicated_and_cancellable);

async fn a_refresh_job_recomputes_the_subjects_analytics(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (admin, _) = app.login_as("admin@demo.test").await;
    let r = app
        .client
        .post(app.url("/api/v1/analytics/refresh"))
        .bearer_auth(&admin)
        .header("x-active-role", "org-admin")
        .json(&json!({"userId": DEMO_ORG, "role": "org-admin",
                      "analytics": ["learning-culture", "skill-demand", "performance"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.expect("json")["jobId"]
        .as_str()
        .expect("id")
        .to_owned();
    let job = app.finished_job(&id, Duration::from_secs(60)).await;
    assert_eq!(job.status, JobStatus::Completed, "{:?}", job.error);
    for name in ["learningCulture", "skillDemand", "orgPerformance"] {
        let row = app
            .state
            .store
            .get_analytics(DEMO_ORG, "org-admin", name)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{name} stored"));
        assert_eq!(row.calculated_at, app.clock.now());
    }
    // Only what was asked for.
    assert!(
        app.state
            .store
            .get_analytics(DEMO_ORG, "org-admin", "strategicAlignment")
            .await
            .expect("get")
            .is_none()
    );
    let r = app
        .client
        .get(app.url(&format!("/api/v1/jobs/{id}")))
        .bearer_auth(&admin)
        .header("x-active-role", "org-admin")
        .send()
        .await
        .expect("request");
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["status"], "completed");
    assert_eq!(b["progress"], 100);
    assert!(b["startedAt"].is_string() && b["finishedAt"].is_string());
}
on_both_backends!(a_refresh_job_recomputes_the_subjects_analytics);

/// The sources behind a fault proxy, with no mock data: the fallback is the store's snapshots.
async fn app_behind_a_proxy(backend: Backend) -> Option<(TestApp, FaultProxy)> {
    let data = server::SourceData::synthetic(Size::Demo, DEFAULT_SEED);
    let platform =
        learnlens::sources::xapi::Platform::new("https://platform.example.com").expect("platform");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running =
        server::spawn(data, platform, server::DemoAuth::default(), listener).expect("demo sources");
    let proxy = FaultProxy::start(running.addr).await;
    let proxied = server::RunningSources {
        addr: proxy.addr,
        source: running.source.clone(),
    };
    let app = TestApp::spawn_with(
        backend,
        Box::new(move |c| {
            proxied.configure(&mut c.sources);
            c.sources.activity.platform = "https://platform.example.com".into();
            c.sources.retry.max_retries = 0;
            c.sources.deadline_ms = 1000;
            c.sources.activity.timeout_ms = 1000;
        }),
    )
    .await?;
    Some((app, proxy))
}

async fn a_source_down_gives_snapshot_provenance_and_a_short_ttl(backend: Backend) {
    let Some((app, proxy)) = app_behind_a_proxy(backend).await else {
        return;
    };
    let sources = &app.state.sources;
    let as_of = app.clock.now();
    // Live first: every answer is kept as a snapshot.
    let live = pipeline::load_org(sources, DEMO_ORG, as_of, pipeline::Reader::Interactive)
        .await
        .expect("live"); // An interactive read keeps each learner's statements as its snapshot.
    assert!(
        app.state
            .store
            .get_snapshot("activity", "statements?agent=demo-learner")
            .await
            .expect("get")
            .is_some()
    );

    assert!(!live.quality.degraded());

    // Every source refuses connections: the same read is answered from the snapshots.
    proxy.set(Mode::Refuse);
    let started = Instant::now();
    let fallback = pipeline::load_org(sources, DEMO_ORG, as_of, pipeline::Reader::Interactive)
        .await
        .expect("fallback");
    let refused_after = started.elapsed();
    assert!(fallback.quality.degraded());
    for service in Service::ALL {
        assert_eq!(
            fallback.quality.to_json()["sources"][service.quality_key()],
            json!("snapshot"),
            "{service}"
        );
    }
    assert_eq!(canonical(&fallback.dataset), canonical(&live.dataset));
    // Every learner's statements failed: the LRS's own breaker heard it and opened.
    let lrs = sources.breaker(Service::Activity).expect("breaker");
    assert_eq!(lrs.status().state.as_str(), "open");
    let rows = pipeline::Computation {
        dataset: &fallback.dataset,
        quality: &fallback.quality,
        selection: &Selection {
            kinds: vec![AnalyticsKind::EngagementScore],
            subject: Some("demo-learner".into()),
        },
        as_of,
        now: as_of,
        cfg: &app.state.config.analytics,
        models: learnlens_analytics::kind::Models::default(),
        fallback_ttl_secs: app.state.config.sources.fallback_ttl_secs,
    }
    .rows()
    .expect("compute");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].data_quality["degraded"], json!(true));
    assert_eq!(
        rows[0].data_quality["sources"]["activity"],
        json!("snapshot")
    );
    assert_eq!(
        rows[0].expires_at - rows[0].calculated_at,
        chrono::TimeDelta::seconds(300)
    );

    // A source that stops answering (blackhole) costs one deadline per call until its breaker
    // opens; an open breaker answers from the snapshot at once.
    proxy.set(Mode::Blackhole);
    let started = Instant::now();
    let client = sources.contract(Service::Directory).expect("directory");
    let first = client
        .list::<Value>("organizations", &[])
        .await
        .expect("fallback");
    let blackholed_after = started.elapsed();
    assert_eq!(first.provenance, Provenance::Snapshot);
    assert!(
        blackholed_after >= Duration::from_millis(900),
        "{blackholed_after:?}"
    );
    for _ in 0..12 {
        let _ = client.list::<Value>("organizations", &[]).await;
    }
    let breaker = sources.breaker(Service::Directory).expect("breaker");
    assert_eq!(breaker.status().state.as_str(), "open");
    let started = Instant::now();
    let open = client
        .list::<Value>("organizations", &[])
        .await
        .expect("fallback");
    let open_after = started.elapsed();
    assert_eq!(open.provenance, Provenance::Snapshot);
    assert!(open_after < Duration::from_millis(500), "{open_after:?}");
    eprintln!(
        "figure: source down → first fallback answer: refused {:.1} ms (whole organisation, \
         {} calls), blackholed {:.0} ms (one call, deadline 1 s), breaker open {:.2} ms",
        refused_after.as_secs_f64() * 1e3,
        live.dataset.users.len() + 10,
        blackholed_after.as_secs_f64() * 1e3,
        open_after.as_secs_f64() * 1e3
    );
}
on_both_backends!(a_source_down_gives_snapshot_provenance_and_a_short_ttl);

async fn a_cold_read_with_a_source_down_and_no_fallback_is_a_503(backend: Backend) {
    let Some((app, proxy)) = app_behind_a_proxy(backend).await else {
        return;
    };
    let (token, _) = app.login_as("learner@demo.test").await;
    // Down before anything was read: no snapshot to fall back on, and no mock data.
    proxy.set(Mode::Refuse);
    let read = || {
        app.client
            .get(app.url("/api/v1/learner/analytics/engagement/demo-learner"))
            .bearer_auth(&token)
            .header("x-active-role", "learner")
            .send()
    };
    // Concurrent reads share one cold compute (single flight) and each gets its error.
    let answers = futures::future::join_all((0..4).map(|_| read())).await;
    for r in answers {
        let r = r.expect("request");
        assert_eq!(r.status(), 503);
        assert_eq!(
            r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
            Some("5")
        );
        let b: Value = r.json().await.expect("json");
        assert_eq!(b["error"], "service_unavailable");
    }
}
on_both_backends!(a_cold_read_with_a_source_down_and_no_fallback_is_a_503);

async fn a_degraded_organisation_read_is_not_reused_by_the_next_cold_compute(backend: Backend) {
    let Some((app, proxy)) = app_behind_a_proxy(backend).await else {
        return;
    };
    let reads = &app.state.pipeline.cold_org_reads;
    let read_count = || reads.load(std::sync::atomic::Ordering::Relaxed);
    let get = |email: &'static str, role: &'static str, path: String| {
        let app = &app;
        async move {
            let (token, _) = app.login_as(email).await;
            let r = app
                .client
                .get(app.url(&format!("/api/v1{path}")))
                .bearer_auth(&token)
                .header("x-active-role", role)
                .send()
                .await
                .expect("request");
            assert_eq!(r.status(), 200, "{path}");
            r.json::<Value>().await.expect("json")
        }
    };
    let org_path = format!("/org-admin/analytics/learning-culture/{DEMO_ORG}");
    let trainer_path = "/trainer/analytics/course-performance/demo-trainer".to_owned();
    let learner_path = "/learner/analytics/engagement/demo-learner".to_owned();

    // Live: one read (which keeps every answer as a snapshot, the trainer's directory entry
    // and every learner's statements included), reused by the next subject's cold compute.
    let before = read_count();
    get("learner@demo.test", "learner", learner_path).await;
    get("trainer@demo.test", "trainer", trainer_path.clone()).await;
    assert_eq!(read_count() - before, 1, "a live read is reused");

    // Down: each cold compute reads again, from the snapshots; nothing degraded is reused.
    tokio::time::sleep(Duration::from_millis(2100)).await; // the live read's reuse is over
    proxy.set(Mode::Refuse);
    let before = read_count();
    let org = get("admin@demo.test", "org-admin", org_path).await;
    assert_eq!(org["dataQuality"]["degraded"], json!(true));
    let cache = &app.state.pipeline.cache;
    cache.clear(Some("demo-trainer")).await.expect("clear");
    let trainer = get("trainer@demo.test", "trainer", trainer_path).await;
    assert_eq!(trainer["dataQuality"]["degraded"], json!(true));
    assert_eq!(read_count() - before, 2, "a degraded read is not reused");
}
on_both_backends!(a_degraded_organisation_read_is_not_reused_by_the_next_cold_compute);

#[test]
fn the_demo_mock_answers_a_learners_statements_from_the_statement_store() {
    use learnlens::sources::MockSource as _;
    let data = server::SourceData::synthetic(Size::Demo, DEFAULT_SEED);
    let filters = [("agent".to_owned(), "demo-learner".to_owned())];
    let events = data
        .query(Service::Activity, "statements", &filters)
        .expect("mock statements");
    let expected = Generator::new(Size::Demo, DEFAULT_SEED)
        .events_of("demo-learner")
        .count();
    assert!(expected > 0);
    assert_eq!(events.len(), expected);
    assert!(events.iter().all(|e| e["userId"] == "demo-learner"));
    assert_eq!(data.query(Service::Activity, "nope", &filters), None);
    // The JSON contracts still come from the entities.
    let users = data
        .query(
            Service::Directory,
            "users",
            &[("orgId".into(), DEMO_ORG.into())],
        )
        .expect("users");
    assert!(users.len() > 10);
}

/// `small`'s first organisation with the demo `asOf` and the default configuration: every kind
/// has subjects, with enough examinees per assessment for item statistics (the demo world has
/// too few) and courses with pre/post pairs for the recommendations' gains.
fn small_first_org() -> (
    learnlens_analytics::Dataset,
    chrono::DateTime<chrono::Utc>,
    learnlens_analytics::Config,
) {
    let generator = Generator::new(Size::Small, DEFAULT_SEED);
    let org = generator.org_ids().next().expect("an organisation");
    let data = generator.org_dataset(org);
    let as_of = Generator::new(Size::Demo, DEFAULT_SEED).as_of();
    (data, as_of, learnlens_analytics::Config::default())
}

#[test]
fn analytics_computed_through_one_cohort_memo_equal_each_computed_alone() {
    use learnlens_analytics::kind::Models;
    use learnlens_analytics::memo::CohortMemo;
    let (data, as_of, cfg) = small_first_org();
    let idx = learnlens_analytics::DatasetIndex::new(&data);
    // One memo across kinds and subjects, as the pipeline keeps it.
    let memo = CohortMemo::new();
    let shared_kinds = [
        AnalyticsKind::ContentEffectiveness,
        AnalyticsKind::PeerComparison,
        AnalyticsKind::Recommendations,
    ];
    let learners: Vec<String> = kind::subjects(&data, AnalyticsKind::Recommendations)
        .into_iter()
        .take(80)
        .collect();
    let (mut with_item_stats, mut released, mut with_gain, mut with_bonus) = (0, 0, 0, 0);
    for learner in &learners {
        for k in shared_kinds {
            let shared =
                kind::compute_shared(k, &idx, learner, as_of, &cfg, Models::default(), &memo)
                    .expect("payload");
            let alone =
                kind::compute(k, &idx, learner, as_of, &cfg, Models::default()).expect("payload");
            assert_eq!(shared, alone, "{} of {learner}", k.name());
            let items = shared["items"].as_array().cloned().unwrap_or_default();
            match k {
                AnalyticsKind::ContentEffectiveness => {
                    with_item_stats += items.iter().filter(|i| !i["itemStats"].is_null()).count();
                }
                AnalyticsKind::PeerComparison => {
                    released += shared["metrics"]
                        .as_array()
                        .map_or(0, |m| m.iter().filter(|m| m["percentile"].is_u64()).count());
                }
                _ => {
                    with_gain += items.iter().filter(|i| i["evidence"] == "gain").count();
                    with_bonus += items.iter().filter(|i| i["bestTypeBonus"] == true).count();
                }
            }
        }
    }
    assert!(with_item_stats > 0, "some items have statistics to share");
    assert!(released > 0, "some peer metrics are released");
    assert!(
        with_gain > 0,
        "some recommendations rest on a shared course gain"
    );
    assert!(
        with_bonus > 0,
        "some recommendations rest on a best content type the memo kept"
    );
}

/// The property test in `learnlens-analytics`' `digest.rs` runs on three users; this one on an
/// organisation large enough to release peer cohorts and unsuppressed departments and to
/// train a drop-off model.
#[test]
fn cohort_analytics_computed_from_digests_without_events_equal_those_from_events() {
    use learnlens_analytics::digest::Digest;
    use learnlens_analytics::kind::{Group, Models};
    use learnlens_analytics::memo::CohortMemo;
    use learnlens_analytics::predictive::{drop_off, features};
    let (data, as_of, cfg) = small_first_org();
    let idx = learnlens_analytics::DatasetIndex::new(&data);
    let memo = CohortMemo::new();
    let digests: Vec<(String, Digest)> = data
        .users
        .iter()
        .map(|u| (u.id.clone(), memo.digest_of(&idx, &u.id, as_of, &cfg)))
        .collect();
    let mut digests: Vec<(String, Digest)> =
        serde_json::from_str(&serde_json::to_string(&digests).expect("json")).expect("digests");

    let mut bare = data.clone();
    bare.events.clear();
    let bare_idx = learnlens_analytics::DatasetIndex::new(&bare);
    // The drop-off model trained from the digests is the one trained from the events.
    let model = drop_off::train_on_days(&idx, as_of, &features::snapshot_days(&cfg), &cfg)
        .expect("a model");
    let examples = learnlens_analytics::digest::take_examples(&mut digests);
    let from_digests =
        drop_off::train_from_digests(&bare_idx, as_of, &cfg, examples).expect("a model");
    let given = CohortMemo::with_digests(digests);
    assert_eq!(
        serde_json::to_value(&from_digests).expect("json"),
        serde_json::to_value(&model).expect("json")
    );
    let models = Models {
        drop_off: Some(&model),
    };

    let cohort_kinds = AnalyticsKind::ALL.into_iter().filter(|k| {
        matches!(k.group(), Group::Trainer | Group::OrgAdmin)
            || matches!(
                k,
                AnalyticsKind::PeerComparison | AnalyticsKind::DropOffRisk
            )
    });
    let (mut payloads, mut released, mut departments, mut scored) = (0, 0, 0, 0);
    for k in cohort_kinds {
        for subject in kind::subjects(&data, k).into_iter().take(60) {
            let from_events =
                kind::compute(k, &idx, &subject, as_of, &cfg, models).expect("payload");
            let from_digests =
                kind::compute_shared(k, &bare_idx, &subject, as_of, &cfg, models, &given)
                    .expect("payload");
            assert_eq!(from_digests, from_events, "{} of {subject}", k.name());
            payloads += 1;
            released += from_events["metrics"]
                .as_array()
                .map_or(0, |m| m.iter().filter(|m| m["percentile"].is_u64()).count());
            departments += from_events["departments"]
                .as_array()
                .map_or(0, |d| d.iter().filter(|d| d["suppressed"] == false).count());
            scored += from_events["enrollments"]
                .as_array()
                .map_or(0, |e| e.iter().filter(|e| e["risk"].is_f64()).count());
        }
    }
    assert!(payloads > 60, "{payloads} payloads compared");
    assert!(scored > 0, "some enrollments are scored");
    assert!(released > 0, "some peer metrics are released");
    assert!(departments > 0, "some departments are not suppressed");
}

/// An organisation computed in chunks of 9 users (each chunk holding only its users' events),
/// then finished from the chunks' digests without any event, gives every result the whole
/// computation gives, bit for bit, with the same drop-off model.
#[test]
fn an_organisation_computed_in_chunks_gives_the_results_of_the_whole() {
    use learnlens_analytics::kind::Models;
    use std::collections::BTreeSet;
    use std::ops::ControlFlow;
    let (mut data, as_of, cfg) = small_first_org();
    // The pipeline reads the statements of the directory's users only.
    let directory: BTreeSet<String> = data.users.iter().map(|u| u.id.clone()).collect();
    data.events.retain(|e| directory.contains(&*e.user_id));
    let quality = pipeline::DataQuality::default();
    let selection = Selection::default();
    fn computation<'a>(
        dataset: &'a learnlens_analytics::Dataset,
        quality: &'a pipeline::DataQuality,
        selection: &'a Selection,
        cfg: &'a learnlens_analytics::Config,
        as_of: chrono::DateTime<chrono::Utc>,
        model: Option<&'a learnlens_analytics::predictive::drop_off::DropOffModel>,
    ) -> pipeline::Computation<'a> {
        pipeline::Computation {
            dataset,
            quality,
            selection,
            as_of,
            now: as_of,
            cfg,
            models: Models { drop_off: model },
            fallback_ttl_secs: 300,
        }
    }
    let key = |r: &learnlens::store::AnalyticsRow| (r.analytics_type.clone(), r.subject_id.clone());

    let model = pipeline::train_drop_off(&data, as_of, &cfg).expect("a model");
    let mut whole = computation(&data, &quality, &selection, &cfg, as_of, Some(&model))
        .rows()
        .expect("rows");
    whole.sort_by_key(key);

    let mut rows = Vec::new();
    let mut digests = Vec::new();
    let users: Vec<String> = directory.iter().cloned().collect();
    for chunk in users.chunks(9) {
        let chunk: BTreeSet<String> = chunk.iter().cloned().collect();
        let mut part = data.clone();
        part.events.retain(|e| chunk.contains(&*e.user_id));
        digests.extend(
            computation(&part, &quality, &selection, &cfg, as_of, None)
                .each_of_chunk(&chunk, &mut |row| {
                    rows.push(row);
                    ControlFlow::Continue(())
                })
                .expect("a chunk"),
        );
    }
    let in_chunks = rows.len();
    let mut bare = data.clone();
    bare.events.clear();
    let examples = learnlens_analytics::digest::take_examples(&mut digests);
    let trained = pipeline::train_drop_off_from_digests(&bare, examples, as_of, &cfg)
        .expect("a model from the digests");
    assert_eq!(
        serde_json::to_value(&trained).expect("json"),
        serde_json::to_value(&model).expect("json")
    );
    computation(&bare, &quality, &selection, &cfg, as_of, Some(&trained))
        .each_final(digests, &mut |row| {
            rows.push(row);
            ControlFlow::Continue(())
        })
        .expect("the final step");
    rows.sort_by_key(key);

    assert!(in_chunks > 0 && rows.len() > in_chunks, "both steps emit");
    assert_eq!(
        rows.iter().map(key).collect::<Vec<_>>(),
        whole.iter().map(key).collect::<Vec<_>>(),
        "the same results"
    );
    for (chunked, alone) in rows.iter().zip(&whole) {
        assert_eq!(chunked.data, alone.data, "{:?}", key(alone));
        assert_eq!(chunked.role, alone.role);
    }
}

#[test]
fn an_organisation_computed_twice_gives_the_same_bits() {
    use learnlens_analytics::kind::Models;
    // Hash maps are seeded afresh for every computation, so a float summed in a map's order
    // would differ in its last bits.
    let (data, as_of, cfg) = small_first_org();
    let model = pipeline::train_drop_off(&data, as_of, &cfg).expect("a model");
    let rows = || {
        pipeline::Computation {
            dataset: &data,
            quality: &pipeline::DataQuality::default(),
            selection: &Selection::default(),
            as_of,
            now: as_of,
            cfg: &cfg,
            models: Models {
                drop_off: Some(&model),
            },
            fallback_ttl_secs: 300,
        }
        .rows()
        .expect("rows")
    };
    let (first, second) = (rows(), rows());
    assert!(first.len() > 19 * 10, "{} results", first.len());
    assert_eq!(first.len(), second.len());
    // The results that differ, named by their key (the payloads are long).
    let differ: Vec<String> = first
        .iter()
        .zip(&second)
        .filter(|(a, b)| {
            (&a.subject_id, &a.analytics_type, &a.data)
                != (&b.subject_id, &b.analytics_type, &b.data)
        })
        .map(|(a, _)| format!("{} {}", a.analytics_type, a.subject_id))
        .collect();
    assert!(
        differ.is_empty(),
        "{} differ: {:?}",
        differ.len(),
        &differ[..differ.len().min(8)]
    );
}
