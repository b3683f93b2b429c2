//! The admin API through the real binary: who may call it (admin tokens, gateway JWTs by
//! role, 401 and 403), and what operators do with it — decide held calls, approve drifted
//! tools, watch live decisions, search and verify the audit trail, take signed compliance
//! reports, block and unblock addresses, validate policies and reload. Bad input is a 4xx,
//! never a 5xx.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{
    Client, Era, TestClient, call, connect, python_stdio_server, rpc_code, try_call, yaml_str,
};
use sallyport_e2e::admin::{ADMIN_TOKEN, AdminClient, VIEWER_TOKEN, admin_yaml};
use sallyport_e2e::jwt::{SigningKey, unix_now};
use sallyport_e2e::{GatewayProc, free_port, http_server, modern_tool_call_as};
use serde_json::{Value, json};

const ISSUER: &str = "https://idp.sallyport.test";

/// JWT auth, the default policy plus `rec.echo` high-risk with `on_unmet: hold`, approvals
/// waiting 30 s, a signed SQLite audit trail tagging `rec` as GDPR, incidents, and the admin
/// listener on `admin_port`.
fn config(port: u16, dir: &Path, upstream: &str, key: &SigningKey, admin_port: u16) -> String {
    std::fs::write(dir.join("jwks.json"), key.jwks().to_string()).unwrap();
    std::fs::write(
        dir.join("high-risk.yaml"),
        "tools:\n  - { server: rec, tool: echo, resource: rec.echo, action: execute, high_risk: true }\nstep_up: { on_unmet: hold }\n",
    )
    .unwrap();
    let d = dir.display();
    format!(
        "servers:\n{server}auth:\n  jwt:\n    issuers: [\"{ISSUER}\"]\n    audience: \"http://127.0.0.1:{port}/mcp\"\n    keys: {{ type: file, path: \"{d}/jwks.json\" }}\n\
         authz:\n  policy_files: [\"{default}\", \"{d}/high-risk.yaml\"]\n\
         approvals:\n  store: \"{d}/approvals.db\"\n  wait_secs: 30\n\
         audit:\n  store: {{ type: sqlite, path: \"{d}/audit.db\" }}\n  signing_key: \"{d}/audit.key\"\n  public_key: \"{d}/audit.pub\"\n  durability: {{ mode: sync }}\n  compliance: [{{ tag: GDPR, resources: [\"mcp://rec/*\"] }}]\n\
         incidents:\n  store: \"{d}/incidents.db\"\n{admin}",
        server = http_server("rec", upstream),
        default = sallyport_e2e::repo_root()
            .join("policies/default.yaml")
            .display(),
        admin = admin_yaml(admin_port),
    )
}

/// A token for `sub` with `roles`, password-only login (so `echo` is held for it).
fn token(key: &SigningKey, audience: &str, sub: &str, roles: &[&str]) -> String {
    let now = unix_now();
    key.sign(&json!({
        "iss": ISSUER, "aud": audience, "sub": sub, "roles": roles,
        "iat": now - 10, "exp": now + 600, "auth_time": now - 30, "amr": ["pwd"],
    }))
}

fn digest(args: &Value) -> String {
    format!(
        "sha256:{}",
        sallyport_audit::event::arguments_digest(args).unwrap()
    )
}

/// A held `rec__echo` call with `text`, running in the background.
fn held_echo(
    gw: &GatewayProc,
    tok: &str,
    text: &str,
) -> tokio::task::JoinHandle<(reqwest::StatusCode, Value)> {
    let (url, tok, text) = (gw.mcp_url(), tok.to_owned(), text.to_owned());
    tokio::spawn(async move {
        modern_tool_call_as(
            &url,
            Some(&tok),
            json!(7),
            "rec__echo",
            json!({ "text": text }),
        )
        .await
    })
}

/// Waits for a pending approval whose arguments digest to `digest`, as the admin API lists it.
async fn wait_pending(admin: &AdminClient, digest: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let list = admin.get("/admin/approvals").await.expect(200);
        if let Some(a) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["args_digest"] == digest)
        {
            return a.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no pending approval for {digest}: {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads SSE text from `resp` until an `event: decision` whose data satisfies `pred`.
async fn next_decision(resp: &mut reqwest::Response, pred: impl Fn(&Value) -> bool) -> Value {
    let mut buffer = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            let name = event
                .lines()
                .find_map(|l| l.strip_prefix("event:"))
                .map(str::trim);
            let data: String = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect::<Vec<_>>()
                .join("\n");
            if name == Some("decision") {
                let record: Value = serde_json::from_str(&data).unwrap();
                if pred(&record) {
                    return record;
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, resp.chunk())
            .await
            .expect("no matching decision event in time")
            .unwrap()
            .expect("the event stream ended");
        buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_authenticate_decide_held_calls_watch_audit_block_and_reload() {
    let recorder = common::python_http_fixture("header_recorder.py", &[]).await;
    let key = SigningKey::generate("admin-api");
    let admin_port = free_port();
    let gw =
        GatewayProc::start_with(|port, dir| config(port, dir, &recorder.url, &key, admin_port))
            .await;
    let aud = gw.mcp_url();
    let dana = token(&key, &aud, "dana", &["developer"]);
    let gus = token(&key, &aud, "gus", &["guest"]);
    let ada = token(&key, &aud, "ada", &["admin"]);
    let anon = AdminClient::new(admin_port, None);
    anon.wait_ready().await;
    let ops = anon.with_token(ADMIN_TOKEN);
    let watcher = anon.with_token(VIEWER_TOKEN);

    // --- Who may call it.
    let doc = anon.get("/admin/openapi.json").await.expect(200);
    assert!(doc["paths"]["/admin/approvals"].is_object(), "{doc}");
    let a = anon.get("/admin/servers").await;
    assert_eq!(a.status, 401, "{}", a.body);
    let challenge = a
        .headers
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        challenge
            .as_deref()
            .is_some_and(|c| c.starts_with("Bearer")),
        "401 without a Bearer challenge: {challenge:?}"
    );
    assert_eq!(a.body["error"], "unauthenticated", "{}", a.body);
    let wrong = anon.with_token("not-the-admin-token-0123456789abcdef0123");
    let a = wrong.get("/admin/servers").await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert!(a.headers.contains_key("www-authenticate"));

    let me = ops.get("/admin/whoami").await.expect(200);
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str()),
        (Some("ops"), Some("admin")),
        "{me}"
    );
    let me = watcher.get("/admin/whoami").await.expect(200);
    assert_eq!(me["role"], "viewer", "{me}");
    let servers = watcher.get("/admin/servers").await.expect(200);
    assert_eq!(servers[0]["name"], "rec", "{servers}");
    assert_eq!(servers[0]["transport"], "http", "{servers}");
    watcher.get("/admin/approvals").await.expect(200);
    watcher.get("/admin/blocks").await.expect(200);
    watcher.get("/admin/incidents").await.expect(200);
    for (path, body) in [
        ("/admin/approvals/abcdef123456/approve", json!({})),
        ("/admin/approvals/abcdef123456/deny", json!({})),
        ("/admin/reload", Value::Null),
        ("/admin/blocks", json!({"ip": "192.0.2.7"})),
    ] {
        let a = watcher.post(path, &body).await;
        assert_eq!(a.status, 403, "viewer POST {path}: {}", a.body);
        assert_eq!(a.body["error"], "forbidden", "{}", a.body);
    }
    assert_eq!(
        watcher.delete("/admin/blocks/ip/192.0.2.7").await.status,
        403
    );

    // Gateway credentials: a JWT principal needs an admin or viewer role.
    let guest = anon.with_token(&gus);
    let a = guest.get("/admin/servers").await;
    assert_eq!(a.status, 403, "a guest JWT: {}", a.body);
    let jwt_admin = anon.with_token(&ada);
    let me = jwt_admin.get("/admin/whoami").await.expect(200);
    assert_eq!(
        (me["name"].as_str(), me["role"].as_str(), me["via"].as_str()),
        (Some("ada"), Some("admin"), Some("jwt")),
        "{me}"
    );
    jwt_admin.get("/admin/servers").await.expect(200);
    let expired = {
        let now = unix_now();
        key.sign(
            &json!({"iss": ISSUER, "aud": aud, "sub": "ada", "roles": ["admin"],
            "iat": now - 7200, "exp": now - 3600}),
        )
    };
    assert_eq!(
        anon.with_token(&expired).get("/admin/servers").await.status,
        401
    );

    // --- Live events: a denial after subscribing arrives as `event: decision`.
    let mut events = ops
        .request(reqwest::Method::GET, "/admin/events?denied=true")
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let ct = events.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(ct.starts_with("text/event-stream"), "{ct}");
    let (status, body) = modern_tool_call_as(
        &gw.mcp_url(),
        Some(&gus),
        json!(3),
        "rec__echo_count",
        json!({}),
    )
    .await;
    assert!(
        body.get("error").is_some() || body["result"]["isError"] == true || status == 403,
        "a guest's call should be refused: {status} {body}"
    );
    let record = next_decision(&mut events, |r| {
        r["outcome"] == "deny" && r["principal"] == "gus"
    })
    .await;
    assert_eq!(record["tool"], "echo_count", "{record}");
    drop(events);

    // --- Audit search, verification and a signed compliance report.
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let list = watcher
            .get("/admin/audit?outcome=deny&limit=50")
            .await
            .expect(200);
        if let Some(e) = list
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["principal"] == "gus")
        {
            break e.clone();
        }
        assert!(
            Instant::now() < deadline,
            "the denial is not in the audit search: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(found["outcome"], "deny", "{found}");
    assert_eq!(found["resource"], "mcp://rec/echo_count", "{found}");
    assert!(
        found["compliance_tags"]
            .as_array()
            .unwrap()
            .contains(&json!("GDPR")),
        "{found}"
    );
    let verified = watcher.get("/admin/audit/verify").await.expect(200);
    assert_eq!(verified["ok"], true, "{verified}");
    assert!(
        verified["events_checked"].as_u64().unwrap() > 0,
        "{verified}"
    );

    let signed = watcher.get("/admin/compliance").await.expect(200);
    let report = &signed["report"];
    let gdpr = report["frameworks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["tag"] == "GDPR")
        .unwrap_or_else(|| panic!("no GDPR summary: {report}"));
    assert!(gdpr["events"].as_u64().unwrap() >= 1, "{gdpr}");
    assert!(gdpr["refused"].as_u64().unwrap() >= 1, "{gdpr}");
    assert_eq!(report["chain"]["ok"], true, "{report}");
    assert_eq!(signed["signature"]["algorithm"], "Ed25519", "{signed}");
    let pem = std::fs::read_to_string(gw.config.parent().unwrap().join("audit.pub")).unwrap();
    let public = sallyport_audit::VerifyingKey::parse(&pem).unwrap();
    assert_eq!(signed["signature"]["key_id"], public.key_id(), "{signed}");
    let sig = base64::engine::general_purpose::STANDARD
        .decode(signed["signature"]["value"].as_str().unwrap())
        .unwrap();
    let canonical = sallyport_audit::canonical::to_canonical_json(report).unwrap();
    let context = signed["signature"]["context"].as_str().unwrap();
    assert!(
        public.verify_detached(context, canonical.as_bytes(), &sig),
        "the report's signature does not verify with the audit public key"
    );
    // Independently of sallyport's code, with the PEM file and a plain Ed25519 check over
    // the documented bytes: `sallyport-compliance-report-v1\n` + canonical JSON of `report`.
    let mut signed_bytes = b"sallyport-compliance-report-v1\n".to_vec();
    signed_bytes.extend_from_slice(canonical.as_bytes());
    let decoding = jsonwebtoken::DecodingKey::from_ed_pem(pem.as_bytes()).unwrap();
    let sig_b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sig);
    assert!(
        jsonwebtoken::crypto::verify(
            &sig_b64url,
            &signed_bytes,
            &decoding,
            jsonwebtoken::Algorithm::EdDSA
        )
        .unwrap(),
        "the signature does not verify over the documented domain and canonical JSON"
    );
    // A tampered report does not.
    let mut forged = report.clone();
    forged["tagged_events"] = json!(0);
    let forged = sallyport_audit::canonical::to_canonical_json(&forged).unwrap();
    assert!(!public.verify_detached(context, forged.as_bytes(), &sig));

    // --- A held call waits; approve lets it through, deny refuses it.
    let transfer = digest(&json!({"text": "wire transfer"}));
    let waiting = held_echo(&gw, &dana, "wire transfer");
    let pending = wait_pending(&watcher, &transfer).await;
    assert_eq!(
        (
            pending["principal"].as_str(),
            pending["server"].as_str(),
            pending["tool"].as_str(),
            pending["state"].as_str()
        ),
        (Some("dana"), Some("rec"), Some("echo"), Some("pending")),
        "{pending}"
    );
    let id = pending["id"].as_str().unwrap().to_owned();
    let decided = ops
        .post(
            &format!("/admin/approvals/{id}/approve"),
            &json!({"note": "ok by ops"}),
        )
        .await
        .expect(200);
    assert_eq!(decided["state"], "approved", "{decided}");
    assert_eq!(decided["decided_by"], "ops", "{decided}");
    let (status, body) = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the approved call still waits")
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["content"][0]["text"], "wire transfer",
        "{body}"
    );
    // Deciding it again conflicts.
    let again = ops.post_empty(&format!("/admin/approvals/{id}/deny")).await;
    assert_eq!(again.status, 409, "{}", again.body);

    let steal = digest(&json!({"text": "wire everything"}));
    let waiting = held_echo(&gw, &dana, "wire everything");
    let pending = wait_pending(&ops, &steal).await;
    let id = pending["id"].as_str().unwrap();
    // A unique prefix names it too; no body at all is fine.
    let decided = jwt_admin
        .post_empty(&format!("/admin/approvals/{}/deny", &id[..10]))
        .await
        .expect(200);
    assert_eq!(
        (decided["state"].as_str(), decided["decided_by"].as_str()),
        (Some("denied"), Some("ada"))
    );
    let (_, body) = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the denied call still waits")
        .unwrap();
    assert_eq!(body["error"]["code"], -32005, "{body}");
    let all = watcher.get("/admin/approvals?all=true").await.expect(200);
    assert!(all.as_array().unwrap().len() >= 2, "{all}");

    // Unknown ids.
    for verb in ["approve", "deny"] {
        let a = ops
            .post(&format!("/admin/approvals/abcdef123456/{verb}"), &json!({}))
            .await;
        assert_eq!(a.status, 404, "unknown id {verb}: {}", a.body);
        assert_eq!(a.body["error"], "not_found", "{}", a.body);
    }

    // --- Blocks: an address blocked from the admin API is refused at the MCP edge only.
    let count = |gw: &GatewayProc| {
        let (url, dana) = (gw.mcp_url(), dana.clone());
        async move {
            modern_tool_call_as(&url, Some(&dana), json!(11), "rec__echo_count", json!({})).await
        }
    };
    let (status, body) = count(&gw).await;
    assert_eq!(status, 200, "{body}");
    let blocks = ops
        .post(
            "/admin/blocks",
            &json!({"ip": "127.0.0.1", "reason": "e2e"}),
        )
        .await
        .expect(201);
    assert!(
        blocks
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["kind"] == "ip" && b["value"] == "127.0.0.1"),
        "{blocks}"
    );
    let (status, body) = count(&gw).await;
    assert_eq!(status, 403, "a blocked address must be refused: {body}");
    let listed = watcher.get("/admin/blocks").await.expect(200);
    assert!(listed.to_string().contains("operator ops: e2e"), "{listed}");
    ops.delete("/admin/blocks/ip/127.0.0.1").await.expect(204);
    let (status, body) = count(&gw).await;
    assert_eq!(status, 200, "unblocked: {body}");
    assert_eq!(ops.delete("/admin/blocks/ip/127.0.0.1").await.status, 404);
    ops.post(
        "/admin/blocks",
        &json!({"principal": "mallory", "duration_secs": 60}),
    )
    .await
    .expect(201);
    ops.delete("/admin/blocks/principal/mallory")
        .await
        .expect(204);

    // --- Policies and reload.
    let v = ops
        .post(
            "/admin/policies/validate",
            &json!({"policy": "roles:\n  dev:\n    permissions: [\"mcp.rec:execute\"]\n"}),
        )
        .await
        .expect(200);
    assert_eq!(v["valid"], true, "{v}");
    for broken in [
        "roles: [unclosed",
        "roles:\n  dev:\n    permissions: [\"no-action-here\"]\n",
        "nonsense_key: 1\n",
    ] {
        let v = watcher
            .post("/admin/policies/validate", &json!({ "policy": broken }))
            .await
            .expect(200);
        assert_eq!(v["valid"], false, "{broken:?} validated: {v}");
        assert!(!v["errors"].as_array().unwrap().is_empty(), "{v}");
    }
    let run = ops
        .post(
            "/admin/policies/dry-run",
            &json!({"cases": "principal: { id: gus, roles: [guest] }\nserver: rec\ntool: echo_count\nexpect: deny\n"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (run["passed"].as_u64(), run["failed"].as_u64()),
        (Some(1), Some(0)),
        "{run}"
    );

    let original = std::fs::read_to_string(&gw.config).unwrap();
    ops.post_empty("/admin/reload").await.expect(200);
    std::fs::write(&gw.config, "servers: [\n").unwrap();
    let a = ops.post_empty("/admin/reload").await;
    assert_eq!(a.status, 400, "a broken config: {}", a.body);
    assert_eq!(a.body["error"], "bad_request", "{}", a.body);
    let (status, body) = count(&gw).await;
    assert_eq!(
        status, 200,
        "the gateway keeps working after a failed reload: {body}"
    );
    std::fs::write(&gw.config, &original).unwrap();
    ops.post_empty("/admin/reload").await.expect(200);

    // --- Bad input: a 4xx, never a 5xx.
    let mut failures = Vec::new();
    let bad_posts: [(&str, &str, &str); 12] = [
        ("/admin/blocks", "application/json", "{not json"),
        ("/admin/blocks", "text/plain", "{\"ip\":\"192.0.2.1\"}"),
        ("/admin/blocks", "application/json", "{\"bogus\":1}"),
        ("/admin/blocks", "application/json", "{}"),
        (
            "/admin/blocks",
            "application/json",
            "{\"ip\":\"not-an-ip\"}",
        ),
        (
            "/admin/blocks",
            "application/json",
            "{\"ip\":\"192.0.2.1\",\"duration_secs\":0}",
        ),
        (
            "/admin/blocks",
            "application/json",
            "{\"ip\":\"192.0.2.1\",\"principal\":\"x\"}",
        ),
        (
            "/admin/approvals/abcdef123456/approve",
            "application/json",
            "{oops",
        ),
        ("/admin/approvals/abc/approve", "application/json", "{}"),
        ("/admin/policies/validate", "application/json", "[]"),
        (
            "/admin/policies/dry-run",
            "application/json",
            "{\"cases\": 5}",
        ),
        (
            "/admin/policies/dry-run",
            "application/json",
            "{\"cases\": \"- {: [\"}",
        ),
    ];
    for (path, ct, body) in bad_posts {
        let a = ops.post_raw(path, ct, body).await;
        if !a.status.is_client_error() {
            failures.push(format!(
                "POST {path} ({ct}) {body:?} -> {} {}",
                a.status, a.body
            ));
        }
    }
    for path in [
        "/admin/audit?limit=abc",
        "/admin/audit?since_ms=-1",
        "/admin/approvals?all=maybe",
        "/admin/compliance?from_ms=10&until_ms=5",
        "/admin/tools/rec/nope",
        "/admin/incidents/does-not-exist",
    ] {
        let a = ops.get(path).await;
        if !a.status.is_client_error() {
            failures.push(format!("GET {path} -> {} {}", a.status, a.body));
        }
    }
    for path in ["/admin/blocks/ip/not-an-ip", "/admin/keys/nope"] {
        let a = ops.delete(path).await;
        if !a.status.is_client_error() {
            failures.push(format!("DELETE {path} -> {} {}", a.status, a.body));
        }
    }
    assert!(
        failures.is_empty(),
        "bad input answered without a 4xx:\n{}",
        failures.join("\n")
    );
    // Still serving after all that.
    ops.get("/admin/servers").await.expect(200);
}

async fn weather(client: &Client) -> Option<String> {
    let list = client.list_all_tools().await.expect("tools/list");
    list.iter()
        .find(|t| t.name == "w__get_weather")
        .map(|t| t.description.as_deref().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drifted_tool_is_listed_with_both_definitions_and_approving_it_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("pins.db");
    let servers = python_stdio_server(
        "w",
        "threat_server.py",
        &["--set", "clean", "--rug-after", "2"],
    );
    let admin_port = free_port();
    let gw = GatewayProc::start(&format!(
        "servers:\n{servers}detect:\n  pinning: {{ store: {} }}\n{}",
        yaml_str(&store.display().to_string()),
        admin_yaml(admin_port)
    ))
    .await;
    let ops = AdminClient::new(admin_port, Some(ADMIN_TOKEN));
    ops.wait_ready().await;
    let watcher = ops.with_token(VIEWER_TOKEN);

    let client = connect(TestClient::bare().0, &gw.mcp_url(), Era::Legacy).await;
    assert!(weather(&client).await.is_some());
    let tools = watcher.get("/admin/tools").await.expect(200);
    let pinned = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "get_weather")
        .unwrap_or_else(|| panic!("get_weather is not pinned: {tools}"));
    assert_eq!(pinned["state"], "approved", "{pinned}");
    let a = ops.post_empty("/admin/tools/w/get_weather/reject").await;
    assert_eq!(a.status, 409, "rejecting an approved tool: {}", a.body);

    // The rug pull: after two calls the definition changes and the tool is held.
    for _ in 0..2 {
        call(&client, "w__get_weather", json!({"city": "Paris"})).await;
    }
    assert_eq!(
        weather(&client).await,
        None,
        "a drifted tool must not be listed"
    );
    let err = try_call(&client, "w__get_weather", json!({"city": "Paris"}))
        .await
        .unwrap_err();
    assert_eq!(rpc_code(&err), Some(-32016), "{err:#}");

    let held = watcher.get("/admin/tools?held=true").await.expect(200);
    let drifted = held
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["server"] == "w" && t["tool"] == "get_weather")
        .unwrap_or_else(|| panic!("get_weather not held: {held}"))
        .clone();
    assert_eq!(drifted["state"], "drift", "{drifted}");
    assert_ne!(drifted["approved_hash"], drifted["seen_hash"], "{drifted}");
    let all = watcher.get("/admin/tools?server=w").await.expect(200);
    assert_eq!(
        all[0]["tool"], "get_weather",
        "held tools are listed first: {all}"
    );

    let detail = watcher.get("/admin/tools/w/get_weather").await.expect(200);
    let approved = detail["approved_definition"]["description"]
        .as_str()
        .unwrap_or_default();
    let seen = detail["seen_definition"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(!approved.is_empty() && !seen.is_empty(), "{detail}");
    assert!(
        !approved.contains("wind speed") && seen.contains("wind speed"),
        "{detail}"
    );
    assert_eq!(detail["state"], "drift", "{detail}");
    assert_eq!(watcher.get("/admin/tools/w/nope").await.status, 404);

    // A viewer may not decide; a rejection keeps it held; an approval releases it.
    let a = watcher
        .post_empty("/admin/tools/w/get_weather/approve")
        .await;
    assert_eq!(a.status, 403, "{}", a.body);
    let rejected = ops
        .post_empty("/admin/tools/w/get_weather/reject")
        .await
        .expect(200);
    assert_eq!(rejected["state"], "drift", "{rejected}");
    assert!(
        rejected["detail"]
            .as_str()
            .unwrap()
            .starts_with("rejected by ops"),
        "{rejected}"
    );
    let err = try_call(&client, "w__get_weather", json!({"city": "Paris"}))
        .await
        .unwrap_err();
    assert_eq!(
        rpc_code(&err),
        Some(-32016),
        "still held after a rejection: {err:#}"
    );

    let released = ops
        .post_empty("/admin/tools/w/get_weather/approve")
        .await
        .expect(200);
    assert_eq!(released["state"], "approved", "{released}");
    assert_eq!(
        released["approved_hash"], released["seen_hash"],
        "{released}"
    );
    call(&client, "w__get_weather", json!({"city": "Paris"})).await;
    assert!(weather(&client).await.unwrap().contains("wind speed"));
    assert_eq!(
        ops.post_empty("/admin/tools/w/nope/approve").await.status,
        404
    );

    let servers = watcher.get("/admin/servers").await.expect(200);
    assert_eq!(servers[0]["transport"], "stdio", "{servers}");
    client.cancel().await.unwrap();
}

/// Every error response carries the documented JSON body (`ErrorBody`: `error`, `message`),
/// and no input makes the listener drop the connection without an answer.
///
/// Fails until crates/console fixes two bugs: extractor rejections (malformed JSON, wrong
/// content type, unknown fields, bad query values) are axum's `text/plain` bodies, and
/// `POST /admin/blocks` with a huge `duration_secs` panics (`Instant + Duration` overflow)
/// so the client gets no response at all.
#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_of_bad_input_is_a_json_error_body() {
    let admin_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let gw = GatewayProc::start(&format!(
        "servers:\n{}approvals: {{ store: {} }}\n{}",
        sallyport_e2e::demo_stdio_server("demo"),
        yaml_str(&dir.path().join("approvals.db").display().to_string()),
        admin_yaml(admin_port)
    ))
    .await;
    let ops = AdminClient::new(admin_port, Some(ADMIN_TOKEN));
    ops.wait_ready().await;

    let mut failures = Vec::new();
    let requests: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "POST /admin/blocks malformed JSON",
            ops.request(reqwest::Method::POST, "/admin/blocks")
                .header("content-type", "application/json")
                .body("{not json"),
        ),
        (
            "POST /admin/blocks without a content type",
            ops.request(reqwest::Method::POST, "/admin/blocks")
                .body("{\"ip\":\"192.0.2.1\"}"),
        ),
        (
            "POST /admin/blocks with an unknown field",
            ops.request(reqwest::Method::POST, "/admin/blocks")
                .json(&json!({"ip": "192.0.2.1", "bogus": 1})),
        ),
        (
            "POST /admin/blocks with duration_secs = i64::MAX",
            ops.request(reqwest::Method::POST, "/admin/blocks")
                .json(&json!({"ip": "192.0.2.2", "duration_secs": i64::MAX})),
        ),
        (
            "POST /admin/blocks for a principal with duration_secs = u64::MAX",
            ops.request(reqwest::Method::POST, "/admin/blocks")
                .json(&json!({"principal": "p", "duration_secs": u64::MAX})),
        ),
        (
            "POST /admin/approvals/{id}/approve malformed JSON",
            ops.request(
                reqwest::Method::POST,
                "/admin/approvals/abcdef123456/approve",
            )
            .header("content-type", "application/json")
            .body("{oops"),
        ),
        (
            "POST /admin/policies/validate with the wrong shape",
            ops.request(reqwest::Method::POST, "/admin/policies/validate")
                .json(&json!([])),
        ),
        (
            "GET /admin/approvals?limit=abc",
            ops.request(reqwest::Method::GET, "/admin/approvals?limit=abc"),
        ),
        (
            "GET /admin/audit?since_ms=-1",
            ops.request(reqwest::Method::GET, "/admin/audit?since_ms=-1"),
        ),
    ];
    for (what, rb) in requests {
        match AdminClient::try_send(rb).await {
            Err(e) => failures.push(format!("{what}: no response at all ({e})")),
            Ok(a) if a.status.is_server_error() => {
                failures.push(format!("{what}: {} {}", a.status, a.body));
            }
            Ok(a) if a.status.is_success() => {}
            Ok(a) => {
                let json = a
                    .headers
                    .get("content-type")
                    .is_some_and(|v| v.to_str().unwrap().starts_with("application/json"));
                if !json || !a.body["error"].is_string() || !a.body["message"].is_string() {
                    failures.push(format!(
                        "{what}: {} with {:?}, not an ErrorBody: {}",
                        a.status,
                        a.headers.get("content-type"),
                        a.body
                    ));
                }
            }
        }
    }
    // The listener survives whatever happened above.
    ops.get("/admin/blocks").await.expect(200);
    assert!(
        failures.is_empty(),
        "{} bad answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    drop(gw);
}

/// `GET /admin/traffic` counts what rate limits refused in the last hour, names the latest
/// refusals, and shows the breakers; before any refusal it counts nothing.
#[tokio::test(flavor = "multi_thread")]
async fn traffic_shows_what_rate_limits_refused() {
    let admin_port = free_port();
    let gw = GatewayProc::start(&format!(
        "servers:\n{}limits:\n  rate_limits:\n    per_principal: {{ requests_per_minute: 2, burst_size: 2 }}\n{}",
        sallyport_e2e::demo_stdio_server("demo"),
        admin_yaml(admin_port)
    ))
    .await;
    let ops = AdminClient::new(admin_port, Some(ADMIN_TOKEN));
    ops.wait_ready().await;
    let before = ops.get("/admin/traffic").await.expect(200);
    assert_eq!(before["refusals_last_hour"], json!({}), "{before}");
    assert_eq!(before["servers"][0]["breaker"], "closed", "{before}");
    assert!(before["redis"].is_null(), "in-process counters: {before}");

    let mut refused = 0;
    for id in 0..5 {
        let (_, body) = modern_tool_call_as(
            &gw.mcp_url(),
            None,
            json!(id),
            "demo__echo",
            json!({"text": "hi"}),
        )
        .await;
        if body.get("error").is_some() {
            refused += 1;
        }
    }
    assert!(
        refused >= 2,
        "the limit of 2 a minute refuses the rest ({refused})"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let v = ops.get("/admin/traffic").await.expect(200);
        if v["refusals_last_hour"]["rate_limited"].as_u64() == Some(refused) {
            break v;
        }
        assert!(Instant::now() < deadline, "refusals not counted: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(after["recent"][0]["code"], "rate_limited", "{after}");
    assert_eq!(after["recent"][0]["resource"], "demo/echo", "{after}");
}
