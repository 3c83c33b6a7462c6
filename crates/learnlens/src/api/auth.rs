//! `/auth/*`: login, refresh, logout, me (the seed's Contract 1).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, AuthUser, ClientIp};
use super::{Admitted, RateLimitHeaders};
use crate::auth::password;
use crate::domain::{Email, Role};
use crate::ratelimit::RouteClass;
use crate::state::AppState;
use crate::store::User;

/// A user as the API shows it: never the password hash.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserOut {
    pub id: String,
    pub email: String,
    pub name: String,
    pub org_id: String,
    pub roles: Vec<Role>,
}

impl From<&User> for UserOut {
    fn from(u: &User) -> Self {
        UserOut {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            org_id: u.org_id.clone(),
            roles: u.roles.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's e-mail address (case-insensitive).
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        example = "learner@demo.test"
    )]
    pub email: String,
    #[schema(min_length = 8, max_length = 128, example = "learnlens-demo")]
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginResponse {
    pub user: UserOut,
    /// Access token (JWT, 15 minutes): send it as `Authorization: Bearer …`.
    pub token: String,
    /// Opaque refresh token (30 days, single use).
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(min_length = 1, max_length = 512)]
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshResponse {
    pub token: String,
    /// The rotated refresh token; the one sent is now dead.
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogoutRequest {
    #[schema(min_length = 1, max_length = 512)]
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeResponse {
    pub user: UserOut,
}

fn validate_login(req: &LoginRequest) -> Result<Email, ApiError> {
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let email = Email::parse(&req.email)
        .map_err(|p| {
            problems
                .entry("email".into())
                .or_default()
                .push(format!("e-mail {p}"))
        })
        .ok();
    let len = req.password.chars().count();
    if !(password::MIN_LEN..=password::MAX_LEN).contains(&len) {
        problems.entry("password".into()).or_default().push(format!(
            "must be {}–{} characters",
            password::MIN_LEN,
            password::MAX_LEN
        ));
    }
    match email {
        Some(email) if problems.is_empty() => Ok(email),
        _ => Err(ApiError::Validation(problems)),
    }
}

/// The `refreshToken` field's bounds, as published in the schema.
fn validate_refresh_field(token: &str) -> Result<(), ApiError> {
    let len = token.chars().count();
    if (1..=512).contains(&len) {
        Ok(())
    } else {
        Err(ApiError::field("refreshToken", "must be 1–512 characters"))
    }
}

/// Log in with e-mail and password.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 401, description = "Unknown e-mail, wrong password or disabled account (one answer)", body = ErrorBody),
        (status = 403, description = "Local login is disabled (identity-provider-only deployment)", body = ErrorBody),
    )
)]
pub async fn login(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Admitted<Json<LoginResponse>>, ApiError> {
    let email = validate_login(&req)?;
    let limit = state
        .check_rate(RouteClass::Login, &format!("{ip}|{}", email.as_str()))
        .await?;
    let result = async {
        let session = state.auth.login(&email, &req.password).await?;
        tracing::info!(user.id = %session.user.id, "login");
        Ok(Json(LoginResponse {
            user: UserOut::from(&session.user),
            token: session.access_token,
            refresh_token: session.refresh_token,
        }))
    }
    .await;
    Ok((limit, result))
}

/// Exchange a refresh token for a new access token and a rotated refresh token.
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Rotated", body = RefreshResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = ErrorBody),
        (status = 403, description = "Local login is disabled (identity-provider-only deployment)", body = ErrorBody),
    )
)]
pub async fn refresh(
    State(state): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Admitted<Json<RefreshResponse>>, ApiError> {
    validate_refresh_field(&req.refresh_token)?;
    let limit = state
        .check_rate(RouteClass::Refresh, &ip.to_string())
        .await?;
    let result = match state.auth.refresh(&req.refresh_token).await {
        Ok(session) => Ok(Json(RefreshResponse {
            token: session.access_token,
            refresh_token: session.refresh_token,
        })),
        Err(crate::auth::LoginError::InvalidCredentials) => Err(ApiError::Unauthorized),
        Err(other) => Err(other.into()),
    };
    Ok((limit, result))
}

/// End the session: revokes the refresh-token family.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    request_body = LogoutRequest,
    security(("bearer" = [])),
    responses((status = 204, description = "Logged out")),
)]
pub async fn logout(
    State(state): State<Arc<AppState>>,
    AuthUser(who): AuthUser,
    ApiJson(req): ApiJson<LogoutRequest>,
) -> Result<(RateLimitHeaders, Result<StatusCode, ApiError>), ApiError> {
    validate_refresh_field(&req.refresh_token)?;
    let limit = state
        .check_rate(RouteClass::Logout, who.user_id.as_str())
        .await?;
    let result = state.auth.logout(&who, &req.refresh_token).await;
    Ok((
        limit,
        result
            .map(|()| StatusCode::NO_CONTENT)
            .map_err(ApiError::from),
    ))
}

/// The caller's account.
#[utoipa::path(
    get, path = "/api/v1/auth/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, description = "The caller", body = MeResponse)),
)]
pub async fn me(
    State(state): State<Arc<AppState>>,
    AuthUser(who): AuthUser,
) -> Result<Admitted<Json<MeResponse>>, ApiError> {
    let limit = state
        .check_rate(RouteClass::Me, who.user_id.as_str())
        .await?;
    let result = match state.store.user_by_id(who.user_id.as_str()).await {
        Ok(Some(user)) if !user.disabled => Ok(Json(MeResponse {
            user: UserOut::from(&user),
        })),
        Ok(_) => Err(ApiError::Unauthorized),
        Err(e) => Err(e.into()),
    };
    Ok((limit, result))
}
