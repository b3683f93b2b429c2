//! Control: reload the configuration, and validate or dry-run an authorization policy
//! before it is applied.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use sallyport_policy::{AuthzConfig, AuthzPolicy, Clock as _, SystemClock, explain_document};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{Authed, blocking};
use crate::error::{ApiError, ErrorBody};
use crate::extract::Body;
use crate::state::AdminState;

/// The largest policy or cases document accepted.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// What a reload did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReloadResult {
    /// What happened.
    pub message: String,
}

/// Re-reads the configuration file and publishes it; a bad file leaves the running
/// configuration in place and answers 400 with every error.
#[utoipa::path(post, operation_id = "control_reload", path = "/admin/reload", tag = "control",
    responses((status = 200, body = ReloadResult), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(crate) async fn reload(
    Authed(op): Authed,
    State(state): State<Arc<AdminState>>,
) -> Result<Json<ReloadResult>, ApiError> {
    op.require_admin()?;
    let control = state.control.clone();
    let message = blocking("reloading", move || {
        control.reload().map_err(ApiError::BadRequest)
    })
    .await?;
    tracing::info!(by = %op.name, "Configuration reloaded from the admin API.");
    Ok(Json(ReloadResult { message }))
}

/// A policy document (YAML: roles, tool rules; Cedar files it names are read from disk).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyDocument {
    /// The policy, as a policy file holds it.
    pub policy: String,
}

/// Whether a policy compiles.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Validation {
    /// True when it compiles.
    pub valid: bool,
    /// Every error, with its field path.
    pub errors: Vec<String>,
}

/// Compiles a policy document and reports every error; nothing is applied.
#[utoipa::path(post, operation_id = "control_validate", path = "/admin/policies/validate", tag = "control", request_body = PolicyDocument,
    responses((status = 200, body = Validation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn validate(
    _: Authed,
    Body(doc): Body<PolicyDocument>,
) -> Result<Json<Validation>, ApiError> {
    let result = blocking("validating a policy", move || compile(&doc.policy)).await;
    Ok(Json(match result {
        Ok(_) => Validation {
            valid: true,
            errors: Vec::new(),
        },
        Err(ApiError::BadRequest(errors)) => Validation {
            valid: false,
            errors: errors.lines().map(str::to_owned).collect(),
        },
        Err(other) => return Err(other),
    }))
}

fn compile(text: &str) -> Result<AuthzPolicy, ApiError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(ApiError::BadRequest(
            "the policy is larger than 1 MiB".into(),
        ));
    }
    let config =
        AuthzConfig::from_yaml(text, "policy").map_err(|e| ApiError::BadRequest(e.to_string()))?;
    AuthzPolicy::from_config(&config).map_err(|errors| {
        ApiError::BadRequest(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })
}

/// Requests to evaluate, against a proposed policy or the running one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DryRun {
    /// A proposed policy (YAML); absent: the policy the running config names.
    pub policy: Option<String>,
    /// One described request or a list (YAML or JSON), as `sallyport policy test` reads:
    /// `principal`, `server`, `tool`, `arguments`, `expect`, …
    pub cases: String,
}

/// What the policy decided for each request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DryRunResult {
    /// Cases whose `expect` held.
    pub passed: usize,
    /// Cases whose `expect` did not hold.
    pub failed: usize,
    /// Each case's decision and the reasons for it.
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<Value>,
}

/// Evaluates described requests against a policy, explaining each decision; nothing is
/// applied and no upstream is called.
#[utoipa::path(post, operation_id = "control_dry_run", path = "/admin/policies/dry-run", tag = "control", request_body = DryRun,
    responses((status = 200, body = DryRunResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub(crate) async fn dry_run(
    _: Authed,
    State(state): State<Arc<AdminState>>,
    Body(run): Body<DryRun>,
) -> Result<Json<DryRunResult>, ApiError> {
    if run.cases.len() > MAX_DOCUMENT_BYTES {
        return Err(ApiError::BadRequest(
            "the cases are larger than 1 MiB".into(),
        ));
    }
    let files = state.control.policy_files();
    let result = blocking("evaluating a policy", move || {
        let policy = match (&run.policy, files) {
            (Some(text), _) => compile(text)?,
            (None, Some(files)) if !files.is_empty() => AuthzPolicy::load(&files).map_err(|e| {
                ApiError::Conflict(format!(
                    "the running policy files do not compile: {}",
                    e.len()
                ))
            })?,
            (None, Some(_)) => AuthzPolicy::shipped_default(),
            (None, None) => {
                return Err(ApiError::BadRequest(
                    "the running config has no authz section; send a `policy` to evaluate".into(),
                ));
            }
        };
        let results = explain_document(&policy, &run.cases, SystemClock.now())
            .map_err(|e| ApiError::BadRequest(format!("cases: {e}")))?;
        Ok(results)
    })
    .await?;
    let passed = result.iter().filter(|e| e.passed == Some(true)).count();
    let failed = result.iter().filter(|e| e.passed == Some(false)).count();
    Ok(Json(DryRunResult {
        passed,
        failed,
        results: result
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .collect(),
    }))
}
