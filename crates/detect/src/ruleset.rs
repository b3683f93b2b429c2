//! Tier-1 rule engine: one Aho-Corasick automaton over every rule's literal keywords, then
//! each rule's regex only when one of its keywords occurs. This is what keeps scans fast.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::Regex;

use crate::finding::{Class, Finding, Severity};

/// Bytes of context a rule's regex sees on each side of a keyword hit.
const MARGIN: usize = 512;
/// The same for rules whose matches can be long (PEM blocks).
const LONG_MARGIN: usize = 16 * 1024;
const LONG_RULES: &[&str] = &["secret.private_key"];

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A rule as written in a table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleSpec {
    /// Stable id.
    pub id: &'static str,
    /// Threat class.
    pub class: Class,
    /// Severity when it matches.
    pub severity: Severity,
    /// Score when it matches.
    pub score: f32,
    /// Literal keywords (matched ASCII-case-insensitively); the regex runs only after one hits.
    pub keywords: &'static [&'static str],
    /// The confirming regex.
    pub pattern: &'static str,
}

/// One confirmed match.
#[derive(Debug, Clone)]
pub(crate) struct RuleMatch<'r> {
    pub rule: &'r RuleSpec,
    /// The first capture group when the regex has one, else the whole match.
    pub value: std::ops::Range<usize>,
}

/// A compiled rule table.
#[derive(Debug)]
pub(crate) struct RuleSet {
    specs: &'static [RuleSpec],
    regexes: Vec<Regex>,
    prefilter: AhoCorasick,
    /// The same keywords as one regex (ASCII case-insensitive alternation): its lazy DFA
    /// passes over clean text faster than the automaton, so it locates keywords and the
    /// automaton's overlapping search runs only around what it finds.
    gate: Regex,
    /// Longest keyword, in bytes.
    longest: usize,
    /// The distinct keywords, lowercase.
    keywords: Vec<String>,
    /// For each distinct keyword, the rules it triggers.
    keyword_rules: Vec<Vec<usize>>,
}

impl RuleSet {
    /// Compile a table. Tables are static and covered by tests, so a bad pattern is a bug.
    pub(crate) fn new(specs: &'static [RuleSpec]) -> Self {
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            for kw in spec.keywords {
                let kw = kw.to_ascii_lowercase();
                if let Some(pos) = keywords.iter().position(|k| *k == kw) {
                    keyword_rules[pos].push(i);
                } else {
                    keywords.push(kw);
                    keyword_rules.push(vec![i]);
                }
            }
        }
        let longest = keywords.iter().map(String::len).max().unwrap_or(0);
        let gate = keyword_gate(&keywords);
        let prefilter = keyword_automaton(&keywords);
        let regexes = specs
            .iter()
            .map(|s| {
                Regex::new(&ascii_boundaries(s.pattern))
                    .unwrap_or_else(|e| panic!("invariant: rule {} compiles: {e}", s.id))
            })
            .collect();
        Self {
            specs,
            regexes,
            prefilter,
            gate,
            longest,
            keywords,
            keyword_rules,
        }
    }

    /// The distinct keywords (lowercase); a keyword hit's index is its position here.
    pub(crate) fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// Which rules have a keyword in `text`, and where: per rule, merged byte windows around
    /// its keyword hits (empty when the rule was not triggered).
    pub(crate) fn triggered(&self, text: &str) -> Vec<Vec<std::ops::Range<usize>>> {
        self.windows(
            text,
            &keyword_hits(&self.gate, &self.prefilter, self.longest, text),
        )
    }

    /// Per rule, the merged windows around the given keyword hits (`(start, end, keyword)`,
    /// ordered by end, as [`keyword_hits`] reports them).
    pub(crate) fn windows(
        &self,
        text: &str,
        hits: &[(usize, usize, usize)],
    ) -> Vec<Vec<std::ops::Range<usize>>> {
        let mut hit: Vec<Vec<std::ops::Range<usize>>> = vec![Vec::new(); self.specs.len()];
        for &(start, end, pattern) in hits {
            for &r in &self.keyword_rules[pattern] {
                let margin = if LONG_RULES.contains(&self.specs[r].id) {
                    LONG_MARGIN
                } else {
                    MARGIN
                };
                let lo = floor_boundary(text, start.saturating_sub(margin));
                let hi = ceil_boundary(text, (end + margin).min(text.len()));
                match hit[r].last_mut() {
                    Some(last) if lo <= last.end => last.end = last.end.max(hi),
                    _ => hit[r].push(lo..hi),
                }
            }
        }
        hit
    }

    /// Every confirmed match in `text`, rule by rule. Each triggered rule's regex runs only on
    /// the windows around its keyword hits, so cost follows the hits, not the text length.
    pub(crate) fn matches<'s>(&'s self, text: &str) -> Vec<RuleMatch<'s>> {
        self.matches_in(text, &self.triggered(text))
    }

    /// The confirmed matches within per-rule windows (from [`RuleSet::windows`]).
    pub(crate) fn matches_in<'s>(
        &'s self,
        text: &str,
        hit: &[Vec<std::ops::Range<usize>>],
    ) -> Vec<RuleMatch<'s>> {
        let mut out = Vec::new();
        for (i, windows) in hit.iter().enumerate() {
            for w in windows {
                let slice = &text[w.clone()];
                if self.regexes[i].captures_len() == 1 {
                    for m in self.regexes[i].find_iter(slice) {
                        out.push(RuleMatch {
                            rule: &self.specs[i],
                            value: m.start() + w.start..m.end() + w.start,
                        });
                    }
                } else {
                    for caps in self.regexes[i].captures_iter(slice) {
                        let Some(whole) = caps.get(0) else { continue };
                        let value = caps.get(1).map_or(whole.range(), |g| g.range());
                        out.push(RuleMatch {
                            rule: &self.specs[i],
                            value: value.start + w.start..value.end + w.start,
                        });
                    }
                }
                if out.len() >= 256 {
                    return out;
                }
            }
        }
        out
    }

    /// The rule table.
    pub(crate) fn specs(&self) -> &'static [RuleSpec] {
        self.specs
    }
}

/// Every keyword occurrence in `text` as `(start, end, keyword)`, ordered by end, exactly
/// what an overlapping search of the whole text reports, for the cost of one non-overlapping
/// pass of `gate` (the keywords of `prefilter` as one regex; `longest` is the longest, in
/// bytes): a leftmost-first search misses only occurrences that start inside one of its
/// matches, so an overlapping search within a keyword's length of each match end finds them.
pub(crate) fn keyword_hits(
    gate: &Regex,
    prefilter: &AhoCorasick,
    longest: usize,
    text: &str,
) -> Vec<(usize, usize, usize)> {
    let mut hits = Vec::new();
    for m in gate.find_iter(text) {
        let lo = floor_boundary(text, m.end().saturating_sub(longest));
        let hi = ceil_boundary(text, (m.end() + longest).min(text.len()));
        for o in prefilter.find_overlapping_iter(&text[lo..hi]) {
            hits.push((o.start() + lo, o.end() + lo, o.pattern().as_usize()));
        }
    }
    hits.sort_unstable_by_key(|&(start, end, pattern)| (end, start, pattern));
    hits.dedup();
    hits
}

/// An ASCII-case-insensitive automaton over `keywords` for overlapping searches.
pub(crate) fn keyword_automaton(keywords: &[String]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(keywords)
        .unwrap_or_else(|e| panic!("invariant: keyword automaton builds: {e}"))
}

/// One regex matching exactly the keywords the automaton matches: the literals, ASCII
/// case-insensitively (`(?i-u)` folds ASCII letters only, like `ascii_case_insensitive`).
pub(crate) fn keyword_gate(keywords: &[String]) -> Regex {
    let alternation: Vec<String> = keywords.iter().map(|k| regex::escape(k)).collect();
    regex::RegexBuilder::new(&format!("(?i-u:{})", alternation.join("|")))
        .size_limit(1 << 24)
        .dfa_size_limit(1 << 24)
        .build()
        .unwrap_or_else(|e| panic!("invariant: keyword gate compiles: {e}"))
}

/// Make a pattern ASCII-only where it matters for speed: Unicode `\b` forces the regex engine
/// off its lazy DFA on non-ASCII haystacks; our text is already folded to Latin, so ASCII word
/// boundaries and classes are both right and fast.
pub(crate) fn ascii_boundaries(pattern: &str) -> String {
    // Unicode `\w`/`\s`/`\d` make the lazy DFA's state space explode under bounded
    // repetition; the text is folded to Latin first, so ASCII classes are enough.
    let mut out = String::with_capacity(pattern.len() + 32);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push_str(r"(?-u:\b)"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('s') => out.push_str(r"[\t\n\x0B\x0C\r ]"),
            Some('d') => out.push_str("[0-9]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

impl RuleMatch<'_> {
    /// Turn a match in `text` into a finding (the excerpt is the matched value).
    pub(crate) fn to_finding(&self, text: &str, exact: bool) -> Finding {
        let f = Finding::new(
            self.rule.id,
            self.rule.class,
            self.rule.severity,
            self.rule.score,
        )
        .with_excerpt(&text[self.value.clone()]);
        if exact {
            f.with_span(self.value.clone())
        } else {
            f
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_compiles() {
        for table in [
            crate::injection_rules::INJECTION_RULES,
            crate::injection_rules::POISON_RULES,
            crate::argument_rules::ARGUMENT_RULES,
            crate::secret_rules::SECRET_RULES,
        ] {
            let rs = RuleSet::new(table);
            assert_eq!(rs.specs().len(), table.len());
        }
    }

    #[test]
    fn keyword_hits_equal_an_overlapping_search() {
        let rs = RuleSet::new(crate::secret_rules::SECRET_RULES);
        let text = "sk-ant-api03-x key-abc Bearer tokenSECRET passwords://a ghp_ AKIA sk-sk-ant-";
        let mut want: Vec<(usize, usize, usize)> = rs
            .prefilter
            .find_overlapping_iter(text)
            .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
            .collect();
        want.sort_unstable_by_key(|&(s, e, p)| (e, s, p));
        assert_eq!(
            keyword_hits(&rs.gate, &rs.prefilter, rs.longest, text),
            want
        );
    }

    #[test]
    fn ascii_classes_replace_unicode_ones_but_not_escapes() {
        assert_eq!(ascii_boundaries(r"\bx\w\d"), r"(?-u:\b)x[0-9A-Za-z_][0-9]");
        assert_eq!(ascii_boundaries(r"\\b\x22"), r"\\b\x22");
    }
}

#[cfg(test)]
mod perf_probe {
    use super::*;

    #[test]
    #[ignore = "manual timing probe"]
    fn probe() {
        let prose = "The quarterly report shows revenue grew 4% while operating costs stayed flat. Our team moved the release to Thursday so that QA has time for a final regression pass. -rw-r--r--  1 alice staff  2048 Nov 21 10:00 README.md\n{\"id\": 4211, \"status\": \"open\", \"labels\": [\"bug\", \"ui\"]}\nfn main() { let v: Vec<u32> = (0..10).collect(); println!(\"{v:?}\"); }\n";
        let text = prose.repeat(40);
        for table in [
            crate::injection_rules::INJECTION_RULES,
            crate::injection_rules::POISON_RULES,
            crate::secret_rules::SECRET_RULES,
        ] {
            let rs = RuleSet::new(table);
            let hit: Vec<bool> = rs.triggered(&text).iter().map(|w| !w.is_empty()).collect();
            let t = std::time::Instant::now();
            for _ in 0..100 {
                std::hint::black_box(rs.triggered(&text));
            }
            eprintln!("prefilter {:?}", t.elapsed() / 100);
            for (i, spec) in table.iter().enumerate() {
                if !hit[i] {
                    continue;
                }
                let t = std::time::Instant::now();
                for _ in 0..100 {
                    std::hint::black_box(rs.regexes[i].find_iter(&text).count());
                }
                eprintln!("{} {:?}", spec.id, t.elapsed() / 100);
            }
        }
        let t = std::time::Instant::now();
        for _ in 0..100 {
            std::hint::black_box(crate::decode::decode_segments(&text));
        }
        eprintln!("decode {:?}", t.elapsed() / 100);
    }
}
