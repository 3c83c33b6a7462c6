//! The effect of the queue's multi-process tests: a row in `test_effects` (no unique key),
//! inserted only while the attempt still owns the job (the store's fence: the job's id,
//! attempt and status `running`), so a job run twice to its effect has two rows. Used by
//! `queue_processes.rs` (a stale attempt's write) and by `examples/queue_worker.rs` (the
//! workers' writes), which includes this file by `#[path]`.

use sqlx::PgPool;

/// Records the effect of `attempt` of `job_id`; the rows written (0 when fenced off).
pub async fn fenced_effect(pool: &PgPool, job_id: &str, attempt: i32) -> u64 {
    sqlx::query(
        "INSERT INTO test_effects (job_id, attempt, pid)
         SELECT $1, $2, $3
         WHERE EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND attempt = $2 AND status = 'running')",
    )
    .bind(job_id)
    .bind(attempt)
    .bind(i64::from(std::process::id()))
    .execute(pool)
    .await
    .expect("effect")
    .rows_affected()
}
