//! Tool-call argument scanning: code, command and SQL injection, path traversal, sensitive
//! paths, SSRF-prone URLs and addresses, secrets, and prompt injection passed along.

use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::config::DetectConfig;
use crate::decode::{decode_percent, unreachable_regex};
use crate::finding::{Class, Finding, Severity};
use crate::secrets::secret_findings;
use crate::sensitive_paths::find_sensitive_path;
use crate::ssrf::{AddressClass, UrlAssessment, classify_ip, classify_url};
use crate::text_scan::scan_argument_views;
use crate::walk::for_each_string;

/// What one argument scan found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ArgumentReport {
    /// All findings.
    pub findings: Vec<Finding>,
}

impl ArgumentReport {
    /// Findings of the given class.
    pub fn of_class(&self, class: Class) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.class == class)
    }

    /// The highest severity found.
    pub fn max_severity(&self) -> Option<Severity> {
        crate::finding::max_severity(&self.findings)
    }
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b[a-z][a-z0-9+.-]{1,15}://[^\s"'<>`]+|\b(?:file|gopher|dict|jar|netdoc):[^\s"'<>`]+"#)
        .unwrap_or_else(|e| unreachable_regex(&e))
});

/// Scan every string leaf of a `tools/call` request's `arguments`.
pub fn scan_arguments(arguments: &Value, cfg: &DetectConfig) -> ArgumentReport {
    let mut findings = Vec::new();
    for_each_string(arguments, &mut |path, text| {
        scan_argument_text(text, path, cfg, &mut findings)
    });
    ArgumentReport { findings }
}

/// Scan one argument string (its JSON pointer in `path`).
pub fn scan_argument_text(text: &str, path: &str, cfg: &DetectConfig, out: &mut Vec<Finding>) {
    let secrets = scan_argument_views(text, path, cfg.secrets, out);
    let decoded = decode_percent(text).and_then(|b| String::from_utf8(b).ok());
    let sensitive = find_sensitive_path(text, path).or_else(|| {
        decoded
            .as_deref()
            .and_then(|d| find_sensitive_path(d, path))
            .map(|mut f| {
                f.span = None;
                f
            })
    });
    out.extend(sensitive);
    ssrf(text, path, out);
    if cfg.secrets {
        out.extend(secret_findings(secrets, text, path));
    }
}

fn ssrf(text: &str, path: &str, out: &mut Vec<Finding>) {
    let trimmed = text.trim();
    if let Ok(ip) = trimmed.trim_matches(['[', ']']).parse::<IpAddr>() {
        let class = classify_ip(ip);
        if class.is_internal() {
            out.push(address_finding(class, trimmed, path));
        }
        return;
    }
    if !text.contains(':') {
        return;
    }
    for m in URL.find_iter(text).take(32) {
        let Some(a) = classify_url(m.as_str()) else {
            continue;
        };
        if a.is_suspicious() {
            out.push(url_finding(&a, m.as_str(), path).with_span(m.range()));
        }
    }
}

fn address_finding(class: AddressClass, shown: &str, path: &str) -> Finding {
    let (id, severity) = match class {
        AddressClass::Metadata => ("ssrf.metadata", Severity::Critical),
        AddressClass::Loopback
        | AddressClass::Private
        | AddressClass::LinkLocal
        | AddressClass::Unspecified => ("ssrf.internal_address", Severity::High),
        AddressClass::Reserved => ("ssrf.reserved_address", Severity::Medium),
        AddressClass::Public => ("ssrf.public", Severity::Info),
    };
    Finding::new(id, Class::Ssrf, severity, 0.9)
        .with_excerpt(shown)
        .at(path)
}

fn url_finding(a: &UrlAssessment, shown: &str, path: &str) -> Finding {
    if let Some(class) = a.class.filter(|c| c.is_internal()) {
        return address_finding(class, shown, path);
    }
    if a.dangerous_scheme {
        return Finding::new("ssrf.dangerous_scheme", Class::Ssrf, Severity::High, 0.8)
            .with_excerpt(shown)
            .at(path);
    }
    Finding::new(
        "ssrf.rebinding_hostname",
        Class::Ssrf,
        Severity::Medium,
        0.6,
    )
    .with_excerpt(shown)
    .at(path)
}

#[cfg(test)]
mod tests;
