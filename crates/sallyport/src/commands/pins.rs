//! `sallyport pins list|approve`: the pinned tool definitions of `detect.pinning.store`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sallyport_guards::PinStore;

use crate::runtime::load_config;

/// `sallyport pins` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct PinsArgs {
    /// Configuration file (its `detect.pinning.store` names the store).
    #[arg(short, long, global = true, default_value = "sallyport.yaml")]
    config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    action: PinsAction,
}

/// `sallyport pins` actions.
#[derive(Debug, clap::Subcommand)]
enum PinsAction {
    /// List pinned tools (held ones first show why, with the drift's changed paths).
    List {
        /// Only this server.
        #[arg(long)]
        server: Option<String>,
        /// Print the pins as JSON (with full diffs and definitions).
        #[arg(long)]
        json: bool,
    },
    /// Approve the last seen definition of a held tool: calls to it are allowed again.
    Approve {
        /// The upstream server.
        server: String,
        /// The upstream-local tool name.
        tool: String,
    },
}

/// Runs one pins action.
pub(crate) fn run(args: &PinsArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.config)?;
    let Some(detect) = config.detect.as_ref() else {
        bail!(
            "{} has no detect section: nothing is pinned",
            args.config.display()
        );
    };
    let store = sallyport_guards::open_store(detect).context("opening the pin store")?;
    match &args.action {
        PinsAction::List { server, json } => list(&store, server.as_deref(), *json),
        PinsAction::Approve { server, tool } => {
            match sallyport_guards::approve(&store, server, tool).context("approving")? {
                Some(pin) => {
                    println!("Approved {server}/{tool} ({}).", pin.seen_hash);
                    Ok(ExitCode::SUCCESS)
                }
                None => bail!("no pinned tool {tool} of server {server}"),
            }
        }
    }
}

fn list(store: &PinStore, server: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let pins = store.list(server)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&pins)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:<28} {:<10} {:<20} DETAIL",
        "SERVER", "TOOL", "STATE", "HASH"
    );
    for p in &pins {
        let state = p
            .held
            .map_or("approved", sallyport_guards::HoldKind::as_str);
        let hash: String = p.seen_hash.chars().take(19).collect();
        let detail: String = p
            .detail
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(100)
            .collect();
        println!(
            "{:<16} {:<28} {:<10} {:<20} {detail}",
            p.server, p.tool, state, hash
        );
    }
    Ok(ExitCode::SUCCESS)
}
