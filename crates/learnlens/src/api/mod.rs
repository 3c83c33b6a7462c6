//! The HTTP layer: the one route table, the OpenAPI document generated from it, and the
//! middleware every request passes (request id, tracing, metrics, CORS, timeout, body limit,
//! panic catching). Only this module knows HTTP; handlers are thin: extract → rate limit →
//! policy → call into the core → DTO.

pub mod analytics;
pub mod auth;
pub mod error;
pub mod extract;
pub mod health;
pub mod jobs;
pub mod system;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::ratelimit::Verdict;
use crate::state::AppState;
use error::{ApiError, ErrorBody};

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "learnlens",
        description = "Learning analytics for learners, trainers and organisation admins. \
                       Authenticate with POST /api/v1/auth/login, then send the token as \
                       `Authorization: Bearer …` and the role you act in as `X-Active-Role`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(
        ErrorBody,
        analytics::LearnerAnalytic,
        analytics::TrainerAnalytic,
        analytics::OrgAnalytic,
        analytics::PredictiveAnalytic,
    )),
    tags(
        (name = "auth", description = "Login, token refresh, logout, the caller's account"),
        (name = "analytics", description = "The 19 analytics and the three dashboards, each in the envelope of cache and data-quality flags"),
        (name = "jobs", description = "Manual refresh and the status of background jobs"),
        (name = "operations", description = "Health and metrics"),
    )
)]
struct ApiDoc;

/// The route table: every endpoint of the service, and the OpenAPI document built from it.
pub fn router(state: Arc<AppState>) -> Router {
    // Every operation's path carries the `/api/v1` prefix itself: a nested router would
    // rewrite each request's URI on its way in.
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(system::sources))
        .routes(routes!(analytics::learner))
        .routes(routes!(analytics::trainer))
        .routes(routes!(analytics::org))
        .routes(routes!(analytics::peer_comparison))
        .routes(routes!(analytics::skill_demand))
        .routes(routes!(analytics::predictive))
        .routes(routes!(analytics::learner_dashboard))
        .routes(routes!(analytics::trainer_dashboard))
        .routes(routes!(analytics::org_dashboard))
        .routes(routes!(jobs::refresh))
        .routes(routes!(jobs::get_job, jobs::cancel_job))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(health::metrics))
        .split_for_parts();
    Conventions.modify(&mut doc);

    let config = &state.config.server;
    let timeout = state.config.request_timeout();
    let router = router
        .merge(SwaggerUi::new("/docs").url(OPENAPI_PATH, doc))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(CatchPanicLayer::custom(|_| {
            // Inside the request-id and trace layers: the 500 carries the id, logged once.
            ApiError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
        }))
        .layer(middleware::from_fn_with_state(timeout, time_and_count));
    // Without configured origins there are no CORS headers at all, and no layer to pass.
    // Outside the timeout and the panic catcher, so their answers carry the headers too.
    let router = match cors(&config.cors_allowed_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    let router = router
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let request_id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request.id = %request_id)
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid));
    // The benchmarks' floor: bare axum answering a small JSON, outside every layer above.
    #[cfg(feature = "bench-floor")]
    let router = router.route(
        "/bench/hello",
        axum::routing::get(|| async { axum::Json(serde_json::json!({"hello": "world"})) }),
    );
    router.with_state(state)
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The CORS layer for the configured origins; `None` when there are none.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = origins.iter().filter_map(|o| o.parse().ok()).collect();
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-active-role"),
        ])
        .expose_headers([
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
            header::RETRY_AFTER,
            REQUEST_ID,
        ]);
    Some(layer)
}

/// The request's time limit (503 `request_timeout` past it) and its metrics: one middleware,
/// so that a request passes one boxed layer for both.
async fn time_and_count(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let response = match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    };
    let status = response.status().as_u16().to_string();
    metrics::counter!("learnlens_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("learnlens_http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

/// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` of one verdict.
pub fn ratelimit_headers(headers: &mut HeaderMap, v: &Verdict) {
    headers.insert("ratelimit-limit", HeaderValue::from(v.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(v.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(v.reset_secs));
}

/// The `X-Active-Role` header, as documented on every operation that acts in a role.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct ActiveRoleHeader {
    /// The role the request acts in: exactly one of `learner`, `trainer`, `org-admin`, and
    /// one the caller holds.
    #[param(rename = "X-Active-Role", inline, value_type = String, pattern = "^(learner|trainer|org-admin)$")]
    #[allow(dead_code)]
    x_active_role: String,
}

/// What a rate-limited handler returns once the request is admitted: the limit's headers go
/// on the response whether the operation then succeeds or fails.
pub type Admitted<R> = (RateLimitHeaders, Result<R, ApiError>);

/// JSON that learnlens wrote itself (an analytics envelope, a dashboard: see
/// `cache::Cached`), served as it is.
pub struct JsonBody(pub Vec<u8>);

impl IntoResponse for JsonBody {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// The rate-limit headers of an admitted request, as response parts.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitHeaders(pub Verdict);

impl IntoResponseParts for RateLimitHeaders {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        ratelimit_headers(res.headers_mut(), &self.0);
        Ok(res)
    }
}

impl AppState {
    /// Counts a request against its limit: the headers to send, or a 429.
    pub async fn check_rate(
        &self,
        class: crate::ratelimit::RouteClass,
        key: &str,
    ) -> Result<RateLimitHeaders, ApiError> {
        let verdict = self.limiter.check(class, key).await;
        if verdict.allowed {
            Ok(RateLimitHeaders(verdict))
        } else {
            Err(ApiError::RateLimited(verdict))
        }
    }
}

/// Applies the conventions every operation shares, so the document states them once: the
/// bearer scheme, and the error answers each kind of operation can give (all `ErrorBody`).
struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut OpenApiDoc) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let is_api = path.starts_with("/api/v1/");
            let ops = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.delete.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
            ];
            for op in ops.into_iter().flatten() {
                if !is_api {
                    continue;
                }
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = op.request_body.is_some();
                let mut add = |code: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| {
                            RefOr::T(
                                ResponseBuilder::new()
                                    .description(description)
                                    .content(
                                        "application/json",
                                        ContentBuilder::new()
                                            .schema(Some(RefOr::Ref(
                                                utoipa::openapi::Ref::from_schema_name("ErrorBody"),
                                            )))
                                            .build(),
                                    )
                                    .build(),
                            )
                        });
                };
                add("400", "Invalid request (see `validation`)");
                if secured {
                    add("401", "Missing, invalid, expired or revoked access token");
                    add("403", "Not allowed for this caller or role");
                }
                if has_body {
                    add("413", "Request body larger than the limit");
                    add("415", "Body is not application/json");
                }
                add("429", "Rate limited; see `retryAfter` and `Retry-After`");
                add("500", "Internal error (details are logged, never sent)");
                add(
                    "503",
                    "A dependency is unavailable or the request timed out",
                );
            }
        }
    }
}
