//! `sallyport pins list|approve`: the pinned definitions of `detect.pinning.store` — tools by
//! name, and `prompt:<name>`, `template:<uriTemplate>`, `resource:<uri>`.

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
    /// List pinned tools, prompts, resource templates and resources (held ones show why,
    /// with the drift's changed paths).
    List {
        /// Only this server.
        #[arg(long)]
        server: Option<String>,
        /// Print the pins as JSON (with full diffs and definitions).
        #[arg(long)]
        json: bool,
    },
    /// Approve the last seen definition of a held item: uses of it are allowed again.
    Approve {
        /// The upstream server.
        server: String,
        /// The item as `pins list` shows it: the upstream-local tool name, or
        /// `prompt:<name>`, `template:<uriTemplate>`, `resource:<uri>`.
        item: String,
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
        PinsAction::Approve { server, item } => {
            match sallyport_guards::approve(&store, server, item).context("approving")? {
                Some(pin) => {
                    println!("Approved {server}/{item} ({}).", pin.seen_hash);
                    Ok(ExitCode::SUCCESS)
                }
                None => bail!(
                    "no pinned item {item} of server {server} (tools by name; prompts, \
                     templates and resources as prompt:<name>, template:<uriTemplate>, \
                     resource:<uri>: see `sallyport pins list`)"
                ),
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
        "{:<16} {:<36} {:<10} {:<20} DETAIL",
        "SERVER", "ITEM", "STATE", "HASH"
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
            "{:<16} {:<36} {:<10} {:<20} {detail}",
            p.server, p.tool, state, hash
        );
    }
    Ok(ExitCode::SUCCESS)
}
