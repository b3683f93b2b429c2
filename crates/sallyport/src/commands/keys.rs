//! `sallyport keys create|list|revoke`.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use sallyport_identity::KeyStore;
use sallyport_identity::api_key::NewApiKey;

use crate::cli::KeysAction;
use crate::runtime::load_config;

/// Runs one key action against the store named in the config.
pub(crate) fn run(config_path: &Path, action: KeysAction) -> anyhow::Result<ExitCode> {
    let config = load_config(config_path)?;
    let Some(api) = config.auth.as_ref().and_then(|a| a.api_keys.as_ref()) else {
        bail!(
            "{} has no auth.api_keys section: nothing stores keys",
            config_path.display()
        );
    };
    let secret = api
        .hmac_secret
        .load()
        .context("reading auth.api_keys.hmac_secret")?;
    let store = KeyStore::open(&api.store_path, &secret)
        .with_context(|| format!("opening key store {}", api.store_path.display()))?;
    let now = SystemTime::now();
    match action {
        KeysAction::Create {
            name,
            roles,
            scopes,
            expires_in_days,
            allowed_cidrs,
            principal,
        } => {
            let mut request = NewApiKey::service(name);
            request.roles = roles;
            request.scopes = scopes;
            request.allowed_cidrs = allowed_cidrs;
            request.principal_id = principal;
            request.expires_at = expires_in_days.map(|d| now + Duration::from_secs(d * 86_400));
            let (key, record) = store.create(request, now).context("creating the key")?;
            eprintln!(
                "Created key {} for {} (roles: {}). It is shown once; store it now:",
                record.prefix,
                record.principal_id,
                record.roles.join(", ")
            );
            println!("{}", key.expose());
        }
        KeysAction::List => {
            println!(
                "{:<12} {:<24} {:<28} {:<12} {:<8}",
                "PREFIX", "NAME", "ROLES", "EXPIRES", "STATE"
            );
            for r in store.list() {
                let expires = r.expires_at.map_or_else(
                    || "never".to_owned(),
                    |t| format!("{}d", days_until(t, now)),
                );
                let state = if r.revoked { "revoked" } else { "active" };
                println!(
                    "{:<12} {:<24} {:<28} {:<12} {:<8}",
                    r.prefix,
                    r.name,
                    r.roles.join(","),
                    expires,
                    state
                );
            }
        }
        KeysAction::Revoke { prefix } => {
            let r = store.revoke(&prefix, now).context("revoking the key")?;
            println!("Revoked key {} ({}).", r.prefix, r.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn days_until(unix_secs: u64, now: SystemTime) -> i64 {
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    (i64::try_from(unix_secs).unwrap_or(i64::MAX) - i64::try_from(now).unwrap_or(0)) / 86_400
}
