//! Loading: error paths, locations and messages; defaults; secrets.

use std::collections::HashMap;
use std::net::SocketAddr;

use sallyport_config::{
    Config, ConfigError, ConfigErrors, EraPreference, FailureMode, Location, TransportRef,
    load_str_with_env,
};

const ORIGIN: &str = "sallyport.yaml";

fn load(yaml: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    load_str_with_env(yaml, ORIGIN, |name| env.get(name).cloned())
}

fn errors(yaml: &str, env: &[(&str, &str)]) -> Vec<ConfigError> {
    match load(yaml, env) {
        Ok(config) => panic!("expected errors, loaded {config:?}"),
        Err(errors) => errors.0,
    }
}

/// `(path, line, column, message)` of one expected error.
type Expected<'a> = (&'a str, usize, usize, &'a str);

fn simplify(errors: &[ConfigError]) -> Vec<Expected<'_>> {
    errors
        .iter()
        .map(|e| {
            assert_eq!(e.origin, ORIGIN);
            let Location { line, column } = e.location.unwrap_or(Location { line: 0, column: 0 });
            (e.path.as_str(), line, column, e.message.as_str())
        })
        .collect()
}

#[test]
fn error_cases() {
    let cases: &[(&str, &str, &[Expected<'_>])] = &[
        (
            "unknown field",
            "servers:\n  - name: a\n    stdio: { command: x }\n    timeout_secs: 3\n",
            &[(
                "servers[0].timeout_secs",
                4,
                5,
                "unknown field \"timeout_secs\"; expected one of: name, stdio, http, sse, \
                 prefix, tools, request_timeout_secs, era",
            )],
        ),
        (
            "unknown nested field",
            "servers:\n  - name: a\n    stdio:\n      command: x\n      restart: { retries: 1 }\n",
            &[(
                "servers[0].stdio.restart.retries",
                5,
                18,
                "unknown field \"retries\"; expected one of: max_restarts, initial_backoff_ms, \
                 max_backoff_ms",
            )],
        ),
        (
            "missing servers",
            "listen: { legacy_sse: false }\n",
            &[("", 1, 1, "missing field `servers`")],
        ),
        (
            "unknown enum value",
            "guards: { fail_mode: closed }\nservers: []\n",
            &[(
                "guards.fail_mode",
                1,
                22,
                "unknown value \"closed\"; expected one of: fail_closed, fail_open",
            )],
        ),
        (
            "YAML 1.1 boolean",
            "servers:\n  - name: a\n    stdio: { command: x }\n    prefix: yes\n",
            &[(
                "servers[0].prefix",
                4,
                13,
                "invalid boolean (strict mode expects true/false)",
            )],
        ),
        (
            "duplicate key",
            "servers:\n  - name: a\n    name: b\n",
            &[("servers[0].name", 3, 5, "duplicate key")],
        ),
        (
            "duplicate server names",
            "servers:\n  - name: time\n    http: { url: \"http://127.0.0.1:9000/mcp\" }\n  \
             - name: time\n    sse: { url: \"http://127.0.0.1:9001/sse\" }\n",
            &[(
                "servers[1].name",
                4,
                11,
                "duplicate server name \"time\" (also servers[0])",
            )],
        ),
        (
            "two transports",
            "servers:\n  - name: both\n    stdio: { command: x }\n    \
             http: { url: \"http://127.0.0.1:9000/mcp\" }\n",
            &[(
                "servers[0]",
                2,
                5,
                "server \"both\" sets `stdio` and `http`: set exactly one transport",
            )],
        ),
        (
            "no transport",
            "servers:\n  - name: none\n",
            &[(
                "servers[0]",
                2,
                5,
                "server \"none\" has no transport: set one of `stdio`, `http` or `sse`",
            )],
        ),
        (
            "missing variable",
            "servers:\n  - name: a\n    http: { url: \"${UPSTREAM_URL}\" }\n",
            &[(
                "",
                3,
                19,
                "environment variable `UPSTREAM_URL` is not set (give a default with \
                 `${UPSTREAM_URL:-default}`)",
            )],
        ),
        (
            "URL without scheme",
            "servers:\n  - name: a\n    http: { url: \"localhost:9000/mcp\" }\n",
            &[(
                "servers[0].http.url",
                3,
                18,
                "URL scheme must be http or https, not `localhost`",
            )],
        ),
        (
            "relative URL",
            "servers:\n  - name: a\n    sse:\n      url: /sse\n",
            &[(
                "servers[0].sse.url",
                4,
                12,
                "invalid URL: relative URL without a base",
            )],
        ),
        (
            "bad server name",
            "servers:\n  - name: My_Server\n    stdio: { command: x }\n",
            &[(
                "servers[0].name",
                2,
                11,
                "invalid server name \"My_Server\": use 1 to 32 characters from a-z, 0-9 and \
                 `-`, starting with a letter",
            )],
        ),
        (
            "shell string command",
            "servers:\n  - name: e\n    stdio:\n      command: \"npx -y \
             @modelcontextprotocol/server-everything\"\n",
            &[(
                "servers[0].stdio.command",
                4,
                16,
                "command contains spaces; it is run directly, not by a shell: write \
                 `command: npx` and `args: [-y, \"@modelcontextprotocol/server-everything\"]`",
            )],
        ),
        (
            "prefix off with two servers",
            "servers:\n  - name: a\n    stdio: { command: x }\n    prefix: false\n  \
             - name: b\n    stdio: { command: y }\n",
            &[(
                "servers[0].prefix",
                4,
                13,
                "`prefix: false` is only allowed when there is a single server (unprefixed \
                 names from several servers could collide)",
            )],
        ),
        (
            "separator that fits in a name",
            "federation: { separator: \"-\" }\nservers:\n  - name: a\n    stdio: { command: x }\n",
            &[(
                "federation.separator",
                1,
                26,
                "separator \"-\" could occur inside a server name; include `_`, `.` or an \
                 upper-case letter (default `__`)",
            )],
        ),
        (
            "zero limit",
            "limits: { max_batch: 0 }\nservers:\n  - name: a\n    stdio: { command: x }\n",
            &[("limits.max_batch", 1, 22, "must be greater than 0")],
        ),
        (
            "empty server list",
            "servers: []\n",
            &[("servers", 1, 10, "at least one server is required")],
        ),
        (
            "managed header",
            "servers:\n  - name: a\n    http:\n      url: http://x\n      headers:\n        \
             Mcp-Session-Id: abc\n",
            &[(
                "servers[0].http.headers.Mcp-Session-Id",
                6,
                25,
                "header `Mcp-Session-Id` is set by the gateway and cannot be configured",
            )],
        ),
    ];
    for (name, yaml, expected) in cases {
        let found = errors(yaml, &[]);
        assert_eq!(simplify(&found), *expected, "case: {name}");
    }
}

#[test]
fn collects_every_error_in_document_order() {
    let yaml = r#"
listen:
  allowed_hosts: ["localhost:8787"]
servers:
  - name: Bad_Name
    stdio: { command: "node server.js" }
  - name: ok
    http: { url: "ftp://example.com" }
    tools: { allow: [""] }
  - name: ok
    sse: { url: "http://127.0.0.1:9001/sse" }
    request_timeout_secs: 0
federation:
  separator: ""
"#;
    let found = errors(yaml, &[]);
    let paths: Vec<(&str, usize)> = found
        .iter()
        .map(|e| (e.path.as_str(), e.location.map_or(0, |l| l.line)))
        .collect();
    assert_eq!(
        paths,
        [
            ("listen.allowed_hosts[0]", 3),
            ("servers[0].name", 5),
            ("servers[0].stdio.command", 6),
            ("servers[1].http.url", 8),
            ("servers[1].tools.allow[0]", 9),
            ("servers[2].name", 10),
            ("servers[2].request_timeout_secs", 12),
            ("federation.separator", 14),
        ]
    );
    let text = ConfigErrors(found).to_string();
    assert_eq!(text.lines().count(), 8);
    assert!(text.starts_with(
        "sallyport.yaml:3:19: listen.allowed_hosts[0]: ports are ignored when matching hosts"
    ));
}

#[test]
fn every_undefined_variable_is_reported() {
    let yaml = "servers:\n  - name: ${NAME}\n    http: { url: \"${URL}\" }\n";
    let found = errors(yaml, &[]);
    assert_eq!(
        found.iter().map(|e| e.location).collect::<Vec<_>>(),
        [
            Some(Location {
                line: 2,
                column: 11
            }),
            Some(Location {
                line: 3,
                column: 19
            })
        ]
    );
    assert!(
        found[0]
            .to_string()
            .starts_with("sallyport.yaml:2:11: environment variable `NAME`")
    );
}

#[test]
fn minimal_config_gets_defaults() {
    let yaml = r#"
listen: { http: "127.0.0.1:8787" }
servers:
  - name: everything
    stdio: { command: npx, args: ["-y", "@modelcontextprotocol/server-everything"] }
  - name: time
    http: { url: "http://127.0.0.1:9000/mcp" }
  - name: old
    sse: { url: "http://127.0.0.1:9001/sse" }
"#;
    let config = load(yaml, &[]).unwrap_or_else(|e| panic!("{e}"));
    let listen = &config.listen;
    assert_eq!(listen.http, Some(SocketAddr::from(([127, 0, 0, 1], 8787))));
    assert!(listen.allowed_origins.is_empty());
    assert_eq!(listen.allowed_hosts, ["localhost", "127.0.0.1", "[::1]"]);
    assert!(listen.legacy_sse);
    assert_eq!(listen.session_idle_timeout_secs, 3600);
    assert_eq!(listen.max_sessions, 10_000);

    let [everything, time, old] = &config.servers[..] else {
        panic!("three servers expected");
    };
    let Some(TransportRef::Stdio(stdio)) = everything.transport() else {
        panic!("stdio expected");
    };
    assert_eq!(stdio.env_allow, ["PATH", "HOME", "LANG", "TMPDIR", "USER"]);
    assert!(stdio.env.is_empty() && stdio.cwd.is_none());
    assert_eq!(
        (stdio.restart.max_restarts, stdio.restart.initial_backoff_ms),
        (5, 250)
    );
    assert_eq!(
        (stdio.restart.max_backoff_ms, stdio.shutdown_grace_ms),
        (30_000, 2000)
    );
    assert!(everything.prefix && everything.tools.permits("anything"));
    assert_eq!(everything.request_timeout_secs, 60);
    assert_eq!(everything.era, EraPreference::Auto);
    assert!(
        matches!(time.transport(), Some(TransportRef::Http(h)) if h.connect_timeout_secs.is_none())
    );
    assert!(matches!(old.transport(), Some(TransportRef::Sse(_))));

    assert_eq!(config.federation.separator, "__");
    assert!(config.federation.cursor_key.is_none());
    assert_eq!(config.limits.max_body_bytes, 4 * 1024 * 1024);
    assert_eq!((config.limits.max_depth, config.limits.max_batch), (64, 64));
    assert_eq!(config.limits.max_line_bytes, 4 * 1024 * 1024);
    assert_eq!(config.limits.max_sse_event_bytes, 4 * 1024 * 1024);
    assert_eq!(config.guards.fail_mode, FailureMode::FailClosed);
    assert_eq!(config.validate(), Ok(()));
}

#[test]
fn listen_http_null_disables_the_listener() {
    let yaml = "listen: { http: null }\nservers:\n  - name: a\n    stdio: { command: x }\n";
    assert_eq!(load(yaml, &[]).map(|c| c.listen.http), Ok(None));
}

const SECRET: &str = "sk-live-7f3a9c2e";

#[test]
fn secrets_stay_out_of_debug_and_serialized_output() {
    let yaml = r#"
federation: { cursor_key: "${CURSOR_KEY}" }
servers:
  - name: time
    http:
      url: http://127.0.0.1:9000/mcp
      headers: { Authorization: "Bearer ${TOKEN}" }
  - name: gh
    stdio: { command: gh-mcp, env: { GITHUB_TOKEN: "${TOKEN}" } }
"#;
    let key = "0123456789abcdef0123456789abcdef-key";
    let config =
        load(yaml, &[("TOKEN", SECRET), ("CURSOR_KEY", key)]).unwrap_or_else(|e| panic!("{e}"));
    let http = config.servers[0]
        .http
        .as_ref()
        .map(|h| h.headers["Authorization"].expose());
    assert_eq!(http, Some(format!("Bearer {SECRET}").as_str()));
    let debug = format!("{config:?} {config:#?}");
    let json = serde_json::to_string(&config).unwrap_or_default();
    for output in [&debug, &json] {
        assert!(
            !output.contains(SECRET) && !output.contains(key),
            "{output}"
        );
        assert!(output.contains("<redacted>"));
    }
}

#[test]
fn interpolated_secrets_never_reach_error_messages() {
    let cases: &[(&str, &str)] = &[
        // Echoed by a semantic check.
        (
            "servers:\n  - name: \"${V}\"\n    stdio: { command: x }\n",
            "SK-live-7f3a9c2e",
        ),
        // Split into `command` and `args` by the hint.
        (
            "servers:\n  - name: a\n    stdio: { command: \"run ${V}\" }\n",
            "--token sk-live-7f3a9c2e",
        ),
        // Breaks out of the quotes: a YAML error on the secret's line.
        (
            "servers:\n  - name: a\n    http: { url: \"http://x\", headers: { A: \"${V}\" } }\n",
            "ab\"cd, sk-live-7f3a9c2e: x",
        ),
        // A type error on the secret.
        (
            "servers:\n  - name: a\n    stdio: { command: x }\n    request_timeout_secs: ${V}\n",
            SECRET,
        ),
        // A key injected by the value.
        (
            "servers:\n  - name: a\n    stdio: { command: x, ${V}: 1 }\n",
            SECRET,
        ),
        // A URL with an embedded token.
        (
            "servers:\n  - name: a\n    http: { url: \"${V}\" }\n",
            "ftp://h/?sk-live-7f3a9c2e",
        ),
    ];
    for (yaml, value) in cases {
        let text = match load(yaml, &[("V", value)]) {
            Ok(config) => panic!("expected an error for {yaml:?}, got {config:?}"),
            Err(errors) => format!("{errors} {errors:?}"),
        };
        assert!(
            !text.contains("live") && !text.contains("7f3a9c2e"),
            "{text}"
        );
    }
}

#[test]
fn yaml_budgets_stop_alias_bombs_and_oversized_input() {
    // Every alias replays the anchored server, whose `allow` list replays 200 more.
    let items = vec!["t"; 200].join(", ");
    let mut bomb = format!(
        "servers:\n  - &s\n    name: a\n    stdio: {{ command: x }}\n    tools: {{ allow: [{items}] }}\n"
    );
    bomb.push_str(&"  - *s\n".repeat(5_000));
    let found = errors(&bomb, &[]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].message.contains("alias"), "{}", found[0]);

    let two_documents = "servers: []\n---\nservers: []\n";
    assert_eq!(
        simplify(&errors(two_documents, &[])),
        [(
            "",
            2,
            1,
            "a configuration is a single YAML document; remove the `---` separator"
        )]
    );

    let huge = "#".repeat(sallyport_config::MAX_CONFIG_BYTES + 1);
    assert_eq!(
        simplify(&errors(&huge, &[])),
        [("", 0, 0, "configuration is larger than 1048576 bytes")]
    );
    assert_eq!(
        simplify(&errors("# nothing here\n", &[])),
        [(
            "",
            0,
            0,
            "the configuration is empty; it needs at least `servers:`"
        )]
    );
}
