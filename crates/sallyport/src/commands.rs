//! The subcommands.

pub(crate) mod admin_client;
pub(crate) mod approvals;
mod audit;
mod check;
mod demo;
pub(crate) mod incidents;
mod keys;
pub(crate) mod pins;
pub(crate) mod policy;
pub(crate) mod scan;

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tracing::info;

use crate::cli::{Cli, Command};
use crate::runtime::{self, Running};
use crate::{access_log, reload};

/// Runs one command to completion.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // The demo server runs as a child whose stderr the gateway logs: keep it quiet.
    let quiet =
        matches!(cli.command, Command::DemoServer) && std::env::var_os("SALLYPORT_LOG").is_none();
    let _trace_export = runtime::init_logging(
        if quiet { "warn" } else { &cli.log },
        cli.log_format,
        crate::tracing_export::config_path(&cli.command),
    );
    match cli.command {
        Command::Check { config } => check::run(&config),
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&sallyport_config::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config, access_log } => {
            tokio_runtime()?.block_on(serve(&config, access_log.as_deref()))
        }
        Command::Stdio { config, access_log } => {
            tokio_runtime()?.block_on(stdio(&config, access_log.as_deref()))
        }
        Command::Demo { listen } => tokio_runtime()?.block_on(demo::run(listen)),
        Command::Keys { config, action } => keys::run(
            config
                .as_deref()
                .unwrap_or(std::path::Path::new("sallyport.yaml")),
            action,
        ),
        Command::Scan(args) => scan::run(&args),
        Command::Pins(args) => pins::run(&args),
        Command::Approvals(args) => approvals::run(&args),
        Command::Incidents(args) => incidents::run(&args),
        Command::Admin(args) => tokio_runtime()?.block_on(admin_client::run(args)),
        Command::Policy(args) => policy::run(&args),
        Command::Audit { action } => tokio_runtime()?.block_on(audit::run(action)),
        Command::DemoServer => {
            tokio_runtime()?
                .block_on(sallyport_demo::serve_stdio())
                .context("demo server")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Who an operator command acts as: `--by`, else `$USER`, else `operator`.
fn operator_name(by: Option<&str>) -> String {
    by.map(str::to_owned)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "operator".into())
}

fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn serve(path: &Path, access: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = runtime::load_config(path)?;
    let addr = config
        .listen
        .http
        .context("listen.http is not set: nothing to serve on")?;
    let tls = crate::tls::acceptor(&config)?;
    let running = Arc::new(Running::start(&config).await?);
    let _log = access_log::spawn(&running.bus, access_log::Target::open(access)?);
    reload::spawn(path.to_owned(), running.clone(), &config);
    spawn_inventory(running.gateway.clone());
    crate::admin::spawn(&config, path, &running).await?;
    serve_http(running, addr, tls).await
}

/// Lists every upstream once at start and reports name collisions and unreachable servers.
fn spawn_inventory(gw: Arc<sallyport_transport::Gateway>) {
    tokio::spawn(async move {
        let (servers, collisions) = sallyport_transport::inventory::take(&gw).await;
        for (name, inv) in &servers {
            match &inv.error {
                Some(error) => {
                    tracing::warn!(server = %name, %error, "Upstream not reachable at start; it is retried on use.")
                }
                None => {
                    info!(server = %name, era = inv.era.unwrap_or("?"), tools = inv.tools.len(), prompts = inv.prompts.len(), "Upstream ready.")
                }
            }
        }
        for c in collisions {
            tracing::warn!(collision = %c, "Name collision across upstreams.");
        }
    });
}

/// Serves the gateway's HTTP listener until a shutdown signal.
pub(crate) async fn serve_http(
    running: Arc<Running>,
    addr: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> anyhow::Result<ExitCode> {
    let gw = running.gateway.clone();
    runtime::spawn_session_reaper(gw.clone());
    crate::metrics::start(&running);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() {
        tracing::warn!(%bound, "Listening on a non-loopback address: make sure authentication is configured.");
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    info!(addr = %bound, "Sallyport listening: MCP at {scheme}://{bound}/mcp (legacy SSE at /sse).");
    // The transport's accept loop: network layer per connection, slow-client timeouts.
    sallyport_transport::downstream::http::serve(
        listener,
        gw.clone(),
        tls,
        runtime::shutdown_signal(),
    )
    .await
    .context("serving HTTP")?;
    info!("Shutting down: closing sessions and upstreams.");
    gw.shutdown().await;
    running.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn stdio(path: &Path, access: Option<&Path>) -> anyhow::Result<ExitCode> {
    let config = runtime::load_config(path)?;
    let running = Arc::new(Running::start(&config).await?);
    let _log = access_log::spawn(&running.bus, access_log::Target::open(access)?);
    reload::spawn(path.to_owned(), running.clone(), &config);
    let gw = running.gateway.clone();
    sallyport_transport::downstream::stdio::serve(
        gw.clone(),
        tokio::io::stdin(),
        tokio::io::stdout(),
    )
    .await?;
    gw.shutdown().await;
    running.close().await;
    Ok(ExitCode::SUCCESS)
}
