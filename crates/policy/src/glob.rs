//! The `*` wildcard of tool and server patterns. Linear in practice, no allocation.

/// Whether `text` matches `pattern`, where `*` matches any run of characters (including
/// none) and every other character matches itself.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.as_bytes(), text.as_bytes());
    let (mut p, mut t) = (0, 0);
    // Position of the last `*` seen and the text position it was tried against.
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, star_t)) => {
                    backtrack = Some((star, star_t + 1));
                    p = star + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn wildcard_cases() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("docker_*", "docker_run", true),
            ("docker_*", "docker_", true),
            ("docker_*", "dockerrun", false),
            ("*_file", "write_file", true),
            ("*_file", "write_files", false),
            ("s3_*_file", "s3_upload_file", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("", "", true),
            ("", "x", false),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(glob_match(pattern, text), expected, "{pattern} ~ {text}");
        }
    }
}
