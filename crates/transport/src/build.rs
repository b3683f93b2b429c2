//! From a validated configuration to a running [`Core`]: upstream specs, federation and the
//! guard chain in its fixed stage order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sallyport_config::{Config, EraPreference, Server, ToolFilter, TransportRef};
use sallyport_mcp::Limits;
use sallyport_pipeline::guards::{ProtocolGuard, ToolFilterGuard, ToolPermits};
use sallyport_pipeline::{Chain, DecisionSink, Guard};
use sallyport_policy::Engine;

use crate::federation::{Federation, FederationError};
use crate::gateway::{Core, EdgeSettings};
use crate::relay::Relay;
use crate::upstream::{EraChoice, HttpSpec, StdioSpec, UpstreamKind, UpstreamSpec};

/// The guard chain, in its fixed stage order. Each stage says why it sits where it does.
pub fn guard_chain(config: &Config) -> Result<Chain, BuildError> {
    guard_chain_after(config, None).map(|(chain, _)| chain)
}

/// [`guard_chain`] for a reload: the authorization engine succeeds `previous` (sharing its
/// trust profiles and hints). Also returns the new engine, if any.
pub fn guard_chain_after(
    config: &Config,
    previous: Option<&Arc<Engine>>,
) -> Result<(Chain, Option<Arc<Engine>>), BuildError> {
    let filters: HashMap<String, ToolFilter> = config
        .servers
        .iter()
        .map(|s| (s.name.clone(), s.tools.clone()))
        .collect();
    let mut guards: Vec<Box<dyn Guard>> = vec![
        // 1. protocol: malformed MCP is refused before anything reads its fields.
        Box::new(ProtocolGuard),
        // 2. tool_filter: the cheapest policy; hidden tools never reach later guards or the
        //    upstream, and are removed from lists before the client sees them.
        Box::new(ToolFilterGuard::new(ConfiguredFilters(filters))),
    ];
    let mut engine = None;
    if let Some(authz) = &config.authz {
        // 3. authz: who may use which tool with which arguments; needs the routed server
        //    and tool, so it runs after routing, and before anything costly.
        let guard = authz_guard(authz, previous)?;
        engine = Some(Arc::clone(guard.engine()));
        guards.push(Box::new(guard));
    }
    if let Some(detect) = &config.detect {
        // 4. threat detection (definitions, pinning, arguments, flows, results): content
        //    checks cost the most, so they run last, on what policy already let through.
        guards.extend(sallyport_guards::build(detect)?);
    }
    Ok((Chain::new(guards), engine))
}

fn authz_guard(
    authz: &sallyport_config::Authz,
    previous: Option<&Arc<Engine>>,
) -> Result<sallyport_policy::AuthzGuard, BuildError> {
    let policy = if authz.policy_files.is_empty() {
        sallyport_policy::AuthzPolicy::shipped_default()
    } else {
        sallyport_policy::AuthzPolicy::load(&authz.policy_files).map_err(|errors| {
            BuildError::Authz(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })?
    };
    let engine = match previous {
        Some(previous) => previous.successor(policy),
        None => Engine::new(policy),
    };
    let guard = sallyport_policy::AuthzGuard::new(Arc::new(engine));
    let Some(path) = &authz.geoip_database else {
        return Ok(guard);
    };
    // A configured database that cannot be read is an error, never "no country": a Cedar
    // `forbid` on a country must not silently stop applying.
    let geoip =
        sallyport_policy::GeoIp::open(path).map_err(|e| BuildError::Authz(e.to_string()))?;
    let resolver = sallyport_policy::GeoSubjects::new(Arc::new(geoip));
    Ok(guard.with_resolver(Arc::new(resolver)))
}

/// Per-server tool filters from config.
#[derive(Debug)]
struct ConfiguredFilters(HashMap<String, ToolFilter>);

impl ToolPermits for ConfiguredFilters {
    fn permits(&self, server: &str, tool: &str) -> bool {
        self.0.get(server).is_none_or(|f| f.permits(tool))
    }
}

/// Message limits from config.
pub fn limits(config: &Config) -> Limits {
    Limits {
        max_bytes: config.limits.max_body_bytes,
        max_depth: config.limits.max_depth,
        max_batch: config.limits.max_batch,
    }
}

/// The runtime specs of every configured server, with the gateway's environment.
pub fn upstream_specs(config: &Config) -> Vec<UpstreamSpec> {
    let limits = limits(config);
    let env: HashMap<String, String> = std::env::vars().collect();
    let connect = default_connect_timeout(config);
    config
        .servers
        .iter()
        .filter_map(|s| upstream_spec(s, limits, connect, &env))
        .collect()
}

/// The runtime spec of one configured server. `env` is the gateway's environment, from which
/// only allow-listed variables pass to a child.
pub fn upstream_spec(
    server: &Server,
    limits: Limits,
    default_connect: Duration,
    env: &HashMap<String, String>,
) -> Option<UpstreamSpec> {
    let kind = match server.transport()? {
        TransportRef::Stdio(s) => {
            let mut vars: Vec<(String, String)> = s
                .env_allow
                .iter()
                .filter_map(|k| env.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            vars.extend(
                s.env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_owned())),
            );
            UpstreamKind::Stdio(StdioSpec {
                command: s.command.clone(),
                args: s.args.clone(),
                env: vars,
                cwd: s.cwd.clone(),
                max_restarts: s.restart.max_restarts,
                initial_backoff: Duration::from_millis(s.restart.initial_backoff_ms),
                max_backoff: Duration::from_millis(s.restart.max_backoff_ms),
                shutdown_grace: Duration::from_millis(s.shutdown_grace_ms),
            })
        }
        TransportRef::Http(h) => UpstreamKind::Http(http_spec(h, default_connect)),
        TransportRef::Sse(h) => UpstreamKind::Sse(http_spec(h, default_connect)),
    };
    Some(UpstreamSpec {
        name: server.name.as_str().into(),
        kind,
        prefix: server.prefix,
        era: match server.era {
            EraPreference::Auto => EraChoice::Auto,
            EraPreference::Legacy => EraChoice::Legacy,
            EraPreference::Modern => EraChoice::Modern,
        },
        request_timeout: Duration::from_secs(server.request_timeout_secs),
        limits,
    })
}

/// The connect timeout of HTTP upstreams that set none: `limits.timeouts.connect_timeout_secs`
/// when that section is set, else 10 seconds.
fn default_connect_timeout(config: &Config) -> Duration {
    let secs = config
        .limits
        .timeouts
        .as_ref()
        .map_or(10, |t| t.connect_timeout_secs);
    Duration::from_secs(secs)
}

fn http_spec(h: &sallyport_config::HttpServer, default_connect: Duration) -> HttpSpec {
    HttpSpec {
        url: h.url.clone(),
        headers: h
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose().to_owned()))
            .collect(),
        connect_timeout: h
            .connect_timeout_secs
            .map_or(default_connect, Duration::from_secs),
    }
}

/// Why a configuration could not be turned into a running core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Upstream names cannot be federated.
    #[error(transparent)]
    Federation(#[from] FederationError),
    /// The `auth` section cannot be built (unreadable secret, key store, key set…).
    #[error("auth: {0}")]
    Auth(#[from] sallyport_identity::BuildError),
    /// The `authz` policy files cannot be loaded.
    #[error("authz: {0}")]
    Authz(String),
    /// The traffic-protection sections of `limits` cannot be built.
    #[error(transparent)]
    Traffic(#[from] crate::traffic::TrafficError),
    /// The `network` section cannot be built (bad address, unreadable reputation file).
    #[error("network: {0}")]
    Network(#[from] sallyport_network::BuildError),
    /// The `detect` section cannot be built (pin store, tier-3 classifier).
    #[error("detect: {0}")]
    Detect(#[from] sallyport_guards::BuildError),
}

/// Builds a core from a validated config. `cursor_key` is used when the config sets none.
pub fn core(
    config: &Config,
    sink: Arc<dyn DecisionSink>,
    cursor_key: &[u8],
) -> Result<Core, BuildError> {
    core_after(config, sink, cursor_key, None)
}

/// [`core`] for a reload of `previous`: state meant to outlive reloads (the authorization
/// engine's trust profiles and hints) carries over.
pub fn core_after(
    config: &Config,
    sink: Arc<dyn DecisionSink>,
    cursor_key: &[u8],
    previous: Option<&Core>,
) -> Result<Core, BuildError> {
    let limits = limits(config);
    let servers = upstream_specs(config).into_iter().map(Arc::new).collect();
    let key = config
        .federation
        .cursor_key
        .as_ref()
        .map_or(cursor_key, |k| k.expose().as_bytes());
    let federation = Arc::new(Federation::new(servers, &config.federation.separator, key)?);
    let edge = EdgeSettings {
        allowed_origins: config.listen.allowed_origins.clone(),
        allowed_hosts: config.listen.allowed_hosts.clone(),
        session_idle: Duration::from_secs(config.listen.session_idle_timeout_secs),
        max_sessions: config.listen.max_sessions,
        legacy_sse: config.listen.legacy_sse,
    };
    let auth = config
        .auth
        .as_ref()
        .map(sallyport_identity::AuthConfig::build)
        .transpose()?
        .map(Arc::new);
    let traffic = Arc::new(crate::traffic::Traffic::build(&config.limits)?);
    let network = config
        .network
        .as_ref()
        .map(sallyport_network::NetworkGate::build)
        .transpose()?
        .map(Arc::new);
    let previous_engine = previous.and_then(|p| p.authz_engine.as_ref());
    let (chain, authz_engine) = guard_chain_after(config, previous_engine)?;
    let policy_version = crate::approvals::policy_version(config);
    Ok(Core {
        policy_version,
        federation,
        relay: Relay::new(chain, sink),
        authz_engine,
        limits,
        edge,
        auth,
        traffic,
        network,
        health_check: config.limits.health_check.as_ref().map(|h| {
            crate::health::HealthCheckSettings {
                interval: Duration::from_secs(h.interval_secs),
                timeout: Duration::from_secs(h.timeout_secs),
            }
        }),
    })
}
