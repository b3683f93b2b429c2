//! Rule loading: the shipped rules, precise errors, overrides and a YAML round trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sallyport_correlate::{
    ConditionConfig, CorrelationAction, CorrelationConfig, RuleError, RuleFile, RuleProblem,
    Severity, default_rules,
};

const SHIPPED: [&str; 7] = [
    "brute_force",
    "credential_stuffing",
    "tool_scanning",
    "privilege_escalation",
    "exfiltration_chain",
    "secret_read_then_egress",
    "repeated_detector_hits",
];

fn without_defaults() -> CorrelationConfig {
    CorrelationConfig {
        include_default_rules: false,
        ..CorrelationConfig::default()
    }
}

fn errors_of(yaml: &str) -> Vec<String> {
    let file = RuleFile::from_yaml(yaml, "rules.yaml").unwrap();
    let errors = without_defaults()
        .compile_with_file(Some(&file))
        .unwrap_err();
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn shipped_rules_compile_and_carry_mitre_ids() {
    let rules = CorrelationConfig::default().compile().unwrap();
    assert_eq!(rules.ids().collect::<Vec<_>>(), SHIPPED);
    assert_eq!(rules.max_keys_per_rule(), 10_000);
    for rule in default_rules().unwrap() {
        assert!(!rule.mitre.is_empty(), "{} has no MITRE ids", rule.id);
        assert!(rule.description.is_some(), "{} has no description", rule.id);
        assert!(
            rule.actions.contains(&CorrelationAction::Alert),
            "{}",
            rule.id
        );
    }
}

#[test]
fn every_error_names_the_rule_and_the_field() {
    let yaml = r"
rules:
  - id: zero_count
    title: t
    severity: info
    mitre: [T1110, T11]
    window_secs: 0
    group_by: [principal, principal]
    condition: { type: threshold, match: { kind: [] }, count: 0 }
  - id: short_sequence
    title: t
    severity: info
    window_secs: 60
    group_by: [principal]
    condition: { type: sequence, steps: [{ kind: a, tool: ['*x*', ''] }] }
  - id: distinct_on_key
    title: t
    severity: info
    window_secs: 99999999
    group_by: [principal]
    condition: { type: distinct, match: { kind: a }, field: principal, count: 1000 }
    actions: [{ type: block_ip }, { type: quarantine_tool }]
  - id: bad id
    title: ''
    severity: info
    window_secs: 1
    group_by: []
    condition: { type: absence, start: { kind: a, labels: [] }, expect: { kind: '' } }
  - id: zero_count
    title: again
    severity: info
    window_secs: 1
    group_by: []
    condition: { type: threshold, match: { kind: a }, count: 1 }
";
    let errors = errors_of(yaml);
    let expected = [
        "rule id `zero_count` is used twice: rules_file rules[0] and rules_file rules[4]",
        "rule `zero_count`: mitre[1]: `T11` is not a MITRE ATT&CK or ATLAS id (like T1110, T1110.004, TA0006, AML.T0051)",
        "rule `zero_count`: window_secs: must be at least 1",
        "rule `zero_count`: group_by[1]: `principal` is listed twice",
        "rule `zero_count`: condition.match.kind: must not be empty",
        "rule `zero_count`: condition.count: must be at least 1",
        "rule `short_sequence`: condition.steps: a sequence needs at least 2 steps, found 1",
        "rule `short_sequence`: condition.steps[0].tool[1]: must not be empty",
        "rule `distinct_on_key`: window_secs: 99999999 is over the limit of 2592000",
        "rule `distinct_on_key`: condition.count: 1000 is over the limit of 256",
        "rule `distinct_on_key`: condition.field: `principal` is also in group_by, so each key only ever has one value of it",
        "rule `distinct_on_key`: actions[0]: `block_ip` acts on source_ip, so group_by must include it",
        "rule `distinct_on_key`: actions[1]: `quarantine_tool` acts on tool, so group_by must include it",
        "rule `bad id`: id: `bad id` may only hold letters, digits, `_`, `-` and `.`",
        "rule `bad id`: title: must not be empty",
        "rule `bad id`: condition.start.labels: must not be empty",
        "rule `bad id`: condition.expect.kind: must not be empty",
    ];
    assert_eq!(errors, expected);
}

#[test]
fn sequences_have_at_most_four_steps() {
    let yaml = "rules:\n  - id: long\n    title: t\n    severity: info\n    window_secs: 1\n    group_by: []\n    condition: { type: sequence, steps: [{ kind: a }, { kind: b }, { kind: c }, { kind: d }, { kind: e }] }\n";
    assert_eq!(
        errors_of(yaml),
        ["rule `long`: condition.steps: 5 is over the limit of 4"]
    );
}

#[test]
fn a_missing_id_is_named_by_position() {
    let yaml = r"
rules:
  - id: ''
    title: t
    severity: info
    window_secs: 1
    group_by: []
    condition: { type: threshold, match: { kind: a }, count: 1 }
";
    assert_eq!(
        errors_of(yaml),
        ["rule `rules_file rules[0]`: id: must not be empty"]
    );
}

#[test]
fn typos_are_parse_errors() {
    let rule = |extra: &str| {
        format!(
            "rules:\n  - id: r\n    title: t\n    severity: info\n    window_secs: 1\n    group_by: []\n    condition: {{ type: threshold, match: {{ kind: a }}, count: 1 }}\n{extra}"
        )
    };
    let cases = [
        ("    windw: 3\n", "windw"),
        ("    actions: [{ type: block_ipp }]\n", "block_ipp"),
        (
            "    actions: [{ type: block_ip, duration_sec: 5 }]\n",
            "duration_sec",
        ),
        ("    severity2: high\n", "severity2"),
    ];
    for (extra, word) in cases {
        let error = RuleFile::from_yaml(&rule(extra), "rules.yaml").unwrap_err();
        let RuleError::Yaml { origin, message } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(origin, "rules.yaml");
        assert!(message.contains(word), "{message}");
        assert!(message.contains("line"), "{message}");
    }
    let bad_condition = "rules:\n  - id: r\n    title: t\n    severity: info\n    window_secs: 1\n    group_by: []\n    condition: { type: thresold, match: { kind: a }, count: 1 }\n";
    assert!(RuleFile::from_yaml(bad_condition, "f").is_err());
    let bad_selector = "rules:\n  - id: r\n    title: t\n    severity: info\n    window_secs: 1\n    group_by: []\n    condition: { type: threshold, match: { kind: a, tools: x }, count: 1 }\n";
    assert!(RuleFile::from_yaml(bad_selector, "f").is_err());
}

#[test]
fn yaml_one_one_booleans_are_plain_strings() {
    let yaml = "rules:\n  - id: r\n    title: t\n    severity: info\n    window_secs: 1\n    group_by: []\n    condition: { type: sequence, steps: [{ kind: y }, { kind: [on, no] }] }\n";
    let file = RuleFile::from_yaml(yaml, "f").unwrap();
    let ConditionConfig::Sequence { steps } = &file.rules[0].condition else {
        panic!("not a sequence");
    };
    assert_eq!(steps[0].kind.as_slice(), ["y"]);
    assert_eq!(steps[1].kind.as_slice(), ["on", "no"]);
}

const USER_RULES: &str = r#"
rules:
  - id: brute_force
    title: Stricter brute force
    severity: critical
    mitre: [T1110.001]
    window_secs: 30
    cooldown_secs: 600
    group_by: [source_ip]
    condition:
      type: threshold
      match: { kind: authentication_failed, auth_method: [api_key, jwt] }
      count: 3
    actions:
      - type: block_ip
        duration_secs: 86400
  - id: tenant_flood
    title: A tenant hitting its limits
    description: Many rate-limit refusals across one tenant.
    severity: warning
    window_secs: 300
    group_by: [tenant]
    condition:
      type: threshold
      match: { kind: rate_limit_exceeded, server: "billing-*" }
      count: 100
  - id: stale_session
    title: Session never listed tools
    severity: info
    window_secs: 120
    group_by: [session]
    condition:
      type: absence
      start: { kind: session_started }
      expect: { kind: tool_list }
    actions: [{ type: alert }, { type: invalidate_sessions }]
  - id: probe_then_call
    title: Denied, then allowed on a similar tool
    severity: high
    mitre: [TA0007, AML.T0084.001]
    window_secs: 60
    group_by: [principal, server]
    condition:
      type: sequence
      steps:
        - { kind: authorization_denied, tool: ["admin_*", "*_admin"] }
        - { kind: tool_call, outcome: allow, action: [write, delete], labels: [sensitive] }
    actions:
      - type: raise_risk
        amount: 10
      - type: require_approval
      - type: quarantine_server
"#;

#[test]
fn user_rules_round_trip_through_yaml() {
    let parsed = RuleFile::from_yaml(USER_RULES, "user").unwrap();
    assert_eq!(parsed.rules.len(), 4);
    assert_eq!(
        parsed.rules[1].actions,
        [CorrelationAction::Alert],
        "default actions"
    );
    assert_eq!(parsed.rules[0].severity, Severity::Critical);
    let written = serde_saphyr::to_string(&parsed).unwrap();
    let reread = RuleFile::from_yaml(&written, "written").unwrap();
    assert_eq!(parsed, reread);
    let as_json = serde_json::to_string(&parsed).unwrap();
    assert_eq!(serde_json::from_str::<RuleFile>(&as_json).unwrap(), parsed);
}

#[test]
fn a_user_rule_replaces_the_shipped_rule_with_its_id() {
    let file = RuleFile::from_yaml(USER_RULES, "user").unwrap();
    let rules = CorrelationConfig::default()
        .compile_with_file(Some(&file))
        .unwrap();
    let ids: Vec<_> = rules.ids().collect();
    assert_eq!(ids.iter().filter(|id| **id == "brute_force").count(), 1);
    assert_eq!(ids.len(), SHIPPED.len() + 3);
    assert_eq!(ids.last(), Some(&"probe_then_call"));
}

#[test]
fn inline_and_file_rules_with_one_id_collide() {
    let file = RuleFile::from_yaml(USER_RULES, "user").unwrap();
    let config = CorrelationConfig {
        rules: file.rules[1..2].to_vec(),
        ..CorrelationConfig::default()
    };
    let errors = config.compile_with_file(Some(&file)).unwrap_err();
    assert_eq!(
        errors,
        [RuleError::DuplicateId {
            id: "tenant_flood".into(),
            first: "rules_file rules[1]".into(),
            second: "rules[0]".into(),
        }]
    );
}

#[test]
fn disabled_rules_must_be_shipped_ones() {
    let config = CorrelationConfig {
        disabled_rules: vec!["tool_scanning".into(), "no_such_rule".into()],
        ..CorrelationConfig::default()
    };
    let errors = config.compile().unwrap_err();
    assert_eq!(
        errors,
        [RuleError::UnknownDisabledRule {
            index: 1,
            id: "no_such_rule".into()
        }]
    );
    let config = CorrelationConfig {
        disabled_rules: vec!["tool_scanning".into()],
        ..CorrelationConfig::default()
    };
    let ids: Vec<String> = config.compile().unwrap().ids().map(String::from).collect();
    assert_eq!(ids.len(), SHIPPED.len() - 1);
    assert!(!ids.iter().any(|id| id == "tool_scanning"));
}

#[test]
fn disabled_correlation_still_checks_rules() {
    let config = CorrelationConfig {
        enabled: false,
        ..CorrelationConfig::default()
    };
    assert!(config.compile().unwrap().is_empty());
    let bad = CorrelationConfig {
        enabled: false,
        disabled_rules: vec!["nope".into()],
        ..CorrelationConfig::default()
    };
    assert!(bad.compile().is_err());
}

#[test]
fn config_section_reads_with_defaults_and_rejects_typos() {
    let config: CorrelationConfig =
        serde_saphyr::from_str("rules_file: /etc/sallyport/rules.yaml\n").unwrap();
    assert!(config.enabled && config.include_default_rules);
    assert_eq!(config.max_keys_per_rule.get(), 10_000);
    assert!(serde_saphyr::from_str::<CorrelationConfig>("max_keys: 5\n").is_err());
    assert!(serde_saphyr::from_str::<CorrelationConfig>("max_keys_per_rule: 0\n").is_err());
}

#[test]
fn schema_forbids_unknown_fields() {
    let schema = schemars::schema_for!(CorrelationConfig);
    let json = serde_json::to_value(&schema).unwrap();
    assert_eq!(json["additionalProperties"], false);
    let text = json.to_string();
    assert!(text.contains("block_principal"));
    assert!(text.contains("window_secs"));
}

#[test]
fn errors_are_values_to_match_on() {
    let yaml = "rules:\n  - id: r\n    title: t\n    severity: info\n    window_secs: 60\n    group_by: []\n    condition: { type: threshold, match: { kind: a }, count: 0 }\n";
    let file = RuleFile::from_yaml(yaml, "f").unwrap();
    let errors = without_defaults()
        .compile_with_file(Some(&file))
        .unwrap_err();
    assert_eq!(
        errors,
        [RuleError::Invalid {
            rule: "r".into(),
            field: "condition.count".into(),
            problem: RuleProblem::Zero,
        }]
    );
}
