//! PyPI `mcp-server-time` (a dual-era Python SDK server, unmodified) behind the gateway over
//! stdio and over Streamable HTTP: the gateway speaks 2026-07-28 to it and serves clients of
//! both eras.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{python_http_fixture, readyz, stdio_server, venv_bin};
use sallyport_e2e::{GatewayProc, http_server, ok, py_client, tool_names};
use serde_json::{Value, json};

fn structured(json: &Value) -> &Value {
    &json["result"]["structuredContent"]
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_server_time_over_stdio_and_http_in_both_client_eras() {
    let http_time = python_http_fixture("time_http.py", &["--local-timezone", "UTC"]).await;
    let servers = format!(
        "servers:\n{}{}",
        stdio_server(
            "time",
            &venv_bin("mcp-server-time"),
            &["--local-timezone", "UTC"]
        ),
        http_server("htime", &http_time.url)
    );
    let gw = GatewayProc::start(&servers).await;
    let url = gw.mcp_url();

    for mode in ["legacy", "auto"] {
        let run = py_client(&["--url", &url, "--mode", mode, "list-tools"]).await;
        let names = tool_names(ok(&run));
        for expected in [
            "time__get_current_time",
            "time__convert_time",
            "htime__get_current_time",
            "htime__convert_time",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{mode}: {expected} missing in {names:?}"
            );
        }
        for server in ["time", "htime"] {
            let tool = format!("{server}__get_current_time");
            let run = py_client(&[
                "--url",
                &url,
                "--mode",
                mode,
                "call-tool",
                &tool,
                r#"{"timezone":"Asia/Tokyo"}"#,
            ])
            .await;
            let now = structured(ok(&run));
            assert_eq!(
                now["timezone"], "Asia/Tokyo",
                "{mode} {server}: {:#}",
                run.json
            );
            let stamp = now["datetime"].as_str().unwrap_or_default();
            assert!(
                stamp.ends_with("+09:00") && stamp.len() >= 25,
                "{mode} {server}: datetime {stamp:?}"
            );

            let tool = format!("{server}__convert_time");
            let args = json!({ "source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo" }).to_string();
            let run = py_client(&["--url", &url, "--mode", mode, "call-tool", &tool, &args]).await;
            let converted = structured(ok(&run));
            assert_eq!(
                converted["time_difference"], "+9.0h",
                "{mode} {server}: {converted:#}"
            );
            assert!(
                converted["target"]["datetime"]
                    .as_str()
                    .is_some_and(|d| d.contains("T21:00:00+09:00")),
                "{mode} {server}: {converted:#}"
            );
        }
    }

    // The gateway negotiated 2026-07-28 with both transports of this dual-era server …
    let ready = readyz(&gw.base).await;
    assert_eq!(ready["servers"]["time"]["era"], "modern", "{ready:#}");
    assert_eq!(ready["servers"]["htime"]["era"], "modern", "{ready:#}");
    // … and every call was decided for clients of both eras.
    for era in ["legacy", "modern"] {
        for server in ["time", "htime"] {
            gw.wait_decision(|d| {
                d["era"] == era
                    && d["server"] == server
                    && d["tool"] == "get_current_time"
                    && d["outcome"] == "allow"
            })
            .await;
            gw.wait_decision(|d| {
                d["era"] == era
                    && d["server"] == server
                    && d["direction"] == "server_to_client"
                    && d["method"] == "tools/call"
            })
            .await;
        }
    }
}
