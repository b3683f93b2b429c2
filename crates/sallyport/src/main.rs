//! `sallyport`: the zero-trust security gateway for AI agents.

mod access_log;
mod admin;
mod audit;
mod cli;
mod commands;
mod log_fields;
mod metrics;
mod reload;
mod respond;
mod runtime;
mod tls;
mod tracing_export;

use clap::Parser;

/// mimalloc instead of the system allocator: the relay allocates and frees many small
/// buffers per message, and glibc's malloc/free were ~13 % of the gateway's CPU at
/// saturation (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // rustls has two providers in the tree (aws-lc-rs and ring); pick one before any TLS use.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
