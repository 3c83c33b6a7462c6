//! What the HTTP benchmarks share: the demo app configured for a benchmark, served on its own
//! runtime on its own OS thread (so the load generator's runtime does not share its threads),
//! a login, and a scratch PostgreSQL database. Every benchmark that includes it runs with the
//! binary's allocator.

// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use learnlens::config::{Config, Overrides, RunEnv};
use learnlens::state::AppState;
use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// The binary's allocator (`src/main.rs`): the server a benchmark starts is the one that ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub const PASSWORD: &str = "learnlens-demo";

/// The demo app, running.
pub struct App {
    pub base: String,
    pub state: Arc<AppState>,
    /// The app's runtime, for work that must run beside the server (in-process cache deletes).
    pub rt: tokio::runtime::Handle,
    /// The server's OS thread when it runs on one ([`Threads::One`]) and Linux names it.
    server_thread: Option<String>,
    _dir: tempfile::TempDir,
}

impl App {
    /// CPU time the server's thread has used so far (Linux `schedstat`), when it runs on one
    /// thread: with it a benchmark reports throughput per core of the server, whatever the
    /// load generator or Redis leave it.
    pub fn server_cpu(&self) -> Option<std::time::Duration> {
        let tid = self.server_thread.as_ref()?;
        let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
        let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
        Some(std::time::Duration::from_nanos(ns))
    }
}

/// The app's runtime: current-thread (one core), or multi-thread with this many workers.
#[derive(Clone, Copy)]
pub enum Threads {
    One,
    Workers(usize),
}

/// Starts the demo app in a fresh data directory with the rate limits out of the way and no
/// job workers. `setup` runs first, on the app's runtime: it changes the configuration and may
/// start what the app reads (sources, proxies); what it returns comes back with the app.
pub fn start<T, S>(threads: Threads, setup: S) -> (App, T)
where
    T: Send + 'static,
    S: AsyncFnOnce(&mut Config) -> T + Send + 'static,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::load(
        None,
        &Overrides {
            env: Some(RunEnv::Demo),
            data_dir: Some(dir.path().to_path_buf()),
            jwt_secret: Some("bench-secret-bench-secret-bench-secret-01".into()),
            ..Default::default()
        },
    )
    .expect("config");
    config.rate_limits.analytics = "1000000000/s".parse().expect("rate");
    config.rate_limits.login = "1000/s".parse().expect("rate");
    config.jobs.serve_runs_workers = false;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // "<pid>/task/<tid>": this thread's id, for `App::server_cpu`.
        let thread = match threads {
            Threads::One => std::fs::read_link("/proc/thread-self")
                .ok()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
            Threads::Workers(_) => None,
        };
        let rt = match threads {
            Threads::One => tokio::runtime::Builder::new_current_thread(),
            Threads::Workers(n) => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(n);
                b
            }
        }
        .enable_all()
        .build()
        .expect("runtime");
        rt.block_on(async move {
            let extra = setup(&mut config).await;
            let state = learnlens::build(config, Arc::new(learnlens::clock::SystemClock))
                .await
                .expect("build");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("addr");
            let handle = tokio::runtime::Handle::current();
            tx.send((addr, state.clone(), handle, extra, thread))
                .expect("send");
            learnlens::serve(state, listener, std::future::pending::<()>())
                .await
                .expect("serve");
        });
    });
    let (addr, state, rt, extra, server_thread) = rx.recv().expect("server started");
    let app = App {
        base: format!("http://{addr}"),
        state,
        rt,
        server_thread,
        _dir: dir,
    };
    (app, extra)
}

/// An access token of the demo account `email`.
pub async fn login(client: &reqwest::Client, base: &str, email: &str) -> String {
    let r = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "login of {email}");
    let body: serde_json::Value = r.json().await.expect("json");
    body["token"].as_str().expect("token").to_owned()
}

/// A scratch database, dropped at the end.
pub struct ScratchDb {
    admin: String,
    name: String,
    pub url: String,
}

impl ScratchDb {
    /// A new database on the server at `LEARNLENS_TEST_DATABASE_URL` (default the local
    /// one), or `None` after a SKIPPED line when PostgreSQL does not answer.
    pub async fn create() -> Option<ScratchDb> {
        let admin = std::env::var("LEARNLENS_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let mut conn =
            match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin)).await
            {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    eprintln!("SKIPPED: PostgreSQL unreachable at {admin}: {e}");
                    return None;
                }
                Err(_) => {
                    eprintln!("SKIPPED: PostgreSQL unreachable at {admin}: connect timed out");
                    return None;
                }
            };
        let name = format!("ll_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        Some(ScratchDb { admin, name, url })
    }

    pub async fn drop_it(self) {
        if let Ok(mut conn) = PgConnection::connect(&self.admin).await {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut conn)
            .await;
        }
    }
}
