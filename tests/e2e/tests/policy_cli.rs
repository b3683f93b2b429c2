//! `sallyport policy test` and `sallyport policy validate`, run as the real binary on the
//! shipped example policy and its cases (policies/examples/seed-001.cases.yaml).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sallyport_e2e::{repo_root, sallyport_bin};
use serde_json::Value;

/// What one run of the binary produced.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `sallyport <args>` from the repository root.
fn sallyport(args: &[&str]) -> Run {
    let out = Command::new(sallyport_bin())
        .args(args)
        .current_dir(repo_root())
        .env("SALLYPORT_LOG", "warn")
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const DEFAULT: &str = "policies/default.yaml";
const SEED: &str = "policies/examples/seed-001.yaml";
const CASES: &str = "policies/examples/seed-001.cases.yaml";

/// `policy test --policy default --policy seed-001 <cases> [extra…]`.
fn test_with_policies(cases: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "policy", "test", "--policy", DEFAULT, "--policy", SEED, cases,
    ];
    args.extend_from_slice(extra);
    sallyport(&args)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The `servers:` of a gateway config; `policy test` never starts them.
const SERVERS: &str = "servers:\n  - name: docker\n    stdio: { command: docker-mcp }\n";

/// A gateway config whose `authz` names the example policy files by absolute path.
fn gateway_config(dir: &Path) -> PathBuf {
    let root = repo_root();
    let yaml = format!(
        "{SERVERS}authz:\n  policy_files: [{:?}, {:?}]\n",
        root.join(DEFAULT).display().to_string(),
        root.join(SEED).display().to_string()
    );
    write(dir, "sallyport.yaml", &yaml)
}

#[test]
fn example_cases_pass_and_name_what_decided() {
    let run = test_with_policies(CASES, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(out.contains("17 passed, 0 failed"), "{out}");
    assert!(!out.contains('✗'), "{out}");
    // The Cedar argument rule names its policy; RBAC and step-up name their stage.
    let block = case_block(out, "service account runs anything else");
    assert!(
        block.contains("deny")
            && block.contains("decided by: cedar (policy service-account-commands)"),
        "{block}"
    );
    let block = case_block(out, "readonly cannot run containers");
    assert!(
        block.contains("decided by: rbac") && block.contains("roles: [readonly]"),
        "{block}"
    );
    let block = case_block(out, "admin deletes without a recent MFA login");
    assert!(
        block.contains("step_up") && block.contains("decided by: step_up"),
        "{block}"
    );
    let block = case_block(out, "service account runs an allow-listed command");
    assert!(
        block.contains("permission: infrastructure:execute via service_account"),
        "{block}"
    );
}

#[test]
fn a_gateway_config_loads_the_same_policy_and_json_is_data() {
    let dir = tempfile::tempdir().unwrap();
    let config = gateway_config(dir.path());
    let config = config.to_str().unwrap();
    let run = sallyport(&["policy", "test", "-c", config, CASES, "--json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["passed"], 17, "{doc:#}");
    assert_eq!(doc["failed"], 0);
    let results = doc["results"].as_array().unwrap();
    let cedar = results
        .iter()
        .find(|r| r["name"] == "service account makes a target outside the list")
        .unwrap();
    assert_eq!(cedar["decision"]["outcome"], "deny");
    assert_eq!(cedar["decision"]["decided_by"], "cedar");
    assert_eq!(
        cedar["decision"]["policy_ids"][0],
        "service-account-make-targets"
    );
    assert_eq!(cedar["expected"], "deny");
    assert_eq!(cedar["passed"], true);

    // Without an `authz:` section the gateway authorizes nothing: say so, status 2.
    let bare = write(dir.path(), "bare.yaml", SERVERS);
    let run = sallyport(&["policy", "test", "-c", bare.to_str().unwrap(), CASES]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("bare.yaml") && run.stderr.contains("no `authz:` section"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failed_expectation_names_the_case_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let cases = write(
        dir.path(),
        "cases.yaml",
        "- name: operator builds\n  principal: { id: dana, roles: [mcp_operator] }\n  server: docker\n  tool: docker_build\n  expect: allow\n- name: guest runs containers\n  principal: { id: g }\n  server: docker\n  tool: docker_run\n  expect: allow\n",
    );
    let run = test_with_policies(cases.to_str().unwrap(), &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("✗ guest runs containers: expected allow, got deny"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("✓ operator builds: allow"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("1 passed, 1 failed"), "{}", run.stdout);
}

#[test]
fn invalid_input_names_the_file_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    // Not YAML at all.
    let broken = write(
        dir.path(),
        "broken.yaml",
        "- name: ok\n  principal: { id: a\n  server: docker\n",
    );
    let run = test_with_policies(broken.to_str().unwrap(), &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains("broken.yaml: not a valid request document")
            && run.stderr.contains("line 3"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    // Valid YAML, a case without `tool`: the file, the case's line and the field.
    let shape = write(
        dir.path(),
        "shape.yaml",
        "- principal: { id: a }\n  server: docker\n  tool: docker_ps\n- principal: { id: b }\n  server: docker\n",
    );
    let run = test_with_policies(shape.to_str().unwrap(), &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("shape.yaml:4: case 2") && run.stderr.contains("tool"),
        "{}",
        run.stderr
    );

    // A missing cases file, and a broken policy file.
    let run = test_with_policies("no/such/cases.yaml", &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no/such/cases.yaml"), "{}", run.stderr);
    let bad_policy = write(
        dir.path(),
        "roles.yaml",
        "roles:\n  ops:\n    permissions: [\"mcp.docker:launch\"]\n",
    );
    let run = sallyport(&[
        "policy",
        "test",
        "--policy",
        bad_policy.to_str().unwrap(),
        CASES,
    ]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("roles.yaml"), "{}", run.stderr);
}

#[test]
fn validate_lists_the_policy_or_its_errors() {
    let run = sallyport(&["policy", "validate", "--policy", DEFAULT, "--policy", SEED]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("is valid"), "{}", run.stdout);
    assert!(
        run.stdout.contains("forbid service-account-commands"),
        "{}",
        run.stdout
    );

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad.cedar",
        "@id(\"x\")\npermit (principal, action, resource)\nwhen { context.phase == };\n",
    );
    let policy = write(dir.path(), "p.yaml", "cedar:\n  files: [bad.cedar]\n");
    let run = sallyport(&["policy", "validate", "--policy", policy.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("bad.cedar:3"), "{}", run.stdout);
}

/// The lines of one case in the human report: its head line and the indented lines below.
fn case_block<'a>(out: &'a str, name: &str) -> &'a str {
    let start = out
        .find(&format!(" {name}: "))
        .unwrap_or_else(|| panic!("no case {name:?} in:\n{out}"));
    let rest = &out[start..];
    let end = rest[1..]
        .find(['✓', '✗', '•'])
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}
