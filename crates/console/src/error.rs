//! Errors of the admin API, and the one table that maps them to HTTP.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// Why an admin request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No credential, or one nobody recognises.
    #[error("{0}")]
    Unauthenticated(String),
    /// A valid credential without the role the request needs.
    #[error("{0}")]
    Forbidden(String),
    /// The thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be acted on as sent (a bad field, a bad document).
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state (a decided approval, no store).
    #[error("{0}")]
    Conflict(String),
    /// A store or component failed; the message names which.
    #[error("{0}")]
    Internal(String),
    /// A body that is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The feature is not configured on this gateway.
    #[error("{0}")]
    NotConfigured(String),
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `unauthenticated`, `forbidden`, `not_found`, `bad_request`,
    /// `conflict`, `not_configured`, `unsupported_media_type`, `internal`.
    pub error: &'static str,
    /// What went wrong and what to do about it.
    pub message: String,
}

impl ApiError {
    /// The status and stable code.
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::NotConfigured(_) => (StatusCode::CONFLICT, "not_configured"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// A store failure, logged here (the caller gets the message without internals).
    pub fn internal(what: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "admin: {what} failed");
        Self::Internal(format!("{what} failed; see the gateway log"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        let body = ErrorBody {
            error: code,
            message: self.to_string(),
        };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sallyport-admin\""),
            );
        }
        resp
    }
}
