//! The per-snapshot cache of request shapes (applicable policies and entities) never
//! serves a stale answer: a changed identity is a different shape, and a reload starts
//! from an empty cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{call, now, policy_with, user};
use sallyport_policy::{AuthzRequest, Engine, Outcome};
use serde_json::json;

const ADMINS_OFF_FS: &str = r#"
@id("no-admins-on-fs")
forbid (principal in Role::"admin", action, resource in Path::"mcp.fs");
"#;

const ACME_ONLY: &str = r#"
@id("acme-only")
forbid (principal, action, resource)
unless { principal has tenant && principal.tenant == "acme" };
"#;

#[test]
fn a_changed_role_set_is_a_different_shape() {
    let p = policy_with("", ADMINS_OFF_FS);
    let args = json!({});
    let mut who = user(&["operator"]);
    // Twice each, so that the second call of each identity is served from the cache.
    for _ in 0..2 {
        who.roles = vec!["operator".into()];
        assert_eq!(
            call(&p, &who, "fs", "read_file", &args).outcome,
            Outcome::Allow
        );
        who.roles = vec!["operator".into(), "admin".into()];
        let d = call(&p, &who, "fs", "read_file", &args);
        assert_eq!(d.outcome, Outcome::Deny, "{}", d.summary());
        assert_eq!(d.policy_ids, ["no-admins-on-fs"]);
    }
}

#[test]
fn a_changed_tenant_is_a_different_shape() {
    let p = policy_with("", ACME_ONLY);
    let args = json!({});
    let mut who = user(&["operator"]);
    for _ in 0..2 {
        who.tenant = Some("acme".into());
        assert_eq!(
            call(&p, &who, "fs", "read_file", &args).outcome,
            Outcome::Allow
        );
        who.tenant = Some("globex".into());
        assert_eq!(
            call(&p, &who, "fs", "read_file", &args).outcome,
            Outcome::Deny
        );
        who.tenant = None;
        assert_eq!(
            call(&p, &who, "fs", "read_file", &args).outcome,
            Outcome::Deny
        );
    }
}

#[test]
fn a_shape_no_policy_applies_to_is_remembered_per_target() {
    let p = policy_with("", ADMINS_OFF_FS);
    let who = user(&["admin"]);
    let args = json!({});
    for _ in 0..2 {
        // Outside mcp.fs no policy applies; inside, the forbid does.
        assert_eq!(
            call(&p, &who, "git", "status", &args).outcome,
            Outcome::Allow
        );
        assert_eq!(
            call(&p, &who, "fs", "read_file", &args).outcome,
            Outcome::Deny
        );
    }
}

#[test]
fn a_reload_is_not_served_from_the_old_cache() {
    let who = user(&["admin"]);
    let decide = |engine: &Engine| {
        let req = AuthzRequest::call(&who, "fs", "read_file", None, now());
        engine.decide(&req).outcome
    };
    let engine = Engine::new(policy_with("", ADMINS_OFF_FS));
    assert_eq!(decide(&engine), Outcome::Deny);
    assert_eq!(decide(&engine), Outcome::Deny);
    engine.reload(policy_with(
        "",
        "@id(\"other\") forbid (principal, action, resource in Path::\"mcp.git\");",
    ));
    assert_eq!(
        decide(&engine),
        Outcome::Allow,
        "the old forbid is gone with its snapshot"
    );
}
