//! Why a caller could not be authenticated, and why an authenticator could not be built.
//!
//! [`AuthError`] is what the edge maps to an HTTP status and an audit reason. Its
//! messages never contain the presented credential (token, key, certificate) nor any
//! attacker-controlled text (`kid`, claim values): they are safe to log and to count.

use std::path::PathBuf;

/// A failed authentication. Every variant maps to a stable [`AuthError::reason`] and an
/// [`AuthError::http_status`] through exhaustive matches.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential was presented and the listener does not allow anonymous callers.
    #[error("no credentials presented")]
    MissingCredentials,
    /// The `Authorization` header uses a scheme other than `Bearer`.
    #[error("unsupported authorization scheme")]
    UnsupportedScheme,
    /// The credential is not well-formed (not a JWT, not an API key, bad encoding).
    #[error("malformed credential")]
    Malformed,
    /// The kind of credential presented is not enabled on this listener.
    #[error("authentication method {method} is not enabled on this listener")]
    MethodNotEnabled {
        /// The method that was attempted (`jwt`, `api_key`, `mtls`).
        method: &'static str,
    },
    /// The token's `alg` is `none`, unknown, not allowed, or does not fit its key.
    #[error("token algorithm not allowed")]
    AlgorithmNotAllowed,
    /// No key with the token's `kid` is known, even after refreshing the key set.
    #[error("token signing key is unknown")]
    UnknownKey,
    /// The key set could not be obtained at all (identity provider unreachable).
    #[error("token signing keys are unavailable")]
    KeysUnavailable,
    /// The signature does not verify.
    #[error("invalid token signature")]
    InvalidSignature,
    /// `exp` is in the past (beyond the allowed clock skew).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the allowed clock skew).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is not one of the configured issuers.
    #[error("token issuer not accepted")]
    WrongIssuer,
    /// `aud` does not contain this gateway's canonical URI.
    #[error("token audience is not this resource")]
    WrongAudience,
    /// A required claim is absent.
    #[error("token claim {claim} is missing")]
    MissingClaim {
        /// Name of the claim.
        claim: &'static str,
    },
    /// A claim has the wrong type or an unusable value.
    #[error("token claim {claim} is invalid")]
    InvalidClaim {
        /// Name of the claim.
        claim: &'static str,
    },
    /// The token's `jti` is on the revocation list.
    #[error("token revoked")]
    TokenRevoked,
    /// No API key matches the presented one.
    #[error("invalid API key")]
    InvalidApiKey,
    /// The API key was revoked.
    #[error("API key revoked")]
    ApiKeyRevoked,
    /// The API key is past its expiry.
    #[error("API key expired")]
    ApiKeyExpired,
    /// The credential is valid but may not be used from the caller's source address.
    #[error("credential not allowed from this source address")]
    SourceNotAllowed,
    /// The client certificate cannot be used as an identity (unparsable, no usable
    /// name, malformed SPIFFE id, outside its validity period).
    #[error("client certificate not usable as an identity")]
    InvalidClientCertificate,
    /// The client certificate is valid but names no registered service account.
    #[error("client certificate names no registered service")]
    UnknownService,
}

impl AuthError {
    /// Stable identifier for audit records and metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::MissingCredentials => "missing_credentials",
            Self::UnsupportedScheme => "unsupported_scheme",
            Self::Malformed => "malformed_credential",
            Self::MethodNotEnabled { .. } => "method_not_enabled",
            Self::AlgorithmNotAllowed => "algorithm_not_allowed",
            Self::UnknownKey => "unknown_key",
            Self::KeysUnavailable => "keys_unavailable",
            Self::InvalidSignature => "invalid_signature",
            Self::Expired => "token_expired",
            Self::NotYetValid => "token_not_yet_valid",
            Self::WrongIssuer => "invalid_issuer",
            Self::WrongAudience => "invalid_audience",
            Self::MissingClaim { .. } => "missing_claim",
            Self::InvalidClaim { .. } => "invalid_claim",
            Self::TokenRevoked => "token_revoked",
            Self::InvalidApiKey => "invalid_api_key",
            Self::ApiKeyRevoked => "api_key_revoked",
            Self::ApiKeyExpired => "api_key_expired",
            Self::SourceNotAllowed => "source_not_allowed",
            Self::InvalidClientCertificate => "invalid_client_certificate",
            Self::UnknownService => "unknown_service",
        }
    }

    /// The HTTP status the edge answers with: 401 (send a `WWW-Authenticate`
    /// challenge; the caller should obtain or fix credentials), 403 (the credential is
    /// genuine but not accepted here) or 503 (the gateway cannot check right now).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::MissingCredentials
            | Self::UnsupportedScheme
            | Self::Malformed
            | Self::MethodNotEnabled { .. }
            | Self::AlgorithmNotAllowed
            | Self::UnknownKey
            | Self::InvalidSignature
            | Self::Expired
            | Self::NotYetValid
            | Self::WrongIssuer
            // MCP authorization: a token for another audience is an invalid token (401).
            | Self::WrongAudience
            | Self::MissingClaim { .. }
            | Self::InvalidClaim { .. }
            | Self::TokenRevoked
            | Self::InvalidApiKey
            | Self::ApiKeyRevoked
            | Self::ApiKeyExpired
            | Self::InvalidClientCertificate => 401,
            // Proven identity, refused by network policy: new credentials would not help.
            Self::SourceNotAllowed
            // The CA vouched for the certificate, but no service account is registered for it.
            | Self::UnknownService => 403,
            // Fail closed without blaming the client.
            Self::KeysUnavailable => 503,
        }
    }

    /// The RFC 6750 `error` code for a `Bearer` challenge: `None` when no credential was
    /// presented (RFC 6750 §3.1: no error code then), `invalid_request` for unusable
    /// headers, `invalid_token` otherwise.
    pub fn bearer_error_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingCredentials => None,
            Self::UnsupportedScheme | Self::Malformed | Self::MethodNotEnabled { .. } => {
                Some("invalid_request")
            }
            Self::AlgorithmNotAllowed
            | Self::UnknownKey
            | Self::KeysUnavailable
            | Self::InvalidSignature
            | Self::Expired
            | Self::NotYetValid
            | Self::WrongIssuer
            | Self::WrongAudience
            | Self::MissingClaim { .. }
            | Self::InvalidClaim { .. }
            | Self::TokenRevoked
            | Self::InvalidApiKey
            | Self::ApiKeyRevoked
            | Self::ApiKeyExpired
            | Self::SourceNotAllowed
            | Self::InvalidClientCertificate
            | Self::UnknownService => Some("invalid_token"),
        }
    }
}

/// A configuration that cannot be turned into a working authenticator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A file named by the configuration could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An environment variable holding a secret is not set or not UTF-8.
    #[error("environment variable {var} is not set")]
    MissingEnv {
        /// Name of the variable.
        var: String,
    },
    /// A setting is invalid; `field` is the configuration path.
    #[error("{field}: {message}")]
    Invalid {
        /// Configuration path of the offending setting (`jwt.algorithms`).
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// TLS material (certificate, key, CA) is unusable.
    #[error("tls: {0}")]
    Tls(String),
    /// The API key store could not be opened.
    #[error(transparent)]
    KeyStore(#[from] crate::api_key::KeyStoreError),
    /// A JSON Web Key Set could not be loaded.
    #[error(transparent)]
    Jwks(#[from] crate::jwt::JwksError),
}

impl BuildError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}
