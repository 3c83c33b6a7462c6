//! The job runtime with test handlers, on both backends: every effect exactly once, retries up
//! to the job's attempts, cancel of a running job, graceful shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use learnlens::clock::{Clock, SystemClock};
use learnlens::jobs::{JobContext, JobError, JobHandler, JobsConfig, Runtime};
use learnlens::store::{JobStatus, NewJob};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::helpers::{Backend, TestApp, wait_until};
use crate::on_both_backends;

/// Counts how often each job's effect happened.
#[derive(Default)]
struct Effects(Mutex<HashMap<String, usize>>);

struct Count(Arc<Effects>);
#[async_trait::async_trait]
impl JobHandler for Count {
    fn kind(&self) -> &'static str {
        "count"
    }
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        ctx.progress(50).await?;
        *self
            .0
            .0
            .lock()
            .expect("lock")
            .entry(ctx.job.id.clone())
            .or_default() += 1;
        Ok(())
    }
}

struct AlwaysFails(Arc<AtomicUsize>);
#[async_trait::async_trait]
impl JobHandler for AlwaysFails {
    fn kind(&self) -> &'static str {
        "fails"
    }
    async fn run(&self, _: &JobContext) -> Result<(), JobError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(JobError::Failed(anyhow::anyhow!("boom")))
    }
}

struct Slow;
#[async_trait::async_trait]
impl JobHandler for Slow {
    fn kind(&self) -> &'static str {
        "slow"
    }
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        for step in 0..40 {
            ctx.checkpoint()?;
            ctx.progress(step * 2).await?;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }
}

fn config() -> JobsConfig {
    JobsConfig {
        workers: 4,
        lease_secs: 5,
        heartbeat_secs: 1,
        poll_ms: 100,
        retry_base_secs: 0,
        retry_max_secs: 1,
        shutdown_grace_secs: 10,
        ..JobsConfig::default()
    }
}

fn new_job(kind: &str, clock: &dyn Clock) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: json!({}),
        owner_id: None,
        parent_id: None,
        singleton_key: None,
        max_attempts: 3,
        run_at: clock.now(),
    }
}

async fn every_job_takes_effect_exactly_once_with_four_workers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let effects = Arc::new(Effects::default());
    let rt = Runtime::new(
        app.state.store.clone(),
        clock.clone(),
        config(),
        vec![Arc::new(Count(effects.clone()))],
    );
    let shutdown = CancellationToken::new();
    let tasks = rt.spawn(shutdown.clone());
    let mut ids = Vec::new();
    for _ in 0..200 {
        ids.push(
            rt.enqueue(&new_job("count", clock.as_ref()))
                .await
                .expect("enqueue")
                .id,
        );
    }
    let store = app.state.store.clone();
    wait_until(Duration::from_secs(15), "the jobs", async || {
        store.job_counts().await.expect("counts") == vec![(JobStatus::Completed, 200)]
    })
    .await;
    shutdown.cancel();
    for t in tasks {
        t.await.expect("worker");
    }
    let effects = effects.0.lock().expect("lock");
    assert_eq!(effects.len(), 200);
    assert!(
        effects.values().all(|n| *n == 1),
        "an effect happened twice"
    );
    assert!(ids.iter().all(|id| effects.contains_key(id)));
}
on_both_backends!(every_job_takes_effect_exactly_once_with_four_workers);

async fn a_failing_job_makes_exactly_its_attempts_then_fails(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let runs = Arc::new(AtomicUsize::new(0));
    let rt = Runtime::new(
        app.state.store.clone(),
        clock.clone(),
        config(),
        vec![Arc::new(AlwaysFails(runs.clone()))],
    );
    let shutdown = CancellationToken::new();
    let tasks = rt.spawn(shutdown.clone());
    let id = rt
        .enqueue(&new_job("fails", clock.as_ref()))
        .await
        .expect("enqueue")
        .id;
    let store = app.state.store.clone();
    wait_until(Duration::from_secs(15), "the jobs", async || {
        store
            .get_job(&id)
            .await
            .expect("get")
            .is_some_and(|j| j.status == JobStatus::Failed)
    })
    .await;
    shutdown.cancel();
    for t in tasks {
        t.await.expect("worker");
    }
    let job = store.get_job(&id).await.expect("get").expect("row");
    assert_eq!((job.attempt, job.error.as_deref()), (3, Some("boom")));
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}
on_both_backends!(a_failing_job_makes_exactly_its_attempts_then_fails);

async fn a_running_job_stops_at_its_next_step_when_cancelled(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let rt = Runtime::new(
        app.state.store.clone(),
        clock.clone(),
        config(),
        vec![Arc::new(Slow)],
    );
    let shutdown = CancellationToken::new();
    let tasks = rt.spawn(shutdown.clone());
    let id = rt
        .enqueue(&new_job("slow", clock.as_ref()))
        .await
        .expect("enqueue")
        .id;
    let store = app.state.store.clone();
    wait_until(Duration::from_secs(15), "the jobs", async || {
        store
            .get_job(&id)
            .await
            .expect("get")
            .is_some_and(|j| j.progress > 0)
    })
    .await;
    store.cancel_job(&id, clock.now()).await.expect("cancel");
    wait_until(Duration::from_secs(15), "the jobs", async || {
        store
            .get_job(&id)
            .await
            .expect("get")
            .is_some_and(|j| j.status == JobStatus::Cancelled)
    })
    .await;
    let job = store.get_job(&id).await.expect("get").expect("row");
    assert!(job.progress < 80, "it stopped early, at {}", job.progress);
    shutdown.cancel();
    for t in tasks {
        t.await.expect("worker");
    }
}
on_both_backends!(a_running_job_stops_at_its_next_step_when_cancelled);

async fn shutdown_lets_running_jobs_finish_and_leaves_nothing_running(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let rt = Runtime::new(
        app.state.store.clone(),
        clock.clone(),
        config(),
        vec![Arc::new(Slow)],
    );
    let shutdown = CancellationToken::new();
    let tasks = rt.spawn(shutdown.clone());
    let id = rt
        .enqueue(&new_job("slow", clock.as_ref()))
        .await
        .expect("enqueue")
        .id;
    let queued = rt
        .enqueue(&NewJob {
            run_at: clock.now() + chrono::TimeDelta::hours(1),
            ..new_job("slow", clock.as_ref())
        })
        .await
        .expect("enqueue")
        .id;
    let store = app.state.store.clone();
    wait_until(Duration::from_secs(15), "the jobs", async || {
        store
            .get_job(&id)
            .await
            .expect("get")
            .is_some_and(|j| j.status == JobStatus::Running)
    })
    .await;
    shutdown.cancel();
    for t in tasks {
        t.await.expect("worker");
    }
    assert_eq!(
        store.get_job(&id).await.expect("get").expect("row").status,
        JobStatus::Completed
    );
    assert_eq!(
        store
            .get_job(&queued)
            .await
            .expect("get")
            .expect("row")
            .status,
        JobStatus::Queued
    );
    let counts = store.job_counts().await.expect("counts");
    assert!(
        counts.iter().all(|(s, _)| *s != JobStatus::Running),
        "{counts:?}"
    );
}
on_both_backends!(shutdown_lets_running_jobs_finish_and_leaves_nothing_running);
