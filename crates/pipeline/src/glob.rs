//! The `*` wildcard of tool and server patterns (tool filters, policy rules). Linear in
//! practice, no allocation.

/// Whether `text` matches `pattern`, where `*` matches any run of characters
/// (including none) and every other character matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
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
                // Let the last `*` swallow one more byte and retry.
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
            ("get_*", "get_time", true),
            ("get_*", "get_", true),
            ("get_*", "set_time", false),
            ("*", "", true),
            ("*", "anything", true),
            ("", "", true),
            ("", "x", false),
            ("exact", "exact", true),
            ("docker_*", "docker_run", true),
            ("docker_*", "docker_", true),
            ("docker_*", "dockerrun", false),
            ("*_file", "write_file", true),
            ("*_file", "write_files", false),
            ("s3_*_file", "s3_upload_file", true),
            ("exact", "exact2", false),
            ("*_time", "get_time", true),
            ("*_time", "get_time_zone", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("a**c", "abc", true),
            ("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
            ("é*", "été", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                glob_match(pattern, text),
                expected,
                "{pattern:?} vs {text:?}"
            );
        }
    }
}
