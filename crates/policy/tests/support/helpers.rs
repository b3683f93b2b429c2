//! Shared fixtures for the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::path::PathBuf;

use sallyport_policy::{
    AuthzConfig, AuthzPolicy, AuthzRequest, Decision, Phase, PolicyStore, Subject, SubjectKind,
    Target, TargetKind, Timestamp, TrustInput,
};
use serde_json::Value;

/// Thursday 2026-11-05 10:00:00 UTC.
pub const NOW_SECS: i64 = 1_793_872_800;

pub fn now() -> Timestamp {
    Timestamp::from_secs(NOW_SECS)
}

pub fn policies_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies"))
}

/// default.yaml + examples/seed-001.yaml (+ its Cedar file).
pub fn seed_policy() -> AuthzPolicy {
    let dir = policies_dir();
    AuthzPolicy::load(&[dir.join("default.yaml"), dir.join("examples/seed-001.yaml")])
        .unwrap_or_else(|e| panic!("{e:?}"))
}

/// The shipped default roles, with `extra` YAML layered over and `cedar` as the only
/// Cedar source.
pub fn policy_with(extra: &str, cedar: &str) -> AuthzPolicy {
    let mut config = AuthzConfig::shipped_default();
    if !extra.trim().is_empty() {
        config.merge(AuthzConfig::from_yaml(extra, "extra.yaml").unwrap());
    }
    let store = if cedar.trim().is_empty() {
        PolicyStore::empty()
    } else {
        PolicyStore::from_sources([("test.cedar", cedar)]).unwrap_or_else(|e| panic!("{e:?}"))
    };
    AuthzPolicy::new(&config, store).unwrap_or_else(|e| panic!("{e:?}"))
}

/// A subject with `roles`, freshly authenticated with MFA.
pub fn subject(id: &str, kind: SubjectKind, roles: &[&str]) -> Subject {
    let mut s = Subject {
        id: id.into(),
        kind,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        ..Subject::default()
    };
    s.attributes.auth_time = Some(NOW_SECS - 10);
    s.attributes.amr = vec!["pwd".into(), "mfa".into()];
    s
}

pub fn user(roles: &[&str]) -> Subject {
    subject("alice", SubjectKind::User, roles)
}

fn request<'a>(
    s: &'a Subject,
    kind: TargetKind,
    server: &'a str,
    name: &'a str,
    args: Option<&'a Value>,
    phase: Phase,
    now: Timestamp,
) -> AuthzRequest<'a> {
    AuthzRequest {
        subject: s,
        target: Target {
            kind,
            server,
            name,
            hints: None,
        },
        arguments: args,
        phase,
        now,
    }
}

/// Decides a tool call at `now()` with a fixed trust score of 1.
pub fn call(p: &AuthzPolicy, s: &Subject, server: &str, tool: &str, args: &Value) -> Decision {
    call_at(p, s, server, tool, args, now())
}

pub fn call_at(
    p: &AuthzPolicy,
    s: &Subject,
    server: &str,
    tool: &str,
    args: &Value,
    at: Timestamp,
) -> Decision {
    let req = request(
        s,
        TargetKind::Tool,
        server,
        tool,
        Some(args),
        Phase::Call,
        at,
    );
    p.decide(&req, TrustInput::Fixed(1.0))
}

/// Whether the tool would appear in the subject's `tools/list`.
pub fn listed(p: &AuthzPolicy, s: &Subject, server: &str, tool: &str) -> bool {
    let req = request(s, TargetKind::Tool, server, tool, None, Phase::List, now());
    p.decide(&req, TrustInput::Fixed(1.0)).is_allowed()
}
