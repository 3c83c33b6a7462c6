//! The durable job queue's rows (jobs-and-cache.md): enqueue with singleton keys, claim once,
//! leases, and every write after a claim fenced by (job id, attempt) so that a stale attempt —
//! one whose lease expired and whose job runs again elsewhere — changes nothing.
//!
//! Claiming: PostgreSQL selects with `FOR UPDATE SKIP LOCKED`, so any number of workers share
//! the queue without blocking each other; SQLite has one writer and claims inside
//! `BEGIN IMMEDIATE`, so two claims never read the same queued row.
//!
//! Wake-ups: on PostgreSQL an enqueue also runs `pg_notify('learnlens_jobs', kind)` in its
//! transaction, and [`JobWakeups`] is the listening end, so workers in every process start a
//! new job at once instead of at their next poll. SQLite has no such channel; its runtime wakes
//! the workers of its own process and polls for the rest.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::types::Json;

use super::{DbTime, Store, StoreError, StoreResult, on_pool};

/// The PostgreSQL channel that announces enqueued jobs; the payload is the job's kind.
pub const JOBS_CHANNEL: &str = "learnlens_jobs";

/// Inserts `$job` with id `$id` on the open transaction `$tx` of either backend, unless an
/// active job holds its singleton key, and on PostgreSQL announces it on [`JOBS_CHANNEL`]
/// (delivered when the transaction commits). Evaluates to whether the job was inserted.
macro_rules! insert_job {
    ($store:expr, $tx:ident, $id:expr, $job:expr, $now:expr) => {{
        // `DO NOTHING` rather than an error: a unique violation would abort a PostgreSQL
        // transaction, and the caller may have written in it already (a schedule's fire).
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, kind, payload, status, owner_id, parent_id, singleton_key,
                               attempt, max_attempts, run_at, progress, cancel_requested, created_at)
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, 0, $7, $8, 0, FALSE, $9)
             ON CONFLICT DO NOTHING",
        )
        .bind($id)
        .bind(&$job.kind)
        .bind(sqlx::types::Json(&$job.payload))
        .bind(&$job.owner_id)
        .bind(&$job.parent_id)
        .bind(&$job.singleton_key)
        .bind($job.max_attempts.max(1))
        .bind($crate::store::DbTime::from($job.run_at))
        .bind($crate::store::DbTime::from($now))
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1;
        if inserted && $store.backend() == $crate::store::Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind($crate::store::JOBS_CHANNEL)
                .bind(&$job.kind)
                .execute(&mut *$tx)
                .await?;
        }
        inserted
    }};
}
pub(super) use insert_job;

/// The listening end of [`JOBS_CHANNEL`] (PostgreSQL only), on a connection of its own.
pub struct JobWakeups {
    listener: PgListener,
}

/// What [`JobWakeups::next`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wakeup {
    /// A job of this kind was enqueued.
    Enqueued(String),
    /// The connection was lost and has been re-established: announcements made meanwhile are
    /// gone, so whoever waits should look at the queue once.
    Reconnected,
}

impl JobWakeups {
    /// Waits for the next announcement. An error means the listener is broken; drop it and
    /// ask [`Store::job_wakeups`] for a new one after a pause.
    pub async fn next(&mut self) -> StoreResult<Wakeup> {
        Ok(match self.listener.try_recv().await? {
            Some(n) => Wakeup::Enqueued(n.payload().to_owned()),
            None => Wakeup::Reconnected,
        })
    }
}

/// The status of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<JobStatus, StoreError> {
        Ok(match s {
            "queued" => JobStatus::Queued,
            "running" => JobStatus::Running,
            "completed" => JobStatus::Completed,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            other => return Err(StoreError::Corrupt(format!("job status {other}"))),
        })
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// A job to add.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub owner_id: Option<String>,
    pub parent_id: Option<String>,
    /// Unique among queued and running jobs: enqueueing it again returns the active job.
    pub singleton_key: Option<String>,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
}

/// The result of an enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub id: String,
    /// False when an active job with the same singleton key was returned instead.
    pub created: bool,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    pub owner_id: Option<String>,
    pub parent_id: Option<String>,
    pub singleton_key: Option<String>,
    pub attempt: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub lease_until: Option<DateTime<Utc>>,
    pub progress: i32,
    pub cancel_requested: bool,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    kind: String,
    payload: Json<serde_json::Value>,
    status: String,
    owner_id: Option<String>,
    parent_id: Option<String>,
    singleton_key: Option<String>,
    attempt: i32,
    max_attempts: i32,
    run_at: DbTime,
    lease_until: Option<DbTime>,
    progress: i32,
    cancel_requested: bool,
    error: Option<String>,
    created_at: DbTime,
    started_at: Option<DbTime>,
    finished_at: Option<DbTime>,
}

impl TryFrom<Row> for Job {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Job, StoreError> {
        Ok(Job {
            status: JobStatus::parse(&r.status)?,
            id: r.id,
            kind: r.kind,
            payload: r.payload.0,
            owner_id: r.owner_id,
            parent_id: r.parent_id,
            singleton_key: r.singleton_key,
            attempt: r.attempt,
            max_attempts: r.max_attempts,
            run_at: r.run_at.into(),
            lease_until: r.lease_until.map(Into::into),
            progress: r.progress,
            cancel_requested: r.cancel_requested,
            error: r.error,
            created_at: r.created_at.into(),
            started_at: r.started_at.map(Into::into),
            finished_at: r.finished_at.map(Into::into),
        })
    }
}

/// All columns, in `Row`'s order.
macro_rules! job_columns {
    () => {
        "id, kind, payload, status, owner_id, parent_id, singleton_key, attempt, max_attempts, run_at, \
         lease_until, progress, cancel_requested, error, created_at, started_at, finished_at"
    };
}

/// What a cancel request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// It was queued: now cancelled.
    Cancelled,
    /// It is running: flagged, it stops at its next step.
    Requested,
    /// It had already finished.
    AlreadyFinished,
    NotFound,
}

impl Store {
    /// Adds a job, or returns the active job holding the same singleton key. On PostgreSQL the
    /// insert is announced on [`JOBS_CHANNEL`] in the same transaction, so idle workers of
    /// every process wake at once (delivered at commit; never for a rolled-back insert).
    pub async fn enqueue_job(&self, job: &NewJob, now: DateTime<Utc>) -> StoreResult<Enqueued> {
        // A conflicting job may finish between our insert and our lookup; then try again.
        for _ in 0..3 {
            let id = uuid::Uuid::new_v4().to_string();
            let inserted = on_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                let inserted = insert_job!(self, tx, &id, job, now);
                tx.commit().await?;
                inserted
            });
            if inserted {
                return Ok(Enqueued { id, created: true });
            }
            let Some(key) = &job.singleton_key else {
                return Err(StoreError::Conflict("job id collision"));
            };
            if let Some(id) = self.active_job_with_key(key).await? {
                return Ok(Enqueued { id, created: false });
            }
        }
        Err(StoreError::Conflict("singleton key contended"))
    }

    /// The queued or running job holding singleton key `key`, if any.
    pub(super) async fn active_job_with_key(&self, key: &str) -> StoreResult<Option<String>> {
        let id = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM jobs WHERE singleton_key = $1 AND status IN ('queued', 'running')",
            )
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        Ok(id)
    }

    /// Listens for enqueue announcements on a connection of its own (PostgreSQL); `None` on
    /// SQLite, whose only writers are in this process and wake its workers directly.
    pub async fn job_wakeups(&self) -> StoreResult<Option<JobWakeups>> {
        let Store::Postgres(pool) = self else {
            return Ok(None);
        };
        // A one-connection pool of its own: the listener holds its connection for as long as
        // it lives, which would otherwise take one from the queries' pool for good.
        let own = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_lazy_with((*pool.connect_options()).clone());
        let mut listener = PgListener::connect_with(&own).await?;
        listener.ignore_pool_close_event(true);
        listener.listen(JOBS_CHANNEL).await?;
        Ok(Some(JobWakeups { listener }))
    }

    pub async fn get_job(&self, id: &str) -> StoreResult<Option<Job>> {
        let row: Option<Row> = on_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Job::try_from).transpose()
    }

    /// Claims up to `limit` due jobs of `kinds`, each exactly once across every worker and
    /// process: status `running`, attempt + 1, a lease until `now + lease`.
    pub async fn claim_jobs(
        &self,
        kinds: &[String],
        limit: i64,
        now: DateTime<Utc>,
        lease: chrono::TimeDelta,
    ) -> StoreResult<Vec<Job>> {
        let (now_t, lease_t) = (DbTime::from(now), DbTime::from(now + lease));
        let kinds = Json(kinds);
        let rows: Vec<Row> = match self {
            Store::Postgres(pool) => {
                sqlx::query_as(concat!(
                    "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_until = $1,
                                     started_at = COALESCE(started_at, $2), error = NULL
                     WHERE id IN (SELECT id FROM jobs
                                  WHERE status = 'queued' AND run_at <= $2
                                    AND kind IN (SELECT jsonb_array_elements_text($3::jsonb))
                                  ORDER BY run_at, created_at LIMIT $4 FOR UPDATE SKIP LOCKED)
                     RETURNING ",
                    job_columns!()
                ))
                .bind(lease_t)
                .bind(now_t)
                .bind(kinds)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            Store::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let rows = sqlx::query_as(concat!(
                    "UPDATE jobs SET status = 'running', attempt = attempt + 1, lease_until = $1,
                                     started_at = COALESCE(started_at, $2), error = NULL
                     WHERE id IN (SELECT id FROM jobs
                                  WHERE status = 'queued' AND run_at <= $2
                                    AND kind IN (SELECT value FROM json_each($3))
                                  ORDER BY run_at, created_at LIMIT $4)
                     RETURNING ",
                    job_columns!()
                ))
                .bind(lease_t)
                .bind(now_t)
                .bind(kinds)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                rows
            }
        };
        rows.into_iter().map(Job::try_from).collect()
    }

    /// Extends the lease of attempt `attempt`; `None` if that attempt no longer owns the job,
    /// else whether a cancel was requested.
    pub async fn heartbeat_job(
        &self,
        id: &str,
        attempt: i32,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<bool>> {
        let cancel: Option<bool> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND attempt = $3 AND status = 'running'
                 RETURNING cancel_requested",
            )
            .bind(DbTime::from(lease_until))
            .bind(id)
            .bind(attempt)
            .fetch_optional(pool)
            .await?
        });
        Ok(cancel)
    }

    /// Sets progress (0–100) of attempt `attempt`; false if it no longer owns the job.
    pub async fn set_job_progress(
        &self,
        id: &str,
        attempt: i32,
        progress: i32,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, pool => {
            sqlx::query("UPDATE jobs SET progress = $1 WHERE id = $2 AND attempt = $3 AND status = 'running'")
                .bind(progress.clamp(0, 100))
                .bind(id)
                .bind(attempt)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Ends attempt `attempt` with `status` (completed, failed or cancelled) or, for a failure
    /// with attempts left, puts it back in the queue at `retry_at`. False if the attempt no
    /// longer owns the job (a stale attempt changes nothing).
    pub async fn finish_job(
        &self,
        id: &str,
        attempt: i32,
        status: JobStatus,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let now = DbTime::from(now);
        let n = match retry_at {
            Some(at) => on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE jobs SET status = 'queued', run_at = $1, lease_until = NULL, error = $2
                     WHERE id = $3 AND attempt = $4 AND status = 'running'",
                )
                .bind(DbTime::from(at))
                .bind(error)
                .bind(id)
                .bind(attempt)
                .execute(pool)
                .await?
                .rows_affected()
            }),
            None => on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE jobs SET status = $1, finished_at = $2, lease_until = NULL, error = $3,
                                     progress = CASE WHEN $1 = 'completed' THEN 100 ELSE progress END
                     WHERE id = $4 AND attempt = $5 AND status = 'running'",
                )
                .bind(status.as_str())
                .bind(now)
                .bind(error)
                .bind(id)
                .bind(attempt)
                .execute(pool)
                .await?
                .rows_affected()
            }),
        };
        Ok(n == 1)
    }

    /// Cancels a queued job at once, or flags a running one. Single-statement steps, no
    /// read-then-write transaction: the job may move on between them (claimed, finished), and
    /// each step only acts on the state it names.
    pub async fn cancel_job(&self, id: &str, now: DateTime<Utc>) -> StoreResult<CancelOutcome> {
        let now = DbTime::from(now);
        let cancelled = on_pool!(self, pool => {
            sqlx::query("UPDATE jobs SET status = 'cancelled', finished_at = $1 WHERE id = $2 AND status = 'queued'")
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if cancelled == 1 {
            return Ok(CancelOutcome::Cancelled);
        }
        let flagged = on_pool!(self, pool => {
            sqlx::query("UPDATE jobs SET cancel_requested = TRUE WHERE id = $1 AND status = 'running'")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if flagged == 1 {
            return Ok(CancelOutcome::Requested);
        }
        let status: Option<String> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(match status {
            None => CancelOutcome::NotFound,
            // Retried from the queue between our two updates (a failure with attempts left):
            // cancel it there.
            Some(s) if s == "queued" || s == "running" => {
                Box::pin(self.cancel_job(id, now.0)).await?
            }
            Some(_) => CancelOutcome::AlreadyFinished,
        })
    }

    /// Running jobs whose lease expired (their worker died): back to the queue while attempts
    /// remain, else failed. Returns how many were released.
    pub async fn release_expired_jobs(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let now = DbTime::from(now);
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let requeued = sqlx::query(
                "UPDATE jobs SET status = 'queued', run_at = $1, lease_until = NULL, error = 'lease expired'
                 WHERE status = 'running' AND lease_until < $1 AND attempt < max_attempts",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let failed = sqlx::query(
                "UPDATE jobs SET status = 'failed', finished_at = $1, lease_until = NULL, error = 'lease expired'
                 WHERE status = 'running' AND lease_until < $1",
            )
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            requeued + failed
        });
        Ok(n)
    }

    /// Puts a failed job back in the queue with a fresh set of attempts (operators' re-run).
    pub async fn retry_failed_job(&self, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let n = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET status = 'queued', attempt = 0, run_at = $1, finished_at = NULL, cancel_requested = FALSE
                 WHERE id = $2 AND status = 'failed'",
            )
            .bind(DbTime::from(now))
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Jobs with `status` (every status if `None`), newest first: operators' listing of dead
    /// letters and the like.
    pub async fn list_jobs(&self, status: Option<JobStatus>, limit: i64) -> StoreResult<Vec<Job>> {
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(concat!(
                "SELECT ", job_columns!(),
                " FROM jobs WHERE $1 IS NULL OR status = $1 ORDER BY created_at DESC, id LIMIT $2"
            ))
            .bind(status.map(JobStatus::as_str))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Job::try_from).collect()
    }

    /// The children of a fan-out job (the nightly batch's organisations), oldest first.
    pub async fn child_jobs(&self, parent_id: &str) -> StoreResult<Vec<Job>> {
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(concat!("SELECT ", job_columns!(), " FROM jobs WHERE parent_id = $1 ORDER BY created_at, id"))
                .bind(parent_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Job::try_from).collect()
    }

    /// Deletes completed and cancelled jobs finished before `done_before` and failed ones
    /// before `failed_before` (retention).
    pub async fn prune_jobs(
        &self,
        done_before: DateTime<Utc>,
        failed_before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let n = on_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM jobs WHERE (status IN ('completed', 'cancelled') AND finished_at < $1)
                                     OR (status = 'failed' AND finished_at < $2)",
            )
            .bind(DbTime::from(done_before))
            .bind(DbTime::from(failed_before))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n)
    }

    /// Jobs per status, for `/metrics`.
    pub async fn job_counts(&self) -> StoreResult<Vec<(JobStatus, i64)>> {
        let rows: Vec<(String, i64)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(s, n)| Ok((JobStatus::parse(&s)?, n)))
            .collect()
    }
}
