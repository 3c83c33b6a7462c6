//! The demo source server: the four JSON contracts and the xAPI statements resource, served
//! over real HTTP, so that demo mode exercises the same clients, breakers and fallbacks as
//! production. One listener, one path prefix per service:
//!
//! - `/{directory|skills|catalog|assessments}/v1/{collection}[/{id}]` (sources.md contracts:
//!   filters, `cursor`, `limit` 1–1000, `{"items", "nextCursor"}`), answered by
//!   [`DatasetSource`], the same engine as the mock fallback;
//! - `/lrs/xAPI/statements` (`agent`, `since`, `until`, `limit`, paging through `more`),
//!   answered by a [`StatementStore`].
//!
//! What it serves ([`SourceSpec`], [`SourceData`]): the entities are always an in-memory
//! [`Dataset`] without events (OULAD's are small; synthetic `large`'s take ~1.2 GiB, see
//! docs/decisions.md); the statements come from one of three stores: every event in memory
//! (synthetic `demo` and `small`), events regenerated per user on demand (synthetic `medium`
//! and `large`, 2 and 20 million events), or OULAD's click rows in a packed index (10.6
//! million). Every size is served.
//!
//! A bearer token (JSON services) and Basic credentials (LRS) are required when configured.
//! Bad input (an unknown filter, a cursor that is not ours, a malformed time, agent or limit)
//! is a 400 `{"error", "message"}`, never a panic. Pages are built on the blocking pool: a
//! filtered scan of a large collection must not stall the async workers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use learnlens_analytics::Dataset;
use serde_json::{Value, json};

use super::oulad::OuladSources;
use super::statements::{
    Cursor, MemoryStatements, StatementFilter, StatementStore, SyntheticStatements,
};
use super::synthetic::{Generator, Size, SpecError, SyntheticSpec};
use crate::sources::Service;
use crate::sources::dataset::{DatasetSource, QueryError};
use crate::sources::xapi::{Platform, StatementJson};

/// Credentials the demo server demands; `None` parts are not checked.
#[derive(Debug, Clone, Default)]
pub struct DemoAuth {
    pub token: Option<String>,
    pub lrs: Option<(String, String)>,
}

/// `synthetic[:SIZE[:SEED]]` or `oulad[:PATH]`, the data set argument of `learnlens sources`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    Synthetic(SyntheticSpec),
    /// The OULAD folder; `None`: where [`crate::oulad::locate`] looks.
    Oulad(Option<PathBuf>),
}

/// A malformed data set argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceSpecError {
    #[error("unknown data set {0:?}: expected synthetic[:SIZE[:SEED]] or oulad[:PATH]")]
    Unknown(String),
    #[error(transparent)]
    Synthetic(SpecError),
}

impl FromStr for SourceSpec {
    type Err = SourceSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if trimmed == "oulad" {
            return Ok(SourceSpec::Oulad(None));
        }
        if let Some(path) = trimmed.strip_prefix("oulad:") {
            // Everything after the first colon is the path (it may contain colons).
            return Ok(SourceSpec::Oulad(
                Some(PathBuf::from(path)).filter(|p| !p.as_os_str().is_empty()),
            ));
        }
        match s.parse::<SyntheticSpec>() {
            Ok(spec) => Ok(SourceSpec::Synthetic(spec)),
            Err(SpecError::UnknownDataset(_)) => Err(SourceSpecError::Unknown(s.to_owned())),
            Err(e) => Err(SourceSpecError::Synthetic(e)),
        }
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceSpec::Synthetic(s) => write!(f, "synthetic:{}:{}", s.size, s.seed),
            SourceSpec::Oulad(None) => f.write_str("oulad"),
            SourceSpec::Oulad(Some(p)) => write!(f, "oulad:{}", p.display()),
        }
    }
}

impl SourceSpec {
    /// Builds the data (CPU- and I/O-bound: seconds for synthetic `large` and OULAD).
    /// `progress` receives a line per step of a long load.
    pub fn load(&self, progress: impl FnMut(&str)) -> anyhow::Result<SourceData> {
        match self {
            SourceSpec::Synthetic(s) => Ok(SourceData::synthetic(s.size, s.seed)),
            SourceSpec::Oulad(path) => {
                let root = crate::oulad::locate(path.as_deref());
                let oulad = crate::oulad::Oulad::open(&root)?;
                SourceData::oulad(&oulad, progress)
            }
        }
    }
}

/// What the server answers from: entities for the JSON contracts, a statement store for the
/// LRS.
#[derive(Clone)]
pub struct SourceData {
    /// The entities, without events (also the mock fallback in demo mode).
    pub entities: Arc<DatasetSource>,
    pub statements: Arc<dyn StatementStore>,
}

impl SourceData {
    /// A data set held whole: its events become an in-memory statement stream, ordered by
    /// (timestamp, user).
    pub fn in_memory(mut data: Dataset) -> SourceData {
        let events = std::mem::take(&mut data.events);
        SourceData {
            entities: Arc::new(DatasetSource::new(Arc::new(data))),
            statements: Arc::new(MemoryStatements::new(events)),
        }
    }

    /// The synthetic data set of `size`: `demo` and `small` in memory, `medium` and `large`
    /// with their events regenerated on demand.
    pub fn synthetic(size: Size, seed: u64) -> SourceData {
        let generator = Generator::new(size, seed);
        match size {
            Size::Demo | Size::Small => SourceData::in_memory(generator.dataset()),
            Size::Medium | Size::Large => SourceData::synthetic_lazy(Arc::new(generator)),
        }
    }

    /// The generator's entities, and its events regenerated per user on demand (any size).
    pub fn synthetic_lazy(generator: Arc<Generator>) -> SourceData {
        SourceData {
            entities: Arc::new(DatasetSource::new(Arc::new(generator.entities()))),
            statements: Arc::new(SyntheticStatements::new(generator)),
        }
    }

    /// The OULAD data set (see [`super::oulad`]).
    pub fn oulad(
        oulad: &crate::oulad::Oulad,
        progress: impl FnMut(&str),
    ) -> anyhow::Result<SourceData> {
        let OuladSources {
            entities,
            statements,
            skipped_registrations,
        } = super::oulad::load(oulad, progress)?;
        if skipped_registrations > 0 {
            tracing::warn!(
                skipped = skipped_registrations,
                "OULAD registrations without a studentInfo row or a usable date: no enrollment"
            );
        }
        Ok(SourceData {
            entities: Arc::new(DatasetSource::new(Arc::new(entities))),
            statements: Arc::new(statements),
        })
    }
}

struct DemoState {
    source: Arc<DatasetSource>,
    statements: Arc<dyn StatementStore>,
    platform: Platform,
    auth: DemoAuth,
}

/// The router serving `data`.
pub fn router(data: SourceData, platform: Platform, auth: DemoAuth) -> axum::Router {
    let state = Arc::new(DemoState {
        source: data.entities,
        statements: data.statements,
        platform,
        auth,
    });
    axum::Router::new()
        .route("/{service}/v1/{collection}", axum::routing::get(list))
        .route(
            "/{service}/v1/{collection}/{id}",
            axum::routing::get(get_one),
        )
        .route("/lrs/xAPI/statements", axum::routing::get(statements))
        .with_state(state)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

fn bad_cursor() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
        "cursor is not one of ours",
    )
}

fn query_error(e: &QueryError) -> Response {
    match e {
        QueryError::BadCursor => bad_cursor(),
        other => error(StatusCode::BAD_REQUEST, "invalid_query", &other.to_string()),
    }
}

/// Runs `work` on the blocking pool; a panic there is a 500, not a dropped connection.
async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "the demo source server failed to build a page");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal error",
            )
        }
    }
}

fn service_of(name: &str) -> Option<Service> {
    Service::ALL
        .into_iter()
        .find(|s| *s != Service::Activity && s.as_str() == name)
}

fn bearer_ok(state: &DemoState, headers: &HeaderMap) -> bool {
    let Some(token) = &state.auth.token else {
        return true;
    };
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == token)
}

async fn list(
    State(state): State<Arc<DemoState>>,
    Path((service, collection)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    if !bearer_ok(&state, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid service token is required",
        );
    }
    let Some(service) = service_of(&service) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such service");
    };
    let mut filters = Vec::new();
    let (mut cursor, mut limit) = (0usize, 100usize);
    for (k, v) in query {
        match k.as_str() {
            "cursor" => match v
                .parse::<Cursor>()
                .ok()
                .and_then(|c| usize::try_from(c.0).ok())
            {
                Some(c) => cursor = c,
                None => return bad_cursor(),
            },
            "limit" => match v.parse::<usize>() {
                Ok(l) if (1..=1000).contains(&l) => limit = l,
                _ => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_limit",
                        "limit must be 1–1000",
                    );
                }
            },
            _ => filters.push((k, v)),
        }
    }
    blocking(move || {
        match state
            .source
            .page(service, &collection, &filters, cursor, limit)
        {
            Ok(page) => {
                let next = page.next.map(|n| n.to_string());
                Json(json!({"items": page.items, "nextCursor": next})).into_response()
            }
            Err(e) => query_error(&e),
        }
    })
    .await
}

async fn get_one(
    State(state): State<Arc<DemoState>>,
    Path((service, collection, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if !bearer_ok(&state, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid service token is required",
        );
    }
    let Some(service) = service_of(&service) else {
        return error(StatusCode::NOT_FOUND, "not_found", "no such service");
    };
    blocking(move || match state.source.get(service, &collection, &id) {
        Ok(Some(item)) => Json(item).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "no such item"),
        Err(e) => query_error(&e),
    })
    .await
}

fn basic_ok(state: &DemoState, headers: &HeaderMap) -> bool {
    let Some((user, password)) = &state.auth.lrs else {
        return true;
    };
    let expected = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|v| v == expected)
}

/// xAPI `GET statements` (the read subset of xAPI 1.0.3 the activity client uses).
async fn statements(
    State(state): State<Arc<DemoState>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !basic_ok(&state, &headers) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Basic credentials required",
        );
    }
    if headers.get("x-experience-api-version").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "missing_version",
            "X-Experience-API-Version is required",
        );
    }
    // Outer None: absent; inner None: present but not RFC 3339.
    let time = |key: &str| {
        query.get(key).map(|v| {
            DateTime::parse_from_rfc3339(v)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
    };
    let (since, until) = match (time("since"), time("until")) {
        (Some(None), _) => return error(StatusCode::BAD_REQUEST, "invalid_time", "since"),
        (_, Some(None)) => return error(StatusCode::BAD_REQUEST, "invalid_time", "until"),
        (s, u) => (s.flatten(), u.flatten()),
    };
    let agent = match query.get("agent") {
        None => None,
        Some(raw) => match serde_json::from_str::<Value>(raw)
            .ok()
            .and_then(|a| a["account"]["name"].as_str().map(str::to_owned))
        {
            Some(user) => Some(user),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_agent",
                    "agent must be an account agent",
                );
            }
        },
    };
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(0)) => 100,
        Some(Ok(l)) => l.min(1000),
        Some(Err(_)) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_limit",
                "limit must be a number",
            );
        }
    };
    let cursor = match query.get("cursor").map(|c| c.parse::<Cursor>()) {
        None => None,
        Some(Ok(c)) => Some(c),
        Some(Err(_)) => return bad_cursor(),
    };
    let filter = StatementFilter {
        agent,
        since,
        until,
    };
    blocking(move || {
        let page = match state.statements.page(&filter, cursor, limit) {
            Ok(page) => page,
            Err(_) => return bad_cursor(),
        };
        let more = match page.next {
            Some(next) => more_url(query, next),
            None => String::new(),
        };
        // Written straight from the events: no `Value` tree per statement.
        let statements: Vec<StatementJson<'_>> = page
            .statements
            .iter()
            .map(|s| StatementJson {
                event: &s.event,
                platform: &state.platform,
                id: Some(s.id),
            })
            .collect();
        Json(StatementPageJson { statements, more }).into_response()
    })
    .await
}

/// A `StatementResult`.
#[derive(serde::Serialize)]
struct StatementPageJson<'a> {
    statements: Vec<StatementJson<'a>>,
    more: String,
}

/// The `more` link: the same query with the cursor of the next page.
fn more_url(query: BTreeMap<String, String>, next: Cursor) -> String {
    let mut params: Vec<(String, String)> =
        query.into_iter().filter(|(k, _)| k != "cursor").collect();
    params.push(("cursor".into(), next.to_string()));
    let qs: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", url_escape(v)))
        .collect();
    format!("/lrs/xAPI/statements?{}", qs.join("&"))
}

fn url_escape(s: &str) -> String {
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

/// The mock fallback of demo mode (the seed's `getMockData`): the JSON contracts from the
/// entities, a learner's statements from the statement store, so a failed source's mock
/// answer is exactly what the demo source would have served.
impl crate::sources::MockSource for SourceData {
    fn query(
        &self,
        service: crate::sources::Service,
        collection: &str,
        filters: &[(String, String)],
    ) -> Option<Vec<Value>> {
        if service != crate::sources::Service::Activity {
            return crate::sources::MockSource::query(
                &*self.entities,
                service,
                collection,
                filters,
            );
        }
        let (_, user) = filters.iter().find(|(k, _)| k == "agent")?;
        if collection != crate::sources::activity::STATEMENTS {
            return None;
        }
        let filter = StatementFilter {
            agent: Some(user.clone()),
            ..StatementFilter::default()
        };
        let mut events = Vec::new();
        let mut from = None;
        loop {
            let page = self.statements.page(&filter, from, 10_000).ok()?;
            events.extend(
                page.statements
                    .iter()
                    .filter_map(|s| serde_json::to_value(&s.event).ok()),
            );
            match page.next {
                Some(next) => from = Some(next),
                None => return Some(events),
            }
        }
    }
}

/// A running demo source server.
pub struct RunningSources {
    pub addr: std::net::SocketAddr,
    /// The data it serves, also usable as the mock fallback.
    pub source: SourceData,
}

impl RunningSources {
    /// Points `config` at this server (every JSON service and the LRS).
    pub fn configure(&self, config: &mut crate::sources::SourcesConfig) {
        let base = format!("http://{}", self.addr);
        config.directory_url = format!("{base}/directory");
        config.skills_url = format!("{base}/skills");
        config.catalog_url = format!("{base}/catalog");
        config.assessments_url = format!("{base}/assessments");
        config.activity.url = format!("{base}/lrs/xAPI/");
    }
}

/// Serves `data` on `listener` in a background task.
pub fn spawn(
    data: SourceData,
    platform: Platform,
    auth: DemoAuth,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<RunningSources> {
    let addr = listener.local_addr()?;
    let source = data.clone();
    let app = router(data, platform, auth);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the demo source server stopped");
        }
    });
    Ok(RunningSources { addr, source })
}
