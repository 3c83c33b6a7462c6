//! Organisations computed by chunk jobs (docs/decisions.md, "A large organisation is computed
//! in chunks"): a run's records, read once by the job that split the organisation, and each
//! chunk's digests until the run's final job has used them.
//!
//! Invariants: a run's records are written once and never replaced, so every chunk job and the
//! final job of a run read the same records; a chunk's digests may be written again (a retried
//! chunk job) and are replaced; [`Store::put_chunk_digests`] commits before it counts, so of
//! chunks stored at the same time the last one sees them all; a records or digests body
//! travels on a connection of its own, closed after (`on_own_connection!`), because a
//! connection keeps its buffers at the size of the largest message it carried, and a large
//! organisation's records are hundreds of megabytes.

use chrono::{DateTime, Utc};

use sqlx::Connection as _;

use super::{DbTime, Store, StoreResult, on_pool};

/// Evaluates `$body` with `$conn` a connection taken out of `$store`'s pool, then closes that
/// connection (errors of `$body` after the close). PostgreSQL's socket buffers grow to the
/// largest message and never shrink: a pooled connection that carried a run's records would
/// hold that much memory for its whole life.
macro_rules! on_own_connection {
    ($store:expr, $conn:ident => $body:expr) => {
        on_pool!($store, pool => {
            let mut $conn = pool.acquire().await?.detach();
            let out: Result<_, sqlx::Error> = async { Ok($body) }.await;
            let _ = $conn.close().await;
            out?
        })
    };
}

/// A run as kept: the split organisation, its chunking and its records (JSON bytes, opaque
/// to the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkedRun {
    /// The id of the `batch-org` job that split the organisation.
    pub id: String,
    pub org_id: String,
    pub chunks: i32,
    pub chunk_users: i32,
    pub records: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    org_id: String,
    chunks: i32,
    chunk_users: i32,
    records: Vec<u8>,
}

impl Store {
    /// Keeps `run` unless a run with its id is kept already, and returns the kept one's
    /// `(chunks, chunk_users)`: a retried split goes on with its first records.
    pub async fn create_chunked_run(
        &self,
        run: &ChunkedRun,
        now: DateTime<Utc>,
    ) -> StoreResult<(i32, i32)> {
        let kept = on_own_connection!(self, conn => {
            sqlx::query(
                "INSERT INTO chunked_runs (id, org_id, chunks, chunk_users, records, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
            )
            .bind(&run.id)
            .bind(&run.org_id)
            .bind(run.chunks)
            .bind(run.chunk_users)
            .bind(&run.records)
            .bind(DbTime::from(now))
            .execute(&mut conn)
            .await?;
            sqlx::query_as("SELECT chunks, chunk_users FROM chunked_runs WHERE id = $1")
                .bind(&run.id)
                .fetch_one(&mut conn)
                .await?
        });
        Ok(kept)
    }

    /// The run `id` with its records, if it is kept.
    pub async fn chunked_run(&self, id: &str) -> StoreResult<Option<ChunkedRun>> {
        let row: Option<Row> = on_own_connection!(self, conn => {
            sqlx::query_as(
                "SELECT id, org_id, chunks, chunk_users, records FROM chunked_runs WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&mut conn)
            .await?
        });
        Ok(row.map(|r| ChunkedRun {
            id: r.id,
            org_id: r.org_id,
            chunks: r.chunks,
            chunk_users: r.chunk_users,
            records: r.records,
        }))
    }

    /// Keeps (or replaces) chunk `chunk`'s digests of run `run_id` and returns how many of the
    /// run's chunks are kept now.
    pub async fn put_chunk_digests(
        &self,
        run_id: &str,
        chunk: i32,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let stored = on_own_connection!(self, conn => {
            sqlx::query(
                "INSERT INTO chunked_run_digests (run_id, chunk, body, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (run_id, chunk) DO UPDATE SET body = excluded.body, created_at = excluded.created_at",
            )
            .bind(run_id)
            .bind(chunk)
            .bind(body)
            .bind(DbTime::from(now))
            .execute(&mut conn)
            .await?;
            // A statement of its own, after the insert's commit: it sees every chunk committed
            // before it.
            sqlx::query_scalar("SELECT COUNT(*) FROM chunked_run_digests WHERE run_id = $1")
                .bind(run_id)
                .fetch_one(&mut conn)
                .await?
        });
        Ok(stored)
    }

    /// The chunks of run `run_id` whose digests are kept, in order.
    pub async fn done_chunks(&self, run_id: &str) -> StoreResult<Vec<i32>> {
        let chunks = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT chunk FROM chunked_run_digests WHERE run_id = $1 ORDER BY chunk")
                .bind(run_id)
                .fetch_all(pool)
                .await?
        });
        Ok(chunks)
    }

    /// Chunk `chunk`'s digests of run `run_id`, if they are kept (one chunk at a time, so that
    /// a reader holds one chunk's bytes, not every chunk's).
    pub async fn chunk_digests(&self, run_id: &str, chunk: i32) -> StoreResult<Option<Vec<u8>>> {
        let body = on_own_connection!(self, conn => {
            sqlx::query_scalar("SELECT body FROM chunked_run_digests WHERE run_id = $1 AND chunk = $2")
                .bind(run_id)
                .bind(chunk)
                .fetch_optional(&mut conn)
                .await?
        });
        Ok(body)
    }

    /// Deletes run `run_id` and its digests (its final job is done).
    pub async fn delete_chunked_run(&self, run_id: &str) -> StoreResult<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM chunked_run_digests WHERE run_id = $1")
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM chunked_runs WHERE id = $1")
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes runs and digests kept since before `before`: those of runs whose final job
    /// never ran (a chunk failed for good). Returns how many runs were deleted.
    pub async fn prune_chunked_runs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM chunked_run_digests WHERE created_at < $1")
                .bind(DbTime::from(before))
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query("DELETE FROM chunked_runs WHERE created_at < $1")
                .bind(DbTime::from(before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n)
    }
}
