//! Queue conformance: the same checks on SQLite and PostgreSQL (claim once, singletons,
//! fencing of stale attempts, retries, lease expiry, cancel, retention).

use std::collections::HashSet;

use chrono::TimeDelta;
use learnlens::clock::Clock as _;
use learnlens::store::{CancelOutcome, JobStatus, NewJob, Store};
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

fn job(kind: &str, key: Option<&str>, now: chrono::DateTime<chrono::Utc>) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: json!({"n": 1}),
        owner_id: Some("demo-learner".into()),
        parent_id: None,
        singleton_key: key.map(Into::into),
        max_attempts: 3,
        run_at: now,
    }
}

/// The app's own workers would claim `refresh` jobs too: these tests drive the queue alone.
fn no_workers(c: &mut learnlens::config::Config) {
    c.jobs.serve_runs_workers = false;
}

fn kinds(k: &[&str]) -> Vec<String> {
    k.iter().map(|s| (*s).to_owned()).collect()
}

async fn a_job_is_claimed_once_and_completed(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, Box::new(no_workers)).await else {
        return;
    };
    let (s, now) = (&app.state.store, app.clock.now());
    let e = s
        .enqueue_job(&job("refresh", None, now), now)
        .await
        .expect("enqueue");
    assert!(e.created);
    let lease = TimeDelta::seconds(30);
    assert!(
        s.claim_jobs(&kinds(&["other"]), 10, now, lease)
            .await
            .expect("claim")
            .is_empty(),
        "kind filter"
    );
    let claimed = s
        .claim_jobs(&kinds(&["refresh"]), 10, now, lease)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (claimed[0].attempt, claimed[0].status),
        (1, JobStatus::Running)
    );
    assert_eq!(claimed[0].lease_until, Some(now + lease));
    assert!(
        s.claim_jobs(&kinds(&["refresh"]), 10, now, lease)
            .await
            .expect("claim")
            .is_empty()
    );
    assert!(s.set_job_progress(&e.id, 1, 40).await.expect("progress"));
    assert!(
        s.finish_job(&e.id, 1, JobStatus::Completed, None, None, now)
            .await
            .expect("finish")
    );
    let done = s.get_job(&e.id).await.expect("get").expect("exists");
    assert_eq!(
        (done.status, done.progress, done.finished_at),
        (JobStatus::Completed, 100, Some(now))
    );
}
on_both_backends!(a_job_is_claimed_once_and_completed);

async fn a_singleton_key_returns_the_active_job(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, Box::new(no_workers)).await else {
        return;
    };
    let (s, now) = (&app.state.store, app.clock.now());
    let a = s
        .enqueue_job(&job("refresh", Some("refresh:learner:u1"), now), now)
        .await
        .expect("enqueue");
    let b = s
        .enqueue_job(&job("refresh", Some("refresh:learner:u1"), now), now)
        .await
        .expect("enqueue");
    assert_eq!((b.id.as_str(), b.created), (a.id.as_str(), false));
    s.claim_jobs(&kinds(&["refresh"]), 1, now, TimeDelta::seconds(30))
        .await
        .expect("claim");
    let c = s
        .enqueue_job(&job("refresh", Some("refresh:learner:u1"), now), now)
        .await
        .expect("enqueue");
    assert_eq!(c.id, a.id, "still active while running");
    s.finish_job(&a.id, 1, JobStatus::Completed, None, None, now)
        .await
        .expect("finish");
    let d = s
        .enqueue_job(&job("refresh", Some("refresh:learner:u1"), now), now)
        .await
        .expect("enqueue");
    assert!(d.created && d.id != a.id, "a finished job frees its key");
}
on_both_backends!(a_singleton_key_returns_the_active_job);

async fn a_stale_attempt_changes_nothing_after_its_lease_expired(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, Box::new(no_workers)).await else {
        return;
    };
    let (s, now) = (&app.state.store, app.clock.now());
    let e = s
        .enqueue_job(&job("batch", None, now), now)
        .await
        .expect("enqueue");
    let lease = TimeDelta::seconds(30);
    s.claim_jobs(&kinds(&["batch"]), 1, now, lease)
        .await
        .expect("claim");
    assert_eq!(
        s.heartbeat_job(&e.id, 1, now + TimeDelta::seconds(40))
            .await
            .expect("beat"),
        Some(false)
    );
    // The worker dies: its lease runs out, the job goes back and another worker takes it.
    let later = now + TimeDelta::seconds(41);
    assert_eq!(s.release_expired_jobs(later).await.expect("release"), 1);
    let again = s
        .claim_jobs(&kinds(&["batch"]), 1, later, lease)
        .await
        .expect("claim");
    assert_eq!(again[0].attempt, 2);
    // Every write of attempt 1 is fenced off.
    assert_eq!(
        s.heartbeat_job(&e.id, 1, later + lease)
            .await
            .expect("beat"),
        None
    );
    assert!(!s.set_job_progress(&e.id, 1, 90).await.expect("progress"));
    assert!(
        !s.finish_job(&e.id, 1, JobStatus::Completed, None, None, later)
            .await
            .expect("finish")
    );
    assert!(
        !s.finish_job(&e.id, 1, JobStatus::Failed, Some("x"), None, later)
            .await
            .expect("finish")
    );
    let row = s.get_job(&e.id).await.expect("get").expect("exists");
    assert_eq!(
        (row.status, row.progress, row.attempt),
        (JobStatus::Running, 0, 2)
    );
    assert!(
        s.finish_job(&e.id, 2, JobStatus::Completed, None, None, later)
            .await
            .expect("finish")
    );
}
on_both_backends!(a_stale_attempt_changes_nothing_after_its_lease_expired);

async fn failures_retry_later_then_fail_for_good(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, Box::new(no_workers)).await else {
        return;
    };
    let (s, now) = (&app.state.store, app.clock.now());
    let e = s
        .enqueue_job(&job("x", None, now), now)
        .await
        .expect("enqueue");
    let lease = TimeDelta::seconds(30);
    let mut t = now;
    for attempt in 1..=3 {
        let claimed = s
            .claim_jobs(&kinds(&["x"]), 1, t, lease)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 1, "attempt {attempt}");
        let retry_at = (attempt < 3).then(|| t + TimeDelta::seconds(10));
        let status = if retry_at.is_some() {
            JobStatus::Queued
        } else {
            JobStatus::Failed
        };
        assert!(
            s.finish_job(&e.id, attempt, JobStatus::Failed, Some("boom"), retry_at, t)
                .await
                .expect("fail")
        );
        assert_eq!(
            s.get_job(&e.id).await.expect("get").expect("row").status,
            status
        );
        if retry_at.is_some() {
            assert!(
                s.claim_jobs(&kinds(&["x"]), 1, t + TimeDelta::seconds(9), lease)
                    .await
                    .expect("claim")
                    .is_empty(),
                "not before its time"
            );
        }
        t += TimeDelta::seconds(10);
    }
    let failed = s.get_job(&e.id).await.expect("get").expect("row");
    assert_eq!((failed.attempt, failed.error.as_deref()), (3, Some("boom")));
    assert_eq!(
        s.list_jobs(Some(JobStatus::Failed), 10)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(s.retry_failed_job(&e.id, t).await.expect("rerun"));
    assert_eq!(
        s.claim_jobs(&kinds(&["x"]), 1, t, lease)
            .await
            .expect("claim")[0]
            .attempt,
        1
    );
}
on_both_backends!(failures_retry_later_then_fail_for_good);

async fn an_expired_lease_on_the_last_attempt_fails_the_job(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, Box::new(no_workers)).await else {
        return;
    };
    let (s, now) = (&app.state.store, app.clock.now());
    let mut one = job("x", None, now);
    one.max_attempts = 1;
    let e = s.enqueue_job(&one, now).await.expect("enqueue");
    s.claim_jobs(&kinds(&["x"]), 1, now, TimeDelta::seconds(5))
        .await
        .expect("claim");
    s.release_expired_jobs(now + TimeDelta::seconds(6))
        .await
        .expect("release");
    let row = s.get_job(&e.id).await.expect("get").expect("row");
    assert_eq!(
        (row.status, row.error.as_deref()),
        (JobStatus::Failed, Some("lease expired"))
    );
}
on_both_backends!(an_expired_lease_on_the_last_attempt_fails_the_job);

async fn cancel_is_immediate_when_queued_and_flagged_when_running(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, Box::new(no_workers)).await else {
        return;
    };
    let (s, now) = (&app.state.store, app.clock.now());
    let queued = s
        .enqueue_job(&job("a", None, now), now)
        .await
        .expect("enqueue");
    assert_eq!(
        s.cancel_job(&queued.id, now).await.expect("cancel"),
        CancelOutcome::Cancelled
    );
    assert_eq!(
        s.get_job(&queued.id)
            .await
            .expect("get")
            .expect("row")
            .status,
        JobStatus::Cancelled
    );
    assert!(
        s.claim_jobs(&kinds(&["a"]), 1, now, TimeDelta::seconds(5))
            .await
            .expect("claim")
            .is_empty()
    );
    let running = s
        .enqueue_job(&job("b", None, now), now)
        .await
        .expect("enqueue");
    s.claim_jobs(&kinds(&["b"]), 1, now, TimeDelta::seconds(5))
        .await
        .expect("claim");
    assert_eq!(
        s.cancel_job(&running.id, now).await.expect("cancel"),
        CancelOutcome::Requested
    );
    assert_eq!(
        s.heartbeat_job(&running.id, 1, now).await.expect("beat"),
        Some(true)
    );
    assert!(
        s.finish_job(&running.id, 1, JobStatus::Cancelled, None, None, now)
            .await
            .expect("finish")
    );
    assert_eq!(
        s.cancel_job(&running.id, now).await.expect("cancel"),
        CancelOutcome::AlreadyFinished
    );
    assert_eq!(
        s.cancel_job("no-such-job", now).await.expect("cancel"),
        CancelOutcome::NotFound
    );
}
on_both_backends!(cancel_is_immediate_when_queued_and_flagged_when_running);

async fn concurrent_claimers_take_every_job_exactly_once(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, Box::new(no_workers)).await else {
        return;
    };
    let now = app.clock.now();
    let store: Store = app.state.store.clone();
    let mut ids = HashSet::new();
    for _ in 0..300 {
        ids.insert(
            store
                .enqueue_job(&job("c", None, now), now)
                .await
                .expect("enqueue")
                .id,
        );
    }
    let claimers = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = store
                    .claim_jobs(&kinds(&["c"]), 7, now, TimeDelta::seconds(60))
                    .await
                    .expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
        })
    });
    let claimed: Vec<String> = futures::future::join_all(claimers)
        .await
        .into_iter()
        .flat_map(|r| r.expect("task"))
        .collect();
    let unique: HashSet<String> = claimed.iter().cloned().collect();
    assert_eq!(claimed.len(), 300, "no job claimed twice");
    assert_eq!(unique, ids);
}
on_both_backends!(concurrent_claimers_take_every_job_exactly_once);

async fn retention_prunes_only_old_finished_jobs(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, Box::new(no_workers)).await else {
        return;
    };
    let (s, now) = (&app.state.store, app.clock.now());
    let done = s
        .enqueue_job(&job("p", None, now), now)
        .await
        .expect("enqueue");
    let live = s
        .enqueue_job(&job("p", None, now), now)
        .await
        .expect("enqueue");
    let claimed = s
        .claim_jobs(&kinds(&["p"]), 1, now, TimeDelta::seconds(5))
        .await
        .expect("claim");
    assert_eq!(claimed[0].id, done.id);
    s.finish_job(&done.id, 1, JobStatus::Completed, None, None, now)
        .await
        .expect("finish");
    assert_eq!(
        s.prune_jobs(now, now).await.expect("prune"),
        0,
        "finished exactly now: kept"
    );
    assert_eq!(
        s.prune_jobs(now + TimeDelta::days(7), now)
            .await
            .expect("prune"),
        1
    );
    assert!(s.get_job(&done.id).await.expect("get").is_none());
    assert!(s.get_job(&live.id).await.expect("get").is_some());
    let counts = s.job_counts().await.expect("counts");
    assert_eq!(counts, vec![(JobStatus::Queued, 1)]);
}
on_both_backends!(retention_prunes_only_old_finished_jobs);
