//! `POST /analytics/refresh`, `GET /jobs/{jobId}` and `DELETE /jobs/{jobId}` (api.md): manual
//! refresh through the durable queue, and the owner's view and cancel of a job.
//!
//! A refresh is one `refresh` job per subject and role while it is queued or running
//! (singleton key `refresh:{role}:{subject}`): repeated clicks return the same job id. Someone
//! else's job, or one that does not exist, is 404: job ids are unguessable and their existence
//! is not revealed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use learnlens_analytics::kind::AnalyticsKind;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{Acting, ApiJson};
use super::{ActiveRoleHeader, Admitted};
use crate::auth::{Decision, Resource, decide};
use crate::domain::{Id, Role};
use crate::pipeline::batch::{MAX_ATTEMPTS, REFRESH_KIND, RefreshPayload};
use crate::pipeline::stored_role;
use crate::ratelimit::RouteClass;
use crate::state::AppState;
use crate::store::{CancelOutcome, Job, NewJob};

/// The body of `POST /analytics/refresh`. Its published schema (below) is one object per
/// role, each listing that role's route slugs, so a schema-valid body never names an analytic
/// of another role.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyticsRefreshRequest {
    /// The caller's user id, or the caller's organisation id for `org-admin`.
    pub user_id: String,
    /// The role to refresh; must equal `X-Active-Role`.
    pub role: String,
    /// Route slugs of the role's analytics (`velocity`, `skill-gap`, …), at least one.
    pub analytics: Vec<String>,
}

impl utoipa::PartialSchema for AnalyticsRefreshRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let variant = |role: Role| {
            let slugs: Vec<&str> = refreshable(role, "").keys().copied().collect();
            serde_json::json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["userId", "role", "analytics"],
                "properties": {
                    "userId": {
                        "type": "string",
                        "pattern": crate::domain::ID_PATTERN,
                        "description": "The caller's user id, or the caller's organisation id for org-admin."
                    },
                    "role": {"type": "string", "enum": [role.as_str()],
                             "description": "Must equal X-Active-Role."},
                    "analytics": {"type": "array", "minItems": 1, "maxItems": 19,
                                  "items": {"type": "string", "enum": slugs}}
                }
            })
        };
        let schema = serde_json::json!({
            "oneOf": [variant(Role::Learner), variant(Role::Trainer), variant(Role::OrgAdmin)],
            "example": {"userId": "demo-learner", "role": "learner", "analytics": ["velocity", "engagement"]}
        });
        // A fixed document: it deserialises, or the OpenAPI test fails.
        serde_json::from_value(schema).unwrap_or_else(|_| {
            utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::default())
        })
    }
}

impl ToSchema for AnalyticsRefreshRequest {}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnalyticsRefreshResponse {
    pub job_id: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobOut {
    pub job_id: String,
    pub kind: String,
    /// `queued`, `running`, `completed`, `failed` or `cancelled`.
    pub status: String,
    /// 0–100.
    pub progress: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why a failed job failed (no internals; operators find the cause in the logs).
    pub error: Option<String>,
}

impl From<Job> for JobOut {
    fn from(j: Job) -> Self {
        let error = (j.status == crate::store::JobStatus::Failed)
            .then(|| format!("the job failed after {} attempt(s)", j.attempt));
        JobOut {
            job_id: j.id,
            kind: j.kind,
            status: j.status.as_str().to_owned(),
            progress: j.progress,
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            error,
        }
    }
}

/// The analytics a role can refresh, by route slug.
fn refreshable(role: Role, subject: &str) -> BTreeMap<&'static str, AnalyticsKind> {
    AnalyticsKind::ALL
        .into_iter()
        .filter(|k| stored_role(*k, subject) == role.as_str())
        .map(|k| (k.slug(), k))
        .collect()
}

/// Checks the body; the subject id, role and kinds, or 400 with every problem.
fn validate(req: &AnalyticsRefreshRequest) -> Result<(Id, Role, Vec<AnalyticsKind>), ApiError> {
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut problem = |field: &str, p: String| problems.entry(field.into()).or_default().push(p);
    let subject = Id::parse(&req.user_id)
        .map_err(|p| problem("userId", format!("id {p}")))
        .ok();
    let role = Role::parse(&req.role);
    if role.is_none() {
        problem("role", "must be one of learner, trainer, org-admin".into());
    }
    let mut kinds = Vec::new();
    if req.analytics.is_empty() || req.analytics.len() > AnalyticsKind::ALL.len() {
        problem("analytics", "must name 1–19 analytics".into());
    } else if let (Some(role), Some(subject)) = (role, &subject) {
        let known = refreshable(role, subject.as_str());
        for name in &req.analytics {
            match known.get(name.as_str()) {
                Some(k) if !kinds.contains(k) => kinds.push(*k),
                Some(_) => {}
                None => {
                    let names: Vec<&str> = known.keys().copied().collect();
                    problem(
                        "analytics",
                        format!(
                            "unknown analytic {name:?} for {}; known: {}",
                            role.as_str(),
                            names.join(", ")
                        ),
                    );
                }
            }
        }
    }
    match (subject, role) {
        (Some(subject), Some(role)) if problems.is_empty() => Ok((subject, role, kinds)),
        _ => Err(ApiError::Validation(problems)),
    }
}

/// Queue a refresh of the caller's analytics.
#[utoipa::path(
    post, path = "/api/v1/analytics/refresh", tag = "jobs",
    params(ActiveRoleHeader),
    security(("bearer" = [])),
    request_body = AnalyticsRefreshRequest,
    responses((status = 200, description = "The refresh job (an already queued or running one for the same subject and role is returned instead of a new one)", body = AnalyticsRefreshResponse)),
)]
pub async fn refresh(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    ApiJson(req): ApiJson<AnalyticsRefreshRequest>,
) -> Result<Admitted<Json<AnalyticsRefreshResponse>>, ApiError> {
    // Invalid or forbidden requests are refused before the limiter, so they do not use up
    // the caller's three refreshes an hour.
    let (subject, role, kinds) = validate(&req)?;
    if decide(
        &acting.who,
        acting.role,
        &Resource::Refresh { role },
        &subject,
        None,
    ) != Decision::Allow
    {
        return Err(ApiError::forbidden());
    }
    let limit = state
        .check_rate(RouteClass::AnalyticsRefresh, acting.who.user_id.as_str())
        .await?;
    let result = async {
        let job = NewJob {
            kind: REFRESH_KIND.to_owned(),
            payload: serde_json::to_value(RefreshPayload {
                subject_id: subject.as_str().to_owned(),
                role: role.as_str().to_owned(),
                analytics: kinds.iter().map(|k| k.name().to_owned()).collect(),
            })
            .map_err(|e| ApiError::Internal(e.into()))?,
            owner_id: Some(acting.who.user_id.as_str().to_owned()),
            parent_id: None,
            singleton_key: Some(format!("refresh:{}:{}", role.as_str(), subject.as_str())),
            max_attempts: MAX_ATTEMPTS,
            run_at: state.clock.now(),
        };
        let enqueued = state.jobs.enqueue(&job).await?;
        let message = if enqueued.created {
            "refresh queued"
        } else {
            "a refresh of these analytics is already queued or running"
        };
        Ok(Json(AnalyticsRefreshResponse {
            job_id: enqueued.id,
            message: message.to_owned(),
        }))
    }
    .await;
    Ok((limit, result))
}

/// Parses a job id from the path (400 when malformed).
fn job_id(raw: &str) -> Result<Id, ApiError> {
    Id::parse(raw).map_err(|p| ApiError::field("jobId", format!("id {p}")))
}

/// The caller's job, or 404 (also for someone else's).
async fn owned_job(state: &AppState, acting: &Acting, id: &Id) -> Result<Job, ApiError> {
    let job = state.store.get_job(id.as_str()).await?;
    let owner = job.as_ref().and_then(|j| j.owner_id.clone());
    match decide(&acting.who, acting.role, &Resource::Job { owner }, id, None) {
        Decision::Allow => job.ok_or(ApiError::NotFound),
        _ => Err(ApiError::NotFound),
    }
}

/// A job's status and progress.
#[utoipa::path(
    get, path = "/api/v1/jobs/{jobId}", tag = "jobs",
    params(ActiveRoleHeader, ("jobId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job", body = JobOut),
        (status = 404, description = "No such job of the caller's", body = super::error::ErrorBody),
    ),
)]
pub async fn get_job(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path(raw): Path<String>,
) -> Result<Admitted<Json<JobOut>>, ApiError> {
    let limit = state
        .check_rate(RouteClass::JobStatus, acting.who.user_id.as_str())
        .await?;
    let result = async {
        let id = job_id(&raw)?;
        Ok(Json(JobOut::from(owned_job(&state, &acting, &id).await?)))
    }
    .await;
    Ok((limit, result))
}

/// Cancel a job: a queued one at once, a running one at its next step; 409 when finished.
#[utoipa::path(
    delete, path = "/api/v1/jobs/{jobId}", tag = "jobs",
    params(ActiveRoleHeader, ("jobId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The job after the cancel request", body = JobOut),
        (status = 404, description = "No such job of the caller's", body = super::error::ErrorBody),
        (status = 409, description = "The job has already finished", body = super::error::ErrorBody),
    ),
)]
pub async fn cancel_job(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path(raw): Path<String>,
) -> Result<Admitted<Json<JobOut>>, ApiError> {
    let limit = state
        .check_rate(RouteClass::JobCancel, acting.who.user_id.as_str())
        .await?;
    let result = async {
        let id = job_id(&raw)?;
        owned_job(&state, &acting, &id).await?;
        match state
            .store
            .cancel_job(id.as_str(), state.clock.now())
            .await?
        {
            CancelOutcome::Cancelled | CancelOutcome::Requested => {}
            CancelOutcome::AlreadyFinished => {
                return Err(ApiError::Conflict("the job has already finished"));
            }
            CancelOutcome::NotFound => return Err(ApiError::NotFound),
        }
        let job = state
            .store
            .get_job(id.as_str())
            .await?
            .ok_or(ApiError::NotFound)?;
        Ok(Json(JobOut::from(job)))
    }
    .await;
    Ok((limit, result))
}
