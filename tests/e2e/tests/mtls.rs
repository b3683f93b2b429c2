//! mTLS: a TLS 1.3 listener that requires client certificates from the configured CA and
//! names the caller from its SPIFFE id (seed 001's service registry), with certificates
//! generated at test time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use sallyport_e2e::pki::{Ca, Issued};
use sallyport_e2e::{GatewayProc, http_server, response_body};
use serde_json::{Value, json};

const BILLING: &str = "spiffe://example.org/ns/prod/sa/billing";

/// A client trusting `ca`, presenting `cert` if any.
fn client(ca: &Ca, cert: Option<&Issued>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem.as_bytes()).unwrap()]);
    if let Some(cert) = cert {
        builder = builder.identity(reqwest::Identity::from_pem(&cert.identity_pem()).unwrap());
    }
    builder.build().unwrap()
}

/// `listen.tls` with the server certificate written into the gateway's directory, and
/// `auth.mtls` trusting `ca`.
async fn start(ca: &Ca, probe: reqwest::Client, upstream: &str) -> GatewayProc {
    let server = ca.server();
    let ca_pem = ca.cert_pem.clone();
    GatewayProc::start_tls(
        move |dir: &Path| {
            std::fs::write(dir.join("server.pem"), &server.cert_pem).unwrap();
            std::fs::write(dir.join("server.key"), &server.key_pem).unwrap();
            format!(
                "{{ cert_path: \"{}\", key_path: \"{}\" }}",
                dir.join("server.pem").display(),
                dir.join("server.key").display()
            )
        },
        probe,
        move |_, dir| {
            std::fs::write(dir.join("clients-ca.pem"), &ca_pem).unwrap();
            format!(
                "servers:\n{}auth:\n  mtls:\n    client_ca_path: \"{}\"\n    require_client_cert: true\n    services:\n      - {{ name: billing-agent, spiffe_ids: [\"{BILLING}\"], roles: [mcp_operator] }}\n",
                http_server("rec", upstream),
                dir.join("clients-ca.pem").display(),
            )
        },
    )
    .await
}

async fn initialize(client: &reqwest::Client, url: &str) -> reqwest::Result<reqwest::Response> {
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string())
        .send()
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn client_certificates_name_the_service_and_strangers_never_get_in() {
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let ca = Ca::new("Sallyport test clients CA");
    let billing = ca.client(BILLING);
    let gw = start(&ca, client(&ca, Some(&billing)), &recorder.url).await;
    assert!(gw.base.starts_with("https://"), "{}", gw.base);

    // A registered service: its calls go through as that service, over TLS.
    let as_billing = client(&ca, Some(&billing));
    let resp = initialize(&as_billing, &gw.mcp_url()).await.unwrap();
    assert_eq!(resp.status(), 200, "{:?}", gw.decisions());
    let sid = resp.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rec__echo","arguments":{"text":"over mtls"}}});
    let resp = as_billing
        .post(gw.mcp_url())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "2025-11-25")
        .body(call.to_string())
        .send()
        .await
        .unwrap();
    let body = response_body(&resp.text().await.unwrap());
    assert_eq!(body["result"]["content"][0]["text"], "over mtls", "{body}");
    let record = gw
        .wait_decision(|d| d["tool"] == "echo" && d["direction"] == "client_to_server")
        .await;
    assert_eq!(record["principal"], "billing-agent", "{record}");
    assert_eq!(record["auth_method"], "mtls", "{record}");
    assert_eq!(record["source_ip"], "127.0.0.1", "{record}");

    // No certificate: the handshake fails, nothing reaches HTTP, the refusal is recorded.
    let anonymous = initialize(&client(&ca, None), &gw.mcp_url()).await;
    assert!(
        anonymous.is_err(),
        "a connection without a client certificate got in"
    );
    let bad_cert = gw
        .wait_decision(|d| d["deny_code"] == "invalid_certificate")
        .await;
    // Recorded with the client's address, so repeated failures can be counted per address.
    assert_eq!(bad_cert["source_ip"], "127.0.0.1", "{bad_cert}");
    assert_eq!(bad_cert["principal"], "unauthenticated", "{bad_cert}");

    // A certificate for the same SPIFFE id from another CA: refused in the handshake.
    let rogue_ca = Ca::new("Rogue CA");
    let forged = rogue_ca.client(BILLING);
    let forged_client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem.as_bytes()).unwrap()])
        .identity(reqwest::Identity::from_pem(&forged.identity_pem()).unwrap())
        .build()
        .unwrap();
    assert!(
        initialize(&forged_client, &gw.mcp_url()).await.is_err(),
        "a certificate from an unknown CA got in"
    );

    // A valid certificate for a service that is not registered: 403, never forwarded.
    let stranger = ca.client("spiffe://example.org/ns/prod/sa/stranger");
    let resp = initialize(&client(&ca, Some(&stranger)), &gw.mcp_url())
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let refused: Value = gw
        .wait_decision(|d| d["deny_code"] == "auth_forbidden")
        .await;
    assert_eq!(refused["outcome"], "deny", "{refused}");

    // Plain HTTP to the TLS listener gets nowhere.
    let plain = gw.mcp_url().replacen("https://", "http://", 1);
    assert!(
        !initialize(&reqwest::Client::new(), &plain)
            .await
            .is_ok_and(|r| r.status().is_success()),
        "plain HTTP must not be served on the TLS listener"
    );
}
