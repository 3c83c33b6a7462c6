//! The analytics endpoints over the demo sources: every endpoint for every demo role with
//! real numbers; the envelope's cache and staleness flags (fake clock); single flight under
//! concurrent misses; the authorization matrix over every endpoint; tenant isolation under
//! interleaved load; a refresh seen by another replica.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::TimeDelta;
use learnlens::auth::password::Passwords;
use learnlens::clock::Clock as _;
use learnlens::demo::DEMO_ORG;
use learnlens::demo::synthetic::{DEFAULT_SEED, Generator, Size};
use learnlens::domain::{Email, Role};
use learnlens::store::NewUser;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, wait_until};
use crate::on_both_backends;

const LEARNER_ANALYTICS: [&str; 6] = [
    "velocity",
    "skill-gap",
    "engagement",
    "mastery",
    "performance",
    "content-effectiveness",
];
const TRAINER_ANALYTICS: [&str; 4] = [
    "course-performance",
    "course-health",
    "student-distribution",
    "teaching-effectiveness",
];
const ORG_ANALYTICS: [&str; 4] = [
    "learning-velocity",
    "strategic-alignment",
    "learning-culture",
    "performance",
];
const PREDICTIVE: [&str; 3] = ["drop-off-risk", "performance-forecast", "recommendations"];

async fn get(app: &TestApp, token: &str, role: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .header("x-active-role", role)
        .send()
        .await
        .expect("request")
}

/// Every path of a role for its subject, with the analytics.md name each answers.
fn paths_of(role: &str, subject: &str) -> Vec<String> {
    match role {
        "learner" => LEARNER_ANALYTICS
            .iter()
            .map(|a| format!("/learner/analytics/{a}/{subject}"))
            .chain(
                PREDICTIVE
                    .iter()
                    .map(|a| format!("/predictive/analytics/{a}/{subject}")),
            )
            .chain([format!("/comparison/analytics/peer-comparison/{subject}")])
            .collect(),
        "trainer" => TRAINER_ANALYTICS
            .iter()
            .map(|a| format!("/trainer/analytics/{a}/{subject}"))
            .collect(),
        _ => ORG_ANALYTICS
            .iter()
            .map(|a| format!("/org-admin/analytics/{a}/{subject}"))
            .chain([format!(
                "/comparison/analytics/skill-demand?orgId={subject}"
            )])
            .collect(),
    }
}

fn assert_envelope(body: &Value, path: &str) {
    for field in ["cached", "stale", "requiresRefresh"] {
        assert!(body[field].is_boolean(), "{path}: {field} in {body}");
    }
    assert!(
        body["lastUpdated"].is_string() && body["expiresAt"].is_string(),
        "{path}"
    );
    assert_eq!(body["dataQuality"]["degraded"], false, "{path}");
    assert!(body["data"]["status"].is_string(), "{path}: {body}");
    assert!(body["data"]["asOf"].is_string(), "{path}");
}

async fn every_endpoint_answers_each_demo_role_with_real_numbers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cases = [
        ("learner@demo.test", "learner", "demo-learner"),
        ("trainer@demo.test", "trainer", "demo-trainer"),
        ("admin@demo.test", "org-admin", DEMO_ORG),
    ];
    for (email, role, subject) in cases {
        let (token, _) = app.login_as(email).await;
        let mut statuses = BTreeMap::new();
        for path in paths_of(role, subject) {
            let r = get(&app, &token, role, &path).await;
            assert_eq!(r.status(), 200, "{role} {path}");
            let body: Value = r.json().await.expect("json");
            assert_envelope(&body, &path);
            *statuses
                .entry(body["data"]["status"].as_str().unwrap_or("").to_owned())
                .or_insert(0) += 1;
        }
        // Real numbers: most of each role's analytics have enough data in the demo world.
        let ok = statuses.get("ok").copied().unwrap_or(0);
        assert!(
            ok * 2 > statuses.values().sum::<i32>(),
            "{role}: {statuses:?}"
        );
        let dashboard = match role {
            "learner" => format!("/learner/dashboard/{subject}"),
            "trainer" => format!("/trainer/dashboard/{subject}"),
            _ => format!("/org-admin/dashboard/{subject}"),
        };
        let r = get(&app, &token, role, &dashboard).await;
        assert_eq!(r.status(), 200, "{dashboard}");
        let body: Value = r.json().await.expect("json");
        let analytics = body["analytics"].as_object().expect("analytics");
        assert_eq!(
            analytics.len(),
            paths_of(role, subject).len(),
            "{dashboard}"
        );
        for (name, envelope) in analytics {
            assert_envelope(envelope, name);
            // Everything was computed by the single requests above.
            assert_eq!(envelope["cached"], true, "{name}");
        }
    }
    // The global skill demand answers any role.
    let (token, _) = app.login_as("learner@demo.test").await;
    let r = get(
        &app,
        &token,
        "learner",
        "/comparison/analytics/skill-demand",
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["data"]["scope"]["kind"], "global");
}
on_both_backends!(every_endpoint_answers_each_demo_role_with_real_numbers);

async fn results_are_cached_then_stale_with_one_refresh_queued(backend: Backend) {
    let Some(app) =
        TestApp::spawn_with(backend, Box::new(|c| c.jobs.serve_runs_workers = false)).await
    else {
        return;
    };
    let (token, _) = app.login_as("learner@demo.test").await;
    let path = "/learner/analytics/engagement/demo-learner";
    let first: Value = get(&app, &token, "learner", path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(first["cached"], false);
    assert_eq!(first["stale"], false);
    let computed_at = app.clock.now();
    assert_eq!(
        first["expiresAt"].as_str().expect("expiresAt"),
        (computed_at + TimeDelta::hours(6)).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    let second: Value = get(&app, &token, "learner", path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(second["cached"], true);
    assert_eq!(second["data"], first["data"]);

    // One second before the six hours: still fresh. At six hours: stale, one refresh queued.
    app.clock
        .advance(TimeDelta::hours(6) - TimeDelta::seconds(1));
    let (token, _) = app.login_as("learner@demo.test").await;
    let fresh: Value = get(&app, &token, "learner", path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fresh["stale"], false);
    app.clock.advance(TimeDelta::seconds(1));
    let stale: Value = get(&app, &token, "learner", path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(stale["stale"], true);
    assert_eq!(stale["requiresRefresh"], true);
    assert_eq!(
        stale["data"], first["data"],
        "stale data is served rather than nothing"
    );
    let again: Value = get(
        &app,
        &token,
        "learner",
        "/learner/analytics/velocity/demo-learner",
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(again["stale"], true);
    let refreshes = queued_refreshes(&app, "refresh:learner:demo-learner").await;
    assert_eq!(
        refreshes.len(),
        1,
        "one deduplicated refresh: {refreshes:?}"
    );

    // Further stale reads of the same results do not ask the queue again: with the refresh
    // cancelled behind the process's back, nothing is queued anew.
    let refresh_id = refreshes[0].id.clone();
    app.state
        .store
        .cancel_job(&refresh_id, app.clock.now())
        .await
        .expect("cancel");
    let later: Value = get(&app, &token, "learner", path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(later["stale"], true);
    let requeued = queued_refreshes(&app, "refresh:learner:demo-learner").await;
    assert!(
        requeued.is_empty(),
        "the stale version's refresh was queued once: {requeued:?}"
    );
}
on_both_backends!(results_are_cached_then_stale_with_one_refresh_queued);

/// The queued jobs with this singleton key.
async fn queued_refreshes(app: &TestApp, singleton_key: &str) -> Vec<learnlens::store::Job> {
    app.state
        .store
        .list_jobs(Some(learnlens::store::JobStatus::Queued), 100)
        .await
        .expect("jobs")
        .into_iter()
        .filter(|j| j.singleton_key.as_deref() == Some(singleton_key))
        .collect()
}

async fn sixteen_concurrent_misses_compute_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (token, _) = app.login_as("admin@demo.test").await;
    let before = app.state.pipeline.cold_computes.load(Ordering::Relaxed);
    let requests = (0..16).map(|i| {
        let path = format!(
            "/org-admin/analytics/{}/{DEMO_ORG}",
            ORG_ANALYTICS[i % ORG_ANALYTICS.len()]
        );
        let app = &app;
        let token = &token;
        async move { get(app, token, "org-admin", &path).await }
    });
    let responses = futures::future::join_all(requests).await;
    for r in responses {
        assert_eq!(r.status(), 200);
    }
    let after = app.state.pipeline.cold_computes.load(Ordering::Relaxed);
    assert_eq!(
        after - before,
        1,
        "16 concurrent misses on one subject compute once"
    );
}
on_both_backends!(sixteen_concurrent_misses_compute_once);

async fn concurrent_cold_computes_of_one_organisation_share_its_read(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let pipeline = &app.state.pipeline;
    let (computes, reads) = (&pipeline.cold_computes, &pipeline.cold_org_reads);
    let before = (
        computes.load(Ordering::Relaxed),
        reads.load(Ordering::Relaxed),
    );
    let mut requests = Vec::new();
    for (email, role, path) in [
        (
            "admin@demo.test",
            "org-admin",
            format!("/org-admin/analytics/learning-culture/{DEMO_ORG}"),
        ),
        (
            "learner@demo.test",
            "learner",
            "/learner/analytics/engagement/demo-learner".to_owned(),
        ),
        (
            "trainer@demo.test",
            "trainer",
            "/trainer/analytics/course-performance/demo-trainer".to_owned(),
        ),
    ] {
        let (token, _) = app.login_as(email).await;
        requests.push((token, role, path));
    }
    let responses = futures::future::join_all(
        requests
            .iter()
            .map(|(token, role, path)| get(&app, token, role, path)),
    )
    .await;
    for r in responses {
        assert_eq!(r.status(), 200);
    }
    let after = (
        computes.load(Ordering::Relaxed),
        reads.load(Ordering::Relaxed),
    );
    assert_eq!(after.0 - before.0, 3, "one cold compute per subject");
    assert_eq!(
        after.1 - before.1,
        1,
        "the three computes read the organisation once"
    );
}
on_both_backends!(concurrent_cold_computes_of_one_organisation_share_its_read);

/// A learner of the demo world's second organisation with a login.
async fn second_org_learner(app: &TestApp) -> (String, String, String) {
    let generator = Generator::new(Size::Demo, DEFAULT_SEED);
    let other = generator
        .org_ids()
        .find(|o| *o != DEMO_ORG)
        .expect("a second organisation")
        .to_owned();
    let data = generator.org_entities(&other);
    let user = data
        .users
        .iter()
        .find(|u| u.roles.iter().any(|r| r == "learner"))
        .expect("a learner there");
    let passwords = Passwords::new(1).expect("passwords");
    let email = "other-learner@demo.test";
    app.state
        .store
        .create_user(
            &NewUser {
                id: user.id.clone(),
                org_id: other.clone(),
                email: Email::parse(email).expect("email"),
                name: "Other Learner".into(),
                roles: vec![Role::Learner],
                password_hash: passwords.hash("learnlens-demo").await.expect("hash"),
            },
            app.clock.now(),
        )
        .await
        .expect("create");
    let (token, _) = app.login_as(email).await;
    (token, user.id.clone(), other)
}

async fn interleaved_requests_of_two_organisations_never_see_each_others_data(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (a_token, _) = app.login_as("learner@demo.test").await;
    let (b_token, b_user, b_org) = second_org_learner(&app).await;
    let a_paths = paths_of("learner", "demo-learner");
    let b_paths = paths_of("learner", &b_user);
    // References, one request at a time.
    let mut reference = BTreeMap::new();
    for (token, path) in a_paths
        .iter()
        .map(|p| (&a_token, p))
        .chain(b_paths.iter().map(|p| (&b_token, p)))
    {
        let body: Value = get(&app, token, "learner", path)
            .await
            .json()
            .await
            .expect("json");
        reference.insert(path.clone(), body["data"].clone());
    }
    // 1,000 interleaved requests, 50 at a time, each checked against its own reference.
    let requests: Vec<(String, String)> = (0..1000)
        .map(|i| {
            if i % 2 == 0 {
                (a_token.clone(), a_paths[i / 2 % a_paths.len()].clone())
            } else {
                (b_token.clone(), b_paths[i / 2 % b_paths.len()].clone())
            }
        })
        .collect();
    use futures::StreamExt as _;
    let mismatches: Vec<String> = futures::stream::iter(requests)
        .map(|(token, path)| {
            let app = &app;
            async move {
                let r = get(app, &token, "learner", &path).await;
                let status = r.status();
                let body: Value = r.json().await.expect("json");
                (path, status, body)
            }
        })
        .buffer_unordered(50)
        .filter_map(|(path, status, body)| {
            let reference = &reference;
            async move {
                (status != 200 || body["data"] != reference[&path])
                    .then(|| format!("{path}: {status}"))
            }
        })
        .collect()
        .await;
    assert!(mismatches.is_empty(), "{mismatches:?}");
    // And across the tenant boundary, nothing at all.
    let r = get(
        &app,
        &a_token,
        "learner",
        &format!("/learner/analytics/velocity/{b_user}"),
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = get(
        &app,
        &b_token,
        "learner",
        "/learner/analytics/velocity/demo-learner",
    )
    .await;
    assert_eq!(r.status(), 403);
    let r = get(
        &app,
        &b_token,
        "learner",
        &format!("/comparison/analytics/skill-demand?orgId={b_org}"),
    )
    .await;
    assert_eq!(r.status(), 403, "skill demand of an org is for its admins");
}
on_both_backends!(interleaved_requests_of_two_organisations_never_see_each_others_data);

/// Every endpoint × every demo account × every role it holds × own or someone else's
/// subject: 200 exactly where api.md's policy table allows, 403 elsewhere, and the body of a
/// refusal is the one error shape.
async fn the_authorization_matrix_holds_over_every_endpoint(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let accounts = [
        ("learner@demo.test", "demo-learner", &["learner"][..]),
        ("trainer@demo.test", "demo-trainer", &["trainer"][..]),
        ("admin@demo.test", "demo-admin", &["org-admin"][..]),
        (
            "multi@demo.test",
            "demo-multi",
            &["learner", "trainer", "org-admin"][..],
        ),
    ];
    let mut checked = 0;
    for (email, me, roles) in accounts {
        let (token, _) = app.login_as(email).await;
        for active in ["learner", "trainer", "org-admin"] {
            let held = roles.contains(&active);
            for group in ["learner", "trainer", "org-admin"] {
                // Own subject, someone else in the org, another organisation.
                let own = if group == "org-admin" { DEMO_ORG } else { me };
                for (subject, is_own) in
                    [(own, true), ("demo-learner-x", false), ("other-org", false)]
                {
                    for path in paths_of(group, subject) {
                        // A trainer's view of a learner's risk depends on enrolments: its own
                        // test below.
                        if held
                            && active == "trainer"
                            && path.starts_with("/predictive/")
                            && !path.contains("recommendations")
                        {
                            continue;
                        }
                        let r = get(&app, &token, active, &path).await;
                        let expected = if !held {
                            403
                        } else if is_own && group == active {
                            200
                        } else {
                            403
                        };
                        assert_eq!(r.status(), expected, "{email} as {active}: {path}");
                        if expected == 403 {
                            let body: Value = r.json().await.expect("json");
                            let code = body["error"].as_str().expect("error");
                            assert!(code == "forbidden" || code == "role_not_held", "{body}");
                            assert!(body.get("data").is_none());
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 400, "{checked}");
}
on_both_backends!(the_authorization_matrix_holds_over_every_endpoint);

async fn a_trainer_sees_a_learners_risk_only_in_the_trainers_courses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (trainer, _) = app.login_as("trainer@demo.test").await;
    let generator = Generator::new(Size::Demo, DEFAULT_SEED);
    let data = generator.org_entities(DEMO_ORG);
    let as_of = app.clock.now();
    let taught: Vec<&str> = data
        .courses
        .iter()
        .filter(|c| c.trainer_id == "demo-trainer")
        .map(|c| c.id.as_str())
        .collect();
    // A learner actively enrolled in one of the trainer's courses and in another course too.
    let learner = data
        .users
        .iter()
        .map(|u| u.id.as_str())
        .find(|u| {
            let active: Vec<&str> = data
                .enrollments
                .iter()
                .filter(|e| e.user_id == *u && e.is_active_at(as_of))
                .map(|e| e.course_id.as_str())
                .collect();
            active.iter().any(|c| taught.contains(c)) && active.iter().any(|c| !taught.contains(c))
        })
        .expect("a learner in a course of the trainer and in another course");
    let r = get(
        &app,
        &trainer,
        "trainer",
        &format!("/predictive/analytics/drop-off-risk/{learner}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    let courses: Vec<&str> = body["data"]["enrollments"]
        .as_array()
        .expect("enrollments")
        .iter()
        .map(|e| e["courseId"].as_str().expect("courseId"))
        .collect();
    assert!(!courses.is_empty());
    assert!(
        courses.iter().all(|c| taught.contains(c)),
        "{courses:?} ⊄ {taught:?}"
    );
    // The learner's own view lists the other course too: the filter is per viewer.
    let multi_learner_view = app
        .state
        .store
        .get_analytics(learner, "learner", "dropOffRisk")
        .await
        .expect("get")
        .expect("stored under the learner");
    assert!(
        multi_learner_view.data["enrollments"]
            .as_array()
            .expect("enrollments")
            .len()
            > courses.len()
    );
    assert!(
        app.state
            .store
            .get_analytics(learner, "trainer", "dropOffRisk")
            .await
            .expect("get")
            .is_none()
    );
    // Recommendations stay the learner's own; a learner outside the trainer's courses is 403.
    let r = get(
        &app,
        &trainer,
        "trainer",
        &format!("/predictive/analytics/recommendations/{learner}"),
    )
    .await;
    assert_eq!(r.status(), 403);
    let outsider = data
        .users
        .iter()
        .map(|u| u.id.as_str())
        .find(|u| {
            !data.enrollments.iter().any(|e| {
                e.user_id == *u && e.is_active_at(as_of) && taught.contains(&e.course_id.as_str())
            })
        })
        .expect("someone not in the trainer's courses");
    let r = get(
        &app,
        &trainer,
        "trainer",
        &format!("/predictive/analytics/drop-off-risk/{outsider}"),
    )
    .await;
    assert_eq!(r.status(), 403);
}
on_both_backends!(a_trainer_sees_a_learners_risk_only_in_the_trainers_courses);

async fn a_refresh_on_one_replica_is_seen_by_another(backend: Backend) {
    let Some(redis) = crate::helpers::redis_url().await else {
        return;
    };
    let Some(app) = TestApp::spawn_with(backend, Box::new(move |c| c.redis.url = redis)).await
    else {
        return;
    };
    let other = app.replica().await;
    let (token, _) = app.login_as("learner@demo.test").await;
    let path = "/learner/analytics/velocity/demo-learner";
    let before: Value = get(&app, &token, "learner", path)
        .await
        .json()
        .await
        .expect("json");
    // The other replica holds it in its L1 now too.
    let seen: Value = get(&other, &token, "learner", path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(seen["lastUpdated"], before["lastUpdated"]);
    assert_eq!(seen["cached"], true);
    // A refresh job runs on the first replica ten minutes later.
    app.clock.advance(TimeDelta::minutes(10));
    let r = app
        .client
        .post(app.url("/api/v1/analytics/refresh"))
        .bearer_auth(&token)
        .header("x-active-role", "learner")
        .json(&serde_json::json!({"userId": "demo-learner", "role": "learner", "analytics": ["velocity"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.expect("json")["jobId"]
        .as_str()
        .expect("id")
        .to_owned();
    let job = app.finished_job(&id, Duration::from_secs(60)).await;
    assert_eq!(job.status, learnlens::store::JobStatus::Completed);
    // The second replica drops its L1 entry on the invalidation and serves the new result.
    wait_until(
        Duration::from_secs(5),
        "the other replica to serve the new result",
        async || {
            let now: Value = get(&other, &token, "learner", path)
                .await
                .json()
                .await
                .expect("json");
            now["lastUpdated"] != before["lastUpdated"]
        },
    )
    .await;
}
on_both_backends!(a_refresh_on_one_replica_is_seen_by_another);

async fn redis_going_away_under_load_costs_no_errors_and_l2_returns(backend: Backend) {
    let Some(redis) = crate::helpers::redis_url().await else {
        return;
    };
    let upstream = redis
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse::<std::net::SocketAddr>()
        .expect("redis address");
    let proxy = crate::fault_proxy::FaultProxy::start(upstream).await;
    let proxied = format!("redis://{}", proxy.addr);
    let Some(app) = TestApp::spawn_with(backend, Box::new(move |c| c.redis.url = proxied)).await
    else {
        return;
    };
    let (admin, _) = app.login_as("admin@demo.test").await;
    let (learner, _) = app.login_as("learner@demo.test").await;
    let paths: Vec<(String, &str, &str)> = paths_of("org-admin", DEMO_ORG)
        .into_iter()
        .map(|p| (p, admin.as_str(), "org-admin"))
        .chain(
            paths_of("learner", "demo-learner")
                .into_iter()
                .map(|p| (p, learner.as_str(), "learner")),
        )
        .collect();
    let load = |round: usize| {
        let app = &app;
        let paths = &paths;
        async move {
            let requests = (0..40).map(|i| {
                let (path, token, role) = &paths[(i + round) % paths.len()];
                async move { get(app, token, role, path).await.status().as_u16() }
            });
            futures::future::join_all(requests).await
        }
    };
    let mut statuses = load(0).await;
    // Redis stops answering mid-load: every read still answers from L1/L3.
    proxy.set(crate::fault_proxy::Mode::Blackhole);
    for round in 1..4 {
        statuses.extend(load(round).await);
    }
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // Redis is back; once the L2 breaker's open period is over, writes reach it again.
    proxy.set(crate::fault_proxy::Mode::Pass);
    app.clock.advance(TimeDelta::seconds(10));
    let (learner, _) = app.login_as("learner@demo.test").await;
    let r = app
        .client
        .post(app.url("/api/v1/analytics/refresh"))
        .bearer_auth(&learner)
        .header("x-active-role", "learner")
        .json(&serde_json::json!({"userId": "demo-learner", "role": "learner", "analytics": ["mastery"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), 200);
    let key = format!(
        "{}cache:v3:masteryProgress:learner:demo-learner",
        app.state.config.redis.key_prefix
    );
    let client = redis::Client::open(redis.as_str()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    wait_until(
        Duration::from_secs(30),
        "L2 to be written again",
        async || {
            let body: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .expect("get");
            body.is_some_and(|body| {
                let row = learnlens::cache::Cached::from_l2(body).expect("an L2 value frames");
                row.calculated_at == app.clock.now()
            })
        },
    )
    .await;
}
on_both_backends!(redis_going_away_under_load_costs_no_errors_and_l2_returns);

/// With L1 off, a read that L3 can no longer answer is answered from L2, and an L2 value that
/// does not frame is a miss: the result is computed again, then the layers hold it again.
async fn with_l1_off_a_read_comes_from_l2_and_a_broken_l2_value_is_a_miss(backend: Backend) {
    let Some(redis) = crate::helpers::redis_url().await else {
        return;
    };
    let url = redis.clone();
    let Some(app) = TestApp::spawn_with(
        backend,
        Box::new(move |c| {
            c.redis.url = url;
            c.cache.l1_max_bytes = 0;
        }),
    )
    .await
    else {
        return;
    };
    let (learner, _) = app.login_as("learner@demo.test").await;
    let path = "/learner/analytics/engagement/demo-learner";
    let read = async || {
        let r = get(&app, &learner, "learner", path).await;
        assert_eq!(r.status(), 200);
        assert!(r.headers().contains_key("ratelimit-remaining"));
        r.json::<Value>().await.expect("json")
    };
    let first = read().await;
    assert_eq!(first["cached"], false);
    // L3 loses the row; only L2 still has it.
    app.state
        .store
        .delete_analytic("demo-learner", "learner", "engagementScore")
        .await
        .expect("delete the stored row");
    let from_l2 = read().await;
    assert_eq!(from_l2["cached"], true);
    assert_eq!(
        (&from_l2["data"], &from_l2["lastUpdated"]),
        (&first["data"], &first["lastUpdated"])
    );
    // The value cut short by one byte does not frame: a miss in every layer, a cold compute.
    let key = format!(
        "{}cache:{}",
        app.state.config.redis.key_prefix,
        learnlens::cache::key("engagementScore", "learner", "demo-learner")
    );
    let client = redis::Client::open(redis.as_str()).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let value: Vec<u8> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("get");
    let () = redis::cmd("SET")
        .arg(&key)
        .arg(&value[..value.len() - 1])
        .query_async(&mut conn)
        .await
        .expect("set");
    let recomputed = read().await;
    assert_eq!(recomputed["cached"], false);
    assert_eq!(recomputed["data"], first["data"]);
    // Once the cold computes' single flight lets go of its rows (2 s), a compute writes them
    // through the layers again.
    wait_until(
        Duration::from_secs(10),
        "the layers to hold it again",
        async || read().await["cached"] == true,
    )
    .await;
}
on_both_backends!(with_l1_off_a_read_comes_from_l2_and_a_broken_l2_value_is_a_miss);

async fn operators_clear_the_cache_of_a_subject_through_every_layer(backend: Backend) {
    let Some(redis) = crate::helpers::redis_url().await else {
        return;
    };
    let Some(app) = TestApp::spawn_with(backend, Box::new(move |c| c.redis.url = redis)).await
    else {
        return;
    };
    let (learner, _) = app.login_as("learner@demo.test").await;
    let path = "/learner/analytics/engagement/demo-learner";
    let first: Value = get(&app, &learner, "learner", path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(first["cached"], false);
    let again: Value = get(&app, &learner, "learner", path)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["cached"], true);
    let config = &app.state.config;
    let file = config.data_dir.join("ops.toml");
    std::fs::write(
        &file,
        format!("[redis]\nkey_prefix = \"{}\"\n", config.redis.key_prefix),
    )
    .expect("write config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_learnlens"))
        .args(["cache", "clear", "--subject", "demo-learner", "--config"])
        .arg(&file)
        .env("LEARNLENS_DATABASE_URL", config.database_url())
        .env("LEARNLENS_REDIS_URL", config.redis_url().expect("redis"))
        .env("LEARNLENS_DATA_DIR", &config.data_dir)
        .env_remove("LEARNLENS_ENV")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run learnlens cache clear");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("cleared 10 stored result(s)"));
    // The running app drops its in-memory copy on the invalidation and recomputes.
    wait_until(Duration::from_secs(5), "a recomputed result", async || {
        let now: Value = get(&app, &learner, "learner", path)
            .await
            .json()
            .await
            .expect("json");
        now["cached"] == false
    })
    .await;
}
on_both_backends!(operators_clear_the_cache_of_a_subject_through_every_layer);
