//! Roles → permissions, and the RBAC check.

use std::collections::HashMap;

use serde::Serialize;

use crate::config::{AuthzConfig, DefaultRoles};
use crate::error::PolicyError;
use crate::permission::{Action, Permission, ResourcePath};
use crate::subject::{Subject, SubjectKind};

/// Which permission granted a request, and through what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionUse {
    /// The permission string, e.g. `*:read`.
    pub permission: String,
    /// The role that holds it, or `subject` for a directly granted permission.
    pub via: String,
}

#[derive(Debug, Clone)]
struct Role {
    name: String,
    permissions: Vec<Permission>,
}

/// Compiled roles.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    roles: Vec<Role>,
    by_name: HashMap<String, usize>,
    defaults: DefaultRoles,
}

impl Roles {
    /// Compiles the roles of `config`. Bad permissions and clashing names or aliases are
    /// errors with field paths.
    pub fn new(config: &AuthzConfig, origin: &str) -> Result<Self, Vec<PolicyError>> {
        let mut errors = Vec::new();
        let mut out = Self {
            defaults: config.default_roles.clone().unwrap_or_default(),
            ..Self::default()
        };
        for (name, rc) in &config.roles {
            let index = out.roles.len();
            let mut permissions = Vec::with_capacity(rc.permissions.len());
            for (i, text) in rc.permissions.iter().enumerate() {
                match Permission::parse(text) {
                    Ok(p) => permissions.push(p),
                    Err(e) => errors.push(
                        PolicyError::new(origin, e.to_string())
                            .at_path(format!("roles.{name}.permissions[{i}]")),
                    ),
                }
            }
            for alias in std::iter::once(name).chain(&rc.aliases) {
                if out.by_name.insert(alias.clone(), index).is_some() {
                    errors.push(
                        PolicyError::new(
                            origin,
                            format!("role name or alias {alias:?} is used twice"),
                        )
                        .at_path(format!("roles.{name}")),
                    );
                }
            }
            out.roles.push(Role {
                name: name.clone(),
                permissions,
            });
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// The canonical role names that apply to `subject` (its own, or its kind's defaults
    /// when it has none), and the names that match no role.
    pub fn effective<'a>(&'a self, subject: &'a Subject) -> (Vec<&'a str>, Vec<&'a str>) {
        let asked: &[String] = if subject.roles.is_empty() {
            match subject.kind {
                SubjectKind::Local => &self.defaults.local,
                SubjectKind::Anonymous => &self.defaults.anonymous,
                SubjectKind::User => &self.defaults.user,
                SubjectKind::Service => &self.defaults.service,
            }
        } else {
            &subject.roles
        };
        let mut known = Vec::with_capacity(asked.len());
        let mut unknown = Vec::new();
        for name in asked {
            match self
                .by_name
                .get(name.as_str())
                .and_then(|i| self.roles.get(*i))
            {
                Some(role) if !known.contains(&role.name.as_str()) => {
                    known.push(role.name.as_str())
                }
                Some(_) => {}
                None => unknown.push(name.as_str()),
            }
        }
        (known, unknown)
    }

    /// The first permission, among `roles`' and the subject's own, that grants `action` on
    /// `resource`.
    pub fn check(
        &self,
        roles: &[&str],
        subject: &Subject,
        resource: &ResourcePath,
        action: Action,
    ) -> Option<PermissionUse> {
        for name in roles {
            let Some(role) = self.by_name.get(*name).and_then(|i| self.roles.get(*i)) else {
                continue;
            };
            if let Some(p) = role.permissions.iter().find(|p| p.allows(resource, action)) {
                return Some(PermissionUse {
                    permission: p.to_string(),
                    via: role.name.clone(),
                });
            }
        }
        subject
            .permissions
            .iter()
            .find(|p| p.allows(resource, action))
            .map(|p| PermissionUse {
                permission: p.to_string(),
                via: "subject".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(yaml: &str) -> Result<Roles, Vec<PolicyError>> {
        Roles::new(&AuthzConfig::from_yaml(yaml, "t").unwrap(), "t")
    }

    #[test]
    fn aliases_defaults_and_direct_permissions() {
        let r =
            roles("roles:\n  admin: { aliases: [mcp_admin], permissions: ['*:*'] }\n  guest: {}\n")
                .unwrap();
        let mut s = Subject {
            roles: vec!["mcp_admin".into(), "nope".into()],
            ..Subject::default()
        };
        let (known, unknown) = r.effective(&s);
        assert_eq!((known, unknown), (vec!["admin"], vec!["nope"]));
        s.roles.clear();
        assert_eq!(r.effective(&s).0, ["guest"]);
        s.kind = SubjectKind::Local;
        assert_eq!(r.effective(&s).0, ["admin"]);

        let path = ResourcePath::parse("mcp.docker").unwrap();
        s.kind = SubjectKind::Service;
        s.permissions = vec![Permission::parse("mcp.docker:*").unwrap()];
        let (known, _) = r.effective(&s);
        let used = r.check(&known, &s, &path, Action::Delete).unwrap();
        assert_eq!(
            (used.permission.as_str(), used.via.as_str()),
            ("mcp.docker:*", "subject")
        );
    }

    #[test]
    fn bad_permissions_and_clashing_aliases_are_errors() {
        let errs =
            roles("roles:\n  a: { aliases: [b], permissions: ['x:run'] }\n  b: {}\n").unwrap_err();
        let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["roles.a.permissions[0]", "roles.b"]);
    }
}
