//! The job runtime over the store's queue (jobs-and-cache.md): workers claim due jobs, run
//! their kind's handler while a heartbeat renews the lease, and record the outcome — every
//! write fenced by (job id, attempt), so a stale attempt changes nothing. Failures are retried
//! with exponential backoff and jitter up to the job's attempts; a cancel request reaches the
//! handler through [`JobContext::checkpoint`]; on shutdown workers stop claiming and running
//! jobs get a grace period, after which they are released for another worker.
//!
//! Wake-ups: an enqueue through [`Runtime::enqueue`] wakes this process's idle workers at once.
//! On PostgreSQL every enqueue, from any process, is also announced on the store's
//! `learnlens_jobs` channel (`pg_notify` in the enqueue's transaction), and each runtime keeps
//! a listener on it that wakes its idle workers; a lost listener reconnects, and polling every
//! `poll_ms` stays as the fallback. SQLite has no channel between processes: a job that another
//! process writes to the same file (an admin command) is found at the next poll.
//!
//! [`scheduler`] turns cron schedules into jobs (the nightly batch) and runs retention.

pub mod scheduler;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use rand::Rng as _;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::store::{Enqueued, Job, JobStatus, NewJob, Store, StoreError, Wakeup};

/// The kind of the nightly batch job, enqueued by the scheduler (its handler is the batch's).
pub const BATCH_KIND: &str = "nightly-batch";

/// Queue settings (`[jobs]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Workers per process.
    pub workers: usize,
    /// A claimed job's lease; renewed every `heartbeat_secs`.
    pub lease_secs: u64,
    pub heartbeat_secs: u64,
    /// How often idle workers look for due jobs when nothing woke them.
    pub poll_ms: u64,
    /// Retry n waits uniformly in [0, base·2ⁿ] seconds (capped).
    pub retry_base_secs: u64,
    pub retry_max_secs: u64,
    /// On shutdown, running jobs get this long before they are released.
    pub shutdown_grace_secs: u64,
    /// Whether `serve` runs workers too (`learnlens worker` always does).
    pub serve_runs_workers: bool,
    /// When the nightly batch runs: a 5-field cron expression in UTC; empty disables it.
    pub nightly_batch_cron: String,
    /// How often the scheduler looks for due schedules.
    pub scheduler_tick_secs: u64,
    /// Completed and cancelled jobs are deleted this long after they finished.
    pub retention_completed_days: u32,
    /// Failed jobs (the dead letters) are deleted this long after they failed.
    pub retention_failed_days: u32,
    /// A batch computes an organisation with more users in chunks of this many, so that one
    /// chunk's statements are in memory at a time; 0 never splits.
    pub batch_chunk_users: usize,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            workers: 4,
            lease_secs: 30,
            heartbeat_secs: 10,
            poll_ms: 1000,
            retry_base_secs: 5,
            retry_max_secs: 300,
            shutdown_grace_secs: 30,
            serve_runs_workers: true,
            nightly_batch_cron: "0 2 * * *".into(),
            scheduler_tick_secs: 15,
            retention_completed_days: 7,
            retention_failed_days: 14,
            batch_chunk_users: 5_000,
        }
    }
}

impl JobsConfig {
    /// Refuses settings that cannot work: a cron expression that does not parse, zero
    /// workers or periods.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.workers == 0 {
            anyhow::bail!("jobs.workers must be at least 1");
        }
        if self.lease_secs == 0
            || self.heartbeat_secs == 0
            || self.heartbeat_secs >= self.lease_secs
        {
            anyhow::bail!("jobs.heartbeat_secs must be at least 1 and below jobs.lease_secs");
        }
        if self.scheduler_tick_secs == 0 {
            anyhow::bail!("jobs.scheduler_tick_secs must be at least 1");
        }
        if self.retention_completed_days == 0 || self.retention_failed_days == 0 {
            anyhow::bail!("jobs.retention_*_days must be at least 1");
        }
        if !self.nightly_batch_cron.trim().is_empty() {
            scheduler::parse_cron(&self.nightly_batch_cron)
                .map_err(|e| anyhow::anyhow!("jobs.nightly_batch_cron: {e}"))?;
        }
        Ok(())
    }
}

/// How a handler ended without success.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// It saw a cancel request and stopped.
    #[error("cancelled")]
    Cancelled,
    /// Its attempt lost the job (lease expired, run elsewhere): nothing may be recorded.
    #[error("stale attempt")]
    Stale,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Failed(e.into())
    }
}

/// What a handler sees of its job.
pub struct JobContext {
    pub job: Job,
    store: Store,
    cancelled: CancellationToken,
    stale: CancellationToken,
}

impl JobContext {
    /// Reports progress (0–100).
    pub async fn progress(&self, percent: i32) -> Result<(), JobError> {
        if self
            .store
            .set_job_progress(&self.job.id, self.job.attempt, percent)
            .await?
        {
            Ok(())
        } else {
            Err(JobError::Stale)
        }
    }

    /// Call between steps: stops the handler if the job was cancelled or lost.
    pub fn checkpoint(&self) -> Result<(), JobError> {
        if self.stale.is_cancelled() {
            Err(JobError::Stale)
        } else if self.cancelled.is_cancelled() {
            Err(JobError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The code of one job kind. Handlers must be idempotent: a job can run more than once.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync {
    fn kind(&self) -> &'static str;
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError>;
}

/// The workers of one process and what they can run.
pub struct Runtime {
    store: Store,
    clock: Arc<dyn Clock>,
    config: JobsConfig,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    wake: Notify,
}

impl Runtime {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: JobsConfig,
        handlers: Vec<Arc<dyn JobHandler>>,
    ) -> Arc<Runtime> {
        Arc::new(Runtime {
            store,
            clock,
            config,
            handlers: handlers.into_iter().map(|h| (h.kind(), h)).collect(),
            wake: Notify::new(),
        })
    }

    /// Adds a job and wakes this process's idle workers.
    pub async fn enqueue(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        let enqueued = self.store.enqueue_job(job, self.clock.now()).await?;
        if enqueued.created {
            self.wake.notify_waiters();
        }
        Ok(enqueued)
    }

    /// Starts the workers and the lease reaper; they stop claiming when `shutdown` fires.
    pub fn spawn(
        self: &Arc<Self>,
        shutdown: CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks: Vec<_> = (0..self.config.workers.max(1))
            .map(|_| {
                let rt = self.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move { rt.work(shutdown).await })
            })
            .collect();
        let rt = self.clone();
        let reap_shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move { rt.reap(reap_shutdown).await }));
        if self.store.backend() == crate::store::Backend::Postgres {
            let rt = self.clone();
            tasks.push(tokio::spawn(async move { rt.listen(shutdown).await }));
        }
        tasks
    }

    /// PostgreSQL: wakes the idle workers whenever any process enqueues a job of a kind this
    /// runtime handles. A broken listener is replaced after a pause; meanwhile the workers
    /// poll, so a lost wake-up costs at most `poll_ms`.
    async fn listen(&self, shutdown: CancellationToken) {
        const RETRY: Duration = Duration::from_secs(2);
        while !shutdown.is_cancelled() {
            let mut wakeups = match self.store.job_wakeups().await {
                Ok(Some(w)) => w,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "listening for job wake-ups failed; polling meanwhile");
                    tokio::select! {
                        () = tokio::time::sleep(RETRY) => continue,
                        () = shutdown.cancelled() => return,
                    }
                }
            };
            // Jobs enqueued before the listener was up were not announced to it.
            self.wake.notify_waiters();
            loop {
                let next = tokio::select! {
                    n = wakeups.next() => n,
                    () = shutdown.cancelled() => return,
                };
                match next {
                    Ok(Wakeup::Enqueued(kind)) => {
                        if self.handlers.contains_key(kind.as_str()) {
                            self.wake.notify_waiters();
                        }
                    }
                    Ok(Wakeup::Reconnected) => {
                        tracing::info!("job wake-up listener reconnected");
                        self.wake.notify_waiters();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "job wake-up listener failed; reconnecting");
                        break;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(RETRY) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    fn kinds(&self) -> Vec<String> {
        self.handlers.keys().map(|k| (*k).to_owned()).collect()
    }

    async fn work(&self, shutdown: CancellationToken) {
        let kinds = self.kinds();
        let lease = TimeDelta::seconds(i64::try_from(self.config.lease_secs).unwrap_or(30));
        while !shutdown.is_cancelled() {
            // Register for a wake-up before looking, so an enqueue in between is not missed.
            let woken = self.wake.notified();
            let claimed = match self
                .store
                .claim_jobs(&kinds, 1, self.clock.now(), lease)
                .await
            {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs failed");
                    Vec::new()
                }
            };
            match claimed.into_iter().next() {
                Some(job) => self.run_one(job, &shutdown).await,
                None => {
                    tokio::select! {
                        () = woken => {}
                        () = tokio::time::sleep(Duration::from_millis(self.config.poll_ms)) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
            }
        }
    }

    async fn run_one(&self, job: Job, shutdown: &CancellationToken) {
        let Some(handler) = self.handlers.get(job.kind.as_str()).cloned() else {
            return;
        };
        let started = std::time::Instant::now();
        let ctx = JobContext {
            job: job.clone(),
            store: self.store.clone(),
            cancelled: CancellationToken::new(),
            stale: CancellationToken::new(),
        };
        let beat = self.heartbeat(&ctx);
        let grace = Duration::from_secs(self.config.shutdown_grace_secs);
        let outcome = tokio::select! {
            r = handler.run(&ctx) => Some(r),
            () = beat => Some(Err(JobError::Stale)),
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => None,
        };
        let (id, attempt, now) = (&job.id, job.attempt, self.clock.now());
        let recorded = match outcome {
            None => {
                tracing::warn!(job.id = %id, "shutdown grace over; releasing the job");
                self.store
                    .finish_job(
                        id,
                        attempt,
                        JobStatus::Failed,
                        Some("released at shutdown"),
                        Some(now),
                        now,
                    )
                    .await
            }
            Some(Ok(())) => {
                self.store
                    .finish_job(id, attempt, JobStatus::Completed, None, None, now)
                    .await
            }
            Some(Err(JobError::Cancelled)) => {
                self.store
                    .finish_job(id, attempt, JobStatus::Cancelled, None, None, now)
                    .await
            }
            Some(Err(JobError::Stale)) => Ok(false),
            Some(Err(JobError::Failed(e))) => {
                tracing::warn!(job.id = %id, job.kind = %job.kind, attempt, error = %e, "job failed");
                let retry_at = (attempt < job.max_attempts).then(|| now + self.backoff(attempt));
                self.store
                    .finish_job(
                        id,
                        attempt,
                        JobStatus::Failed,
                        Some(&e.to_string()),
                        retry_at,
                        now,
                    )
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::warn!(job.id = %id, error = %e, "recording the job's outcome failed; its lease will expire");
        }
        metrics::histogram!("learnlens_job_duration_seconds", "kind" => job.kind.clone())
            .record(started.elapsed().as_secs_f64());
    }

    /// Renews the lease until the attempt is lost (then returns); flags a cancel request.
    async fn heartbeat(&self, ctx: &JobContext) {
        let every = Duration::from_secs(self.config.heartbeat_secs.max(1));
        let lease = TimeDelta::seconds(i64::try_from(self.config.lease_secs).unwrap_or(30));
        loop {
            tokio::time::sleep(every).await;
            match self
                .store
                .heartbeat_job(&ctx.job.id, ctx.job.attempt, self.clock.now() + lease)
                .await
            {
                Ok(Some(cancel)) => {
                    if cancel {
                        ctx.cancelled.cancel();
                    }
                }
                Ok(None) => {
                    ctx.stale.cancel();
                    return;
                }
                Err(e) => tracing::warn!(job.id = %ctx.job.id, error = %e, "heartbeat failed"),
            }
        }
    }

    fn backoff(&self, attempt: i32) -> TimeDelta {
        let cap = self
            .config
            .retry_base_secs
            .saturating_mul(1u64 << u32::try_from(attempt.clamp(0, 16)).unwrap_or(16))
            .min(self.config.retry_max_secs)
            .max(1);
        let ms = rand::rng().random_range(0..=cap.saturating_mul(1000));
        TimeDelta::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
    }

    async fn reap(&self, shutdown: CancellationToken) {
        let every = Duration::from_secs(self.config.heartbeat_secs.max(1));
        while !shutdown.is_cancelled() {
            match self.store.release_expired_jobs(self.clock.now()).await {
                Ok(n) if n > 0 => {
                    tracing::warn!(jobs = n, "released jobs whose lease expired");
                    self.wake.notify_waiters();
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "releasing expired jobs failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = shutdown.cancelled() => {}
            }
        }
    }
}
