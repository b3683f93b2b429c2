//! Authentication at the HTTP edge: before any body is read, the request's credentials are
//! checked and the caller's principal is attached to the request. Failures are answered here
//! (401 with a `WWW-Authenticate` challenge, or 403) and never reach the message pipeline.

use std::time::SystemTime;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sallyport_identity::AuthRequest;
use sallyport_pipeline::{Denial, DenyCode, Principal, PrincipalDetails};

use super::edge;
use super::stream::StepUpChallenge;
use crate::gateway::Core;

/// The DER of a verified client certificate, set by a TLS listener.
#[derive(Debug, Clone)]
pub struct PeerCertificate(pub Vec<u8>);

/// What authentication reads from a request, copied out of it: the request body is not
/// `Sync`, so no reference to the request may be held across an await.
pub(crate) struct Presented {
    authorization: Option<String>,
    x_api_key: Option<String>,
    source_ip: Option<std::net::IpAddr>,
    cert: Option<PeerCertificate>,
}

impl Presented {
    pub(crate) fn from_request(req: &Request) -> Self {
        let text = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Self {
            authorization: text(header::AUTHORIZATION.as_str()),
            x_api_key: text("x-api-key"),
            source_ip: super::network::client_ip(req),
            cert: req.extensions().get::<PeerCertificate>().cloned(),
        }
    }
}

/// The caller's principal, or the refusal to send.
pub(crate) async fn authenticate(
    core: &Core,
    presented: &Presented,
) -> Result<Principal, Response> {
    let Some(auth) = core.auth.as_ref() else {
        // No authentication on this (loopback) listener: the local operator, with the
        // client address for authorization and audit.
        return Ok(Principal {
            details: Some(std::sync::Arc::new(PrincipalDetails {
                source_ip: presented.source_ip,
                ..PrincipalDetails::default()
            })),
            ..Principal::local()
        });
    };
    let request = AuthRequest {
        authorization: presented.authorization.as_deref(),
        x_api_key: presented.x_api_key.as_deref(),
        peer_certificate: presented.cert.as_ref().map(|c| c.0.as_slice()),
        source_ip: presented.source_ip,
        now: SystemTime::now(),
    };
    match auth.authenticate(&request).await {
        Ok(identity) => Ok(identity.to_pipeline_principal()),
        Err(error) => {
            let status = error.http_status();
            let code = if status == 401 {
                DenyCode::Unauthenticated
            } else {
                DenyCode::AuthForbidden
            };
            let denial = Denial::client(code, error.to_string()).with_detail(error.reason());
            let mut resp = edge::refuse_from(core, &denial, presented.source_ip);
            *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
            if let Some(challenge) = auth
                .www_authenticate(&error)
                .and_then(|c| HeaderValue::from_str(&c).ok())
            {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            Err(resp)
        }
    }
}

/// OAuth Protected Resource Metadata (RFC 9728), at the root and path-inserted well-known
/// URIs; 404 when no resource is configured.
pub(crate) fn protected_resource_metadata(core: &Core, path: &str) -> Response {
    let metadata = core
        .auth
        .as_ref()
        .and_then(|a| a.protected_resource_metadata());
    match metadata {
        Some(m) if m.well_known_paths().iter().any(|p| p == path) => axum::Json(m).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Adds the `WWW-Authenticate: Bearer error="insufficient_scope", …` challenge to a step-up
/// answer (marked by the reply builder); other responses pass unchanged.
pub(crate) fn with_step_up_challenge(core: &Core, mut resp: Response) -> Response {
    let Some(step_up) = resp.extensions_mut().remove::<StepUpChallenge>() else {
        return resp;
    };
    let value = match core.auth.as_ref() {
        Some(auth) => auth.step_up_challenge(step_up.scope.as_deref(), &step_up.description),
        None => sallyport_identity::oauth::www_authenticate_step_up(
            step_up.scope.as_deref(),
            None,
            Some(&step_up.description),
        ),
    };
    if let Ok(value) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    resp
}
