use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("s3cr3t-token".into()),
        "EMPTY" => Some(String::new()),
        "ML" => Some("a\nb".into()),
        _ => None,
    }
}

fn ok(text: &str) -> Interpolated {
    match interpolate(text, &env) {
        Ok(out) => out,
        Err(problems) => panic!("{problems:?}"),
    }
}

fn problems(text: &str) -> Vec<Problem> {
    interpolate(text, &env).err().unwrap_or_default()
}

fn at(line: usize, column: usize) -> Location {
    Location { line, column }
}

#[test]
fn expands_variables_defaults_and_escapes() {
    let cases = [
        ("a: ${TOKEN}\n", "a: s3cr3t-token\n"),
        ("a: ${MISSING:-dflt}", "a: dflt"),
        ("a: ${EMPTY:-dflt}", "a: dflt"),
        ("a: ${EMPTY}", "a: "),
        ("a: ${MISSING:-}", "a: "),
        ("a: $${TOKEN}", "a: ${TOKEN}"),
        ("a: $HOME $ $$ x$", "a: $HOME $ $$ x$"),
        (
            "# ${MISSING}\n  # ${ALSO}\nb: 1",
            "# ${MISSING}\n  # ${ALSO}\nb: 1",
        ),
        ("a: ${MISSING:-x:-y}", "a: x:-y"),
    ];
    for (input, expected) in cases {
        assert_eq!(ok(input).text, expected, "{input:?}");
    }
}

#[test]
fn reports_every_problem_with_its_location() {
    let text = "a: ${NOPE}\nb: [${X}, ${TOKEN}, ${ALSO_NOPE:-ok}, ${AGAIN}]\nc: ${bad-name}\nd: ${OPEN\ne: ${ML}\nf: ${A:-${B}}";
    let found = problems(text);
    let expected = vec![
        (
            at(1, 4),
            "environment variable `NOPE` is not set (give a default with `${NOPE:-default}`)",
        ),
        (
            at(2, 5),
            "environment variable `X` is not set (give a default with `${X:-default}`)",
        ),
        (
            at(2, 39),
            "environment variable `AGAIN` is not set (give a default with `${AGAIN:-default}`)",
        ),
        (
            at(3, 4),
            "invalid variable reference `${bad-name}`: use `${NAME}` or `${NAME:-default}` with NAME made of A-Z, a-z, 0-9 and _",
        ),
        (
            at(4, 4),
            "unterminated `${`: close it with `}`, or write `$${` for a literal `${`",
        ),
        (
            at(5, 4),
            "environment variable `ML` contains a line break, which is not supported",
        ),
        (
            at(6, 4),
            "nested `${` in the default of `${A:-…}` is not supported",
        ),
    ];
    let found: Vec<(Location, &str)> = found.iter().map(|(l, m)| (*l, m.as_str())).collect();
    assert_eq!(found, expected);
}

#[test]
fn maps_columns_back_to_the_original_text() {
    // Original:     "x: ${TOKEN} é ${MISSING:-1} $${ y"
    // Interpolated: "x: s3cr3t-token é 1 ${ y"
    let out = ok("x: ${TOKEN} é ${MISSING:-1} $${ y");
    assert_eq!(out.text, "x: s3cr3t-token é 1 ${ y");
    let map = |column| out.original_location(at(1, column)).column;
    assert_eq!(map(1), 1);
    assert_eq!(map(4), 4, "start of the inserted value");
    assert_eq!(map(10), 4, "inside the inserted value");
    assert_eq!(map(17), 13, "the é after it");
    assert_eq!(map(19), 15, "the default value");
    assert_eq!(map(21), 29, "the escaped $${{");
    assert_eq!(map(24), 33, "the y");
    assert_eq!(
        out.original_location(at(2, 5)),
        at(2, 5),
        "other lines untouched"
    );
    assert!(out.line_has_env_value(1));
    assert!(!out.line_has_env_value(2));
}

#[test]
fn scrubs_environment_values_only() {
    let out = ok("a: ${TOKEN}\nb: ${MISSING:-visible-default}");
    let message = "bad s3cr3t-token and visible-default; token";
    let expected = "bad <redacted> and visible-default; token";
    assert_eq!(out.scrub(message, None), expected);
    assert_eq!(out.scrub(message, Some(2)), expected);
    assert_eq!(
        out.scrub("pieces: s3cr3t, token", Some(1)),
        "pieces: <redacted>, <redacted>",
        "fragments are scrubbed on the line of the value"
    );
    assert_eq!(
        out.scrub("pieces: s3cr3t, token", Some(2)),
        "pieces: s3cr3t, token"
    );
}
