//! `sallyport approvals list|approve|deny`: operators' decisions on held calls, in the
//! store `approvals.store` names (shared with the running gateway).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sallyport_approvals::{Approval, ApprovalState, now_ms};
use sallyport_transport::approvals::Approvals;

use crate::runtime::load_config;

/// `sallyport approvals` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ApprovalsArgs {
    /// Configuration file (its `approvals` section names the store).
    #[arg(short, long, global = true, default_value = "sallyport.yaml")]
    config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    action: ApprovalsAction,
}

/// `sallyport approvals` actions.
#[derive(Debug, clap::Subcommand)]
enum ApprovalsAction {
    /// List approval requests, newest first (pending ones by default).
    List {
        /// Every request, decided and expired ones too.
        #[arg(long)]
        all: bool,
        /// Print the requests as JSON.
        #[arg(long)]
        json: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Approve a pending request: it admits the exact call it was filed for, once.
    Approve {
        /// The request id (or a unique prefix of at least 6 characters).
        id: String,
        /// Who decides (recorded; default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// A note for the record (and the denied caller).
        #[arg(long)]
        note: Option<String>,
    },
    /// Deny a pending request: the waiting call, and retries of it, are refused.
    Deny {
        /// The request id (or a unique prefix of at least 6 characters).
        id: String,
        /// Who decides (recorded; default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// A note for the record (the denied caller sees it).
        #[arg(long)]
        note: Option<String>,
    },
}

/// Runs one approvals action.
pub(crate) fn run(args: &ApprovalsArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.config)?;
    let Some(section) = config.approvals.as_ref() else {
        bail!(
            "{} has no approvals section: held calls are refused at once and nothing waits for approval",
            args.config.display()
        );
    };
    let approvals = Approvals::open(section).context("opening the approval store")?;
    let store = approvals.store();
    match &args.action {
        ApprovalsAction::List { all, json, limit } => {
            let state = (!all).then_some(ApprovalState::Pending);
            let list = store.list(state, now_ms(), *limit)?;
            print_list(&list, *json)
        }
        ApprovalsAction::Approve { id, by, note } => {
            let valid_ms = section.valid_secs.saturating_mul(1000);
            let a = store.approve(
                id,
                &super::operator_name(by.as_deref()),
                note.as_deref(),
                now_ms(),
                valid_ms,
            )?;
            println!(
                "Approved {} for {} on {}/{} (valid {} s, one call).",
                a.id, a.binding.principal, a.binding.server, a.binding.tool, section.valid_secs
            );
            Ok(ExitCode::SUCCESS)
        }
        ApprovalsAction::Deny { id, by, note } => {
            let a = store.deny(
                id,
                &super::operator_name(by.as_deref()),
                note.as_deref(),
                now_ms(),
            )?;
            println!(
                "Denied {} for {} on {}/{}.",
                a.id, a.binding.principal, a.binding.server, a.binding.tool
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_list(list: &[Approval], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(list)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<34} {:<9} {:<20} {:<28} {:<20} REASON",
        "ID", "STATE", "PRINCIPAL", "SERVER/TOOL", "ARGUMENTS"
    );
    for a in list {
        let b = &a.binding;
        let principal = match &b.tenant {
            Some(t) => format!("{t}/{}", b.principal),
            None => b.principal.clone(),
        };
        let digest = b.args_digest.get(..19).unwrap_or(&b.args_digest);
        println!(
            "{:<34} {:<9} {:<20} {:<28} {:<20} {}",
            a.id,
            a.state.as_str(),
            principal,
            format!("{}/{}", b.server, b.tool),
            digest,
            a.reason
        );
    }
    if list.is_empty() {
        println!("(none)");
    }
    Ok(ExitCode::SUCCESS)
}
