//! The test harness: starts the real application (`learnlens::build` + `learnlens::serve`) on
//! port 0 with a fresh database per test — a temporary SQLite file, or a new PostgreSQL
//! database — a fake clock, and typed helpers.
//!
//! PostgreSQL and Redis are used when reachable (`LEARNLENS_TEST_DATABASE_URL`, default
//! postgres://postgres@127.0.0.1:5432/postgres; `LEARNLENS_TEST_REDIS_URL`, default
//! redis://127.0.0.1:6379). When one is not, its tests print a loud SKIPPED line and pass,
//! unless `LEARNLENS_REQUIRE_SERVICES=1` (CI), which turns the skip into a failure.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use learnlens::clock::FakeClock;
use learnlens::config::{Config, Overrides, RunEnv};
use learnlens::state::AppState;
use serde_json::{Value, json};
use sqlx::Connection as _;

pub const DEMO_PASSWORD: &str = "learnlens-demo";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn require_services() -> bool {
    std::env::var("LEARNLENS_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

pub fn skip(what: &str, why: &str) {
    assert!(
        !require_services(),
        "{what} is required (LEARNLENS_REQUIRE_SERVICES=1) but unreachable: {why}"
    );
    eprintln!("\n*** SKIPPED: {what} unreachable ({why}); this test did not run against it ***\n");
}

/// A database made for one test and dropped afterwards.
pub struct TestDb {
    pub url: String,
    admin_url: Option<(String, String)>,
}

impl TestDb {
    pub async fn create(backend: Backend, dir: &std::path::Path) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => Some(TestDb {
                url: format!("sqlite://{}", dir.join("test.db").display()),
                admin_url: None,
            }),
            Backend::Postgres => {
                let admin = std::env::var("LEARNLENS_TEST_DATABASE_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let conn = tokio::time::timeout(
                    Duration::from_secs(5),
                    sqlx::PgConnection::connect(&admin),
                )
                .await;
                let mut conn = match conn {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => {
                        skip("PostgreSQL", &e.to_string());
                        return None;
                    }
                    Err(_) => {
                        skip("PostgreSQL", "connect timed out");
                        return None;
                    }
                };
                let name = format!("ll_test_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    admin_url: Some((admin.clone(), name)),
                })
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.admin_url.take() {
            // Drop runs outside any async context we can rely on: use a private runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await
                    .ok()
                })
            })
            .join();
        }
    }
}

/// The Redis URL for tests, or `None` (after a loud skip) when Redis is unreachable.
pub async fn redis_url() -> Option<String> {
    let url = std::env::var("LEARNLENS_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let ping = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(Duration::from_secs(3), ping).await {
        Ok(Ok(_)) => Some(url),
        Ok(Err(e)) => {
            skip("Redis", &e.to_string());
            None
        }
        Err(_) => {
            skip("Redis", "ping timed out");
            None
        }
    }
}

/// A running application.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub clock: FakeClock,
    pub state: Arc<AppState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _db: Arc<TestDb>,
    _dir: Arc<tempfile::TempDir>,
}

/// What a test may change in the configuration before the app starts.
pub type Tweak = Box<dyn FnOnce(&mut Config) + Send>;

pub fn test_config(db_url: &str, dir: &std::path::Path) -> Config {
    let mut config = Config::load(
        None,
        &Overrides {
            env: Some(RunEnv::Demo),
            database_url: Some(db_url.into()),
            data_dir: Some(dir.to_path_buf()),
            jwt_secret: Some("test-secret-test-secret-test-secret-0123".into()),
            ..Default::default()
        },
    )
    .expect("config");
    config.server.listen = "127.0.0.1:0".parse().expect("addr");
    config.auth.password_hash_concurrency = 4;
    // A unique Redis key space per app instance group; tests sharing Redis never collide.
    config.redis.key_prefix = format!("lltest:{}:", uuid::Uuid::new_v4().simple());
    config
}

impl TestApp {
    /// Starts an app on `backend`; `None` when that backend is unavailable (skipped).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, Box::new(|_| {})).await
    }

    pub async fn spawn_with(backend: Backend, tweak: Tweak) -> Option<TestApp> {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let db = Arc::new(TestDb::create(backend, dir.path()).await?);
        let mut config = test_config(&db.url, dir.path());
        tweak(&mut config);
        Some(Self::start(config, db, dir, FakeClock::new(start_time())).await)
    }

    /// A second instance on the same database, Redis and clock (another replica).
    pub async fn replica(&self) -> TestApp {
        Self::start(
            self.state.config.clone(),
            self._db.clone(),
            self._dir.clone(),
            self.clock.clone(),
        )
        .await
    }

    async fn start(
        config: Config,
        db: Arc<TestDb>,
        dir: Arc<tempfile::TempDir>,
        clock: FakeClock,
    ) -> TestApp {
        let state = learnlens::build(config, Arc::new(clock.clone()))
            .await
            .expect("build app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serve_state = state.clone();
        let server = tokio::spawn(async move {
            learnlens::serve(serve_state, listener, async {
                let _ = rx.await;
            })
            .await
        });
        TestApp {
            addr,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            clock,
            state,
            shutdown: Some(tx),
            server: Some(server),
            _db: db,
            _dir: dir,
        }
    }

    /// Signals shutdown (as SIGTERM does) and returns the server task, which ends once
    /// in-flight requests are done.
    pub fn shutdown(&mut self) -> tokio::task::JoinHandle<anyhow::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.server.take().expect("server running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// Logs in (demo password) and returns (access token, refresh token).
    pub async fn login_as(&self, email: &str) -> (String, String) {
        let r = self.login(email, DEMO_PASSWORD).await;
        assert_eq!(r.status(), 200, "login as {email}");
        let body: Value = r.json().await.expect("json");
        (
            body["token"].as_str().expect("token").to_owned(),
            body["refreshToken"].as_str().expect("refresh").to_owned(),
        )
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestApp {
    /// Waits (up to `within`) until job `id` has finished, and returns it.
    pub async fn finished_job(&self, id: &str, within: Duration) -> learnlens::store::Job {
        let mut job = None;
        wait_until(within, &format!("job {id} to finish"), async || {
            let j = self
                .state
                .store
                .get_job(id)
                .await
                .expect("get")
                .expect("exists");
            let done = j.status.is_finished();
            job = Some(j);
            done
        })
        .await;
        job.expect("polled at least once")
    }
}

/// Polls `done` every 50 ms until it holds; fails the test after `within`.
pub async fn wait_until(within: Duration, what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !done().await {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The fake clock's starting time.
pub fn start_time() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0)
        .single()
        .expect("valid time")
}

/// Runs an async test body once per backend, as two named tests.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    };
}
