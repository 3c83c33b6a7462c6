//! The optional Redis connection shared by the rate limiter, the cache and invalidations.
//!
//! Redis is never required to answer: the connection is lazy (start-up does not wait for
//! Redis), reconnects by itself, and every call is bounded by a short timeout. Callers treat any
//! error as "Redis unavailable" and fall back to in-process state.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

#[derive(Clone)]
pub struct RedisClient {
    manager: ConnectionManager,
    timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("redis timed out")]
    Timeout,
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
}

impl RedisClient {
    /// Prepares a client for `url`; fails only if the URL itself is invalid.
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<RedisClient> {
        let client = redis::Client::open(url)?;
        // No response timeout of redis-rs's own: `run` bounds every call, its response
        // included, and one timer per command is enough.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(None)
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let manager = client.get_connection_manager_lazy(config)?;
        Ok(RedisClient { manager, timeout })
    }

    /// Runs `f` on a connection, bounded by the configured timeout.
    pub async fn run<T, F, Fut>(&self, f: F) -> Result<T, RedisError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(self.timeout, f(self.manager.clone())).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(RedisError::Timeout),
        }
    }

    /// PING, for `/health/ready`.
    pub async fn ping(&self) -> Result<(), RedisError> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(|_| ())
    }
}
