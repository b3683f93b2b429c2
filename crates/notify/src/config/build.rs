//! `SinkConfig` → `Sink`: every field checked, secrets read, every problem collected.

use std::collections::HashMap;
use std::time::Duration;

use aws_lc_rs::hmac;
use url::Url;

use crate::config::endpoint::parse_endpoint;
use crate::config::{ConfigError, ConfigProblem, SinkConfig, SinkKind};
use crate::delivery::RetryPolicy;
use crate::format::Format;
use crate::secret::Secret;
use crate::sink::Sink;

/// Where PagerDuty sinks send events unless `url` or `url_env` says otherwise.
pub(crate) const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// Shortest accepted webhook HMAC secret, in bytes.
const MIN_SECRET_BYTES: usize = 16;
const MAX_NAME_CHARS: usize = 64;
const MAX_TIMEOUT_MS: u64 = 600_000;
const MAX_ATTEMPTS: u32 = 20;
const MAX_QUEUE_CAPACITY: usize = 1_000_000;

type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Problems of one sink, each at a field.
#[derive(Default)]
struct Problems(Vec<(&'static str, ConfigProblem)>);

impl Problems {
    fn push(&mut self, field: &'static str, problem: ConfigProblem) {
        self.0.push((field, problem));
    }

    /// The value, or `None` with the problem recorded at `field`.
    fn check<T>(&mut self, field: &'static str, result: Result<T, ConfigProblem>) -> Option<T> {
        result.map_err(|problem| self.push(field, problem)).ok()
    }
}

pub(super) fn build_sinks(
    configs: &[SinkConfig],
    env: Env<'_>,
) -> Result<Vec<Sink>, Vec<ConfigError>> {
    let mut sinks = Vec::with_capacity(configs.len());
    let mut errors = Vec::new();
    let mut first_with_name: HashMap<&str, usize> = HashMap::new();
    for (index, config) in configs.iter().enumerate() {
        let mut problems = Problems::default();
        if let Some(&first) = first_with_name.get(config.name.as_str()) {
            problems.push("name", ConfigProblem::DuplicateName { first });
        } else {
            first_with_name.insert(&config.name, index);
        }
        let sink = build_sink(config, env, &mut problems);
        if problems.0.is_empty() {
            sinks.extend(sink);
        }
        errors.extend(problems.0.into_iter().map(|(field, problem)| ConfigError {
            index,
            sink: config.name.clone(),
            field,
            problem,
        }));
    }
    if errors.is_empty() {
        Ok(sinks)
    } else {
        Err(errors)
    }
}

fn build_sink(config: &SinkConfig, env: Env<'_>, problems: &mut Problems) -> Option<Sink> {
    if !is_valid_name(&config.name) {
        problems.push("name", ConfigProblem::InvalidName);
    }
    let endpoint = resolve_endpoint(config, env, problems);
    let format = resolve_format(config, env, problems);
    check_numbers(config, problems);
    Some(Sink {
        name: config.name.clone(),
        endpoint: Secret::new(endpoint?),
        format: format?,
        min_severity: config.min_severity,
        timeout: Duration::from_millis(config.timeout_ms),
        retry: RetryPolicy {
            max_attempts: config.max_attempts,
            initial_backoff: Duration::from_millis(config.initial_backoff_ms),
            max_backoff: Duration::from_millis(config.max_backoff_ms),
        },
        queue_capacity: config.queue_capacity,
    })
}

fn is_valid_name(name: &str) -> bool {
    (1..=MAX_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn resolve_endpoint(config: &SinkConfig, env: Env<'_>, problems: &mut Problems) -> Option<Url> {
    match (&config.url, &config.url_env) {
        (Some(_), Some(_)) => {
            problems.push("url_env", ConfigProblem::Conflict { other: "url" });
            None
        }
        (Some(url), None) => problems.check("url", parse_endpoint(url)),
        (None, Some(var)) => {
            let url = read_env(env, var).and_then(|text| parse_endpoint(&text));
            problems.check("url_env", url)
        }
        (None, None) if config.kind == SinkKind::PagerDuty => {
            problems.check("url", parse_endpoint(PAGERDUTY_EVENTS_URL))
        }
        (None, None) => {
            let kind = config.kind;
            problems.push("url", ConfigProblem::Required { kind });
            None
        }
    }
}

fn resolve_format(config: &SinkConfig, env: Env<'_>, problems: &mut Problems) -> Option<Format> {
    let kind = config.kind;
    let webhook_secret = only_for(kind, SinkKind::Webhook, &config.secret_env);
    let routing_key = only_for(kind, SinkKind::PagerDuty, &config.routing_key_env);
    let webhook_secret = problems.check("secret_env", webhook_secret);
    let routing_key = problems.check("routing_key_env", routing_key);
    match kind {
        SinkKind::Webhook => {
            let secret = webhook_secret
                .flatten()
                .and_then(|var| problems.check("secret_env", read_secret(env, var)))?;
            Some(Format::Webhook {
                key: Box::new(hmac::Key::new(
                    hmac::HMAC_SHA256,
                    secret.expose().as_bytes(),
                )),
            })
        }
        SinkKind::Slack => Some(Format::Slack),
        SinkKind::PagerDuty => {
            let var = routing_key.flatten()?;
            let routing_key = problems.check("routing_key_env", read_env(env, var))?;
            Some(Format::PagerDuty {
                routing_key: Secret::new(routing_key),
            })
        }
    }
}

/// A field only `owner` sinks use: required there, refused elsewhere. `Ok(None)` when it is
/// rightly absent.
fn only_for(
    kind: SinkKind,
    owner: SinkKind,
    value: &Option<String>,
) -> Result<Option<&str>, ConfigProblem> {
    match (kind == owner, value) {
        (true, Some(var)) => Ok(Some(var)),
        (true, None) => Err(ConfigProblem::Required { kind }),
        (false, Some(_)) => Err(ConfigProblem::NotAllowed { kind }),
        (false, None) => Ok(None),
    }
}

fn read_env(env: Env<'_>, var: &str) -> Result<String, ConfigProblem> {
    match env(var) {
        None => Err(ConfigProblem::MissingEnv {
            var: var.to_owned(),
        }),
        Some(value) if value.is_empty() => Err(ConfigProblem::EmptyEnv {
            var: var.to_owned(),
        }),
        Some(value) => Ok(value),
    }
}

fn read_secret(env: Env<'_>, var: &str) -> Result<Secret<String>, ConfigProblem> {
    let value = read_env(env, var)?;
    if value.len() < MIN_SECRET_BYTES {
        return Err(ConfigProblem::SecretTooShort {
            var: var.to_owned(),
            len: value.len(),
            min: MIN_SECRET_BYTES,
        });
    }
    Ok(Secret::new(value))
}

fn check_numbers(config: &SinkConfig, problems: &mut Problems) {
    let mut within = |field, value: u64, min: u64, max: u64| {
        if value < min {
            problems.push(field, ConfigProblem::TooSmall { min });
        } else if value > max {
            problems.push(field, ConfigProblem::TooLarge { max });
        }
    };
    within("timeout_ms", config.timeout_ms, 1, MAX_TIMEOUT_MS);
    within(
        "max_attempts",
        config.max_attempts.into(),
        1,
        MAX_ATTEMPTS.into(),
    );
    within("initial_backoff_ms", config.initial_backoff_ms, 1, u64::MAX);
    within(
        "max_backoff_ms",
        config.max_backoff_ms,
        config.initial_backoff_ms,
        u64::MAX,
    );
    within(
        "queue_capacity",
        u64::try_from(config.queue_capacity).unwrap_or(u64::MAX),
        1,
        u64::try_from(MAX_QUEUE_CAPACITY).unwrap_or(u64::MAX),
    );
}
