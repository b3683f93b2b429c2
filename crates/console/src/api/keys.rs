//! API keys of the gateway (`auth.api_keys`): list, create (the key is shown once), revoke.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sallyport_identity::api_key::{ApiKeyRecord, KeyStoreError, NewApiKey};
use sallyport_identity::{IdentityKind, KeyStore};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Authed, blocking};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Body, PathParams};
use crate::state::AdminState;

/// One API key (never its secret or hash).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyView {
    /// The visible prefix that identifies it.
    pub prefix: String,
    /// Its name.
    pub name: String,
    /// The principal it authenticates as.
    pub principal_id: String,
    /// The principal's tenant.
    pub tenant: Option<String>,
    /// Roles granted.
    pub roles: Vec<String>,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// Created (seconds since the Unix epoch).
    pub created_at: u64,
    /// Expires (seconds since the Unix epoch).
    pub expires_at: Option<u64>,
    /// Source networks allowed.
    pub allowed_cidrs: Vec<String>,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl From<&ApiKeyRecord> for KeyView {
    fn from(r: &ApiKeyRecord) -> Self {
        Self {
            prefix: r.prefix.clone(),
            name: r.name.clone(),
            principal_id: r.principal_id.clone(),
            tenant: r.tenant.clone(),
            roles: r.roles.clone(),
            scopes: r.scopes.clone(),
            created_at: r.created_at,
            expires_at: r.expires_at,
            allowed_cidrs: r.allowed_cidrs.clone(),
            revoked: r.revoked,
        }
    }
}

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// A human name.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The principal it authenticates as (default `api_key:<name>`).
    pub principal_id: Option<String>,
    /// A person's key instead of a service account's.
    #[serde(default)]
    pub user: bool,
    /// The principal's tenant.
    pub tenant: Option<String>,
    /// Roles granted.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Scopes granted.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Days until it expires (default: never).
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
    /// Source networks allowed (CIDR or address); empty allows any.
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
}

/// A created key: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedKey {
    /// The key itself; store it now, it cannot be shown again.
    pub key: String,
    /// Its record.
    pub record: KeyView,
}

fn key_store(state: &AdminState) -> Result<Arc<KeyStore>, ApiError> {
    let core = state.gateway.core();
    core.auth
        .as_ref()
        .and_then(|a| a.api_keys())
        .cloned()
        .ok_or_else(|| ApiError::NotConfigured("no API keys: configure auth.api_keys".into()))
}

/// Lists API keys.
#[utoipa::path(get, operation_id = "keys_list", path = "/admin/keys", tag = "keys",
    responses((status = 200, body = [KeyView]), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn list(
    _: Authed,
    State(state): State<Arc<AdminState>>,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    let store = key_store(&state)?;
    Ok(Json(store.list().iter().map(KeyView::from).collect()))
}

/// Creates an API key; the response carries the key once.
#[utoipa::path(post, operation_id = "keys_create", path = "/admin/keys", tag = "keys", request_body = NewKey,
    responses((status = 201, body = CreatedKey), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn create(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    Body(k): Body<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    op.require_admin()?;
    if k.name.trim().is_empty() || k.name.chars().count() > 200 {
        return Err(ApiError::BadRequest(
            "name must be 1 to 200 characters".into(),
        ));
    }
    let days = k.expires_in_days.unwrap_or(0);
    if k.expires_in_days.is_some() && !(1..=3650).contains(&days) {
        return Err(ApiError::BadRequest(
            "expires_in_days must be 1 to 3650".into(),
        ));
    }
    let now = SystemTime::now();
    let request = NewApiKey {
        name: k.name,
        principal_id: k.principal_id,
        kind: if k.user {
            IdentityKind::User
        } else {
            IdentityKind::Service
        },
        tenant: k.tenant,
        roles: k.roles,
        scopes: k.scopes,
        expires_at: k
            .expires_in_days
            .map(|d| now + Duration::from_secs(u64::from(d) * 86_400)),
        allowed_cidrs: k.allowed_cidrs,
    };
    let store = key_store(&state)?;
    let by = op.name.clone();
    let created = blocking("creating a key", move || {
        let (key, record) = store.create(request, now).map_err(key_error)?;
        tracing::info!(prefix = %record.prefix, by = %by, "API key created from the admin API.");
        Ok(CreatedKey {
            key: key.expose().to_owned(),
            record: KeyView::from(&record),
        })
    })
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revokes an API key by its prefix.
#[utoipa::path(delete, operation_id = "keys_revoke", path = "/admin/keys/{prefix}", tag = "keys",
    params(("prefix" = String, Path, description = "The key's visible prefix")),
    responses((status = 200, body = KeyView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn revoke(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
    PathParams(prefix): PathParams<String>,
) -> Result<Json<KeyView>, ApiError> {
    op.require_admin()?;
    let store = key_store(&state)?;
    let record = blocking("revoking a key", move || {
        store.revoke(&prefix, SystemTime::now()).map_err(key_error)
    })
    .await?;
    tracing::warn!(prefix = %record.prefix, by = %op.name, "API key revoked from the admin API.");
    Ok(Json(KeyView::from(&record)))
}

fn key_error(e: KeyStoreError) -> ApiError {
    match e {
        KeyStoreError::InvalidRequest(m) => ApiError::BadRequest(m),
        KeyStoreError::UnknownPrefix(p) => {
            ApiError::NotFound(format!("no API key with prefix {p}"))
        }
        other => ApiError::internal("the key store", other),
    }
}
