//! Cron schedules as rows (jobs-and-cache.md): name, 5-field cron expression in UTC, enabled,
//! and the last fire time. The scheduler (`jobs/scheduler.rs`) decides which fire time is due;
//! this module makes firing it happen once across any number of replicas.
//!
//! **Invariant:** a fire is a compare-and-swap on `last_fire_at` and the job's insert in one
//! transaction. Of several instances firing the same time, exactly one advances the row and
//! enqueues; the others change nothing. A crash between the two cannot lose or double a fire.

use chrono::{DateTime, Utc};

use super::jobs::insert_job;
use super::{DbTime, NewJob, Store, StoreResult, on_pool};

/// A schedule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub name: String,
    /// A 5-field cron expression, evaluated in UTC (empty when disabled by configuration).
    pub cron: String,
    pub enabled: bool,
    /// The fire time last enqueued, `None` if it never fired.
    pub last_fire_at: Option<DateTime<Utc>>,
    /// When the definition (`cron` or `enabled`) last changed: a schedule never fires for a
    /// time before it (docs/decisions.md, "Scheduler").
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    cron: String,
    enabled: bool,
    last_fire_at: Option<DbTime>,
    updated_at: DbTime,
}

impl From<Row> for Schedule {
    fn from(r: Row) -> Schedule {
        Schedule {
            name: r.name,
            cron: r.cron,
            enabled: r.enabled,
            last_fire_at: r.last_fire_at.map(Into::into),
            updated_at: r.updated_at.into(),
        }
    }
}

/// What [`Store::fire_schedule`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FireOutcome {
    /// This call advanced the schedule and enqueued the job with this id.
    Enqueued(String),
    /// This call advanced the schedule, but an active job already held the singleton key (an
    /// operator's run for the same fire time, say): no second job.
    AlreadyActive,
    /// Another instance fired first, or the definition changed since it was read: nothing
    /// changed.
    Lost,
}

impl Store {
    /// Creates the schedule, or updates its definition if `cron` or `enabled` differ (then
    /// `updated_at = now`); `last_fire_at` is kept. True if a row was written.
    pub async fn upsert_schedule(
        &self,
        name: &str,
        cron: &str,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO schedules (name, cron, enabled, last_fire_at, updated_at)
                 VALUES ($1, $2, $3, NULL, $4)
                 ON CONFLICT (name) DO UPDATE
                     SET cron = excluded.cron, enabled = excluded.enabled, updated_at = excluded.updated_at
                     WHERE schedules.cron <> excluded.cron OR schedules.enabled <> excluded.enabled",
            )
            .bind(name)
            .bind(cron)
            .bind(enabled)
            .bind(DbTime::from(now))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Every schedule, by name.
    pub async fn list_schedules(&self) -> StoreResult<Vec<Schedule>> {
        let rows: Vec<Row> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT name, cron, enabled, last_fire_at, updated_at FROM schedules ORDER BY name",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(Schedule::from).collect())
    }

    /// Fires `schedule` at `fire_at`: advances `last_fire_at` from the value read in
    /// `schedule` to `fire_at` (compare-and-swap, also on `cron` and `enabled`) and enqueues
    /// `job` in the same transaction.
    pub async fn fire_schedule(
        &self,
        schedule: &Schedule,
        fire_at: DateTime<Utc>,
        job: &NewJob,
        now: DateTime<Utc>,
    ) -> StoreResult<FireOutcome> {
        let id = uuid::Uuid::new_v4().to_string();
        let expected = schedule.last_fire_at.map(DbTime::from);
        let (advanced, inserted) = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // `IS NOT DISTINCT FROM`: equal, or both NULL (a schedule that never fired).
            // PostgreSQL and SQLite (3.39+) both have it; a plain `=` never matches NULL.
            let advanced = sqlx::query(
                "UPDATE schedules SET last_fire_at = $1
                 WHERE name = $2 AND cron = $3 AND enabled = TRUE
                   AND last_fire_at IS NOT DISTINCT FROM $4",
            )
            .bind(DbTime::from(fire_at))
            .bind(&schedule.name)
            .bind(&schedule.cron)
            .bind(expected)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let inserted = advanced && insert_job!(self, tx, &id, job, now);
            tx.commit().await?;
            (advanced, inserted)
        });
        Ok(match (advanced, inserted) {
            (false, _) => FireOutcome::Lost,
            (true, true) => FireOutcome::Enqueued(id),
            (true, false) => FireOutcome::AlreadyActive,
        })
    }
}
