//! Walking JSON string leaves with their JSON pointers (RFC 6901).

use serde_json::Value;

/// Deepest nesting walked; deeper values are skipped (the pipeline bounds depth at parse time).
const MAX_DEPTH: usize = 64;

/// Call `f(pointer, text)` for every string leaf of `value`.
pub fn for_each_string<'v>(value: &'v Value, f: &mut dyn FnMut(&str, &'v str)) {
    let mut path = String::new();
    walk(value, &mut path, 0, f);
}

fn walk<'v>(value: &'v Value, path: &mut String, depth: usize, f: &mut dyn FnMut(&str, &'v str)) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(s) => f(path, s),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                walk(v, path, depth + 1, f);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                let len = path.len();
                path.push('/');
                push_escaped(path, k);
                walk(v, path, depth + 1, f);
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Append a pointer token, escaping `~` and `/`.
pub(crate) fn push_escaped(path: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            other => path.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_escaped() {
        let v = serde_json::json!({"a/b": ["x", {"c~d": "y"}], "n": 1});
        let mut seen = Vec::new();
        for_each_string(&v, &mut |p, s| seen.push((p.to_owned(), s.to_owned())));
        assert_eq!(
            seen,
            [
                ("/a~1b/0".to_owned(), "x".to_owned()),
                ("/a~1b/1/c~0d".to_owned(), "y".to_owned())
            ]
        );
        assert_eq!(v.pointer("/a~1b/1/c~0d").and_then(Value::as_str), Some("y"));
    }
}
