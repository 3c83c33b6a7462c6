//! `learnlens jobs list|retry|prune|batch`, run as the real binary on both backends.

use std::process::{Command, Output};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use learnlens::store::{JobStatus, NewJob, Store};
use serde_json::json;

use crate::helpers::{Backend, TestDb};
use crate::on_both_backends;

fn learnlens(db_url: &str, dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_learnlens"))
        .args(args)
        .env("LEARNLENS_DATABASE_URL", db_url)
        .env("LEARNLENS_DATA_DIR", dir)
        .env_remove("LEARNLENS_ENV")
        .env_remove("LEARNLENS_JWT_SECRET")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run learnlens")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A job that ran once and ended with `status` at `at` (the CLI reads the real clock).
async fn finished_job(
    store: &Store,
    kind: &str,
    status: JobStatus,
    error: Option<&str>,
    at: chrono::DateTime<Utc>,
) -> String {
    let job = NewJob {
        kind: kind.into(),
        payload: json!({}),
        owner_id: None,
        parent_id: None,
        singleton_key: None,
        max_attempts: 1,
        run_at: at,
    };
    let id = store.enqueue_job(&job, at).await.expect("enqueue").id;
    let claimed = store
        .claim_jobs(&[kind.to_owned()], 1, at, TimeDelta::minutes(1))
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert!(
        store
            .finish_job(&id, 1, status, error, None, at)
            .await
            .expect("finish")
    );
    id
}

async fn operators_list_retry_and_prune_jobs_from_the_cli(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(db) = TestDb::create(backend, dir.path()).await else {
        return;
    };
    let store = Store::connect(&db.url, 2, Duration::from_secs(5))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let now = Utc::now();
    let failed = finished_job(
        &store,
        "refresh",
        JobStatus::Failed,
        Some("boom\non two lines"),
        now,
    )
    .await;
    let old = finished_job(
        &store,
        "refresh",
        JobStatus::Completed,
        None,
        now - TimeDelta::days(8),
    )
    .await;
    let recent = finished_job(&store, "refresh", JobStatus::Completed, None, now).await;

    let list = learnlens(&db.url, dir.path(), &["jobs", "list", "--status", "failed"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let text = stdout(&list);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(
        text.starts_with(&format!("{failed}\trefresh\tfailed\t1/1\t")),
        "{text}"
    );
    assert!(text.trim_end().ends_with("\tboom on two lines"), "{text}");
    let all = learnlens(&db.url, dir.path(), &["jobs", "list", "--limit", "2"]);
    assert_eq!(stdout(&all).lines().count(), 2, "{}", stdout(&all));

    let retry = learnlens(&db.url, dir.path(), &["jobs", "retry", &failed]);
    assert!(retry.status.success(), "{}", stderr(&retry));
    let job = store.get_job(&failed).await.expect("get").expect("row");
    assert_eq!((job.status, job.attempt), (JobStatus::Queued, 0));
    let again = learnlens(&db.url, dir.path(), &["jobs", "retry", &failed]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("is queued"), "{}", stderr(&again));
    let unknown = learnlens(&db.url, dir.path(), &["jobs", "retry", "no-such-job"]);
    assert!(!unknown.status.success());
    assert!(stderr(&unknown).contains("no job"), "{}", stderr(&unknown));

    let prune = learnlens(&db.url, dir.path(), &["jobs", "prune"]);
    assert!(prune.status.success(), "{}", stderr(&prune));
    assert!(
        stdout(&prune).starts_with("pruned 1 jobs"),
        "{}",
        stdout(&prune)
    );
    assert!(store.get_job(&old).await.expect("get").is_none());
    assert!(store.get_job(&recent).await.expect("get").is_some());

    // A nightly batch queued by hand, for the workers, as of a given instant.
    let batch = learnlens(
        &db.url,
        dir.path(),
        &["jobs", "batch", "--as-of", "2015-07-01T00:00:00Z"],
    );
    assert!(batch.status.success(), "{}", stderr(&batch));
    let id = stdout(&batch).trim().to_owned();
    let job = store.get_job(&id).await.expect("get").expect("queued");
    assert_eq!(
        (job.kind.as_str(), job.status),
        ("nightly-batch", JobStatus::Queued)
    );
    assert_eq!(job.payload, json!({"asOf": "2015-07-01T00:00:00Z"}));
    let bad = learnlens(
        &db.url,
        dir.path(),
        &["jobs", "batch", "--as-of", "yesterday"],
    );
    assert!(!bad.status.success());
    store.close().await;
}
on_both_backends!(operators_list_retry_and_prune_jobs_from_the_cli);
