//! `/system/*`: operational views for organisation admins.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Acting;
use super::{ActiveRoleHeader, Admitted};
use crate::auth::{Decision, Resource, decide};
use crate::ratelimit::RouteClass;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceStatus {
    /// `directory`, `skills`, `catalog`, `assessments` or `activity`.
    pub service: String,
    /// `closed`, `open` or `half-open`.
    pub state: String,
    /// Failures among the calls the breaker currently remembers.
    pub failure_count: u32,
    /// Failures / remembered calls (0 when none).
    pub failure_rate: f64,
    pub opened_at: Option<DateTime<Utc>>,
    /// When an open breaker next lets probe calls through.
    pub next_probe_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourcesResponse {
    pub sources: Vec<SourceStatus>,
}

/// Circuit-breaker state of every source service.
#[utoipa::path(
    get, path = "/api/v1/system/sources", tag = "operations",
    params(ActiveRoleHeader),
    security(("bearer" = [])),
    responses((status = 200, description = "One entry per source service", body = SourcesResponse)),
)]
pub async fn sources(
    State(state): State<Arc<AppState>>,
    acting: Acting,
) -> Result<Admitted<Json<SourcesResponse>>, ApiError> {
    let limit = state
        .check_rate(RouteClass::System, acting.who.user_id.as_str())
        .await?;
    let result = match decide(
        &acting.who,
        acting.role,
        &Resource::SystemSources,
        &acting.who.org_id,
        None,
    ) {
        Decision::Allow => Ok(Json(SourcesResponse {
            sources: state
                .sources
                .statuses()
                .into_iter()
                .map(|(service, s)| SourceStatus {
                    service: service.as_str().to_owned(),
                    state: s.state.as_str().to_owned(),
                    failure_count: s.failure_count,
                    failure_rate: s.failure_rate,
                    opened_at: s.opened_at,
                    next_probe_at: s.next_probe_at,
                })
                .collect(),
        })),
        _ => Err(ApiError::forbidden()),
    };
    Ok((limit, result))
}
