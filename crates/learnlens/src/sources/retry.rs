//! Retries of idempotent reads: at most `max_retries` more attempts, exponential backoff with
//! full jitter, `Retry-After` honoured, and never past the call's deadline (sources.md).

use std::time::Duration;

use rand::Rng as _;
use serde::Deserialize;

/// Retry settings (`[sources.retry]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts after the first.
    pub max_retries: u32,
    /// The backoff before retry n is uniform in [0, base·2ⁿ] ("full jitter").
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_retries: 2,
            base_delay_ms: 100,
            max_delay_ms: 1000,
        }
    }
}

impl RetryConfig {
    /// The pause before retry `n` (0-based), or `retry_after` when the service named one.
    pub fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after;
        }
        let cap = self
            .base_delay_ms
            .saturating_mul(1u64 << n.min(16))
            .min(self.max_delay_ms);
        Duration::from_millis(rand::rng().random_range(0..=cap))
    }
}

/// Parses a `Retry-After` header given in seconds (the HTTP-date form is not used by our
/// sources and is ignored).
pub fn parse_retry_after(value: Option<&reqwest::header::HeaderValue>) -> Option<Duration> {
    let secs: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_under_its_cap_and_retry_after_wins() {
        let c = RetryConfig::default();
        for _ in 0..200 {
            assert!(c.delay(0, None) <= Duration::from_millis(100));
            assert!(c.delay(1, None) <= Duration::from_millis(200));
            assert!(c.delay(10, None) <= Duration::from_millis(1000));
        }
        assert_eq!(
            c.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        let v = reqwest::header::HeaderValue::from_static("7");
        assert_eq!(parse_retry_after(Some(&v)), Some(Duration::from_secs(7)));
        let bad = reqwest::header::HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT");
        assert_eq!(parse_retry_after(Some(&bad)), None);
    }
}
