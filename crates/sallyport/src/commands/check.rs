//! `sallyport check`: validate a config and say what it configures.

use std::path::Path;
use std::process::ExitCode;

use sallyport_config::TransportRef;

/// Prints a check-list; exits non-zero on any error.
pub(crate) fn run(path: &Path) -> anyhow::Result<ExitCode> {
    let config = match sallyport_config::load_file(path) {
        Ok(c) => c,
        Err(errors) => {
            println!("✗ {} has {} error(s):", path.display(), errors.len());
            for e in errors.errors() {
                println!("  ✗ {e}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    println!("✓ {} is valid", path.display());
    if let Some(addr) = config.listen.http {
        let mtls = config.auth.as_ref().and_then(|a| a.mtls.as_ref());
        match (&config.listen.tls, mtls) {
            (None, _) => println!("  ✓ listen: http://{addr}/mcp"),
            (Some(_), None) => println!("  ✓ listen: https://{addr}/mcp (TLS 1.3)"),
            (Some(_), Some(m)) => println!(
                "  ✓ listen: https://{addr}/mcp (TLS 1.3, client certificates {})",
                if m.require_client_cert {
                    "required"
                } else {
                    "optional"
                }
            ),
        }
    }
    for s in &config.servers {
        let t = match s.transport() {
            Some(TransportRef::Stdio(st)) => format!("stdio: {} {}", st.command, st.args.join(" ")),
            Some(TransportRef::Http(h)) => format!("http: {}", without_query(&h.url)),
            Some(TransportRef::Sse(h)) => format!("sse: {}", without_query(&h.url)),
            None => "no transport".into(),
        };
        let prefix = if s.prefix {
            format!("tools as {}{}<tool>", s.name, config.federation.separator)
        } else {
            "tools unprefixed".into()
        };
        println!("  ✓ server {}: {t} ({prefix})", s.name);
    }
    match sallyport_transport::build::guard_chain(&config) {
        Ok(chain) => println!("  ✓ guards: {}", chain.names().join(" → ")),
        Err(e) => {
            println!("  ✗ {e}");
            return Ok(ExitCode::FAILURE);
        }
    }
    operator_sections(&config);
    Ok(if response_sections(&config) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The admin listener and trace export, when configured (their errors are config errors,
/// reported above).
fn operator_sections(config: &sallyport_config::Config) {
    if let Some(admin) = &config.admin {
        let console = if admin.console {
            ", console at /console/"
        } else {
            ""
        };
        println!(
            "  ✓ admin: http://{}/admin/ ({} token(s){}{console})",
            admin.listen,
            admin.tokens.len(),
            if admin.gateway_auth && config.auth.is_some() {
                ", gateway credentials with an admin or viewer role"
            } else {
                ""
            }
        );
    }
    if let Some(tracing) = &config.tracing {
        println!(
            "  ✓ tracing: OTLP to {} as {}",
            without_query(&tracing.otlp_endpoint),
            tracing.service_name
        );
    }
}

/// Compiles the correlation rules and builds the notification sinks as `serve` would,
/// printing one line each; false when one fails.
fn response_sections(config: &sallyport_config::Config) -> bool {
    let mut ok = true;
    if let Some(c) = config.correlation.as_ref().filter(|c| c.enabled) {
        match crate::respond::compile_rules(c) {
            Ok((rules, _)) => {
                let ids: Vec<&str> = rules.ids().collect();
                println!("  ✓ correlation: {} rules ({})", ids.len(), ids.join(", "));
            }
            Err(e) => {
                println!("  ✗ {e:#}");
                ok = false;
            }
        }
    }
    if let Some(n) = &config.notifications {
        match n.build() {
            Ok(sinks) => {
                let names: Vec<String> = sinks
                    .iter()
                    .map(|s| format!("{} ({})", s.name(), s.kind()))
                    .collect();
                println!("  ✓ notifications: {}", names.join(", "));
            }
            Err(errors) => {
                for e in errors {
                    println!("  ✗ notifications.{e}");
                }
                ok = false;
            }
        }
    }
    if let Some(a) = &config.approvals {
        println!(
            "  ✓ approvals: held calls wait {} s; an approval is valid {} s, for one call",
            a.wait_secs, a.valid_secs
        );
    }
    security_state(config);
    ok
}

/// Where blocks, quarantines and holds are kept (never the Redis URL: it may hold a
/// password).
fn security_state(config: &sallyport_config::Config) {
    match &config.security_state {
        Some(s) => match (&s.path, &s.redis) {
            (Some(path), _) => println!(
                "  ✓ security state: SQLite {} (blocks, quarantines and holds survive restarts)",
                path.display()
            ),
            (None, Some(r)) => println!(
                "  ✓ security state: Redis, key prefix {} (shared by every replica with that prefix)",
                r.key_prefix
            ),
            (None, None) => {}
        },
        None if config.security_events.is_some() || config.correlation.is_some() => println!(
            "  ! security state: memory only (a restart lifts blocks, quarantines and holds; replicas do not share them)"
        ),
        None => {}
    }
}

/// A URL without its query, which may carry a token.
fn without_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?<query hidden>"),
        None => url.to_owned(),
    }
}
