use super::*;

fn fake(prefix: &str, alphabet: &str, n: usize) -> String {
    let body: String = alphabet.chars().cycle().take(n).collect();
    format!("{prefix}{body}")
}

const ALNUM: &str = "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ";
const HEXS: &str = "0a1b2c3d4e5f6789";

/// One positive sample per rule, each obviously fake.
fn positives() -> Vec<(&'static str, String)> {
    vec![
        ("secret.aws_access_key", "key=AKIAIOSFODNN7EXAMPLE".to_owned()),
        ("secret.aws_secret_key", format!("aws_secret_access_key = {}", fake("", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", 40))),
        ("secret.github_token", fake("token ghp_", ALNUM, 36)),
        ("secret.github_fine_grained_token", fake("github_pat_", ALNUM, 82)),
        ("secret.gitlab_token", fake("glpat-", ALNUM, 20)),
        ("secret.slack_token", "xoxb-1234567890-0987654321-FAKEfakeFAKE".to_owned()),
        ("secret.slack_webhook", "https://hooks.slack.com/services/T000FAKE/B000FAKE/XXXXfakefakefakefake".to_owned()),
        ("secret.stripe_key", fake("sk_live_", ALNUM, 24)),
        ("secret.google_api_key", fake("AIza", ALNUM, 35)),
        ("secret.openai_api_key", format!("{}T3BlbkFJ{}", fake("sk-proj-", ALNUM, 24), fake("", ALNUM, 24))),
        ("secret.anthropic_api_key", fake("sk-ant-api03-", ALNUM, 40)),
        ("secret.private_key", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----".to_owned()),
        ("secret.jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U".to_owned()),
        ("secret.npm_token", fake("npm_", ALNUM, 36)),
        ("secret.pypi_token", fake("pypi-AgEIcHlwaS5vcmc", ALNUM, 60)),
        ("secret.sendgrid_key", format!("{}.{}", fake("SG.", ALNUM, 22), fake("", ALNUM, 43))),
        ("secret.huggingface_token", fake("hf_", "abcdEFGHijklMNOPqrstUVWXyz", 34)),
        ("secret.digitalocean_token", fake("dop_v1_", HEXS, 64)),
        ("secret.shopify_token", fake("shpat_", HEXS, 32)),
        ("secret.mailgun_key", fake("key-", HEXS, 32)),
        ("secret.telegram_bot_token", fake("123456789:AA", ALNUM, 33)),
        ("secret.azure_storage_key", format!("AccountKey={}==", fake("", ALNUM, 86))),
        ("secret.gcp_service_account", r#"{"type": "service_account", "project_id": "demo"}"#.to_owned()),
        ("secret.connection_string_password", "postgres://admin:Zx9!fakePw@db.example.com:5432/app".to_owned()),
        ("secret.url_credentials", "https://deploy:Qw3rtyFake99@git.example.com/repo.git".to_owned()),
        ("secret.generic_api_key", "API_KEY=\"f4k3K3y9Qz8Xw7Vb6Nm5\"".to_owned()),
        ("secret.bearer_token", "Authorization: Bearer abc123DEF456ghi789JKL0mn".to_owned()),
    ]
}

#[test]
fn every_rule_has_a_positive_sample_that_it_finds() {
    let samples = positives();
    for id in secret_rule_ids() {
        assert!(samples.iter().any(|(s, _)| *s == id), "no sample for {id}");
    }
    for (id, text) in samples {
        let found: Vec<_> = find_secrets(&text, "")
            .into_iter()
            .map(|f| f.rule_id)
            .collect();
        assert!(found.contains(&id), "{id} not found in {text:?}: {found:?}");
    }
}

#[test]
fn near_misses_are_not_secrets() {
    for text in [
        "AKIA1234",  // too short
        "ghp_short", // too short
        "glpat- and xoxb- prefixes alone",
        "sk_live_ is the prefix of live Stripe keys",
        "AIza is how Google keys start",
        "the private key is stored in a vault",
        "eyJ is base64 for {\"",
        "npm_config_cache=/tmp",
        "key-value store",
        "AccountKey=<your key here>",
        "postgres://user:password@localhost/db", // placeholder password
        "https://example.com:8080/path",
        "API_KEY=your_api_key_here",  // placeholder
        "password: xxxxxxxxxxxxxxxx", // low entropy placeholder
        "token = process.env.GITHUB_TOKEN",
        "Authorization: Bearer <token>",
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ] {
        let found = find_secrets(text, "");
        assert!(found.is_empty(), "{text:?}: {found:?}");
    }
}

#[test]
fn spans_are_exact_and_specific_rules_win() {
    let text = "aws_access_key_id=AKIAIOSFODNN7EXAMPLE";
    let f = find_secrets(text, "/x");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].rule_id, "secret.aws_access_key");
    assert_eq!(&text[f[0].span.clone().unwrap()], "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(f[0].path, "/x");
}

#[test]
fn json_escaped_secrets_are_found() {
    // A secret serialised inside a JSON string inside text: escaped newlines and quotes.
    let pem =
        r#"{"v": "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc+/def\n-----END RSA PRIVATE KEY-----"}"#;
    assert_eq!(find_secrets(pem, "")[0].rule_id, "secret.private_key");
    let sa = r#"{"v": "{\"type\": \"service_account\", \"project_id\": \"x\"}"}"#;
    assert_eq!(
        find_secrets(sa, "")[0].rule_id,
        "secret.gcp_service_account"
    );
}

#[test]
fn entropy_measures_randomness() {
    assert!(shannon_entropy("aaaaaaaa") < 0.1);
    assert!(shannon_entropy("a1B2c3D4e5F6g7H8") > 3.5);
    assert!(!looks_random("your_api_key_here", 3.0));
}
