//! Configuration of the audit log (`audit:` in sallyport.yaml).

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The audit log: where it is stored, how durable appends are, checkpoints, retention and
/// exporters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct AuditConfig {
    /// Where events are stored.
    pub store: StoreConfig,
    /// Path of the Ed25519 PKCS#8 checkpoint-signing key; created (mode 0600) if absent.
    pub signing_key: PathBuf,
    /// Where to write the PEM public key for verifiers (optional).
    #[serde(default)]
    pub public_key: Option<PathBuf>,
    /// When an append counts as done, and what happens when the queue is full.
    #[serde(default)]
    pub durability: DurabilityConfig,
    /// How often signed checkpoints are written.
    #[serde(default)]
    pub checkpoint: CheckpointConfig,
    /// How long each retention class is kept.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// Where events are pushed (SIEM), besides the store.
    #[serde(default)]
    pub exporters: Vec<ExporterConfig>,
    /// Compliance tags (seed 003: `GDPR`, `HIPAA`, `SOX`, `PCI_DSS`, …) given to events by
    /// the resource they touch, for compliance reports (`/admin/compliance`). Every
    /// refused message is also tagged `policy_violation`.
    #[serde(default)]
    pub compliance: Vec<ComplianceRule>,
}

/// Tags events whose resource matches.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ComplianceRule {
    /// The tag, e.g. `GDPR`.
    pub tag: String,
    /// Resources (`mcp://server/tool`, `*` matches any run of characters), e.g.
    /// `mcp://crm/*`. An event matching any of them gets the tag.
    pub resources: Vec<String>,
}

impl AuditConfig {
    /// The compliance tags of an event with this resource and outcome, in rule order.
    pub fn compliance_tags(&self, resource: Option<&str>, refused: bool) -> Vec<String> {
        let mut tags: Vec<String> = self
            .compliance
            .iter()
            .filter(|rule| {
                resource.is_some_and(|r| {
                    rule.resources
                        .iter()
                        .any(|p| sallyport_pipeline::glob::glob_match(p, r))
                })
            })
            .map(|rule| rule.tag.clone())
            .collect();
        if refused {
            tags.push("policy_violation".into());
        }
        tags.dedup();
        tags
    }
}

/// The store backend.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreConfig {
    /// An embedded SQLite database (WAL, one writer).
    Sqlite {
        /// The database file; created if absent.
        path: PathBuf,
    },
    /// A PostgreSQL database (shared in a cluster; one chain per gateway instance).
    Postgres {
        /// libpq-style connection string without the password, e.g.
        /// `host=127.0.0.1 port=5432 user=sallyport dbname=audit`.
        connection: String,
        /// Environment variable holding the password, if one is needed.
        #[serde(default)]
        password_env: Option<String>,
        /// Schema for the tables (created if absent). `[a-z0-9_]` only.
        #[serde(default = "default_schema")]
        schema: String,
        /// Chain name: tables are `<chain>_events` and `<chain>_checkpoints`. `[a-z0-9_]` only.
        #[serde(default = "default_chain")]
        chain: String,
    },
}

fn default_schema() -> String {
    "public".to_owned()
}

fn default_chain() -> String {
    "sallyport_audit".to_owned()
}

/// Durability of appends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct DurabilityConfig {
    /// `sync`: an append returns once its batch is committed. `async`: once it is queued.
    #[serde(default)]
    pub mode: DurabilityMode,
    /// Events queued or being written at most (the loss window in `async` mode).
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// What an append does when the queue is full.
    #[serde(default)]
    pub when_full: WhenFull,
    /// Events committed in one transaction at most (group commit).
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
}

impl Default for DurabilityConfig {
    fn default() -> Self {
        Self {
            mode: DurabilityMode::default(),
            queue_capacity: default_queue_capacity(),
            when_full: WhenFull::default(),
            max_batch: default_max_batch(),
        }
    }
}

fn default_queue_capacity() -> usize {
    10_000
}

fn default_max_batch() -> usize {
    1_000
}

/// When an append counts as done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DurabilityMode {
    /// After the batch holding the event is committed (fsync for SQLite, COMMIT for PostgreSQL).
    #[default]
    Sync,
    /// After the event is queued; it is committed shortly after.
    Async,
}

/// What an append does when the queue is full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait for room (backpressure on the data path).
    #[default]
    Block,
    /// Fail the append at once; the gateway refuses the message.
    Refuse,
}

/// Signed checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct CheckpointConfig {
    /// Sign a checkpoint after this many events.
    #[serde(default = "default_every_events")]
    pub every_events: u64,
    /// Sign a checkpoint at least this often while events arrive.
    #[serde(default = "default_every_secs")]
    pub every_secs: u64,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            every_events: default_every_events(),
            every_secs: default_every_secs(),
        }
    }
}

fn default_every_events() -> u64 {
    1_000
}

fn default_every_secs() -> u64 {
    10
}

/// Retention by class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct RetentionConfig {
    /// Days to keep each retention class; classes not listed are kept forever.
    /// The class `permanent` (retention purges) is never purged.
    #[serde(default)]
    pub classes: BTreeMap<String, u32>,
}

/// A push exporter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExporterConfig {
    /// RFC 5424 syslog.
    Syslog(crate::export::SyslogConfig),
    /// HTTP webhook with an HMAC-SHA-256 signature.
    Webhook(crate::export::WebhookConfig),
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn documented_yaml_parses_and_unknown_keys_are_refused() {
        let yaml = r#"
store:
  type: postgres
  connection: "host=127.0.0.1 user=sallyport dbname=audit"
  password_env: SALLYPORT_AUDIT_PG_PASSWORD
  schema: audit
  chain: gw_1
signing_key: /var/lib/sallyport/audit-signing.pk8
durability:
  mode: async
  queue_capacity: 5000
  when_full: refuse
checkpoint:
  every_events: 500
  every_secs: 5
retention:
  classes:
    debug: 7
    security: 365
exporters:
  - type: syslog
    address: "127.0.0.1:514"
    protocol: tcp
    format: cef
  - type: webhook
    url: "https://siem.example/ingest"
    secret_env: SALLYPORT_AUDIT_WEBHOOK_SECRET
"#;
        let config: AuditConfig = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(config.durability.mode, DurabilityMode::Async);
        assert_eq!(config.durability.when_full, WhenFull::Refuse);
        assert_eq!(config.durability.max_batch, 1_000);
        assert_eq!(config.retention.classes["security"], 365);
        assert_eq!(config.exporters.len(), 2);
        let bad = yaml.replace("queue_capacity", "queue_size");
        assert!(serde_saphyr::from_str::<AuditConfig>(&bad).is_err());
        let bad = yaml.replace("    protocol: tcp", "    protocol: tcp\n    colour: red");
        assert!(serde_saphyr::from_str::<AuditConfig>(&bad).is_err());
        let schema = schemars::schema_for!(AuditConfig);
        assert!(
            serde_json::to_string(&schema)
                .unwrap()
                .contains("queue_capacity")
        );
    }
}
