//! Who is operating: admin tokens (constant-time) or the gateway's own authentication for
//! principals with an admin or viewer role.

use std::net::IpAddr;
use std::time::SystemTime;

use sallyport_config::admin::{AdminConfig, AdminRole};
use sallyport_identity::{AuthRequest, Authenticator};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::ApiError;

/// An authenticated operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Operator {
    /// The token's name or the principal's id (recorded as who decided).
    pub name: String,
    /// What the operator may do.
    #[schema(value_type = String, example = "admin")]
    pub role: AdminRole,
    /// How they authenticated: `admin_token`, `jwt`, `api_key`, `mtls`, `console_session`.
    pub via: String,
}

impl Operator {
    /// Refuses a viewer where an admin is needed.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == AdminRole::Admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "{} may only read; this action needs the admin role",
                self.name
            )))
        }
    }
}

/// What a request presented. Its `Debug` never shows the credentials.
#[derive(Default, Clone)]
pub struct Presented {
    /// `Authorization` header.
    pub authorization: Option<String>,
    /// `X-API-Key` header.
    pub x_api_key: Option<String>,
    /// The peer's address.
    pub source_ip: Option<IpAddr>,
    /// DER of the client certificate the TLS handshake verified, if any.
    pub peer_certificate: Option<Vec<u8>>,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Presented")
            .field("authorization", &shown(&self.authorization))
            .field("x_api_key", &shown(&self.x_api_key))
            .field("source_ip", &self.source_ip)
            .field(
                "peer_certificate",
                &self.peer_certificate.as_ref().map(Vec::len),
            )
            .finish()
    }
}

/// Checks operator credentials.
#[derive(Debug)]
pub struct OperatorAuth {
    tokens: Vec<(String, [u8; 32], AdminRole)>,
    gateway_auth: bool,
    admin_roles: Vec<String>,
    viewer_roles: Vec<String>,
}

impl OperatorAuth {
    /// From the `admin` section.
    pub fn new(config: &AdminConfig) -> Self {
        Self {
            tokens: config
                .tokens
                .iter()
                .map(|t| (t.name.clone(), digest(t.token.expose()), t.role))
                .collect(),
            gateway_auth: config.gateway_auth,
            admin_roles: config.admin_roles.clone(),
            viewer_roles: config.viewer_roles.clone(),
        }
    }

    /// The operator `presented` proves, or why not. `gateway` is the gateway's current
    /// authenticator (JWT, API keys), consulted when no admin token matches.
    pub async fn authenticate(
        &self,
        presented: &Presented,
        gateway: Option<&Authenticator>,
    ) -> Result<Operator, ApiError> {
        let bearer = presented
            .authorization
            .as_deref()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim);
        let nothing = presented.authorization.is_none()
            && presented.x_api_key.is_none()
            && presented.peer_certificate.is_none();
        if nothing {
            return Err(ApiError::Unauthenticated(
                "send an admin token or a gateway credential: Authorization: Bearer <token>".into(),
            ));
        }
        if let Some(op) = bearer.and_then(|t| self.match_token(t)) {
            return Ok(op);
        }
        match gateway.filter(|_| self.gateway_auth) {
            Some(auth) => self.by_gateway(auth, presented).await,
            None => Err(ApiError::Unauthenticated(
                "the credential is not an admin token of this gateway".into(),
            )),
        }
    }

    /// An admin token check that looks at every configured token (no early exit), comparing
    /// SHA-256 digests in constant time.
    pub fn match_token(&self, token: &str) -> Option<Operator> {
        let presented = digest(token);
        let mut found = None;
        for (name, want, role) in &self.tokens {
            let same = aws_lc_rs::constant_time::verify_slices_are_equal(&presented, want).is_ok();
            if same && found.is_none() {
                found = Some(Operator {
                    name: name.clone(),
                    role: *role,
                    via: "admin_token".into(),
                });
            }
        }
        found
    }

    async fn by_gateway(
        &self,
        auth: &Authenticator,
        presented: &Presented,
    ) -> Result<Operator, ApiError> {
        let request = AuthRequest {
            authorization: presented.authorization.as_deref(),
            x_api_key: presented.x_api_key.as_deref(),
            peer_certificate: presented.peer_certificate.as_deref(),
            source_ip: presented.source_ip,
            now: SystemTime::now(),
        };
        let identity = auth
            .authenticate(&request)
            .await
            .map_err(|e| ApiError::Unauthenticated(format!("credential refused: {e}")))?;
        let has = |wanted: &[String]| identity.roles.iter().any(|r| wanted.contains(r));
        let role = if has(&self.admin_roles) {
            AdminRole::Admin
        } else if has(&self.viewer_roles) {
            AdminRole::Viewer
        } else {
            return Err(ApiError::Forbidden(format!(
                "{} holds no admin or viewer role ({} or {})",
                identity.id,
                self.admin_roles.join(", "),
                self.viewer_roles.join(", ")
            )));
        };
        Ok(Operator {
            name: identity.id.clone(),
            role,
            via: identity.attributes.auth_method.as_str().to_owned(),
        })
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use sallyport_config::admin::AdminToken;

    fn auth() -> OperatorAuth {
        let config = AdminConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tokens: vec![
                AdminToken {
                    name: "ops".into(),
                    token: "a".repeat(40).into(),
                    role: AdminRole::Admin,
                },
                AdminToken {
                    name: "watcher".into(),
                    token: "b".repeat(40).into(),
                    role: AdminRole::Viewer,
                },
            ],
            gateway_auth: true,
            admin_roles: vec!["admin".into()],
            viewer_roles: vec!["auditor".into()],
            console: true,
            tls: None,
            session_ttl_secs: 3600,
        };
        OperatorAuth::new(&config)
    }

    fn bearer(t: &str) -> Presented {
        Presented {
            authorization: Some(format!("Bearer {t}")),
            ..Presented::default()
        }
    }

    #[tokio::test]
    async fn tokens_name_their_operator_and_role() {
        let a = auth();
        let op = a
            .authenticate(&bearer(&"a".repeat(40)), None)
            .await
            .unwrap();
        assert_eq!((op.name.as_str(), op.role), ("ops", AdminRole::Admin));
        let op = a
            .authenticate(&bearer(&"b".repeat(40)), None)
            .await
            .unwrap();
        assert_eq!(op.role, AdminRole::Viewer);
        assert!(op.require_admin().is_err());
    }

    #[test]
    fn debug_never_shows_a_credential() {
        let shown = format!("{:?}", bearer("s3cret-token-value"));
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[tokio::test]
    async fn missing_and_wrong_credentials_are_refused() {
        let a = auth();
        let none = a.authenticate(&Presented::default(), None).await;
        assert!(matches!(none, Err(ApiError::Unauthenticated(_))));
        let wrong = a.authenticate(&bearer(&"a".repeat(39)), None).await;
        assert!(matches!(wrong, Err(ApiError::Unauthenticated(_))));
    }
}
