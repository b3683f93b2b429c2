//! What an approval is bound to: the exact call.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The exact call an approval covers. Two calls with the same binding are the same call for
/// approval purposes; any difference (another argument value, another principal, a policy
/// change) is another call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalBinding {
    /// The caller's principal id.
    pub principal: String,
    /// The caller's tenant.
    pub tenant: Option<String>,
    /// The upstream server.
    pub server: String,
    /// The upstream-local tool name.
    pub tool: String,
    /// `sha256:<hex>` over the canonical JSON of the arguments: the same digest the audit
    /// event of the call records as `request.arguments_sha256`.
    pub args_digest: String,
    /// The version of the policy that held the call.
    pub policy_version: String,
}

impl ApprovalBinding {
    /// A binding from its parts.
    pub fn new(
        principal: &str,
        tenant: Option<&str>,
        server: &str,
        tool: &str,
        args_digest: &str,
        policy_version: &str,
    ) -> Self {
        Self {
            principal: principal.to_owned(),
            tenant: tenant.map(str::to_owned),
            server: server.to_owned(),
            tool: tool.to_owned(),
            args_digest: args_digest.to_owned(),
            policy_version: policy_version.to_owned(),
        }
    }

    /// One hash over every field (length-prefixed, so no two bindings collide by
    /// concatenation): the store's lookup key.
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        let tenant = self.tenant.as_deref();
        for part in [
            Some(self.principal.as_str()),
            tenant,
            Some(self.server.as_str()),
            Some(self.tool.as_str()),
            Some(self.args_digest.as_str()),
            Some(self.policy_version.as_str()),
        ] {
            match part {
                Some(p) => {
                    h.update((p.len() as u64 + 1).to_be_bytes());
                    h.update(p.as_bytes());
                }
                None => h.update(0u64.to_be_bytes()),
            }
        }
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn base() -> ApprovalBinding {
        ApprovalBinding::new("alice", Some("acme"), "fs", "delete", "sha256:1", "v1")
    }

    #[test]
    fn every_field_changes_the_key() {
        let k = base().key();
        let mut changed = Vec::new();
        let mut b = base();
        b.principal = "bob".into();
        changed.push(b);
        let mut b = base();
        b.tenant = None;
        changed.push(b);
        let mut b = base();
        b.server = "db".into();
        changed.push(b);
        let mut b = base();
        b.tool = "read".into();
        changed.push(b);
        let mut b = base();
        b.args_digest = "sha256:2".into();
        changed.push(b);
        let mut b = base();
        b.policy_version = "v2".into();
        changed.push(b);
        for b in changed {
            assert_ne!(b.key(), k, "{b:?}");
        }
        assert_eq!(base().key(), k);
    }

    #[test]
    fn concatenation_does_not_collide() {
        let a = ApprovalBinding::new("ab", None, "c", "t", "d", "v");
        let b = ApprovalBinding::new("a", None, "bc", "t", "d", "v");
        assert_ne!(a.key(), b.key());
        let empty_tenant = ApprovalBinding::new("a", Some(""), "c", "t", "d", "v");
        let no_tenant = ApprovalBinding::new("a", None, "c", "t", "d", "v");
        assert_ne!(empty_tenant.key(), no_tenant.key());
    }
}
