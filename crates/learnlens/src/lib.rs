//! learnlens: the learning-analytics service. See ARCHITECTURE.md for the map.
//!
//! [`build`] assembles the application from a [`Config`]; [`serve`] runs it on a listener
//! until shutdown. `main.rs`, the integration tests and the benchmarks all start the service
//! through these two functions, so there is one start-up path.

pub mod api;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod evaluate;
pub mod jobs;
pub mod oulad;
pub mod pipeline;
pub mod ratelimit;
pub mod redis_client;
pub mod refcheck;
pub mod sources;
pub mod state;
pub mod store;
pub mod telemetry;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::password::Passwords;
use crate::auth::{AuthService, TokenService};
use crate::clock::Clock;
use crate::config::{Config, RunEnv};
use crate::ratelimit::RateLimiter;
use crate::redis_client::RedisClient;
use crate::sources::Sources;
use crate::state::AppState;
use crate::store::Store;

/// Connects to the store (migrating it if configured), prepares auth, the limiter and Redis,
/// and in demo mode the generated secret and demo accounts.
pub async fn build(mut config: Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<AppState>> {
    config.validate()?;
    if config.auth.jwt_secret.is_empty() && config.env == RunEnv::Demo {
        config.auth.jwt_secret = demo::jwt_secret(&config.data_dir)?;
    }
    let store = Store::connect(
        &config.database_url(),
        config.database.max_connections,
        config.database.acquire_timeout(),
    )
    .await?;
    if config.database.migrate_on_start {
        store.migrate().await?;
    }
    let passwords = Passwords::new(config.auth.password_hash_concurrency)?;
    if config.env == RunEnv::Demo {
        demo::ensure_accounts(&store, &passwords, &config.demo.password, clock.now()).await?;
    }
    let redis = match config.redis_url() {
        Some(url) => Some(RedisClient::new(
            url,
            Duration::from_millis(config.redis.timeout_ms),
        )?),
        None => None,
    };
    let secret = Some(config.auth.jwt_secret.as_bytes()).filter(|s| !s.is_empty());
    if secret.is_none() {
        // validate() allows this only with a JWKS URL.
        tracing::warn!(
            "no JWT secret: local login is disabled, only identity-provider tokens are accepted"
        );
    }
    let tokens = TokenService::new(&config.auth, secret);
    let auth = AuthService::new(
        store.clone(),
        passwords,
        tokens,
        clock.clone(),
        config.auth.refresh_token_ttl_days,
    );
    // Demo mode without configured sources serves the synthetic demo data set in-process on a
    // loopback port; the clients reach it over real HTTP, and the same data answers as mock
    // data when a source fails. Elsewhere there is no mock data: a failed source without a
    // snapshot is reported unavailable, never invented.
    let mut mock: Option<Arc<dyn sources::MockSource>> = None;
    if config.env == RunEnv::Demo && config.sources.url(sources::Service::Directory).is_none() {
        let data = demo::server::SourceData::synthetic(
            demo::synthetic::Size::Demo,
            demo::synthetic::DEFAULT_SEED,
        );
        let platform = sources::xapi::Platform::new(&config.sources.activity.platform)?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the demo sources")?;
        let running =
            demo::server::spawn(data, platform, demo::server::DemoAuth::default(), listener)?;
        running.configure(&mut config.sources);
        tracing::info!(addr = %running.addr, "demo sources serving the synthetic demo data set");
        mock = Some(Arc::new(running.source.clone()));
    }
    let sources = Arc::new(Sources::new(&config.sources, &store, clock.clone(), mock)?);
    let cache = cache::Cache::new(
        &config.cache,
        store.clone(),
        redis.clone(),
        &config.redis.key_prefix,
        clock.clone(),
    );
    let pipeline = pipeline::batch::Pipeline {
        sources: sources.clone(),
        store: store.clone(),
        cache,
        clock: clock.clone(),
        analytics: Arc::new(config.analytics.clone()),
        fallback_ttl_secs: config.sources.fallback_ttl_secs,
        write_chunk: pipeline::batch::WRITE_CHUNK,
        chunk_users: config.jobs.batch_chunk_users,
        in_flight: pipeline::read::in_flight(),
        org_reads: pipeline::read::org_reads(),
        recently_queued: pipeline::read::recently_queued(),
        cold_computes: Arc::default(),
        cold_org_reads: Arc::default(),
    };
    let jobs = jobs::Runtime::new(
        store.clone(),
        clock.clone(),
        config.jobs.clone(),
        pipeline::batch::handlers(&pipeline),
    );
    let limiter = RateLimiter::new(
        config.rate_limits.clone(),
        clock.clone(),
        redis.clone(),
        &config.redis.key_prefix,
    );
    Ok(Arc::new(AppState {
        config,
        store,
        auth,
        limiter,
        sources,
        jobs,
        pipeline,
        redis,
        clock,
        metrics: telemetry::metrics_handle(),
    }))
}

/// Serves the API on `listener` until `shutdown` resolves, then lets in-flight requests finish
/// for up to `server.shutdown_grace_secs`. The scheduler and, unless `jobs.serve_runs_workers`
/// is off, the job workers run alongside; on shutdown the workers stop claiming and their
/// running jobs get `jobs.shutdown_grace_secs` before they are released.
pub async fn serve(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let grace = Duration::from_secs(state.config.server.shutdown_grace_secs);
    let store = state.store.clone();
    let token = tokio_util::sync::CancellationToken::new();
    let mut workers = if state.config.jobs.serve_runs_workers {
        state.jobs.spawn(token.clone())
    } else {
        Vec::new()
    };
    workers.push(jobs::scheduler::spawn(
        state.store.clone(),
        state.clock.clone(),
        &state.config.jobs,
        token.clone(),
    )?);
    workers.push(tokio::spawn(
        state
            .pipeline
            .cache
            .clone()
            .listen(state.config.redis_url().map(str::to_owned), token.clone()),
    ));
    let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let signalled = token.clone();
    tokio::spawn(async move {
        shutdown.await;
        signalled.cancel();
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(token.clone().cancelled_owned());
    tokio::select! {
        result = server => result.context("serving HTTP")?,
        () = async { token.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_secs = grace.as_secs(), "shutdown grace period over; dropping open connections");
        }
    }
    futures::future::join_all(workers).await;
    store.close().await;
    Ok(())
}

/// Builds and serves with the wall clock: what `learnlens serve` does.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = build(config, Arc::new(clock::SystemClock)).await?;
    serve(state, listener, shutdown).await
}
