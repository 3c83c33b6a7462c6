//! Operational endpoints at the root: liveness, readiness, Prometheus metrics.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// Each dependency: `ok`, `unavailable`, `not_configured`, or `not_checked` (liveness
    /// checks nothing but the process).
    pub checks: HealthChecks,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthChecks {
    pub store: &'static str,
    pub redis: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "ok",
        checks: HealthChecks {
            store: "not_checked",
            redis: "not_checked",
        },
    })
}

/// The process can serve: the store answers, and Redis when configured.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "A dependency is down", body = Health),
    ))]
pub async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Health>) {
    let store = if state.store.ping().await.is_ok() {
        "ok"
    } else {
        "unavailable"
    };
    let redis = match &state.redis {
        None => "not_configured",
        Some(r) if r.ping().await.is_ok() => "ok",
        Some(_) => "unavailable",
    };
    // Redis is optional at run time (everything falls back), so only the store decides.
    let ok = store == "ok";
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            status: if ok { "ok" } else { "unavailable" },
            checks: HealthChecks { store, redis },
        }),
    )
}

/// Prometheus metrics (text exposition format). Bind it to an internal address in production.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    state.sources.export_metrics();
    state.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
