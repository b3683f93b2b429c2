//! `sallyport admin`: the admin API from the command line (CLI parity with the console for
//! what lives only in the running gateway: blocks, the live event stream, reload, audit
//! search, compliance reports). The token comes from an environment variable, never argv.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use futures::StreamExt;

/// `sallyport admin` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct AdminArgs {
    /// The admin listener (default: `admin.listen` of `--config`, else http://127.0.0.1:9191).
    #[arg(long, global = true)]
    url: Option<String>,
    /// Configuration file whose `admin.listen` gives the URL.
    #[arg(short, long, global = true)]
    config: Option<PathBuf>,
    /// The environment variable holding the admin token (or a gateway credential).
    #[arg(long, global = true, default_value = "SALLYPORT_ADMIN_TOKEN")]
    token_env: String,
    /// What to do.
    #[command(subcommand)]
    action: AdminAction,
}

/// `sallyport admin` actions; PATH is below `/admin`, e.g. `blocks` or `approvals/ID/approve`.
#[derive(Debug, clap::Subcommand)]
enum AdminAction {
    /// `GET /admin/PATH` (with an optional query, e.g. `audit?outcome=deny`); prints JSON.
    Get {
        /// The path below /admin.
        path: String,
    },
    /// `POST /admin/PATH` with an optional JSON body; prints JSON.
    Post {
        /// The path below /admin.
        path: String,
        /// The JSON body.
        #[arg(long)]
        json: Option<String>,
    },
    /// `DELETE /admin/PATH`.
    Delete {
        /// The path below /admin.
        path: String,
    },
    /// Follow the live decision stream (`GET /admin/events`), one JSON record per line.
    Events {
        /// Only refused and held messages.
        #[arg(long)]
        denied: bool,
    },
}

/// Runs one admin action.
pub(crate) async fn run(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let base = base_url(&args)?;
    let token = std::env::var(&args.token_env).with_context(|| {
        format!(
            "set {} to an admin token (or pass --token-env VAR)",
            args.token_env
        )
    })?;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let url = |path: &str| format!("{base}/admin/{}", path.trim_start_matches('/'));
    let request = match &args.action {
        AdminAction::Get { path } => client.get(url(path)),
        AdminAction::Post { path, json } => {
            let body: serde_json::Value = match json {
                Some(text) => serde_json::from_str(text).context("--json is not valid JSON")?,
                None => serde_json::json!({}),
            };
            client.post(url(path)).json(&body)
        }
        AdminAction::Delete { path } => client.delete(url(path)),
        AdminAction::Events { denied } => client.get(url(&format!("events?denied={denied}"))),
    };
    let resp = request
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("cannot reach the admin API at {base}"))?;
    let status = resp.status();
    if matches!(args.action, AdminAction::Events { .. }) && status.is_success() {
        return follow(resp).await;
    }
    let text = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v)?),
        Err(_) if !text.is_empty() => println!("{text}"),
        Err(_) => {}
    }
    if !status.is_success() {
        bail!("the admin API answered {status}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints each `data:` line of the event stream until it ends.
async fn follow(resp: reqwest::Response) -> anyhow::Result<ExitCode> {
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    while let Some(chunk) = stream.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(end) = buf.find('\n') {
            let line: String = buf.drain(..=end).collect();
            if let Some(data) = line.trim_end().strip_prefix("data:") {
                println!("{}", data.trim_start());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn base_url(args: &AdminArgs) -> anyhow::Result<String> {
    if let Some(url) = &args.url {
        return Ok(url.trim_end_matches('/').to_owned());
    }
    if let Some(path) = &args.config {
        let config = crate::runtime::load_config(path)?;
        let Some(admin) = config.admin else {
            bail!(
                "{} has no admin section: no admin listener runs",
                path.display()
            );
        };
        return Ok(format!("http://{}", admin.listen));
    }
    Ok("http://127.0.0.1:9191".into())
}
