//! The network layer at the HTTP edge, through the real binary: deny and reputation lists
//! refused before authentication, trusted-proxy addresses (and spoofed ones ignored),
//! per-IP request limits with `Retry-After`, request-line checks and slowloris clients.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sallyport_e2e::{GatewayProc, http_server};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ACCEPT: &str = "application/json, text/event-stream";

/// API-key authentication: a request that passes the network layer without a key gets 401.
fn auth_yaml(port: u16, dir: &Path) -> String {
    std::fs::write(
        dir.join("hmac.secret"),
        "0123456789abcdef0123456789abcdef-test-secret\n",
    )
    .unwrap();
    format!(
        "auth:\n  api_keys: {{ store_path: \"{}\", hmac_secret: {{ type: file, path: \"{}\" }} }}\n  resource: {{ resource: \"http://127.0.0.1:{port}/mcp\", authorization_servers: [\"https://idp.example\"] }}\n",
        dir.join("keys.json").display(),
        dir.join("hmac.secret").display(),
    )
}

async fn gateway(network_yaml: &str, with_auth: bool) -> GatewayProc {
    let upstream = sallyport_demo::spawn_http().await.unwrap();
    let network = network_yaml.to_owned();
    GatewayProc::start_with(move |port, dir| {
        std::fs::write(
            dir.join("blocklist.netset"),
            "# FireHOL style\n198.51.100.0/24\n",
        )
        .unwrap();
        let network = network.replace(
            "BLOCKLIST",
            &dir.join("blocklist.netset").display().to_string(),
        );
        let auth = if with_auth {
            auth_yaml(port, dir)
        } else {
            String::new()
        };
        format!(
            "servers:\n{}network:\n{network}{auth}",
            http_server("notes", &upstream)
        )
    })
    .await
}

async fn post(gw: &GatewayProc, forwarded_for: Option<&str>) -> reqwest::Response {
    post_to(gw, &gw.mcp_url(), forwarded_for).await
}

async fn post_to(gw: &GatewayProc, url: &str, forwarded_for: Option<&str>) -> reqwest::Response {
    let _ = gw;
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}});
    let mut rb = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", ACCEPT);
    if let Some(xff) = forwarded_for {
        rb = rb.header("x-forwarded-for", xff);
    }
    rb.body(init.to_string()).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_and_reputation_listed_clients_are_refused_before_authentication() {
    let gw = gateway(
        "  trusted_proxies: [\"127.0.0.1\"]\n  deny: [\"203.0.113.0/24\"]\n  reputation: { files: [\"BLOCKLIST\"] }\n",
        true,
    )
    .await;
    // An allowed client without credentials reaches authentication: 401.
    let resp = post(&gw, Some("192.0.2.1")).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Deny list and reputation list: 403 before authentication is even asked.
    let resp = post(&gw, Some("203.0.113.9")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.headers().get("www-authenticate").is_none());
    let resp = post(&gw, Some("198.51.100.7")).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let denied = gw.wait_decision(|d| d["deny_code"] == "ip_denied").await;
    assert!(
        denied["reason"].as_str().unwrap().contains("203.0.113.9"),
        "{denied}"
    );
    let listed = gw
        .wait_decision(|d| d["deny_code"] == "ip_reputation")
        .await;
    assert!(
        listed["reason"].as_str().unwrap().contains("forwarded"),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    // No trusted proxies: the TCP peer (127.0.0.1) is the client whatever the header says.
    let gw = gateway("  deny: [\"203.0.113.0/24\"]\n", false).await;
    let resp = post(&gw, Some("203.0.113.9")).await;
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "a forged header must not get anyone refused"
    );
    // Nor let a denied peer in. Deny the test's own address by hot reload (the gateway could
    // not be health-checked otherwise): the connection itself is refused and recorded.
    let config = std::fs::read_to_string(&gw.config).unwrap();
    std::fs::write(&gw.config, config.replace("203.0.113.0/24", "127.0.0.1")).unwrap();
    gw.wait_log("Configuration reloaded.").await;
    let refused = reqwest::Client::new()
        .post(gw.mcp_url())
        .header("x-forwarded-for", "192.0.2.1")
        .body("{}")
        .send()
        .await;
    assert!(
        refused.is_err() || refused.as_ref().unwrap().status() == StatusCode::FORBIDDEN,
        "{refused:?}"
    );
    let record = gw.wait_decision(|d| d["deny_code"] == "ip_denied").await;
    assert!(
        record["reason"].as_str().unwrap().contains("127.0.0.1"),
        "{record}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn per_ip_request_limits_answer_429_with_retry_after() {
    let gw = gateway("  per_ip: { requests_per_minute: 2, burst: 2 }\n", false).await;
    for _ in 0..2 {
        assert_eq!(post(&gw, None).await.status(), StatusCode::OK);
    }
    let resp = post(&gw, None).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    gw.wait_decision(|d| d["deny_code"] == "per_ip_rate_limited")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn request_line_checks_refuse_traversal_and_oversized_bodies() {
    let gw = gateway("  request_line: { max_content_length: 100000 }\n", false).await;
    let resp = post_to(
        &gw,
        &format!("{}?next=%2e%2e/%2e%2e/etc/passwd", gw.mcp_url()),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    gw.wait_decision(|d| d["deny_code"] == "path_traversal")
        .await;
    let resp = reqwest::Client::new()
        .post(gw.mcp_url())
        .header("content-type", "application/json")
        .header("accept", ACCEPT)
        .body(vec![b' '; 200_000])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slowloris_client_is_cut_off() {
    let gw = gateway("  slow_client: { header_read_timeout_secs: 1 }\n", false).await;
    let addr = gw.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!("POST /mcp HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
    let started = Instant::now();
    let (mut read, mut write) = tcp.split();
    let trickle = async {
        for byte in head.bytes().chain(std::iter::repeat(b'a')) {
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let closed = async {
        let mut buf = [0u8; 1024];
        // EOF or a reset: the gateway hung up (it may first answer 408).
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::select! {
        () = closed => {}
        () = trickle => panic!("trickle ended without the connection closing"),
        () = tokio::time::sleep(Duration::from_secs(10)) => panic!("slow client still connected after 10 s"),
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "cut off only after {took:?}");
    // A normal client is unaffected.
    assert_eq!(post(&gw, None).await.status(), StatusCode::OK);
}
