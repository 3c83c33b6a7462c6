//! The analytics endpoints of api.md: six learner, four trainer and four organisation
//! analytics, peer comparison, skill demand, three predictive analytics, and the three
//! dashboards, each answered with the envelope (`data`, `cached`, `stale`, `requiresRefresh`,
//! `lastUpdated`, `expiresAt`, `dataQuality`).
//!
//! Every handler: rate limit (per user and route) and policy (`auth::decide`, before any data
//! is read) → the pipeline's read path. A refused request gets its 429 before any other answer
//! (`serve_one` says how the limiter's check and the cache lookup share a round trip). A
//! trainer's view of a learner's predictive analytics is allowed for a learner actively
//! enrolled in one of the trainer's courses and is filtered from the learner's own result to
//! those courses; it is never cached under the trainer.
//! `data` is the analytic's payload as analytics.md defines it; its schema is per analytic and
//! published as an object.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use learnlens_analytics::input::{Course, Enrollment};
use learnlens_analytics::kind::{AnalyticsKind, GLOBAL_SUBJECT, Group};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use super::extract::Acting;
use super::{ActiveRoleHeader, Admitted, JsonBody};
use crate::auth::{Decision, Resource, decide};
use crate::domain::{Id, Role};
use crate::pipeline::read::ReadError;
use crate::pipeline::{PipelineError, stored_role};
use crate::ratelimit::RouteClass;
use crate::sources::Service;
use crate::sources::contract::SourceError;
use crate::state::AppState;

/// Where each source's data came from (api.md).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourcesQuality {
    /// `live`, `snapshot` or `mock`; absent when the analytic did not read that source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub courses: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessments: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skills: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataQuality {
    /// Any source answered from a fallback (`snapshot` or `mock`).
    pub degraded: bool,
    pub sources: SourcesQuality,
}

/// One analytic as served: the schema of the envelope that `cache::Cached` writes (a read
/// copies it from the cache layer that answered; tested against this type).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// The analytic's payload (analytics.md): `status`, `asOf`, `n`, `reasons`, then its own
    /// fields.
    #[schema(value_type = Object)]
    pub data: Box<serde_json::value::RawValue>,
    /// Served from a cache layer rather than computed for this request.
    pub cached: bool,
    /// Older than its time to live; a refresh has been queued.
    pub stale: bool,
    pub requires_refresh: bool,
    pub last_updated: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// As the pipeline stored it with the result.
    #[schema(value_type = DataQuality)]
    pub data_quality: Box<serde_json::value::RawValue>,
}

/// All analytics of a role in one response (the schema of what the dashboards write).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// By analytics.md name (`learnerVelocity`, …).
    pub analytics: BTreeMap<String, Envelope>,
}

/// The learner analytics.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LearnerAnalytic {
    Velocity,
    SkillGap,
    Engagement,
    Mastery,
    Performance,
    ContentEffectiveness,
}

/// The trainer analytics.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TrainerAnalytic {
    CoursePerformance,
    CourseHealth,
    StudentDistribution,
    TeachingEffectiveness,
}

/// The organisation analytics.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OrgAnalytic {
    LearningVelocity,
    StrategicAlignment,
    LearningCulture,
    Performance,
}

/// The predictive analytics.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PredictiveAnalytic {
    DropOffRisk,
    PerformanceForecast,
    Recommendations,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SkillDemandQuery {
    /// An organisation (its admins only); without it, the global demand (any role).
    #[param(pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
    pub org_id: Option<String>,
}

fn parse_id(field: &str, raw: &str) -> Result<Id, ApiError> {
    Id::parse(raw).map_err(|p| ApiError::field(field, format!("id {p}")))
}

/// The kind with this slug in `group`, or 404 (an unknown analytic is an unknown route).
fn kind_of(group: Group, slug: &str) -> Result<AnalyticsKind, ApiError> {
    AnalyticsKind::from_slug(group, slug).ok_or(ApiError::NotFound)
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::UnknownSubject => ApiError::NotFound,
            ReadError::Store(e) => e.into(),
            ReadError::Pipeline(PipelineError::Source(SourceError::Unavailable { .. })) => {
                ApiError::Unavailable
            }
            ReadError::Unavailable(cause) => {
                tracing::warn!(%cause, "a cold compute's dependency is unavailable");
                ApiError::Unavailable
            }
            ReadError::Pipeline(e) => ApiError::Internal(e.into()),
            ReadError::Other(e) => ApiError::Internal(e),
        }
    }
}

/// Rate limit per user and route, the policy, then the read. A 429 comes before any other
/// answer, and nothing is read before the policy allows it.
///
/// The policy is decided first where it reads no data: every case but a trainer's view of a
/// learner's predictive analytics, which reads the catalog and so waits for the limiter. An
/// allowed read's hot-layer lookup then runs beside the limiter's check: with Redis, the
/// limiter's script and the L2 `GET` leave in one write and come back in one read (redis-rs's
/// multiplexed connection sends what is queued together), one round trip instead of two.
async fn serve_one(
    state: &AppState,
    acting: &Acting,
    route: &str,
    resource: Resource,
    kind: AnalyticsKind,
    subject: &Id,
) -> Result<Admitted<JsonBody>, ApiError> {
    let key = format!("{}|{route}", acting.who.user_id.as_str());
    let early = match (&resource, acting.role) {
        (Resource::Predictive, Role::Trainer) => None,
        _ => Some(decide(&acting.who, acting.role, &resource, subject, None)),
    };
    let look_up = async {
        match early {
            Some(Decision::Allow) => state.pipeline.look_up(kind, subject.as_str()).await,
            _ => None,
        }
    };
    let (limit, hot) = tokio::join!(state.check_rate(RouteClass::Analytics, &key), look_up);
    let limit = limit?;
    let result = async {
        let decision = match early {
            Some(decision) => decision,
            None => {
                // Boxed: the catalog reads' future is large and only this case needs it.
                let courses = Box::pin(shared_courses(
                    state,
                    acting.who.user_id.as_str(),
                    subject.as_str(),
                ))
                .await?;
                decide(
                    &acting.who,
                    acting.role,
                    &resource,
                    subject,
                    Some(&courses[..]),
                )
            }
        };
        let allowed = match decision {
            Decision::Allow => None,
            Decision::AllowCourses(courses) => Some(courses),
            Decision::NotFound => return Err(ApiError::NotFound),
            Decision::Forbidden => return Err(ApiError::forbidden()),
        };
        let served = state
            .pipeline
            .read_after(&state.jobs, kind, subject.as_str(), hot)
            .await?;
        let row = match allowed {
            None => served.row,
            Some(courses) => {
                let mut data: Value = serde_json::from_slice(served.row.data())
                    .map_err(|e| ApiError::Internal(e.into()))?;
                restrict_to_courses(&mut data, &courses);
                Arc::new(served.row.with_data(&data))
            }
        };
        Ok(JsonBody(row.envelope(served.layer.is_some(), served.stale)))
    }
    .await;
    Ok((limit, result))
}

/// The trainer's courses in which the learner is actively enrolled (the policy's
/// `trainer_courses`). Read from the catalog (the trainer's courses and the learner's
/// enrolments, concurrently), with its fallbacks.
async fn shared_courses(
    state: &AppState,
    trainer: &str,
    learner: &str,
) -> Result<Vec<String>, ApiError> {
    let catalog = state
        .sources
        .contract(Service::Catalog)
        .ok_or(ApiError::Unavailable)?;
    let source_error = |e: SourceError| match e {
        SourceError::Unavailable { .. } => ApiError::Unavailable,
        other => ApiError::Internal(other.into()),
    };
    // The two reads are independent: both at once.
    let (by_trainer, by_learner) = ([("trainerId", trainer)], [("userId", learner)]);
    let (courses, enrollments) = tokio::try_join!(
        catalog.list::<Course>("courses", &by_trainer),
        catalog.list::<Enrollment>("enrollments", &by_learner),
    )
    .map_err(source_error)?;
    let (courses, enrollments) = (courses.value, enrollments.value);
    let taught: HashSet<&str> = courses.iter().map(|c| c.id.as_str()).collect();
    let now = state.clock.now();
    let mut shared: Vec<String> = enrollments
        .iter()
        .filter(|e| e.user_id == learner && e.is_active_at(now))
        .filter(|e| taught.contains(e.course_id.as_str()))
        .map(|e| e.course_id.clone())
        .collect();
    shared.sort();
    shared.dedup();
    Ok(shared)
}

/// Keeps only the listed courses in a learner's predictive payload (drop-off risk lists
/// enrolments; the forecast has no per-course part).
fn restrict_to_courses(data: &mut Value, courses: &[String]) {
    if let Some(Value::Array(items)) = data.get_mut("enrollments") {
        items.retain(|e| {
            e.get("courseId")
                .and_then(Value::as_str)
                .is_some_and(|c| courses.iter().any(|x| x == c))
        });
        let n = items.len();
        if let Some(slot) = data.get_mut("n") {
            *slot = Value::from(n);
        }
    }
}

/// A learner's analytic.
#[utoipa::path(
    get, path = "/api/v1/learner/analytics/{analytic}/{userId}", tag = "analytics",
    params(
        ActiveRoleHeader,
        ("analytic" = LearnerAnalytic, Path),
        ("userId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The analytic in its envelope", body = Envelope),
        (status = 404, description = "No such analytic or subject", body = super::error::ErrorBody),
    ),
)]
pub async fn learner(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path((analytic, user)): Path<(String, String)>,
) -> Result<Admitted<JsonBody>, ApiError> {
    let kind = kind_of(Group::Learner, &analytic)?;
    let subject = parse_id("userId", &user)?;
    let route = format!("learner/{analytic}");
    serve_one(
        &state,
        &acting,
        &route,
        Resource::LearnerAnalytics,
        kind,
        &subject,
    )
    .await
}

/// A trainer's analytic over the trainer's courses.
#[utoipa::path(
    get, path = "/api/v1/trainer/analytics/{analytic}/{trainerId}", tag = "analytics",
    params(
        ActiveRoleHeader,
        ("analytic" = TrainerAnalytic, Path),
        ("trainerId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The analytic in its envelope", body = Envelope),
        (status = 404, description = "No such analytic or subject", body = super::error::ErrorBody),
    ),
)]
pub async fn trainer(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path((analytic, trainer)): Path<(String, String)>,
) -> Result<Admitted<JsonBody>, ApiError> {
    let kind = kind_of(Group::Trainer, &analytic)?;
    let subject = parse_id("trainerId", &trainer)?;
    let route = format!("trainer/{analytic}");
    serve_one(
        &state,
        &acting,
        &route,
        Resource::TrainerAnalytics,
        kind,
        &subject,
    )
    .await
}

/// An organisation's analytic.
#[utoipa::path(
    get, path = "/api/v1/org-admin/analytics/{analytic}/{orgId}", tag = "analytics",
    params(
        ActiveRoleHeader,
        ("analytic" = OrgAnalytic, Path),
        ("orgId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The analytic in its envelope", body = Envelope),
        (status = 404, description = "No such analytic or subject", body = super::error::ErrorBody),
    ),
)]
pub async fn org(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path((analytic, org)): Path<(String, String)>,
) -> Result<Admitted<JsonBody>, ApiError> {
    let kind = kind_of(Group::OrgAdmin, &analytic)?;
    let subject = parse_id("orgId", &org)?;
    let route = format!("org-admin/{analytic}");
    serve_one(
        &state,
        &acting,
        &route,
        Resource::OrgAnalytics,
        kind,
        &subject,
    )
    .await
}

/// A learner's k-anonymous standing among peers.
#[utoipa::path(
    get, path = "/api/v1/comparison/analytics/peer-comparison/{userId}", tag = "analytics",
    params(
        ActiveRoleHeader,
        ("userId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The analytic in its envelope", body = Envelope),
        (status = 404, description = "No such subject", body = super::error::ErrorBody),
    ),
)]
pub async fn peer_comparison(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path(user): Path<String>,
) -> Result<Admitted<JsonBody>, ApiError> {
    let subject = parse_id("userId", &user)?;
    serve_one(
        &state,
        &acting,
        "comparison/peer-comparison",
        Resource::PeerComparison,
        AnalyticsKind::PeerComparison,
        &subject,
    )
    .await
}

/// Skill demand in an organisation, or across all of them.
#[utoipa::path(
    get, path = "/api/v1/comparison/analytics/skill-demand", tag = "analytics",
    params(ActiveRoleHeader, SkillDemandQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The analytic in its envelope", body = Envelope),
        (status = 404, description = "No such organisation", body = super::error::ErrorBody),
    ),
)]
pub async fn skill_demand(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    query: Result<Query<SkillDemandQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Admitted<JsonBody>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::field("query", e.body_text()))?;
    let org = query
        .org_id
        .as_deref()
        .map(|o| parse_id("orgId", o))
        .transpose()?;
    let subject = match &org {
        Some(o) => o.clone(),
        None => parse_id("orgId", GLOBAL_SUBJECT)?,
    };
    serve_one(
        &state,
        &acting,
        "comparison/skill-demand",
        Resource::SkillDemand { org },
        AnalyticsKind::SkillDemand,
        &subject,
    )
    .await
}

/// A learner's predictive analytic (drop-off risk, performance forecast, recommendations).
#[utoipa::path(
    get, path = "/api/v1/predictive/analytics/{analytic}/{userId}", tag = "analytics",
    params(
        ActiveRoleHeader,
        ("analytic" = PredictiveAnalytic, Path),
        ("userId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The analytic in its envelope", body = Envelope),
        (status = 404, description = "No such analytic or subject", body = super::error::ErrorBody),
    ),
)]
pub async fn predictive(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path((analytic, user)): Path<(String, String)>,
) -> Result<Admitted<JsonBody>, ApiError> {
    let kind = kind_of(Group::Predictive, &analytic)?;
    let subject = parse_id("userId", &user)?;
    let resource = if kind == AnalyticsKind::Recommendations {
        Resource::Recommendations
    } else {
        Resource::Predictive
    };
    let route = format!("predictive/{analytic}");
    serve_one(&state, &acting, &route, resource, kind, &subject).await
}

/// Every analytic of a role for its subject.
async fn dashboard(
    state: &AppState,
    acting: &Acting,
    role: Role,
    resource: Resource,
    subject: &Id,
) -> Result<Admitted<JsonBody>, ApiError> {
    let key = format!(
        "{}|{}/dashboard",
        acting.who.user_id.as_str(),
        role.as_str()
    );
    let limit = state.check_rate(RouteClass::Analytics, &key).await?;
    let result = async {
        if decide(&acting.who, acting.role, &resource, subject, None) != Decision::Allow {
            return Err(ApiError::forbidden());
        }
        // `{"analytics":{name:envelope,…}}`, in the catalogue's order. The names are
        // analytics.md's identifiers: nothing in them needs escaping.
        let mut body = b"{\"analytics\":{".to_vec();
        let mut first = true;
        for kind in AnalyticsKind::ALL
            .into_iter()
            .filter(|k| stored_role(*k, subject.as_str()) == role.as_str())
        {
            let served = state
                .pipeline
                .read(&state.jobs, kind, subject.as_str())
                .await?;
            if !first {
                body.push(b',');
            }
            first = false;
            body.push(b'"');
            body.extend_from_slice(kind.name().as_bytes());
            body.extend_from_slice(b"\":");
            served
                .row
                .write_envelope(&mut body, served.layer.is_some(), served.stale);
        }
        body.extend_from_slice(b"}}");
        Ok(JsonBody(body))
    }
    .await;
    Ok((limit, result))
}

/// Every learner analytic of a learner (learner, comparison and predictive).
#[utoipa::path(
    get, path = "/api/v1/learner/dashboard/{userId}", tag = "analytics",
    params(ActiveRoleHeader, ("userId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every analytic of the role", body = Dashboard),
        (status = 404, description = "No such subject", body = super::error::ErrorBody),
    ),
)]
pub async fn learner_dashboard(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path(user): Path<String>,
) -> Result<Admitted<JsonBody>, ApiError> {
    let subject = parse_id("userId", &user)?;
    dashboard(
        &state,
        &acting,
        Role::Learner,
        Resource::LearnerAnalytics,
        &subject,
    )
    .await
}

/// Every trainer analytic of a trainer.
#[utoipa::path(
    get, path = "/api/v1/trainer/dashboard/{trainerId}", tag = "analytics",
    params(ActiveRoleHeader, ("trainerId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every analytic of the role", body = Dashboard),
        (status = 404, description = "No such subject", body = super::error::ErrorBody),
    ),
)]
pub async fn trainer_dashboard(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path(trainer): Path<String>,
) -> Result<Admitted<JsonBody>, ApiError> {
    let subject = parse_id("trainerId", &trainer)?;
    dashboard(
        &state,
        &acting,
        Role::Trainer,
        Resource::TrainerAnalytics,
        &subject,
    )
    .await
}

/// Every organisation analytic of an organisation (and its skill demand).
#[utoipa::path(
    get, path = "/api/v1/org-admin/dashboard/{orgId}", tag = "analytics",
    params(ActiveRoleHeader, ("orgId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every analytic of the role", body = Dashboard),
        (status = 404, description = "No such subject", body = super::error::ErrorBody),
    ),
)]
pub async fn org_dashboard(
    State(state): State<Arc<AppState>>,
    acting: Acting,
    Path(org): Path<String>,
) -> Result<Admitted<JsonBody>, ApiError> {
    let subject = parse_id("orgId", &org)?;
    dashboard(
        &state,
        &acting,
        Role::OrgAdmin,
        Resource::OrgAnalytics,
        &subject,
    )
    .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::cache::Cached;
    use crate::store::AnalyticsRow;

    /// What a read writes is the documented envelope: every field, nothing else.
    #[test]
    fn a_cached_result_is_served_as_the_documented_envelope() {
        let at = chrono::DateTime::from_timestamp_nanos(1_764_892_800_123_456_789);
        let row = AnalyticsRow {
            subject_id: "u1".into(),
            role: "learner".into(),
            analytics_type: "engagementScore".into(),
            data: json!({"status": "ok", "n": 1}),
            data_quality: json!({"degraded": true, "sources": {"activity": "snapshot"}}),
            calculated_at: at,
            expires_at: at + chrono::TimeDelta::hours(6),
        };
        let body = Cached::from_row(&row).envelope(true, true);
        let envelope: Envelope = serde_json::from_slice(&body).expect("an envelope");
        assert!(envelope.cached && envelope.stale && envelope.requires_refresh);
        assert_eq!(
            (envelope.last_updated, envelope.expires_at),
            (row.calculated_at, row.expires_at)
        );
        let value = |raw: &serde_json::value::RawValue| {
            serde_json::from_str::<Value>(raw.get()).expect("json")
        };
        assert_eq!(value(&envelope.data), row.data);
        assert_eq!(value(&envelope.data_quality), row.data_quality);
        let quality: DataQuality =
            serde_json::from_str(envelope.data_quality.get()).expect("data quality");
        assert!(quality.degraded);
    }
}
