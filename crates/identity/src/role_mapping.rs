//! Mapping identity-provider roles to gateway roles (seed 001's OAuth role mapping).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::identity::GUEST_ROLE;

/// How the roles asserted by a credential become gateway roles.
///
/// Each asserted role found in `roles` contributes its mapped gateway role; asserted
/// roles not in the table are ignored; a caller none of whose roles map gets
/// `default_role`. The default table is seed 001's: `admin` → `mcp_admin`,
/// `developer` → `mcp_operator`, `viewer` → `mcp_readonly`, anything else →
/// `mcp_guest`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct RoleMapping {
    /// Asserted role → gateway role. Setting this replaces the whole default table.
    pub roles: BTreeMap<String, String>,
    /// Gateway role for callers none of whose asserted roles appear in `roles`.
    pub default_role: String,
}

impl Default for RoleMapping {
    fn default() -> Self {
        let roles = [
            ("admin", "mcp_admin"),
            ("developer", "mcp_operator"),
            ("viewer", "mcp_readonly"),
        ]
        .into_iter()
        .map(|(from, to)| (from.to_owned(), to.to_owned()))
        .collect();
        Self {
            roles,
            default_role: GUEST_ROLE.to_owned(),
        }
    }
}

impl RoleMapping {
    /// The gateway roles for `asserted` roles, in first-seen order, without duplicates.
    ///
    /// ```
    /// use sallyport_identity::RoleMapping;
    ///
    /// let mapping = RoleMapping::default();
    /// assert_eq!(mapping.map(["viewer", "admin", "intern"]), ["mcp_readonly", "mcp_admin"]);
    /// assert_eq!(mapping.map(["intern"]), ["mcp_guest"]);
    /// assert_eq!(mapping.map(Vec::<String>::new()), ["mcp_guest"]);
    /// ```
    pub fn map<I, S>(&self, asserted: I) -> Vec<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut mapped: Vec<String> = Vec::new();
        for role in asserted {
            if let Some(gateway_role) = self.roles.get(role.as_ref())
                && !mapped.contains(gateway_role)
            {
                mapped.push(gateway_role.clone());
            }
        }
        if mapped.is_empty() {
            mapped.push(self.default_role.clone());
        }
        mapped
    }
}
