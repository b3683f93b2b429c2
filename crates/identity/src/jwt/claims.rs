//! Checking registered claims against the clock and configuration, and reading the
//! mapped claims (roles, tenant, scopes) into an [`Identity`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::config::ClaimMapping;
use crate::error::AuthError;
use crate::identity::{AuthMethod, Identity, IdentityAttributes, IdentityKind};

pub(crate) type Claims = Map<String, Value>;

/// The policy registered claims are checked against.
pub(crate) struct ClaimRules<'a> {
    pub(crate) issuers: &'a [String],
    pub(crate) audience: &'a str,
    pub(crate) clock_skew: Duration,
}

/// Checks `exp` (required), `nbf` (when present), `iss` and `aud`. Returns `exp`.
pub(crate) fn check_registered(
    claims: &Claims,
    rules: &ClaimRules<'_>,
    now: SystemTime,
) -> Result<SystemTime, AuthError> {
    let skew = rules.clock_skew;
    let exp = numeric_date(claims, "exp")?.ok_or(AuthError::MissingClaim { claim: "exp" })?;
    if now >= exp.checked_add(skew).unwrap_or(exp) {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now.checked_add(skew).unwrap_or(now) < nbf
    {
        return Err(AuthError::NotYetValid);
    }
    let issuer = match claims.get("iss") {
        None => return Err(AuthError::MissingClaim { claim: "iss" }),
        Some(Value::String(iss)) => iss,
        Some(_) => return Err(AuthError::InvalidClaim { claim: "iss" }),
    };
    if !rules.issuers.iter().any(|accepted| accepted == issuer) {
        return Err(AuthError::WrongIssuer);
    }
    let audience_matches = match claims.get("aud") {
        None => return Err(AuthError::MissingClaim { claim: "aud" }),
        Some(Value::String(aud)) => aud == rules.audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(rules.audience)),
        Some(_) => return Err(AuthError::InvalidClaim { claim: "aud" }),
    };
    if !audience_matches {
        return Err(AuthError::WrongAudience);
    }
    Ok(exp)
}

/// Builds the identity of a verified token whose registered claims passed.
pub(crate) fn identity_from_claims(
    claims: &Claims,
    mapping: &ClaimMapping,
    expires_at: SystemTime,
    now: SystemTime,
) -> Result<Identity, AuthError> {
    let id = subject(claims, mapping.require_subject)?;
    let asserted_roles = claim_at_path(claims, &mapping.roles_claim)
        .map(|v| string_list(v).ok_or(AuthError::InvalidClaim { claim: "roles" }))
        .transpose()?
        .unwrap_or_default();
    let tenant = optional_string_at(claims, mapping.tenant_claim.as_deref(), "tenant")?;
    let device_id = optional_string_at(claims, mapping.device_id_claim.as_deref(), "device_id")?;

    let mut attributes = IdentityAttributes::new(AuthMethod::Jwt);
    attributes.auth_time = numeric_date(claims, "auth_time")?.or(Some(now));
    attributes.expires_at = Some(expires_at);
    attributes.device_id = device_id;
    attributes.acr = optional_string_at(claims, Some("acr"), "acr")?;
    attributes.amr = match claims.get("amr") {
        Some(v) => string_list(v).ok_or(AuthError::InvalidClaim { claim: "amr" })?,
        None => Vec::new(),
    };
    attributes.scopes = scopes(claims)?;
    attributes.issuer = claims.get("iss").and_then(Value::as_str).map(str::to_owned);
    attributes.credential_id = claims.get("jti").and_then(Value::as_str).map(str::to_owned);
    attributes.account_created = account_created(claims, mapping.account_created_claim.as_deref())?;

    Ok(Identity {
        id,
        kind: IdentityKind::User,
        tenant,
        roles: mapping.role_mapping.map(&asserted_roles),
        permissions: Vec::new(),
        attributes,
    })
}

/// `sub`, or with `require_subject: false` the client (`client_id`, then `azp`).
fn subject(claims: &Claims, require_subject: bool) -> Result<String, AuthError> {
    let candidates: &[&str] = if require_subject {
        &["sub"]
    } else {
        &["sub", "client_id", "azp"]
    };
    for name in candidates {
        match claims.get(*name) {
            Some(Value::String(s)) if !s.is_empty() => return Ok(s.clone()),
            Some(_) => return Err(AuthError::InvalidClaim { claim: "sub" }),
            None => {}
        }
    }
    Err(AuthError::MissingClaim { claim: "sub" })
}

/// Scopes from `scope` (space-separated, RFC 8693/9068) or `scp` (array or string).
fn scopes(claims: &Claims) -> Result<Vec<String>, AuthError> {
    for name in ["scope", "scp"] {
        if let Some(value) = claims.get(name) {
            return string_list(value).ok_or(AuthError::InvalidClaim { claim: "scope" });
        }
    }
    Ok(Vec::new())
}

/// A NumericDate claim (seconds since the epoch, possibly fractional), if present.
fn numeric_date(claims: &Claims, name: &'static str) -> Result<Option<SystemTime>, AuthError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let seconds = value
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12)
        .ok_or(AuthError::InvalidClaim { claim: name })?;
    Ok(UNIX_EPOCH.checked_add(Duration::from_secs_f64(seconds)))
}

/// The account creation time at the configured claim path, if any (seconds since the
/// epoch). A claim that is there but not a plausible time is an error, like a bad `auth_time`.
fn account_created(claims: &Claims, path: Option<&str>) -> Result<Option<SystemTime>, AuthError> {
    let Some(value) = path.and_then(|p| claim_at_path(claims, p)) else {
        return Ok(None);
    };
    let seconds = value
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e12)
        .ok_or(AuthError::InvalidClaim {
            claim: "account_created",
        })?;
    Ok(UNIX_EPOCH.checked_add(Duration::from_secs_f64(seconds)))
}

/// The value at a dot-separated path (`realm_access.roles`). A key containing dots
/// is matched whole first, so URL-named claims (`https://example.com/roles`) work.
pub(crate) fn claim_at_path<'c>(claims: &'c Claims, path: &str) -> Option<&'c Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let mut segments = path.split('.');
    let mut current = claims.get(segments.next()?)?;
    for segment in segments {
        current = current.as_object()?.get(segment)?;
    }
    Some(current)
}

fn optional_string_at(
    claims: &Claims,
    path: Option<&str>,
    claim: &'static str,
) -> Result<Option<String>, AuthError> {
    match path.and_then(|p| claim_at_path(claims, p)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(AuthError::InvalidClaim { claim }),
    }
}

/// An array of strings, or one space-separated string.
fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}
