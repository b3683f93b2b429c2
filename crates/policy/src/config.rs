//! The authorization configuration (`policies/default.yaml` and friends): roles, tool
//! classification, Cedar settings, trust and step-up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::classify::ToolRuleConfig;
use crate::error::PolicyError;
use crate::stepup::StepUpConfig;
use crate::trust::TrustConfig;

/// The shipped default role policy (seed 001's matrix).
pub const DEFAULT_POLICY_YAML: &str = include_str!("../../../policies/default.yaml");

/// Largest policy file accepted, in bytes.
pub(crate) const MAX_POLICY_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Everything the authorizer is configured with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthzConfig {
    /// Roles by name.
    #[serde(default)]
    pub roles: BTreeMap<String, RoleConfig>,
    /// Roles given to a principal that arrives with none, by principal kind.
    #[serde(default)]
    pub default_roles: Option<DefaultRoles>,
    /// Tool classification rules, first match wins.
    #[serde(default)]
    pub tools: Vec<ToolRuleConfig>,
    /// Cedar attribute-based policies.
    #[serde(default)]
    pub cedar: Option<CedarConfig>,
    /// Trust scoring; absent means no trust score is computed.
    #[serde(default)]
    pub trust: Option<TrustConfig>,
    /// Step-up authentication for high-risk tools and low trust.
    #[serde(default)]
    pub step_up: Option<StepUpConfig>,
}

/// One role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// What the role is for.
    #[serde(default)]
    pub description: Option<String>,
    /// Other names that mean this role (e.g. `mcp_admin` from seed 001's OAuth mapping).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Permission strings `resource:action` (`mcp.docker:execute`, `*:read`, `*:*`).
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// Roles for principals that carry none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DefaultRoles {
    /// The local operator (stdio, loopback without authentication). Default `[admin]`.
    pub local: Vec<String>,
    /// Anonymous callers. Default `[guest]`.
    pub anonymous: Vec<String>,
    /// Users with no role claim. Default `[guest]` (seed 001: "or mcp_guest").
    pub user: Vec<String>,
    /// Service accounts with no role. Default `[]`.
    pub service: Vec<String>,
}

impl Default for DefaultRoles {
    fn default() -> Self {
        Self {
            local: vec!["admin".into()],
            anonymous: vec!["guest".into()],
            user: vec!["guest".into()],
            service: Vec::new(),
        }
    }
}

/// What a Cedar evaluation error means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Any policy that fails to evaluate on a call denies it (fail closed). Default.
    #[default]
    Deny,
    /// Cedar's own semantics: a failing policy is skipped.
    Ignore,
}

/// Cedar settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CedarConfig {
    /// `.cedar` files, relative to the YAML file that names them.
    pub files: Vec<PathBuf>,
    /// When true, a call also needs a Cedar `permit` (besides RBAC). When false (default),
    /// Cedar can only take away: any satisfied `forbid` denies.
    pub require_permit: bool,
    /// What an evaluation error on a call means.
    pub on_error: OnError,
    /// Deepest nesting of tool arguments converted to Cedar values.
    #[schemars(range(min = 1, max = 64))]
    pub max_argument_depth: usize,
    /// Most JSON values in the arguments converted to Cedar values.
    #[schemars(range(min = 1))]
    pub max_argument_values: usize,
    /// Longest string argument converted, in bytes.
    #[schemars(range(min = 1))]
    pub max_string_bytes: usize,
}

impl Default for CedarConfig {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            require_permit: false,
            on_error: OnError::Deny,
            max_argument_depth: 16,
            max_argument_values: 4096,
            max_string_bytes: 64 * 1024,
        }
    }
}

impl AuthzConfig {
    /// The shipped default (roles only).
    pub fn shipped_default() -> Self {
        // The shipped file is tested; should it ever fail, an empty policy denies all.
        Self::from_yaml(DEFAULT_POLICY_YAML, "policies/default.yaml").unwrap_or_default()
    }

    /// Parses one YAML document. Cedar file paths stay as written.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, PolicyError> {
        let options = serde_saphyr::options! {
            budget: serde_saphyr::budget! {
                max_depth: 32,
                max_documents: 1,
                max_nodes: 200_000,
                max_aliases: 1_000,
                max_anchors: 1_000,
            },
            strict_booleans: true,
            with_snippet: false,
        };
        serde_saphyr::from_str_with_options::<Self>(text, options).map_err(|e| {
            let mut err = PolicyError::new(origin, e.to_string());
            if let Some(loc) = e.location() {
                let n = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
                err = err.at(n(loc.line()), n(loc.column()));
            }
            err
        })
    }

    /// Reads and merges YAML files in order; Cedar paths are resolved against each file's
    /// directory. See [`AuthzConfig::merge`].
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Self, Vec<PolicyError>> {
        let mut merged = Self::default();
        let mut errors = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let origin = path.display().to_string();
            let loaded = read_capped(path)
                .map_err(|e| PolicyError::new(&origin, e))
                .and_then(|text| Self::from_yaml(&text, &origin));
            match loaded {
                Ok(mut c) => {
                    let problems = c.validate(&origin);
                    if !problems.is_empty() {
                        errors.extend(problems);
                        continue;
                    }
                    let dir = path.parent().unwrap_or(Path::new(""));
                    if let Some(cedar) = c.cedar.as_mut() {
                        cedar.files = cedar.files.iter().map(|f| dir.join(f)).collect();
                    }
                    merged.merge(c);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(merged)
        } else {
            Err(errors)
        }
    }

    /// Checks roles, tool rules and trust settings without loading Cedar files; errors
    /// carry `origin` and field paths.
    pub fn validate(&self, origin: &str) -> Vec<PolicyError> {
        let mut errors = Vec::new();
        if let Err(e) = crate::rbac::Roles::new(self, origin) {
            errors.extend(e);
        }
        if let Err(e) = crate::classify::Classifier::new(&self.tools) {
            errors.extend(e.into_iter().map(|(i, err)| {
                PolicyError::new(origin, err.to_string()).at_path(format!("tools[{i}].resource"))
            }));
        }
        if let Some(t) = &self.trust
            && let Err(e) = crate::trust::TrustModel::new(t, origin)
        {
            errors.extend(e);
        }
        errors
    }

    /// Layers `other` over `self`: roles of the same name are replaced, tool rules are
    /// appended (so earlier files' rules match first), Cedar files are appended, and
    /// `default_roles`, `trust`, `step_up` and the Cedar flags are taken from `other` when
    /// it sets them.
    pub fn merge(&mut self, other: Self) {
        self.roles.extend(other.roles);
        self.tools.extend(other.tools);
        if other.default_roles.is_some() {
            self.default_roles = other.default_roles;
        }
        if other.trust.is_some() {
            self.trust = other.trust;
        }
        if other.step_up.is_some() {
            self.step_up = other.step_up;
        }
        match (&mut self.cedar, other.cedar) {
            (Some(mine), Some(theirs)) => {
                let mut files = std::mem::take(&mut mine.files);
                files.extend(theirs.files.iter().cloned());
                *mine = CedarConfig { files, ..theirs };
            }
            (mine @ None, theirs) => *mine = theirs,
            (Some(_), None) => {}
        }
    }
}

/// Reads a file of at most [`MAX_POLICY_FILE_BYTES`].
pub(crate) fn read_capped(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > MAX_POLICY_FILE_BYTES {
        return Err(format!("larger than {MAX_POLICY_FILE_BYTES} bytes"));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_parses_with_five_roles() {
        let c = AuthzConfig::from_yaml(DEFAULT_POLICY_YAML, "default.yaml").unwrap();
        let names: Vec<_> = c.roles.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["admin", "guest", "operator", "readonly", "service_account"]
        );
    }

    #[test]
    fn unknown_fields_are_errors_with_a_line() {
        let e =
            AuthzConfig::from_yaml("roles:\n  admin:\n    permision: []\n", "x.yaml").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("permision"), "{e}");
    }

    #[test]
    fn schema_generates_and_bad_files_name_the_field() {
        let schema = schemars::schema_for!(AuthzConfig);
        let text = serde_json::to_string(&schema).unwrap();
        assert!(text.contains("require_permit") && text.contains("step_up_below"));
        let c = AuthzConfig::from_yaml("roles: { a: { permissions: ['a:go'] } }", "x").unwrap();
        let errs = c.validate("x.yaml");
        assert_eq!(
            errs[0].to_string(),
            "x.yaml: roles.a.permissions[0]: action \"go\" must be one of `*`, `read`, `write`, `execute`, `delete`"
        );
    }

    #[test]
    fn merge_layers_in_order() {
        let mut a = AuthzConfig::from_yaml(
            "roles: { x: { permissions: ['a:read'] } }\ncedar: { files: [a.cedar] }",
            "a",
        )
        .unwrap();
        let b = AuthzConfig::from_yaml(
            "roles: { x: { permissions: ['b:read'] } }\ncedar: { files: [b.cedar], require_permit: true }",
            "b",
        )
        .unwrap();
        a.merge(b);
        assert_eq!(a.roles["x"].permissions, ["b:read"]);
        let cedar = a.cedar.unwrap();
        assert_eq!(
            cedar.files,
            [PathBuf::from("a.cedar"), PathBuf::from("b.cedar")]
        );
        assert!(cedar.require_permit);
    }
}
