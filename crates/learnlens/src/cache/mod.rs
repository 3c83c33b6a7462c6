//! The three cache layers of analytics results (jobs-and-cache.md, the seed's Feature 5):
//! L1 in process (moka: bounded in bytes, entries live at most `cache.l1_ttl_secs`), L2 Redis
//! (optional: its own breaker, short timeouts, every error a miss), L3 the store's rows.
//!
//! Key: `v2:{analytics}:{role}:{subject}` ([`key`]; `v2` since L2's rows carry their times
//! as integers). Reads go L1 → L2 → L3 and fill the layers
//! above the one that answered; writes go L3 → L2 → L1 and then publish the key on the Redis
//! channel `{prefix}invalidate`, which every replica's listener obeys by dropping its L1
//! entry. Without Redis there is one process to keep coherent, and L1's short life bounds
//! what a lost invalidation can cost.
//!
//! Invariants: nothing here decides who may read a key (the API does, before calling); a
//! Redis failure is a miss or a skipped write, never an error of a read; the store is the
//! truth, so an L1 or L2 entry never outlives what L3 would answer by more than L1's life.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::clock::Clock;
use crate::redis_client::RedisClient;
use crate::sources::breaker::{BreakerConfig, CircuitBreaker, Outcome};
use crate::store::{AnalyticsRow, Store, StoreError};

/// Cache settings (`[cache]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// L1 holds at most this many bytes of results (their JSON size); 0: no L1 (writes do
    /// not fill it, reads miss it).
    pub l1_max_bytes: u64,
    /// An L1 entry lives at most this long, so replicas converge even if an invalidation is
    /// lost.
    pub l1_ttl_secs: u64,
    /// L2 keeps a result this long past its expiry, so a stale answer can still be served
    /// from Redis while its refresh runs.
    pub stale_grace_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            l1_max_bytes: 64 << 20,
            l1_ttl_secs: 60,
            stale_grace_secs: 86_400,
        }
    }
}

/// Which layer answered a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    L1,
    L2,
    L3,
}

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::L1 => "l1",
            Layer::L2 => "l2",
            Layer::L3 => "l3",
        }
    }
}

/// A cached result and the layer that answered.
pub type Hit = (Arc<Cached>, Layer);

/// The cache key of a result.
pub fn key(analytics: &str, role: &str, subject: &str) -> String {
    format!("v2:{analytics}:{role}:{subject}")
}

fn row_key(row: &Cached) -> String {
    key(&row.analytics_type, &row.role, &row.subject_id)
}

/// A result as L1 and L2 hold it: a stored row with its payload kept as raw JSON, so that a
/// hit copies bytes instead of parsing and re-serialising a JSON tree. In L2 (JSON) its times
/// are nanoseconds since the epoch: an integer reads faster than an RFC 3339 text, exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cached {
    pub subject_id: String,
    pub role: String,
    pub analytics_type: String,
    pub data: Box<RawValue>,
    pub data_quality: Box<RawValue>,
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    pub calculated_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    pub expires_at: DateTime<Utc>,
}

impl Cached {
    pub fn from_row(row: &AnalyticsRow) -> Cached {
        let raw = |v: &serde_json::Value| {
            serde_json::value::to_raw_value(v).unwrap_or_else(|_| RawValue::NULL.to_owned())
        };
        Cached {
            subject_id: row.subject_id.clone(),
            role: row.role.clone(),
            analytics_type: row.analytics_type.clone(),
            data: raw(&row.data),
            data_quality: raw(&row.data_quality),
            calculated_at: row.calculated_at,
            expires_at: row.expires_at,
        }
    }
}

/// L2: Redis, behind its own breaker.
struct L2 {
    redis: RedisClient,
    prefix: String,
    breaker: CircuitBreaker,
    grace_secs: u64,
    clock: Arc<dyn Clock>,
}

impl L2 {
    fn redis_key(&self, key: &str) -> String {
        format!("{}cache:{key}", self.prefix)
    }

    fn channel(&self) -> String {
        format!("{}invalidate", self.prefix)
    }

    /// Runs one Redis operation through the breaker; `None` on any failure.
    async fn call<T, F, Fut>(&self, op: &'static str, f: F) -> Option<T>
    where
        F: FnOnce(redis::aio::ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let permit = self.breaker.acquire().ok()?;
        match self.redis.run(f).await {
            Ok(v) => {
                permit.record(Outcome::Success);
                Some(v)
            }
            Err(e) => {
                permit.record(Outcome::Failure);
                metrics::counter!("learnlens_redis_errors_total", "op" => op).increment(1);
                tracing::debug!(error = %e, op, "redis cache operation failed; treated as a miss");
                None
            }
        }
    }

    /// The stored row and its size in bytes.
    async fn get(&self, key: &str) -> Option<(Cached, usize)> {
        let k = self.redis_key(key);
        let body: Option<Vec<u8>> = self
            .call("cache_get", |mut c| async move {
                redis::cmd("GET").arg(&k).query_async(&mut c).await
            })
            .await?;
        let body = body?;
        serde_json::from_slice(&body)
            .ok()
            .map(|row| (row, body.len()))
    }

    /// Stores the rows in one pipeline (a batch writes thousands at a time); returns each
    /// one's size in bytes (also when Redis failed).
    async fn set_many(&self, rows: &[Cached]) -> Vec<usize> {
        let now = self.clock.now();
        let mut pipe = redis::pipe();
        let mut sizes = Vec::with_capacity(rows.len());
        for row in rows {
            let Ok(body) = serde_json::to_vec(row) else {
                sizes.push(approximate_size(row));
                continue;
            };
            sizes.push(body.len());
            let left = (row.expires_at - now).num_seconds().max(0);
            let ttl = u64::try_from(left).unwrap_or(0) + self.grace_secs;
            pipe.cmd("SET")
                .arg(self.redis_key(&row_key(row)))
                .arg(body)
                .arg("EX")
                .arg(ttl.max(1))
                .ignore();
        }
        let _: Option<()> = self
            .call("cache_set", |mut c| async move {
                pipe.query_async(&mut c).await
            })
            .await;
        sizes
    }

    async fn delete_and_publish(&self, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        let redis_keys: Vec<String> = keys.iter().map(|k| self.redis_key(k)).collect();
        let channel = self.channel();
        let keys = keys.to_vec();
        let _: Option<()> = self
            .call("cache_invalidate", |mut c| async move {
                let mut pipe = redis::pipe();
                pipe.cmd("DEL").arg(&redis_keys).ignore();
                for k in &keys {
                    pipe.cmd("PUBLISH").arg(&channel).arg(k).ignore();
                }
                pipe.query_async(&mut c).await
            })
            .await;
    }

    async fn publish(&self, keys: &[String]) {
        let channel = self.channel();
        let keys = keys.to_vec();
        let _: Option<()> = self
            .call("cache_publish", |mut c| async move {
                let mut pipe = redis::pipe();
                for k in &keys {
                    pipe.cmd("PUBLISH").arg(&channel).arg(k).ignore();
                }
                pipe.query_async(&mut c).await
            })
            .await;
    }
}

/// An L1 entry: the row and what it weighs (its JSON size, known when it was read or
/// written, so the weigher never serialises).
#[derive(Clone)]
struct L1Entry {
    row: Arc<Cached>,
    bytes: u32,
}

impl L1Entry {
    fn new(row: Arc<Cached>, bytes: usize) -> L1Entry {
        L1Entry {
            row,
            bytes: u32::try_from(bytes).unwrap_or(u32::MAX),
        }
    }
}

/// The three layers.
pub struct Cache {
    l1: moka::future::Cache<String, L1Entry>,
    /// Whether L1 is used at all (read, and filled by writes and by reads from L2 or L3):
    /// not with `l1_max_bytes = 0`, as in processes that serve no reads (`learnlens worker`
    /// and `batch`).
    l1_enabled: bool,
    l2: Option<L2>,
    store: Store,
}

impl Cache {
    pub fn new(
        config: &CacheConfig,
        store: Store,
        redis: Option<RedisClient>,
        key_prefix: &str,
        clock: Arc<dyn Clock>,
    ) -> Arc<Cache> {
        let l1 = moka::future::Cache::builder()
            .weigher(|k: &String, v: &L1Entry| {
                v.bytes
                    .saturating_add(u32::try_from(k.len()).unwrap_or(u32::MAX))
            })
            .max_capacity(config.l1_max_bytes)
            .time_to_live(Duration::from_secs(config.l1_ttl_secs.max(1)))
            .build();
        let l2 = redis.map(|redis| L2 {
            redis,
            prefix: key_prefix.to_owned(),
            breaker: CircuitBreaker::new(
                BreakerConfig {
                    slow_call_ms: 200,
                    open_secs: 5,
                    ..BreakerConfig::default()
                },
                clock.clone(),
            ),
            grace_secs: config.stale_grace_secs,
            clock,
        });
        Arc::new(Cache {
            l1,
            l1_enabled: config.l1_max_bytes > 0,
            l2,
            store,
        })
    }

    /// The result under `key`, from the first layer that has it (filling the layers above);
    /// `None` when no layer has it.
    pub async fn get(
        &self,
        key: &str,
        parts: (&str, &str, &str),
    ) -> Result<Option<Hit>, StoreError> {
        if let Some(hit) = self.get_hot(key).await {
            return Ok(Some(hit));
        }
        // Boxed: the store's query future is large, and the hit paths above should not
        // carry (and move) it.
        Box::pin(self.get_stored(key, parts)).await
    }

    /// The result under `key` from the hot layers: L1, then L2 (which fills L1). Never an
    /// error: an L2 failure is a miss.
    pub async fn get_hot(&self, key: &str) -> Option<Hit> {
        if self.l1_enabled
            && let Some(entry) = self.l1.get(key).await
        {
            metrics::counter!("learnlens_cache_hits_total", "layer" => "l1").increment(1);
            return Some((entry.row, Layer::L1));
        }
        let (row, bytes) = self.l2.as_ref()?.get(key).await?;
        metrics::counter!("learnlens_cache_hits_total", "layer" => "l2").increment(1);
        let row = Arc::new(row);
        if self.l1_enabled {
            self.l1
                .insert(key.to_owned(), L1Entry::new(row.clone(), bytes))
                .await;
        }
        Some((row, Layer::L2))
    }

    /// L3: the stored row, which then fills L2 and L1. For a key the hot layers missed
    /// ([`Cache::get_hot`]).
    pub async fn get_stored(
        &self,
        key: &str,
        parts: (&str, &str, &str),
    ) -> Result<Option<Hit>, StoreError> {
        let (analytics, role, subject) = parts;
        match self.store.get_analytics(subject, role, analytics).await? {
            Some(row) => {
                metrics::counter!("learnlens_cache_hits_total", "layer" => "l3").increment(1);
                let row = Cached::from_row(&row);
                let bytes = match &self.l2 {
                    Some(l2) => l2
                        .set_many(std::slice::from_ref(&row))
                        .await
                        .first()
                        .copied()
                        .unwrap_or_else(|| approximate_size(&row)),
                    None => approximate_size(&row),
                };
                let row = Arc::new(row);
                if self.l1_enabled {
                    self.l1
                        .insert(key.to_owned(), L1Entry::new(row.clone(), bytes))
                        .await;
                }
                Ok(Some((row, Layer::L3)))
            }
            None => {
                metrics::counter!("learnlens_cache_misses_total").increment(1);
                Ok(None)
            }
        }
    }

    /// Writes results through every layer (L3 → L2 → L1) and tells the other replicas.
    pub async fn put(&self, rows: &[AnalyticsRow]) -> Result<(), StoreError> {
        self.store.upsert_analytics(rows).await?;
        let rows: Vec<Cached> = rows.iter().map(Cached::from_row).collect();
        let rows = &rows;
        let keys: Vec<String> = rows.iter().map(row_key).collect();
        let sizes = match &self.l2 {
            Some(l2) => l2.set_many(rows).await,
            None => rows.iter().map(approximate_size).collect(),
        };
        if let Some(l2) = &self.l2 {
            l2.publish(&keys).await;
        }
        if self.l1_enabled {
            for ((key, row), bytes) in keys.into_iter().zip(rows).zip(sizes) {
                self.l1
                    .insert(key, L1Entry::new(Arc::new(row.clone()), bytes))
                    .await;
            }
        }
        Ok(())
    }

    /// Drops this process's L1 entry (what an invalidation message does).
    pub async fn forget(&self, key: &str) {
        self.l1.invalidate(key).await;
    }

    /// Deletes one result from every layer and replica.
    pub async fn delete(&self, parts: (&str, &str, &str)) -> Result<(), StoreError> {
        let (analytics, role, subject) = parts;
        self.store.delete_analytic(subject, role, analytics).await?;
        let k = key(analytics, role, subject);
        if let Some(l2) = &self.l2 {
            l2.delete_and_publish(std::slice::from_ref(&k)).await;
        }
        self.l1.invalidate(&k).await;
        Ok(())
    }

    /// Clears every result (or one subject's) from every layer and replica: the operators'
    /// `learnlens cache clear`. Returns how many stored results went.
    pub async fn clear(&self, subject: Option<&str>) -> Result<u64, StoreError> {
        let keys: Vec<String> = self
            .store
            .analytics_keys(subject)
            .await?
            .into_iter()
            .map(|(s, r, a)| key(&a, &r, &s))
            .collect();
        let n = self.store.delete_analytics(subject).await?;
        if let Some(l2) = &self.l2 {
            for chunk in keys.chunks(500) {
                l2.delete_and_publish(chunk).await;
            }
        }
        for k in &keys {
            self.l1.invalidate(k).await;
        }
        Ok(n)
    }

    /// Listens for other replicas' invalidations until `shutdown`; reconnects after errors.
    /// A no-op without Redis.
    pub async fn listen(
        self: Arc<Self>,
        redis_url: Option<String>,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        let (Some(l2), Some(url)) = (&self.l2, redis_url) else {
            return;
        };
        let channel = l2.channel();
        while !shutdown.is_cancelled() {
            let session = async {
                let client = redis::Client::open(url.as_str())?;
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(&channel).await?;
                let mut messages = pubsub.on_message();
                while let Some(msg) = messages.next().await {
                    if let Ok(key) = msg.get_payload::<String>() {
                        self.l1.invalidate(&key).await;
                    }
                }
                Ok::<(), redis::RedisError>(())
            };
            tokio::select! {
                r = session => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "cache invalidation listener lost Redis; retrying");
                    }
                    // Whatever was published meanwhile is lost: forget everything we hold.
                    self.l1.invalidate_all();
                }
                () = shutdown.cancelled() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Whether the result is past its expiry at `now`.
    pub fn is_stale(row: &Cached, now: DateTime<Utc>) -> bool {
        now >= row.expires_at
    }
}

/// The bytes an entry costs in L1 when no serialised form is at hand: its payload's JSON and
/// a little for the rest.
fn approximate_size(row: &Cached) -> usize {
    row.data.get().len() + row.subject_id.len() + row.analytics_type.len() + 512
}
