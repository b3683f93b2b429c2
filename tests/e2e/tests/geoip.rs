//! Country from a GeoIP database (`authz.geoip_database`): a CSV file maps loopback to a
//! country, and a Cedar `forbid` on that country refuses one tool to callers from there
//! while another tool still works. A database that cannot be read stops the gateway.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use sallyport_e2e::jwt::{SigningKey, unix_now};
use sallyport_e2e::{GatewayProc, http_server, modern_tool_call_as, sallyport_bin};
use serde_json::json;

const ISSUER: &str = "https://idp.sallyport.test";

/// JWT auth with `key`, the default policy plus a Cedar file forbidding `notes/echo` to
/// callers in KP, and `geoip` as the database (written into `dir` when `csv` is given).
fn config(port: u16, dir: &Path, upstream: &str, key: &SigningKey, csv: Option<&str>) -> String {
    std::fs::write(dir.join("jwks.json"), key.jwks().to_string()).unwrap();
    std::fs::write(
        dir.join("geo.cedar"),
        "@id(\"no-echo-from-kp\")\nforbid (principal, action, resource == Tool::\"notes/echo\")\nwhen { context has country && context.country == \"KP\" };\n",
    )
    .unwrap();
    std::fs::write(dir.join("geo.yaml"), "cedar:\n  files: [geo.cedar]\n").unwrap();
    let database = dir.join("countries.csv");
    if let Some(text) = csv {
        std::fs::write(&database, text).unwrap();
    }
    let audience = format!("http://127.0.0.1:{port}/mcp");
    format!(
        "servers:\n{}auth:\n  jwt:\n    issuers: [\"{ISSUER}\"]\n    audience: \"{audience}\"\n    keys: {{ type: file, path: \"{}\" }}\n  resource: {{ resource: \"{audience}\", authorization_servers: [\"{ISSUER}\"] }}\nauthz:\n  policy_files: [\"{}\", \"{}\"]\n  geoip_database: \"{}\"\n",
        http_server("notes", upstream),
        dir.join("jwks.json").display(),
        sallyport_e2e::repo_root()
            .join("policies/default.yaml")
            .display(),
        dir.join("geo.yaml").display(),
        database.display(),
    )
}

fn token(key: &SigningKey, audience: &str) -> String {
    let now = unix_now();
    key.sign(&json!({
        "iss": ISSUER, "aud": audience, "sub": "dana", "roles": ["developer"],
        "iat": now - 10, "exp": now + 600, "auth_time": now - 10, "amr": ["pwd", "mfa"],
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cedar_forbid_on_the_callers_country_refuses_the_call() {
    let demo = sallyport_demo::spawn_http().await.unwrap();
    let key = SigningKey::generate("geoip");
    let csv = "# loopback is somewhere far away\n127.0.0.0/8,KP\n::1,::1,KP\n";
    let gw = GatewayProc::start_with(|port, dir| config(port, dir, &demo, &key, Some(csv))).await;
    let bearer = token(&key, &gw.mcp_url());

    let (status, body) = modern_tool_call_as(
        &gw.mcp_url(),
        Some(&bearer),
        json!(1),
        "notes__add",
        json!({ "a": 2, "b": 3 }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"]["content"].is_array(), "{body}");

    let (_, body) = modern_tool_call_as(
        &gw.mcp_url(),
        Some(&bearer),
        json!(2),
        "notes__echo",
        json!({ "text": "hi" }),
    )
    .await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
    assert_eq!(
        body["error"]["message"], "Unknown tool: notes__echo",
        "{body}"
    );
    let record = gw
        .wait_decision(|d| d["tool"] == "echo" && d["outcome"] == "deny")
        .await;
    assert!(
        record.to_string().contains("no-echo-from-kp"),
        "the decision names the Cedar policy: {record}"
    );

    // The same policy with loopback elsewhere: the country, not the tool, was refused.
    let elsewhere = "127.0.0.0/8,DE\n::1,::1,DE\n";
    let gw =
        GatewayProc::start_with(|port, dir| config(port, dir, &demo, &key, Some(elsewhere))).await;
    let bearer = token(&key, &gw.mcp_url());
    let (status, body) = modern_tool_call_as(
        &gw.mcp_url(),
        Some(&bearer),
        json!(3),
        "notes__echo",
        json!({ "text": "hi" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["content"][0]["text"], "hi", "{body}");
}

#[test]
fn an_unreadable_database_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate("geoip");
    let yaml = config(8787, dir.path(), "http://127.0.0.1:9/mcp", &key, None);
    let path = dir.path().join("sallyport.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = Command::new(sallyport_bin())
        .args(["check", "-c"])
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("countries.csv: cannot read the GeoIP database"),
        "{text}"
    );
}
