//! Rate limits per route class and key (api.md), with GCRA ([`gcra`]).
//!
//! With Redis configured, the state is shared by every replica: one atomic Lua script per
//! check, fed the time of the injected clock. Without Redis, or while it fails, each process
//! limits in memory, so no limit (login in particular) ever goes away.

pub mod gcra;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::Clock;
use crate::config::{RateLimitsConfig, RateSpec};
use crate::redis_client::RedisClient;

pub use gcra::{Gcra, Verdict};

/// The limited operations; each has its own limit and its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteClass {
    Login,
    Refresh,
    Logout,
    Me,
    Analytics,
    AnalyticsRefresh,
    JobStatus,
    JobCancel,
    System,
}

impl RouteClass {
    fn name(self) -> &'static str {
        match self {
            RouteClass::Login => "login",
            RouteClass::Refresh => "refresh",
            RouteClass::Logout => "logout",
            RouteClass::Me => "me",
            RouteClass::Analytics => "analytics",
            RouteClass::AnalyticsRefresh => "analytics_refresh",
            RouteClass::JobStatus => "job_status",
            RouteClass::JobCancel => "job_cancel",
            RouteClass::System => "system",
        }
    }
}

/// Entries kept in memory before expired ones are swept.
const SWEEP_ABOVE: usize = 50_000;

/// GCRA in one atomic step. KEYS[1] = state key; ARGV = now, period, interval (µs).
/// Returns {allowed (0|1), tat}. The key expires once the bucket is full again.
const GCRA_LUA: &str = r#"
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
if now >= new_tat - period then
  redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
  return {1, new_tat}
end
return {0, tat}
"#;

pub struct RateLimiter {
    limits: RateLimitsConfig,
    clock: Arc<dyn Clock>,
    memory: Mutex<HashMap<(RouteClass, String), i64>>,
    redis: Option<(RedisClient, redis::Script)>,
    key_prefix: String,
}

impl RateLimiter {
    pub fn new(
        limits: RateLimitsConfig,
        clock: Arc<dyn Clock>,
        redis: Option<RedisClient>,
        key_prefix: &str,
    ) -> Self {
        RateLimiter {
            key_prefix: key_prefix.to_owned(),
            limits,
            clock,
            memory: Mutex::new(HashMap::new()),
            redis: redis.map(|r| (r, redis::Script::new(GCRA_LUA))),
        }
    }

    fn spec(&self, class: RouteClass) -> RateSpec {
        let l = &self.limits;
        match class {
            RouteClass::Login => l.login,
            RouteClass::Refresh => l.refresh,
            RouteClass::Logout => l.logout,
            RouteClass::Me => l.me,
            RouteClass::Analytics => l.analytics,
            RouteClass::AnalyticsRefresh => l.analytics_refresh,
            RouteClass::JobStatus => l.job_status,
            RouteClass::JobCancel => l.job_cancel,
            RouteClass::System => l.system,
        }
    }

    fn gcra(&self, class: RouteClass) -> Gcra {
        let spec = self.spec(class);
        Gcra {
            count: spec.count,
            period_us: duration_us(spec.period),
        }
    }

    /// Counts one request of `class` by `key` and says whether it may proceed.
    pub async fn check(&self, class: RouteClass, key: &str) -> Verdict {
        let gcra = self.gcra(class);
        let now = self.clock.now().timestamp_micros();
        if let Some((client, script)) = &self.redis {
            let redis_key = format!("{}rl:{}:{key}", self.key_prefix, class.name());
            let result = client
                .run(|mut conn| async move {
                    script
                        .key(redis_key)
                        .arg(now)
                        .arg(gcra.period_us)
                        .arg(gcra.interval_us())
                        .invoke_async::<(i64, i64)>(&mut conn)
                        .await
                })
                .await;
            match result {
                Ok((allowed, tat)) => return gcra.verdict(allowed == 1, tat, now),
                Err(e) => {
                    metrics::counter!("learnlens_redis_errors_total", "op" => "rate_limit")
                        .increment(1);
                    tracing::warn!(error = %e, "rate limiter: Redis unavailable, limiting in memory");
                }
            }
        }
        self.check_in_memory(class, key, gcra, now)
    }

    fn check_in_memory(&self, class: RouteClass, key: &str, gcra: Gcra, now: i64) -> Verdict {
        let mut map = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > SWEEP_ABOVE {
            map.retain(|_, tat| *tat > now);
        }
        let entry = (class, key.to_owned());
        let verdict = gcra.check(map.get(&entry).copied(), now);
        if verdict.allowed {
            map.insert(entry, verdict.tat_us);
        }
        verdict
    }
}

fn duration_us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::config::{Config, Overrides};
    use chrono::{TimeDelta, TimeZone, Utc};

    fn limiter(clock: FakeClock) -> RateLimiter {
        let config = Config::load(None, &Overrides::default()).expect("defaults");
        RateLimiter::new(config.rate_limits, Arc::new(clock), None, "t:")
    }

    #[tokio::test]
    async fn login_limit_is_five_per_minute_per_key_with_exact_retry_after() {
        let clock = FakeClock::new(
            Utc.with_ymd_and_hms(2026, 11, 26, 6, 0, 0)
                .single()
                .expect("date"),
        );
        let rl = limiter(clock.clone());
        for _ in 0..5 {
            assert!(rl.check(RouteClass::Login, "ip|a@b.c").await.allowed);
        }
        let refused = rl.check(RouteClass::Login, "ip|a@b.c").await;
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 12);
        // Other keys and other classes are independent.
        assert!(rl.check(RouteClass::Login, "ip|x@b.c").await.allowed);
        assert!(rl.check(RouteClass::Me, "ip|a@b.c").await.allowed);
        clock.advance(TimeDelta::seconds(11));
        assert!(!rl.check(RouteClass::Login, "ip|a@b.c").await.allowed);
        clock.advance(TimeDelta::seconds(1));
        assert!(rl.check(RouteClass::Login, "ip|a@b.c").await.allowed);
    }
}
