//! `sallyport stdio -c cfg`: the gateway as the one MCP server a desktop client spawns,
//! driven over its stdin/stdout by the Python SDK client (both eras) and the TypeScript SDK
//! client, in front of federated upstreams.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{stdio_server, ts_client};
use sallyport_e2e::{demo_stdio_server, node_bin, ok, py_client, sallyport_bin, tool_names};
use serde_json::Value;

struct StdioGateway {
    dir: tempfile::TempDir,
    command: String,
}

impl StdioGateway {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("sallyport.yaml");
        let yaml = format!(
            "servers:\n{}{}",
            demo_stdio_server("tools"),
            stdio_server("every", &node_bin("mcp-server-everything"), &["stdio"])
        );
        std::fs::write(&config, yaml).unwrap();
        let log = dir.path().join("access.jsonl");
        let command = format!(
            "{} stdio -c {} --access-log {}",
            sallyport_bin().display(),
            config.display(),
            log.display()
        );
        // Both clients split the command on whitespace.
        assert_eq!(
            command.split_whitespace().count(),
            6,
            "paths with spaces: {command}"
        );
        Self { dir, command }
    }

    fn decisions(&self) -> Vec<Value> {
        let text =
            std::fs::read_to_string(self.dir.path().join("access.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn result_text(json: &Value) -> String {
    json["result"]["content"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|b| b["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn python_client_spawns_the_gateway_over_stdio_in_both_eras() {
    let gw = StdioGateway::new();
    for mode in ["legacy", "auto"] {
        let base = ["--stdio", gw.command.as_str(), "--mode", mode];
        let run = py_client(&[&base[..], &["info"]].concat()).await;
        let json = ok(&run);
        assert_eq!(
            json["result"]["serverInfo"]["name"], "sallyport",
            "{mode}: {json:#}"
        );
        let expected_version = if mode == "legacy" {
            "2025-11-25"
        } else {
            "2026-07-28"
        };
        assert_eq!(json["protocolVersion"], expected_version, "{mode}");

        let run = py_client(&[&base[..], &["list-tools"]].concat()).await;
        let names = tool_names(ok(&run));
        for expected in [
            "tools__add",
            "tools__ask_model",
            "every__echo",
            "every__get-sum",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{mode}: {expected} missing in {names:?}"
            );
        }

        let run =
            py_client(&[&base[..], &["call-tool", "tools__add", r#"{"a":2,"b":40}"#]].concat())
                .await;
        assert_eq!(
            ok(&run)["result"]["structuredContent"]["sum"],
            42.0,
            "{mode}: {:#}",
            run.json
        );
        let run = py_client(
            &[
                &base[..],
                &["call-tool", "every__echo", r#"{"message":"piped"}"#],
            ]
            .concat(),
        )
        .await;
        assert_eq!(
            result_text(ok(&run)),
            "Echo: piped",
            "{mode}: {:#}",
            run.json
        );

        let run = py_client(
            &[
                &base[..],
                &[
                    "call-tool",
                    "tools__slow_count",
                    r#"{"to":3,"delay_ms":10}"#,
                ],
            ]
            .concat(),
        )
        .await;
        let json = ok(&run);
        let progress: Vec<f64> = json["result"]["_progress"]
            .as_array()
            .map(|p| p.iter().filter_map(|e| e["progress"].as_f64()).collect())
            .unwrap_or_default();
        assert_eq!(progress, [1.0, 2.0, 3.0], "{mode}: {json:#}");

        let run = py_client(
            &[
                &base[..],
                &[
                    "call-tool",
                    "tools__ask_model",
                    r#"{"question":"over a pipe?"}"#,
                ],
            ]
            .concat(),
        )
        .await;
        let json = ok(&run);
        assert_eq!(
            result_text(json),
            "sampled: over a pipe?",
            "{mode}: {json:#}"
        );

        let run = py_client(&[&base[..], &["read-resource", "tools+demo://readme"]].concat()).await;
        assert_eq!(
            ok(&run)["result"]["contents"][0]["uri"],
            "tools+demo://readme",
            "{mode}: {:#}",
            run.json
        );
    }
    let decisions = gw.decisions();
    for era in ["legacy", "modern"] {
        assert!(
            decisions.iter().any(|d| d["era"] == era
                && d["server"] == "every"
                && d["tool"] == "echo"
                && d["outcome"] == "allow"),
            "no {era} decision for every__echo in {decisions:#?}"
        );
    }
    assert!(
        decisions.iter().any(
            |d| d["direction"] == "server_to_client" && d["method"] == "sampling/createMessage"
        ),
        "the legacy sampling request crossed the gateway"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn typescript_client_spawns_the_gateway_over_stdio() {
    let gw = StdioGateway::new();
    let base = ["--stdio", gw.command.as_str()];
    let run = ts_client(&[&base[..], &["list-tools"]].concat()).await;
    let names = tool_names(ok(&run));
    assert!(
        names.iter().any(|n| n == "every__get-sum") && names.iter().any(|n| n == "tools__confirm"),
        "{names:?}"
    );

    let run = ts_client(
        &[
            &base[..],
            &["call-tool", "every__get-sum", r#"{"a":20,"b":22}"#],
        ]
        .concat(),
    )
    .await;
    assert!(result_text(ok(&run)).contains("42"), "{:#}", run.json);

    let run = ts_client(
        &[
            &base[..],
            &[
                "call-tool",
                "tools__confirm",
                r#"{"question":"over stdio?"}"#,
            ],
        ]
        .concat(),
    )
    .await;
    let json = ok(&run);
    assert_eq!(result_text(json), "the user confirmed", "{json:#}");
    // server-everything, the other upstream, also asks for roots when the session starts.
    let kinds: Vec<&str> = json["callbacks"]
        .as_array()
        .map(|c| c.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert!(kinds.contains(&"elicitation"), "{json:#}");
}
