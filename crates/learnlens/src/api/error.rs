//! [`ApiError`]: the only error type that becomes an HTTP response, with the one error shape of
//! api.md: `{"error": "snake_case_code", "message": "…"}`, plus `validation` on 400 and
//! `retryAfter` (with the `Retry-After` header) on 429. Internal causes are logged once, with
//! the request id, and never sent.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{AuthError, AuthenticateError, LoginError};
use crate::ratelimit::Verdict;
use crate::store::StoreError;

use super::ratelimit_headers;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorBody {
    /// Stable, machine-readable code, e.g. `validation_failed`, `forbidden`, `rate_limited`.
    pub error: String,
    /// A sentence for humans.
    pub message: String,
    /// On 400: the problems of each offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<BTreeMap<String, Vec<String>>>,
    /// On 429: seconds until a request will be admitted; equals the `Retry-After` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("validation failed")]
    Validation(BTreeMap<String, Vec<String>>),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// Missing, malformed, forged, expired or revoked credentials: one answer for all.
    #[error("unauthorized")]
    Unauthorized,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("{message}")]
    Forbidden {
        code: &'static str,
        message: &'static str,
    },
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("rate limited")]
    RateLimited(Verdict),
    #[error("request timed out")]
    Timeout,
    #[error("a dependency is unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A 400 for one field.
    pub fn field(field: &str, problem: impl Into<String>) -> ApiError {
        ApiError::Validation(BTreeMap::from([(field.to_owned(), vec![problem.into()])]))
    }

    pub fn forbidden() -> ApiError {
        ApiError::Forbidden {
            code: "forbidden",
            message: "You may not access this resource.",
        }
    }

    fn status_code_message(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            Validation(_) => (
                StatusCode::BAD_REQUEST,
                "validation_failed",
                "The request is invalid; see `validation`.".into(),
            ),
            BadRequest { code, message } => (StatusCode::BAD_REQUEST, code, message.clone()),
            Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "A valid access token is required.".into(),
            ),
            InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "Invalid e-mail or password.".into(),
            ),
            Forbidden { code, message } => (StatusCode::FORBIDDEN, code, (*message).into()),
            NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "No such resource.".into(),
            ),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed on this resource.".into(),
            ),
            Conflict(message) => (StatusCode::CONFLICT, "conflict", (*message).into()),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is too large.".into(),
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as application/json.".into(),
            ),
            RateLimited(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests; retry later.".into(),
            ),
            Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                "The request took too long; retry later.".into(),
            ),
            Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "A dependency is unavailable; retry later.".into(),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Something went wrong on our side.".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            // Logged once here; the request span carries the request id.
            tracing::error!(error = ?e, "internal error");
        }
        let (status, code, message) = self.status_code_message();
        let body = ErrorBody {
            error: code.to_owned(),
            message,
            validation: match &self {
                ApiError::Validation(v) => Some(v.clone()),
                _ => None,
            },
            retry_after: match &self {
                ApiError::RateLimited(v) => Some(v.retry_after_secs),
                _ => None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::RateLimited(v) => {
                ratelimit_headers(headers, v);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(v.retry_after_secs));
            }
            ApiError::Unavailable | ApiError::Timeout => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            ApiError::Unauthorized | ApiError::InvalidCredentials => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                ApiError::Unavailable
            }
            StoreError::Conflict(m) => ApiError::Conflict(m),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidToken => ApiError::Unauthorized,
            AuthError::Signing(_) | AuthError::LocalDisabled => ApiError::Internal(e.into()),
        }
    }
}

impl From<AuthenticateError> for ApiError {
    fn from(e: AuthenticateError) -> Self {
        match e {
            AuthenticateError::Token(t) => t.into(),
            AuthenticateError::Store(s) => s.into(),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => ApiError::InvalidCredentials,
            LoginError::LocalLoginDisabled => ApiError::Forbidden {
                code: "local_login_disabled",
                message: "This deployment signs users in through its identity provider.",
            },
            LoginError::Store(s) => s.into(),
            LoginError::Token(t) => t.into(),
            LoginError::Password(p) => ApiError::Internal(p.into()),
        }
    }
}
