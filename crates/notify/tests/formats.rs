//! Slack and PagerDuty payloads as a real receiver sees them, and configuration: defaults,
//! precise errors, no secret in `Debug` or error text.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Receiver, SECRET, client, notification, wait_for_stats};
use sallyport_notify::{
    ConfigError, ConfigProblem, EVENT_ID_HEADER, Notifier, NotifyConfig, SIGNATURE_HEADER,
    Severity, SinkKind,
};
use serde_json::json;

const SLACK_PATH: &str = "/services/T0001/B0001/s3cr3tT0k3n";
const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdefABCDEF";

fn parse(yaml: &str) -> NotifyConfig {
    serde_saphyr::from_str(yaml).expect("valid YAML")
}

fn build_errors(yaml: &str, env: &[(&str, &str)]) -> Vec<ConfigError> {
    parse(yaml)
        .build_with_env(|var| {
            env.iter()
                .find(|(name, _)| *name == var)
                .map(|(_, value)| (*value).to_owned())
        })
        .expect_err("an invalid config")
}

#[tokio::test]
async fn slack_gets_a_block_kit_message() {
    let receiver = Receiver::start().await;
    let yaml = "sinks:\n  - name: chat\n    kind: slack\n    url_env: SLACK_URL\n";
    let slack_url = receiver.url(SLACK_PATH);
    let sinks = common::build(yaml, &[("SLACK_URL", &slack_url)]);
    let notifier = Notifier::start(sinks, client());
    notifier.notify(&notification("n-s", Severity::Critical));
    wait_for_stats(&notifier, |s| s.sent == 1).await;

    let request = receiver.received().remove(0);
    assert_eq!(request.path, SLACK_PATH);
    assert_eq!(request.header("content-type"), "application/json");
    assert_eq!(request.header(SIGNATURE_HEADER), "");
    let message = request.json();
    assert_eq!(
        message["text"],
        "[CRITICAL] Credential stuffing against alice"
    );
    let blocks = message["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), 6);
    assert_eq!(
        blocks[0],
        json!({"type": "header", "text": {"type": "plain_text",
            "text": ":rotating_light: CRITICAL: Credential stuffing against alice", "emoji": true}})
    );
    assert_eq!(
        blocks[1],
        json!({"type": "section", "text": {"type": "mrkdwn",
            "text": "12 failed logins in 60 s from one address"}})
    );
    assert_eq!(
        blocks[2],
        json!({"type": "section", "fields": [
            {"type": "mrkdwn", "text": "*Rule*\ncredential_stuffing"},
            {"type": "mrkdwn", "text": "*Incident*\ninc-7"},
            {"type": "mrkdwn", "text": "*principal*\nalice"},
            {"type": "mrkdwn", "text": "*client_ip*\n203.0.113.7"},
        ]})
    );
    assert_eq!(
        blocks[3]["text"]["text"],
        "*MITRE ATT&amp;CK*\nT1110.004, T1078"
    );
    assert_eq!(
        blocks[4]["text"]["text"],
        "*Actions taken*\n• blocked principal alice for 3600 s\n• revoked api key k-42"
    );
    assert_eq!(
        blocks[5],
        json!({"type": "context", "elements": [{"type": "mrkdwn",
            "text": "Sallyport · event n-s · 2023-11-14T22:13:20.000Z"}]})
    );
}

#[tokio::test]
async fn pagerduty_gets_an_events_v2_trigger() {
    let receiver = Receiver::start().await;
    let yaml = format!(
        "sinks:\n  - name: oncall\n    kind: pagerduty\n    url: {}\n    routing_key_env: PD_KEY\n",
        receiver.url("/v2/enqueue")
    );
    let sinks = common::build(&yaml, &[("PD_KEY", ROUTING_KEY)]);
    let notifier = Notifier::start(sinks, client());
    assert_eq!(notifier.notify(&notification("n-w", Severity::Warning)), 0);
    notifier.notify(&notification("n-p", Severity::High));
    let mut second = notification("n-q", Severity::Critical);
    second.incident_id = None;
    notifier.notify(&second);
    wait_for_stats(&notifier, |s| s.sent == 2).await;

    let requests = receiver.received();
    assert_eq!(requests[0].path, "/v2/enqueue");
    assert_eq!(requests[0].header(EVENT_ID_HEADER), "");
    let event = requests[0].json();
    assert_eq!(event["routing_key"], ROUTING_KEY);
    assert_eq!(event["event_action"], "trigger");
    assert_eq!(event["dedup_key"], "inc-7");
    assert_eq!(event["client"], "Sallyport");
    let payload = &event["payload"];
    assert_eq!(
        payload["summary"],
        "Credential stuffing against alice: 12 failed logins in 60 s from one address"
    );
    assert_eq!(payload["source"], "sallyport");
    assert_eq!(payload["severity"], "error");
    assert_eq!(payload["timestamp"], "2023-11-14T22:13:20.000Z");
    assert_eq!(payload["component"], "response_orchestrator");
    assert_eq!(payload["group"], "security");
    assert_eq!(payload["class"], "credential_stuffing");
    assert_eq!(
        payload["custom_details"],
        json!({
            "event_id": "n-p",
            "rule_id": "credential_stuffing",
            "severity": "high",
            "title": "Credential stuffing against alice",
            "summary": "12 failed logins in 60 s from one address",
            "key": {"principal": "alice", "client_ip": "203.0.113.7"},
            "mitre": ["T1110.004", "T1078"],
            "actions_taken": ["blocked principal alice for 3600 s", "revoked api key k-42"],
            "incident_id": "inc-7",
        })
    );
    let event = requests[1].json();
    assert_eq!(event["payload"]["severity"], "critical");
    assert_eq!(
        event["dedup_key"],
        "credential_stuffing:principal=alice,client_ip=203.0.113.7"
    );
}

#[test]
fn defaults_apply_and_the_schema_is_closed() {
    let config =
        parse("sinks:\n  - name: oncall\n    kind: pagerduty\n    routing_key_env: PD_KEY\n");
    let sink = &config.sinks[0];
    assert_eq!(sink.kind, SinkKind::PagerDuty);
    assert_eq!(sink.min_severity, Severity::High);
    assert_eq!(
        (sink.timeout_ms, sink.max_attempts, sink.initial_backoff_ms),
        (5_000, 5, 500)
    );
    assert_eq!((sink.max_backoff_ms, sink.queue_capacity), (30_000, 1_000));
    let sinks = config
        .build_with_env(|var| (var == "PD_KEY").then(|| ROUTING_KEY.to_owned()))
        .expect("valid");
    assert_eq!(sinks[0].host(), "events.pagerduty.com");
    assert_eq!(sinks[0].kind(), SinkKind::PagerDuty);

    let schema = serde_json::to_value(schemars::schema_for!(NotifyConfig)).expect("schema");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["$defs"]["SinkConfig"]["additionalProperties"], false);
}

#[test]
fn unknown_fields_and_kinds_are_refused_by_the_parser() {
    let unknown_field =
        "sinks:\n  - name: a\n    kind: slack\n    url: https://x.test/\n    channel: '#sec'\n";
    let error = serde_saphyr::from_str::<NotifyConfig>(unknown_field).expect_err("unknown field");
    assert!(error.to_string().contains("channel"), "{error}");
    let unknown_kind = "sinks:\n  - name: a\n    kind: teams\n    url: https://x.test/\n";
    let error = serde_saphyr::from_str::<NotifyConfig>(unknown_kind).expect_err("unknown kind");
    assert!(error.to_string().contains("teams"), "{error}");
}

#[test]
fn a_missing_environment_variable_is_named() {
    let errors = build_errors(
        "sinks:\n  - name: soc\n    kind: webhook\n    url: https://soc.test/hook\n    secret_env: SOC_HOOK_SECRET\n",
        &[],
    );
    assert_eq!(
        errors,
        [ConfigError {
            index: 0,
            sink: "soc".to_owned(),
            field: "secret_env",
            problem: ConfigProblem::MissingEnv {
                var: "SOC_HOOK_SECRET".to_owned()
            },
        }]
    );
    assert_eq!(
        errors[0].to_string(),
        "sinks[0] (soc): secret_env: environment variable `SOC_HOOK_SECRET` is not set"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let errors = build_errors(
        "sinks:\n  - name: soc\n    kind: webhook\n    url: http://soc.example.com/hook\n    secret_env: S\n",
        &[("S", SECRET)],
    );
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].field, "url");
    assert_eq!(
        errors[0].to_string(),
        "sinks[0] (soc): url: plain http is allowed only to a loopback host, not `soc.example.com`; use https"
    );
}

#[test]
fn every_problem_is_reported_at_its_field() {
    let yaml = "sinks:
  - name: hook
    kind: webhook
    url: https://a.test/
    url_env: HOOK_URL
    secret_env: SHORT
    routing_key_env: PD
    max_attempts: 0
  - name: chat
    kind: slack
    secret_env: S
  - name: pd
    kind: pagerduty
    url: ftp://pd.test/
    max_backoff_ms: 10
  - name: hook
    kind: slack
    url_env: EMPTY
";
    let errors = build_errors(yaml, &[("SHORT", "tooshort"), ("EMPTY", "")]);
    let found: Vec<(usize, &str, ConfigProblem)> = errors
        .iter()
        .map(|e| (e.index, e.field, e.problem.clone()))
        .collect();
    let webhook = SinkKind::Webhook;
    let slack = SinkKind::Slack;
    let pagerduty = SinkKind::PagerDuty;
    let expected = vec![
        (0, "url_env", ConfigProblem::Conflict { other: "url" }),
        (
            0,
            "routing_key_env",
            ConfigProblem::NotAllowed { kind: webhook },
        ),
        (
            0,
            "secret_env",
            ConfigProblem::SecretTooShort {
                var: "SHORT".to_owned(),
                len: 8,
                min: 16,
            },
        ),
        (0, "max_attempts", ConfigProblem::TooSmall { min: 1 }),
        (1, "url", ConfigProblem::Required { kind: slack }),
        (1, "secret_env", ConfigProblem::NotAllowed { kind: slack }),
        (
            2,
            "url",
            ConfigProblem::UnsupportedScheme {
                scheme: "ftp".to_owned(),
            },
        ),
        (
            2,
            "routing_key_env",
            ConfigProblem::Required { kind: pagerduty },
        ),
        (2, "max_backoff_ms", ConfigProblem::TooSmall { min: 500 }),
        (3, "name", ConfigProblem::DuplicateName { first: 0 }),
        (
            3,
            "url_env",
            ConfigProblem::EmptyEnv {
                var: "EMPTY".to_owned(),
            },
        ),
    ];
    assert_eq!(found, expected);
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let yaml = "sinks:
  - name: soc
    kind: webhook
    url: https://soc.test/hook
    secret_env: S
  - name: chat
    kind: slack
    url_env: SLACK_URL
  - name: oncall
    kind: pagerduty
    routing_key_env: PD_KEY
";
    let slack_url = format!("https://hooks.slack.com{SLACK_PATH}");
    let env = [
        ("S", SECRET),
        ("SLACK_URL", slack_url.as_str()),
        ("PD_KEY", ROUTING_KEY),
    ];
    let sinks = common::build(yaml, &env);
    let debug = format!("{sinks:?}");
    for secret in [SECRET, "s3cr3tT0k3n", ROUTING_KEY] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains("hooks.slack.com"), "{debug}");

    // A secret URL that is refused is not echoed either.
    let insecure = format!("http://hooks.slack.com{SLACK_PATH}");
    let errors = build_errors(
        "sinks:\n  - name: chat\n    kind: slack\n    url_env: SLACK_URL\n",
        &[("SLACK_URL", &insecure)],
    );
    let text = errors[0].to_string();
    assert!(!text.contains("s3cr3tT0k3n"), "{text}");
    assert_eq!(errors[0].field, "url_env");
}
