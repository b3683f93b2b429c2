//! Which context members, which fields of `context.auth` and which top-level fields of
//! `context.arguments` a policy can read, so that the request builder leaves out the rest.
//!
//! Exact, from the policy's syntax tree (its JSON form): a record that a policy only reads
//! through `.attr`, `["attr"]` and `has attr` cannot observe its other attributes (Cedar
//! has no reflection over records). Where a policy uses `context`, `context.auth` or
//! `context.arguments` as a whole value (compares it, puts it in a set, …), everything
//! under it is needed.
//!
//! Argument field names are open-ended, so they are kept as a 64-bit mask of name hashes:
//! a field is built when its hash bit is set. A collision only builds a field no policy
//! reads, which no policy can observe; a needed field is never left out.

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
const ALL_ARGUMENTS: u64 = u64::MAX;

/// What a set of policies may read of the context.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    members: u16,
    auth: u8,
    /// Hash bits of the `context.arguments` fields read ([`argument_bit`]).
    arguments: u64,
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
            arguments: ALL_ARGUMENTS,
        }
    }

    /// Both sets of reads.
    pub(crate) fn union(self, other: Self) -> Self {
        Self {
            members: self.members | other.members,
            auth: self.auth | other.auth,
            arguments: self.arguments | other.arguments,
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

    /// Whether top-level field `field` of `context.arguments` must be built (true for
    /// every field when a policy uses the arguments as a whole).
    pub(crate) fn has_argument(self, field: &str) -> bool {
        self.arguments == ALL_ARGUMENTS || self.arguments & argument_bit(field) != 0
    }

    fn member(&mut self, key: &str, whole: bool) {
        match bit(&CONTEXT_KEYS, key) {
            Some(i) => self.members |= 1 << i,
            // An attribute the builder never provides: nothing to build.
            None => return,
        }
        match key {
            "auth" if whole => self.auth = ALL_AUTH,
            "arguments" if whole => self.arguments = ALL_ARGUMENTS,
            _ => {}
        }
    }

    fn field(&mut self, member: &str, field: &str) {
        self.member(member, false);
        if member == "auth"
            && let Some(i) = bit(&AUTH_FIELDS, field)
        {
            self.auth |= 1 << i;
        }
        if member == "arguments" {
            self.arguments |= argument_bit(field);
        }
    }

    fn walk(&mut self, v: &Value) {
        match v {
            Value::Object(_) if is_context(v) => {
                self.members = ALL_MEMBERS;
                self.auth = ALL_AUTH;
                self.arguments = ALL_ARGUMENTS;
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

/// One of 64 bits for an argument field name: the top six bits of its FNV-1a hash.
fn argument_bit(field: &str) -> u64 {
    let hash = field.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    1 << (hash >> 58)
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
    fn argument_fields_read_by_name_are_the_only_ones_built() {
        let p = "permit (principal, action, resource) when";
        for body in [
            "{ context.arguments.path like \"/srv/*\" }",
            "{ context[\"arguments\"][\"path\"] == \"x\" }",
            "{ context.arguments has path }",
            "{ context has arguments.path }",
            "{ context.arguments.path.inner == 1 }",
        ] {
            let n = needs(&format!("{p} {body};"));
            assert_eq!(members(n), ["arguments"], "{body}");
            assert!(n.has_argument("path"), "{body}");
            let unread = ["encoding", "max_bytes", "tenant_id", "inner"];
            assert!(unread.iter().all(|k| !n.has_argument(k)), "{body}");
        }
        let n = needs(&format!("{p} {{ context has arguments }};"));
        assert!(n.has("arguments") && !n.has_argument("path"));
        let two = needs(&format!(
            "{p} {{ context.arguments.a == context.arguments.b }};"
        ));
        assert!(two.has_argument("a") && two.has_argument("b"));
        assert_eq!(Needs::default().union(two), two);
    }

    #[test]
    fn arguments_used_as_a_whole_need_every_field() {
        let p = "permit (principal, action, resource) when";
        for body in [
            "{ context.arguments == {\"path\": \"x\"} }",
            "{ [context.arguments].contains({}) }",
            "{ context == {} }",
            "{ if context.arguments has path then context.arguments == {} else false }",
        ] {
            let n = needs(&format!("{p} {body};"));
            assert!(n.has("arguments"), "{body}");
            assert!(
                ["path", "encoding", "anything", ""]
                    .iter()
                    .all(|k| n.has_argument(k)),
                "{body}"
            );
        }
        let path = needs(&format!("{p} {{ context.arguments.path == \"x\" }};"));
        let whole = needs(&format!("{p} {{ context.arguments == {{}} }};"));
        assert!(path.union(whole).has_argument("encoding"));
        assert!(Needs::of_text("context.arguments.path").has_argument("encoding"));
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
