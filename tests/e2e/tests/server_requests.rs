//! Server→client requests through the gateway: sampling, elicitation and roots asked by an
//! upstream reach the client that made the call, and its answers reach the upstream — as real
//! JSON-RPC requests for legacy clients, as MRTR `input_required` rounds for 2026-07-28
//! clients. An upstream only sees the capabilities its client declared.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{everything_http, stdio_server};
use sallyport_e2e::{
    ClientRun, GatewayProc, demo_stdio_server, http_server, node_bin, ok, py_client, tool_names,
};
use serde_json::Value;

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

fn callback_kinds(run: &ClientRun) -> Vec<String> {
    run.json["callbacks"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|e| e["type"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn server_everything_scenario_with_sampling_elicitation_and_roots() {
    let servers = format!(
        "servers:\n{}    prefix: false\n",
        stdio_server("every", &node_bin("mcp-server-everything"), &["stdio"])
    );
    let gw = GatewayProc::start(&servers).await;
    let run = py_client(&[
        "--url",
        &gw.mcp_url(),
        "--mode",
        "legacy",
        "scenario",
        "everything",
    ])
    .await;
    let json = ok(&run);
    assert_eq!(json["ok"], true, "{json:#}");
    let mut kinds = callback_kinds(&run);
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds, ["elicitation", "roots", "sampling"], "{json:#}");
    for method in ["sampling/createMessage", "elicitation/create", "roots/list"] {
        gw.wait_decision(|d| {
            d["direction"] == "server_to_client"
                && d["kind"] == "request"
                && d["method"] == method
                && d["server"] == "every"
        })
        .await;
        // The client's answer crossed back through the chain too.
        gw.wait_decision(|d| {
            d["direction"] == "client_to_server" && d["kind"] == "result" && d["server"] == "every"
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn server_everything_over_http_asks_the_calling_client() {
    let everything = everything_http().await;
    let servers = format!(
        "servers:\n{}{}",
        http_server("evhttp", &everything.url),
        demo_stdio_server("tools")
    );
    let gw = GatewayProc::start(&servers).await;
    let url = gw.mcp_url();
    let legacy = ["--url", url.as_str(), "--mode", "legacy"];

    let run = py_client(
        &[
            &legacy[..],
            &[
                "call-tool",
                "evhttp__trigger-sampling-request",
                r#"{"prompt":"federated hello"}"#,
            ],
        ]
        .concat(),
    )
    .await;
    let text = result_text(ok(&run));
    assert!(
        text.contains("sallyport-e2e-model") && text.contains("sampled: "),
        "{:#}",
        run.json
    );
    // server-everything also asks for roots when a session starts: look for ours among them.
    assert!(
        callback_kinds(&run).contains(&"sampling".to_owned()),
        "{:#}",
        run.json
    );

    let run = py_client(
        &[
            &legacy[..],
            &["--root", "file:///srv/e2e-custom-root"],
            &["call-tool", "evhttp__get-roots-list", "{}"],
        ]
        .concat(),
    )
    .await;
    assert!(
        result_text(ok(&run)).contains("file:///srv/e2e-custom-root"),
        "{:#}",
        run.json
    );

    let run = py_client(
        &[
            &legacy[..],
            &["call-tool", "evhttp__trigger-elicitation-request", "{}"],
        ]
        .concat(),
    )
    .await;
    let text = result_text(ok(&run));
    assert!(
        text.contains("e2e@example.com"),
        "the elicited values reach the server: {text}"
    );

    let run = py_client(
        &[
            &legacy[..],
            &["--elicit-action", "decline"],
            &["call-tool", "evhttp__trigger-elicitation-request", "{}"],
        ]
        .concat(),
    )
    .await;
    let text = result_text(ok(&run));
    assert!(
        !text.contains("e2e@example.com") && text.to_lowercase().contains("decline"),
        "{text}"
    );
}

/// The demo server asks in the era of the request: a server→client request for legacy
/// clients, an MRTR `input_required` result (answered by the client's retry) for modern ones.
#[tokio::test(flavor = "multi_thread")]
async fn demo_ask_model_confirm_and_list_roots_in_both_eras() {
    let url_http = sallyport_demo::spawn_http().await.unwrap();
    let servers = format!(
        "servers:\n{}{}",
        demo_stdio_server("tools"),
        http_server("notes", &url_http)
    );
    let gw = GatewayProc::start(&servers).await;
    let url = gw.mcp_url();
    for mode in ["legacy", "auto"] {
        for server in ["tools", "notes"] {
            let base = ["--url", url.as_str(), "--mode", mode];
            let tool = format!("{server}__ask_model");
            let run = py_client(
                &[
                    &base[..],
                    &["call-tool", &tool, r#"{"question":"what is a gateway?"}"#],
                ]
                .concat(),
            )
            .await;
            let json = ok(&run);
            assert_eq!(
                result_text(json),
                "sampled: what is a gateway?",
                "{mode} {server}: {json:#}"
            );
            assert_eq!(
                json["result"]["structuredContent"]["model"], "sallyport-e2e-model",
                "{mode} {server}"
            );
            assert_eq!(callback_kinds(&run), ["sampling"], "{mode} {server}");

            let tool = format!("{server}__confirm");
            let run =
                py_client(&[&base[..], &["call-tool", &tool, r#"{"question":"go?"}"#]].concat())
                    .await;
            assert_eq!(
                result_text(ok(&run)),
                "the user confirmed",
                "{mode} {server}: {:#}",
                run.json
            );
            let run = py_client(
                &[
                    &base[..],
                    &["--elicit-action", "decline"],
                    &["call-tool", &tool, r#"{"question":"go?"}"#],
                ]
                .concat(),
            )
            .await;
            assert_eq!(
                result_text(ok(&run)),
                "the user declined to answer",
                "{mode} {server}: {:#}",
                run.json
            );

            let tool = format!("{server}__list_roots");
            let run = py_client(
                &[
                    &base[..],
                    &["--root", "file:///work/one", "--root", "file:///work/two"],
                    &["call-tool", &tool, "{}"],
                ]
                .concat(),
            )
            .await;
            assert_eq!(
                result_text(ok(&run)),
                "file:///work/one\nfile:///work/two",
                "{mode} {server}: {:#}",
                run.json
            );
        }
    }
    // Legacy: a real server→client request crossed the gateway.
    gw.wait_decision(|d| {
        d["era"] == "legacy"
            && d["direction"] == "server_to_client"
            && d["method"] == "elicitation/create"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn upstreams_only_see_the_capabilities_the_client_declared() {
    let servers = format!(
        "servers:\n{}{}",
        demo_stdio_server("tools"),
        stdio_server("every", &node_bin("mcp-server-everything"), &["stdio"])
    );
    let gw = GatewayProc::start(&servers).await;
    let url = gw.mcp_url();
    for mode in ["legacy", "auto"] {
        let base = ["--url", url.as_str(), "--mode", mode, "--no-callbacks"];
        let run = py_client(
            &[
                &base[..],
                &["--allow-tool-error"],
                &["call-tool", "tools__ask_model", r#"{"question":"?"}"#],
            ]
            .concat(),
        )
        .await;
        let json = ok(&run);
        assert_eq!(json["result"]["isError"], true, "{mode}: {json:#}");
        assert!(
            result_text(json).contains("did not declare the sampling capability"),
            "{mode}: {json:#}"
        );
        assert!(json.get("callbacks").is_none(), "{mode}: {json:#}");
    }
    // server-everything registers its sampling/elicitation/roots tools only for clients that
    // declared those capabilities; the gateway declared nothing on this client's behalf.
    let run = py_client(&[
        "--url",
        &url,
        "--mode",
        "legacy",
        "--no-callbacks",
        "list-tools",
    ])
    .await;
    let names = tool_names(ok(&run));
    assert!(names.iter().any(|n| n == "every__echo"), "{names:?}");
    for hidden in [
        "every__trigger-sampling-request",
        "every__trigger-elicitation-request",
        "every__get-roots-list",
    ] {
        assert!(!names.iter().any(|n| n == hidden), "{hidden} in {names:?}");
    }
    let run = py_client(&["--url", &url, "--mode", "legacy", "list-tools"]).await;
    let names = tool_names(ok(&run));
    assert!(
        names.iter().any(|n| n == "every__trigger-sampling-request"),
        "a capable client's session sees them: {names:?}"
    );
}
