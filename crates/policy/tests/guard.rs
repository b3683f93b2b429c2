//! The pipeline guard: calls, list filtering, enumeration safety, holds, hints, reloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/helpers.rs"]
mod helpers;

use std::sync::{Arc, Mutex};

use helpers::{NOW_SECS, now, policy_with, seed_policy};
use sallyport_mcp::{Message, RequestId, version::Era};
use sallyport_pipeline::guards::{ToolFilterGuard, ToolPermits};
use sallyport_pipeline::{
    Chain, Decision as ChainDecision, DenyCode, Direction, Exchange, Guard, Principal,
    PrincipalKind,
};
use sallyport_policy::{
    AuthzGuard, Decision, DecisionObserver, Engine, ManualClock, Outcome, Subject, SubjectResolver,
};
use serde_json::{Value, json};

fn principal(roles: &[&str]) -> Principal {
    Principal {
        id: "alice".into(),
        kind: PrincipalKind::User,
        auth_method: "jwt",
        tenant: None,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        details: None,
    }
}

fn guard(engine: Arc<Engine>) -> AuthzGuard {
    AuthzGuard::new(engine).with_clock(Arc::new(ManualClock::new(now())))
}

fn seed_chain() -> (Chain, Arc<Engine>) {
    let engine = Arc::new(Engine::new(seed_policy()));
    (Chain::new(vec![Box::new(guard(engine.clone()))]), engine)
}

fn call_msg(method: &str, key: &str, name: &str) -> Message {
    Message::request(
        RequestId::Number(7),
        method,
        Some(json!({ key: name, "arguments": {} })),
    )
}

fn run_call(chain: &Chain, p: &Principal, server: &str, tool: &str) -> ChainDecision {
    let msg = call_msg("tools/call", "name", tool);
    let mut ex = Exchange::new(Direction::ClientToServer, &msg, p, Era::Legacy);
    ex.server = Some(server);
    ex.tool = Some(tool);
    chain.run(&ex).decision
}

fn run_list(
    chain: &Chain,
    p: &Principal,
    server: &str,
    method: &str,
    result: Value,
) -> ChainDecision {
    let msg = Message::result(RequestId::Number(1), result);
    let mut ex = Exchange::new(Direction::ServerToClient, &msg, p, Era::Legacy);
    ex.server = Some(server);
    ex.method = Some(method);
    chain.run(&ex).decision
}

#[test]
fn allowed_call_passes_and_denied_call_looks_unknown() {
    let (chain, _) = seed_chain();
    let ro = principal(&["readonly"]);
    assert_eq!(
        run_call(&chain, &ro, "docker", "docker_ps"),
        ChainDecision::Allow
    );
    let ChainDecision::Deny(d) = run_call(&chain, &ro, "docker", "docker_run") else {
        panic!("expected deny")
    };
    assert_eq!(d.code, DenyCode::ToolNotAllowed);
    assert_eq!(d.public_message, "Unknown tool: docker_run");
    let detail = d.detail.unwrap();
    assert!(detail.contains("deny by rbac"), "{detail}");
    assert!(detail.contains("mcp.docker.run:execute"), "{detail}");
}

#[derive(Debug)]
struct Nothing;
impl ToolPermits for Nothing {
    fn permits(&self, _: &str, _: &str) -> bool {
        false
    }
}

#[test]
fn denied_and_unknown_tools_are_byte_identical() {
    let (chain, _) = seed_chain();
    let ro = principal(&["readonly"]);
    let ChainDecision::Deny(denied) = run_call(&chain, &ro, "docker", "docker_run") else {
        panic!("expected deny")
    };
    // What the router answers for a tool that does not exist …
    let unknown = sallyport_policy::hidden(
        sallyport_policy::TargetKind::Tool,
        "docker_run",
        Era::Legacy,
    );
    // … and what the core tool filter answers.
    let filter = Chain::new(vec![Box::new(ToolFilterGuard::new(Nothing))]);
    let ChainDecision::Deny(filtered) = run_call(&filter, &ro, "docker", "docker_run") else {
        panic!("expected deny")
    };
    let id = Some(RequestId::Number(7));
    let wire = denied.to_error(id.clone()).to_bytes();
    assert_eq!(wire, unknown.to_error(id.clone()).to_bytes());
    assert_eq!(wire, filtered.to_error(id).to_bytes());
    assert_eq!(denied.code.http_status(), filtered.code.http_status());
    assert_eq!(
        String::from_utf8(wire).unwrap(),
        r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"Unknown tool: docker_run"}}"#
    );
}

#[test]
fn prompts_and_resources_are_refused_like_unknown_ones() {
    let engine = Arc::new(Engine::new(policy_with("", "")));
    let chain = Chain::new(vec![Box::new(guard(engine))]);
    let guest = principal(&["guest"]);
    let msg = call_msg("prompts/get", "name", "summarise");
    let mut ex = Exchange::new(Direction::ClientToServer, &msg, &guest, Era::Legacy);
    ex.server = Some("docs");
    ex.tool = Some("summarise");
    let ChainDecision::Deny(d) = chain.run(&ex).decision else {
        panic!()
    };
    assert_eq!(
        (d.code, d.public_message.as_str()),
        (DenyCode::ToolNotAllowed, "Unknown prompt: summarise")
    );

    for (era, code) in [
        (Era::Legacy, DenyCode::ResourceNotFound),
        (Era::Modern, DenyCode::UnknownResource),
    ] {
        let msg = call_msg("resources/read", "uri", "file:///etc/passwd");
        let mut ex = Exchange::new(Direction::ClientToServer, &msg, &guest, era);
        ex.server = Some("fs");
        let ChainDecision::Deny(d) = chain.run(&ex).decision else {
            panic!()
        };
        assert_eq!(d.code, code);
        assert_eq!(d.public_message, "Resource not found: file:///etc/passwd");
        assert_eq!(d.data, Some(json!({ "uri": "file:///etc/passwd" })));
    }
    // readonly may read resources and prompts.
    let ro = principal(&["readonly"]);
    let msg = call_msg("resources/read", "uri", "file:///srv/x");
    let mut ex = Exchange::new(Direction::ClientToServer, &msg, &ro, Era::Legacy);
    ex.server = Some("fs");
    assert_eq!(chain.run(&ex).decision, ChainDecision::Allow);
}

fn names(decision: ChainDecision, key: &str) -> Vec<String> {
    let ChainDecision::Rewrite(m) = decision else {
        panic!("expected rewrite, got {decision:?}")
    };
    m.result_value().unwrap()[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().or(t["uri"].as_str()).unwrap().to_owned())
        .collect()
}

#[test]
fn lists_are_filtered_by_the_same_decision() {
    let (chain, _) = seed_chain();
    let list = json!({ "tools": [
        { "name": "docker_build", "inputSchema": {} },
        { "name": "docker_run", "inputSchema": {} },
        { "name": "docker_ps", "inputSchema": {} },
        { "inputSchema": {} }
    ], "nextCursor": "abc" });
    let ro = principal(&["readonly"]);
    let out = run_list(&chain, &ro, "docker", "tools/list", list.clone());
    let ChainDecision::Rewrite(m) = &out else {
        panic!("{out:?}")
    };
    assert_eq!(m.result_value().unwrap()["nextCursor"], "abc");
    assert_eq!(names(out, "tools"), ["docker_ps"]);
    let op = principal(&["operator"]);
    assert_eq!(
        names(run_list(&chain, &op, "docker", "tools/list", list), "tools"),
        ["docker_build", "docker_run", "docker_ps"]
    );
    let admin_list = json!({ "tools": [{ "name": "docker_ps" }] });
    assert_eq!(
        run_list(&chain, &op, "docker", "tools/list", admin_list),
        ChainDecision::Allow
    );

    let resources = json!({ "resources": [{ "uri": "file:///a", "name": "a" }] });
    let guest = principal(&["guest"]);
    assert!(
        names(
            run_list(&chain, &guest, "fs", "resources/list", resources.clone()),
            "resources"
        )
        .is_empty()
    );
    assert_eq!(
        run_list(&chain, &ro, "fs", "resources/list", resources),
        ChainDecision::Allow
    );
    let prompts = json!({ "prompts": [{ "name": "p" }] });
    assert!(
        names(
            run_list(&chain, &guest, "fs", "prompts/list", prompts),
            "prompts"
        )
        .is_empty()
    );
}

#[test]
fn destructive_hint_hides_and_denies_but_read_only_hint_never_loosens() {
    let (chain, _) = seed_chain();
    let op = principal(&["operator"]);
    let ro = principal(&["readonly"]);
    let list = json!({ "tools": [
        { "name": "docker_prune", "annotations": { "destructiveHint": true } },
        { "name": "docker_exec", "annotations": { "readOnlyHint": true } },
        { "name": "docker_ps", "annotations": { "readOnlyHint": false, "destructiveHint": true } }
    ]});
    // Operators never delete: the destructive tools disappear, even the configured-read one.
    assert_eq!(
        names(
            run_list(&chain, &op, "docker", "tools/list", list.clone()),
            "tools"
        ),
        ["docker_exec"]
    );
    // readOnlyHint does not turn `docker_exec` (unconfigured: execute) into a read tool.
    assert!(
        names(
            run_list(&chain, &ro, "docker", "tools/list", list.clone()),
            "tools"
        )
        .is_empty()
    );
    // The hint is remembered for calls …
    assert!(matches!(
        run_call(&chain, &op, "docker", "docker_prune"),
        ChainDecision::Deny(_)
    ));
    assert!(matches!(
        run_call(&chain, &op, "docker", "docker_ps"),
        ChainDecision::Deny(_)
    ));
    assert!(matches!(
        run_call(&chain, &ro, "docker", "docker_exec"),
        ChainDecision::Deny(_)
    ));
    // … and a later list dropping it does not loosen the tool.
    let relaxed = json!({ "tools": [{ "name": "docker_prune", "annotations": { "destructiveHint": false } }] });
    assert!(
        names(
            run_list(&chain, &op, "docker", "tools/list", relaxed),
            "tools"
        )
        .is_empty()
    );
}

#[derive(Debug)]
struct StaleLogin;
impl SubjectResolver for StaleLogin {
    fn resolve(&self, ex: &Exchange<'_>) -> Subject {
        let mut s = Subject::from_principal(ex.principal);
        s.attributes.auth_time = Some(NOW_SECS - 86_400);
        s.attributes.amr = vec!["pwd".into()];
        s
    }
}

#[derive(Debug, Default)]
struct Record(Mutex<Vec<Decision>>);
impl DecisionObserver for Record {
    fn observe(&self, _: &Exchange<'_>, d: &Decision) {
        self.0.lock().unwrap().push(d.clone());
    }
}

#[test]
fn high_risk_call_with_a_stale_login_is_refused_with_a_step_up_challenge() {
    let engine = Arc::new(Engine::new(seed_policy()));
    let record = Arc::new(Record::default());
    let g = guard(engine)
        .with_resolver(Arc::new(StaleLogin))
        .with_observer(record.clone());
    let chain = Chain::new(vec![Box::new(g)]);
    let admin = principal(&["admin"]);
    let ChainDecision::Deny(d) = run_call(&chain, &admin, "kubernetes", "kubectl_delete") else {
        panic!("expected a step-up denial")
    };
    assert_eq!(d.code, DenyCode::StepUpRequired);
    assert_eq!(d.code.http_status(), 403);
    assert!(
        d.public_message.contains("mfa, hwk"),
        "{}",
        d.public_message
    );
    let data = d.data.clone().unwrap();
    assert_eq!(data["max_age"], 300);
    assert_eq!(data["amr_values"], json!(["mfa", "hwk"]));
    assert!(
        d.detail.as_deref().unwrap_or("").contains("high-risk"),
        "{:?}",
        d.detail
    );
    // Not high-risk: allowed with the same stale login.
    assert_eq!(
        run_call(&chain, &admin, "kubernetes", "kubectl_get"),
        ChainDecision::Allow
    );
    let seen = record.0.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let Outcome::StepUp(challenge) = &seen[0].outcome else {
        panic!()
    };
    assert_eq!(
        (challenge.max_age_secs, challenge.amr_values.clone()),
        (300, vec!["mfa".to_owned(), "hwk".to_owned()])
    );
    let json = serde_json::to_value(&seen[0]).unwrap();
    assert_eq!(json["outcome"], "step_up");
    assert_eq!(json["decided_by"], "step_up");
}

#[test]
fn approval_mode_holds_instead_of_step_up() {
    let extra = "tools:\n  - { server: db, tool: drop_table, resource: db, action: delete, high_risk: true }\nstep_up: { on_unmet: hold }\n";
    let engine = Arc::new(Engine::new(policy_with(extra, "")));
    let chain = Chain::new(vec![Box::new(
        guard(engine).with_resolver(Arc::new(StaleLogin)),
    )]);
    let ChainDecision::Hold(h) = run_call(&chain, &principal(&["admin"]), "db", "drop_table")
    else {
        panic!("expected hold")
    };
    assert!(h.reason.starts_with("approval: "), "{}", h.reason);
}

#[test]
fn reload_swaps_the_policy() {
    let (chain, engine) = seed_chain();
    let ro = principal(&["readonly"]);
    assert!(matches!(
        run_call(&chain, &ro, "docker", "docker_run"),
        ChainDecision::Deny(_)
    ));
    engine.reload(policy_with(
        "roles:\n  readonly: { permissions: ['*:read', 'mcp.docker:execute'] }\n",
        "",
    ));
    assert_eq!(
        run_call(&chain, &ro, "docker", "docker_run"),
        ChainDecision::Allow
    );
}

#[test]
fn guard_looks_only_at_routed_calls_and_list_results() {
    let (_, engine) = seed_chain();
    let g = guard(engine);
    let p = principal(&["guest"]);
    let ping = Message::request(RequestId::Number(1), "ping", None);
    let mut ex = Exchange::new(Direction::ClientToServer, &ping, &p, Era::Legacy);
    ex.server = Some("docker");
    assert!(!g.applies_to(&ex));
    let call = call_msg("tools/call", "name", "x");
    let ex = Exchange::new(Direction::ClientToServer, &call, &p, Era::Legacy);
    assert!(!g.applies_to(&ex), "not routed yet");
    let result = Message::result(RequestId::Number(1), json!({}));
    let mut ex = Exchange::new(Direction::ServerToClient, &result, &p, Era::Legacy);
    ex.server = Some("docker");
    ex.method = Some("tools/call");
    assert!(!g.applies_to(&ex), "call results are not filtered here");
    ex.method = Some("tools/list");
    assert!(g.applies_to(&ex));
    assert_eq!(g.name(), "authz");
}
