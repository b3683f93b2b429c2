//! Pulling a credential out of request header values.

use std::fmt;

use crate::api_key::KEY_PREFIX;
use crate::error::AuthError;

/// Longest credential accepted from a header, in bytes. Longer values are malformed.
pub const MAX_CREDENTIAL_BYTES: usize = 16 * 1024;

/// A credential presented in request headers, borrowed from the header value.
///
/// `Debug` names the kind only, never the secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// A JWT from `Authorization: Bearer <jwt>`.
    Jwt(&'a str),
    /// A Sallyport API key (`sp_…`) from `X-API-Key` or `Authorization: Bearer`.
    ApiKey(&'a str),
}

impl<'a> Credential<'a> {
    /// The credential in the `Authorization` and `X-API-Key` header values, if any.
    ///
    /// `Authorization` must use the `Bearer` scheme (case-insensitive). A bearer value
    /// starting `sp_` is an API key, anything else must have the three-part JWT shape.
    /// Sending two different credentials is refused rather than guessed at.
    ///
    /// ```
    /// use sallyport_identity::Credential;
    ///
    /// let jwt = Credential::from_headers(Some("Bearer aaa.bbb.ccc"), None).unwrap();
    /// assert_eq!(jwt, Some(Credential::Jwt("aaa.bbb.ccc")));
    /// let key = Credential::from_headers(None, Some("sp_abcd1234_secret")).unwrap();
    /// assert!(matches!(key, Some(Credential::ApiKey(_))));
    /// assert_eq!(Credential::from_headers(None, None).unwrap(), None);
    /// assert!(Credential::from_headers(Some("Basic dXNlcjpwYXNz"), None).is_err());
    /// ```
    pub fn from_headers(
        authorization: Option<&'a str>,
        x_api_key: Option<&'a str>,
    ) -> Result<Option<Self>, AuthError> {
        let from_authorization = authorization.map(parse_authorization).transpose()?;
        let from_api_key_header = x_api_key.map(parse_api_key_header).transpose()?;
        match (from_authorization, from_api_key_header) {
            (Some(a), Some(b)) if a != b => Err(AuthError::Malformed),
            (Some(credential), _) | (None, Some(credential)) => Ok(Some(credential)),
            (None, None) => Ok(None),
        }
    }

    /// The method this credential belongs to (`jwt` or `api_key`).
    pub fn method(&self) -> &'static str {
        match self {
            Self::Jwt(_) => "jwt",
            Self::ApiKey(_) => "api_key",
        }
    }
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Jwt(_) => f.write_str("Jwt(<redacted>)"),
            Self::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
        }
    }
}

fn parse_authorization(value: &str) -> Result<Credential<'_>, AuthError> {
    let value = value.trim();
    let Some((scheme, rest)) = value.split_once(' ') else {
        // A lone `Bearer` (or nothing) is a malformed bearer header; `Basic…` is not ours.
        return Err(
            if value.is_empty() || value.eq_ignore_ascii_case("bearer") {
                AuthError::Malformed
            } else {
                AuthError::UnsupportedScheme
            },
        );
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::UnsupportedScheme);
    }
    let token = checked(rest.trim_start())?;
    if token.starts_with(KEY_PREFIX) {
        return Ok(Credential::ApiKey(token));
    }
    if token.split('.').count() == 3 {
        Ok(Credential::Jwt(token))
    } else {
        Err(AuthError::Malformed)
    }
}

fn parse_api_key_header(value: &str) -> Result<Credential<'_>, AuthError> {
    let key = checked(value.trim())?;
    if key.starts_with(KEY_PREFIX) {
        Ok(Credential::ApiKey(key))
    } else {
        Err(AuthError::Malformed)
    }
}

/// Rejects empty, oversized and non-token68 values (RFC 7235 §2.1 `token68`).
fn checked(value: &str) -> Result<&str, AuthError> {
    let token68 = |b: u8| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b);
    if value.is_empty() || value.len() > MAX_CREDENTIAL_BYTES || !value.bytes().all(token68) {
        return Err(AuthError::Malformed);
    }
    Ok(value)
}
