//! The job queue on PostgreSQL with 4 workers in one process (`Runtime`, no-op handler), each
//! figure next to a floor measured in the same run:
//! - throughput: a backlog of 5,000 jobs drained, in jobs/s, vs. 4 connections doing what a
//!   job needs at least: two committed single-row updates per job (claim and finish each
//!   commit), and, below that, two bare `SELECT 1` round trips;
//! - enqueue-to-start latency (`started_at − created_at`) of 1,000 jobs enqueued one at a time
//!   from another connection at ~200/s while the workers are idle (so the wake-up is the
//!   `LISTEN/NOTIFY` path), p50 and p99, vs. the bare `pg_notify` → `PgListener` latency.
//!
//! Run: `cargo bench -p learnlens --bench queue` (`LEARNLENS_TEST_DATABASE_URL`, default
//! postgres://postgres@127.0.0.1:5432/postgres). Skips with a message when PostgreSQL is
//! unreachable. Results go to bench/RESULTS.md by hand.

use std::sync::Arc;
use std::time::{Duration, Instant};

use learnlens::clock::{Clock, SystemClock};
use learnlens::jobs::{JobContext, JobError, JobHandler, JobsConfig, Runtime};
use learnlens::store::{JobStatus, NewJob, Store};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnection, PgListener, PgPoolOptions};
use tokio_util::sync::CancellationToken;

mod support;
use support::ScratchDb;

const BACKLOG: usize = 5_000;
const PACED: usize = 1_000;
const PACE: Duration = Duration::from_millis(5);
const WORKERS: usize = 4;

struct Noop;

#[async_trait::async_trait]
impl JobHandler for Noop {
    fn kind(&self) -> &'static str {
        "noop"
    }
    async fn run(&self, _: &JobContext) -> Result<(), JobError> {
        Ok(())
    }
}

fn job(clock: &dyn Clock) -> NewJob {
    NewJob {
        kind: "noop".into(),
        payload: serde_json::json!({}),
        owner_id: None,
        parent_id: None,
        singleton_key: None,
        max_attempts: 3,
        run_at: clock.now(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn wait_all_completed(store: &Store, n: usize) {
    loop {
        let counts = store.job_counts().await.expect("counts");
        if counts == [(JobStatus::Completed, n as i64)] {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a job costs at least: two statements per job on each of 4 connections, `BACKLOG / 4`
/// times each. `durable`: each statement a committed single-row update (a WAL flush, as the
/// claim and the finish are); otherwise a bare `SELECT 1` (round trips only).
async fn floor(url: &str, durable: bool) -> f64 {
    let pool = PgPoolOptions::new()
        .max_connections(WORKERS as u32)
        .connect(url)
        .await
        .expect("connect");
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("floor table");
    sqlx::query(
        "INSERT INTO bench_floor SELECT g, 0 FROM generate_series(0, 15) g ON CONFLICT DO NOTHING",
    )
    .execute(&pool)
    .await
    .expect("floor rows");
    let started = Instant::now();
    let tasks: Vec<_> = (0..WORKERS)
        .map(|w| {
            let pool = pool.clone();
            tokio::spawn(async move {
                for _ in 0..BACKLOG / WORKERS {
                    for _ in 0..2 {
                        // Each connection updates its own row: no lock waits, only the commit.
                        let q = if durable {
                            sqlx::query("UPDATE bench_floor SET n = n + 1 WHERE id = $1")
                                .bind(w as i32)
                        } else {
                            sqlx::query("SELECT 1")
                        };
                        q.execute(&pool).await.expect("floor statement");
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let rate = BACKLOG as f64 / started.elapsed().as_secs_f64();
    pool.close().await;
    rate
}

/// `pg_notify` on one connection to its arrival at a `PgListener`, paced like the jobs.
async fn floor_notify_latency(url: &str) -> Vec<f64> {
    let mut listener = PgListener::connect(url).await.expect("listener");
    listener.listen("bench_floor").await.expect("listen");
    let mut conn = PgConnection::connect(url).await.expect("connect");
    let mut ms = Vec::with_capacity(PACED);
    for _ in 0..PACED {
        let sent = Instant::now();
        sqlx::query("SELECT pg_notify('bench_floor', 'x')")
            .execute(&mut conn)
            .await
            .expect("notify");
        listener.recv().await.expect("recv");
        ms.push(sent.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(PACE).await;
    }
    ms.sort_by(f64::total_cmp);
    ms
}

async fn bench(db: &ScratchDb) {
    let store = Store::connect(&db.url, 10, Duration::from_secs(5))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let config = JobsConfig {
        workers: WORKERS,
        ..JobsConfig::default()
    };

    // Throughput: a backlog drained.
    let enqueue_started = Instant::now();
    for _ in 0..BACKLOG {
        store
            .enqueue_job(&job(clock.as_ref()), clock.now())
            .await
            .expect("enqueue");
    }
    let enqueue_rate = BACKLOG as f64 / enqueue_started.elapsed().as_secs_f64();
    let rt = Runtime::new(
        store.clone(),
        clock.clone(),
        config.clone(),
        vec![Arc::new(Noop)],
    );
    let shutdown = CancellationToken::new();
    let drain_started = Instant::now();
    let tasks = rt.spawn(shutdown.clone());
    wait_all_completed(&store, BACKLOG).await;
    let drain_rate = BACKLOG as f64 / drain_started.elapsed().as_secs_f64();
    let floor_commits = floor(&db.url, true).await;
    let floor_trips = floor(&db.url, false).await;

    // Latency: idle workers woken by each enqueue, made on another connection.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let other = Store::connect(&db.url, 1, Duration::from_secs(5))
        .await
        .expect("connect");
    for _ in 0..PACED {
        other
            .enqueue_job(&job(clock.as_ref()), clock.now())
            .await
            .expect("enqueue");
        tokio::time::sleep(PACE).await;
    }
    wait_all_completed(&store, BACKLOG + PACED).await;
    let mut latency: Vec<f64> = store
        .list_jobs(None, PACED as i64) // the newest: the paced ones
        .await
        .expect("list")
        .iter()
        .map(|j| {
            (j.started_at.expect("started") - j.created_at)
                .num_microseconds()
                .unwrap_or(0) as f64
                / 1000.0
        })
        .collect();
    latency.sort_by(f64::total_cmp);
    shutdown.cancel();
    for t in tasks {
        t.await.expect("worker");
    }
    other.close().await;
    store.close().await;
    let floor_latency = floor_notify_latency(&db.url).await;

    println!("queue on PostgreSQL, {WORKERS} workers in one process, no-op handler");
    println!("  enqueue, one connection, one at a time: {enqueue_rate:>8.0} jobs/s");
    println!("  drain {BACKLOG} queued jobs:                {drain_rate:>8.0} jobs/s");
    println!(
        "  floor, 2 committed 1-row updates per job: {floor_commits:>8.0} jobs/s   ratio {:.2}",
        floor_commits / drain_rate
    );
    println!(
        "  floor, 2 × SELECT 1 per job:             {floor_trips:>8.0} jobs/s   ratio {:.2}",
        floor_trips / drain_rate
    );
    println!(
        "  enqueue-to-start latency ({PACED} jobs at ~{:.0}/s from another connection): p50 {:.2} ms, p99 {:.2} ms",
        1000.0 / PACE.as_millis() as f64,
        percentile(&latency, 50.0),
        percentile(&latency, 99.0)
    );
    println!(
        "  floor, pg_notify → PgListener:          p50 {:.2} ms, p99 {:.2} ms",
        percentile(&floor_latency, 50.0),
        percentile(&floor_latency, 99.0)
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, but only as a check
    // that it starts: skip the work unless benchmarking.
    if !std::env::args().any(|a| a == "--bench") {
        println!("queue bench: run with `cargo bench -p learnlens --bench queue`");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let Some(db) = ScratchDb::create().await else {
            return;
        };
        bench(&db).await;
        db.drop_it().await;
    });
}
