//! Who is calling: the authenticated identity every exchange carries.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize, Serializer};

/// The kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// A person, usually authenticated with a bearer token from an identity provider.
    User,
    /// A service account (mTLS peers, API keys for scripts).
    Service,
    /// An unauthenticated caller on a listener that explicitly allows it.
    Anonymous,
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// A JWT bearer token.
    Jwt,
    /// A Sallyport API key.
    ApiKey,
    /// A client certificate on a mutual-TLS connection.
    Mtls,
    /// Nothing: an anonymous caller.
    None,
}

impl AuthMethod {
    /// Stable name, as used by `sallyport_pipeline::Principal::auth_method`, audit and
    /// metrics: `jwt`, `api_key`, `mtls`, `none`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jwt => "jwt",
            Self::ApiKey => "api_key",
            Self::Mtls => "mtls",
            Self::None => "none",
        }
    }
}

/// Facts about the caller and its credential, for policies, trust scoring and audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityAttributes {
    /// How the caller authenticated.
    pub auth_method: AuthMethod,
    /// When the caller last authenticated strongly: the JWT `auth_time` claim, else the
    /// time of this verification.
    #[serde(serialize_with = "unix_secs")]
    pub auth_time: Option<SystemTime>,
    /// When the credential stops being valid (`exp`, key expiry, certificate `notAfter`).
    #[serde(serialize_with = "unix_secs")]
    pub expires_at: Option<SystemTime>,
    /// The network address the request came from.
    pub source_ip: Option<IpAddr>,
    /// A device identifier asserted by the credential (a configured JWT claim).
    pub device_id: Option<String>,
    /// Authentication context class reference (`acr`).
    pub acr: Option<String>,
    /// Authentication methods references (`amr`), e.g. `pwd`, `mfa`, `hwk`.
    pub amr: Vec<String>,
    /// OAuth scopes granted (`scope`/`scp` claims, or the API key's scopes).
    pub scopes: Vec<String>,
    /// Who vouched for the identity: the token issuer, `api_key`, or the SPIFFE trust
    /// domain / certificate issuer.
    pub issuer: Option<String>,
    /// Identifier of the credential itself, for audit and revocation: the token `jti`,
    /// the API key prefix, or the certificate serial number (hex).
    pub credential_id: Option<String>,
    /// When the account was created, for the trust score's account-age bonus: a JWT
    /// claim named by `claims.account_created_claim`, or the API key's creation time.
    #[serde(serialize_with = "unix_secs")]
    pub account_created: Option<SystemTime>,
}

impl IdentityAttributes {
    /// Attributes with only the method set.
    pub fn new(auth_method: AuthMethod) -> Self {
        Self {
            auth_method,
            auth_time: None,
            expires_at: None,
            source_ip: None,
            device_id: None,
            acr: None,
            amr: Vec::new(),
            scopes: Vec::new(),
            issuer: None,
            credential_id: None,
            account_created: None,
        }
    }
}

/// An authenticated (or explicitly anonymous) caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Stable identifier: the token subject, the API key's principal, the service name.
    pub id: String,
    /// What kind of caller this is.
    pub kind: IdentityKind,
    /// Tenant, when multi-tenant.
    pub tenant: Option<String>,
    /// Gateway roles (`mcp_admin`, `mcp_operator`, …) after claim mapping.
    pub roles: Vec<String>,
    /// Permission strings granted directly (`mcp.docker:*`), e.g. by the service registry.
    pub permissions: Vec<String>,
    /// Facts about the caller and its credential.
    pub attributes: IdentityAttributes,
}

/// The role given to anonymous callers and to users none of whose roles map.
pub const GUEST_ROLE: &str = "mcp_guest";

impl Identity {
    /// The anonymous caller, with the `mcp_guest` role.
    pub fn anonymous(source_ip: Option<IpAddr>, now: SystemTime) -> Self {
        let mut attributes = IdentityAttributes::new(AuthMethod::None);
        attributes.source_ip = source_ip;
        attributes.auth_time = Some(now);
        Self {
            id: "anonymous".to_owned(),
            kind: IdentityKind::Anonymous,
            tenant: None,
            roles: vec![GUEST_ROLE.to_owned()],
            permissions: Vec::new(),
            attributes,
        }
    }

    /// Whether the credential granted `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.attributes.scopes.iter().any(|s| s == scope)
    }

    /// The principal the message pipeline carries (a subset of this identity).
    pub fn to_pipeline_principal(&self) -> sallyport_pipeline::Principal {
        sallyport_pipeline::Principal::from(self)
    }
}

impl From<&Identity> for sallyport_pipeline::Principal {
    fn from(identity: &Identity) -> Self {
        use sallyport_pipeline::PrincipalKind;
        Self {
            id: identity.id.clone(),
            kind: match identity.kind {
                IdentityKind::User => PrincipalKind::User,
                IdentityKind::Service => PrincipalKind::Service,
                IdentityKind::Anonymous => PrincipalKind::Anonymous,
            },
            auth_method: identity.attributes.auth_method.as_str(),
            tenant: identity.tenant.clone(),
            roles: identity.roles.clone(),
            details: Some(std::sync::Arc::new(details_of(identity))),
        }
    }
}

/// The credential facts the pipeline carries.
fn details_of(identity: &Identity) -> sallyport_pipeline::PrincipalDetails {
    let a = &identity.attributes;
    let secs = |t: Option<SystemTime>| {
        t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| i64::try_from(d.as_secs()).ok())
    };
    sallyport_pipeline::PrincipalDetails {
        permissions: identity.permissions.clone(),
        source_ip: a.source_ip,
        device_id: a.device_id.clone(),
        auth_time: secs(a.auth_time),
        acr: a.acr.clone(),
        amr: a.amr.clone(),
        scopes: a.scopes.clone(),
        issuer: a.issuer.clone(),
        credential_id: a.credential_id.clone(),
        account_created: secs(a.account_created),
        recent_violations: 0,
    }
}

/// Serialises an optional time as whole seconds since the Unix epoch.
fn unix_secs<S: Serializer>(time: &Option<SystemTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match time.and_then(|t| t.duration_since(UNIX_EPOCH).ok()) {
        Some(since) => serializer.serialize_some(&since.as_secs()),
        None => serializer.serialize_none(),
    }
}
