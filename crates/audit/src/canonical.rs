//! The canonical JSON encoding every hash in the audit log is computed over.
//!
//! Rules (docs/audit.md, "Canonical encoding"):
//! - UTF-8, no whitespace outside strings, no trailing newline;
//! - object keys sorted by their UTF-8 bytes (equal to Unicode code-point order), no duplicates;
//! - strings escaped as serde_json does: `"` `\` and control characters below U+0020 only
//!   (`\b \f \n \r \t`, others as `\u00XX`); everything else as raw UTF-8;
//! - integers in plain decimal; other numbers in serde_json's shortest round-trip form;
//! - `null`, `true`, `false` literally. Arrays keep their order.

use serde::Serialize;
use serde_json::Value;

use aws_lc_rs::digest;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// Encode any serialisable value canonically.
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(value)?;
    let mut out = String::with_capacity(256);
    write_value(&value, &mut out)?;
    Ok(out)
}

/// SHA-256 of the canonical encoding of `value`, in lowercase hex.
pub fn canonical_digest_hex(value: &Value) -> Result<String, serde_json::Error> {
    let text = to_canonical_json(value)?;
    Ok(hex::encode(sha256(text.as_bytes())))
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    let d = digest::digest(&digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn write_value(value: &Value, out: &mut String) -> Result<(), serde_json::Error> {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            out.push_str(&serde_json::to_string(value)?);
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key)?);
                out.push(':');
                if let Some(v) = map.get(key) {
                    write_value(v, out)?;
                }
            }
            out.push('}');
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_recursively_and_is_compact() {
        let v = json!({"b": 1, "a": {"z": [3, {"y": null, "x": true}], "c": "é\n"}});
        assert_eq!(
            to_canonical_json(&v).unwrap(),
            r#"{"a":{"c":"é\n","z":[3,{"x":true,"y":null}]},"b":1}"#
        );
    }

    #[test]
    fn digest_ignores_key_order() {
        let a = json!({"path": "/etc", "mode": 1.5});
        let b = json!({"mode": 1.5, "path": "/etc"});
        assert_eq!(
            canonical_digest_hex(&a).unwrap(),
            canonical_digest_hex(&b).unwrap()
        );
    }
}
