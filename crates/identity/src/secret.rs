//! Secrets in configuration: always a reference to a file or an environment variable,
//! never the value itself, and never shown by `Debug`.

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::BuildError;

/// Where a secret (an HMAC key, a shared JWT secret) is read from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", deny_unknown_fields, rename_all = "snake_case")]
pub enum SecretRef {
    /// The whole content of a file (one trailing newline is dropped).
    File {
        /// Path of the file; keep it readable by the gateway only (mode 0600).
        path: PathBuf,
    },
    /// The value of an environment variable.
    Env {
        /// Name of the variable.
        var: String,
    },
}

impl SecretRef {
    /// Reads the secret.
    pub fn load(&self) -> Result<SecretBytes, BuildError> {
        match self {
            Self::File { path } => {
                let mut bytes = std::fs::read(path).map_err(|source| BuildError::Read {
                    path: path.clone(),
                    source,
                })?;
                if bytes.last() == Some(&b'\n') {
                    bytes.pop();
                    if bytes.last() == Some(&b'\r') {
                        bytes.pop();
                    }
                }
                Ok(SecretBytes(bytes))
            }
            Self::Env { var } => std::env::var(var)
                .map(|value| SecretBytes(value.into_bytes()))
                .map_err(|_| BuildError::MissingEnv { var: var.clone() }),
        }
    }
}

/// Secret material in memory. `Debug` prints `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The secret itself; use it only where it is consumed.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
