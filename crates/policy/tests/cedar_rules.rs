//! Cedar attribute rules: argument confinement, amounts, time windows, CIDR, country,
//! labels, deny-overrides-allow, tenant isolation, trust, fail-closed errors, explanations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/helpers.rs"]
mod helpers;

use helpers::{call, call_at, policy_with, user};
use sallyport_policy::{Outcome, PolicyStore, Stage, Timestamp};
use serde_json::json;

const FS_RULES: &str =
    "tools:\n  - { server: fs, tool: read_file, resource: mcp.fs.read, action: read }\n";

const CONFINE: &str = r#"
@id("fs-confined")
forbid (principal, action, resource in Path::"mcp.fs")
when { context.phase == "call" }
unless {
  context.arguments.path like "/srv/data/*" &&
  !(context.arguments.path like "*..*")
};
"#;

#[test]
fn filesystem_path_is_confined_to_a_directory() {
    let p = policy_with(FS_RULES, CONFINE);
    let who = user(&["readonly"]);
    let allowed = [
        "/srv/data/report.txt",
        "/srv/data/sub/dir/x.csv",
        "/srv/data/.hidden",
    ];
    for path in allowed {
        let d = call(&p, &who, "fs", "read_file", &json!({ "path": path }));
        assert_eq!(d.outcome, Outcome::Allow, "{path}: {}", d.summary());
    }
    let refused = [
        "/srv/data/../../etc/passwd",
        "/srv/data/..",
        "/srv/data/sub/../../secret",
        "/srv/data/..\\..\\windows",
        "/srv/data/..%2f..%2fetc",
        "/etc/passwd",
        "/srv/database/x",
        "/srv/data",
        "srv/data/x",
        "",
    ];
    for path in refused {
        let d = call(&p, &who, "fs", "read_file", &json!({ "path": path }));
        assert_eq!(d.outcome, Outcome::Deny, "{path}");
        assert_eq!(d.decided_by, Stage::Cedar);
        assert_eq!(d.policy_ids, ["fs-confined"], "{path}");
    }
}

#[test]
fn missing_or_mistyped_arguments_fail_closed() {
    let p = policy_with(FS_RULES, CONFINE);
    let who = user(&["readonly"]);
    for args in [
        json!({}),
        json!({ "path": 7 }),
        json!({ "path": ["/srv/data/x"] }),
        json!(null),
    ] {
        let d = call(&p, &who, "fs", "read_file", &args);
        assert_eq!(d.outcome, Outcome::Deny, "{args}");
        assert_eq!(d.policy_ids, ["fs-confined"], "{args}");
        assert!(
            d.reasons[0].contains("failed to evaluate"),
            "{}",
            d.reasons[0]
        );
    }
    // Lists carry no arguments: the tool stays visible.
    assert!(helpers::listed(&p, &who, "fs", "read_file"));
}

#[test]
fn on_error_ignore_is_cedar_semantics() {
    let extra = format!("{FS_RULES}cedar: {{ on_error: ignore }}\n");
    let p = policy_with(&extra, CONFINE);
    let d = call(
        &p,
        &user(&["readonly"]),
        "fs",
        "read_file",
        &json!({ "path": 7 }),
    );
    assert_eq!(d.outcome, Outcome::Allow, "a failing forbid is skipped");
}

#[test]
fn amount_at_most_500() {
    let rules = "tools:\n  - { server: payments, tool: transfer, resource: payments.transfer, action: execute }\n";
    let cedar = r#"
@id("transfer-limit")
forbid (principal, action, resource == Tool::"payments/transfer")
when { context.phase == "call" }
unless { context.arguments.amount <= 500 };
"#;
    let p = policy_with(rules, cedar);
    let who = user(&["operator"]);
    for (amount, ok) in [
        (json!(1), true),
        (json!(500), true),
        (json!(-5), true),
        (json!(501), false),
        (json!(1_000_000), false),
        (json!(100.5), false),
        (json!("100"), false),
        (json!(null), false),
        (json!(18_446_744_073_709_551_615_u64), false),
    ] {
        let d = call(
            &p,
            &who,
            "payments",
            "transfer",
            &json!({ "amount": amount, "to": "bob" }),
        );
        assert_eq!(d.is_allowed(), ok, "amount {amount}: {}", d.summary());
        if !ok {
            assert_eq!(d.policy_ids, ["transfer-limit"]);
        }
    }
}

#[test]
fn time_of_day_weekday_and_date_windows() {
    let cedar = r#"
@id("office-hours")
forbid (principal in Role::"operator", action == Action::"write", resource)
unless {
  context.time.minute_of_day >= 540 && context.time.minute_of_day < 1080 &&
  ["mon", "tue", "wed", "thu", "fri"].contains(context.time.weekday)
};

@id("freeze")
forbid (principal, action == Action::"execute", resource in Path::"mcp.deploy")
when {
  context.time.now >= datetime("2026-12-20") && context.time.now < datetime("2027-01-04")
};
"#;
    let p = policy_with("", cedar);
    let op = user(&["operator"]);
    let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
    let write = |t: &str| call_at(&p, &op, "files", "save", &json!({}), at(t));
    // `files/save` is unconfigured: mcp.files:execute. Use a write tool instead.
    let rules = "tools:\n  - { server: files, tool: save, resource: files, action: write }\n";
    let p2 = policy_with(rules, cedar);
    let write2 = |t: &str| call_at(&p2, &op, "files", "save", &json!({}), at(t)).outcome;
    assert_eq!(
        write("2026-11-05T10:00:00Z").outcome,
        Outcome::Allow,
        "execute is not write"
    );
    assert_eq!(write2("2026-11-05T10:00:00Z"), Outcome::Allow); // Thursday 10:00
    assert_eq!(write2("2026-11-05T08:59:00Z"), Outcome::Deny);
    assert_eq!(write2("2026-11-05T09:00:00Z"), Outcome::Allow);
    assert_eq!(write2("2026-11-05T17:59:59Z"), Outcome::Allow);
    assert_eq!(write2("2026-11-05T18:00:00Z"), Outcome::Deny);
    assert_eq!(write2("2026-11-07T10:00:00Z"), Outcome::Deny); // Saturday
    assert_eq!(
        write2("2026-11-05T10:00:00+05:00"),
        Outcome::Deny,
        "05:00 UTC"
    );
    let deploy = |t: &str| call_at(&p, &op, "deploy", "rollout", &json!({}), at(t)).outcome;
    assert_eq!(deploy("2026-12-19T23:59:59Z"), Outcome::Allow);
    assert_eq!(deploy("2026-12-24T12:00:00Z"), Outcome::Deny);
    assert_eq!(deploy("2027-01-04T00:00:00Z"), Outcome::Allow);
}

#[test]
fn source_address_cidr_and_country() {
    let cedar = r#"
@id("admins-from-office")
forbid (principal in Role::"admin", action, resource)
unless {
  context has source_ip &&
  (context.source_ip.isInRange(ip("10.0.0.0/8")) || context.source_ip.isInRange(ip("2001:db8::/32")))
};

@id("eu-only")
forbid (principal, action, resource in Path::"mcp.hr")
unless { context has country && ["DE", "FR", "NL"].contains(context.country) };
"#;
    let p = policy_with("", cedar);
    let mut admin = user(&["admin"]);
    for (ip, ok) in [
        (Some("10.1.2.3"), true),
        (Some("::ffff:10.9.9.9"), true),
        (Some("2001:db8::7"), true),
        (Some("192.168.1.10"), false),
        (Some("11.0.0.1"), false),
        (Some("::1"), false),
        (None, false),
    ] {
        admin.attributes.source_ip = ip.map(|s| s.parse().unwrap());
        let d = call(&p, &admin, "docker", "docker_ps", &json!({}));
        assert_eq!(d.is_allowed(), ok, "{ip:?}: {}", d.summary());
    }
    admin.attributes.source_ip = Some("10.0.0.1".parse().unwrap());
    for (country, ok) in [
        (Some("de"), true),
        (Some("FR"), true),
        (Some("US"), false),
        (None, false),
    ] {
        admin.attributes.country = country.map(Into::into);
        let d = call(&p, &admin, "hr", "payroll", &json!({}));
        assert_eq!(d.is_allowed(), ok, "{country:?}");
    }
}

#[test]
fn forbid_overrides_permit_and_permits_can_be_required() {
    let cedar = r#"
@id("docker-permit")
permit (principal, action, resource in Path::"mcp.docker");

@id("no-delete")
forbid (principal, action == Action::"delete", resource);
"#;
    let rules = "tools:\n  - { server: docker, tool: docker_rm, resource: mcp.docker.rm, action: delete }\ncedar: { require_permit: true }\n";
    let p = policy_with(rules, cedar);
    let admin = user(&["admin"]);
    let d = call(&p, &admin, "docker", "docker_ps", &json!({}));
    assert_eq!(
        (d.outcome.clone(), d.policy_ids.clone()),
        (Outcome::Allow, vec!["docker-permit".to_owned()])
    );
    let d = call(&p, &admin, "docker", "docker_rm", &json!({}));
    assert_eq!(
        d.outcome,
        Outcome::Deny,
        "permit and forbid both match: forbid wins"
    );
    assert_eq!(d.policy_ids, ["no-delete"]);
    let d = call(&p, &admin, "k8s", "get", &json!({}));
    assert_eq!(
        d.outcome,
        Outcome::Deny,
        "require_permit: nothing permits mcp.k8s"
    );
    assert!(d.policy_ids.is_empty());
    assert!(d.reasons[0].contains("require_permit"));
    // Without require_permit Cedar can only take away.
    let loose = policy_with(
        "tools:\n  - { server: docker, tool: docker_rm, resource: mcp.docker.rm, action: delete }\n",
        cedar,
    );
    assert_eq!(
        call(&loose, &admin, "k8s", "get", &json!({})).outcome,
        Outcome::Allow
    );
    assert_eq!(
        call(&loose, &admin, "docker", "docker_rm", &json!({})).outcome,
        Outcome::Deny
    );
    // And RBAC still has to allow: a Cedar permit never adds a permission.
    let ro = user(&["readonly"]);
    let d = call(&p, &ro, "docker", "docker_run", &json!({}));
    assert_eq!((d.outcome, d.decided_by), (Outcome::Deny, Stage::Rbac));
}

#[test]
fn tenant_isolation() {
    let rules =
        "tools:\n  - { server: crm, tool: '*', resource: crm, action: read, tenant: acme }\n";
    let p = policy_with(rules, "");
    let mut who = user(&["readonly"]);
    who.tenant = Some("acme".into());
    assert_eq!(
        call(&p, &who, "crm", "lookup", &json!({})).outcome,
        Outcome::Allow
    );
    who.tenant = Some("globex".into());
    let d = call(&p, &who, "crm", "lookup", &json!({}));
    assert_eq!((d.outcome, d.decided_by), (Outcome::Deny, Stage::Tenant));
    assert!(!helpers::listed(&p, &who, "crm", "lookup"));
    who.tenant = None;
    assert_eq!(
        call(&p, &who, "crm", "lookup", &json!({})).outcome,
        Outcome::Deny
    );

    // The same in Cedar, on arguments: a principal may only name its own tenant.
    let cedar = r#"
@id("own-tenant-only")
forbid (principal, action, resource)
when {
  context.arguments has tenant_id &&
  !(principal has tenant && principal.tenant == context.arguments.tenant_id)
};
"#;
    let p = policy_with("", cedar);
    let mut who = user(&["operator"]);
    who.tenant = Some("acme".into());
    let d = call(&p, &who, "crm", "export", &json!({ "tenant_id": "acme" }));
    assert_eq!(d.outcome, Outcome::Allow);
    let d = call(&p, &who, "crm", "export", &json!({ "tenant_id": "globex" }));
    assert_eq!(
        (d.outcome, d.policy_ids),
        (Outcome::Deny, vec!["own-tenant-only".to_owned()])
    );
}

#[test]
fn labels_roles_and_trust_in_cedar() {
    let rules =
        "tools:\n  - { server: hr, tool: '*', resource: hr, action: read, labels: [pii] }\n";
    let cedar = r#"
@id("pii-admins-only")
forbid (principal, action, resource)
when { resource.labels.contains("pii") && !(principal in Role::"admin") };

@id("trusted-only")
forbid (principal, action, resource in Path::"hr")
when { context has trust_score && context.trust_score.lessThan(decimal("0.6")) };
"#;
    let p = policy_with(rules, cedar);
    let d = call(&p, &user(&["readonly"]), "hr", "employee", &json!({}));
    assert_eq!(d.policy_ids, ["pii-admins-only"]);
    assert_eq!(
        call(&p, &user(&["admin"]), "hr", "employee", &json!({})).outcome,
        Outcome::Allow
    );
    // `call` fixes the trust score at 1.0; a fixed low score trips the policy.
    let admin = user(&["admin"]);
    let req = sallyport_policy::AuthzRequest::call(&admin, "hr", "employee", None, helpers::now());
    let d = p.decide(&req, sallyport_policy::TrustInput::Fixed(0.4));
    assert_eq!(d.policy_ids, ["trusted-only"]);
}

#[test]
fn oversized_arguments_are_denied_not_truncated() {
    let p = policy_with(FS_RULES, CONFINE);
    let who = user(&["readonly"]);
    let mut deep = json!("/srv/data/x");
    for _ in 0..40 {
        deep = json!({ "n": deep });
    }
    let d = call(
        &p,
        &who,
        "fs",
        "read_file",
        &json!({ "path": "/srv/data/x", "deep": deep }),
    );
    assert_eq!((d.outcome, d.decided_by), (Outcome::Deny, Stage::Cedar));
    assert!(d.reasons[0].contains("nested deeper"), "{}", d.reasons[0]);
    let long = "a".repeat(70 * 1024);
    let d = call(
        &p,
        &who,
        "fs",
        "read_file",
        &json!({ "path": "/srv/data/x", "blob": long }),
    );
    assert_eq!(d.outcome, Outcome::Deny);
}

#[test]
fn policy_files_load_with_locations() {
    let dir = helpers::policies_dir();
    let store = PolicyStore::load(&[dir.join("examples/seed-001.cedar")]).unwrap();
    let ids: Vec<_> = store
        .policies()
        .iter()
        .map(|p| (p.id.as_str(), p.effect))
        .collect();
    assert_eq!(
        ids,
        [
            ("service-account-commands", "forbid"),
            ("service-account-make-targets", "forbid")
        ]
    );
    assert!(store.policies()[0].line > 1);
    let errs = PolicyStore::load(&[dir.join("missing.cedar")]).unwrap_err();
    assert!(errs[0].origin.ends_with("missing.cedar"));
    let errs = PolicyStore::from_sources([(
        "x.cedar",
        "permit(principal, action, resource);\npermit(principal action);",
    )])
    .unwrap_err();
    assert_eq!(
        (errs[0].origin.as_str(), errs[0].line),
        ("x.cedar", Some(2))
    );
}

#[test]
fn every_scope_form_selects_exactly_its_requests() {
    // Policies are sliced by scope before evaluation; each scope form must still match
    // exactly the requests Cedar itself would.
    let cedar = r#"
@id("eq-user") forbid (principal == User::"mallory", action, resource);
@id("is-service") forbid (principal is Service, action, resource in Path::"mcp.secrets");
@id("is-in-role") forbid (principal is User in Role::"guest", action, resource in Path::"mcp.wiki");
@id("action-in") forbid (principal, action in [Action::"get_prompt"], resource in Path::"mcp.docs");
@id("resource-is") forbid (principal, action, resource is Resource in Path::"mcp.fs");
@id("resource-eq") forbid (principal, action, resource == Tool::"docker/docker_ps");
"#;
    let p = policy_with("", cedar);
    let ro = user(&["operator"]);
    let mut mallory = user(&["operator"]);
    mallory.id = "mallory".into();
    let svc = helpers::subject("bot", sallyport_policy::SubjectKind::Service, &["operator"]);
    let deny = |d: sallyport_policy::Decision| d.policy_ids;
    assert_eq!(
        deny(call(&p, &mallory, "any", "thing", &json!({}))),
        ["eq-user"]
    );
    assert!(call(&p, &ro, "any", "thing", &json!({})).is_allowed());
    assert_eq!(
        deny(call(&p, &svc, "secrets", "get", &json!({}))),
        ["is-service"]
    );
    // The same with `secrets/get` classified read.
    let rules = "tools:\n  - { server: secrets, tool: get, resource: mcp.secrets, action: read }\n";
    let p2 = policy_with(rules, cedar);
    assert!(call(&p2, &ro, "secrets", "get", &json!({})).is_allowed());
    assert_eq!(
        deny(call(&p2, &svc, "secrets", "get", &json!({}))),
        ["is-service"]
    );
    // Prompts and resources: through the request API.
    let ask = |kind, server: &str, name: &str, who: &sallyport_policy::Subject| {
        let req = sallyport_policy::AuthzRequest {
            subject: who,
            target: sallyport_policy::Target {
                kind,
                server,
                name,
                hints: None,
            },
            arguments: None,
            phase: sallyport_policy::Phase::Call,
            now: helpers::now(),
        };
        p.decide(&req, sallyport_policy::TrustInput::Fixed(1.0))
            .policy_ids
    };
    use sallyport_policy::TargetKind::{Prompt, Resource, Tool};
    assert_eq!(ask(Prompt, "docs", "intro", &ro), ["action-in"]);
    assert!(ask(Resource, "docs", "file:///intro", &ro).is_empty());
    assert_eq!(ask(Resource, "fs", "file:///x", &ro), ["resource-is"]);
    assert!(ask(Prompt, "fs", "x", &ro).is_empty());
    assert_eq!(ask(Tool, "docker", "docker_ps", &ro), ["resource-eq"]);
    assert!(ask(Tool, "docker", "docker_psx", &ro).is_empty());
    let guest = user(&["guest", "readonly"]);
    assert_eq!(ask(Prompt, "wiki", "p", &guest), ["is-in-role"]);
    assert!(ask(Prompt, "wiki", "p", &ro).is_empty());
}
