//! Only the argument fields the applicable policies read are given to Cedar, and this
//! changes no decision: named reads see their fields, whole-record uses see every field,
//! `has` on an absent field is still false, and the size bounds still apply to every
//! field, read or not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{call, policy_with, user};
use sallyport_policy::{AuthzPolicy, Outcome, Stage};
use serde_json::{Value, json};

const FS_RULES: &str =
    "tools:\n  - { server: fs, tool: read_file, resource: mcp.fs.read, action: read }\n";

/// Reads `context.arguments.path` only.
const CONFINE: &str = r#"
@id("fs-confined")
forbid (principal, action, resource in Path::"mcp.fs")
when { context.phase == "call" }
unless {
  context.arguments.path like "/srv/data/*" &&
  !(context.arguments.path like "*..*")
};
"#;

/// Uses `context.arguments` as a whole value.
const EXACT: &str = r#"
@id("exact-arguments")
forbid (principal, action, resource in Path::"mcp.fs")
unless { context.arguments == {"path": "/srv/data/x"} };
"#;

/// Tests a field's presence.
const NOT_RECURSIVE: &str = r#"
@id("not-recursive")
forbid (principal, action, resource in Path::"mcp.fs")
when { context.arguments has recursive };
"#;

fn outcome(p: &AuthzPolicy, args: &Value) -> (Outcome, Vec<String>) {
    let d = call(p, &user(&["readonly"]), "fs", "read_file", args);
    (d.outcome, d.policy_ids)
}

fn denied_by(id: &str) -> (Outcome, Vec<String>) {
    (Outcome::Deny, vec![id.to_owned()])
}

#[test]
fn a_policy_reading_one_field_decides_as_before() {
    let p = policy_with(FS_RULES, CONFINE);
    let allow = (Outcome::Allow, vec![]);
    let extra = json!({"path": "/srv/data/a.csv", "encoding": "utf-8", "max_bytes": 65_536});
    assert_eq!(outcome(&p, &extra), allow);
    assert_eq!(outcome(&p, &json!({"path": "/srv/data/a.csv"})), allow);
    for args in [
        json!({"path": "/etc/passwd", "encoding": "utf-8"}),
        json!({"path": "/srv/data/../etc/passwd"}),
        // Unread fields that look like the read one change nothing.
        json!({"encoding": "/srv/data/x", "path": "/etc/shadow", "paths": "/srv/data/y"}),
    ] {
        assert_eq!(outcome(&p, &args), denied_by("fs-confined"), "{args}");
    }
    // Reading an absent field is an evaluation error, which denies (on_error: deny).
    for args in [
        json!({"encoding": "utf-8"}),
        json!({"path": null}),
        json!({}),
    ] {
        assert_eq!(outcome(&p, &args), denied_by("fs-confined"), "{args}");
    }
}

#[test]
fn a_policy_using_the_whole_arguments_sees_every_field() {
    let p = policy_with(FS_RULES, EXACT);
    let exact = json!({"path": "/srv/data/x"});
    assert_eq!(outcome(&p, &exact).0, Outcome::Allow);
    // A null member is left out, as before.
    assert_eq!(
        outcome(&p, &json!({"path": "/srv/data/x", "n": null})).0,
        Outcome::Allow
    );
    let extra = json!({"path": "/srv/data/x", "encoding": "utf-8"});
    assert_eq!(outcome(&p, &extra), denied_by("exact-arguments"));
    // Alongside a policy that reads only `path`, the whole record is still built.
    let both = policy_with(FS_RULES, &format!("{CONFINE}\n{EXACT}"));
    assert_eq!(outcome(&both, &exact).0, Outcome::Allow);
    assert_eq!(outcome(&both, &extra), denied_by("exact-arguments"));
}

#[test]
fn has_on_an_absent_field_is_false_as_before() {
    let p = policy_with(FS_RULES, &format!("{CONFINE}\n{NOT_RECURSIVE}"));
    let ok = json!({"path": "/srv/data/x", "encoding": "utf-8"});
    assert_eq!(outcome(&p, &ok).0, Outcome::Allow);
    let null = json!({"path": "/srv/data/x", "recursive": null});
    assert_eq!(outcome(&p, &null).0, Outcome::Allow);
    let set = json!({"path": "/srv/data/x", "recursive": false});
    assert_eq!(outcome(&p, &set), denied_by("not-recursive"));
    let present = r#"
        @id("path-required")
        forbid (principal, action, resource in Path::"mcp.fs")
        unless { context has arguments.path };
    "#;
    let p = policy_with(FS_RULES, present);
    assert_eq!(outcome(&p, &json!({"path": 1})).0, Outcome::Allow);
    assert_eq!(
        outcome(&p, &json!({"paths": "/srv/data/x"})),
        denied_by("path-required")
    );
}

#[test]
fn bounds_apply_to_fields_no_policy_reads() {
    let p = policy_with(FS_RULES, CONFINE);
    let mut deep = json!("/srv/data/x");
    for _ in 0..40 {
        deep = json!({ "n": deep });
    }
    let cases = [
        (
            json!({"path": "/srv/data/x", "deep": deep}),
            "nested deeper",
        ),
        (
            json!({"deep": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]], "path": "/srv/data/x"}),
            "nested deeper",
        ),
        (
            json!({"path": "/srv/data/x", "blob": "a".repeat(70 * 1024)}),
            "longer than",
        ),
        (
            json!({"path": "/srv/data/x", "a".repeat(70 * 1024): 1}),
            "longer than",
        ),
        (
            json!({"path": "/srv/data/x", "many": vec![0; 5000]}),
            "more than 4096",
        ),
        (
            json!({"path": "/srv/data/x", "many": vec![Value::Null; 5000]}),
            "more than 4096",
        ),
    ];
    for (args, why) in cases {
        let d = call(&p, &user(&["readonly"]), "fs", "read_file", &args);
        assert_eq!((d.outcome, d.decided_by), (Outcome::Deny, Stage::Cedar));
        assert!(d.reasons[0].contains(why), "{why}: {}", d.reasons[0]);
    }
    // Just within the bounds, unread fields are fine.
    let within = json!({"path": "/srv/data/x", "many": vec![0; 4094]});
    assert_eq!(outcome(&p, &within).0, Outcome::Allow);
    let over = json!({"path": "/srv/data/x", "many": vec![0; 4095]});
    assert_eq!(outcome(&p, &over).0, Outcome::Deny);
}
