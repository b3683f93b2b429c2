//! Sensitive paths: credentials, keys, agent configs and system secrets. Seed 003's idea of a
//! deny list, extended. Matched on a lower-cased, slash-normalised copy of the text.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::finding::{Class, Finding, Severity};

/// `(needle, severity)`; needles are lower-case with forward slashes.
const SENSITIVE: &[(&str, Severity)] = &[
    (".ssh/", Severity::Critical),
    ("id_rsa", Severity::Critical),
    ("id_dsa", Severity::Critical),
    ("id_ecdsa", Severity::Critical),
    ("id_ed25519", Severity::Critical),
    ("authorized_keys", Severity::High),
    ("/etc/shadow", Severity::Critical),
    ("/etc/gshadow", Severity::Critical),
    ("/etc/passwd", Severity::High),
    ("/etc/sudoers", Severity::High),
    ("/etc/ssl/private", Severity::Critical),
    ("/proc/self/environ", Severity::Critical),
    ("/proc/self/mem", Severity::Critical),
    ("/proc/1/environ", Severity::Critical),
    ("/var/run/secrets/", Severity::Critical),
    ("/run/secrets/", Severity::Critical),
    (".aws/credentials", Severity::Critical),
    (".aws/config", Severity::High),
    (".azure/", Severity::High),
    (".config/gcloud", Severity::Critical),
    ("application_default_credentials.json", Severity::Critical),
    (".kube/config", Severity::Critical),
    (".docker/config.json", Severity::Critical),
    (".git-credentials", Severity::Critical),
    (".netrc", Severity::Critical),
    (".npmrc", Severity::High),
    (".pypirc", Severity::High),
    (".pgpass", Severity::Critical),
    (".my.cnf", Severity::High),
    (".gnupg/", Severity::Critical),
    (".password-store", Severity::Critical),
    (".vault-token", Severity::Critical),
    (".env", Severity::High),
    ("mcp.json", Severity::High),
    ("claude_desktop_config.json", Severity::High),
    (".cursor/", Severity::High),
    (".codeium/windsurf", Severity::High),
    (".bash_history", Severity::High),
    (".zsh_history", Severity::High),
    (".python_history", Severity::Medium),
    ("credentials.json", Severity::High),
    ("terraform.tfstate", Severity::High),
    ("wp-config.php", Severity::High),
    ("/library/keychains", Severity::Critical),
    ("login data", Severity::High),
    ("/windows/system32/config/sam", Severity::Critical),
    ("/windows/repair/sam", Severity::Critical),
    ("ntds.dit", Severity::Critical),
    (".pem", Severity::Medium),
    (".key", Severity::Medium),
    (".p12", Severity::Medium),
    (".pfx", Severity::Medium),
    (".keystore", Severity::Medium),
    ("/root/", Severity::Medium),
];

static MATCHER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostLongest)
        .build(SENSITIVE.iter().map(|(n, _)| n))
        .unwrap_or_else(|e| panic!("invariant: sensitive path automaton builds: {e}"))
});

/// The worst sensitive path referenced in `text`, if any.
pub fn find_sensitive_path(text: &str, path: &str) -> Option<Finding> {
    if !text.contains(['.', '/', '\\', ' ']) {
        return None;
    }
    let lowered: String = text
        .chars()
        .map(|c| {
            if c == '\\' {
                '/'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let mut best: Option<(usize, Severity, std::ops::Range<usize>)> = None;
    for m in MATCHER.find_iter(&lowered) {
        let (needle, severity) = SENSITIVE[m.pattern().as_usize()];
        if !is_path_like(&lowered, m.start(), m.end(), needle) {
            continue;
        }
        if best.as_ref().is_none_or(|b| severity > b.1) {
            best = Some((m.pattern().as_usize(), severity, m.range()));
        }
    }
    let (idx, severity, range) = best?;
    let f = Finding::new("path.sensitive", Class::SensitivePath, severity, 0.9).at(path);
    Some(f.with_excerpt(SENSITIVE[idx].0).with_span(range))
}

/// Extensions and dot-files must end a path component (`.env` but not `.environment`).
fn is_path_like(text: &str, start: usize, end: usize, needle: &str) -> bool {
    let next = text.as_bytes().get(end).copied();
    let prev = start
        .checked_sub(1)
        .and_then(|i| text.as_bytes().get(i).copied());
    let ends_component = next.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == b'_'));
    if needle.starts_with('.') && !needle.contains('/') {
        // `.env`, `.pem`: must end a component; a dot-file must start one too, unless an extension.
        let dotfile = matches!(
            needle,
            ".env"
                | ".netrc"
                | ".npmrc"
                | ".pypirc"
                | ".pgpass"
                | ".git-credentials"
                | ".vault-token"
                | ".bash_history"
                | ".zsh_history"
                | ".python_history"
                | ".password-store"
                | ".my.cnf"
        );
        let starts = prev.is_none_or(|c| {
            c == b'/' || c == b' ' || c == b'~' || c == b'=' || c == b'"' || c == b'\''
        });
        return ends_component
            && (!dotfile
                || starts
                || needle == ".env" && prev.is_some_and(|c| c.is_ascii_alphanumeric()));
    }
    ends_component || needle.ends_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(t: &str) -> Option<Severity> {
        find_sensitive_path(t, "").map(|f| f.severity)
    }

    #[test]
    fn credentials_and_keys() {
        assert_eq!(hit("~/.ssh/id_rsa"), Some(Severity::Critical));
        assert_eq!(
            hit(r"C:\Users\me\.aws\credentials"),
            Some(Severity::Critical)
        );
        assert_eq!(hit("/home/u/project/.env"), Some(Severity::High));
        assert_eq!(hit("/etc/shadow"), Some(Severity::Critical));
        assert_eq!(
            hit("/Users/me/Library/Application Support/Claude/claude_desktop_config.json"),
            Some(Severity::High)
        );
    }

    #[test]
    fn ordinary_paths_pass() {
        assert_eq!(hit("/home/u/project/src/main.rs"), None);
        assert_eq!(hit("environment variables"), None);
        assert_eq!(hit("/tmp/report.keynote"), None);
        assert_eq!(hit("docs/.environment.md"), None);
    }
}
