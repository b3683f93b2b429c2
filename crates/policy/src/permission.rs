//! Permission strings `resource:action`, as in seed 001's permission matrix.
//!
//! * `resource` is `*` (every resource) or a dotted path such as `mcp.docker` or
//!   `mcp.kubernetes.apply`. A path grants itself and everything below it, segment by segment:
//!   `mcp.docker` grants `mcp.docker.build` but not `mcp.dockerhub`.
//! * `action` is `*` (every action) or one of `read`, `write`, `execute`, `delete`.
//!   Actions never imply each other: `write` does not grant `read`.
//!
//! A `*` is only ever a whole part: `mcp.*`, `mcp*` and `re*` are rejected rather than given a
//! meaning the seed does not define.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Longest accepted resource path, in bytes.
pub(crate) const MAX_RESOURCE_LEN: usize = 256;

/// What a caller does to a resource.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Observe without side effects.
    Read,
    /// Create or change data.
    Write,
    /// Run something (the default for tools).
    Execute,
    /// Destroy data.
    Delete,
}

impl Action {
    /// Every action, in strictness order.
    pub const ALL: [Self; 4] = [Self::Read, Self::Write, Self::Execute, Self::Delete];

    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Execute => "execute",
            Self::Delete => "delete",
        }
    }

    /// Parses a lowercase action name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated dotted resource path (`mcp.kubernetes.apply`): one or more segments of
/// `A-Z a-z 0-9 _ -`, joined by `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourcePath(String);

impl ResourcePath {
    /// Parses and validates a path.
    pub fn parse(text: &str) -> Result<Self, PermissionError> {
        if text.is_empty() || text.len() > MAX_RESOURCE_LEN {
            return Err(PermissionError::BadResource(text.into()));
        }
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if text.split('.').all(segment_ok) {
            Ok(Self(text.to_owned()))
        } else {
            Err(PermissionError::BadResource(text.into()))
        }
    }

    /// The default resource of an unconfigured server: `mcp.<server>`. Characters outside
    /// the segment alphabet (server names never have them) become `_`.
    pub fn for_server(server: &str) -> Self {
        let clean: String = server
            .chars()
            .take(MAX_RESOURCE_LEN - 4)
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let clean = if clean.is_empty() { "_".into() } else { clean };
        Self(format!("mcp.{clean}"))
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `self` is `ancestor` or lies below it (segment-wise prefix).
    pub fn is_within(&self, ancestor: &Self) -> bool {
        match self.0.strip_prefix(ancestor.0.as_str()) {
            Some("") => true,
            Some(rest) => rest.starts_with('.'),
            None => false,
        }
    }

    /// The path and each ancestor, longest first: `a.b.c`, `a.b`, `a`.
    pub fn lineage(&self) -> impl Iterator<Item = &str> {
        let s = self.0.as_str();
        std::iter::once(s).chain(s.rmatch_indices('.').map(move |(i, _)| &s[..i]))
    }
}

impl fmt::Display for ResourcePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ResourcePath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The resource part of a permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResourcePattern {
    /// `*`: every resource.
    Any,
    /// A path and everything below it.
    Path(ResourcePath),
}

/// The action part of a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionPattern {
    /// `*`: every action.
    Any,
    /// Exactly this action.
    Exact(Action),
}

/// A parsed `resource:action` permission.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Permission {
    /// Which resources.
    pub resource: ResourcePattern,
    /// Which actions.
    pub action: ActionPattern,
}

/// Why a permission string or resource path was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PermissionError {
    /// Not of the form `resource:action`.
    #[error("permission {0:?} is not of the form `resource:action`")]
    Shape(String),
    /// The resource is neither `*` nor a dotted path of `A-Z a-z 0-9 _ -` segments.
    #[error(
        "resource {0:?} must be `*` or a dotted path of A-Z, a-z, 0-9, `_` and `-` segments \
         (a `*` is only allowed as the whole resource)"
    )]
    BadResource(String),
    /// The action is not `*`, `read`, `write`, `execute` or `delete`.
    #[error("action {0:?} must be one of `*`, `read`, `write`, `execute`, `delete`")]
    BadAction(String),
}

impl Permission {
    /// Parses `resource:action`.
    pub fn parse(text: &str) -> Result<Self, PermissionError> {
        let Some((resource, action)) = text.split_once(':') else {
            return Err(PermissionError::Shape(text.into()));
        };
        if action.contains(':') {
            return Err(PermissionError::Shape(text.into()));
        }
        let resource = match resource {
            "*" => ResourcePattern::Any,
            r => ResourcePattern::Path(ResourcePath::parse(r)?),
        };
        let action = match action {
            "*" => ActionPattern::Any,
            a => ActionPattern::Exact(
                Action::parse(a).ok_or_else(|| PermissionError::BadAction(a.into()))?,
            ),
        };
        Ok(Self { resource, action })
    }

    /// True when this permission lets `action` be done on `resource`.
    pub fn allows(&self, resource: &ResourcePath, action: Action) -> bool {
        let action_ok = match self.action {
            ActionPattern::Any => true,
            ActionPattern::Exact(a) => a == action,
        };
        action_ok
            && match &self.resource {
                ResourcePattern::Any => true,
                ResourcePattern::Path(p) => resource.is_within(p),
            }
    }

    /// True when everything `other` grants is also granted by `self`.
    pub fn implies(&self, other: &Self) -> bool {
        let action_ok = match (self.action, other.action) {
            (ActionPattern::Any, _) => true,
            (ActionPattern::Exact(a), ActionPattern::Exact(b)) => a == b,
            (ActionPattern::Exact(_), ActionPattern::Any) => false,
        };
        action_ok
            && match (&self.resource, &other.resource) {
                (ResourcePattern::Any, _) => true,
                (ResourcePattern::Path(p), ResourcePattern::Path(q)) => q.is_within(p),
                (ResourcePattern::Path(_), ResourcePattern::Any) => false,
            }
    }
}

impl FromStr for Permission {
    type Err = PermissionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.resource {
            ResourcePattern::Any => f.write_str("*")?,
            ResourcePattern::Path(p) => f.write_str(p.as_str())?,
        }
        match self.action {
            ActionPattern::Any => f.write_str(":*"),
            ActionPattern::Exact(a) => write!(f, ":{a}"),
        }
    }
}

impl Serialize for Permission {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Permission {
        Permission::parse(s).unwrap()
    }

    fn r(s: &str) -> ResourcePath {
        ResourcePath::parse(s).unwrap()
    }

    #[test]
    fn seed_examples_parse_and_round_trip() {
        for s in [
            "mcp.docker:execute",
            "mcp.kubernetes.apply:execute",
            "infrastructure:*",
            "*:read",
            "*:*",
            "monitoring:write",
            "mcp.docker.remove:delete",
        ] {
            assert_eq!(p(s).to_string(), s);
        }
    }

    #[test]
    fn malformed_permissions_are_rejected() {
        for s in [
            "",
            "mcp.docker",
            ":read",
            "mcp:",
            "mcp:read:write",
            "mcp.*:read",
            "mcp*:read",
            "*.docker:read",
            "mcp..docker:read",
            ".mcp:read",
            "mcp.:read",
            "mcp docker:read",
            "mcp:Read",
            "mcp:re*",
            "mcp:admin",
            "mcp/docker:read",
        ] {
            assert!(Permission::parse(s).is_err(), "{s:?} should be rejected");
        }
        let long = format!("{}:read", "a".repeat(MAX_RESOURCE_LEN + 1));
        assert!(Permission::parse(&long).is_err());
    }

    #[test]
    fn allows_matches_resource_hierarchy_and_action() {
        let cases = [
            // (permission, resource, action, expected)
            ("mcp.docker:execute", "mcp.docker", Action::Execute, true),
            (
                "mcp.docker:execute",
                "mcp.docker.build",
                Action::Execute,
                true,
            ),
            (
                "mcp.docker:execute",
                "mcp.docker.build.x",
                Action::Execute,
                true,
            ),
            (
                "mcp.docker:execute",
                "mcp.dockerhub",
                Action::Execute,
                false,
            ),
            ("mcp.docker:execute", "mcp", Action::Execute, false),
            ("mcp.docker:execute", "mcp.docker", Action::Read, false),
            (
                "mcp.kubernetes.apply:execute",
                "mcp.kubernetes.apply",
                Action::Execute,
                true,
            ),
            (
                "mcp.kubernetes.apply:execute",
                "mcp.kubernetes.get",
                Action::Execute,
                false,
            ),
            (
                "mcp.kubernetes.apply:execute",
                "mcp.kubernetes",
                Action::Execute,
                false,
            ),
            (
                "infrastructure:*",
                "infrastructure.command",
                Action::Execute,
                true,
            ),
            (
                "infrastructure:*",
                "infrastructure.file",
                Action::Delete,
                true,
            ),
            ("infrastructure:*", "infrastructures", Action::Read, false),
            ("*:read", "anything.at.all", Action::Read, true),
            ("*:read", "anything", Action::Write, false),
            ("*:read", "mcp.docker", Action::Execute, false),
            ("*:*", "x", Action::Delete, true),
            ("MCP.docker:read", "mcp.docker", Action::Read, false),
        ];
        for (perm, res, action, expected) in cases {
            assert_eq!(
                p(perm).allows(&r(res), action),
                expected,
                "{perm} on {res}:{action}"
            );
        }
    }

    #[test]
    fn actions_never_imply_each_other() {
        for granted in Action::ALL {
            for wanted in Action::ALL {
                let perm = Permission {
                    resource: ResourcePattern::Any,
                    action: ActionPattern::Exact(granted),
                };
                assert_eq!(perm.allows(&r("x"), wanted), granted == wanted);
            }
        }
    }

    #[test]
    fn implies_between_permissions() {
        let cases = [
            ("*:*", "mcp.docker:execute", true),
            ("*:*", "*:*", true),
            ("*:read", "mcp:read", true),
            ("*:read", "*:*", false),
            ("mcp:read", "*:read", false),
            ("mcp:*", "mcp.docker:delete", true),
            ("mcp:*", "mcp:*", true),
            ("mcp.docker:*", "mcp:*", false),
            ("mcp.docker:execute", "mcp.docker.build:execute", true),
            ("mcp.docker:execute", "mcp.docker:*", false),
            ("mcp.docker:execute", "mcp.dockerx:execute", false),
            ("infrastructure:execute", "infrastructure:write", false),
        ];
        for (a, b, expected) in cases {
            assert_eq!(p(a).implies(&p(b)), expected, "{a} implies {b}");
        }
    }

    #[test]
    fn lineage_and_server_default() {
        let path = r("mcp.kubernetes.apply");
        assert_eq!(
            path.lineage().collect::<Vec<_>>(),
            ["mcp.kubernetes.apply", "mcp.kubernetes", "mcp"]
        );
        assert_eq!(ResourcePath::for_server("docker").as_str(), "mcp.docker");
        assert_eq!(ResourcePath::for_server("a.b c").as_str(), "mcp.a_b_c");
        assert!(ResourcePath::parse(ResourcePath::for_server("").as_str()).is_ok());
    }

    #[test]
    fn permissions_deserialize_from_strings() {
        let v: Vec<Permission> = serde_json::from_str(r#"["*:read","mcp:execute"]"#).unwrap();
        assert_eq!(v[1], p("mcp:execute"));
        assert!(serde_json::from_str::<Permission>(r#""mcp.*:read""#).is_err());
    }
}
