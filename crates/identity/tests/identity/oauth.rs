//! OAuth resource-server helpers: RFC 9728 metadata and `WWW-Authenticate` values in
//! the MCP authorization spec's exact format.

use sallyport_identity::oauth::{
    metadata_url, well_known_paths, www_authenticate_401, www_authenticate_for,
    www_authenticate_insufficient_scope,
};
use sallyport_identity::{AuthError, ResourceServerConfig};
use serde_json::json;

fn config() -> ResourceServerConfig {
    ResourceServerConfig {
        resource: "https://mcp.example.com/mcp".into(),
        authorization_servers: vec!["https://auth.example.com".into()],
        scopes_supported: vec!["files:read".into(), "files:write".into()],
        resource_name: None,
        resource_documentation: None,
    }
}

#[test]
fn metadata_serialises_per_rfc_9728() {
    let metadata = config().metadata().unwrap();
    assert_eq!(
        serde_json::to_value(&metadata).unwrap(),
        json!({
            "resource": "https://mcp.example.com/mcp",
            "authorization_servers": ["https://auth.example.com"],
            "scopes_supported": ["files:read", "files:write"],
            "bearer_methods_supported": ["header"],
        })
    );
    assert_eq!(
        metadata.metadata_url(),
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    );
}

#[test]
fn metadata_requires_an_authorization_server_and_a_canonical_uri() {
    let none = ResourceServerConfig {
        authorization_servers: vec![],
        ..config()
    };
    assert!(none.metadata().is_err());
    let fragment = ResourceServerConfig {
        resource: "https://mcp.example.com/mcp#x".into(),
        ..config()
    };
    assert!(fragment.metadata().is_err());
    let relative = ResourceServerConfig {
        resource: "/mcp".into(),
        ..config()
    };
    assert!(relative.metadata().is_err());
}

#[test]
fn well_known_paths_are_path_inserted_then_root() {
    assert_eq!(
        well_known_paths("https://example.com/public/mcp"),
        [
            "/.well-known/oauth-protected-resource/public/mcp",
            "/.well-known/oauth-protected-resource"
        ]
    );
    assert_eq!(
        well_known_paths("https://example.com/mcp/"),
        [
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource"
        ]
    );
    assert_eq!(
        well_known_paths("https://example.com"),
        ["/.well-known/oauth-protected-resource"]
    );
    assert_eq!(
        well_known_paths("https://example.com/"),
        ["/.well-known/oauth-protected-resource"]
    );
    assert_eq!(
        metadata_url("https://example.com:8443/public/mcp"),
        "https://example.com:8443/.well-known/oauth-protected-resource/public/mcp"
    );
}

#[test]
fn the_401_challenge_matches_the_spec_example() {
    assert_eq!(
        www_authenticate_401(
            "https://mcp.example.com/.well-known/oauth-protected-resource",
            Some("files:read")
        ),
        r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", scope="files:read""#
    );
    assert_eq!(
        www_authenticate_401(
            "https://mcp.example.com/.well-known/oauth-protected-resource",
            None
        ),
        r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource""#
    );
}

#[test]
fn the_insufficient_scope_challenge_matches_the_spec_example() {
    assert_eq!(
        www_authenticate_insufficient_scope(
            "files:read files:write",
            "https://mcp.example.com/.well-known/oauth-protected-resource",
            Some("Additional file write permission required"),
        ),
        r#"Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource", error_description="Additional file write permission required""#
    );
}

#[test]
fn quoted_values_are_escaped_and_cannot_inject_headers() {
    let value = www_authenticate_insufficient_scope(
        "a\"b",
        "https://mcp.example.com/x",
        Some("say \"hi\" \\ then\r\nSet-Cookie: x=1 é"),
    );
    assert_eq!(
        value,
        r#"Bearer error="insufficient_scope", scope="a\"b", resource_metadata="https://mcp.example.com/x", error_description="say \"hi\" \\ thenSet-Cookie: x=1 ?""#
    );
    assert!(!value.contains('\r') && !value.contains('\n'));
}

#[test]
fn failed_authentications_carry_the_rfc_6750_error() {
    let url = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    assert_eq!(
        www_authenticate_for(&AuthError::MissingCredentials, url, Some("files:read")),
        format!(r#"Bearer resource_metadata="{url}", scope="files:read""#)
    );
    assert_eq!(
        www_authenticate_for(&AuthError::Expired, url, None),
        format!(r#"Bearer error="invalid_token", resource_metadata="{url}""#)
    );
    assert_eq!(
        www_authenticate_for(&AuthError::UnsupportedScheme, url, None),
        format!(r#"Bearer error="invalid_request", resource_metadata="{url}""#)
    );
}
