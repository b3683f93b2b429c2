//! Extractors whose rejections are the API's own errors: a malformed body, query or path
//! gets 400 with the JSON error body, like every other refusal (axum's own are plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use futures::TryFutureExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body (`Content-Type: application/json`).
pub(crate) struct Body<T>(pub(crate) T);

/// An optional JSON request body: empty or `null` is `None`.
pub(crate) struct OptionalBody<T>(pub(crate) Option<T>);

/// Query parameters.
pub(crate) struct Params<T>(pub(crate) T);

/// Path parameters.
pub(crate) struct PathParams<T>(pub(crate) T);

async fn bytes<S: Send + Sync>(req: Request, state: &S) -> Result<(Bytes, bool), ApiError> {
    let json = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
    Bytes::from_request(req, state)
        .map_ok(|b| (b, json))
        .await
        .map_err(|e| {
            ApiError::BadRequest(format!("cannot read the request body: {}", e.body_text()))
        })
}

fn require_json(json: bool) -> Result<(), ApiError> {
    if json {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "send the body as Content-Type: application/json".into(),
        ))
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "the request body is not the JSON this route takes: {e}"
        ))
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (bytes, json) = bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::BadRequest("this route needs a JSON body".into()));
        }
        require_json(json)?;
        Ok(Self(parse(&bytes)?))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (bytes, json) = bytes(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        require_json(json)?;
        Ok(Self(parse::<Option<T>>(&bytes)?))
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// A `limit` parameter: 1 to 1000, default 100.
pub(crate) fn limit(value: Option<u32>) -> Result<usize, ApiError> {
    match value {
        None => Ok(100),
        Some(n @ 1..=1000) => Ok(n as usize),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit must be 1 to 1000, not {n}"
        ))),
    }
}
