//! `sallyport incidents list|show|ack|resolve`: alerts of correlation rules grouped per
//! principal or address, in the store `incidents.store` names (shared with the gateway).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sallyport_incidents::{Incident, IncidentStore};

use crate::runtime::load_config;

/// `sallyport incidents` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct IncidentsArgs {
    /// Configuration file (its `incidents` section names the store).
    #[arg(short, long, global = true, default_value = "sallyport.yaml")]
    config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    action: IncidentsAction,
}

/// `sallyport incidents` actions.
#[derive(Debug, clap::Subcommand)]
enum IncidentsAction {
    /// List incidents, most recently updated first (unresolved ones by default).
    List {
        /// Resolved ones too.
        #[arg(long)]
        all: bool,
        /// Print them as JSON.
        #[arg(long)]
        json: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show one incident with its alerts (JSON).
    Show {
        /// The incident id.
        id: String,
    },
    /// Acknowledge an open incident: someone is on it.
    Ack {
        /// The incident id.
        id: String,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// A note for the record.
        #[arg(long)]
        note: Option<String>,
    },
    /// Resolve an incident; the next alert for its key opens a new one.
    Resolve {
        /// The incident id.
        id: String,
        /// Who (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// A note for the record.
        #[arg(long)]
        note: Option<String>,
    },
}

/// Runs one incidents action.
pub(crate) fn run(args: &IncidentsArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.config)?;
    let Some(section) = config.incidents.as_ref() else {
        bail!(
            "{} has no incidents section: alerts are logged, audited and notified but not grouped",
            args.config.display()
        );
    };
    let store = match &section.store {
        Some(p) if p.as_os_str() == "memory" => {
            bail!("incidents.store is memory: only the running gateway can see those incidents")
        }
        Some(p) => IncidentStore::open(p),
        None => IncidentStore::open(&crate::respond::default_incident_store()),
    }
    .context("opening the incident store")?;
    let now = sallyport_audit::event::now_unix_ms();
    match &args.action {
        IncidentsAction::List { all, json, limit } => print_list(&store.list(*all, *limit)?, *json),
        IncidentsAction::Show { id } => {
            let incident = store.get(id)?.ok_or_else(|| {
                anyhow::anyhow!("no incident {id}; `sallyport incidents list --all` shows the ids")
            })?;
            let alerts = store.alerts(id)?;
            let shown = serde_json::json!({ "incident": incident, "alerts": alerts });
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(ExitCode::SUCCESS)
        }
        IncidentsAction::Ack { id, by, note } => {
            let i = store.acknowledge(
                id,
                &super::operator_name(by.as_deref()),
                note.as_deref(),
                now,
            )?;
            println!("Acknowledged incident {} ({}).", i.id, i.key);
            Ok(ExitCode::SUCCESS)
        }
        IncidentsAction::Resolve { id, by, note } => {
            let i = store.resolve(
                id,
                &super::operator_name(by.as_deref()),
                note.as_deref(),
                now,
            )?;
            println!("Resolved incident {} ({}).", i.id, i.key);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_list(list: &[Incident], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string_pretty(list)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<17} {:<13} {:<9} {:>6} {:<36} RULES",
        "ID", "STATE", "SEVERITY", "ALERTS", "KEY"
    );
    for i in list {
        println!(
            "{:<17} {:<13} {:<9} {:>6} {:<36} {}",
            i.id,
            i.state.as_str(),
            i.severity,
            i.alerts,
            i.key,
            i.rules.join(",")
        );
    }
    if list.is_empty() {
        println!("(none)");
    }
    Ok(ExitCode::SUCCESS)
}
