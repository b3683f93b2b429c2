//! Arbitrary JSON (tool arguments) → Cedar values, within bounds.
//!
//! | JSON | Cedar |
//! |---|---|
//! | object | record (members whose value is `null` are left out, so `has` is false) |
//! | array | set (`null` elements left out; order and duplicates are lost) |
//! | string | string |
//! | integer in i64 | Long |
//! | other number with ≤ 4 decimals, |x| < 9.2e14 | `decimal` |
//! | any other number | its decimal text as a string (comparisons on it error → deny) |
//! | bool | bool |
//!
//! Exceeding a bound is an error, never a truncation: a truncated argument could hide
//! exactly the part a policy looks at.

use cedar_policy::RestrictedExpression;
use serde_json::{Map, Number, Value};
use thiserror::Error;

/// Bounds on the conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueLimits {
    /// Deepest nesting (the arguments object itself is depth 1).
    pub max_depth: usize,
    /// Most JSON values in total.
    pub max_values: usize,
    /// Longest string (or object key), in bytes.
    pub max_string_bytes: usize,
}

/// Why arguments could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    /// Nested deeper than `max_depth`.
    #[error("arguments are nested deeper than {0} levels")]
    TooDeep(usize),
    /// More than `max_values` values.
    #[error("arguments have more than {0} values")]
    TooMany(usize),
    /// A string or key longer than `max_string_bytes`.
    #[error("an argument string is longer than {0} bytes")]
    StringTooLong(usize),
}

/// Converts `value`; `None` for `null`.
pub fn to_cedar(
    value: &Value,
    limits: &ValueLimits,
) -> Result<Option<RestrictedExpression>, ValueError> {
    let mut budget = limits.max_values;
    convert(value, limits, 1, &mut budget)
}

/// Converts a JSON object to a Cedar record (a non-object becomes `{}`).
pub fn record(
    value: Option<&Value>,
    limits: &ValueLimits,
) -> Result<RestrictedExpression, ValueError> {
    let mut budget = limits.max_values;
    match value {
        Some(Value::Object(m)) => convert_object(m, limits, 1, &mut budget),
        _ => Ok(empty_record()),
    }
}

/// Converts only the top-level fields of a JSON object for which `keep` is true (a
/// non-object becomes `{}`). The bounds are checked on the whole object, in the same order
/// and with the same errors as [`record`], so leaving fields out never admits arguments
/// that [`record`] refuses.
pub(crate) fn record_where(
    value: Option<&Value>,
    limits: &ValueLimits,
    keep: impl Fn(&str) -> bool,
) -> Result<RestrictedExpression, ValueError> {
    let mut budget = limits.max_values;
    match value {
        Some(Value::Object(m)) => convert_fields(m, limits, 1, &mut budget, keep),
        _ => Ok(empty_record()),
    }
}

pub(crate) fn empty_record() -> RestrictedExpression {
    RestrictedExpression::new_record(std::iter::empty::<(String, RestrictedExpression)>())
        .unwrap_or_else(|_| RestrictedExpression::new_bool(false))
}

fn convert(
    value: &Value,
    limits: &ValueLimits,
    depth: usize,
    budget: &mut usize,
) -> Result<Option<RestrictedExpression>, ValueError> {
    if depth > limits.max_depth {
        return Err(ValueError::TooDeep(limits.max_depth));
    }
    *budget = budget
        .checked_sub(1)
        .ok_or(ValueError::TooMany(limits.max_values))?;
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => RestrictedExpression::new_bool(*b),
        Value::Number(n) => number(n),
        Value::String(s) => {
            check_len(s, limits)?;
            RestrictedExpression::new_string(s.clone())
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len().min(*budget));
            for item in items {
                if let Some(v) = convert(item, limits, depth + 1, budget)? {
                    out.push(v);
                }
            }
            RestrictedExpression::new_set(out)
        }
        Value::Object(m) => convert_object(m, limits, depth, budget)?,
    }))
}

fn convert_object(
    m: &Map<String, Value>,
    limits: &ValueLimits,
    depth: usize,
    budget: &mut usize,
) -> Result<RestrictedExpression, ValueError> {
    convert_fields(m, limits, depth, budget, |_| true)
}

/// The record of the fields `keep` selects; the others are only checked.
fn convert_fields(
    m: &Map<String, Value>,
    limits: &ValueLimits,
    depth: usize,
    budget: &mut usize,
    keep: impl Fn(&str) -> bool,
) -> Result<RestrictedExpression, ValueError> {
    let mut fields = Vec::with_capacity(m.len().min(*budget));
    for (k, v) in m {
        check_len(k, limits)?;
        if !keep(k) {
            check(v, limits, depth + 1, budget)?;
        } else if let Some(v) = convert(v, limits, depth + 1, budget)? {
            fields.push((k.clone(), v));
        }
    }
    // JSON object keys are unique after parsing, so this cannot fail.
    Ok(RestrictedExpression::new_record(fields).unwrap_or_else(|_| empty_record()))
}

/// The bounds [`convert`] enforces, in its order, without converting.
fn check(
    value: &Value,
    limits: &ValueLimits,
    depth: usize,
    budget: &mut usize,
) -> Result<(), ValueError> {
    if depth > limits.max_depth {
        return Err(ValueError::TooDeep(limits.max_depth));
    }
    *budget = budget
        .checked_sub(1)
        .ok_or(ValueError::TooMany(limits.max_values))?;
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        Value::String(s) => check_len(s, limits),
        Value::Array(items) => (items.iter()).try_for_each(|v| check(v, limits, depth + 1, budget)),
        Value::Object(m) => m.iter().try_for_each(|(k, v)| {
            check_len(k, limits)?;
            check(v, limits, depth + 1, budget)
        }),
    }
}

fn check_len(s: &str, limits: &ValueLimits) -> Result<(), ValueError> {
    if s.len() > limits.max_string_bytes {
        Err(ValueError::StringTooLong(limits.max_string_bytes))
    } else {
        Ok(())
    }
}

fn number(n: &Number) -> RestrictedExpression {
    if let Some(i) = n.as_i64() {
        return RestrictedExpression::new_long(i);
    }
    let text = n.to_string();
    if let Some(dec) = as_decimal(&text) {
        return RestrictedExpression::new_decimal(dec);
    }
    RestrictedExpression::new_string(text)
}

/// `text` as Cedar decimal syntax (`-12.5`, always with a point), when it has at most four
/// decimals and fits.
fn as_decimal(text: &str) -> Option<String> {
    if text.contains(['e', 'E']) {
        return None;
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, "0"));
    let digits = int.trim_start_matches('-');
    if frac.len() > 4 || digits.len() > 15 || digits.is_empty() {
        return None;
    }
    Some(format!("{int}.{frac}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const L: ValueLimits = ValueLimits {
        max_depth: 4,
        max_values: 20,
        max_string_bytes: 8,
    };

    #[test]
    fn decimals() {
        assert_eq!(as_decimal("12.5").as_deref(), Some("12.5"));
        assert_eq!(as_decimal("-0.0001").as_deref(), Some("-0.0001"));
        assert_eq!(as_decimal("1.23456"), None);
        assert_eq!(as_decimal("1e300"), None);
        assert_eq!(as_decimal("18446744073709551615"), None);
    }

    #[test]
    fn bounds_are_errors() {
        let deep = json!({"a":{"b":{"c":{"d":1}}}});
        assert_eq!(record(Some(&deep), &L).err(), Some(ValueError::TooDeep(4)));
        let many = json!({"a": (0..30).collect::<Vec<_>>()});
        assert_eq!(record(Some(&many), &L).err(), Some(ValueError::TooMany(20)));
        let long = json!({"a": "123456789"});
        assert_eq!(
            record(Some(&long), &L).err(),
            Some(ValueError::StringTooLong(8))
        );
        let long_key = json!({"123456789": 1});
        assert_eq!(
            record(Some(&long_key), &L).err(),
            Some(ValueError::StringTooLong(8))
        );
        assert!(
            record(
                Some(&json!({"a":{"b":{"c":1}}, "n": null, "s":[1,null,"x"]})),
                &L
            )
            .is_ok()
        );
        assert!(to_cedar(&json!(null), &L).unwrap().is_none());
        assert!(record(Some(&json!([1])), &L).is_ok());
    }

    /// Leaving fields out changes neither whether the bounds are met nor which error is
    /// reported, whichever fields are kept.
    #[test]
    fn a_partial_record_is_bounded_like_the_whole() {
        let cases = [
            json!({"a":{"b":{"c":{"d":1}}}}),
            json!({"p": "x", "a": (0..30).collect::<Vec<_>>()}),
            json!({"p": 1, "a": [null, [[["deep"]]]]}),
            json!({"a": "123456789", "b": {"c":{"d":{"e":1}}}}),
            json!({"b": {"c":{"d":{"e":1}}}, "a": "123456789"}),
            json!({"p": "x", "123456789": 1}),
            json!({"p": null, "n": [null, null], "m": {"k": null}}),
            json!({"p": "ok", "q": {"r": [1, 2.5, true, "s"]}}),
            json!({"p": (0..19).collect::<Vec<_>>()}),
            json!({"p": (0..18).collect::<Vec<_>>(), "q": 1}),
            json!([1]),
        ];
        let keeps: [fn(&str) -> bool; 4] = [|_| true, |_| false, |k| k == "p", |k| k != "p"];
        for case in &cases {
            let whole = record(Some(case), &L).err();
            for keep in keeps {
                assert_eq!(record_where(Some(case), &L, keep).err(), whole, "{case}");
            }
        }
        let all = record(Some(&cases[7]), &L).unwrap();
        let kept = record_where(Some(&cases[7]), &L, |_| true).unwrap();
        assert_eq!(format!("{all:?}"), format!("{kept:?}"));
        let p = record_where(Some(&cases[7]), &L, |k| k == "p").unwrap();
        assert_eq!(
            format!("{p:?}"),
            format!("{:?}", record(Some(&json!({"p": "ok"})), &L).unwrap())
        );
    }
}
