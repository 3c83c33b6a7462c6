//! The worker process of the queue's multi-process tests (`tests/api/queue_processes.rs`,
//! which build and start it; it is not meant to be run by hand): a `Runtime` with 4 workers on
//! the PostgreSQL queue at `LEARNLENS_QP_DATABASE_URL`, in the role `LEARNLENS_QP_ROLE`
//! (`worker`: handlers that record their effect; `blocker`: a handler that never finishes, to
//! be killed), until its standard input closes.
//!
//! The effect is `tests/api/fenced_effect.rs`'s, shared with the tests: a row in `test_effects`
//! written only while the attempt still owns the job.

#[path = "../tests/api/fenced_effect.rs"]
mod fenced_effect;

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use learnlens::clock::SystemClock;
use learnlens::jobs::{JobContext, JobError, JobHandler, JobsConfig, Runtime};
use learnlens::store::Store;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;

use fenced_effect::fenced_effect;

const ROLE_ENV: &str = "LEARNLENS_QP_ROLE";
const DB_ENV: &str = "LEARNLENS_QP_DATABASE_URL";
const LEASE_ENV: &str = "LEARNLENS_QP_LEASE_SECS";
const POLL_ENV: &str = "LEARNLENS_QP_POLL_MS";
/// A job whose handler records its effect.
const EFFECT: &str = "qp-effect";
/// A job that a `blocker` runs forever and a `worker` runs like [`EFFECT`].
const KILLED: &str = "qp-killed";

/// Records the effect, fenced by (job id, attempt) and status `running`.
struct Effect {
    kind: &'static str,
    pool: PgPool,
}

#[async_trait::async_trait]
impl JobHandler for Effect {
    fn kind(&self) -> &'static str {
        self.kind
    }
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        if fenced_effect(&self.pool, &ctx.job.id, ctx.job.attempt).await == 1 {
            Ok(())
        } else {
            Err(JobError::Stale)
        }
    }
}

/// Never finishes: its process is killed while it runs.
struct Blocks;

#[async_trait::async_trait]
impl JobHandler for Blocks {
    fn kind(&self) -> &'static str {
        KILLED
    }
    async fn run(&self, _: &JobContext) -> Result<(), JobError> {
        std::future::pending().await
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let role = std::env::var(ROLE_ENV)
        .expect("LEARNLENS_QP_ROLE: started by the queue_processes tests only");
    let url = std::env::var(DB_ENV).expect("database URL");
    let store = Store::connect(&url, 8, Duration::from_secs(5))
        .await
        .expect("connect");
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await
        .expect("connect");
    let lease = env_u64(LEASE_ENV, 30);
    let config = JobsConfig {
        workers: 4,
        lease_secs: lease,
        heartbeat_secs: (lease / 3).max(1),
        poll_ms: env_u64(POLL_ENV, 1000),
        retry_base_secs: 1,
        retry_max_secs: 2,
        shutdown_grace_secs: 5,
        ..JobsConfig::default()
    };
    let handlers: Vec<Arc<dyn JobHandler>> = match role.as_str() {
        "worker" => vec![
            Arc::new(Effect {
                kind: EFFECT,
                pool: pool.clone(),
            }),
            Arc::new(Effect {
                kind: KILLED,
                pool: pool.clone(),
            }),
        ],
        "blocker" => vec![Arc::new(Blocks)],
        other => panic!("unknown role {other}"),
    };
    let rt = Runtime::new(store, Arc::new(SystemClock), config, handlers);
    let shutdown = CancellationToken::new();
    let tasks = rt.spawn(shutdown.clone());
    // Until the parent closes our standard input, or dies.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .expect("stdin reader");
    shutdown.cancel();
    for t in tasks {
        t.await.expect("worker task");
    }
}
