//! The cache of verified tokens: a token's second use skips the signature check, but
//! expiry, revocation and key rotation still apply to it.

use std::time::Duration;

use sallyport_identity::jwt::JwksSource;
use sallyport_identity::{AuthError, JwtAuthenticator};

use super::support::{TestKey, claims, jwks, jwt_config, now, rsa_key};

fn file_authenticator(dir: &std::path::Path, keys: &[&TestKey]) -> JwtAuthenticator {
    let path = dir.join("jwks.json");
    std::fs::write(&path, jwks(keys).to_string()).unwrap();
    JwtAuthenticator::from_config(&jwt_config(Some(JwksSource::File { path }))).unwrap()
}

#[test]
fn a_cached_token_still_expires() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = file_authenticator(dir.path(), &[rsa_key()]);
    let token = rsa_key().sign(&claims()); // exp = now + 3600, skew 60
    assert!(jwt.verify_cached(&token, now()).is_ok());
    assert!(
        jwt.verify_cached(&token, now()).is_ok(),
        "served from the cache"
    );
    let later = now() + Duration::from_secs(3600 + 61);
    assert_eq!(
        jwt.verify_cached(&token, later).unwrap_err(),
        AuthError::Expired
    );
}

#[test]
fn revoking_a_jti_stops_a_cached_token() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = file_authenticator(dir.path(), &[rsa_key()]);
    let token = rsa_key().sign(&claims()); // jti token-1
    assert!(jwt.verify_cached(&token, now()).is_ok());
    jwt.verifier().revoke_jti("token-1");
    assert_eq!(
        jwt.verify_cached(&token, now()).unwrap_err(),
        AuthError::TokenRevoked
    );
}

#[tokio::test]
async fn a_key_removed_from_the_key_set_stops_tokens_it_signed_even_when_cached() {
    let dir = tempfile::tempdir().unwrap();
    let old = TestKey::ec("old");
    let new = TestKey::ec("new");
    let jwt = file_authenticator(dir.path(), &[&old]);
    let by_old = old.sign(&claims());
    assert!(jwt.verify_cached(&by_old, now()).is_ok());
    // The operator rotates: the old key leaves the set, and the set is reloaded.
    std::fs::write(dir.path().join("jwks.json"), jwks(&[&new]).to_string()).unwrap();
    assert!(jwt.verify(&new.sign(&claims()), now()).await.is_ok());
    assert_eq!(
        jwt.verify_cached(&by_old, now()).unwrap_err(),
        AuthError::UnknownKey
    );
}

#[test]
fn a_forged_token_is_never_served_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = file_authenticator(dir.path(), &[rsa_key()]);
    let token = rsa_key().sign(&claims());
    assert!(jwt.verify_cached(&token, now()).is_ok());
    // Same header and payload, another signature: a different token, fully checked.
    let (signed, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{signed}.{}", "A".repeat(342));
    assert_eq!(
        jwt.verify_cached(&forged, now()).unwrap_err(),
        AuthError::InvalidSignature
    );
}
