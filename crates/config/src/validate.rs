//! Semantic checks after deserialisation. Every check runs; every problem is kept.
//!
//! Messages name the offending value only when it cannot be a secret (names,
//! patterns, commands); header values, keys and URLs are never echoed. The loader
//! additionally scrubs interpolated environment values from every message.

mod network;
mod traffic;

use std::collections::HashMap;

use crate::server::{HttpServer, Server, StdioServer, ToolFilter};
use crate::types::{Config, Federation, Listen, MessageLimits};

/// One problem, addressed by field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    pub(crate) path: String,
    pub(crate) message: String,
}

/// The issues found so far.
#[derive(Debug, Default)]
pub(crate) struct Issues(Vec<Issue>);

impl Issues {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Issue {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Records `message` at `path` when `value` is zero.
    fn positive(&mut self, path: impl Into<String>, value: u64) {
        if value == 0 {
            self.push(path, "must be greater than 0");
        }
    }
}

/// Checks a deserialised configuration; returns every issue found.
pub(crate) fn check(config: &Config) -> Vec<Issue> {
    let mut issues = Issues::default();
    check_listen(&config.listen, &mut issues);
    check_servers(&config.servers, &mut issues);
    check_federation(&config.federation, &mut issues);
    check_limits(&config.limits, &mut issues);
    check_tls(config, &mut issues);
    if let Some(incidents) = &config.incidents {
        for (path, message) in incidents.problems() {
            issues.push(path, message);
        }
    }
    if let Some(state) = &config.security_state {
        for (path, message) in state.problems() {
            issues.push(path, message);
        }
    }
    if let Some(approvals) = &config.approvals {
        for (path, message) in approvals.problems() {
            issues.push(path, message);
        }
    }
    check_admin(config, &mut issues);
    if let Some(Err(e)) = config.detect.as_ref().map(|d| d.detectors.check_tier3()) {
        issues.push("detect.detectors.minilm", e.to_string());
    }
    issues.0
}

fn check_admin(config: &Config, issues: &mut Issues) {
    let Some(admin) = &config.admin else { return };
    for (path, message) in admin.problems() {
        issues.push(path, message);
    }
    let gateway_auth = admin.gateway_auth && config.auth.is_some();
    if admin.tokens.is_empty() && !gateway_auth {
        issues.push(
            "admin",
            "the admin listener has no way to authenticate anyone: add `tokens` or an `auth` section (with `gateway_auth: true`)".to_owned(),
        );
    }
}

fn check_listen(listen: &Listen, issues: &mut Issues) {
    for (i, origin) in listen.allowed_origins.iter().enumerate() {
        if let Err(message) = network::check_origin(origin) {
            issues.push(format!("listen.allowed_origins[{i}]"), message);
        }
    }
    for (i, host) in listen.allowed_hosts.iter().enumerate() {
        if let Err(message) = network::check_host(host) {
            issues.push(format!("listen.allowed_hosts[{i}]"), message);
        }
    }
    issues.positive(
        "listen.session_idle_timeout_secs",
        listen.session_idle_timeout_secs,
    );
    issues.positive("listen.max_sessions", len_u64(listen.max_sessions));
}

/// Client certificates need a TLS listener to arrive on.
fn check_tls(config: &Config, issues: &mut Issues) {
    let mtls = config.auth.as_ref().is_some_and(|a| a.mtls.is_some());
    if mtls && config.listen.tls.is_none() {
        issues.push(
            "auth.mtls",
            "client certificates need a TLS listener: set listen.tls.cert_path and listen.tls.key_path",
        );
    }
}

fn check_servers(servers: &[Server], issues: &mut Issues) {
    if servers.is_empty() {
        issues.push("servers", "at least one server is required");
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, server) in servers.iter().enumerate() {
        let at = format!("servers[{i}]");
        if let Err(message) = check_server_name(&server.name) {
            issues.push(format!("{at}.name"), message);
        } else if let Some(first) = seen.get(server.name.as_str()) {
            issues.push(
                format!("{at}.name"),
                format!(
                    "duplicate server name \"{}\" (also servers[{first}])",
                    server.name
                ),
            );
        } else {
            seen.insert(&server.name, i);
        }
        check_server(server, &at, issues);
        if !server.prefix && servers.len() > 1 {
            issues.push(
                format!("{at}.prefix"),
                "`prefix: false` is only allowed when there is a single server \
                 (unprefixed names from several servers could collide)",
            );
        }
    }
}

/// Server names appear in tool prefixes (`name__tool`) and resource URIs
/// (`name+scheme://…`), hence no `_` or `+`.
fn check_server_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = name.len() <= 32
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid server name \"{}\": use 1 to 32 characters from a-z, 0-9 and `-`, \
             starting with a letter",
            name.escape_debug()
        ))
    }
}

fn check_server(server: &Server, at: &str, issues: &mut Issues) {
    let set: Vec<&str> = [
        ("stdio", server.stdio.is_some()),
        ("http", server.http.is_some()),
        ("sse", server.sse.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, is_set)| is_set.then_some(name))
    .collect();
    let name = server.name.escape_debug();
    match set.as_slice() {
        [_] => {}
        [] => issues.push(
            at,
            format!("server \"{name}\" has no transport: set one of `stdio`, `http` or `sse`"),
        ),
        several => issues.push(
            at,
            format!(
                "server \"{name}\" sets {}: set exactly one transport",
                several
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        ),
    }
    if let Some(stdio) = &server.stdio {
        check_stdio(stdio, &format!("{at}.stdio"), issues);
    }
    if let Some(http) = &server.http {
        check_http(http, &format!("{at}.http"), issues);
    }
    if let Some(sse) = &server.sse {
        check_http(sse, &format!("{at}.sse"), issues);
    }
    check_tools(&server.tools, &format!("{at}.tools"), issues);
    issues.positive(
        format!("{at}.request_timeout_secs"),
        server.request_timeout_secs,
    );
}

fn check_stdio(stdio: &StdioServer, at: &str, issues: &mut Issues) {
    let command = &stdio.command;
    if command.trim().is_empty() {
        issues.push(format!("{at}.command"), "command is empty");
    } else if command.contains(char::is_whitespace) {
        let mut words = command.split_whitespace();
        let program = words.next().unwrap_or_default();
        let args: Vec<String> = words
            .chain(stdio.args.iter().map(String::as_str))
            .map(quote)
            .collect();
        issues.push(
            format!("{at}.command"),
            format!(
                "command contains spaces; it is run directly, not by a shell: \
                 write `command: {}` and `args: [{}]`",
                quote(program),
                args.join(", ")
            ),
        );
    } else if command.contains('\0') {
        issues.push(format!("{at}.command"), "command contains a NUL character");
    }
    for (i, arg) in stdio.args.iter().enumerate() {
        if arg.contains('\0') {
            issues.push(
                format!("{at}.args[{i}]"),
                "argument contains a NUL character",
            );
        }
    }
    for (name, value) in &stdio.env {
        if let Err(message) = check_env_name(name) {
            issues.push(format!("{at}.env.{name}"), message);
        }
        if value.expose().contains('\0') {
            issues.push(format!("{at}.env.{name}"), "value contains a NUL character");
        }
    }
    for (i, name) in stdio.env_allow.iter().enumerate() {
        if let Err(message) = check_env_name(name) {
            issues.push(format!("{at}.env_allow[{i}]"), message);
        }
    }
    let restart = &stdio.restart;
    issues.positive(
        format!("{at}.restart.initial_backoff_ms"),
        restart.initial_backoff_ms,
    );
    if restart.initial_backoff_ms > restart.max_backoff_ms {
        issues.push(
            format!("{at}.restart.max_backoff_ms"),
            "must be at least `initial_backoff_ms`",
        );
    }
}

/// Quotes a word for a YAML flow sequence in a hint.
fn quote(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        word.to_owned()
    } else {
        format!("\"{}\"", word.escape_debug())
    }
}

fn check_env_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        Err(format!(
            "invalid environment variable name \"{}\"",
            name.escape_debug()
        ))
    } else {
        Ok(())
    }
}

fn check_http(http: &HttpServer, at: &str, issues: &mut Issues) {
    if let Err(message) = network::check_url(&http.url) {
        issues.push(format!("{at}.url"), message);
    }
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (name, value) in &http.headers {
        let path = format!("{at}.headers.{name}");
        if let Err(message) = network::check_header(name, value.expose()) {
            issues.push(path, message);
        } else if let Some(first) = seen.insert(name.to_ascii_lowercase(), name) {
            issues.push(
                path,
                format!("header `{name}` repeats `{first}` (header names ignore case)"),
            );
        }
    }
    if let Some(secs) = http.connect_timeout_secs {
        issues.positive(format!("{at}.connect_timeout_secs"), secs);
    }
}

fn check_tools(tools: &ToolFilter, at: &str, issues: &mut Issues) {
    for (list, patterns) in [("allow", &tools.allow), ("deny", &tools.deny)] {
        for (i, pattern) in patterns.iter().enumerate() {
            if pattern.is_empty() {
                issues.push(
                    format!("{at}.{list}[{i}]"),
                    "empty pattern (use `*` to match every tool)",
                );
            }
        }
    }
}

fn check_federation(federation: &Federation, issues: &mut Issues) {
    let separator = &federation.separator;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-".contains(c);
    let in_names = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    if separator.is_empty() {
        issues.push("federation.separator", "separator is empty");
    } else if !separator.chars().all(allowed) {
        issues.push(
            "federation.separator",
            "separator may only contain A-Z, a-z, 0-9, `_`, `.` and `-` (tool name characters)",
        );
    } else if separator.chars().all(in_names) {
        issues.push(
            "federation.separator",
            format!(
                "separator \"{separator}\" could occur inside a server name; include `_`, `.` \
                 or an upper-case letter (default `__`)"
            ),
        );
    }
    if let Some(key) = &federation.cursor_key
        && key.expose().len() < 32
    {
        issues.push(
            "federation.cursor_key",
            "HMAC key must be at least 32 bytes long",
        );
    }
}

fn check_limits(limits: &MessageLimits, issues: &mut Issues) {
    let MessageLimits {
        max_body_bytes,
        max_depth,
        max_batch,
        max_line_bytes,
        max_sse_event_bytes,
        ..
    } = *limits;
    traffic::check(limits, issues);
    for (name, value) in [
        ("max_body_bytes", max_body_bytes),
        ("max_depth", max_depth),
        ("max_batch", max_batch),
        ("max_line_bytes", max_line_bytes),
        ("max_sse_event_bytes", max_sse_event_bytes),
    ] {
        issues.positive(format!("limits.{name}"), len_u64(value));
    }
}

fn len_u64(value: usize) -> u64 {
    u64::try_from(value).unwrap_or(u64::MAX)
}
