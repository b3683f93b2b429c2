//! The npm reference servers (`@modelcontextprotocol/server-everything`, legacy-only, over
//! stdio and over Streamable HTTP; `@modelcontextprotocol/server-filesystem` over stdio)
//! federated behind the gateway, driven by the official Python SDK client in both eras: a
//! 2026-07-28 client reaches legacy-only servers through the gateway.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_has, everything_http, readyz, stdio_server};
use sallyport_e2e::{GatewayProc, http_server, node_bin, ok, py_client, tool_names};
use serde_json::Value;

/// A temporary directory the filesystem server may touch, with one file in it.
fn fs_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello from the e2e test\n").unwrap();
    dir
}

fn filesystem(dir: &tempfile::TempDir) -> String {
    let root = dir.path().canonicalize().unwrap();
    stdio_server(
        "fs",
        &node_bin("mcp-server-filesystem"),
        &[&root.display().to_string()],
    )
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

/// Lists and calls tools of `every` and `fs` in one era; writes a file through `fs` and reads
/// it back, so the filesystem server really acted.
async fn exercise(gw: &GatewayProc, every: &str, dir: &tempfile::TempDir, mode: &str) {
    let url = gw.mcp_url();
    let run = py_client(&["--url", &url, "--mode", mode, "list-tools"]).await;
    let names = tool_names(ok(&run));
    let echo = format!("{every}__echo");
    let sum = format!("{every}__get-sum");
    assert_has(
        &names,
        &[
            &echo,
            &sum,
            "fs__read_text_file",
            "fs__write_file",
            "fs__list_directory",
        ],
        mode,
    );
    assert!(
        names
            .iter()
            .all(|n| n.starts_with(&format!("{every}__")) || n.starts_with("fs__")),
        "{mode}: unprefixed tool in {names:?}"
    );

    let run = py_client(&[
        "--url",
        &url,
        "--mode",
        mode,
        "call-tool",
        &echo,
        r#"{"message":"through the gateway"}"#,
    ])
    .await;
    assert_eq!(result_text(ok(&run)), "Echo: through the gateway", "{mode}");

    let run = py_client(&[
        "--url",
        &url,
        "--mode",
        mode,
        "call-tool",
        &sum,
        r#"{"a":19,"b":23}"#,
    ])
    .await;
    assert!(
        result_text(ok(&run)).contains("42"),
        "{mode}: {:#}",
        run.json
    );

    let root = dir.path().canonicalize().unwrap();
    let file = root.join(format!("written-{mode}.txt"));
    let args = serde_json::json!({ "path": file, "content": format!("written in {mode} mode") })
        .to_string();
    ok(&py_client(&[
        "--url",
        &url,
        "--mode",
        mode,
        "call-tool",
        "fs__write_file",
        &args,
    ])
    .await);
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("written in {mode} mode"),
        "the filesystem server wrote the file"
    );

    let args = serde_json::json!({ "path": root.join("hello.txt") }).to_string();
    let run = py_client(&[
        "--url",
        &url,
        "--mode",
        mode,
        "call-tool",
        "fs__read_text_file",
        &args,
    ])
    .await;
    assert_eq!(
        result_text(ok(&run)).trim(),
        "hello from the e2e test",
        "{mode}"
    );

    // Outside the allowed directory the server itself refuses: its answer passes through.
    let run = py_client(&[
        "--url",
        &url,
        "--mode",
        mode,
        "--allow-tool-error",
        "call-tool",
        "fs__read_text_file",
        r#"{"path":"/etc/hostname"}"#,
    ])
    .await;
    let json = ok(&run);
    assert_eq!(json["result"]["isError"], true, "{mode}: {json:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn everything_over_stdio_and_filesystem_federated_in_both_eras() {
    let dir = fs_root();
    let servers = format!(
        "servers:\n{}{}",
        stdio_server("every", &node_bin("mcp-server-everything"), &["stdio"]),
        filesystem(&dir)
    );
    let gw = GatewayProc::start(&servers).await;
    for mode in ["legacy", "auto"] {
        exercise(&gw, "every", &dir, mode).await;
    }
    // Both are legacy-only servers: the gateway detected that and still served modern clients.
    let ready = readyz(&gw.base).await;
    assert_eq!(ready["servers"]["every"]["era"], "legacy", "{ready:#}");
    assert_eq!(ready["servers"]["fs"]["era"], "legacy", "{ready:#}");
    for era in ["legacy", "modern"] {
        gw.wait_decision(|d| {
            d["era"] == era
                && d["server"] == "every"
                && d["tool"] == "get-sum"
                && d["outcome"] == "allow"
        })
        .await;
        gw.wait_decision(|d| {
            d["era"] == era
                && d["server"] == "fs"
                && d["tool"] == "write_file"
                && d["outcome"] == "allow"
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn everything_over_streamable_http_and_filesystem_federated_in_both_eras() {
    let everything = everything_http().await;
    let dir = fs_root();
    let servers = format!(
        "servers:\n{}{}",
        http_server("evhttp", &everything.url),
        filesystem(&dir)
    );
    let gw = GatewayProc::start(&servers).await;
    for mode in ["legacy", "auto"] {
        exercise(&gw, "evhttp", &dir, mode).await;
    }
    let ready = readyz(&gw.base).await;
    assert_eq!(ready["servers"]["evhttp"]["era"], "legacy", "{ready:#}");
    gw.wait_decision(|d| {
        d["era"] == "modern"
            && d["server"] == "evhttp"
            && d["tool"] == "echo"
            && d["outcome"] == "allow"
    })
    .await;
}
