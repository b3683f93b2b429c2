//! Name globs: `*` matches any run of characters (also none); ASCII case is ignored.
//! No other character is special.
//!
//! Every distinct pattern list of the loaded rules (a selector's `tool:` or `server:`) is
//! numbered in a [`GlobMemo`], which remembers, per name seen, which lists match it: an
//! event's tool name is then matched against every rule with one hash lookup, and each
//! selector's check is one bit test.

use std::collections::HashMap;

use crate::key::FxBuildHasher;

/// Names remembered per memo; when full it starts over.
const MEMO_NAMES: usize = 4_096;
/// Longer names are matched every time rather than remembered.
const MEMO_NAME_BYTES: usize = 256;

/// The pattern lists of one field (tool or server) and the names seen.
#[derive(Debug, Default)]
pub(crate) struct GlobMemo {
    sets: Vec<Box<[Glob]>>,
    /// Set ids by their patterns, lower-cased.
    ids: HashMap<Vec<String>, u32, FxBuildHasher>,
    /// Per name: one bit per set, set if one of its patterns matches.
    seen: HashMap<Box<str>, Box<[u64]>, FxBuildHasher>,
    scratch: Vec<u64>,
}

impl GlobMemo {
    /// The id of the pattern list `patterns` (any of them matching), numbered if new.
    /// Call before any [`matches`](Self::matches).
    pub(crate) fn intern(&mut self, patterns: &[Box<str>]) -> u32 {
        let lower: Vec<String> = patterns.iter().map(|p| p.to_ascii_lowercase()).collect();
        if let Some(&id) = self.ids.get(&lower) {
            return id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(lower.iter().map(|p| Glob::new(p)).collect());
        self.ids.insert(lower, id);
        self.scratch = vec![0; self.sets.len().div_ceil(64)];
        self.seen.clear();
        id
    }

    /// Which sets match `name`, as bits by set id.
    pub(crate) fn matches(&mut self, name: &str) -> &[u64] {
        if let Some(bits) = self.seen.get(name) {
            self.scratch.copy_from_slice(bits);
            return &self.scratch;
        }
        self.scratch.fill(0);
        for (id, set) in self.sets.iter().enumerate() {
            if set.iter().any(|glob| glob.matches(name)) {
                self.scratch[id / 64] |= 1 << (id % 64);
            }
        }
        if name.len() <= MEMO_NAME_BYTES {
            if self.seen.len() >= MEMO_NAMES {
                self.seen.clear();
            }
            self.seen
                .insert(name.into(), self.scratch.clone().into_boxed_slice());
        }
        &self.scratch
    }
}

/// Whether set `id`'s bit is set in `bits`.
#[inline]
pub(crate) fn has_bit(bits: &[u64], id: u32) -> bool {
    bits.get(id as usize / 64)
        .is_some_and(|word| word & (1 << (id % 64)) != 0)
}

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Glob {
    /// `*`: anything.
    Any,
    /// No `*`: the whole name.
    Exact(Box<[u8]>),
    /// `*text*`: the name contains `text`.
    Contains(Box<[u8]>),
    /// Anything else: the literal runs between the stars, in order.
    Parts {
        /// The literal runs (the first and last may be empty).
        parts: Box<[Box<[u8]>]>,
    },
}

impl Glob {
    /// Compiles `pattern` (lower-cased once here, so matching only folds the name).
    pub(crate) fn new(pattern: &str) -> Self {
        let lower = pattern.to_ascii_lowercase();
        if !lower.contains('*') {
            return Self::Exact(lower.into_bytes().into_boxed_slice());
        }
        if lower.bytes().all(|b| b == b'*') {
            return Self::Any;
        }
        let parts: Vec<Box<[u8]>> = lower
            .split('*')
            .map(|part| part.as_bytes().to_vec().into_boxed_slice())
            .collect();
        let inner_stars = lower.trim_matches('*').contains('*');
        if !inner_stars && lower.starts_with('*') && lower.ends_with('*') {
            let text = lower
                .trim_matches('*')
                .as_bytes()
                .to_vec()
                .into_boxed_slice();
            return Self::Contains(text);
        }
        Self::Parts {
            parts: parts.into_boxed_slice(),
        }
    }

    /// Whether `name` matches.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let name = name.as_bytes();
        match self {
            Self::Any => true,
            Self::Exact(text) => name.eq_ignore_ascii_case(text),
            Self::Contains(text) => find(name, text).is_some(),
            Self::Parts { parts } => matches_parts(name, parts),
        }
    }
}

/// `parts` came from splitting on `*`, so there are at least two: the first must start the
/// name, the last must end it, and the middle ones must appear in order in between.
fn matches_parts(name: &[u8], parts: &[Box<[u8]>]) -> bool {
    let (Some((first, rest)), Some(last)) = (parts.split_first(), parts.last()) else {
        return false;
    };
    let Some(middle) = rest.split_last().map(|(_, middle)| middle) else {
        return name.eq_ignore_ascii_case(first);
    };
    if name.len() < first.len() + last.len() {
        return false;
    }
    let (head, tail) = (&name[..first.len()], &name[name.len() - last.len()..]);
    if !head.eq_ignore_ascii_case(first) || !tail.eq_ignore_ascii_case(last) {
        return false;
    }
    let mut window = &name[first.len()..name.len() - last.len()];
    for part in middle {
        match find(window, part) {
            Some(at) => window = &window[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Position of `needle` (lower case) in `haystack`, ignoring ASCII case.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let Some(&first) = needle.first() else {
        return Some(0);
    };
    if haystack.len() < needle.len() {
        return None;
    }
    (0..=haystack.len() - needle.len()).find(|&at| {
        haystack[at].to_ascii_lowercase() == first
            && haystack[at..at + needle.len()].eq_ignore_ascii_case(needle)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_numbers_sets_once_and_remembers_names() {
        let mut memo = GlobMemo::default();
        let egress = memo.intern(&["*HTTP*".into(), "send_*".into()]);
        let send = memo.intern(&["send_*".into()]);
        assert_eq!(memo.intern(&["*http*".into(), "send_*".into()]), egress);
        assert_ne!(egress, send);
        for _ in 0..2 {
            let bits = memo.matches("fetch_http").to_vec();
            assert!(has_bit(&bits, egress) && !has_bit(&bits, send));
            let bits = memo.matches("send_mail").to_vec();
            assert!(has_bit(&bits, egress) && has_bit(&bits, send));
            let bits = memo.matches("read_file").to_vec();
            assert!(!has_bit(&bits, egress) && !has_bit(&bits, send));
        }
        assert_eq!(memo.seen.len(), 3);
    }

    #[test]
    fn exact_and_any() {
        assert!(Glob::new("read_file").matches("read_file"));
        assert!(Glob::new("read_file").matches("Read_File"));
        assert!(!Glob::new("read_file").matches("read_files"));
        assert!(Glob::new("*").matches(""));
        assert!(Glob::new("**").matches("anything"));
    }

    #[test]
    fn contains() {
        let glob = Glob::new("*http*");
        assert!(glob.matches("http_get"));
        assert!(glob.matches("send_HTTP_request"));
        assert!(glob.matches("http"));
        assert!(!glob.matches("htt"));
    }

    #[test]
    fn prefix_suffix_and_middle() {
        assert!(Glob::new("github_*").matches("github_create_issue"));
        assert!(!Glob::new("github_*").matches("gitlab_create_issue"));
        assert!(Glob::new("*_post").matches("slack_post"));
        assert!(!Glob::new("*_post").matches("postgres_query"));
        let glob = Glob::new("a*b*c");
        assert!(glob.matches("abc"));
        assert!(glob.matches("axxbyyc"));
        assert!(!glob.matches("acb"));
        // The suffix must not overlap the prefix.
        assert!(!Glob::new("ab*ba").matches("aba"));
        assert!(Glob::new("*a*b").matches("xxab"));
        assert!(!Glob::new("*a*b").matches("xxba"));
    }
}
