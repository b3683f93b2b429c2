//! `sallyport audit verify|export`: prove the audit trail intact, or write it out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use sallyport_audit::{
    AuditConfig, ExportFormat, SigningKey, StoreConfig, VerifyOptions, VerifyReport, VerifyingKey,
};

use crate::cli::{AuditAction, AuditFormat, AuditSource};
use crate::runtime::load_config;

/// Runs one `audit` action.
pub(crate) async fn run(action: AuditAction) -> anyhow::Result<ExitCode> {
    match action {
        AuditAction::Verify {
            source,
            public_key,
            json,
        } => verify(&source, public_key.as_deref(), json).await,
        AuditAction::Export {
            source,
            format,
            from,
            output,
        } => export(&source, format, from, output).await,
    }
}

async fn verify(source: &AuditSource, key: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let (store, config) = resolve(source)?;
    let key = verifying_key(key, config.as_ref())?;
    let report = sallyport_audit::verify_store(&store, &key, VerifyOptions::default())
        .await
        .with_context(|| format!("reading {}", crate::audit::describe(&store)))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, &key);
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(report: &VerifyReport, key: &VerifyingKey) {
    match &report.first_break {
        None => {
            println!(
                "OK: {} events checked (head seq {}), {} checkpoints verified with key {}, {} purged by retention",
                report.events_checked,
                report.head_seq,
                report.checkpoints_checked,
                key.key_id(),
                report.events_purged,
            );
            if let Some((from, to)) = report.unsigned_tail {
                println!(
                    "note: events {from}..={to} follow the last signed checkpoint (chained, not yet signed)"
                );
            }
        }
        Some(b) => {
            let kind = serde_json::to_value(b.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            println!("BROKEN at seq {} ({kind}): {}", b.seq, b.detail);
            println!(
                "{} events checked before the break; last valid checkpoint: {}",
                report.events_checked,
                report
                    .last_checkpoint
                    .map_or_else(|| "none".to_owned(), |s| s.to_string()),
            );
        }
    }
}

async fn export(
    source: &AuditSource,
    format: AuditFormat,
    from: u64,
    output: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let (store, _) = resolve(source)?;
    let format = match format {
        AuditFormat::Jsonl => ExportFormat::Jsonl,
        AuditFormat::Cef => ExportFormat::Cef,
    };
    let out: Box<dyn Write + Send> = match &output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let n = sallyport_audit::export_store(&store, format, from, out)
        .await
        .with_context(|| format!("exporting {}", crate::audit::describe(&store)))?;
    eprintln!("{n} events exported.");
    Ok(ExitCode::SUCCESS)
}

/// The store to read, and the audit config when it came from a file.
fn resolve(source: &AuditSource) -> anyhow::Result<(StoreConfig, Option<AuditConfig>)> {
    if let Some(path) = &source.sqlite {
        return Ok((StoreConfig::Sqlite { path: path.clone() }, None));
    }
    let Some(path) = &source.config else {
        bail!("give --config FILE or --sqlite PATH");
    };
    let config = load_config(path)?;
    let Some(audit) = config.audit else {
        bail!("{} has no `audit` section", path.display());
    };
    Ok((audit.store.clone(), Some(audit)))
}

/// The checkpoint key: the flag, else `audit.public_key`, else derived from an existing
/// `audit.signing_key` (never created here).
fn verifying_key(
    flag: Option<&Path>,
    config: Option<&AuditConfig>,
) -> anyhow::Result<VerifyingKey> {
    let path = flag.or_else(|| config.and_then(|c| c.public_key.as_deref()));
    if let Some(path) = path {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return VerifyingKey::parse(text.trim())
            .with_context(|| format!("{} is not an Ed25519 public key", path.display()));
    }
    let Some(private) = config.map(|c| &c.signing_key).filter(|p| p.exists()) else {
        bail!("no public key: give --public-key, or set audit.public_key");
    };
    let key = SigningKey::load_or_create(private)
        .with_context(|| format!("reading {}", private.display()))?;
    Ok(*key.verifying_key())
}
