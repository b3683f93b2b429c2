//! The official Python MCP client through Sallyport with a JWT bearer token: a P-256 key
//! generated at test time, its JWKS in a file (`auth.jwt.keys: { type: file }`), tokens
//! signed here, the header recorder fixture as the upstream.
//!
//! Asserts that a valid token carries the whole flow (initialize, list, call) with the
//! role its claim maps to; that no token, an expired token, a token for another audience
//! and a token from an unknown key are refused with 401 and a `Bearer` challenge; and that
//! the upstream never sees the client's token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use sallyport_e2e::jwt::{SigningKey, unix_now};
use sallyport_e2e::{ClientRun, GatewayProc, http_server, ok, py_client, tool_names};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.sallyport.test";
const KID: &str = "e2e-p256";

/// Claims for `audience`, valid from a minute ago for `ttl_secs` (negative: already expired
/// by that much, well past the 60 s clock skew).
fn claims(audience: &str, roles: &[&str], ttl_secs: i64) -> Value {
    let now = unix_now();
    let exp = now.saturating_add_signed(ttl_secs);
    json!({
        "iss": ISSUER, "aud": audience, "sub": "alice@example.com",
        "iat": now - 60, "nbf": now - 60, "exp": exp,
        "jti": format!("e2e-{ttl_secs}-{}", roles.join("-")), "roles": roles,
    })
}

/// The gateway's config: the recorder upstream, JWT with the key set in `dir/jwks.json`,
/// Protected Resource Metadata, and the shipped default authorization policy.
fn config(port: u16, dir: &Path, upstream: &str, jwks: &Value) -> String {
    let jwks_path = dir.join("jwks.json");
    std::fs::write(&jwks_path, jwks.to_string()).unwrap();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    format!(
        "servers:\n{}auth:\n  jwt:\n    issuers: [\"{ISSUER}\"]\n    audience: \"{audience}\"\n    algorithms: [ES256]\n    keys: {{ type: file, path: {} }}\n  resource: {{ resource: \"{audience}\", authorization_servers: [\"{ISSUER}\"] }}\nauthz: {{}}\n",
        http_server("rec", upstream),
        common::yaml_str(&jwks_path.display().to_string()),
    )
}

/// One run of the Python SDK client against the gateway (legacy `initialize` era).
async fn python(gw: &GatewayProc, bearer: Option<&str>, command: &[&str]) -> ClientRun {
    let url = gw.mcp_url();
    let mut args = vec!["--url", url.as_str(), "--mode", "legacy", "--timeout", "15"];
    if let Some(token) = bearer {
        args.extend(["--bearer", token]);
    }
    args.extend_from_slice(command);
    tokio::time::timeout(common::PATIENCE * 3, py_client(&args))
        .await
        .unwrap_or_else(|_| panic!("the Python client hung on {command:?}"))
}

/// A raw `initialize` with `Authorization: Bearer <token>` (or none).
async fn raw_initialize(gw: &GatewayProc, bearer: Option<&str>) -> reqwest::Response {
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let mut req = reqwest::Client::new()
        .post(gw.mcp_url())
        .timeout(common::PATIENCE)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(init.to_string());
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

/// Refused at the edge: the Python client fails, and the same credential on a raw request
/// gets 401 with a `Bearer` challenge (`error="invalid_token"` when a token was presented).
async fn assert_refused(gw: &GatewayProc, what: &str, bearer: Option<&str>) {
    let run = python(gw, bearer, &["list-tools"]).await;
    assert_ne!(
        run.code, 0,
        "{what}: the Python client succeeded: {:#}",
        run.json
    );
    // The SDK surfaces the gateway's 401 body: JSON-RPC error -32001 (unauthenticated).
    assert_eq!(run.json["error"]["code"], -32001, "{what}: {:#}", run.json);

    let resp = raw_initialize(gw, bearer).await;
    assert_eq!(resp.status(), 401, "{what}");
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .unwrap_or_else(|| panic!("{what}: 401 without WWW-Authenticate"))
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer "), "{what}: {challenge}");
    assert!(
        challenge.contains("resource_metadata=\"")
            && challenge.contains("/.well-known/oauth-protected-resource"),
        "{what}: {challenge}"
    );
    assert_eq!(
        challenge.contains("error=\"invalid_token\""),
        bearer.is_some(),
        "{what}: {challenge}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_client_with_a_jwt_bearer_token() {
    let key = SigningKey::generate(KID);
    let stranger = SigningKey::generate("not-in-the-key-set");
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let jwks = key.jwks();
    let gw = GatewayProc::start_with(|port, dir| config(port, dir, &recorder.url, &jwks)).await;
    let audience = gw.mcp_url();

    // (a) A valid token whose `developer` role maps to mcp_operator: initialize, list, call.
    let token = key.sign(&claims(&audience, &["developer"], 600));
    assert_whole_flow(&gw, &token).await;

    // The role claim decides: `viewer` maps to mcp_readonly, which may not run tools, so
    // the call is answered like an unknown tool.
    let viewer = key.sign(&claims(&audience, &["viewer"], 600));
    let denied = python(
        &gw,
        Some(&viewer),
        &["call-tool", "rec__echo", r#"{"text":"x"}"#],
    )
    .await;
    assert_ne!(denied.code, 0, "readonly ran a tool: {:#}", denied.json);
    assert!(
        denied.json.to_string().contains("Unknown tool"),
        "{:#}",
        denied.json
    );

    // (c) The upstream saw none of the client's credentials.
    assert_upstream_saw_no_token(&gw, &token, &[&token, &viewer]).await;

    // (b) Refused at the edge, before any body is read.
    assert_refused(&gw, "no token", None).await;
    let expired = key.sign(&claims(&audience, &["developer"], -3600));
    assert_refused(&gw, "expired token", Some(&expired)).await;
    let elsewhere = key.sign(&claims("https://other.example/mcp", &["developer"], 600));
    assert_refused(&gw, "token for another audience", Some(&elsewhere)).await;
    let forged = stranger.sign(&claims(&audience, &["developer"], 600));
    assert_refused(&gw, "token from an unknown key", Some(&forged)).await;
    gw.wait_decision(|d| d["deny_code"] == "unauthenticated")
        .await;
}

/// With `token`, the Python client initializes, lists the recorder's tools and calls one;
/// the decision record names the token's subject.
async fn assert_whole_flow(gw: &GatewayProc, token: &str) {
    let listed = python(gw, Some(token), &["list-tools"]).await;
    let names = tool_names(ok(&listed));
    common::assert_has(
        &names,
        &["rec__echo", "rec__request_log"],
        "tools/list with a token",
    );
    let text = "through the gate with a JWT";
    let args = json!({ "text": text }).to_string();
    let echoed = python(gw, Some(token), &["call-tool", "rec__echo", &args]).await;
    assert!(ok(&echoed).to_string().contains(text), "{:#}", echoed.json);
    let record = gw
        .wait_decision(|d| d["tool"] == "echo" && d["direction"] == "client_to_server")
        .await;
    assert_eq!(record["principal"], "alice@example.com", "{record}");
}

/// No HTTP request the recorder got (initialize, notifications, lists, calls, from every
/// run so far) carried an `Authorization` header or any of `secrets` (or its signature).
async fn assert_upstream_saw_no_token(gw: &GatewayProc, token: &str, secrets: &[&str]) {
    let log = python(gw, Some(token), &["call-tool", "rec__request_log", "{}"]).await;
    let text = ok(&log)["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {:#}", log.json));
    let requests: Vec<Value> = serde_json::from_str(text).unwrap();
    assert!(
        requests.len() >= 4,
        "too few recorded requests: {requests:?}"
    );
    for request in &requests {
        let headers = request["headers"].as_object().unwrap();
        assert!(
            !headers.contains_key("authorization"),
            "an Authorization header reached the upstream: {request}"
        );
        for value in headers.values() {
            let value = value.as_str().unwrap_or_default();
            for secret in secrets {
                let signature = secret.rsplit('.').next().unwrap();
                assert!(
                    !value.contains(secret) && !value.contains(signature),
                    "a token reached the upstream: {request}"
                );
            }
        }
    }
}
