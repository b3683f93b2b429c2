//! `sallyport policy test` and `sallyport policy validate`: the authorization policy a
//! gateway would load, compiled and evaluated offline (docs/authorization.md, "Offline
//! evaluation").
//!
//! `test` exits 0 when every `expect` holds (or none is given), 1 when one does not, and 2
//! when the config, a policy file or the cases file cannot be read or is invalid.
//! `validate` exits 0 when the policy compiles and 1 otherwise.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sallyport_policy::{
    AuthzPolicy, Clock as _, Decision, Expect, ExplainError, Explanation, Outcome, PolicyError,
    Stage, SystemClock, Timestamp, explain_document,
};

/// `sallyport policy` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct PolicyArgs {
    /// What to do.
    #[command(subcommand)]
    action: PolicyAction,
}

/// `sallyport policy` actions.
#[derive(Debug, clap::Subcommand)]
enum PolicyAction {
    /// Evaluate described requests (a YAML or JSON cases file) and check their `expect`;
    /// exits 1 when an expectation fails, 2 when an input is unreadable or invalid.
    Test(TestArgs),
    /// Compile the policy (roles, tool rules, Cedar files) and report every error.
    Validate {
        /// Where the policy comes from.
        #[command(flatten)]
        source: PolicySource,
    },
}

/// Where the policy comes from: a gateway config, or policy files.
#[derive(Debug, clap::Args)]
struct PolicySource {
    /// Gateway configuration: its `authz` section is loaded as `serve` loads it (relative
    /// `policy_files` resolve against the working directory).
    #[arg(short, long, value_name = "FILE", required_unless_present = "policies")]
    config: Option<PathBuf>,
    /// A policy file instead of `--config` (repeatable; merged in order, as
    /// `authz.policy_files` are).
    #[arg(long = "policy", value_name = "FILE", conflicts_with = "config")]
    policies: Vec<PathBuf>,
}

/// `sallyport policy test` arguments.
#[derive(Debug, clap::Args)]
struct TestArgs {
    /// Where the policy comes from.
    #[command(flatten)]
    source: PolicySource,
    /// The cases: one described request or a list of them (YAML or JSON).
    cases: PathBuf,
    /// Print the explanations as JSON.
    #[arg(long)]
    json: bool,
    /// The time (RFC 3339) for cases without `time`; default: now.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
}

/// Input that cannot be used; each line is printed to stderr and the exit status is 2.
#[derive(Debug)]
struct BadInput(Vec<String>);

impl BadInput {
    fn one(message: String) -> Self {
        Self(vec![message])
    }
}

/// Runs one `policy` action.
pub(crate) fn run(args: &PolicyArgs) -> anyhow::Result<ExitCode> {
    Ok(match &args.action {
        PolicyAction::Test(test) => match evaluate(test) {
            Ok(results) => report(&results, test.json)?,
            Err(BadInput(lines)) => {
                for (i, line) in lines.iter().enumerate() {
                    let prefix = if i == 0 { "error: " } else { "" };
                    eprintln!("{prefix}{line}");
                }
                ExitCode::from(2)
            }
        },
        PolicyAction::Validate { source } => validate(source),
    })
}

// === loading ===

/// Compiles the policy the gateway would use, and names where it came from.
fn load_policy(source: &PolicySource) -> Result<(AuthzPolicy, String), BadInput> {
    let (files, label) = match &source.config {
        Some(config) => config_policy_files(config)?,
        None => (source.policies.clone(), "policy".to_owned()),
    };
    // The same choice the gateway makes (sallyport_transport::build): no files, the
    // shipped default; otherwise the files merged in order, then their Cedar files.
    let policy = if files.is_empty() {
        AuthzPolicy::shipped_default()
    } else {
        AuthzPolicy::load(&files).map_err(|errors| policy_errors(&label, &errors))?
    };
    let named: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let label = if named.is_empty() {
        format!("{label} (the shipped default)")
    } else {
        format!("{label} ({})", named.join(", "))
    };
    Ok((policy, label))
}

/// `authz.policy_files` of a gateway config.
fn config_policy_files(path: &Path) -> Result<(Vec<PathBuf>, String), BadInput> {
    let config = sallyport_config::load_file(path).map_err(|errors| {
        let mut lines = vec![format!("{} has {} error(s):", path.display(), errors.len())];
        lines.extend(errors.errors().iter().map(|e| format!("  {e}")));
        BadInput(lines)
    })?;
    let Some(authz) = &config.authz else {
        return Err(BadInput::one(format!(
            "{}: no `authz:` section, so the gateway authorizes nothing; add `authz: {{}}` \
             for the shipped default policy or `authz: {{ policy_files: [...] }}`, or pass \
             --policy FILE",
            path.display()
        )));
    };
    let label = format!("policy of {}", path.display());
    Ok((authz.policy_files.clone(), label))
}

fn policy_errors(label: &str, errors: &[PolicyError]) -> BadInput {
    let mut lines = vec![format!("{label} has {} error(s):", errors.len())];
    lines.extend(errors.iter().map(|e| format!("  {e}")));
    BadInput(lines)
}

// === test ===

/// Loads the policy and the cases, and evaluates every case.
fn evaluate(args: &TestArgs) -> Result<Vec<Explanation>, BadInput> {
    let (policy, _) = load_policy(&args.source)?;
    let now = match &args.now {
        Some(t) => Timestamp::parse_rfc3339(t).ok_or_else(|| {
            BadInput::one(format!(
                "--now {t:?}: expected RFC 3339, e.g. 2026-11-05T09:30:00Z"
            ))
        })?,
        None => SystemClock.now(),
    };
    let path = &args.cases;
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput::one(format!("cannot read {}: {e}", path.display())))?;
    let blank = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    let results = if text.lines().all(blank) {
        Vec::new()
    } else {
        explain_document(&policy, &text, now)
            .map_err(|e| BadInput::one(cases_error(path, &text, &e)))?
    };
    if results.is_empty() {
        return Err(BadInput::one(format!(
            "{}: no cases (expected a request or a list of requests)",
            path.display()
        )));
    }
    Ok(results)
}

/// `cases.yaml:12: case 3: missing field `tool``, with the line of a case in a block list.
fn cases_error(path: &Path, text: &str, error: &ExplainError) -> String {
    let file = path.display();
    match error {
        ExplainError::Shape { index, message } => match case_line(text, *index) {
            Some(line) => format!("{file}:{line}: case {}: {message}", index + 1),
            None => format!("{file}: case {}: {message}", index + 1),
        },
        // The parser's message carries the line and a snippet of `<input>`: name the file.
        ExplainError::Syntax(message) => {
            let message = message.strip_prefix("error: ").unwrap_or(message);
            let message = message.replace("<input>", &file.to_string());
            format!("{file}: not a valid request document: {message}")
        }
        other @ ExplainError::BadTime(_) => format!("{file}: {other}"),
    }
}

/// The 1-based line where item `index` of a top-level block list (`- …`) starts.
fn case_line(text: &str, index: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| *l == "-" || l.starts_with("- "))
        .nth(index)
        .map(|(i, _)| i + 1)
}

/// Prints the results and returns the exit status.
fn report(results: &[Explanation], json: bool) -> anyhow::Result<ExitCode> {
    let passed = results.iter().filter(|e| e.passed == Some(true)).count();
    let failed = results.iter().filter(|e| e.passed == Some(false)).count();
    if json {
        let doc = serde_json::json!({ "results": results, "passed": passed, "failed": failed });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        let mut out = String::new();
        for (i, e) in results.iter().enumerate() {
            describe(&mut out, i, e);
        }
        if results.iter().any(|e| e.expected.is_some()) {
            let unchecked = results.len() - passed - failed;
            let _ = write!(out, "\n{passed} passed, {failed} failed");
            if unchecked > 0 {
                let _ = write!(out, ", {unchecked} without `expect`");
            }
            out.push('\n');
        }
        print!("{out}");
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One case: a head line with the outcome, then what decided it and why.
fn describe(out: &mut String, index: usize, e: &Explanation) {
    let name = e
        .name
        .clone()
        .unwrap_or_else(|| format!("case {}", index + 1));
    let got = outcome_name(&e.decision.outcome);
    let _ = match (e.passed, e.expected) {
        (Some(true), _) => writeln!(out, "✓ {name}: {got}"),
        (Some(false), Some(expected)) => {
            writeln!(
                out,
                "✗ {name}: expected {}, got {got}",
                expect_name(expected)
            )
        }
        _ => writeln!(out, "• {name}: {got}"),
    };
    explain(out, &e.decision);
}

fn explain(out: &mut String, d: &Decision) {
    let mut by = match d.decided_by {
        Stage::Allowed => "allowed (every check passed)".to_owned(),
        stage => stage_name(stage).to_owned(),
    };
    if !d.policy_ids.is_empty() {
        let _ = write!(by, " (policy {})", d.policy_ids.join(", "));
    }
    let _ = writeln!(out, "    decided by: {by}");
    for reason in &d.reasons {
        let _ = writeln!(out, "    why: {reason}");
    }
    if let Some(p) = &d.permission_used {
        let _ = writeln!(out, "    permission: {} via {}", p.permission, p.via);
    }
    let c = &d.classification;
    let risk = if c.high_risk { ", high risk" } else { "" };
    let roles = d.roles.join(", ");
    let _ = writeln!(
        out,
        "    request: {}:{}{risk}; roles: [{roles}]",
        c.resource, c.action
    );
    if let Some(t) = &d.trust {
        let _ = writeln!(out, "    trust: {:.2}", t.score);
    }
    if let Outcome::StepUp(s) = &d.outcome {
        let mut needs = Vec::new();
        if !s.acr_values.is_empty() {
            needs.push(format!("acr {}", s.acr_values.join(" or ")));
        }
        if !s.amr_values.is_empty() {
            needs.push(format!("amr {}", s.amr_values.join(" or ")));
        }
        let needs = if needs.is_empty() {
            "a new login".to_owned()
        } else {
            needs.join(", or ")
        };
        let _ = writeln!(
            out,
            "    step-up: {needs}, at most {} s old",
            s.max_age_secs
        );
    }
}

// The names below are those of the JSON output (`snake_case`); the matches are exhaustive
// so a new outcome or stage cannot be printed under a stale name.

fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Allow => "allow",
        Outcome::Deny => "deny",
        Outcome::StepUp(_) => "step_up",
        Outcome::Hold { .. } => "hold",
    }
}

fn expect_name(expect: Expect) -> &'static str {
    match expect {
        Expect::Allow => "allow",
        Expect::Deny => "deny",
        Expect::StepUp => "step_up",
        Expect::Hold => "hold",
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Tenant => "tenant",
        Stage::Rbac => "rbac",
        Stage::Trust => "trust",
        Stage::Cedar => "cedar",
        Stage::StepUp => "step_up",
        Stage::Allowed => "allowed",
    }
}

// === validate ===

/// Compiles the policy; prints what it holds or every error.
fn validate(source: &PolicySource) -> ExitCode {
    let (policy, label) = match load_policy(source) {
        Ok(loaded) => loaded,
        Err(BadInput(lines)) => {
            for (i, line) in lines.iter().enumerate() {
                let mark = if i == 0 { "✗ " } else { "" };
                println!("{mark}{line}");
            }
            return ExitCode::FAILURE;
        }
    };
    println!("✓ {label} is valid");
    let cedar = policy.cedar().policies();
    println!("  ✓ cedar: {} policies", cedar.len());
    for p in cedar {
        println!("    {} {} ({}:{})", p.effect, p.id, p.origin, p.line);
    }
    let trust = if policy.trust().is_some() {
        "on"
    } else {
        "off"
    };
    println!("  ✓ trust scoring: {trust}");
    ExitCode::SUCCESS
}
