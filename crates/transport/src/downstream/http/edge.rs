//! Checks every HTTP request passes before any JSON is read: Host and Origin (DNS
//! rebinding), and the one table mapping edge refusals to HTTP answers.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sallyport_mcp::version::Era;
use sallyport_mcp::{Message, RequestId};
use sallyport_pipeline::{
    Denial, DenyCode, Direction, Exchange, Principal, PrincipalDetails, PrincipalKind,
};

use crate::gateway::{Core, EdgeSettings};

/// Hosts that are always loopback.
const LOOPBACK_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "[::1]", "::1"];

/// Refuses requests whose `Host` or `Origin` is not allowed (403, per the spec).
///
/// HTTP/2 requests carry the host in the `:authority` pseudo-header (`authority`), which
/// is used when there is no `Host` header.
#[allow(
    clippy::result_large_err,
    reason = "the refusal is built once per refused request and answered at once"
)]
pub(crate) fn check_host_and_origin(
    edge: &EdgeSettings,
    headers: &HeaderMap,
    authority: Option<&str>,
) -> Result<(), Denial> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority)
        .unwrap_or_default();
    if !host_allowed(edge, host) {
        return Err(Denial::client(
            DenyCode::HostNotAllowed,
            "Host header is not allowed: add it to listen.allowed_hosts",
        )
        .with_detail(format!("host {:?}", truncate(host))));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("<invalid>");
        if !origin_allowed(edge, origin) {
            return Err(Denial::client(
                DenyCode::OriginNotAllowed,
                "Origin is not allowed: add it to listen.allowed_origins",
            )
            .with_detail(format!("origin {:?}", truncate(origin))));
        }
    }
    Ok(())
}

fn host_allowed(edge: &EdgeSettings, host: &str) -> bool {
    let name = strip_port(host).to_ascii_lowercase();
    !name.is_empty()
        && edge
            .allowed_hosts
            .iter()
            .any(|h| h == "*" || strip_port(h).eq_ignore_ascii_case(&name))
}

fn origin_allowed(edge: &EdgeSettings, origin: &str) -> bool {
    if edge
        .allowed_origins
        .iter()
        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    if !edge.allowed_origins.is_empty() {
        return false;
    }
    // No list configured: only loopback pages may call a loopback gateway.
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    LOOPBACK_HOSTS.contains(&strip_port(rest))
}

/// `host:port` → `host`; `[::1]:80` → `[::1]`.
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |i| &host[..=i]);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(128).collect()
}

/// Records an edge refusal as a decision and turns it into the HTTP answer:
/// the status from the deny-code table and a JSON-RPC error body.
pub(crate) fn refuse(
    core: &Core,
    denial: &Denial,
    era: Era,
    id: Option<RequestId>,
    method: Option<&str>,
) -> Response {
    refuse_as(core, denial, era, id, method, &Principal::local())
}

/// Refuses a request that could not be authenticated, recording the client's address (so
/// failures can be counted per address: brute force, bad certificates, blocklists).
pub(crate) fn refuse_from(core: &Core, denial: &Denial, client: Option<IpAddr>) -> Response {
    let principal = Principal {
        id: "unauthenticated".into(),
        kind: PrincipalKind::Anonymous,
        details: Some(Arc::new(PrincipalDetails {
            source_ip: client,
            ..PrincipalDetails::default()
        })),
        ..Principal::local()
    };
    refuse_as(core, denial, Era::Legacy, None, None, &principal)
}

/// Refuses a request on behalf of `principal`, recording the denial with it.
pub(crate) fn refuse_as(
    core: &Core,
    denial: &Denial,
    era: Era,
    id: Option<RequestId>,
    method: Option<&str>,
    principal: &Principal,
) -> Response {
    let placeholder = Message::notification(method.unwrap_or(""), None);
    let mut ex = Exchange::new(Direction::ClientToServer, &placeholder, principal, era);
    ex.method = method;
    core.relay.record_denial(&ex, "edge", denial);
    let status = StatusCode::from_u16(denial.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    json_response(status, &denial.to_error(id))
}

/// A JSON body with the given status.
pub(crate) fn json_response(status: StatusCode, msg: &Message) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        msg.to_bytes(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(origins: &[&str]) -> EdgeSettings {
        EdgeSettings {
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()],
            session_idle: std::time::Duration::from_secs(1),
            max_sessions: 1,
            legacy_sse: true,
        }
    }

    #[test]
    fn hosts_and_origins() {
        let e = edge(&[]);
        assert!(host_allowed(&e, "127.0.0.1:8787"));
        assert!(host_allowed(&e, "[::1]:8787"));
        assert!(host_allowed(&e, "LOCALHOST"));
        assert!(!host_allowed(&e, "evil.example:8787"));
        assert!(!host_allowed(&e, ""));
        assert!(origin_allowed(&e, "http://localhost:3000"));
        assert!(!origin_allowed(&e, "http://evil.example"));
        assert!(!origin_allowed(&e, "null"));
        let e = edge(&["https://app.example"]);
        assert!(origin_allowed(&e, "https://app.example"));
        assert!(!origin_allowed(&e, "http://localhost:3000"));
    }
}
