//! The client of the four JSON-contract services (directory, skills, catalog, assessments):
//! `GET /v1/{collection}?{filters}&cursor=…&limit=…` → `{"items": […], "nextCursor": …}` and
//! `GET /v1/{collection}/{id}`, with a service token and `X-Request-Id` (sources.md).
//!
//! [`Resilience`] is the per-service call stack shared with the xAPI client: a deadline over
//! the whole call, retries of transient failures, and the circuit breaker, which hears every
//! attempt's outcome — including a 200 whose body does not parse. [`ContractClient`] adds
//! paging and the fallback chain: live → last-known-good snapshot → mock.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::breaker::{CircuitBreaker, Outcome};
use super::retry::{RetryConfig, parse_retry_after};
use super::{Fetched, MockSource, Provenance, Service};
use crate::clock::Clock;
use crate::store::Store;

/// Bodies larger than this are refused (a hostile or broken source must not exhaust memory).
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// Why one call (all its attempts) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("circuit breaker open")]
    Open,
    #[error("deadline exceeded")]
    Timeout,
    #[error("transport error: {0}")]
    Transport(String),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("unusable body: {0}")]
    Body(String),
}

/// Deadline, retries and breaker for one service.
pub struct Resilience {
    pub service: Service,
    pub breaker: Arc<CircuitBreaker>,
    pub retry: RetryConfig,
    pub deadline: Duration,
    pub http: reqwest::Client,
}

impl Resilience {
    /// Performs an idempotent GET built by `request`, parsing a 2xx body with `parse`. Retries
    /// connect errors, timeouts, 5xx and 429 (after `Retry-After`) while the deadline allows;
    /// never while the breaker is open. 4xx other than 429 are the caller's error: not retried,
    /// not held against the service. While the breaker's probes are out, waits for their
    /// verdict ([`CircuitBreaker::acquire_or_wait`]).
    pub async fn get<T>(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, CallError> {
        let deadline = tokio::time::Instant::now() + self.deadline;
        let mut attempt = 0u32;
        loop {
            let permit = self
                .breaker
                .acquire_or_wait(deadline)
                .await
                .map_err(|_| CallError::Open)?;
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            if remaining.is_zero() {
                return Err(CallError::Timeout);
            }
            let result = tokio::time::timeout(remaining, self.attempt(&request)).await;
            let (error, retry_after) = match result {
                Err(_) => (CallError::Timeout, None),
                Ok(Err(e)) => e,
                Ok(Ok(body)) => match parse(&body) {
                    Ok(value) => {
                        permit.record(Outcome::Success);
                        return Ok(value);
                    }
                    Err(e) => {
                        permit.record(Outcome::Failure);
                        return Err(CallError::Body(e));
                    }
                },
            };
            let retryable = match &error {
                CallError::Status(s) if (400..500).contains(s) && *s != 429 => {
                    permit.record(Outcome::Success);
                    return Err(error);
                }
                CallError::Body(_) => false,
                _ => true,
            };
            permit.record(Outcome::Failure);
            metrics::counter!("learnlens_source_call_failures_total", "service" => self.service.as_str()).increment(1);
            if !retryable || attempt >= self.retry.max_retries {
                return Err(error);
            }
            let pause = self.retry.delay(attempt, retry_after);
            if tokio::time::Instant::now() + pause >= deadline {
                return Err(error);
            }
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }

    /// One attempt: the body of a 2xx, or the error with any `Retry-After`.
    async fn attempt(
        &self,
        request: &impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, (CallError, Option<Duration>)> {
        let mut response = request()
            .send()
            .await
            .map_err(|e| (CallError::Transport(e.without_url().to_string()), None))?;
        let status = response.status();
        if !status.is_success() {
            let after = parse_retry_after(response.headers().get(reqwest::header::RETRY_AFTER));
            return Err((CallError::Status(status.as_u16()), after));
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err((CallError::Body("body larger than 32 MiB".into()), None));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err((CallError::Transport(e.without_url().to_string()), None)),
            }
        }
    }
}

/// Why a read could not be answered at all (no live answer, no snapshot, no mock).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{service} is unavailable and no fallback exists: {cause}")]
    Unavailable { service: Service, cause: CallError },
    /// The service refused the request (4xx): a bug on our side or a bad id, not an outage.
    #[error("{service} refused the request: {cause}")]
    Refused { service: Service, cause: CallError },
}

/// One page of a list endpoint.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

/// Settings of one contract service.
#[derive(Debug, Clone)]
pub struct ContractSettings {
    pub base_url: String,
    pub token: Option<String>,
    /// Items per page asked for (1–1000).
    pub page_limit: u32,
    /// A list stops with an error after this many pages (a looping cursor must not hang us).
    pub max_pages: u32,
}

/// A client of one JSON-contract service, with fallback.
pub struct ContractClient {
    pub settings: ContractSettings,
    pub resilience: Resilience,
    pub fallback: Fallback,
}

impl ContractClient {
    pub fn service(&self) -> Service {
        self.resilience.service
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.settings.base_url.trim_end_matches('/'))
    }

    fn request(
        &self,
        url: &str,
        query: &[(String, String)],
        request_id: &str,
    ) -> reqwest::RequestBuilder {
        let mut r = self
            .resilience
            .http
            .get(url)
            .query(query)
            .header("x-request-id", request_id)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(token) = &self.settings.token {
            r = r.bearer_auth(token);
        }
        r
    }

    /// Every item of `collection` matching `filters`, through all pages; from the service if it
    /// answers, else from the last good answer, else from mock data.
    pub async fn list<T>(
        &self,
        collection: &str,
        filters: &[(&str, &str)],
    ) -> Result<Fetched<Vec<T>>, SourceError>
    where
        T: DeserializeOwned + Serialize,
    {
        let mut filters: Vec<(String, String)> = filters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        filters.sort();
        let key = request_key(collection, &filters);
        match self.list_live(collection, &filters).await {
            Ok(items) => {
                let now = self.fallback.clock.now();
                self.fallback.keep(&key, &items, now).await;
                Ok(Fetched {
                    value: items,
                    provenance: Provenance::Live,
                    fetched_at: now,
                })
            }
            Err(cause @ CallError::Status(s)) if (400..500).contains(&s) && s != 429 => {
                Err(SourceError::Refused {
                    service: self.service(),
                    cause,
                })
            }
            Err(cause) => {
                self.fallback
                    .answer(&key, collection, &filters, cause)
                    .await
            }
        }
    }

    async fn list_live<T: DeserializeOwned>(
        &self,
        collection: &str,
        filters: &[(String, String)],
    ) -> Result<Vec<T>, CallError> {
        let url = self.url(collection);
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..self.settings.max_pages.max(1) {
            let mut query = filters.to_vec();
            query.push((
                "limit".into(),
                self.settings.page_limit.clamp(1, 1000).to_string(),
            ));
            if let Some(c) = &cursor {
                query.push(("cursor".into(), c.clone()));
            }
            let page: Page<T> = self
                .resilience
                .get(
                    || self.request(&url, &query, &request_id),
                    |b| serde_json::from_slice(b).map_err(|e| e.to_string()),
                )
                .await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => return Ok(items),
            }
        }
        Err(CallError::Body(format!(
            "more than {} pages",
            self.settings.max_pages
        )))
    }

    /// One item by id (`None`: the service says it does not exist).
    pub async fn get<T>(
        &self,
        collection: &str,
        id: &str,
    ) -> Result<Fetched<Option<T>>, SourceError>
    where
        T: DeserializeOwned + Serialize,
    {
        let key = format!("{collection}/{id}");
        let url = self.url(&format!("{collection}/{}", urlencode(id)));
        let request_id = uuid::Uuid::new_v4().to_string();
        let live = self
            .resilience
            .get(
                || self.request(&url, &[], &request_id),
                |b| serde_json::from_slice::<T>(b).map_err(|e| e.to_string()),
            )
            .await;
        let now = self.fallback.clock.now();
        match live {
            Ok(item) => {
                self.fallback.keep(&key, &Some(&item), now).await;
                Ok(Fetched {
                    value: Some(item),
                    provenance: Provenance::Live,
                    fetched_at: now,
                })
            }
            Err(CallError::Status(404)) => Ok(Fetched {
                value: None,
                provenance: Provenance::Live,
                fetched_at: now,
            }),
            Err(cause @ CallError::Status(s)) if (400..500).contains(&s) && s != 429 => {
                Err(SourceError::Refused {
                    service: self.service(),
                    cause,
                })
            }
            Err(cause) => {
                let filters = [("id".to_owned(), id.to_owned())];
                let found = self
                    .fallback
                    .answer::<T>(&key, collection, &filters, cause)
                    .await?;
                Ok(Fetched {
                    value: found.value.into_iter().next(),
                    provenance: found.provenance,
                    fetched_at: found.fetched_at,
                })
            }
        }
    }
}

/// The fallback chain of one service (sources.md): every good answer is kept in the store
/// under its request key; when the service fails, the last good answer is used, then mock
/// data, and the answer says which ([`Provenance`]).
pub struct Fallback {
    pub service: Service,
    pub store: Store,
    pub mock: Option<Arc<dyn MockSource>>,
    pub clock: Arc<dyn Clock>,
}

impl Fallback {
    /// Keeps `value` as the last good answer to `key` (a failure to keep it is only logged).
    pub async fn keep<V: Serialize>(
        &self,
        key: &str,
        value: &V,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let body = match serde_json::to_value(value) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(source.name = %self.service, error = %e, "snapshot not serialisable");
                return;
            }
        };
        if let Err(e) = self
            .store
            .put_snapshot(self.service.as_str(), key, &body, now)
            .await
        {
            tracing::warn!(source.name = %self.service, error = %e, "keeping the snapshot failed");
        }
    }

    /// The answer to `key` when the service failed with `cause`: the last good answer, else
    /// mock data for `collection` and `filters`, else [`SourceError::Unavailable`].
    pub async fn answer<T: DeserializeOwned>(
        &self,
        key: &str,
        collection: &str,
        filters: &[(String, String)],
        cause: CallError,
    ) -> Result<Fetched<Vec<T>>, SourceError> {
        let service = self.service;
        tracing::warn!(source.name = %service, error = %cause, request = key, "source failed; falling back");
        match self.store.get_snapshot(service.as_str(), key).await {
            Ok(Some(snapshot)) => {
                // A `get` snapshot holds one item (or null); a `list` snapshot an array.
                let items = match snapshot.body {
                    serde_json::Value::Array(items) => items,
                    serde_json::Value::Null => Vec::new(),
                    one => vec![one],
                };
                if let Ok(items) = items
                    .into_iter()
                    .map(serde_json::from_value)
                    .collect::<Result<Vec<T>, _>>()
                {
                    metrics::counter!("learnlens_source_fallbacks_total", "service" => service.as_str(), "provenance" => "snapshot").increment(1);
                    return Ok(Fetched {
                        value: items,
                        provenance: Provenance::Snapshot,
                        fetched_at: snapshot.fetched_at,
                    });
                }
                tracing::warn!(source.name = %service, "stored snapshot no longer parses; ignoring it");
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(source.name = %service, error = %e, "reading the snapshot failed")
            }
        }
        if let Some(mock) = &self.mock
            && let Some(items) = mock.query(service, collection, filters)
            && let Ok(items) = items
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<Vec<T>, _>>()
        {
            metrics::counter!("learnlens_source_fallbacks_total", "service" => service.as_str(), "provenance" => "mock").increment(1);
            return Ok(Fetched {
                value: items,
                provenance: Provenance::Mock,
                fetched_at: self.clock.now(),
            });
        }
        Err(SourceError::Unavailable { service, cause })
    }
}

/// The snapshot key of a list request: the collection and its sorted filters.
pub fn request_key(collection: &str, sorted_filters: &[(String, String)]) -> String {
    let query: Vec<String> = sorted_filters
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    format!("{collection}?{}", query.join("&"))
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keys_are_canonical_and_escaped() {
        let f = vec![
            ("orgId".to_owned(), "o 1".to_owned()),
            ("role".to_owned(), "learner".to_owned()),
        ];
        assert_eq!(request_key("users", &f), "users?orgId=o%201&role=learner");
        assert_eq!(urlencode("a/b?c"), "a%2Fb%3Fc");
    }
}
