//! `${VAR}` / `${VAR:-default}` interpolation on the raw text, before YAML parsing.
//!
//! Line numbers are preserved (values with line breaks are rejected), columns are
//! mapped back to the original text, and every value taken from the environment is
//! remembered so that error messages can be scrubbed of it.

use crate::error::Location;

/// Environment values shorter than this are not scrubbed from messages: they cannot
/// be meaningful secrets, and replacing them would mangle ordinary words.
const MIN_SCRUBBED_LEN: usize = 4;

/// The text after interpolation, plus what is needed to report errors against the
/// original text.
#[derive(Debug, Default)]
pub(crate) struct Interpolated {
    /// The interpolated text handed to the YAML parser.
    pub(crate) text: String,
    /// Every replacement made, in text order.
    replacements: Vec<Replacement>,
    /// Values taken from the environment, longest first.
    secrets: Vec<String>,
    /// Alphanumeric runs of those values, longest first: what survives of a value
    /// that YAML syntax or a hint split into pieces.
    fragments: Vec<String>,
}

/// One `${…}` (or `$${`) replaced on one line; columns are 1-based characters.
#[derive(Debug)]
struct Replacement {
    line: usize,
    /// Column of the replacement in the interpolated text.
    out_column: usize,
    out_chars: usize,
    /// Column of the placeholder in the original text.
    in_column: usize,
    in_chars: usize,
    /// Whether the inserted text came from the environment.
    from_env: bool,
}

/// An interpolation problem at a location of the original text.
pub(crate) type Problem = (Location, String);

/// Interpolates `text`, looking variables up with `env`. Lines whose first non-blank
/// character is `#` (YAML comments) are left alone. Collects every problem.
pub(crate) fn interpolate(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, Vec<Problem>> {
    let mut out = Interpolated {
        text: String::with_capacity(text.len()),
        ..Interpolated::default()
    };
    let mut problems = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with('#') || !line.contains('$') {
            out.text.push_str(line);
            continue;
        }
        interpolate_line(line, index + 1, env, &mut out, &mut problems);
    }
    out.fragments = out
        .secrets
        .iter()
        .flat_map(|secret| secret.split(|c: char| !c.is_alphanumeric()))
        .filter(|fragment| fragment.len() >= MIN_SCRUBBED_LEN)
        .map(str::to_owned)
        .collect();
    for list in [&mut out.secrets, &mut out.fragments] {
        list.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        list.dedup();
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn interpolate_line(
    line: &str,
    line_no: usize,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut Interpolated,
    problems: &mut Vec<Problem>,
) {
    let (mut in_column, mut out_column) = (1, 1);
    let mut rest = line;
    while let Some(dollar) = rest.find('$') {
        let before = &rest[..dollar];
        out.text.push_str(before);
        let before_chars = before.chars().count();
        in_column += before_chars;
        out_column += before_chars;
        let after = &rest[dollar..];
        let location = Location {
            line: line_no,
            column: in_column,
        };
        let (consumed, inserted, from_env) = if after.starts_with("$${") {
            (3, Some("${".to_owned()), false)
        } else if let Some(body) = after.strip_prefix("${") {
            match expand(body, env) {
                Ok((len, value, from_env)) => (len + 2, Some(value), from_env),
                Err(message) => {
                    problems.push((location, message));
                    // Skip the placeholder (or the rest of the line if unterminated).
                    (
                        body.find('}').map_or(after.len(), |end| end + 3),
                        None,
                        false,
                    )
                }
            }
        } else {
            (1, Some("$".to_owned()), false)
        };
        let placeholder = &after[..consumed];
        let in_chars = placeholder.chars().count();
        let inserted = inserted.unwrap_or_default();
        let out_chars = inserted.chars().count();
        if placeholder != inserted {
            out.replacements.push(Replacement {
                line: line_no,
                out_column,
                out_chars,
                in_column,
                in_chars,
                from_env,
            });
        }
        if from_env && inserted.len() >= MIN_SCRUBBED_LEN {
            out.secrets.push(inserted.clone());
        }
        out.text.push_str(&inserted);
        in_column += in_chars;
        out_column += out_chars;
        rest = &after[consumed..];
    }
    out.text.push_str(rest);
}

/// Expands the body of `${…}` (the text after `${`). Returns the number of bytes of
/// `body` consumed (including the closing `}`), the value, and whether it came from
/// the environment.
fn expand(
    body: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(usize, String, bool), String> {
    let Some(end) = body
        .find(['}', '\n', '\r'])
        .filter(|&end| body[end..].starts_with('}'))
    else {
        return Err(
            "unterminated `${`: close it with `}`, or write `$${` for a literal `${`".to_owned(),
        );
    };
    let inner = &body[..end];
    let (name, default) = match inner.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (inner, None),
    };
    if default.is_some_and(|default| default.contains("${")) {
        return Err(format!(
            "nested `${{` in the default of `${{{name}:-…}}` is not supported"
        ));
    }
    if !is_var_name(name) {
        return Err(format!(
            "invalid variable reference `${{{inner}}}`: use `${{NAME}}` or \
             `${{NAME:-default}}` with NAME made of A-Z, a-z, 0-9 and _"
        ));
    }
    let value = env(name).filter(|value| default.is_none() || !value.is_empty());
    match (value, default) {
        (Some(value), _) if value.contains(['\n', '\r']) => Err(format!(
            "environment variable `{name}` contains a line break, which is not supported"
        )),
        (Some(value), _) => Ok((end + 1, value, true)),
        (None, Some(default)) => Ok((end + 1, default.to_owned(), false)),
        (None, None) => Err(format!(
            "environment variable `{name}` is not set (give a default with `${{{name}:-default}}`)"
        )),
    }
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

impl Interpolated {
    /// Maps a location in the interpolated text back to the original text. A
    /// location inside an inserted value points at its placeholder.
    pub(crate) fn original_location(&self, location: Location) -> Location {
        let mut column = location.column;
        for r in self.replacements.iter().filter(|r| r.line == location.line) {
            if location.column < r.out_column {
                break;
            }
            if location.column < r.out_column + r.out_chars {
                column = r.in_column;
                break;
            }
            column = column + r.in_chars - r.out_chars;
        }
        Location { column, ..location }
    }

    /// Whether an environment value was inserted on this line.
    pub(crate) fn line_has_env_value(&self, line: usize) -> bool {
        self.replacements
            .iter()
            .any(|r| r.line == line && r.from_env)
    }

    /// Replaces every environment value in `message` with `<redacted>`. For an
    /// error on a `line` where a value was inserted, fragments of values are
    /// replaced too, since the message may quote a piece of one.
    pub(crate) fn scrub(&self, message: &str, line: Option<usize>) -> String {
        let thorough = line.is_some_and(|line| self.line_has_env_value(line));
        let fragments = if thorough { &self.fragments[..] } else { &[] };
        self.secrets
            .iter()
            .chain(fragments)
            .fold(message.to_owned(), |message, secret| {
                message.replace(secret.as_str(), crate::secret::REDACTED)
            })
    }
}

#[cfg(test)]
mod tests;
