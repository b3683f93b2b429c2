//! `sallyport demo`: the gateway in front of two built-in demo servers, one over Streamable
//! HTTP (in this process) and one over stdio (this binary as a child process).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;

use crate::access_log;
use crate::runtime::Running;

/// Starts the demo and serves until stopped.
pub(crate) async fn run(listen: SocketAddr) -> anyhow::Result<ExitCode> {
    let demo_url = sallyport_demo::spawn_http()
        .await
        .context("starting the built-in demo server")?;
    let exe = std::env::current_exe().context("locating the sallyport binary")?;
    let yaml = format!(
        "listen: {{ http: \"{listen}\" }}\nservers:\n  - name: notes\n    http: {{ url: \"{demo_url}\" }}\n  - name: tools\n    stdio: {{ command: \"{}\", args: [\"demo-server\"] }}\n",
        exe.display()
    );
    let config = sallyport_config::load_str(&yaml, "demo.yaml")
        .map_err(|e| anyhow::anyhow!("demo config: {e}"))?;
    let running = Arc::new(Running::start(&config).await?);
    let _log = access_log::spawn(&running.bus, access_log::Target::Stderr);
    println!("Sallyport demo is running.");
    println!();
    println!("  MCP endpoint (Streamable HTTP, both protocol eras): http://{listen}/mcp");
    println!("  Legacy HTTP+SSE endpoint (2024-11-05):             http://{listen}/sse");
    println!("  Upstreams: `notes` (HTTP, in-process) and `tools` (stdio child process)");
    println!(
        "  Tools appear as notes__echo, tools__add, ...; every decision is logged as JSON on stderr."
    );
    println!();
    println!("  Try it with the official Python SDK (see README, \"Walkthrough\").");
    println!("  Stop with Ctrl-C.");
    super::serve_http(running, listen, None).await
}
