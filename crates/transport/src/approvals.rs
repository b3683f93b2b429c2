//! Where held calls wait for an operator: the approval store and its settings, and the
//! policy version approvals are bound to.

use std::path::PathBuf;

use sallyport_approvals::{ApprovalError, ApprovalStore, ApprovalsConfig};
use sallyport_config::Config;
use serde_json::{Value, json};

/// The approval store with its settings; lives as long as the gateway.
#[derive(Debug)]
pub struct Approvals {
    store: ApprovalStore,
    config: ApprovalsConfig,
}

impl Approvals {
    /// Opens the store `config` names (`memory`, a path, or the default beside the pin
    /// store).
    pub fn open(config: &ApprovalsConfig) -> Result<Self, ApprovalError> {
        let store = match &config.store {
            Some(p) if p.as_os_str() == "memory" => ApprovalStore::in_memory()?,
            Some(p) => ApprovalStore::open(p)?,
            None => ApprovalStore::open(&default_store_path())?,
        };
        Ok(Self {
            store,
            config: config.clone(),
        })
    }

    /// The store.
    pub fn store(&self) -> &ApprovalStore {
        &self.store
    }

    /// The settings.
    pub fn config(&self) -> &ApprovalsConfig {
        &self.config
    }
}

/// `approvals.db` beside the default pin store.
pub fn default_store_path() -> PathBuf {
    sallyport_guards::default_store_path().with_file_name("approvals.db")
}

/// A digest of what decides holds: the `authz` and `detect` sections, each server's tool
/// filter, and the bytes of the policy files `authz` names (an unreadable file counts as
/// its error). 16 hex digits.
pub fn policy_version(config: &Config) -> String {
    let files: Vec<Value> = config
        .authz
        .iter()
        .flat_map(|a| a.policy_files.iter())
        .map(|path| match std::fs::read(path) {
            Ok(bytes) => json!(String::from_utf8_lossy(&bytes)),
            Err(e) => json!(format!("unreadable: {e}")),
        })
        .collect();
    let filters: Vec<Value> = config
        .servers
        .iter()
        .map(|s| {
            json!([
                s.name,
                serde_json::to_value(&s.tools).unwrap_or(Value::Null)
            ])
        })
        .collect();
    let inputs = json!({
        "authz": serde_json::to_value(&config.authz).unwrap_or(Value::Null),
        "detect": serde_json::to_value(&config.detect).unwrap_or(Value::Null),
        "tool_filters": filters,
        "policy_files": files,
    });
    let digest = sallyport_audit::event::arguments_digest(&inputs).unwrap_or_default();
    digest.chars().take(16).collect()
}
