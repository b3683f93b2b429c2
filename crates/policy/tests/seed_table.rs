//! Seed 001's Tool Permission Matrix, one case per cell: 16 tools × 5 roles. Each cell
//! asserts the call outcome and the `tools/list` visibility ("Read" in the table: a role
//! sees exactly the tools it may use), and the tool's classified action matches the action
//! the table shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{call, listed, seed_policy, subject};
use sallyport_policy::{Action, Outcome, SubjectKind};
use serde_json::json;

/// One cell of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    /// ❌
    No,
    /// ✅ (with the tool's action, and Read)
    Yes,
    /// ✅ (Limited): allowed within the Cedar allow-list, refused outside it.
    Limited,
}
use Cell::{Limited, No, Yes};

const ROLES: [&str; 5] = ["admin", "operator", "readonly", "guest", "service_account"];

/// (tool, server, action shown, [admin, operator, readonly, guest, service account])
const TABLE: [(&str, &str, Action, [Cell; 5]); 16] = [
    // Infrastructure tools
    (
        "execute_command",
        "infra",
        Action::Execute,
        [Yes, Yes, No, No, Limited],
    ),
    (
        "make_command",
        "infra",
        Action::Execute,
        [Yes, Yes, No, No, Limited],
    ),
    ("write_file", "infra", Action::Write, [Yes, Yes, No, No, No]),
    // Docker tools
    (
        "docker_build",
        "docker",
        Action::Execute,
        [Yes, Yes, No, No, Yes],
    ),
    (
        "docker_run",
        "docker",
        Action::Execute,
        [Yes, Yes, No, No, Yes],
    ),
    (
        "docker_ps",
        "docker",
        Action::Read,
        [Yes, Yes, Yes, No, Yes],
    ),
    // Kubernetes tools
    (
        "kubectl_apply",
        "kubernetes",
        Action::Execute,
        [Yes, Yes, No, No, Yes],
    ),
    (
        "kubectl_get",
        "kubernetes",
        Action::Read,
        [Yes, Yes, Yes, No, Yes],
    ),
    (
        "kubectl_delete",
        "kubernetes",
        Action::Delete,
        [Yes, No, No, No, No],
    ),
    // Security tools
    (
        "npm_audit",
        "security",
        Action::Read,
        [Yes, Yes, Yes, No, Yes],
    ),
    (
        "python_safety_check",
        "security",
        Action::Read,
        [Yes, Yes, Yes, No, Yes],
    ),
    // Communication tools
    (
        "send_notification",
        "comms",
        Action::Execute,
        [Yes, Yes, No, No, Yes],
    ),
    (
        "post_message",
        "comms",
        Action::Execute,
        [Yes, Yes, No, No, Yes],
    ),
    // Monitoring tools
    (
        "prometheus_query",
        "monitoring",
        Action::Read,
        [Yes, Yes, Yes, No, Yes],
    ),
    // Storage tools
    (
        "s3_upload_file",
        "storage",
        Action::Write,
        [Yes, Yes, No, No, Yes],
    ),
    (
        "s3_list_buckets",
        "storage",
        Action::Read,
        [Yes, Yes, Yes, No, Yes],
    ),
];

/// Arguments inside and outside a limited tool's allow-list.
fn limited_args(tool: &str) -> (serde_json::Value, serde_json::Value) {
    match tool {
        "execute_command" => (
            json!({ "command": "make test" }),
            json!({ "command": "rm -rf /" }),
        ),
        _ => (
            json!({ "target": "test" }),
            json!({ "target": "deploy-prod" }),
        ),
    }
}

fn check_cell(tool: &str, server: &str, action: Action, role: &str, cell: Cell) -> Vec<String> {
    let policy = seed_policy();
    let kind = if role == "service_account" {
        SubjectKind::Service
    } else {
        SubjectKind::User
    };
    let who = subject(&format!("{role}-1"), kind, &[role]);
    let mut failures = Vec::new();
    let mut fail = |what: String| failures.push(format!("{tool} × {role}: {what}"));

    let plain = call(&policy, &who, server, tool, &json!({}));
    if plain.classification.action != action {
        fail(format!(
            "classified {:?}, table shows {action:?}",
            plain.classification.action
        ));
    }
    let visible = listed(&policy, &who, server, tool);
    match cell {
        No => {
            if plain.outcome != Outcome::Deny {
                fail(format!("expected deny, got {}", plain.summary()));
            }
            if visible {
                fail("listed, but the role may not use it".into());
            }
        }
        Yes => {
            if plain.outcome != Outcome::Allow {
                fail(format!("expected allow, got {}", plain.summary()));
            }
            if !visible {
                fail("not listed".into());
            }
        }
        Limited => {
            failures.extend(check_limited(tool, server, role, &who, &plain, visible));
        }
    }
    failures
}

fn check_limited(
    tool: &str,
    server: &str,
    role: &str,
    who: &sallyport_policy::Subject,
    plain: &sallyport_policy::Decision,
    visible: bool,
) -> Vec<String> {
    let policy = seed_policy();
    let mut failures = Vec::new();
    let mut fail = |what: String| failures.push(format!("{tool} × {role}: {what}"));
    let (inside, outside) = limited_args(tool);
    let ok = call(&policy, who, server, tool, &inside);
    if ok.outcome != Outcome::Allow {
        fail(format!(
            "expected allow within limits, got {}",
            ok.summary()
        ));
    }
    let refused = call(&policy, who, server, tool, &outside);
    if refused.outcome != Outcome::Deny || refused.policy_ids.is_empty() {
        fail(format!(
            "expected Cedar deny outside limits, got {}",
            refused.summary()
        ));
    }
    if plain.outcome != Outcome::Deny {
        fail(format!(
            "expected deny without arguments, got {}",
            plain.summary()
        ));
    }
    if !visible {
        fail("not listed".into());
    }
    failures
}

#[test]
fn every_cell_of_the_seed_table() {
    let mut failures = Vec::new();
    let mut cells = 0;
    for (tool, server, action, row) in TABLE {
        for (role, cell) in ROLES.iter().zip(row) {
            failures.extend(check_cell(tool, server, action, role, cell));
            cells += 1;
        }
    }
    assert_eq!(cells, 80);
    assert!(
        failures.is_empty(),
        "{} cell(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rbac_reports_the_permission_used() {
    let policy = seed_policy();
    let ro = subject("r", SubjectKind::User, &["readonly"]);
    let d = call(&policy, &ro, "docker", "docker_ps", &json!({}));
    let used = d.permission_used.unwrap();
    assert_eq!(
        (used.permission.as_str(), used.via.as_str()),
        ("*:read", "readonly")
    );
    let d = call(&policy, &ro, "docker", "docker_run", &json!({}));
    assert_eq!(
        d.reasons[0],
        "no permission of roles [readonly] grants mcp.docker.run:execute"
    );
}

#[test]
fn seed_oauth_aliases_map_to_roles() {
    let policy = seed_policy();
    let dev = subject("dev", SubjectKind::User, &["mcp_operator"]);
    let d = call(&policy, &dev, "docker", "docker_run", &json!({}));
    assert_eq!(
        (d.outcome, d.roles.clone()),
        (Outcome::Allow, vec!["operator".to_owned()])
    );
    // No role claim at all: seed 001's `or ["mcp_guest"]`.
    let nobody = subject("n", SubjectKind::User, &[]);
    assert_eq!(
        call(&policy, &nobody, "docker", "docker_ps", &json!({})).roles,
        ["guest"]
    );
    assert_eq!(
        call(&policy, &nobody, "docker", "docker_ps", &json!({})).outcome,
        Outcome::Deny
    );
    // The local operator defaults to admin.
    let local = subject("local", SubjectKind::Local, &[]);
    assert_eq!(
        call(&policy, &local, "infra", "write_file", &json!({})).outcome,
        Outcome::Allow
    );
}

#[test]
fn mtls_service_accounts_default_role_is_the_service_account_role() {
    // An mTLS service identity without configured roles arrives as `mcp_service_account`
    // (sallyport-identity); the default policy must resolve it, not fall to no role at all.
    let policy = seed_policy();
    let svc = subject(
        "spiffe://corp/ci",
        SubjectKind::Service,
        &["mcp_service_account"],
    );
    let d = call(&policy, &svc, "docker", "docker_build", &json!({}));
    assert_eq!(
        (d.outcome, d.roles.clone()),
        (Outcome::Allow, vec!["service_account".to_owned()])
    );
}
