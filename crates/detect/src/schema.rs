//! Argument validation against a tool's `inputSchema` with the `jsonschema` crate. Remote
//! `$ref` retrieval is off twice over: the crate is built without its `resolve-http` and
//! `resolve-file` features, and every validator gets a retriever that refuses all URIs.

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

use crate::finding::{Class, Finding, Severity};

/// A tool's input schema could not be compiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// Invalid schema, or a `$ref` that would need retrieval.
    #[error("invalid input schema: {message}")]
    Invalid {
        /// What the compiler said.
        message: String,
    },
}

/// Refuses every retrieval: schemas from upstreams must be self-contained.
struct NoRetrieval;

impl Retrieve for NoRetrieval {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("schema retrieval is disabled ({})", uri.as_str()).into())
    }
}

/// A compiled input schema; build once per tool definition, validate many calls.
#[derive(Debug)]
pub struct ArgumentSchema {
    validator: Validator,
}

/// Most violations reported per call.
const MAX_VIOLATIONS: usize = 16;

impl ArgumentSchema {
    /// Compile `schema` (format assertions on, no retrieval).
    pub fn compile(schema: &Value) -> Result<Self, SchemaError> {
        let validator = jsonschema::options()
            .with_retriever(NoRetrieval)
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| SchemaError::Invalid {
                message: e.to_string(),
            })?;
        Ok(Self { validator })
    }

    /// One `schema.violation` finding per violation (at most 16), at the argument's pointer.
    pub fn violations(&self, arguments: &Value) -> Vec<Finding> {
        self.validator
            .iter_errors(arguments)
            .take(MAX_VIOLATIONS)
            .map(|e| {
                let f = Finding::new(
                    "schema.violation",
                    Class::SchemaViolation,
                    Severity::Medium,
                    1.0,
                );
                f.at(e.instance_path().as_str())
                    .with_excerpt(&e.masked().to_string())
            })
            .collect()
    }

    /// True when `arguments` is valid.
    pub fn is_valid(&self, arguments: &Value) -> bool {
        self.validator.is_valid(arguments)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn violations_carry_pointers() {
        let s = ArgumentSchema::compile(&json!({"type": "object", "properties": {"path": {"type": "string"}, "n": {"type": "integer", "maximum": 10}}, "required": ["path"], "additionalProperties": false})).unwrap();
        assert!(s.is_valid(&json!({"path": "/tmp/a"})));
        let v = s.violations(&json!({"n": 11, "extra": true}));
        assert!(v.len() >= 3, "{v:?}");
        assert!(v.iter().any(|f| f.path == "/n"));
        // Masked messages never echo the argument's value.
        assert!(v.iter().all(|f| !f.excerpt.contains("11")), "{v:?}");
    }

    #[test]
    fn remote_refs_are_refused() {
        let remote = json!({"$ref": "http://169.254.169.254/latest/meta-data/schema.json"});
        assert!(ArgumentSchema::compile(&remote).is_err());
        let file = json!({"$ref": "file:///etc/passwd"});
        assert!(ArgumentSchema::compile(&file).is_err());
        let local = json!({"$defs": {"p": {"type": "string"}}, "$ref": "#/$defs/p"});
        assert!(
            ArgumentSchema::compile(&local)
                .unwrap()
                .is_valid(&json!("x"))
        );
    }
}
