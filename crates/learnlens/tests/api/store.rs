//! Store conformance: the same checks on SQLite and PostgreSQL.

use std::time::Duration;

use chrono::TimeDelta;
use learnlens::cache::Layer;
use learnlens::clock::Clock as _;
use learnlens::domain::{Email, Role};
use learnlens::store::{
    AnalyticsRow, ChunkedRun, MODEL_VERSIONS_KEPT, NewUser, RotateOutcome, StoreError,
};
use serde_json::json;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

use crate::helpers::{Backend, TestApp, TestDb, wait_until};
use crate::on_both_backends;

fn new_user(id: &str, email: &str, org: &str) -> NewUser {
    NewUser {
        id: id.into(),
        org_id: org.into(),
        email: Email::parse(email).expect("email"),
        name: format!("User {id}"),
        roles: vec![Role::Learner, Role::OrgAdmin],
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA".into(),
    }
}

async fn users_round_trip_and_conflict_on_id_or_email(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = app.clock.now();
    store
        .create_user(&new_user("u-1", "one@x.org", "org-x"), now)
        .await
        .expect("create");
    let got = store
        .user_by_id("u-1")
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(got.email, "one@x.org");
    assert_eq!(got.roles, vec![Role::Learner, Role::OrgAdmin]);
    assert_eq!(got.created_at, now);
    assert!(!got.disabled);
    assert_eq!(
        store
            .user_by_email(&Email::parse("ONE@x.org").expect("e"))
            .await
            .expect("read")
            .map(|u| u.id),
        Some("u-1".into())
    );
    assert!(matches!(
        store
            .create_user(&new_user("u-1", "other@x.org", "org-x"), now)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .create_user(&new_user("u-2", "one@x.org", "org-x"), now)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        !store
            .create_user_if_absent(&new_user("u-1", "one@x.org", "org-x"), now)
            .await
            .expect("idempotent")
    );
    let in_org: Vec<String> = store
        .list_users(Some("org-x"))
        .await
        .expect("list")
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(in_org, vec!["u-1"]);
    assert!(
        store.list_users(None).await.expect("list").len() >= 5,
        "demo accounts + u-1"
    );
}
on_both_backends!(users_round_trip_and_conflict_on_id_or_email);

async fn refresh_rotation_is_a_compare_and_swap(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = app.clock.now();
    store
        .create_refresh_family(
            "fam-1",
            "demo-learner",
            "h0",
            now,
            now + TimeDelta::days(30),
        )
        .await
        .expect("create");
    assert_eq!(
        store
            .rotate_refresh_token("fam-1", "h0", "h1", now)
            .await
            .expect("rotate"),
        RotateOutcome::Rotated
    );
    assert_eq!(
        store
            .rotate_refresh_token("fam-1", "h0", "h2", now)
            .await
            .expect("rotate"),
        RotateOutcome::NotCurrent
    );
    let old = store
        .refresh_family_of("h0")
        .await
        .expect("read")
        .expect("known");
    assert!(!old.is_current && !old.revoked);
    let cur = store
        .refresh_family_of("h1")
        .await
        .expect("read")
        .expect("known");
    assert!(cur.is_current);
    assert!(
        store.refresh_family_of("h2").await.expect("read").is_none(),
        "the losing hash was not stored"
    );
    assert!(
        store
            .refresh_family_is_live("fam-1", now)
            .await
            .expect("live")
    );
    assert!(
        !store
            .refresh_family_is_live("fam-1", now + TimeDelta::days(31))
            .await
            .expect("live"),
        "expired"
    );
    store
        .revoke_refresh_family("fam-1", now)
        .await
        .expect("revoke");
    assert!(
        !store
            .refresh_family_is_live("fam-1", now)
            .await
            .expect("live")
    );
    assert_eq!(
        store
            .rotate_refresh_token("fam-1", "h1", "h3", now)
            .await
            .expect("rotate"),
        RotateOutcome::NotCurrent
    );
}
on_both_backends!(refresh_rotation_is_a_compare_and_swap);

/// The batch writes an organisation's results in one call: more rows than one statement takes,
/// and a key twice in one call keeps the later row.
async fn a_bulk_upsert_spans_statements_and_keeps_the_last_row_of_a_key(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = app.clock.now();
    let row = |subject: String, v: usize| AnalyticsRow {
        subject_id: subject,
        role: "learner".into(),
        analytics_type: "engagementScore".into(),
        data: json!({"status": "ok", "value": v}),
        data_quality: json!({"degraded": false}),
        calculated_at: now,
        expires_at: now + TimeDelta::hours(6),
    };
    let mut rows: Vec<AnalyticsRow> = (0..1_234).map(|i| row(format!("u{i:04}"), i)).collect();
    rows.push(row("u0007".into(), 99_999));
    store.upsert_analytics(&rows).await.expect("bulk upsert");
    for (subject, want) in [
        ("u0000", 0),
        ("u0007", 99_999),
        ("u0600", 600),
        ("u1233", 1_233),
    ] {
        let got = store
            .get_analytics(subject, "learner", "engagementScore")
            .await
            .expect("read")
            .expect("row");
        assert_eq!(got.data["value"], want, "{subject}");
    }
    assert_eq!(
        store.delete_analytics(None).await.expect("delete all"),
        1_234,
        "one row per key"
    );
}
on_both_backends!(a_bulk_upsert_spans_statements_and_keeps_the_last_row_of_a_key);

async fn analytics_results_upsert_by_subject_role_and_type(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = app.clock.now();
    let row = |t: &str, v: i64, at: chrono::DateTime<chrono::Utc>| AnalyticsRow {
        subject_id: "demo-learner".into(),
        role: "learner".into(),
        analytics_type: t.into(),
        data: json!({"status": "ok", "value": v}),
        data_quality: json!({"degraded": false}),
        calculated_at: at,
        expires_at: at + TimeDelta::hours(6),
    };
    store
        .upsert_analytics(&[
            row("velocity", 1, now),
            row("engagement", 2, now - TimeDelta::hours(7)),
        ])
        .await
        .expect("insert");
    store
        .upsert_analytics(&[row("velocity", 3, now)])
        .await
        .expect("update");
    let got = store
        .get_analytics("demo-learner", "learner", "velocity")
        .await
        .expect("read")
        .expect("row");
    assert_eq!(got.data["value"], 3);
    assert_eq!(got.expires_at, now + TimeDelta::hours(6));
    assert!(
        store
            .get_analytics("demo-learner", "trainer", "velocity")
            .await
            .expect("read")
            .is_none()
    );
    let fresh: Vec<String> = store
        .fresh_analytics_of("demo-learner", "learner", now)
        .await
        .expect("read")
        .into_iter()
        .map(|r| r.analytics_type)
        .collect();
    assert_eq!(fresh, vec!["velocity"], "the 7-hour-old result has expired");
    assert_eq!(
        store
            .delete_analytics(Some("demo-learner"))
            .await
            .expect("delete"),
        2
    );
    assert!(
        store
            .get_analytics("demo-learner", "learner", "velocity")
            .await
            .expect("read")
            .is_none()
    );
}
on_both_backends!(analytics_results_upsert_by_subject_role_and_type);

async fn source_snapshots_keep_the_latest_good_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = app.clock.now();
    assert!(
        store
            .get_snapshot("directory", "users?orgId=o")
            .await
            .expect("read")
            .is_none()
    );
    store
        .put_snapshot("directory", "users?orgId=o", &json!({"items": [1]}), now)
        .await
        .expect("put");
    store
        .put_snapshot(
            "directory",
            "users?orgId=o",
            &json!({"items": [1, 2]}),
            now + TimeDelta::minutes(1),
        )
        .await
        .expect("put");
    let s = store
        .get_snapshot("directory", "users?orgId=o")
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(s.body, json!({"items": [1, 2]}));
    assert_eq!(s.fetched_at, now + TimeDelta::minutes(1));
}
on_both_backends!(source_snapshots_keep_the_latest_good_answer);

async fn models_are_versioned_per_organisation_and_old_versions_pruned(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = app.clock.now();
    assert!(
        store
            .latest_model("drop-off", "org-a")
            .await
            .expect("read")
            .is_none()
    );
    let total = MODEL_VERSIONS_KEPT + 3;
    for i in 1..=total {
        let saved = store
            .save_model(
                "drop-off",
                "org-a",
                &json!({"intercept": i}),
                &json!({"n": i * 10}),
                now + TimeDelta::minutes(i),
            )
            .await
            .expect("save");
        assert_eq!(saved.version, i);
        assert_eq!(saved.id, format!("drop-off:org-a:v{i}"));
    }
    // Another organisation counts its own versions.
    let other = store
        .save_model("drop-off", "org-b", &json!({}), &json!({}), now)
        .await
        .expect("save");
    assert_eq!(other.version, 1);
    let latest = store
        .latest_model("drop-off", "org-a")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(latest.version, total);
    assert_eq!(latest.params, json!({"intercept": total}));
    assert_eq!(latest.metrics, json!({"n": total * 10}));
    assert_eq!(latest.trained_at, now + TimeDelta::minutes(total));
    let kept = store
        .model_versions("drop-off", "org-a")
        .await
        .expect("versions");
    let want: Vec<i64> = (total - MODEL_VERSIONS_KEPT + 1..=total).rev().collect();
    assert_eq!(
        kept, want,
        "the newest {MODEL_VERSIONS_KEPT} versions are kept"
    );
}
on_both_backends!(models_are_versioned_per_organisation_and_old_versions_pruned);

async fn a_chunked_run_keeps_its_first_records_and_counts_its_chunks(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = &app.state.store;
    let now = app.clock.now();
    let run = ChunkedRun {
        id: "job-1".into(),
        org_id: "org-a".into(),
        chunks: 3,
        chunk_users: 10,
        records: b"{\"first\": true}".to_vec(),
    };
    assert_eq!(
        store.create_chunked_run(&run, now).await.expect("create"),
        (3, 10)
    );
    // A retried split keeps the first records and chunking.
    let retried = ChunkedRun {
        chunks: 4,
        chunk_users: 8,
        records: b"{}".to_vec(),
        ..run.clone()
    };
    assert_eq!(
        store
            .create_chunked_run(&retried, now)
            .await
            .expect("create"),
        (3, 10)
    );
    assert_eq!(
        store.chunked_run("job-1").await.expect("read"),
        Some(run.clone())
    );
    assert_eq!(store.chunked_run("job-2").await.expect("read"), None);

    assert_eq!(
        store
            .put_chunk_digests("job-1", 2, b"c2", now)
            .await
            .expect("put"),
        1
    );
    assert_eq!(
        store
            .put_chunk_digests("job-1", 0, b"c0", now)
            .await
            .expect("put"),
        2
    );
    // A retried chunk replaces its digests and counts once.
    assert_eq!(
        store
            .put_chunk_digests("job-1", 2, b"c2'", now)
            .await
            .expect("put"),
        2
    );
    // Another run's chunks are its own.
    assert_eq!(
        store
            .put_chunk_digests("job-9", 1, b"x", now)
            .await
            .expect("put"),
        1
    );
    assert_eq!(store.done_chunks("job-1").await.expect("done"), vec![0, 2]);
    for (chunk, want) in [
        (0, Some(b"c0".to_vec())),
        (1, None),
        (2, Some(b"c2'".to_vec())),
    ] {
        let got = store.chunk_digests("job-1", chunk).await.expect("digests");
        assert_eq!(got, want, "chunk {chunk}");
    }

    store.delete_chunked_run("job-1").await.expect("delete");
    assert_eq!(store.chunked_run("job-1").await.expect("read"), None);
    assert!(store.done_chunks("job-1").await.expect("done").is_empty());

    // Retention deletes what is older than its bound, and only that.
    let old = ChunkedRun {
        id: "job-old".into(),
        ..run.clone()
    };
    store.create_chunked_run(&old, now).await.expect("create");
    store
        .put_chunk_digests("job-old", 0, b"o", now)
        .await
        .expect("put");
    let later = now + TimeDelta::days(2);
    let young = ChunkedRun {
        id: "job-young".into(),
        ..run
    };
    store
        .create_chunked_run(&young, later)
        .await
        .expect("create");
    store
        .put_chunk_digests("job-young", 0, b"y", later)
        .await
        .expect("put");
    let pruned = store
        .prune_chunked_runs(now + TimeDelta::days(1))
        .await
        .expect("prune");
    assert_eq!(pruned, 1);
    assert_eq!(store.chunked_run("job-old").await.expect("read"), None);
    assert!(store.done_chunks("job-old").await.expect("done").is_empty());
    assert!(store.done_chunks("job-9").await.expect("done").is_empty());
    assert_eq!(store.done_chunks("job-young").await.expect("done"), vec![0]);
    assert!(
        store
            .chunked_run("job-young")
            .await
            .expect("read")
            .is_some()
    );
}
on_both_backends!(a_chunked_run_keeps_its_first_records_and_counts_its_chunks);

/// Writes and reads fill L1 unless it is off (`l1_max_bytes = 0`, as in `learnlens worker`
/// and `batch`, which serve no reads); reads then come from the layers below, every time. A
/// row read from L2 keeps its times to the nanosecond. A replica does not obey its own
/// invalidations: its write has just filled its L1.
async fn writes_fill_l1_unless_it_is_off(backend: Backend) {
    // Without Redis, then with it (when it answers: `redis_url` says so loudly otherwise).
    let mut setups = vec![(1 << 20, Layer::L1, None), (0, Layer::L3, None)];
    if let Some(url) = crate::helpers::redis_url().await {
        setups.push((1 << 20, Layer::L1, Some(url.clone())));
        setups.push((0, Layer::L3, Some(url)));
    }
    for (l1_max_bytes, want, redis_url) in setups {
        let Some(app) = TestApp::spawn_with(
            backend,
            Box::new(move |c| {
                c.cache.l1_max_bytes = l1_max_bytes;
                if let Some(url) = redis_url {
                    c.redis.url = url;
                }
            }),
        )
        .await
        else {
            return;
        };
        let now = app.clock.now();
        let row = AnalyticsRow {
            subject_id: "u1".into(),
            role: "learner".into(),
            analytics_type: "engagementScore".into(),
            data: json!({"status": "ok", "value": 1}),
            data_quality: json!({"degraded": false}),
            calculated_at: now + TimeDelta::nanoseconds(123_456_789),
            expires_at: now + TimeDelta::hours(6),
        };
        let cache = &app.state.pipeline.cache;
        cache.put(std::slice::from_ref(&row)).await.expect("put");
        if !app.state.config.redis.url.is_empty() {
            // The put's own invalidation comes back meanwhile; this replica skips it.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        let parts = ("engagementScore", "learner", "u1");
        let key = learnlens::cache::key(parts.0, parts.1, parts.2);
        for _ in 0..2 {
            let (got, layer) = cache.get(&key, parts).await.expect("get").expect("kept");
            // With Redis configured the layer below L1 is L2.
            let want = match (want, !app.state.config.redis.url.is_empty()) {
                (Layer::L3, true) => Layer::L2,
                (w, _) => w,
            };
            assert_eq!(layer, want, "l1_max_bytes = {l1_max_bytes}");
            let data = String::from_utf8_lossy(got.data());
            assert!(data.contains("\"value\":1"), "{data}");
            if layer == Layer::L2 {
                assert_eq!(
                    (got.calculated_at, got.expires_at),
                    (row.calculated_at, row.expires_at)
                );
            }
        }
    }
}
on_both_backends!(writes_fill_l1_unless_it_is_off);

async fn timestamps_keep_microseconds_and_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let store = &app.state.store;
    let t = app.clock.now() + TimeDelta::nanoseconds(123_456_789);
    store
        .put_snapshot("s", "k", &json!(1), t)
        .await
        .expect("put");
    let got = store
        .get_snapshot("s", "k")
        .await
        .expect("read")
        .expect("row");
    assert_eq!(got.fetched_at.timestamp_subsec_micros(), 123_456);
    assert_eq!(got.fetched_at, learnlens::store::DbTime::from(t).0);
}
on_both_backends!(timestamps_keep_microseconds_and_order);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_on_both_backends() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(app) = TestApp::spawn(backend).await else {
            continue;
        };
        app.state
            .store
            .migrate()
            .await
            .expect("second run is a no-op");
        app.state.store.ping().await.expect("ping");
    }
}

/// A PostgreSQL restart ends every open session with `57P01` (admin shutdown): a query cut
/// that way is `Unavailable` (the API's 503, a job's retried attempt), never a database error
/// (500). Here one session is ended the same way, with `pg_terminate_backend`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_by_the_server_is_unavailable_not_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(db) = TestDb::create(Backend::Postgres, dir.path()).await else {
        return;
    };
    let mut victim = PgConnection::connect(&db.url).await.expect("connect");
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut victim)
        .await
        .expect("pid");
    let sleeping = tokio::spawn(async move {
        sqlx::query("SELECT pg_sleep(30)")
            .execute(&mut victim)
            .await
    });
    let mut admin = PgConnection::connect(&db.url).await.expect("connect");
    let asleep = "SELECT count(*) FROM pg_stat_activity \
                  WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%'";
    wait_until(
        Duration::from_secs(10),
        "the victim's query to run",
        async || {
            let n: i64 = sqlx::query_scalar(asleep)
                .bind(pid)
                .fetch_one(&mut admin)
                .await
                .expect("pg_stat_activity");
            n == 1
        },
    )
    .await;
    let ended: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .expect("terminate");
    assert!(ended);
    let err = sleeping
        .await
        .expect("task")
        .expect_err("the session was ended under its query");
    let code = match &err {
        sqlx::Error::Database(e) => e.code().map(|c| c.into_owned()),
        _ => None,
    };
    assert_eq!(code.as_deref(), Some("57P01"), "{err:?}");
    assert!(
        matches!(StoreError::from(err), StoreError::Unavailable(_)),
        "a session ended by the server is a 503, not a 500"
    );
}
