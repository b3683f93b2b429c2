//! Rules for tool-call arguments: code, command and SQL injection, path traversal. The first
//! entries follow seed 003's `detect_attack_patterns` lists; the rest extend them.

use crate::finding::{Class, Severity};
use crate::ruleset::RuleSpec;

/// The table.
pub(crate) static ARGUMENT_RULES: &[RuleSpec] = &[
    RuleSpec { id: "code.eval_exec", class: Class::CodeInjection, severity: Severity::High, score: 0.85,
        keywords: &["eval", "exec", "__import__", "subprocess.", "os.system", "os.popen", "child_process", "runtime.getruntime", "function("],
        pattern: r"(?i)\b(?:eval|exec|execfile|compile)\s*\(|__import__\s*\(|\bsubprocess\.\w+|\bos\.(?:system|popen|exec\w*|spawn\w*)\b|require\s*\(\s*['\x22]child_process|Runtime\.getRuntime\(\)\.exec|\bnew\s+Function\s*\(" },
    RuleSpec { id: "code.shell_true", class: Class::CodeInjection, severity: Severity::Medium, score: 0.6,
        keywords: &["shell"], pattern: r"(?i)\bshell\s*=\s*true\b" },
    RuleSpec { id: "code.script_tag", class: Class::CodeInjection, severity: Severity::High, score: 0.85,
        keywords: &["<script", "javascript:", "onerror", "onload", "<iframe", "<svg"],
        pattern: r"(?i)<script\b|\bjavascript:|<(?:img|svg|body|iframe)\b[^>]{0,200}\bon(?:error|load)\s*=|<iframe\b" },
    RuleSpec { id: "code.template_injection", class: Class::CodeInjection, severity: Severity::High, score: 0.85,
        keywords: &["{{", "${", "<%", "#{"],
        pattern: r"(?i)\{\{[^}]{0,80}(?:__class__|__globals__|__builtins__|config|request|self\.|lipsum|cycler|popen)|\$\{jndi:|\$\{(?:env|sys|java|lower|upper):|<%=?[^%]{0,80}(?:Runtime|exec|system|eval)" },
    RuleSpec { id: "cmd.chained_command", class: Class::CommandInjection, severity: Severity::High, score: 0.9,
        keywords: &[";", "|", "&&", "`", "$("],
        pattern: r"(?:;|\|\|?|&&)\s*(?:sudo\s+)?(?:rm|curl|wget|nc|ncat|netcat|bash|sh|zsh|python\d?|perl|ruby|php|chmod|chown|cat|base64|dd|mkfifo|telnet|ssh|scp|socat|powershell|pwsh|cmd(?:\.exe)?|certutil|whoami|id|uname|env|printenv|kill|shutdown|reboot)\b|`[^`]{1,200}`|\$\([^)]{1,200}\)" },
    RuleSpec { id: "cmd.reverse_shell", class: Class::CommandInjection, severity: Severity::Critical, score: 1.0,
        keywords: &["/dev/tcp", "nc -e", "ncat -e", "mkfifo", "bash -i", "| sh", "|sh", "| bash", "|bash", "rm -rf", "-o proxycommand", "--upload-pack", "iex(", "downloadstring"],
        pattern: r"(?i)/dev/tcp/|\bn(?:c|cat)\s+(?:-\w+\s+)*-e\b|\bmkfifo\b|\bbash\s+-i\b|\|\s*(?:ba)?sh\b|\brm\s+-(?:rf|fr)\s+/|-o\s*ProxyCommand=|--upload-pack=|\biex\s*\(|DownloadString\s*\(" },
    RuleSpec { id: "sql.tautology", class: Class::Sql, severity: Severity::High, score: 0.9,
        keywords: &["'", "\""],
        pattern: r#"(?i)['"]\s*(?:or|and)\s+(?:['"]?\w+['"]?\s*(?:=|<>|like)\s*['"]?\w+|true|1)\b|['"]\s*(?:--|#|/\*)"# },
    RuleSpec { id: "sql.union_select", class: Class::Sql, severity: Severity::High, score: 0.9,
        keywords: &["union"], pattern: r"(?i)\bunion\s+(?:all\s+)?(?:distinct\s+)?select\b" },
    RuleSpec { id: "sql.stacked_query", class: Class::Sql, severity: Severity::High, score: 0.9,
        keywords: &[";"], pattern: r"(?i);\s*(?:drop|delete|truncate|alter|insert|update|create|grant|exec|execute|shutdown)\s+\w" },
    RuleSpec { id: "sql.time_based", class: Class::Sql, severity: Severity::High, score: 0.85,
        keywords: &["sleep(", "benchmark(", "waitfor", "pg_sleep", "xp_cmdshell", "information_schema", "load_file", "into outfile"],
        pattern: r"(?i)\b(?:sleep|pg_sleep|benchmark)\s*\(|\bwaitfor\s+delay\b|\bxp_cmdshell\b|\binformation_schema\b|\bload_file\s*\(|\binto\s+(?:out|dump)file\b" },
    RuleSpec { id: "sql.data_dump", class: Class::Sql, severity: Severity::Low, score: 0.4,
        keywords: &["select", "show tables", "dump all", "export database"],
        pattern: r"(?i)\bselect\s+\*\s+from\b|\bshow\s+tables\b|\bdump\s+all\s+data\b|\bexport\s+database\b" },
    RuleSpec { id: "path.traversal", class: Class::PathTraversal, severity: Severity::High, score: 0.9,
        keywords: &["..", "%2e", "%252e", "%c0%ae", "\u{2024}"],
        pattern: r"(?i)(?:^|[\\/=])\.\.(?:[\\/]|$)|(?:%2e|%252e|%c0%ae|\.){2}(?:%2f|%5c|%252f|%c0%af|[\\/])|\.\.(?:%2f|%5c|%252f)|%00" },
];
