//! A string that never shows itself: credentials in configuration.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What `Debug`, `Display` and `Serialize` print instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// A credential from configuration (an HTTP header value, an HMAC key, a child's
/// environment value).
///
/// Redaction is enforced by the type: `Debug`, `Display` and `Serialize` all print
/// `<redacted>`, so a `Config` can be logged or written back out without leaking it.
/// Only [`SecretString::expose`] hands the value out; call it at the point of use.
///
/// ```
/// use sallyport_config::SecretString;
///
/// let token = SecretString::new("Bearer hunter2");
/// assert_eq!(format!("{token:?} {token}"), "<redacted> <redacted>");
/// assert_eq!(token.expose(), "Bearer hunter2");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Use it only where the value is consumed (a header, a key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

impl JsonSchema for SecretString {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "SecretString".into()
    }

    fn json_schema(_generator: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_reveals_itself() {
        let secret = SecretString::new("s3cr3t-value");
        assert_eq!(format!("{secret:?}"), REDACTED);
        assert_eq!(secret.to_string(), REDACTED);
        assert_eq!(
            serde_json::to_string(&secret).ok().as_deref(),
            Some("\"<redacted>\"")
        );
        assert_eq!(secret.expose(), "s3cr3t-value");
    }
}
