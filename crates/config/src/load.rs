//! Loading: read → interpolate → parse (with budgets) → validate, collecting errors.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{DefaultMessageFormatter, MessageFormatter};

use crate::error::{ConfigError, ConfigErrors, Location};
use crate::interpolate::{Interpolated, interpolate};
use crate::locate::LocationIndex;
use crate::types::Config;
use crate::validate;

/// Largest configuration accepted, in bytes. Real configurations are a few KiB.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// Loads, interpolates from the process environment, and validates a configuration
/// file. Errors are reported against `path`.
pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    let origin = path.display().to_string();
    let text = read_capped(path).map_err(|message| single(&origin, message))?;
    load_str(&text, &origin)
}

/// Loads a configuration from `text`, interpolating `${VAR}` from the process
/// environment. `origin` (usually the file name) prefixes error messages.
pub fn load_str(text: &str, origin: &str) -> Result<Config, ConfigErrors> {
    load_str_with_env(text, origin, |name| std::env::var(name).ok())
}

/// Like [`load_str`], but looks variables up with `env` instead of the process
/// environment (tests, embedding).
///
/// ```
/// let yaml = r#"
/// servers:
///   - name: time
///     http: { url: "${TIME_URL}", headers: { Authorization: "Bearer ${TOKEN:-dev}" } }
/// "#;
/// let env = |name: &str| (name == "TIME_URL").then(|| "http://127.0.0.1:9000/mcp".to_owned());
/// let config = sallyport_config::load_str_with_env(yaml, "sallyport.yaml", env).unwrap();
/// let http = config.servers[0].http.as_ref().unwrap();
/// assert_eq!(http.url, "http://127.0.0.1:9000/mcp");
/// assert_eq!(http.headers["Authorization"].expose(), "Bearer dev");
/// ```
pub fn load_str_with_env(
    text: &str,
    origin: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(single(
            origin,
            format!("configuration is larger than {MAX_CONFIG_BYTES} bytes"),
        ));
    }
    let interpolated = interpolate(text, &env).map_err(|problems| {
        let errors = problems.into_iter().map(|(location, message)| ConfigError {
            origin: origin.to_owned(),
            path: String::new(),
            location: Some(location),
            message,
        });
        ConfigErrors(errors.collect())
    })?;
    if is_blank(&interpolated.text) {
        return Err(single(
            origin,
            "the configuration is empty; it needs at least `servers:`".to_owned(),
        ));
    }
    let config = parse(&interpolated, origin).map_err(|error| ConfigErrors(vec![error]))?;
    let issues = validate::check(&config);
    if issues.is_empty() {
        return Ok(config);
    }
    let index = LocationIndex::build(&interpolated.text);
    let mut errors: Vec<ConfigError> = issues
        .into_iter()
        .map(|issue| {
            let location = index.find(&issue.path);
            let line = location.map(|location| location.line);
            ConfigError {
                origin: origin.to_owned(),
                location: location.map(|location| interpolated.original_location(location)),
                message: interpolated.scrub(&issue.message, line),
                path: interpolated.scrub(&issue.path, line),
            }
        })
        .collect();
    // Document order; errors without a location keep their relative order, last.
    errors.sort_by_key(|error| {
        error
            .location
            .map_or((usize::MAX, 0), |l| (l.line, l.column))
    });
    Err(ConfigErrors(errors))
}

impl Config {
    /// Checks a configuration built in code (loaded ones are already checked).
    /// Errors carry field paths but no origin or location.
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let errors: Vec<ConfigError> = validate::check(self)
            .into_iter()
            .map(|issue| ConfigError {
                origin: String::new(),
                path: issue.path,
                location: None,
                message: issue.message,
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// YAML parser options: budgets against alias bombs and deep nesting sized for a
/// configuration file, no source snippets in errors (they could show secrets).
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    let budget = serde_saphyr::budget! {
        max_depth: 32,
        max_documents: 1,
        max_nodes: 100_000,
        max_events: 250_000,
        max_aliases: 1_000,
        max_anchors: 1_000,
        max_merge_keys: 1_000,
        max_total_scalar_bytes: MAX_CONFIG_BYTES,
        max_recorded_anchor_events: 20_000,
        max_recorded_anchor_bytes: MAX_CONFIG_BYTES,
    };
    let alias_limits = serde_saphyr::alias_limits! {
        max_total_replayed_events: 20_000,
        max_replay_stack_depth: 16,
        max_alias_expansions_per_anchor: 1_000,
    };
    serde_saphyr::options! {
        budget: budget,
        alias_limits: alias_limits,
        strict_booleans: true,
        emit_comments: false,
        with_snippet: false,
    }
}

/// Deserialises the interpolated text, tracking the field path for the error.
fn parse(interpolated: &Interpolated, origin: &str) -> Result<Config, ConfigError> {
    let mut track = serde_path_to_error::Track::new();
    let result = serde_saphyr::with_deserializer_from_str_with_options(
        &interpolated.text,
        yaml_options(),
        |de| Config::deserialize(serde_path_to_error::Deserializer::new(de, &mut track)),
    );
    let error = match result {
        Ok(config) => return Ok(config),
        Err(error) => error,
    };
    let error = original_error(&error);
    let mut path = track.path().to_string();
    if path == "." {
        path.clear();
    }
    // An unknown segment (`?`) is a key the deserialiser had not identified yet.
    if let Some(parent) = path.strip_suffix(".?").or((path == "?").then_some("")) {
        path = match error {
            serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. }
                if parent.is_empty() =>
            {
                key.clone()
            }
            serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => {
                format!("{parent}.{key}")
            }
            _ => parent.to_owned(),
        };
    }
    let location = error.location().map(|location| Location {
        line: usize::try_from(location.line()).unwrap_or(usize::MAX),
        column: usize::try_from(location.column()).unwrap_or(usize::MAX),
    });
    let line = location.map(|location| location.line);
    let secret_on_line = line.is_some_and(|line| interpolated.line_has_env_value(line));
    let message = message(error, secret_on_line);
    Err(ConfigError {
        origin: origin.to_owned(),
        location: location.map(|location| interpolated.original_location(location)),
        message: interpolated.scrub(&message, line),
        path: interpolated.scrub(&path, line),
    })
}

/// The error itself, without alias or snippet wrappers.
fn original_error(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::AliasError { error: inner, .. }
    | serde_saphyr::Error::WithSnippet { error: inner, .. } = error
    {
        error = inner;
    }
    error
}

/// The text of a parse error, without location (reported separately). When an
/// environment value was inserted on the failing line, the offending value is left
/// out: it may be a fragment of a secret that no scrubbing would recognise.
fn message(error: &serde_saphyr::Error, secret_on_line: bool) -> String {
    use serde_saphyr::Error as E;
    let text: Cow<'_, str> = match error {
        E::SerdeUnknownField {
            field, expected, ..
        } => {
            let field = field.escape_debug();
            if expected.is_empty() {
                format!("unknown field \"{field}\"; this section takes no fields").into()
            } else {
                format!(
                    "unknown field \"{field}\"; expected one of: {}",
                    expected.join(", ")
                )
                .into()
            }
        }
        E::SerdeMissingField { field, .. } => format!("missing field `{field}`").into(),
        E::SerdeUnknownVariant {
            variant, expected, ..
        } => format!(
            "unknown value \"{}\"; expected one of: {}",
            variant.escape_debug(),
            expected.join(", ")
        )
        .into(),
        E::DuplicateMappingKey { .. } => "duplicate key".into(),
        E::Budget {
            breach: BudgetBreach::Documents { .. },
            ..
        } => "a configuration is a single YAML document; remove the `---` separator".into(),
        E::Budget { breach, .. } => {
            format!("YAML exceeds the parser's safety limits for a configuration ({breach:?})")
                .into()
        }
        E::InvalidScalar { ty, .. } => format!("expected a value of type {ty}").into(),
        E::SerdeInvalidType { expected, .. } | E::SerdeInvalidValue { expected, .. }
            if secret_on_line =>
        {
            format!("invalid value; expected {expected}").into()
        }
        _ if secret_on_line => {
            "invalid YAML on a line with an interpolated variable (details withheld: they \
             could show part of its value)"
                .into()
        }
        _ => DefaultMessageFormatter.format_message(error),
    };
    escape_controls(&text)
}

/// Escapes control characters: they would let a crafted file forge output lines.
fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads at most [`MAX_CONFIG_BYTES`] (+1, to detect larger files) as UTF-8.
fn read_capped(path: &Path) -> Result<String, String> {
    let file = File::open(path).map_err(|error| format!("cannot open: {error}"))?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_CONFIG_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|error| format!("cannot read: {error}"))?;
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "configuration is larger than {MAX_CONFIG_BYTES} bytes"
        ));
    }
    String::from_utf8(bytes).map_err(|_| "configuration is not valid UTF-8".to_owned())
}

/// Whether `text` holds nothing but blank lines, comments and document markers.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

fn single(origin: &str, message: String) -> ConfigErrors {
    ConfigErrors(vec![ConfigError {
        origin: origin.to_owned(),
        path: String::new(),
        location: None,
        message,
    }])
}
