//! `load --authn jwt-cedar`: the gateway authenticates every request with a JWT (ES256, key
//! set from a file) and authorizes it with the shipped RBAC policy plus 100 Cedar policies,
//! as a deployment with an identity provider and argument rules would.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;
use jsonwebtoken::Algorithm;

use crate::authn_authz::credentials::{SigningKey, claims};
use crate::authn_authz::{AUDIENCE, ISSUER, hundred_cedar_policies};

/// The gateway config sections and the `Authorization` header its clients send.
#[derive(Debug)]
pub struct AuthnSetup {
    /// `auth:` and `authz:` sections.
    pub yaml: String,
    /// `Bearer <token>`.
    pub authorization: http::HeaderValue,
}

/// Writes the key set, the Cedar file and the policy file into `dir`.
pub fn jwt_cedar(dir: &Path) -> anyhow::Result<AuthnSetup> {
    std::fs::create_dir_all(dir).context("creating the authn directory")?;
    let key = SigningKey::generate(Algorithm::ES256, "bench-es256")?;
    let jwks = dir.join("jwks.json");
    let document = serde_json::json!({ "keys": [key.jwk.clone()] });
    std::fs::write(&jwks, document.to_string()).context("writing the key set")?;
    std::fs::write(dir.join("bench.cedar"), hundred_cedar_policies())
        .context("writing the Cedar policies")?;
    let roles = dir.join("default.yaml");
    std::fs::write(&roles, sallyport_policy::DEFAULT_POLICY_YAML)
        .context("writing the default policy")?;
    let policy = dir.join("policy.yaml");
    std::fs::write(&policy, "cedar: { files: [bench.cedar] }\n")
        .context("writing the policy file")?;
    let token = key.sign(&claims(SystemTime::now())?)?;
    let yaml = format!(
        "auth:\n  jwt: {{ issuers: [\"{ISSUER}\"], audience: \"{AUDIENCE}\", algorithms: [ES256], keys: {{ type: file, path: \"{}\" }} }}\nauthz:\n  policy_files: [\"{}\", \"{}\"]\n",
        jwks.display(),
        roles.display(),
        policy.display(),
    );
    let authorization = http::HeaderValue::from_str(&format!("Bearer {token}"))
        .context("the token is not a header value")?;
    Ok(AuthnSetup {
        yaml,
        authorization,
    })
}
