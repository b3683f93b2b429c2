//! Reading one member of a small JSON object without hashing its key.
//!
//! A message's objects (the envelope, `params`, `_meta`, `error`) hold a handful of members,
//! and the gateway reads the same few (`method`, `id`, `params`, …) many times per message.
//! With `preserve_order` a `serde_json::Map` is an `IndexMap` keyed with SipHash, which costs
//! more per lookup than comparing a few short keys in order. Keys in a map are unique, so
//! both ways find the same member.

use serde_json::{Map, Value};

/// Objects up to this many members are searched in order instead of by hash.
const SCAN_LIMIT: usize = 8;

/// The member `key` of `object`, if present.
pub fn member<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    if object.len() <= SCAN_LIMIT {
        object.iter().find_map(|(k, v)| (k == key).then_some(v))
    } else {
        object.get(key)
    }
}

/// Whether `object` has the member `key`.
pub fn has_member(object: &Map<String, Value>, key: &str) -> bool {
    member(object, key).is_some()
}

/// The member `key` of `value`, when `value` is an object holding it.
pub fn member_of<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_object().and_then(|o| member(o, key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(o) => o,
            _ => unreachable!(),
        }
    }

    #[test]
    fn finds_the_same_member_as_a_hash_lookup_in_small_and_large_objects() {
        let small = object(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call"}));
        let large = object(Value::Object(
            (0..20).map(|i| (format!("k{i}"), json!(i))).collect(),
        ));
        for (map, keys) in [
            (&small, vec!["jsonrpc", "id", "method", "params", "", "i"]),
            (&large, vec!["k0", "k19", "k7", "k20", "k"]),
        ] {
            for key in keys {
                assert_eq!(member(map, key), map.get(key), "key {key:?}");
                assert_eq!(has_member(map, key), map.contains_key(key));
            }
        }
    }

    #[test]
    fn a_message_reads_the_same_past_the_scan_limit() {
        let envelope = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                              "params": {"name": "echo"}});
        let mut big = object(envelope.clone());
        big.extend((0..20).map(|i| (format!("x-{i}"), json!(i))));
        for obj in [object(envelope), big] {
            let msg = crate::Message::from_object_unchecked(obj);
            assert_eq!(msg.kind(), crate::MessageKind::Request);
            assert_eq!(msg.method(), Some("tools/call"));
            assert_eq!(msg.id(), Some(crate::RequestId::Number(3)));
            assert_eq!(msg.param_str("name"), Some("echo"));
            assert!(msg.is_call() && msg.error_code().is_none());
        }
    }

    #[test]
    fn member_of_a_non_object_is_none() {
        assert_eq!(member_of(&json!([1, 2]), "0"), None);
        assert_eq!(member_of(&json!({"code": 1}), "code"), Some(&json!(1)));
    }
}
