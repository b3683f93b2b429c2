//! Command-line interface.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Sallyport: every MCP message in or out is stopped, identified and inspected.
#[derive(Debug, Parser)]
#[command(name = "sallyport", version, about)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Log filter (tracing EnvFilter syntax), e.g. `info`, `sallyport=debug`.
    #[arg(long, global = true, env = "SALLYPORT_LOG", default_value = "info")]
    pub(crate) log: String,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub(crate) log_format: LogFormat,
}

/// How logs are written to stderr.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the gateway on its HTTP listener.
    Serve {
        /// Configuration file.
        #[arg(short, long)]
        config: PathBuf,
        /// Where the JSON access log goes (`-` for stdout; default: stderr).
        #[arg(long)]
        access_log: Option<PathBuf>,
    },
    /// Serve one MCP client on stdin/stdout (for desktop clients that spawn servers).
    Stdio {
        /// Configuration file.
        #[arg(short, long)]
        config: PathBuf,
        /// Where the JSON access log goes (default: stderr).
        #[arg(long)]
        access_log: Option<PathBuf>,
    },
    /// Validate a configuration file and print what it configures.
    Check {
        /// Configuration file.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Print the JSON Schema of the configuration file.
    Schema,
    /// Run a self-contained demo: the gateway in front of two built-in demo servers.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: SocketAddr,
    },
    /// Manage API keys (stored as keyed hashes in `auth.api_keys.store_path`).
    Keys {
        /// Configuration file (its `auth.api_keys` section names the store and secret);
        /// default `sallyport.yaml`.
        #[arg(short, long, global = true)]
        config: Option<PathBuf>,
        /// What to do.
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Check or export the audit trail (`audit` section of the config).
    Audit {
        /// What to do.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Scan tool definitions offline for poisoning, hidden text, shadowing and look-alike
    /// names; exits 1 when any definition is poisoned.
    Scan(crate::commands::scan::ScanArgs),
    /// List and approve pinned tool definitions (`detect.pinning`).
    Pins(crate::commands::pins::PinsArgs),
    /// Decide on calls held for human approval: list, approve, deny.
    Approvals(crate::commands::approvals::ApprovalsArgs),
    /// Alerts of correlation rules grouped per principal or address: list, show, ack, resolve.
    Incidents(crate::commands::incidents::IncidentsArgs),
    /// Evaluate described requests against the authorization policy offline (`test`), or
    /// compile it and report errors (`validate`).
    Policy(crate::commands::policy::PolicyArgs),
    /// The admin API of a running gateway: blocks, live events, reload, audit search,
    /// compliance reports — everything the console does (docs/admin.md).
    Admin(crate::commands::admin_client::AdminArgs),
    /// Run the built-in demo MCP server on stdin/stdout (used by `demo`).
    #[command(hide = true)]
    DemoServer,
}

/// Where the audit store is: a config file's `audit` section, or flags.
#[derive(Debug, clap::Args)]
pub(crate) struct AuditSource {
    /// Configuration file whose `audit` section names the store and keys.
    #[arg(short, long, required_unless_present = "sqlite")]
    pub(crate) config: Option<PathBuf>,
    /// A SQLite audit store (instead of `--config`).
    #[arg(long, conflicts_with = "config")]
    pub(crate) sqlite: Option<PathBuf>,
}

/// `sallyport audit` actions.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditAction {
    /// Verify the hash chain and the signed checkpoints; prints OK with counts, or the first
    /// break (seq and kind) and exits with status 1.
    Verify {
        /// The store.
        #[command(flatten)]
        source: AuditSource,
        /// The checkpoint public key (PEM or 64 hex characters); default: `audit.public_key`,
        /// else the key derived from `audit.signing_key`.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write stored events as JSON Lines (verifiable offline) or CEF.
    Export {
        /// The store.
        #[command(flatten)]
        source: AuditSource,
        /// Output format.
        #[arg(long, value_enum, default_value = "jsonl")]
        format: AuditFormat,
        /// First sequence number to export.
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// Output file (default: stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// Export formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum AuditFormat {
    /// One `{"seq","prev_hash","hash","event"}` object per line.
    Jsonl,
    /// ArcSight Common Event Format.
    Cef,
}

/// `sallyport keys` actions.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysAction {
    /// Create a key; the key itself is printed once and never stored.
    Create {
        /// A name for the key (who or what uses it).
        #[arg(long)]
        name: String,
        /// Roles granted (repeatable), e.g. `mcp_operator`.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Scopes granted (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Days until the key expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u64>,
        /// Source networks allowed to use the key (repeatable CIDR), e.g. `10.0.0.0/8`.
        #[arg(long = "allow-cidr")]
        allowed_cidrs: Vec<String>,
        /// Principal id the key authenticates as (default: derived from the name).
        #[arg(long)]
        principal: Option<String>,
    },
    /// List keys (prefix, name, roles, expiry, revoked) — never the keys themselves.
    List,
    /// Revoke a key by its prefix.
    Revoke {
        /// The key's visible prefix, as shown by `list`.
        prefix: String,
    },
}
