//! The HTTP half of the activity source: `GET {endpoint}/statements` with Basic auth, paging
//! through `more`.
//!
//! Invariants:
//! - Every request carries `X-Experience-API-Version: 1.0.3`, `Accept: application/json`,
//!   Basic auth and one `X-Request-Id` shared by the pages of a fetch.
//! - A hostile or broken LRS cannot exhaust memory or loop forever: each page body is read up
//!   to `max_page_bytes` and no further (an error, not a truncation), and a fetch reads at most
//!   `max_pages` pages. Redirects are not followed and `more` must stay on the configured
//!   LRS (same scheme, host and port), so the credentials only ever go to that LRS.
//! - Errors stay typed (status, timeout, transport, body) for the breaker; messages carry no
//!   URL (its query names a user) and no credentials.
//! - Retries, the deadline and the circuit breaker are not decided here: a client built with
//!   [`XapiClient::with_resilience`] (as `Sources` builds it) sends each page through the
//!   service's [`Resilience`], so every page is one call for the breaker and a page that does
//!   not parse counts as a failure; a bare client (tests, benches) sends each page once.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use learnlens_analytics::input::ActivityEvent;
use reqwest::Url;
use reqwest::header::{ACCEPT, RETRY_AFTER};
use serde_json::json;
use uuid::Uuid;

use crate::config::ActivitySourceConfig;
use crate::sources::contract::{CallError, Resilience};

use super::{
    EmailDirectory, FieldCounts, Mapping, Platform, SkipCounts, XapiError, parse_statements,
    remove_voided,
};

/// How the client reaches its LRS and how far it trusts it.
#[derive(Clone)]
pub struct XapiClientOptions {
    /// The LRS's xAPI endpoint, e.g. `http://127.0.0.1:8100/xAPI/` (statements are read from
    /// `{endpoint}/statements`).
    pub endpoint: String,
    pub username: String,
    pub password: String,
    pub platform: Platform,
    /// Per page request, from sending to the end of the body.
    pub timeout: Duration,
    /// Statements per page asked for when the query does not say (`limit`; 0 = the LRS's
    /// maximum).
    pub page_limit: u32,
    pub max_pages: u32,
    pub max_page_bytes: usize,
}

impl XapiClientOptions {
    /// Options with the defaults of `config/default.toml`: 3 s per page, 500 statements per
    /// page, at most 10,000 pages of at most 32 MiB.
    pub fn new(endpoint: &str, username: &str, password: &str, platform: Platform) -> Self {
        XapiClientOptions {
            endpoint: endpoint.to_owned(),
            username: username.to_owned(),
            password: password.to_owned(),
            platform,
            timeout: Duration::from_secs(3),
            page_limit: 500,
            max_pages: 10_000,
            max_page_bytes: 32 << 20,
        }
    }
}

impl XapiClientOptions {
    /// The options of `[sources.activity]`; `None` when no LRS is configured (empty `url`).
    /// Checks the platform IRI and the limits; the endpoint is checked by [`XapiClient::new`].
    pub fn from_config(config: &ActivitySourceConfig) -> Result<Option<Self>, XapiError> {
        let platform = Platform::new(&config.platform)?;
        if config.page_limit == 0 || config.max_pages == 0 || config.max_page_bytes == 0 {
            return Err(XapiError::Config(
                "page_limit, max_pages and max_page_bytes must be positive".into(),
            ));
        }
        if config.url.is_empty() {
            return Ok(None);
        }
        Ok(Some(XapiClientOptions {
            endpoint: config.url.clone(),
            username: config.username.clone(),
            password: config.password.clone(),
            platform,
            timeout: Duration::from_millis(config.timeout_ms),
            page_limit: config.page_limit,
            max_pages: config.max_pages,
            max_page_bytes: config.max_page_bytes,
        }))
    }
}

impl fmt::Debug for XapiClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XapiClientOptions")
            .field("endpoint", &self.endpoint)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("platform", &self.platform)
            .field("timeout", &self.timeout)
            .field("page_limit", &self.page_limit)
            .field("max_pages", &self.max_pages)
            .field("max_page_bytes", &self.max_page_bytes)
            .finish()
    }
}

/// Which statements to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatementQuery {
    /// Only statements after this instant (xAPI `since`: by `stored` in the specification;
    /// Ralph's file backend compares `timestamp`).
    pub since: Option<DateTime<Utc>>,
    /// Only statements at or before this instant (xAPI `until`).
    pub until: Option<DateTime<Utc>>,
    /// Only statements whose actor is this user, as an `account` of the platform. Statements
    /// that identify the same person by `mbox` are not matched by the LRS.
    pub agent: Option<String>,
    /// Statements per page; `None` uses the client's `page_limit`.
    pub limit: Option<u32>,
    /// The `X-Request-Id` to send; `None` makes a fresh one.
    pub request_id: Option<String>,
}

/// All statements of a query, mapped; counts cover every page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FetchResult {
    pub events: Vec<ActivityEvent>,
    pub skipped: SkipCounts,
    pub invalid_fields: FieldCounts,
    /// Statements received: `events.len() + skipped.total()`.
    pub statements_seen: u64,
    pub pages: u32,
}

/// A `Retry-After` value: a delay or an instant (RFC 9110 §10.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryAfter {
    Seconds(u64),
    At(DateTime<Utc>),
}

impl RetryAfter {
    /// Reads `delay-seconds` or an HTTP-date; `None` for anything else.
    pub fn parse(value: &str) -> Option<RetryAfter> {
        let value = value.trim();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            return value.parse().ok().map(RetryAfter::Seconds);
        }
        DateTime::parse_from_rfc2822(value)
            .ok()
            .map(|t| RetryAfter::At(t.with_timezone(&Utc)))
    }

    /// How long to wait from `now` (zero for an instant already past).
    pub fn delay(&self, now: DateTime<Utc>) -> Duration {
        match self {
            RetryAfter::Seconds(s) => Duration::from_secs(*s),
            RetryAfter::At(t) => (*t - now).to_std().unwrap_or(Duration::ZERO),
        }
    }
}

/// A client of one LRS. Cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct XapiClient {
    http: reqwest::Client,
    statements: Url,
    username: String,
    password: String,
    platform: Platform,
    page_limit: u32,
    max_pages: u32,
    max_page_bytes: usize,
    resilience: Option<std::sync::Arc<Resilience>>,
}

impl fmt::Debug for XapiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XapiClient")
            .field("statements", &self.statements.as_str())
            .field("platform", &self.platform.as_str())
            .finish_non_exhaustive()
    }
}

impl XapiClient {
    /// Checks the options and builds the HTTP client; sends nothing.
    pub fn new(options: XapiClientOptions) -> Result<XapiClient, XapiError> {
        let config = |m: String| XapiError::Config(m);
        let mut endpoint = Url::parse(&options.endpoint)
            .map_err(|e| config(format!("LRS endpoint `{}`: {e}", options.endpoint)))?;
        if !matches!(endpoint.scheme(), "http" | "https")
            || endpoint.query().is_some()
            || endpoint.fragment().is_some()
            || !endpoint.username().is_empty()
            || endpoint.password().is_some()
        {
            return Err(config(
                "the LRS endpoint must be an http(s) URL without query, fragment or credentials \
                 (give those as username and password)"
                    .into(),
            ));
        }
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        let statements = endpoint
            .join("statements")
            .map_err(|e| config(format!("LRS endpoint: {e}")))?;
        if options.max_pages == 0 || options.max_page_bytes == 0 {
            return Err(config(
                "max_pages and max_page_bytes must be positive".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| config(format!("building the HTTP client: {e}")))?;
        Ok(XapiClient {
            http,
            statements,
            username: options.username,
            password: options.password,
            platform: options.platform,
            page_limit: options.page_limit,
            max_pages: options.max_pages,
            max_page_bytes: options.max_page_bytes,
            resilience: None,
        })
    }

    /// Sends every page through `resilience` (deadline, retries, breaker).
    pub fn with_resilience(mut self, resilience: Resilience) -> Self {
        self.resilience = Some(std::sync::Arc::new(resilience));
        self
    }

    pub fn platform(&self) -> &Platform {
        &self.platform
    }

    /// Reads every page of `query`, mapping statements with `emails` for `mbox` actors.
    /// Statements voided by any page of the fetch are dropped (and counted as voided).
    pub async fn fetch(
        &self,
        query: &StatementQuery,
        emails: &dyn EmailDirectory,
    ) -> Result<FetchResult, XapiError> {
        let mapping = Mapping {
            platform: &self.platform,
            emails,
        };
        let request_id = query
            .request_id
            .clone()
            .unwrap_or_else(|| Uuid::now_v7().to_string());
        let mut url = self.first_page(query);
        let mut result = FetchResult::default();
        let mut ids = Vec::new();
        let mut voids = HashSet::new();
        loop {
            if result.pages >= self.max_pages {
                return Err(XapiError::TooManyPages {
                    max: self.max_pages,
                });
            }
            let page = self.page(&url, &request_id, &mapping).await?;
            result.pages += 1;
            tracing::debug!(
                source.name = "activity",
                request.id = %request_id,
                page = result.pages,
                statements = page.seen,
                "xAPI page read"
            );
            result.statements_seen += page.seen;
            result.skipped.add(&page.skipped);
            result.invalid_fields.add(&page.invalid_fields);
            result.events.extend(page.events);
            ids.extend(page.ids);
            voids.extend(page.voids_elsewhere);
            match page.more {
                Some(more) => url = self.resolve_more(&more)?,
                None => break,
            }
        }
        if !voids.is_empty() {
            result.skipped.voided += remove_voided(&mut result.events, &mut ids, &mut voids);
        }
        if result.skipped.total() + result.invalid_fields.total() > 0 {
            tracing::info!(
                source.name = "activity",
                request.id = %request_id,
                statements = result.statements_seen,
                skipped.voided = result.skipped.voided,
                skipped.malformed = result.skipped.malformed,
                skipped.unknown_actor = result.skipped.unknown_actor,
                skipped.unknown_verb = result.skipped.unknown_verb,
                skipped.unknown_object = result.skipped.unknown_object,
                invalid_fields = result.invalid_fields.total(),
                "xAPI statements skipped or partly read"
            );
        }
        Ok(result)
    }

    fn first_page(&self, query: &StatementQuery) -> Url {
        let mut url = self.statements.clone();
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(since) = query.since {
                pairs.append_pair("since", &rfc3339(since));
            }
            if let Some(until) = query.until {
                pairs.append_pair("until", &rfc3339(until));
            }
            if let Some(user) = &query.agent {
                let agent = json!({
                    "objectType": "Agent",
                    "account": {"homePage": self.platform.as_str(), "name": user},
                });
                pairs.append_pair("agent", &agent.to_string());
            }
            let limit = query.limit.unwrap_or(self.page_limit);
            pairs.append_pair("limit", &limit.to_string());
        }
        url
    }

    /// `more` is a URL relative to the endpoint or absolute; either way on the same LRS.
    fn resolve_more(&self, more: &str) -> Result<Url, XapiError> {
        let url = self
            .statements
            .join(more)
            .map_err(|e| XapiError::BadMore(e.to_string()))?;
        if url.origin() != self.statements.origin() {
            return Err(XapiError::BadMore("it points to another server".into()));
        }
        Ok(url)
    }

    /// One page, read and parsed: through the resilience stack when there is one.
    async fn page(
        &self,
        url: &Url,
        request_id: &str,
        mapping: &Mapping<'_>,
    ) -> Result<super::StatementPage, XapiError> {
        let Some(resilience) = &self.resilience else {
            let body = self.get_page(url, request_id).await?;
            return parse_statements(&body, mapping);
        };
        let cap = self.max_page_bytes;
        resilience
            .get(
                || self.page_request(url, request_id),
                |body| {
                    if body.len() > cap {
                        return Err(format!("an LRS page exceeded {cap} bytes"));
                    }
                    parse_statements(body, mapping).map_err(|e| e.to_string())
                },
            )
            .await
            .map_err(|e| match e {
                CallError::Open => XapiError::Open,
                CallError::Timeout => XapiError::Timeout,
                CallError::Transport(m) => XapiError::Transport(m),
                CallError::Status(status) => XapiError::Status {
                    status,
                    retry_after: None,
                },
                CallError::Body(m) => XapiError::Body(m),
            })
    }

    fn page_request(&self, url: &Url, request_id: &str) -> reqwest::RequestBuilder {
        self.http
            .get(url.clone())
            .basic_auth(&self.username, Some(&self.password))
            .header("X-Experience-API-Version", "1.0.3")
            .header(ACCEPT, "application/json")
            .header("X-Request-Id", request_id)
    }

    async fn get_page(&self, url: &Url, request_id: &str) -> Result<Vec<u8>, XapiError> {
        let mut response = self
            .page_request(url, request_id)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(RetryAfter::parse);
            return Err(XapiError::Status {
                status: status.as_u16(),
                retry_after,
            });
        }
        let cap = self.max_page_bytes;
        let too_large = XapiError::BodyTooLarge { limit: cap };
        let announced = response.content_length().unwrap_or(0);
        if announced > cap as u64 {
            return Err(too_large);
        }
        let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0).max(8192));
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > cap {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A reqwest error as ours, without its URL (the query may name a user).
fn transport(error: reqwest::Error) -> XapiError {
    if error.is_timeout() {
        return XapiError::Timeout;
    }
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    XapiError::Transport(message)
}
