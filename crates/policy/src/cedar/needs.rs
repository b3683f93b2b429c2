//! Which context members, and which fields of `context.auth`, a policy can read, so that
//! the request builder leaves out the rest.
//!
//! Exact, from the policy's syntax tree (its JSON form): a record that a policy only reads
//! through `.attr`, `["attr"]` and `has attr` cannot observe its other attributes (Cedar
//! has no reflection over records). Where a policy uses `context` or `context.auth` as a
//! whole value (compares it, puts it in a set, …), everything under it is needed.

use cedar_policy::Policy;
use serde_json::{Map, Value};

/// The context members the request builder can provide, in [`Needs`] bit order.
pub(crate) const CONTEXT_KEYS: [&str; 9] = [
    "phase",
    "arguments",
    "time",
    "source_ip",
    "country",
    "device_id",
    "trust_score",
    "tenant",
    "auth",
];

/// The fields of the `auth` record, in [`Needs`] bit order.
pub(crate) const AUTH_FIELDS: [&str; 5] = ["amr", "scopes", "method", "acr", "age_secs"];

const ALL_MEMBERS: u16 = (1 << CONTEXT_KEYS.len()) - 1;
const ALL_AUTH: u8 = (1 << AUTH_FIELDS.len()) - 1;

/// What a set of policies may read of the context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    members: u16,
    auth: u8,
}

impl Needs {
    /// What `policy` may read.
    pub(crate) fn of_policy(policy: &Policy) -> Self {
        match policy.to_json() {
            Ok(json) => {
                let mut needs = Self::default();
                needs.walk(&json);
                needs
            }
            Err(_) => Self::of_text(&policy.to_cedar().unwrap_or_else(|| policy.to_string())),
        }
    }

    /// A superset from the text alone: every member and field the text names.
    fn of_text(text: &str) -> Self {
        let bits = |keys: &[&str]| {
            (keys.iter().enumerate())
                .filter(|(_, k)| text.contains(**k))
                .fold(0u16, |acc, (i, _)| acc | 1 << i)
        };
        Self {
            members: bits(&CONTEXT_KEYS),
            auth: u8::try_from(bits(&AUTH_FIELDS)).unwrap_or(ALL_AUTH),
        }
    }

    /// Both sets of reads.
    pub(crate) fn union(self, other: Self) -> Self {
        Self {
            members: self.members | other.members,
            auth: self.auth | other.auth,
        }
    }

    /// Whether member `key` (one of [`CONTEXT_KEYS`]) is needed.
    pub(crate) fn has(self, key: &str) -> bool {
        bit(&CONTEXT_KEYS, key).is_some_and(|i| self.members & (1 << i) != 0)
    }

    /// Whether field `field` (one of [`AUTH_FIELDS`]) of `context.auth` is needed.
    pub(crate) fn has_auth(self, field: &str) -> bool {
        bit(&AUTH_FIELDS, field).is_some_and(|i| self.auth & (1 << i) != 0)
    }

    fn member(&mut self, key: &str, whole: bool) {
        match bit(&CONTEXT_KEYS, key) {
            Some(i) => self.members |= 1 << i,
            // An attribute the builder never provides: nothing to build.
            None => return,
        }
        if whole && key == "auth" {
            self.auth = ALL_AUTH;
        }
    }

    fn field(&mut self, member: &str, field: &str) {
        self.member(member, false);
        if member == "auth"
            && let Some(i) = bit(&AUTH_FIELDS, field)
        {
            self.auth |= 1 << i;
        }
    }

    fn walk(&mut self, v: &Value) {
        match v {
            Value::Object(_) if is_context(v) => {
                self.members = ALL_MEMBERS;
                self.auth = ALL_AUTH;
            }
            Value::Object(m) if !self.access(m) => m.values().for_each(|c| self.walk(c)),
            Value::Array(items) => items.iter().for_each(|c| self.walk(c)),
            _ => {}
        }
    }

    /// Handles `context.a`, `context.a.b`, `context has a`, `context has a.b` and
    /// `context.a has b`; false when `m` is none of these.
    fn access(&mut self, m: &Map<String, Value>) -> bool {
        let Some((op, left, attrs)) = attr_op(m) else {
            return false;
        };
        let Some(first) = attrs.first().copied() else {
            return false;
        };
        if is_context(left) {
            match (op, attrs.get(1)) {
                (_, Some(second)) => self.field(first, second),
                // `context.a` reads `a` as a whole; `context has a` only its presence.
                (Op::Get, None) => self.member(first, true),
                (Op::Has, None) => self.member(first, false),
            }
            return true;
        }
        let inner = left.as_object().and_then(attr_op);
        if let Some((Op::Get, inner_left, inner_attrs)) = inner
            && is_context(inner_left)
            && let [member] = inner_attrs.as_slice()
        {
            self.field(member, first);
            return true;
        }
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Has,
}

/// `{".": {left, attr}}` or `{"has": {left, attr}}` (`attr` a string, or a list for the
/// extended `has a.b`).
fn attr_op(m: &Map<String, Value>) -> Option<(Op, &Value, Vec<&str>)> {
    if m.len() != 1 {
        return None;
    }
    let (op, body) = m.iter().next()?;
    let op = match op.as_str() {
        "." => Op::Get,
        "has" => Op::Has,
        _ => return None,
    };
    let body = body.as_object()?;
    let left = body.get("left")?;
    let attrs = match body.get("attr")? {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().map(Value::as_str).collect::<Option<_>>()?,
        _ => return None,
    };
    Some((op, left, attrs))
}

fn is_context(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.get("Var").and_then(Value::as_str) == Some("context"))
}

fn bit(keys: &[&str], key: &str) -> Option<usize> {
    keys.iter().position(|k| *k == key)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn needs(text: &str) -> Needs {
        Needs::of_policy(&Policy::from_str(text).unwrap_or_else(|e| panic!("{e}")))
    }

    fn members(n: Needs) -> Vec<&'static str> {
        CONTEXT_KEYS.into_iter().filter(|k| n.has(k)).collect()
    }

    fn auth(n: Needs) -> Vec<&'static str> {
        AUTH_FIELDS.into_iter().filter(|k| n.has_auth(k)).collect()
    }

    #[test]
    fn attribute_reads_name_only_what_they_read() {
        let n = needs(
            "forbid (principal, action, resource) when { context.auth has age_secs && \
             context.auth.age_secs > 10 && principal.tenant == context.arguments.tenant };",
        );
        assert_eq!(
            members(n),
            ["arguments", "auth"],
            "principal.tenant is not context"
        );
        assert_eq!(auth(n), ["age_secs"]);
        let n = needs("permit (principal, action, resource) when { context has auth.acr };");
        assert_eq!((members(n), auth(n)), (vec!["auth"], vec!["acr"]));
        let n = needs(
            "permit (principal, action, resource) when { context[\"auth\"][\"amr\"].contains(\"mfa\") };",
        );
        assert_eq!((members(n), auth(n)), (vec!["auth"], vec!["amr"]));
        let n = needs("permit (principal, action, resource) when { context has country };");
        assert_eq!((members(n), auth(n)), (vec!["country"], vec![]));
    }

    #[test]
    fn whole_values_need_everything_under_them() {
        let n = needs(
            "permit (principal, action, resource) when { context.auth == {\"acr\": \"x\"} };",
        );
        assert_eq!(auth(n), AUTH_FIELDS);
        let n = needs("permit (principal, action, resource) when { context == {} };");
        assert_eq!(
            (members(n), auth(n)),
            (CONTEXT_KEYS.to_vec(), AUTH_FIELDS.to_vec())
        );
        let n = needs("permit (principal, action, resource) when { [context].contains(context) };");
        assert_eq!(members(n), CONTEXT_KEYS);
    }

    #[test]
    fn no_context_needs_nothing() {
        let n =
            needs("forbid (principal, action, resource) unless { principal.tenant == \"auth\" };");
        assert_eq!((members(n), auth(n)), (vec![], vec![]));
        assert_eq!(
            Needs::of_text("context.auth.scopes").union(n),
            Needs::of_text("auth scopes")
        );
    }
}
