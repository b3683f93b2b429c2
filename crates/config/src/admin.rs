//! The `admin` section: the admin API and web console listener (docs/admin.md).

use std::net::{Ipv4Addr, SocketAddr};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

/// The admin API (`/admin/...`, OpenAPI at `/admin/openapi.json`) and the web console
/// (`/console/`), on a listener of their own. Every request is authenticated: an admin
/// token below, or the gateway's own `auth` methods (JWT, API keys) for principals holding
/// an admin or viewer role. Nobody is let in anonymously.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AdminConfig {
    /// Socket address of the admin listener. Default `127.0.0.1:9191` (loopback). A
    /// non-loopback address is allowed but logged as a warning; put TLS in front of it.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Static admin tokens (`Authorization: Bearer <token>`), compared in constant time.
    /// Give the value from the environment: `token: ${SALLYPORT_ADMIN_TOKEN}`.
    #[serde(default)]
    pub tokens: Vec<AdminToken>,
    /// Also accept credentials the gateway's `auth` section accepts (JWT bearer tokens,
    /// API keys) from principals with one of `admin_roles` or `viewer_roles`.
    #[serde(default = "yes")]
    pub gateway_auth: bool,
    /// Roles (after claim mapping) that may read and act: approve, deny, unblock, reload.
    #[serde(default = "default_admin_roles")]
    pub admin_roles: Vec<String>,
    /// Roles that may only read (inventory, audit, incidents, events).
    #[serde(default = "default_viewer_roles")]
    pub viewer_roles: Vec<String>,
    /// Serve the web console at `/console/`.
    #[serde(default = "yes")]
    pub console: bool,
    /// Serve the admin listener over TLS 1.3 with this certificate. With `auth.mtls` the
    /// listener also asks for client certificates from its CA (and requires one when
    /// `auth.mtls.require_client_cert`), and a certificate naming a service with an admin
    /// or viewer role authenticates the operator. Absent: plain HTTP (keep it on loopback).
    #[serde(default)]
    pub tls: Option<AdminTls>,
    /// Seconds a console login lasts (idle or not). Default 8 hours.
    #[serde(default = "default_session_ttl")]
    #[schemars(range(min = 60))]
    pub session_ttl_secs: u64,
}

/// The admin listener's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AdminTls {
    /// PEM certificate chain of the admin listener.
    pub cert_path: std::path::PathBuf,
    /// PEM private key of the admin listener.
    pub key_path: std::path::PathBuf,
}

/// One static admin credential.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AdminToken {
    /// Who holds it (recorded as the operator of every action taken with it).
    pub name: String,
    /// The token: at least 32 characters. Never logged.
    pub token: SecretString,
    /// What it may do.
    #[serde(default)]
    pub role: AdminRole,
}

/// What an operator may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// Read only: inventory, audit, incidents, events, reports.
    Viewer,
    /// Read and act: approvals, pins, blocks, incidents, keys, policies, reload.
    #[default]
    Admin,
}

/// The shortest admin token accepted.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

impl AdminConfig {
    /// Problems `check` and `serve` refuse, as (field, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, t) in self.tokens.iter().enumerate() {
            if t.token.expose().chars().count() < MIN_ADMIN_TOKEN_CHARS {
                out.push((
                    format!("admin.tokens[{i}].token"),
                    format!(
                        "the token of {:?} is shorter than {MIN_ADMIN_TOKEN_CHARS} characters; generate one with `openssl rand -hex 32`",
                        t.name
                    ),
                ));
            }
            if t.name.trim().is_empty() {
                out.push((
                    format!("admin.tokens[{i}].name"),
                    "name must not be empty".into(),
                ));
            }
        }
        out
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 9191))
}

fn yes() -> bool {
    true
}

fn default_admin_roles() -> Vec<String> {
    vec!["admin".into(), "mcp_admin".into()]
}

fn default_viewer_roles() -> Vec<String> {
    vec!["auditor".into(), "readonly".into(), "mcp_readonly".into()]
}

fn default_session_ttl() -> u64 {
    8 * 3600
}
