//! The queue across real OS processes on PostgreSQL: 10,000 jobs over 2 processes × 4 workers
//! take effect exactly once; a worker killed with SIGKILL mid-job leaves the job to another
//! after its lease, and the stale attempt changes nothing; an enqueue in one process wakes an
//! idle worker in another at once (LISTEN/NOTIFY), not at its next poll.
//!
//! The worker processes are the `queue_worker` example (`examples/queue_worker.rs`, built by
//! `cargo test` next to this binary) with its role in `LEARNLENS_QP_ROLE`. A child runs a `Runtime`
//! with 4 workers until its standard input closes, so a child never outlives its test.
//!
//! How a duplicate would show: the test handler's effect is a row in `test_effects` (no unique
//! key), inserted only while its attempt still owns the job (`WHERE EXISTS (… id = $1 AND
//! attempt = $2 AND status = 'running')`, the store's fence). Every run of a handler that
//! reaches its effect adds a row, so a job run twice to its effect has two rows; the checks
//! count rows, distinct jobs, and rows of the attempt that completed the job.

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use learnlens::clock::{Clock, SystemClock};
use learnlens::store::{Job, JobStatus, NewJob, Store};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::fenced_effect::fenced_effect;
use crate::helpers::{Backend, TestDb};

const ROLE_ENV: &str = "LEARNLENS_QP_ROLE";
const DB_ENV: &str = "LEARNLENS_QP_DATABASE_URL";
const LEASE_ENV: &str = "LEARNLENS_QP_LEASE_SECS";
const POLL_ENV: &str = "LEARNLENS_QP_POLL_MS";

/// A job whose handler records its effect.
const EFFECT: &str = "qp-effect";
/// A job that a `blocker` child runs forever and a `worker` child runs like [`EFFECT`].
const KILLED: &str = "qp-killed";

/// The `queue_worker` example: `target/<profile>/examples/`, beside this binary's `deps/`.
fn worker_program() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test binary>");
    let program = profile_dir.join("examples").join("queue_worker");
    assert!(
        program.exists(),
        "{} is missing: a plain `cargo test` builds it, or `cargo build -p learnlens --example queue_worker`",
        program.display()
    );
    program
}

/// A worker process; killed if still running when dropped.
struct ChildProcess {
    child: Child,
    log: std::path::PathBuf,
}

impl ChildProcess {
    fn spawn(role: &str, db_url: &str, dir: &Path, env: &[(&str, &str)]) -> ChildProcess {
        let log = dir.join(format!("{role}-{}.log", uuid::Uuid::new_v4().simple()));
        let out = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(worker_program());
        cmd.env(ROLE_ENV, role)
            .env(DB_ENV, db_url)
            .stdin(Stdio::piped())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out);
        for (k, v) in env {
            cmd.env(k, v);
        }
        ChildProcess {
            child: cmd.spawn().expect("spawn the worker process"),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().expect("try_wait") {
            panic!("worker process exited early ({status}):\n{}", self.log());
        }
    }

    /// Closes its standard input (a graceful shutdown) and waits for it to exit.
    async fn stop(mut self) -> ExitStatus {
        drop(self.child.stdin.take());
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("worker process did not stop in 30 s:\n{}", self.log());
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no shutdown, no cleanup.
    fn kill(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A PostgreSQL database with the queue and the `test_effects` table; `None` after a loud
/// skip when PostgreSQL is unreachable.
struct Setup {
    store: Store,
    pool: PgPool,
    db: TestDb,
    dir: tempfile::TempDir,
}

async fn setup() -> Option<Setup> {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::create(Backend::Postgres, dir.path()).await?;
    let store = Store::connect(&db.url, 8, Duration::from_secs(5))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&db.url)
        .await
        .expect("connect");
    sqlx::query("CREATE TABLE test_effects (job_id TEXT NOT NULL, attempt INTEGER NOT NULL, pid BIGINT NOT NULL)")
        .execute(&pool)
        .await
        .expect("effects table");
    Some(Setup {
        store,
        pool,
        db,
        dir,
    })
}

/// Waits until `n` connections to this database listen for job wake-ups: the worker
/// processes are up and will hear the next enqueue.
async fn wait_for_listeners(pool: &PgPool, n: i64, children: &mut [&mut ChildProcess]) {
    for _ in 0..600 {
        let listening: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN %learnlens_jobs%'",
        )
        .fetch_one(pool)
        .await
        .expect("pg_stat_activity");
        if listening >= n {
            return;
        }
        for c in children.iter_mut() {
            c.assert_running();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the worker processes did not start listening in 30 s");
}

fn new_job(kind: &str, n: usize, clock: &dyn Clock) -> NewJob {
    NewJob {
        kind: kind.into(),
        payload: json!({ "n": n }),
        owner_id: None,
        parent_id: None,
        singleton_key: None,
        max_attempts: 3,
        run_at: clock.now(),
    }
}

/// Polls the job until `done` holds, failing after `timeout`.
async fn wait_for_job(
    store: &Store,
    id: &str,
    timeout: Duration,
    done: impl Fn(&Job) -> bool,
) -> Job {
    let started = Instant::now();
    loop {
        let job = store.get_job(id).await.expect("get").expect("row");
        if done(&job) {
            return job;
        }
        assert!(
            started.elapsed() < timeout,
            "job not in the expected state after {timeout:?}: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn effects(pool: &PgPool) -> (i64, i64, i64) {
    sqlx::query_as("SELECT count(*), count(DISTINCT job_id), count(DISTINCT pid) FROM test_effects")
        .fetch_one(pool)
        .await
        .expect("effects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_jobs_over_two_processes_of_four_workers_take_effect_exactly_once() {
    const JOBS: usize = 10_000;
    const PRODUCERS: usize = 4;
    let Some(s) = setup().await else {
        return;
    };
    let mut a = ChildProcess::spawn("worker", &s.db.url, s.dir.path(), &[]);
    let mut b = ChildProcess::spawn("worker", &s.db.url, s.dir.path(), &[]);
    wait_for_listeners(&s.pool, 2, &mut [&mut a, &mut b]).await;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let started = Instant::now();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (store, clock) = (s.store.clone(), clock.clone());
            tokio::spawn(async move {
                for n in (p..JOBS).step_by(PRODUCERS) {
                    let e = store
                        .enqueue_job(&new_job(EFFECT, n, clock.as_ref()), clock.now())
                        .await
                        .expect("enqueue");
                    assert!(e.created);
                }
            })
        })
        .collect();
    for p in producers {
        p.await.expect("producer");
    }
    let enqueued_in = started.elapsed();
    loop {
        let counts = s.store.job_counts().await.expect("counts");
        if counts == [(JobStatus::Completed, JOBS as i64)] {
            break;
        }
        a.assert_running();
        b.assert_running();
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "not done after 300 s: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    for child in [a, b] {
        let log = child.log();
        assert!(
            child.stop().await.success(),
            "worker process failed:\n{log}"
        );
    }

    assert_eq!(
        s.store.job_counts().await.expect("counts"),
        [(JobStatus::Completed, JOBS as i64)],
        "0 jobs left queued or running"
    );
    let (rows, jobs, processes) = effects(&s.pool).await;
    assert_eq!(
        (rows, jobs),
        (JOBS as i64, JOBS as i64),
        "every effect exactly once"
    );
    assert_eq!(processes, 2, "both processes took jobs");
    let of_final_attempt: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs j JOIN test_effects e ON e.job_id = j.id AND e.attempt = j.attempt",
    )
    .fetch_one(&s.pool)
    .await
    .expect("join");
    assert_eq!(of_final_attempt, JOBS as i64);

    let all = s.store.list_jobs(None, JOBS as i64).await.expect("list");
    let mut latency_ms: Vec<f64> = all
        .iter()
        .map(|j| {
            let started = j.started_at.expect("started");
            (started - j.created_at).num_microseconds().unwrap_or(0) as f64 / 1000.0
        })
        .collect();
    latency_ms.sort_by(f64::total_cmp);
    let first_start = all.iter().filter_map(|j| j.started_at).min().expect("some");
    let last_finish = all
        .iter()
        .filter_map(|j| j.finished_at)
        .max()
        .expect("some");
    let busy = (last_finish - first_start)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .as_secs_f64();
    let retried = all.iter().filter(|j| j.attempt > 1).count();
    eprintln!(
        "queue over 2 processes × 4 workers (PostgreSQL): {JOBS} jobs enqueued by {PRODUCERS} \
         producers in {:.2} s, all completed in {:.2} s: {:.0} jobs/s end to end, {:.0} jobs/s \
         from first start to last finish; enqueue-to-start latency p50 {:.1} ms, p99 {:.1} ms; \
         {retried} jobs needed a second attempt",
        enqueued_in.as_secs_f64(),
        elapsed.as_secs_f64(),
        JOBS as f64 / elapsed.as_secs_f64(),
        JOBS as f64 / busy.max(1e-9),
        percentile(&latency_ms, 50.0),
        percentile(&latency_ms, 99.0),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_loses_it_to_another_after_its_lease_and_its_stale_writes_change_nothing()
 {
    let Some(s) = setup().await else {
        return;
    };
    let short_lease = [(LEASE_ENV, "2")];
    let mut blocker = ChildProcess::spawn("blocker", &s.db.url, s.dir.path(), &short_lease);
    wait_for_listeners(&s.pool, 1, &mut [&mut blocker]).await;
    let clock = SystemClock;
    let id = s
        .store
        .enqueue_job(&new_job(KILLED, 0, &clock), clock.now())
        .await
        .expect("enqueue")
        .id;
    let running = wait_for_job(&s.store, &id, Duration::from_secs(10), |j| {
        j.status == JobStatus::Running
    })
    .await;
    assert_eq!(running.attempt, 1);
    // The blocked handler keeps its lease alive while its process lives.
    let renewed = wait_for_job(&s.store, &id, Duration::from_secs(10), |j| {
        j.lease_until > running.lease_until
    })
    .await;
    assert_eq!((renewed.status, renewed.attempt), (JobStatus::Running, 1));

    blocker.kill();
    let job = s.store.get_job(&id).await.expect("get").expect("row");
    assert_eq!(
        (job.status, job.attempt),
        (JobStatus::Running, 1),
        "a dead worker's job stays running until its lease expires"
    );

    let mut worker = ChildProcess::spawn("worker", &s.db.url, s.dir.path(), &short_lease);
    let done = wait_for_job(&s.store, &id, Duration::from_secs(30), |j| {
        j.status.is_finished()
    })
    .await;
    worker.assert_running();
    assert_eq!((done.status, done.attempt), (JobStatus::Completed, 2));
    assert!(
        done.finished_at.expect("finished") - job.lease_until.expect("lease") >= TimeDelta::zero(),
        "not taken over before the lease expired"
    );

    // The killed attempt, were it still alive, can change nothing now.
    let (store, stale) = (&s.store, 1);
    assert!(
        !store
            .set_job_progress(&id, stale, 10)
            .await
            .expect("progress")
    );
    assert_eq!(
        store
            .heartbeat_job(&id, stale, clock.now() + TimeDelta::seconds(30))
            .await
            .expect("heartbeat"),
        None
    );
    assert!(
        !store
            .finish_job(
                &id,
                stale,
                JobStatus::Failed,
                Some("stale"),
                None,
                clock.now()
            )
            .await
            .expect("finish")
    );
    assert_eq!(
        fenced_effect(&s.pool, &id, stale).await,
        0,
        "stale effect refused"
    );
    let after = store.get_job(&id).await.expect("get").expect("row");
    assert_eq!(
        (after.status, after.attempt, after.progress, after.error),
        (JobStatus::Completed, 2, 100, None)
    );
    let rows: Vec<(String, i32)> = sqlx::query_as("SELECT job_id, attempt FROM test_effects")
        .fetch_all(&s.pool)
        .await
        .expect("effects");
    assert_eq!(
        rows,
        [(id.clone(), 2)],
        "the effect happened once, by attempt 2"
    );
    assert!(worker.stop().await.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_enqueued_elsewhere_wakes_an_idle_worker_process_without_waiting_for_its_poll() {
    let Some(s) = setup().await else {
        return;
    };
    // Idle workers would look at the queue again only after a minute.
    let mut worker = ChildProcess::spawn("worker", &s.db.url, s.dir.path(), &[(POLL_ENV, "60000")]);
    wait_for_listeners(&s.pool, 1, &mut [&mut worker]).await;
    // Let every worker finish its first look at the empty queue and go idle.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let clock = SystemClock;
    for n in 0..5 {
        let id = s
            .store
            .enqueue_job(&new_job(EFFECT, n, &clock), clock.now())
            .await
            .expect("enqueue")
            .id;
        let job = wait_for_job(&s.store, &id, Duration::from_secs(10), |j| {
            j.status == JobStatus::Completed
        })
        .await;
        let latency = job.started_at.expect("started") - job.created_at;
        assert!(
            latency < TimeDelta::seconds(3),
            "job {n} started {latency} after its enqueue; the poll interval is 60 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(worker.stop().await.success());
}
