//! OAuth 2.1 resource-server helpers for the MCP authorization spec: Protected
//! Resource Metadata (RFC 9728) and `WWW-Authenticate` challenges (RFC 6750).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{AuthError, BuildError};

/// The RFC 9728 well-known path prefix.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// How this gateway describes itself as an OAuth protected resource.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ResourceServerConfig {
    /// The canonical URI of the MCP endpoint (`https://mcp.example.com/mcp`): the
    /// metadata `resource` and the audience tokens must carry.
    pub resource: String,
    /// Issuer URLs of the authorization servers clients should use; at least one.
    #[schemars(length(min = 1))]
    pub authorization_servers: Vec<String>,
    /// Scopes clients may request.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Human-readable name of the resource.
    #[serde(default)]
    pub resource_name: Option<String>,
    /// URL of human-readable documentation.
    #[serde(default)]
    pub resource_documentation: Option<String>,
}

impl ResourceServerConfig {
    /// Checks the URIs and builds the metadata document.
    pub fn metadata(&self) -> Result<ProtectedResourceMetadata, BuildError> {
        let resource = Url::parse(&self.resource).map_err(|e| {
            BuildError::invalid("resource.resource", format!("not an absolute URI: {e}"))
        })?;
        if resource.fragment().is_some() || !matches!(resource.scheme(), "https" | "http") {
            return Err(BuildError::invalid(
                "resource.resource",
                "must be an http(s) URI without fragment",
            ));
        }
        if self.authorization_servers.is_empty() {
            return Err(BuildError::invalid(
                "resource.authorization_servers",
                "at least one is required",
            ));
        }
        Ok(ProtectedResourceMetadata {
            resource: self.resource.clone(),
            authorization_servers: self.authorization_servers.clone(),
            scopes_supported: self.scopes_supported.clone(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: self.resource_name.clone(),
            resource_documentation: self.resource_documentation.clone(),
        })
    }
}

/// The RFC 9728 metadata document, served as JSON at the well-known paths.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier (canonical URI).
    pub resource: String,
    /// Authorization server issuer URLs.
    pub authorization_servers: Vec<String>,
    /// Scopes used in authorization requests for this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How bearer tokens may be sent: only `header` (never the query string).
    pub bearer_methods_supported: Vec<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Documentation URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
}

impl ProtectedResourceMetadata {
    /// The paths at which to serve this document: path-inserted first, then the root
    /// (`/.well-known/oauth-protected-resource/mcp`, `/.well-known/oauth-protected-resource`).
    pub fn well_known_paths(&self) -> Vec<String> {
        well_known_paths(&self.resource)
    }

    /// The absolute URL to put in `resource_metadata` (the path-inserted one).
    pub fn metadata_url(&self) -> String {
        metadata_url(&self.resource)
    }
}

/// Well-known paths for `resource` (RFC 9728 §3.1): the path-inserted path (the
/// resource's path without a trailing `/`, after the well-known prefix) and the root.
/// A resource without a path has only the root.
pub fn well_known_paths(resource: &str) -> Vec<String> {
    let inserted = inserted_path(resource);
    if inserted == WELL_KNOWN_PATH {
        vec![inserted]
    } else {
        vec![inserted, WELL_KNOWN_PATH.to_owned()]
    }
}

/// The absolute path-inserted metadata URL of `resource`:
/// `https://mcp.example.com/mcp` → `https://mcp.example.com/.well-known/oauth-protected-resource/mcp`.
pub fn metadata_url(resource: &str) -> String {
    match Url::parse(resource) {
        Ok(url) => format!(
            "{}{}",
            url.origin().ascii_serialization(),
            inserted_path(resource)
        ),
        Err(_) => WELL_KNOWN_PATH.to_owned(),
    }
}

fn inserted_path(resource: &str) -> String {
    let Ok(url) = Url::parse(resource) else {
        return WELL_KNOWN_PATH.to_owned();
    };
    let path = url.path().trim_end_matches('/');
    let mut inserted = format!("{WELL_KNOWN_PATH}{path}");
    if let Some(query) = url.query() {
        inserted.push('?');
        inserted.push_str(query);
    }
    inserted
}

/// The `WWW-Authenticate` value of a 401 for a request without usable credentials:
/// `Bearer resource_metadata="…", scope="…"` (MCP authorization, RFC 9728 §5.1).
pub fn www_authenticate_401(resource_metadata_url: &str, scope: Option<&str>) -> String {
    challenge(&[
        ("resource_metadata", Some(resource_metadata_url)),
        ("scope", scope),
    ])
}

/// The `WWW-Authenticate` value of a 403 asking for more scope (step-up):
/// `Bearer error="insufficient_scope", scope="…", resource_metadata="…", error_description="…"`.
pub fn www_authenticate_insufficient_scope(
    scope: &str,
    resource_metadata_url: &str,
    description: Option<&str>,
) -> String {
    challenge(&[
        ("error", Some("insufficient_scope")),
        ("scope", Some(scope)),
        ("resource_metadata", Some(resource_metadata_url)),
        ("error_description", description),
    ])
}

/// The `WWW-Authenticate` value of a step-up 403 when the scope or the resource metadata
/// may be unknown: [`www_authenticate_insufficient_scope`] without the missing parameters.
pub fn www_authenticate_step_up(
    scope: Option<&str>,
    resource_metadata_url: Option<&str>,
    description: Option<&str>,
) -> String {
    challenge(&[
        ("error", Some("insufficient_scope")),
        ("scope", scope),
        ("resource_metadata", resource_metadata_url),
        ("error_description", description),
    ])
}

/// The `WWW-Authenticate` value for a failed authentication: like
/// [`www_authenticate_401`], preceded by `error="invalid_token"` or
/// `error="invalid_request"` when a credential was presented (RFC 6750 §3.1).
pub fn www_authenticate_for(
    error: &AuthError,
    resource_metadata_url: &str,
    scope: Option<&str>,
) -> String {
    challenge(&[
        ("error", error.bearer_error_code()),
        ("resource_metadata", Some(resource_metadata_url)),
        ("scope", scope),
    ])
}

fn challenge(params: &[(&str, Option<&str>)]) -> String {
    let mut value = String::from("Bearer");
    let mut first = true;
    for (name, param) in params {
        let Some(param) = param else { continue };
        value.push_str(if first { " " } else { ", " });
        first = false;
        value.push_str(name);
        value.push_str("=\"");
        push_quoted(&mut value, param);
        value.push('"');
    }
    value
}

/// Appends `text` as the inside of an RFC 9110 quoted-string: `"` and `\` are
/// backslash-escaped, control characters dropped (no header injection), and non-ASCII
/// replaced by `?` (RFC 6750 values are ASCII).
fn push_quoted(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c if c.is_control() => {}
            _ => out.push('?'),
        }
    }
}
