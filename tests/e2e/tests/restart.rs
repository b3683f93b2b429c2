//! An upstream stdio server that dies mid-session is restarted: the call that was in flight
//! when it crashed fails with an error (never a hang), and the next call in the same client
//! session is served by a new process — in both eras.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Era, TestClient, call, connect, python_stdio_server, text_json, try_call, wait_for};
use sallyport_e2e::GatewayProc;
use serde_json::{Value, json};

fn pid_and_call(v: &Value) -> (u64, u64) {
    (
        v["pid"].as_u64().expect("pid"),
        v["call"].as_u64().expect("call"),
    )
}

/// True once the process has fully exited: gone, or a zombie with no thread left running.
///
/// A zombie main thread is not enough. When a thread of a multi-threaded process calls
/// `_exit`, the main thread can show `Z` while the other threads are still exiting, and
/// until the last one has gone the process's stdin stays open and accepts writes.
fn exited(pid: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    stat.contains(") Z ")
        && std::fs::read_dir(format!("/proc/{pid}/task")).map_or(true, |tasks| tasks.count() <= 1)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_during_a_call_fails_that_call_and_the_next_one_restarts_the_server() {
    let servers = format!(
        "servers:\n{}    request_timeout_secs: 15\n",
        python_stdio_server("crashy", "crashy_server.py", &["--crash-on-call", "3"])
    );
    let gw = GatewayProc::start(&servers).await;
    for era in Era::BOTH {
        let (handler, _events) = TestClient::bare();
        let client = connect(handler, &gw.mcp_url(), era).await;
        let mut pids = Vec::new();
        for round in 0..2 {
            let (pid, n1) =
                pid_and_call(&text_json(&call(&client, "crashy__hello", json!({})).await));
            let (same, n2) =
                pid_and_call(&text_json(&call(&client, "crashy__hello", json!({})).await));
            assert_eq!(
                (same, n1 + 1),
                (pid, n2),
                "{era:?} round {round}: one process serves calls in a row"
            );
            // The third call kills the process before it answers.
            let started = std::time::Instant::now();
            let crashed = try_call(&client, "crashy__hello", json!({})).await;
            assert!(
                crashed.is_err() || crashed.as_ref().is_ok_and(|r| r.is_error == Some(true)),
                "{era:?} round {round}: {crashed:?}"
            );
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{era:?}: the crash was only noticed by the timeout"
            );
            pids.push(pid);
        }
        let (pid, n) = pid_and_call(&text_json(&call(&client, "crashy__hello", json!({})).await));
        assert_eq!(n, 1, "{era:?}: a fresh process");
        pids.push(pid);
        pids.dedup();
        assert_eq!(
            pids.len(),
            3,
            "{era:?}: every crash brought a new process: {pids:?}"
        );
        client.cancel().await.unwrap();
    }
    gw.wait_log("Upstream reconnected").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_exits_while_idle_is_restarted_on_the_next_call() {
    let servers = format!(
        "servers:\n{}",
        python_stdio_server("crashy", "crashy_server.py", &["--exit-after", "2"])
    );
    let gw = GatewayProc::start(&servers).await;
    for era in Era::BOTH {
        let (handler, _events) = TestClient::bare();
        let client = connect(handler, &gw.mcp_url(), era).await;
        let (first, _) = pid_and_call(&text_json(&call(&client, "crashy__hello", json!({})).await));
        let (same, n) = pid_and_call(&text_json(&call(&client, "crashy__hello", json!({})).await));
        assert_eq!((same, n), (first, 2), "{era:?}");
        // It exits on its own after answering; wait until it is really gone.
        wait_for(
            &format!("{era:?}: process {first} to exit"),
            || async move { exited(first).then_some(()) },
        )
        .await;
        let (second, n) =
            pid_and_call(&text_json(&call(&client, "crashy__hello", json!({})).await));
        assert_ne!(second, first, "{era:?}: served by a new process");
        assert_eq!(n, 1, "{era:?}");
        client.cancel().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_loop_stops_at_the_restart_limit() {
    // Every process dies on its first call; one restart is allowed.
    let servers = format!(
        "servers:\n{}    request_timeout_secs: 15\n",
        python_stdio_server("crashy", "crashy_server.py", &["--crash-on-call", "1"])
    )
    .replace(
        "\n    stdio: {",
        "\n    stdio: { restart: { max_restarts: 1, initial_backoff_ms: 50, max_backoff_ms: 200 },",
    );
    let gw = GatewayProc::start(&servers).await;
    let (handler, _events) = TestClient::bare();
    let client = connect(handler, &gw.mcp_url(), Era::Legacy).await;
    // The first process (started at initialize) crashes on its first call; so does the one
    // restart allowed. After that the server is reported unavailable instead of respawned.
    for _ in 0..2 {
        let r = try_call(&client, "crashy__hello", json!({})).await;
        assert!(
            r.is_err() || r.as_ref().is_ok_and(|r| r.is_error == Some(true)),
            "{r:?}"
        );
    }
    let refused = try_call(&client, "crashy__hello", json!({})).await;
    let message = format!("{refused:?}");
    assert!(
        message.contains("restart limit"),
        "third call must be refused, not respawn: {message}"
    );
}
