//! The store: one facade over PostgreSQL and SQLite, chosen by the URL scheme.
//!
//! Invariants:
//! - Every query is written once; `on_pool!` runs the same text on whichever pool is active
//!   (`$1` placeholders, `ON CONFLICT`, `RETURNING` and partial indexes work on both).
//! - Times are bound from the caller (never `now()` in SQL), so a fake clock reaches the store.
//! - Migrations are per backend, append-only, embedded in the binary.
//! - Nothing outside this module sees a pool or writes SQL.

mod analytics;
mod chunked_runs;
mod jobs;
mod models;
mod schedules;
mod snapshots;
mod time;
mod tokens;
mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use analytics::AnalyticsRow;
pub use chunked_runs::ChunkedRun;
pub use jobs::{CancelOutcome, Enqueued, JOBS_CHANNEL, Job, JobStatus, JobWakeups, NewJob, Wakeup};
pub use models::{MODEL_VERSIONS_KEPT, StoredModel};
pub use schedules::{FireOutcome, Schedule};
pub use snapshots::Snapshot;
pub use time::DbTime;
pub use tokens::{RefreshFamily, RotateOutcome};
pub use users::{NewUser, User};

/// Runs `$body` with `$pool` bound to the active backend's pool. The body is compiled once per
/// backend, so the same query text and binds serve both.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Postgres($pool) => $body,
            $crate::store::Store::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Errors of the store. Callers map `Unavailable` to 503 and the rest to 500.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("stored value is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(db) if db.code().as_deref().is_some_and(connection_lost) => {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict("a row with that key already exists")
            }
            _ => StoreError::Database(e),
        }
    }
}

/// Whether a PostgreSQL error code (SQLSTATE) says the server went away or is not taking
/// connections, rather than that the statement is wrong: a restart sends `57P01` to every open
/// session and answers `57P03` while it starts; class `08` is a lost connection. Such errors
/// are `Unavailable` (503, the job retried later), like a refused connection.
fn connection_lost(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The durable state of learnlens. Cheap to clone (pools are reference-counted).
#[derive(Clone, Debug)]
pub enum Store {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// Which backend a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> anyhow::Result<Backend> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            anyhow::bail!("unsupported database URL scheme (expected postgres:// or sqlite://)")
        }
    }
}

impl Store {
    /// Connects to the database named by `url`; creates the SQLite file (and its folder).
    /// A query that waits longer than `acquire_timeout` for a connection (all busy, or the
    /// server not answering) fails `Unavailable`.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> anyhow::Result<Store> {
        match Backend::of_url(url)? {
            Backend::Postgres => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(acquire_timeout)
                    .connect(url)
                    .await
                    .context("connecting to PostgreSQL")?;
                Ok(Store::Postgres(pool))
            }
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)
                    .context("parsing the SQLite URL")?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true);
                if let Some(dir) = options.get_filename().parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                let pool = SqlitePoolOptions::new()
                    .max_connections(max_connections)
                    .acquire_timeout(acquire_timeout)
                    .connect_with(options)
                    .await
                    .context("opening the SQLite database")?;
                Ok(Store::Sqlite(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Postgres(_) => Backend::Postgres,
            Store::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies the pending migrations of the active backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Store::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
            Store::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
        }
        .context("running database migrations")
    }

    /// A round trip to the database, for `/health/ready`.
    pub async fn ping(&self) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}
