//! Extractors that parse and authenticate at the edge, each failing with an [`ApiError`]:
//! [`AuthUser`] (bearer token → verified principal), [`Acting`] (principal + the
//! `X-Active-Role` it acts in, which it must hold), [`ApiJson`] (JSON bodies whose every
//! rejection is our error shape) and [`ClientIp`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::auth::Principal;
use crate::domain::Role;
use crate::state::AppState;

/// The authenticated caller. Shared, not copied: a remembered token's principal is the same
/// allocation for every request that presents it.
#[derive(Debug, Clone)]
pub struct AuthUser(pub Arc<Principal>);

impl FromRequestParts<Arc<AppState>> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let token = bearer_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let principal = state.auth.authenticate(token).await?;
        let user = AuthUser(principal);
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The header naming the role a request acts in.
pub const ACTIVE_ROLE_HEADER: &str = "x-active-role";

/// An authenticated caller acting in a role they hold.
#[derive(Debug, Clone)]
pub struct Acting {
    pub who: Arc<Principal>,
    pub role: Role,
}

impl FromRequestParts<Arc<AppState>> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // Authentication first: an anonymous caller learns nothing about roles.
        let AuthUser(who) = AuthUser::from_request_parts(parts, state).await?;
        let raw = parts
            .headers
            .get(ACTIVE_ROLE_HEADER)
            .ok_or_else(|| ApiError::BadRequest {
                code: "missing_active_role",
                message: "Name the role you act in with the X-Active-Role header.".into(),
            })?;
        let role = raw
            .to_str()
            .ok()
            .and_then(Role::parse)
            .ok_or_else(|| ApiError::BadRequest {
                code: "invalid_active_role",
                message: "X-Active-Role must be exactly one of learner, trainer, org-admin.".into(),
            })?;
        if !who.holds(role) {
            return Err(ApiError::Forbidden {
                code: "role_not_held",
                message: "You do not hold the role named in X-Active-Role.",
            });
        }
        Ok(Acting { who, role })
    }
}

/// A JSON body. Malformed JSON, wrong types, unknown fields, a missing content type and
/// oversize bodies all become our error shape (400, 415, 413), never axum's plain text.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            // serde's message names the field and the problem ("unknown field `x`", "invalid
            // type: integer, expected a string"); it never echoes a value we hold.
            let detail = e.body_text();
            let problem = detail
                .rsplit_once(": ")
                .map_or(detail.as_str(), |(_, p)| p)
                .to_owned();
            ApiError::field("body", problem)
        }
        JsonRejection::JsonSyntaxError(_) => ApiError::BadRequest {
            code: "invalid_json",
            message: "The request body is not valid JSON.".into(),
        },
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            ApiError::PayloadTooLarge
        }
        _ => ApiError::BadRequest {
            code: "invalid_body",
            message: "The request body could not be read.".into(),
        },
    }
}

/// The client's address: the socket peer, or, when the server is configured to trust its
/// proxy, the right-most `X-Forwarded-For` entry — the one that proxy appended. (Left-most
/// entries are whatever the client sent and could be chosen to dodge the login limit.)
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<Arc<AppState>> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        if state.config.server.trust_forwarded_for {
            let forwarded = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok());
            if let Some(ip) = forwarded {
                return Ok(ClientIp(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        Ok(ClientIp(peer))
    }
}
