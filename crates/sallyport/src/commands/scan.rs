//! `sallyport scan`: scans tool, prompt and resource definitions and server instructions for
//! poisoning, hidden text, shadowing and look-alike names — the mcp-scan use case, with
//! nothing sent anywhere: from saved `tools/list` files, or live from the servers of a config.

mod live;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sallyport_detect::{
    DefinitionReport, DetectConfig, KnownTool, scan_definition, scan_instructions,
};
use serde_json::{Value, json};

/// `sallyport scan` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    /// JSON files to scan (repeatable): a `tools/list` result (`{"tools": [...]}`, optionally
    /// with `"server"` and `"prompts"`), or a bare array of tools. Each file is one server.
    #[arg(
        long = "tools",
        value_name = "FILE",
        num_args = 1..,
        required_unless_present = "config"
    )]
    tools: Vec<PathBuf>,
    /// Scan the servers of this config live: each is started or connected to as `serve`
    /// would, its instructions and every page of its tools, prompts, resources and resource
    /// templates are read, and it is closed. Nothing goes anywhere but those servers.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    config: Option<PathBuf>,
    /// With `-c`: scan only this server (repeatable).
    #[arg(long = "server", value_name = "NAME", requires = "config")]
    servers: Vec<String>,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
}

/// One server's definitions.
struct Source {
    server: String,
    items: Vec<Value>,
    /// Its `instructions`, when read live.
    instructions: Option<String>,
}

fn load(path: &PathBuf) -> anyhow::Result<Source> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (server, items) = match doc {
        Value::Array(items) => (stem, items),
        Value::Object(mut o) => {
            let server = o
                .get("server")
                .and_then(Value::as_str)
                .map_or(stem, str::to_owned);
            let mut items = match o.remove("tools") {
                Some(Value::Array(t)) => t,
                _ => Vec::new(),
            };
            if let Some(Value::Array(p)) = o.remove("prompts") {
                items.extend(p);
            }
            (server, items)
        }
        _ => bail!("{}: expected a JSON object or array", path.display()),
    };
    Ok(Source {
        server,
        items,
        instructions: None,
    })
}

/// Runs the scan; exit status 1 when any definition is poisoned, 2 when a configured server
/// could not be read (and nothing was poisoned).
pub(crate) fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let mut sources = args
        .tools
        .iter()
        .map(load)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut unread = 0usize;
    if let Some(config) = &args.config {
        let (read, failed) = live::read(config, &args.servers)?;
        sources.extend(read);
        for (server, error) in &failed {
            eprintln!("error    {server}: could not be read: {error}");
        }
        unread = failed.len();
    }
    let cfg = DetectConfig::default();
    let mut out = Vec::new();
    let (mut scanned, mut poisoned) = (0usize, 0usize);
    for (i, src) in sources.iter().enumerate() {
        let others: Vec<KnownTool<'_>> = sources
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .flat_map(|(_, s)| {
                s.items
                    .iter()
                    .filter_map(|t| t.get("name").and_then(Value::as_str))
                    .map(|name| KnownTool {
                        server: &s.server,
                        name,
                    })
            })
            .collect();
        if let Some(text) = &src.instructions {
            scanned += 1;
            let report = scan_instructions(text);
            poisoned += usize::from(report.is_poisoned());
            if !report.findings.is_empty() {
                out.push((src.server.clone(), "(instructions)".to_owned(), report));
            }
        }
        for item in &src.items {
            scanned += 1;
            let report = scan_definition(item, &others, &cfg);
            let name = item.get("name").and_then(Value::as_str).unwrap_or("?");
            poisoned += usize::from(report.is_poisoned());
            if !report.findings.is_empty() {
                out.push((src.server.clone(), name.to_owned(), report));
            }
        }
    }
    if args.json {
        print_json(&out, scanned, poisoned)?;
    } else {
        print_text(&out, scanned, poisoned);
    }
    Ok(if poisoned > 0 {
        ExitCode::from(1)
    } else if unread > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_json(
    out: &[(String, String, DefinitionReport)],
    scanned: usize,
    poisoned: usize,
) -> anyhow::Result<()> {
    let items: Vec<Value> = out
        .iter()
        .map(|(s, n, r)| json!({"server": s, "name": n, "poisoned": r.is_poisoned(), "findings": r.findings}))
        .collect();
    let doc = json!({"scanned": scanned, "poisoned": poisoned, "definitions": items});
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(())
}

fn print_text(out: &[(String, String, DefinitionReport)], scanned: usize, poisoned: usize) {
    for (server, name, report) in out {
        let verdict = if report.is_poisoned() {
            "POISONED"
        } else {
            "note"
        };
        println!("{verdict:<8} {server}/{name}");
        for f in &report.findings {
            let atlas = f.atlas.map(|a| format!(" ({a})")).unwrap_or_default();
            println!(
                "  {:<9} {}{atlas} at {} \"{}\"",
                format!("{:?}", f.severity).to_lowercase(),
                f.rule_id,
                if f.path.is_empty() { "/" } else { &f.path },
                f.excerpt
            );
        }
    }
    println!(
        "{scanned} definitions scanned, {poisoned} poisoned, {} with findings.",
        out.len()
    );
}
