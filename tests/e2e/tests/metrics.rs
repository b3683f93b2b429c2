//! `/metrics` through the real binary: scripted traffic moves seed 001/003 and `sallyport_*`
//! series with their labels, unknown names stay out of the labels, and the page is
//! OpenMetrics text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sallyport_e2e::{GatewayProc, http_server, metric_sample};
use serde_json::{Value, json};

/// A stateless (2026-07-28) `tools/call`.
async fn call(gw: &GatewayProc, tool: &str, arguments: Value) -> Value {
    sallyport_e2e::modern_tool_call(&gw.mcp_url(), json!(7), tool, arguments)
        .await
        .1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tool_call_moves_the_seed_and_gateway_series() {
    let url = sallyport_demo::spawn_http().await.unwrap();
    let gw = GatewayProc::start(&format!("servers:\n{}", http_server("notes", &url))).await;

    let (status, content_type, page) = gw.scrape_metrics().await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(page.trim_end().ends_with("# EOF"), "{page}");
    assert_eq!(
        metric_sample(
            &page,
            r#"sallyport_circuit_breaker_state{server_name="notes"}"#
        ),
        Some(0.0)
    );
    assert!(metric_sample(&page, r#"mcp_active_sessions{session_type="http"}"#).is_some());

    let answer = call(&gw, "notes__echo", json!({"text": "hi"})).await;
    assert!(answer.get("result").is_some(), "{answer}");
    let refused = call(&gw, "notes__no_such_tool_x9", json!({})).await;
    assert!(refused.get("error").is_some(), "{refused}");

    let ok = r#"server_name="notes",tool_name="echo",status="success""#;
    gw.wait_metric(&format!("mcp_requests_total{{{ok}}}"), 1.0)
        .await;
    // The refused call: a denial by deny code, and a denied request under a bounded label.
    gw.wait_metric(
        r#"sallyport_decisions_total{direction="client_to_server",outcome="deny",deny_code="tool_not_allowed"}"#,
        1.0,
    )
    .await;
    let (_, _, page) = gw.scrape_metrics().await;
    let denied: f64 = page
        .lines()
        .filter(|l| l.starts_with("mcp_requests_total{") && l.contains(r#"status="denied""#))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum();
    assert!(denied >= 1.0, "{page}");
    let exec = r#"server="notes",tool="echo",status="success""#;
    for (series, min) in [
        (format!("mcp_tool_execution_duration_seconds_count{{{exec}}}"), 1.0),
        (format!("mcp_tool_execution_duration_seconds_bucket{{le=\"30.0\",{exec}}}"), 1.0),
        (r#"mcp_request_duration_seconds_count{server_name="notes",tool_name="echo"}"#.to_owned(), 1.0),
        (r#"mcp_auth_attempts_total{method="none",status="success"}"#.to_owned(), 2.0),
        (
            r#"sallyport_decisions_total{direction="client_to_server",outcome="allow",deny_code="none"}"#.to_owned(),
            1.0,
        ),
        (
            r#"sallyport_decisions_total{direction="server_to_client",outcome="allow",deny_code="none"}"#.to_owned(),
            1.0,
        ),
        (r#"sallyport_pipeline_duration_seconds_count{direction="client_to_server"}"#.to_owned(), 1.0),
    ] {
        let value = metric_sample(&page, &series);
        assert!(value.is_some_and(|v| v >= min), "{series} = {value:?}\n{page}");
    }
    // An invented tool name never becomes a label; principals never appear.
    assert!(!page.contains("no_such_tool_x9"), "{page}");
    assert!(!page.contains("principal"), "{page}");
}
