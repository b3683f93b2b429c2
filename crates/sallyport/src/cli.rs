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
    /// Run the built-in demo MCP server on stdin/stdout (used by `demo`).
    #[command(hide = true)]
    DemoServer,
}
