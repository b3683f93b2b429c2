//! Secret formats, written from each provider's public description of its key format (not
//! copied from any rule file). Each id's suffix is the typed redaction label.

use crate::finding::{Class, Severity};
use crate::ruleset::RuleSpec;

const S: Class = Class::Secret;
const H: Severity = Severity::High;
const C: Severity = Severity::Critical;

macro_rules! secret {
    ($id:literal, $sev:expr, [$($kw:literal),+], $re:literal) => {
        RuleSpec { id: $id, class: S, severity: $sev, score: 0.95, keywords: &[$($kw),+], pattern: $re }
    };
}

/// The table. Patterns whose first capture group exists report that group as the secret.
pub(crate) static SECRET_RULES: &[RuleSpec] = &[
    secret!(
        "secret.aws_access_key",
        C,
        ["akia", "asia", "abia", "acca"],
        r"\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b"
    ),
    secret!(
        "secret.aws_secret_key",
        C,
        ["aws"],
        r#"(?i)aws[\w.-]{0,20}(?:secret|private)[\w.-]{0,20}["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})\b"#
    ),
    secret!(
        "secret.github_token",
        C,
        ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        r"\b(gh[pousr]_[A-Za-z0-9]{36,255})\b"
    ),
    secret!(
        "secret.github_fine_grained_token",
        C,
        ["github_pat_"],
        r"\b(github_pat_[A-Za-z0-9_]{50,255})\b"
    ),
    secret!(
        "secret.gitlab_token",
        C,
        ["glpat-", "gldt-", "glrt-"],
        r"\b((?:glpat|gldt|glrt)-[A-Za-z0-9_-]{20,})"
    ),
    secret!(
        "secret.slack_token",
        C,
        ["xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-", "xapp-"],
        r"\b((?:xox[baprs]|xapp)-[A-Za-z0-9-]{10,})"
    ),
    secret!(
        "secret.slack_webhook",
        H,
        ["hooks.slack.com"],
        r"(https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9+/_-]{20,})"
    ),
    secret!(
        "secret.stripe_key",
        C,
        ["sk_live_", "rk_live_", "sk_test_", "rk_test_"],
        r"\b((?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,})\b"
    ),
    secret!(
        "secret.google_api_key",
        H,
        ["aiza"],
        r"\b(AIza[0-9A-Za-z_-]{35})"
    ),
    secret!(
        "secret.openai_api_key",
        C,
        ["sk-"],
        r"\b(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,})"
    ),
    secret!(
        "secret.anthropic_api_key",
        C,
        ["sk-ant-"],
        r"\b(sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{32,})"
    ),
    secret!(
        "secret.private_key",
        C,
        ["private key"],
        r"(-----BEGIN (?:RSA |DSA |EC |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----[A-Za-z0-9+/=\s:,.\\-]{0,8192}?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$))"
    ),
    secret!(
        "secret.jwt",
        H,
        ["eyj"],
        r"\b(eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})"
    ),
    secret!(
        "secret.npm_token",
        C,
        ["npm_"],
        r"\b(npm_[A-Za-z0-9]{36})\b"
    ),
    secret!(
        "secret.pypi_token",
        C,
        ["pypi-ageicHlwaS5vcmc"],
        r"\b(pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})"
    ),
    secret!(
        "secret.sendgrid_key",
        C,
        ["sg."],
        r"\b(SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})"
    ),
    secret!(
        "secret.huggingface_token",
        H,
        ["hf_"],
        r"\b(hf_[A-Za-z]{34})\b"
    ),
    secret!(
        "secret.digitalocean_token",
        C,
        ["dop_v1_", "doo_v1_", "dor_v1_"],
        r"\b(do[opr]_v1_[a-f0-9]{64})\b"
    ),
    secret!(
        "secret.shopify_token",
        C,
        ["shpat_", "shpss_", "shpca_", "shppa_"],
        r"\b(shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32})\b"
    ),
    secret!("secret.mailgun_key", H, ["key-"], r"\b(key-[0-9a-f]{32})\b"),
    secret!(
        "secret.telegram_bot_token",
        H,
        [":aa"],
        r"\b(\d{8,10}:AA[0-9A-Za-z_-]{33})\b"
    ),
    secret!(
        "secret.azure_storage_key",
        C,
        ["accountkey="],
        r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)"
    ),
    secret!(
        "secret.gcp_service_account",
        C,
        ["service_account"],
        r#"(\\?"type\\?"\s*:\s*\\?"service_account\\?")"#
    ),
    secret!(
        "secret.connection_string_password",
        C,
        ["://"],
        r"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver)://[^:@/\s]+:([^@/\s]{3,})@"
    ),
    secret!(
        "secret.url_credentials",
        H,
        ["://"],
        r"\bhttps?://[A-Za-z0-9._~-]{1,64}:([A-Za-z0-9._~!$&'()*+,;=%-]{6,})@[A-Za-z0-9.-]+"
    ),
    secret!(
        "secret.generic_api_key",
        H,
        [
            "key",
            "secret",
            "token",
            "passw",
            "pwd",
            "credential",
            "auth"
        ],
        r#"(?i)\b[\w.-]{0,24}(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?key|auth[_-]?token|access[_-]?token|client[_-]?secret|password|passwd|pwd|private[_-]?key|bearer)["']?\s*(?::|=|=>|:=)\s*["']?([A-Za-z0-9_\-./+=~!@#$%^&*]{12,128})"#
    ),
    secret!(
        "secret.bearer_token",
        H,
        ["bearer"],
        r"(?i)\bauthorization:\s*bearer\s+([A-Za-z0-9_\-.=~+/]{20,})"
    ),
];
