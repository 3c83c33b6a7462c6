//! The demo source server: the four JSON contracts and the xAPI statements resource, served
//! from a data set over real HTTP, so that demo mode exercises the same clients, breakers and
//! fallbacks as production. One listener, one path prefix per service:
//!
//! - `/{directory|skills|catalog|assessments}/v1/{collection}[/{id}]` (sources.md contracts:
//!   filters, `cursor`, `limit` 1–1000, `{"items", "nextCursor"}`), answered by
//!   [`DatasetSource`], the same engine as the mock fallback;
//! - `/lrs/xAPI/statements` (`agent`, `since`, `until`, `limit`, paging through `more`).
//!
//! A bearer token (JSON services) and Basic credentials (LRS) are required when configured.
//! The whole data set is held in memory, so sizes up to `small` are served; larger ones are
//! refused with an error rather than exhausting memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use learnlens_analytics::Dataset;
use learnlens_analytics::input::ActivityEvent;
use serde_json::{Value, json};

use crate::sources::Service;
use crate::sources::dataset::DatasetSource;
use crate::sources::xapi::{Platform, event_to_statement};

/// Credentials the demo server demands; `None` parts are not checked.
#[derive(Debug, Clone, Default)]
pub struct DemoAuth {
    pub token: Option<String>,
    pub lrs: Option<(String, String)>,
}

struct DemoState {
    source: Arc<DatasetSource>,
    /// Every event, ordered by (timestamp, user): the statement stream.
    events: Vec<ActivityEvent>,
    platform: Platform,
    auth: DemoAuth,
}

/// The router serving `data`. `source` must be built over the same data (it is also the mock
/// fallback of the service's clients).
pub fn router(source: Arc<DatasetSource>, platform: Platform, auth: DemoAuth) -> axum::Router {
    let mut events = source.dataset().events.clone();
    events.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    let state = Arc::new(DemoState {
        source,
        events,
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

/// The data set of the demo sources, built from a synthetic spec; refuses sizes that would
/// not fit in memory as a whole.
pub fn dataset(size: super::synthetic::Size, seed: u64) -> anyhow::Result<Dataset> {
    use super::synthetic::{Generator, Size};
    if matches!(size, Size::Medium | Size::Large) {
        anyhow::bail!(
            "the demo source server holds its data set in memory: use size demo or small"
        );
    }
    Ok(Generator::new(size, seed).dataset())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
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
            "cursor" => match v.parse() {
                Ok(c) => cursor = c,
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid_cursor",
                        "cursor is not one of ours",
                    );
                }
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
    match state.source.query(service, &collection, &filters) {
        Ok(items) => {
            let end = cursor.saturating_add(limit).min(items.len());
            let page: Vec<Value> = items.get(cursor.min(end)..end).unwrap_or(&[]).to_vec();
            let next = (end < items.len()).then(|| end.to_string());
            Json(json!({"items": page, "nextCursor": next})).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, "invalid_query", &e.to_string()),
    }
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
    match state.source.get(service, &collection, &id) {
        Ok(Some(item)) => Json(item).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "not_found", "no such item"),
        Err(e) => error(StatusCode::BAD_REQUEST, "invalid_query", &e.to_string()),
    }
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
    let cursor: usize = query
        .get("cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    // The statement id is derived from the event's place in the whole stream, so it is the
    // same in every query.
    let matching = state.events.iter().enumerate().filter(|(_, e)| {
        agent.as_deref().is_none_or(|a| e.user_id == a)
            && since.is_none_or(|s| e.timestamp > s)
            && until.is_none_or(|u| e.timestamp <= u)
    });
    let mut page = Vec::with_capacity(limit);
    let mut more = false;
    for (position, event) in matching.skip(cursor) {
        if page.len() == limit {
            more = true;
            break;
        }
        let mut statement = event_to_statement(event, &state.platform);
        let id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("learnlens-demo:{position}").as_bytes(),
        );
        statement["id"] = Value::from(id.to_string());
        page.push(statement);
    }
    let more = if more {
        let mut next: Vec<(String, String)> =
            query.into_iter().filter(|(k, _)| k != "cursor").collect();
        next.push(("cursor".into(), (cursor + page.len()).to_string()));
        let qs: Vec<String> = next
            .iter()
            .map(|(k, v)| format!("{k}={}", url_escape(v)))
            .collect();
        format!("/lrs/xAPI/statements?{}", qs.join("&"))
    } else {
        String::new()
    };
    Json(json!({"statements": page, "more": more})).into_response()
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

/// A running demo source server.
pub struct RunningSources {
    pub addr: std::net::SocketAddr,
    pub source: Arc<DatasetSource>,
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
    data: Dataset,
    platform: Platform,
    auth: DemoAuth,
    listener: tokio::net::TcpListener,
) -> anyhow::Result<RunningSources> {
    let addr = listener.local_addr()?;
    let source = Arc::new(DatasetSource::new(Arc::new(data)));
    let app = router(source.clone(), platform, auth);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the demo source server stopped");
        }
    });
    Ok(RunningSources { addr, source })
}
