//! The three cache layers of analytics results (jobs-and-cache.md, the seed's Feature 5):
//! L1 in process (moka: bounded in bytes, entries live at most `cache.l1_ttl_secs`), L2 Redis
//! (optional: its own breaker, short timeouts, every error a miss), L3 the store's rows.
//!
//! Key: `v3:{analytics}:{role}:{subject}` ([`key`]; `v3` since L2 holds a result as served,
//! [`Cached`]). Reads go L1 → L2 → L3 and fill the layers above the one that answered; writes
//! go L3 → L2 → L1 and then publish the key on the Redis channel `{prefix}invalidate` (as
//! `{origin} {key}`), which every other replica's listener obeys by dropping its L1 entry.
//! Without Redis there is one process to keep coherent, and L1's short life bounds what a lost
//! invalidation can cost.
//!
//! Invariants: nothing here decides who may read a key (the API does, before calling); a
//! Redis failure is a miss or a skipped write, never an error of a read; the store is the
//! truth, so an L1 or L2 entry never outlives what L3 would answer by more than L1's life.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

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
    format!("v3:{analytics}:{role}:{subject}")
}

fn row_key(row: &AnalyticsRow) -> String {
    key(&row.analytics_type, &row.role, &row.subject_id)
}

/// A result as L1 and L2 hold it: its times, and the part of its envelope (api.md) that no
/// read changes, serialised once when the result is written:
/// `"lastUpdated":…,"expiresAt":…,"dataQuality":{…},"data":{…}}` (the tail). A hit writes the
/// three flags in front of it ([`Cached::envelope`]) and copies the rest: a read parses and
/// builds no JSON.
///
/// In L2 the tail follows one header line, `{calculatedAt} {expiresAt} {data} {length}\n`:
/// the times in nanoseconds since the epoch, where `data` starts in the tail and the tail's
/// length ([`Cached::to_l2`], [`Cached::from_l2`]). Invariant: only learnlens writes L2, so a
/// value read from it is served as it is once it frames (the header, the tail's length, its
/// first field and closing brace); one that does not frame is a miss.
#[derive(Debug, Clone)]
pub struct Cached {
    pub calculated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The tail is `bytes[tail_at..]` (an L2 value keeps its header in front).
    bytes: Vec<u8>,
    tail_at: usize,
    /// Where `data` starts in `bytes`; it ends before the last byte.
    data_at: usize,
}

/// How the tail starts.
const TAIL_START: &[u8] = b"\"lastUpdated\":";

impl Cached {
    pub fn from_row(row: &AnalyticsRow) -> Cached {
        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(TAIL_START);
        write_json(&mut head, &row.calculated_at);
        head.extend_from_slice(b",\"expiresAt\":");
        write_json(&mut head, &row.expires_at);
        head.extend_from_slice(b",\"dataQuality\":");
        write_json(&mut head, &row.data_quality);
        head.extend_from_slice(b",\"data\":");
        Cached::ending_with(row.calculated_at, row.expires_at, head, &row.data)
    }

    /// The analytic's payload (JSON).
    pub fn data(&self) -> &[u8] {
        &self.bytes[self.data_at..self.bytes.len() - 1]
    }

    /// The same result with another payload (a trainer's filtered view of a learner's).
    pub fn with_data(&self, data: &serde_json::Value) -> Cached {
        let head = self.bytes[self.tail_at..self.data_at].to_vec();
        Cached::ending_with(self.calculated_at, self.expires_at, head, data)
    }

    /// The tail that `head` (up to and with `"data":`) starts, ended with `data`.
    fn ending_with(
        calculated_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mut bytes: Vec<u8>,
        data: &serde_json::Value,
    ) -> Cached {
        let data_at = bytes.len();
        write_json(&mut bytes, data);
        bytes.push(b'}');
        Cached {
            calculated_at,
            expires_at,
            bytes,
            tail_at: 0,
            data_at,
        }
    }

    /// Writes the envelope as served (api.md): `cached`, `stale` and `requiresRefresh`, then
    /// the tail.
    pub fn write_envelope(&self, out: &mut Vec<u8>, cached: bool, stale: bool) {
        let flag = |b: bool| if b { &b"true"[..] } else { &b"false"[..] };
        out.extend_from_slice(b"{\"cached\":");
        out.extend_from_slice(flag(cached));
        out.extend_from_slice(b",\"stale\":");
        out.extend_from_slice(flag(stale));
        out.extend_from_slice(b",\"requiresRefresh\":");
        out.extend_from_slice(flag(stale));
        out.push(b',');
        out.extend_from_slice(&self.bytes[self.tail_at..]);
    }

    /// The envelope as served ([`Cached::write_envelope`]).
    pub fn envelope(&self, cached: bool, stale: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() - self.tail_at + 64);
        self.write_envelope(&mut out, cached, stale);
        out
    }

    /// What this entry costs in L1, in bytes.
    fn weight(&self) -> usize {
        self.bytes.len()
    }

    /// The value L2 holds; `None` for times outside what nanoseconds since the epoch can
    /// count (years 1677 to 2262), which are then not kept in L2.
    pub fn to_l2(&self) -> Option<Vec<u8>> {
        let tail = &self.bytes[self.tail_at..];
        let header = format!(
            "{} {} {} {}\n",
            self.calculated_at.timestamp_nanos_opt()?,
            self.expires_at.timestamp_nanos_opt()?,
            self.data_at - self.tail_at,
            tail.len()
        );
        let mut out = Vec::with_capacity(header.len() + tail.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(tail);
        Some(out)
    }

    /// A value read from L2 ([`Cached::to_l2`]); `None` if it does not frame.
    pub fn from_l2(bytes: Vec<u8>) -> Option<Cached> {
        let newline = bytes.iter().position(|b| *b == b'\n')?;
        let header = std::str::from_utf8(&bytes[..newline]).ok()?;
        let mut fields = header.split(' ').map(|f| f.parse::<i64>().ok());
        let mut next = || fields.next().flatten();
        let (calculated_at, expires_at, data, length) = (next()?, next()?, next()?, next()?);
        let tail_at = newline + 1;
        let tail = &bytes[tail_at..];
        let data = usize::try_from(data).ok()?;
        let frames = usize::try_from(length).ok() == Some(tail.len())
            && tail.starts_with(TAIL_START)
            && tail.ends_with(b"}")
            && data > TAIL_START.len()
            && data < tail.len();
        if !frames || fields.next().is_some() {
            return None;
        }
        Some(Cached {
            calculated_at: DateTime::from_timestamp_nanos(calculated_at),
            expires_at: DateTime::from_timestamp_nanos(expires_at),
            data_at: tail_at + data,
            bytes,
            tail_at,
        })
    }
}

/// Appends `value`'s JSON. The values written here (JSON trees, times) always serialise; were
/// one not to, `null` stands in for it, so the envelope stays JSON.
fn write_json(out: &mut Vec<u8>, value: &impl Serialize) {
    let start = out.len();
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
        out.extend_from_slice(b"null");
    }
}

/// L2: Redis, behind its own breaker.
struct L2 {
    redis: RedisClient,
    prefix: String,
    /// This process's name in its invalidation messages (`{origin} {key}`), so that its
    /// listener skips what it published itself: its own write has just filled its L1.
    origin: String,
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

    fn message(&self, key: &str) -> String {
        format!("{} {key}", self.origin)
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

    /// The stored result, if any and if it frames.
    async fn get(&self, key: &str) -> Option<Cached> {
        let k = self.redis_key(key);
        let body: Option<Vec<u8>> = self
            .call("cache_get", |mut c| async move {
                redis::cmd("GET").arg(&k).query_async(&mut c).await
            })
            .await?;
        Cached::from_l2(body?)
    }

    /// Stores the results, by key, in one pipeline (a batch writes thousands at a time).
    async fn set_many(&self, rows: &[(String, Arc<Cached>)]) {
        let now = self.clock.now();
        let mut pipe = redis::pipe();
        for (key, row) in rows {
            let Some(body) = row.to_l2() else {
                continue;
            };
            let left = (row.expires_at - now).num_seconds().max(0);
            let ttl = u64::try_from(left).unwrap_or(0) + self.grace_secs;
            pipe.cmd("SET")
                .arg(self.redis_key(key))
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
    }

    async fn delete_and_publish(&self, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        let redis_keys: Vec<String> = keys.iter().map(|k| self.redis_key(k)).collect();
        let channel = self.channel();
        let messages: Vec<String> = keys.iter().map(|k| self.message(k)).collect();
        let _: Option<()> = self
            .call("cache_invalidate", |mut c| async move {
                let mut pipe = redis::pipe();
                pipe.cmd("DEL").arg(&redis_keys).ignore();
                for message in &messages {
                    pipe.cmd("PUBLISH").arg(&channel).arg(message).ignore();
                }
                pipe.query_async(&mut c).await
            })
            .await;
    }

    async fn publish<'a>(&self, keys: impl Iterator<Item = &'a str>) {
        let channel = self.channel();
        let messages: Vec<String> = keys.map(|k| self.message(k)).collect();
        let _: Option<()> = self
            .call("cache_publish", |mut c| async move {
                let mut pipe = redis::pipe();
                for message in &messages {
                    pipe.cmd("PUBLISH").arg(&channel).arg(message).ignore();
                }
                pipe.query_async(&mut c).await
            })
            .await;
    }
}

/// The three layers.
pub struct Cache {
    l1: moka::future::Cache<String, Arc<Cached>>,
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
            .weigher(|k: &String, v: &Arc<Cached>| {
                u32::try_from(v.weight() + k.len()).unwrap_or(u32::MAX)
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
            origin: uuid::Uuid::new_v4().simple().to_string(),
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
            && let Some(row) = self.l1.get(key).await
        {
            metrics::counter!("learnlens_cache_hits_total", "layer" => "l1").increment(1);
            return Some((row, Layer::L1));
        }
        let row = Arc::new(self.l2.as_ref()?.get(key).await?);
        metrics::counter!("learnlens_cache_hits_total", "layer" => "l2").increment(1);
        if self.l1_enabled {
            self.l1.insert(key.to_owned(), row.clone()).await;
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
                let row = Arc::new(Cached::from_row(&row));
                if let Some(l2) = &self.l2 {
                    l2.set_many(&[(key.to_owned(), row.clone())]).await;
                }
                if self.l1_enabled {
                    self.l1.insert(key.to_owned(), row.clone()).await;
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
        let rows: Vec<(String, Arc<Cached>)> = rows
            .iter()
            .map(|row| (row_key(row), Arc::new(Cached::from_row(row))))
            .collect();
        if let Some(l2) = &self.l2 {
            l2.set_many(&rows).await;
            l2.publish(rows.iter().map(|(key, _)| key.as_str())).await;
        }
        if self.l1_enabled {
            for (key, row) in rows {
                self.l1.insert(key, row).await;
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
                    let Ok(message) = msg.get_payload::<String>() else {
                        continue;
                    };
                    if let Some((from, key)) = message.split_once(' ')
                        && from != l2.origin
                    {
                        self.l1.invalidate(key).await;
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

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use serde_json::json;

    use super::*;

    fn row() -> AnalyticsRow {
        let at = DateTime::from_timestamp_nanos(1_764_892_800_123_456_789);
        AnalyticsRow {
            subject_id: "u1".into(),
            role: "learner".into(),
            analytics_type: "engagementScore".into(),
            data: json!({"status": "ok", "n": 3, "note": "a \"quoted\"\nline"}),
            data_quality: json!({"degraded": false, "sources": {"activity": "live"}}),
            calculated_at: at,
            expires_at: at + TimeDelta::hours(6),
        }
    }

    fn envelope_json(cached: &Cached, hit: bool, stale: bool) -> serde_json::Value {
        serde_json::from_slice(&cached.envelope(hit, stale)).expect("the envelope is JSON")
    }

    #[test]
    fn the_envelope_holds_the_row_and_the_flags() {
        let row = row();
        let cached = Cached::from_row(&row);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(cached.data()).ok(),
            Some(row.data.clone())
        );
        for (hit, stale) in [(true, false), (false, false), (true, true)] {
            let got = envelope_json(&cached, hit, stale);
            assert_eq!(
                got,
                json!({
                    "cached": hit,
                    "stale": stale,
                    "requiresRefresh": stale,
                    "lastUpdated": "2025-12-05T00:00:00.123456789Z",
                    "expiresAt": "2025-12-05T06:00:00.123456789Z",
                    "dataQuality": row.data_quality,
                    "data": row.data,
                })
            );
        }
    }

    #[test]
    fn a_result_comes_back_from_l2_as_it_went_in() {
        let cached = Cached::from_row(&row());
        let back = Cached::from_l2(cached.to_l2().expect("in range")).expect("frames");
        assert_eq!(back.calculated_at, cached.calculated_at);
        assert_eq!(back.expires_at, cached.expires_at);
        assert_eq!(back.data(), cached.data());
        assert_eq!(back.envelope(true, false), cached.envelope(true, false));
        // And again from what L2 gave (its header in front of the tail).
        let again = Cached::from_l2(back.to_l2().expect("in range")).expect("frames");
        assert_eq!(again.envelope(true, true), cached.envelope(true, true));
    }

    #[test]
    fn an_l2_value_that_does_not_frame_is_a_miss() {
        let good = Cached::from_row(&row()).to_l2().expect("in range");
        let text = String::from_utf8(good.clone()).expect("utf-8");
        let (header, tail) = text.split_once('\n').expect("header");
        let bad: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"\n".to_vec(),
            tail.as_bytes().to_vec(),
            format!("{header} 1\n{tail}").into_bytes(),
            format!("{header}\n{}", &tail[..tail.len() - 1]).into_bytes(),
            format!("{header}\n{{{tail}").into_bytes(),
            format!("1 2 {0} {0}\n{tail}", tail.len()).into_bytes(),
            format!("1 2 -1 {}\n{tail}", tail.len()).into_bytes(),
            format!("1 x 20 {}\n{tail}", tail.len()).into_bytes(),
            format!("1 2 3 {}\n{tail}", tail.len()).into_bytes(),
            format!("1 2 20 {}\n{tail}", tail.len() + 1).into_bytes(),
            format!("1 2 20\n{tail}").into_bytes(),
        ];
        for value in bad {
            assert!(
                Cached::from_l2(value.clone()).is_none(),
                "{}",
                String::from_utf8_lossy(&value)
            );
        }
        assert!(Cached::from_l2(good).is_some());
    }

    #[test]
    fn another_payload_keeps_the_rest() {
        let row = row();
        let filtered = Cached::from_row(&row).with_data(&json!({"status": "ok", "n": 0}));
        let got = envelope_json(&filtered, true, false);
        assert_eq!(got["data"], json!({"status": "ok", "n": 0}));
        assert_eq!(got["dataQuality"], row.data_quality);
        assert_eq!(got["lastUpdated"], "2025-12-05T00:00:00.123456789Z");
        let from_l2 = Cached::from_l2(Cached::from_row(&row).to_l2().expect("in range"))
            .expect("frames")
            .with_data(&json!([]));
        assert_eq!(envelope_json(&from_l2, true, false)["data"], json!([]));
    }
}
