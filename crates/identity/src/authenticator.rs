//! One listener's authentication: the configured methods, tried on each request.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::SystemTime;

use crate::api_key::KeyStore;
use crate::credential::Credential;
use crate::error::AuthError;
use crate::identity::Identity;
use crate::jwt::JwtAuthenticator;
use crate::mtls::MtlsAuthenticator;
use crate::oauth::{ProtectedResourceMetadata, www_authenticate_for};

/// What the edge knows about a request, as plain data.
#[derive(Clone, Copy)]
pub struct AuthRequest<'a> {
    /// The `Authorization` header value, if present.
    pub authorization: Option<&'a str>,
    /// The `X-API-Key` header value, if present.
    pub x_api_key: Option<&'a str>,
    /// DER of the client's end-entity certificate, **after** the TLS handshake verified
    /// its chain (`peer_certificates()[0]`), if any.
    pub peer_certificate: Option<&'a [u8]>,
    /// The peer's address.
    pub source_ip: Option<IpAddr>,
    /// The time to judge validity at.
    pub now: SystemTime,
}

impl std::fmt::Debug for AuthRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("authorization", &self.authorization.map(|_| "<redacted>"))
            .field("x_api_key", &self.x_api_key.map(|_| "<redacted>"))
            .field("peer_certificate", &self.peer_certificate.map(<[u8]>::len))
            .field("source_ip", &self.source_ip)
            .finish_non_exhaustive()
    }
}

/// The authentication methods of one listener.
///
/// A credential in the headers (bearer JWT or API key) decides; an invalid one is an
/// error, never a fall-back to another method or to anonymous access. Without one, a
/// verified client certificate is used when mTLS is enabled; without that, the caller
/// is anonymous (`mcp_guest`) only if the listener allows it.
#[derive(Debug, Default)]
pub struct Authenticator {
    pub(crate) jwt: Option<JwtAuthenticator>,
    pub(crate) api_keys: Option<Arc<KeyStore>>,
    pub(crate) mtls: Option<MtlsAuthenticator>,
    pub(crate) allow_anonymous: bool,
    pub(crate) resource: Option<ProtectedResourceMetadata>,
}

impl Authenticator {
    /// An authenticator that accepts nobody; add methods with the `with_*` builders.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts JWT bearer tokens.
    pub fn with_jwt(mut self, jwt: JwtAuthenticator) -> Self {
        self.jwt = Some(jwt);
        self
    }

    /// Accepts API keys from `store`.
    pub fn with_api_keys(mut self, store: Arc<KeyStore>) -> Self {
        self.api_keys = Some(store);
        self
    }

    /// Accepts client certificates.
    pub fn with_mtls(mut self, mtls: MtlsAuthenticator) -> Self {
        self.mtls = Some(mtls);
        self
    }

    /// Lets callers without credentials in as anonymous `mcp_guest`.
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = allow;
        self
    }

    /// Describes the listener as an OAuth protected resource (used in challenges).
    pub fn with_resource(mut self, metadata: ProtectedResourceMetadata) -> Self {
        self.resource = Some(metadata);
        self
    }

    /// Authenticates one request. Asynchronous only because a JWT with an unknown
    /// `kid` may trigger a (rate-bounded) key-set refresh.
    pub async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<Identity, AuthError> {
        let credential = Credential::from_headers(request.authorization, request.x_api_key)?;
        let mut identity = match credential {
            Some(Credential::Jwt(token)) => {
                let jwt = self
                    .jwt
                    .as_ref()
                    .ok_or(AuthError::MethodNotEnabled { method: "jwt" })?;
                jwt.verify(token, request.now).await?
            }
            Some(Credential::ApiKey(key)) => {
                let store = self
                    .api_keys
                    .as_ref()
                    .ok_or(AuthError::MethodNotEnabled { method: "api_key" })?;
                store.verify(key, request.source_ip, request.now)?
            }
            None => match (request.peer_certificate, &self.mtls) {
                (Some(leaf), Some(mtls)) => {
                    mtls.authenticate(&[leaf], request.source_ip, request.now)?
                }
                _ if self.allow_anonymous => Identity::anonymous(request.source_ip, request.now),
                _ => return Err(AuthError::MissingCredentials),
            },
        };
        identity.attributes.source_ip = request.source_ip;
        Ok(identity)
    }

    /// The `WWW-Authenticate` header value to send with `error`, for 401 answers only:
    /// a `Bearer` challenge with `resource_metadata` (when the listener is a protected
    /// resource), the supported scopes, and the RFC 6750 error code.
    pub fn www_authenticate(&self, error: &AuthError) -> Option<String> {
        if error.http_status() != 401 {
            return None;
        }
        Some(match &self.resource {
            Some(metadata) => {
                let scope = metadata.scopes_supported.join(" ");
                let scope = (!scope.is_empty()).then_some(scope.as_str());
                www_authenticate_for(error, &metadata.metadata_url(), scope)
            }
            None => match error.bearer_error_code() {
                Some(code) => format!("Bearer error=\"{code}\""),
                None => "Bearer".to_owned(),
            },
        })
    }

    /// The `WWW-Authenticate` value of a 403 step-up answer (MCP authorization, scope
    /// challenge): `scope` is the policy's, else the resource's `scopes_supported`;
    /// `resource_metadata` when a resource is configured.
    pub fn step_up_challenge(&self, scope: Option<&str>, description: &str) -> String {
        let metadata = self.resource.as_ref();
        let supported = metadata.map(|m| m.scopes_supported.join(" "));
        let scope = scope.or(supported.as_deref().filter(|s| !s.is_empty()));
        let url = metadata.map(|m| m.metadata_url());
        crate::oauth::www_authenticate_step_up(scope, url.as_deref(), Some(description))
    }

    /// The Protected Resource Metadata to serve, if configured.
    pub fn protected_resource_metadata(&self) -> Option<&ProtectedResourceMetadata> {
        self.resource.as_ref()
    }

    /// The JWT authenticator, if enabled (to warm up or refresh keys, revoke a `jti`).
    pub fn jwt(&self) -> Option<&JwtAuthenticator> {
        self.jwt.as_ref()
    }

    /// The API key store, if enabled (to reload it after `sallyport keys …`).
    pub fn api_keys(&self) -> Option<&Arc<KeyStore>> {
        self.api_keys.as_ref()
    }

    /// The mTLS authenticator, if enabled.
    pub fn mtls(&self) -> Option<&MtlsAuthenticator> {
        self.mtls.as_ref()
    }
}
