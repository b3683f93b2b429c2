//! Choosing among `*` patterns that match a name.

use sallyport_pipeline::glob::glob_match;

/// The value of the most specific pattern that matches `name`: the one with the most literal
/// (non-`*`) characters; on a tie, the first in `patterns`' order.
pub(crate) fn most_specific<'p, T>(patterns: &'p [(String, T)], name: &str) -> Option<&'p T> {
    let mut best: Option<(usize, &T)> = None;
    for (pattern, value) in patterns {
        if !glob_match(pattern, name) {
            continue;
        }
        let literal = pattern.bytes().filter(|&b| b != b'*').count();
        if best.is_none_or(|(score, _)| literal > score) {
            best = Some((literal, value));
        }
    }
    best.map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::most_specific;

    #[test]
    fn literal_beats_wildcard_and_ties_keep_order() {
        let patterns = vec![
            ("*".to_string(), 1),
            ("docker_*".to_string(), 2),
            ("docker_build".to_string(), 3),
            ("*_build".to_string(), 4),
        ];
        assert_eq!(most_specific(&patterns, "docker_build"), Some(&3));
        assert_eq!(most_specific(&patterns, "docker_run"), Some(&2));
        assert_eq!(most_specific(&patterns, "ls"), Some(&1));
        assert_eq!(most_specific(&patterns[1..2], "ls"), None);
        let tie = vec![("a*".to_string(), 1), ("*a".to_string(), 2)];
        assert_eq!(most_specific(&tie, "aa"), Some(&1));
    }
}
