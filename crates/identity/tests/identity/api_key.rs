//! API keys: create, verify, revoke, expiry, CIDR allow-lists, and what is stored.

use std::net::IpAddr;
use std::time::Duration;

use sallyport_identity::api_key::{ApiKeyRecord, NewApiKey, PREFIX_LEN, SECRET_LEN};
use sallyport_identity::{AuthError, AuthMethod, IdentityKind, KeyStore, SecretBytes};

use super::support::now;

const SERVER_SECRET: &[u8] = b"server-secret-of-at-least-32-bytes!!";

fn open(dir: &tempfile::TempDir) -> KeyStore {
    KeyStore::open(
        dir.path().join("keys.json"),
        &SecretBytes::new(SERVER_SECRET),
    )
    .unwrap()
}

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

fn ci_key() -> NewApiKey {
    NewApiKey {
        roles: vec!["mcp_operator".into()],
        scopes: vec!["tools:call".into()],
        tenant: Some("acme".into()),
        ..NewApiKey::service("ci-deploy")
    }
}

#[test]
fn a_created_key_verifies_to_its_principal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let (key, record) = store.create(ci_key(), now()).unwrap();
    let key = key.expose();
    assert_eq!(key.len(), 3 + PREFIX_LEN + 1 + SECRET_LEN);
    assert!(key.starts_with(&format!("sp_{}_", record.prefix)));
    assert_eq!(record.principal_id, "api_key:ci-deploy");

    let identity = store.verify(key, ip("192.0.2.1"), now()).unwrap();
    assert_eq!(identity.id, "api_key:ci-deploy");
    assert_eq!(identity.kind, IdentityKind::Service);
    assert_eq!(identity.tenant.as_deref(), Some("acme"));
    assert_eq!(identity.roles, ["mcp_operator"]);
    assert_eq!(identity.attributes.auth_method, AuthMethod::ApiKey);
    assert_eq!(identity.attributes.scopes, ["tools:call"]);
    assert_eq!(
        identity.attributes.credential_id.as_deref(),
        Some(record.prefix.as_str())
    );
    assert_eq!(identity.attributes.source_ip, ip("192.0.2.1"));
    // The key's creation is the account's age for the trust score (whole seconds).
    let created = identity.attributes.account_created.unwrap();
    let age = now().duration_since(created).unwrap();
    assert!(age < std::time::Duration::from_secs(1), "{age:?}");
}

#[test]
fn the_store_never_contains_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let (key, record) = store.create(ci_key(), now()).unwrap();
    let secret_part = key.expose().rsplit_once('_').unwrap().1.to_owned();
    let text = std::fs::read_to_string(dir.path().join("keys.json")).unwrap();
    assert!(!text.contains(key.expose()));
    assert!(!text.contains(&secret_part));
    assert!(text.contains(&record.prefix));
    assert_eq!(record.key_hash.len(), 64, "hex HMAC-SHA-256");
    assert!(text.contains(&record.key_hash));
    assert_eq!(format!("{key:?}"), "<redacted>");
    assert!(!format!("{record:?}").contains(&secret_part));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["keys.json"], "no temporary files left behind");
}

#[test]
fn wrong_and_malformed_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let (key, record) = store.create(ci_key(), now()).unwrap();
    let key = key.expose();

    // Same prefix, secret differing in the last character.
    let mut wrong = key.to_owned();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        store.verify(&wrong, None, now()).unwrap_err(),
        AuthError::InvalidApiKey
    );

    let unknown_prefix = format!("sp_zzzzzzzz_{}", &key[key.len() - SECRET_LEN..]);
    assert_ne!(record.prefix, "zzzzzzzz");
    assert_eq!(
        store.verify(&unknown_prefix, None, now()).unwrap_err(),
        AuthError::InvalidApiKey
    );

    for malformed in [
        "",
        "sp_",
        "sp_short_x",
        "xx_abcdefgh_secret",
        &key[..key.len() - 1],
        &format!("{key}="),
    ] {
        assert_eq!(
            store.verify(malformed, None, now()).unwrap_err(),
            AuthError::Malformed,
            "{malformed}"
        );
    }
    assert_eq!(AuthError::InvalidApiKey.http_status(), 401);
}

#[test]
fn keys_are_bound_to_the_server_secret() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = open(&dir).create(ci_key(), now()).unwrap();
    let other = KeyStore::open(dir.path().join("keys.json"), &SecretBytes::new([7u8; 32])).unwrap();
    assert_eq!(
        other.verify(key.expose(), None, now()).unwrap_err(),
        AuthError::InvalidApiKey
    );
    let weak = KeyStore::open(dir.path().join("keys.json"), &SecretBytes::new(*b"short"));
    assert!(weak.is_err());
}

#[test]
fn revoked_keys_are_rejected_and_revocation_persists() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let (key, record) = store.create(ci_key(), now()).unwrap();
    let revoked = store.revoke(&record.prefix, now()).unwrap();
    assert!(revoked.revoked);
    assert_eq!(
        store.verify(key.expose(), None, now()).unwrap_err(),
        AuthError::ApiKeyRevoked
    );
    assert!(store.revoke("nosuchky", now()).is_err());

    let reopened = open(&dir);
    assert_eq!(
        reopened.verify(key.expose(), None, now()).unwrap_err(),
        AuthError::ApiKeyRevoked
    );
    let listed: Vec<ApiKeyRecord> = reopened.list();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked);
}

#[test]
fn expired_keys_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let expiry = now() + Duration::from_secs(3600);
    let (key, _) = store
        .create(
            NewApiKey {
                expires_at: Some(expiry),
                ..ci_key()
            },
            now(),
        )
        .unwrap();
    assert!(
        store
            .verify(key.expose(), None, expiry - Duration::from_secs(1))
            .is_ok()
    );
    assert_eq!(
        store.verify(key.expose(), None, expiry).unwrap_err(),
        AuthError::ApiKeyExpired
    );
    let past = NewApiKey {
        expires_at: Some(now() - Duration::from_secs(1)),
        ..ci_key()
    };
    assert!(store.create(past, now()).is_err());
}

#[test]
fn source_networks_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let request = NewApiKey {
        allowed_cidrs: vec![
            "10.0.0.0/8".into(),
            "2001:db8::/32".into(),
            "192.0.2.9".into(),
        ],
        ..ci_key()
    };
    let (key, record) = store.create(request, now()).unwrap();
    assert_eq!(
        record.allowed_cidrs,
        ["10.0.0.0/8", "2001:db8::/32", "192.0.2.9/32"]
    );
    let key = key.expose();
    for allowed in ["10.1.2.3", "2001:db8::1", "192.0.2.9", "::ffff:10.9.9.9"] {
        assert!(store.verify(key, ip(allowed), now()).is_ok(), "{allowed}");
    }
    for refused in ["192.168.1.1", "192.0.2.10", "2001:db9::1"] {
        let error = store.verify(key, ip(refused), now()).unwrap_err();
        assert_eq!(error, AuthError::SourceNotAllowed, "{refused}");
        assert_eq!(error.http_status(), 403);
    }
    assert_eq!(
        store.verify(key, None, now()).unwrap_err(),
        AuthError::SourceNotAllowed
    );
    let bad = NewApiKey {
        allowed_cidrs: vec!["10.0.0.0/33".into()],
        ..ci_key()
    };
    assert!(store.create(bad, now()).is_err());
}

#[test]
fn a_second_store_sees_keys_after_reload() {
    let dir = tempfile::tempdir().unwrap();
    let server = open(&dir);
    let cli = open(&dir);
    let (first, _) = cli.create(ci_key(), now()).unwrap();
    assert_eq!(
        server.verify(first.expose(), None, now()).unwrap_err(),
        AuthError::InvalidApiKey
    );
    server.reload().unwrap();
    assert!(server.verify(first.expose(), None, now()).is_ok());

    // Mutations re-read the file first, so neither writer loses the other's keys.
    let (second, _) = server.create(NewApiKey::service("other"), now()).unwrap();
    assert_eq!(server.list().len(), 2);
    cli.reload().unwrap();
    assert!(cli.verify(second.expose(), None, now()).is_ok());
}

#[test]
fn a_corrupt_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    std::fs::write(&path, "{\"version\": 1, \"keys\": [{\"prefix\": \"x\"}]}").unwrap();
    assert!(KeyStore::open(&path, &SecretBytes::new(SERVER_SECRET)).is_err());
    std::fs::write(&path, "{\"version\": 9, \"keys\": []}").unwrap();
    assert!(KeyStore::open(&path, &SecretBytes::new(SERVER_SECRET)).is_err());
}
