//! The admin listener over TLS with client certificates (`admin.tls` + `auth.mtls`): a
//! service whose certificate maps to the admin role operates, one without an admin or
//! viewer role is refused (403), and a connection without a certificate never gets in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use sallyport_e2e::pki::{Ca, Issued};
use sallyport_e2e::{GatewayProc, free_port, http_server};

const BILLING: &str = "spiffe://example.org/ns/prod/sa/billing";
const OPS: &str = "spiffe://example.org/ns/ops/sa/oncall";

/// A client trusting `ca`, presenting `cert` if any.
fn client(ca: &Ca, cert: Option<&Issued>) -> reqwest::Client {
    // A request to a listener still starting may get no answer: bound it, so the retry loop
    // below retries instead of waiting forever (seen once in CI).
    let mut builder = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem.as_bytes()).unwrap()]);
    if let Some(cert) = cert {
        builder = builder.identity(reqwest::Identity::from_pem(&cert.identity_pem()).unwrap());
    }
    builder.build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn client_certificates_authenticate_operators_on_the_admin_listener() {
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let ca = Ca::new("Sallyport test clients CA");
    let (billing, ops) = (ca.client(BILLING), ca.client(OPS));
    let server = ca.server();
    let ca_pem = ca.cert_pem.clone();
    let admin_port = free_port();
    let upstream = recorder.url.clone();
    let gw = GatewayProc::start_tls(
        |dir: &Path| {
            std::fs::write(dir.join("server.pem"), &server.cert_pem).unwrap();
            std::fs::write(dir.join("server.key"), &server.key_pem).unwrap();
            format!(
                "{{ cert_path: \"{}\", key_path: \"{}\" }}",
                dir.join("server.pem").display(),
                dir.join("server.key").display()
            )
        },
        client(&ca, Some(&billing)),
        move |_, dir| {
            std::fs::write(dir.join("clients-ca.pem"), &ca_pem).unwrap();
            format!(
                "servers:\n{}auth:\n  mtls:\n    client_ca_path: \"{ca}\"\n    require_client_cert: true\n    services:\n      - {{ name: billing-agent, spiffe_ids: [\"{BILLING}\"], roles: [mcp_operator] }}\n      - {{ name: oncall, spiffe_ids: [\"{OPS}\"], roles: [admin] }}\nadmin:\n  listen: \"127.0.0.1:{admin_port}\"\n  tls: {{ cert_path: \"{cert}\", key_path: \"{key}\" }}\n",
                http_server("rec", &upstream),
                ca = dir.join("clients-ca.pem").display(),
                cert = dir.join("server.pem").display(),
                key = dir.join("server.key").display(),
            )
        },
    )
    .await;
    let base = format!("https://localhost:{admin_port}");
    let whoami = |c: reqwest::Client| {
        let url = format!("{base}/admin/whoami");
        async move { c.get(url).send().await }
    };
    // The admin listener starts with the gateway; give it a moment.
    let mut answer = None;
    for _ in 0..100 {
        if let Ok(r) = whoami(client(&ca, Some(&ops))).await {
            answer = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let answer = answer.expect("the admin listener answers over TLS");
    let status = answer.status();
    let op: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(status, 200, "{op}\n{}", gw.logs());
    assert_eq!(op["name"], "oncall", "{op}");
    assert_eq!(op["role"], "admin", "{op}");
    assert_eq!(op["via"], "mtls", "{op}");

    // A service without an admin or viewer role: authenticated, not authorized.
    let resp = whoami(client(&ca, Some(&billing))).await.unwrap();
    assert_eq!(resp.status(), 403);

    // No certificate: the handshake fails.
    assert!(
        whoami(client(&ca, None)).await.is_err(),
        "no certificate got in"
    );

    // A certificate for the admin's SPIFFE id from another CA: refused in the handshake.
    let rogue = Ca::new("Rogue CA").client(OPS);
    let forged = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.cert_pem.as_bytes()).unwrap()])
        .identity(reqwest::Identity::from_pem(&rogue.identity_pem()).unwrap())
        .build()
        .unwrap();
    assert!(whoami(forged).await.is_err(), "a forged certificate got in");
    drop(gw);
}
