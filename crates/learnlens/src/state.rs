//! The application state shared by every handler: configuration, store, auth, limiter,
//! sources, the job runtime, optional Redis, clock, metrics. Built once by [`crate::build`].

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::AuthService;
use crate::clock::Clock;
use crate::config::Config;
use crate::jobs::Runtime;
use crate::ratelimit::RateLimiter;
use crate::redis_client::RedisClient;
use crate::sources::Sources;
use crate::store::Store;

pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub auth: AuthService,
    pub limiter: RateLimiter,
    pub sources: Arc<Sources>,
    /// The job queue: enqueue here so this process's idle workers wake at once.
    pub jobs: Arc<Runtime>,
    /// The read path and the cache layers (`state.pipeline.cache`).
    pub pipeline: crate::pipeline::batch::Pipeline,
    pub redis: Option<RedisClient>,
    pub clock: Arc<dyn Clock>,
    pub metrics: PrometheusHandle,
}
