//! Key sets fetched from a real local HTTP server: caching, refresh on unknown `kid`,
//! the refresh rate bound, OIDC discovery, and failure handling.

use std::sync::Arc;
use std::time::Duration;

use sallyport_identity::jwt::{JwksSource, JwtAlgorithm};
use sallyport_identity::{AuthError, JwtAuthenticator};
use serde_json::json;

use super::support::{
    IdentityProvider, TestKey, claims, jwks, jwt_config, now, rsa_key, with_algorithms,
};

fn url_authenticator(idp: &IdentityProvider) -> JwtAuthenticator {
    let config = jwt_config(Some(JwksSource::Url {
        url: format!("{}/jwks", idp.base),
    }));
    JwtAuthenticator::from_config(&config).unwrap()
}

#[tokio::test]
async fn keys_are_fetched_once_and_cached() {
    let idp = IdentityProvider::start(jwks(&[rsa_key()])).await;
    let jwt = url_authenticator(&idp);
    assert_eq!(
        idp.jwks_hits(),
        0,
        "nothing is fetched before the first token"
    );
    let token = rsa_key().sign(&claims());
    for _ in 0..5 {
        assert_eq!(jwt.verify(&token, now()).await.unwrap().id, "alice");
    }
    assert_eq!(idp.jwks_hits(), 1);
    assert_eq!(jwt.fetch_count(), 1);
}

#[tokio::test]
async fn an_unknown_kid_triggers_one_refresh_that_finds_a_rotated_key() {
    let idp = IdentityProvider::start(jwks(&[rsa_key()])).await;
    let jwt = url_authenticator(&idp);
    jwt.verify(&rsa_key().sign(&claims()), now()).await.unwrap();

    let rotated = TestKey::ec("ec-rotated");
    idp.set_jwks(jwks(&[rsa_key(), &rotated]));
    let later = now() + Duration::from_secs(120);
    assert_eq!(
        jwt.verify(&rotated.sign(&claims()), later)
            .await
            .unwrap()
            .id,
        "alice"
    );
    assert_eq!(idp.jwks_hits(), 2);
}

#[tokio::test]
async fn refreshes_are_rate_bounded() {
    let idp = IdentityProvider::start(jwks(&[rsa_key()])).await;
    let jwt = url_authenticator(&idp); // min_refresh_interval_secs: 60
    jwt.verify(&rsa_key().sign(&claims()), now()).await.unwrap();
    assert_eq!(idp.jwks_hits(), 1);

    // A flood of tokens with random kids: at most one refresh per interval.
    let t1 = now() + Duration::from_secs(61);
    for i in 0..20 {
        let stranger = TestKey::ec(&format!("unknown-{i}"));
        let error = jwt.verify(&stranger.sign(&claims()), t1).await.unwrap_err();
        assert_eq!(error, AuthError::UnknownKey);
    }
    assert_eq!(idp.jwks_hits(), 2, "one refresh for the whole flood");

    let within = t1 + Duration::from_secs(59);
    let stranger = TestKey::ec("unknown-again");
    assert_eq!(
        jwt.verify(&stranger.sign(&claims()), within)
            .await
            .unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!(idp.jwks_hits(), 2);

    let after = t1 + Duration::from_secs(60);
    assert_eq!(
        jwt.verify(&stranger.sign(&claims()), after)
            .await
            .unwrap_err(),
        AuthError::UnknownKey
    );
    assert_eq!(
        idp.jwks_hits(),
        3,
        "the next interval allows one more refresh"
    );
}

#[tokio::test]
async fn concurrent_requests_with_a_new_kid_share_one_fetch() {
    let idp = IdentityProvider::start(jwks(&[rsa_key()])).await;
    let jwt = Arc::new(url_authenticator(&idp));
    jwt.verify(&rsa_key().sign(&claims()), now()).await.unwrap();
    let rotated = Arc::new(TestKey::ed25519("ed-rotated"));
    idp.set_jwks(jwks(&[rsa_key(), &rotated]));
    let later = now() + Duration::from_secs(300);
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let jwt = Arc::clone(&jwt);
            let token = rotated.sign(&claims());
            tokio::spawn(async move { jwt.verify(&token, later).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(idp.jwks_hits(), 2);
}

#[tokio::test]
async fn rejected_headers_never_cause_a_fetch() {
    let idp = IdentityProvider::start(jwks(&[rsa_key()])).await;
    let config = with_algorithms(
        jwt_config(Some(JwksSource::Url {
            url: format!("{}/jwks", idp.base),
        })),
        &[JwtAlgorithm::Rs256],
    );
    let jwt = JwtAuthenticator::from_config(&config).unwrap();
    let none = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.";
    assert_eq!(
        jwt.verify(none, now()).await.unwrap_err(),
        AuthError::AlgorithmNotAllowed
    );
    let es256 = TestKey::ec("x").sign(&claims());
    assert_eq!(
        jwt.verify(&es256, now()).await.unwrap_err(),
        AuthError::AlgorithmNotAllowed
    );
    assert_eq!(
        jwt.verify("x.y", now()).await.unwrap_err(),
        AuthError::Malformed
    );
    assert_eq!(idp.jwks_hits(), 0);
}

#[tokio::test]
async fn old_key_sets_are_refreshed_and_kept_when_the_provider_fails() {
    let idp = IdentityProvider::start(jwks(&[rsa_key()])).await;
    let jwt = url_authenticator(&idp); // max_key_age_secs: 3600
    let token = rsa_key().sign(&claims());
    jwt.verify(&token, now()).await.unwrap();
    jwt.verify(&token, now() + Duration::from_secs(3599))
        .await
        .unwrap();
    assert_eq!(idp.jwks_hits(), 1);

    // Stale: refreshed on the next request. The document is now broken: keep the old keys.
    idp.set_jwks(json!({ "keys": "broken" }));
    let stale = now() + Duration::from_secs(3600);
    let mut claims_later = claims();
    claims_later["exp"] = json!(super::support::unix(stale) + 600);
    assert!(
        jwt.verify(&rsa_key().sign(&claims_later), stale)
            .await
            .is_ok()
    );
    assert_eq!(idp.jwks_hits(), 2);
}

#[tokio::test]
async fn an_unreachable_provider_without_cached_keys_is_unavailable() {
    let idp = IdentityProvider::start(json!({ "keys": [] })).await;
    let jwt = url_authenticator(&idp);
    let error = jwt
        .verify(&rsa_key().sign(&claims()), now())
        .await
        .unwrap_err();
    assert_eq!(error, AuthError::KeysUnavailable);
    assert_eq!(error.http_status(), 503);
}

#[tokio::test]
async fn oidc_discovery_finds_the_jwks_uri() {
    let idp = IdentityProvider::start(jwks(&[rsa_key()])).await;
    let mut config = jwt_config(Some(JwksSource::OidcDiscovery {
        issuer: idp.base.clone(),
    }));
    config.issuers = vec![idp.base.clone()];
    let jwt = JwtAuthenticator::from_config(&config).unwrap();
    let mut token_claims = claims();
    token_claims["iss"] = json!(idp.base);
    assert_eq!(
        jwt.verify(&rsa_key().sign(&token_claims), now())
            .await
            .unwrap()
            .id,
        "alice"
    );
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (1, 1));
    assert_eq!(jwt.refresh(now()).await.unwrap(), 1);
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (2, 2));
}

#[tokio::test]
async fn oidc_discovery_refuses_a_different_issuer() {
    let idp = IdentityProvider::start(jwks(&[rsa_key()])).await;
    idp.set_issuer("https://attacker.example.com");
    let mut config = jwt_config(Some(JwksSource::OidcDiscovery {
        issuer: idp.base.clone(),
    }));
    config.issuers = vec![idp.base.clone()];
    let jwt = JwtAuthenticator::from_config(&config).unwrap();
    let error = jwt.refresh(now()).await.unwrap_err();
    assert!(
        error.to_string().contains("issuer does not match"),
        "{error}"
    );
    assert_eq!(
        idp.jwks_hits(),
        0,
        "keys of a mismatched issuer are not even fetched"
    );
    let mut token_claims = claims();
    token_claims["iss"] = json!(idp.base);
    let later = now() + Duration::from_secs(120);
    let error = jwt
        .verify(&rsa_key().sign(&token_claims), later)
        .await
        .unwrap_err();
    assert_eq!(error, AuthError::KeysUnavailable);
}

#[tokio::test]
async fn key_urls_must_be_https_or_loopback() {
    for url in [
        "http://idp.example.com/jwks",
        "ftp://127.0.0.1/jwks",
        "file:///etc/jwks.json",
    ] {
        let config = jwt_config(Some(JwksSource::Url { url: url.into() }));
        assert!(JwtAuthenticator::from_config(&config).is_err(), "{url}");
    }
    let config = jwt_config(Some(JwksSource::Url {
        url: "https://idp.example.com/jwks".into(),
    }));
    assert!(JwtAuthenticator::from_config(&config).is_ok());
}

#[tokio::test]
async fn a_file_key_set_is_read_at_build_and_reread_on_unknown_kid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&[rsa_key()]).to_string()).unwrap();
    let jwt =
        JwtAuthenticator::from_config(&jwt_config(Some(JwksSource::File { path: path.clone() })))
            .unwrap();
    assert_eq!(jwt.key_set().len(), 1);
    assert!(jwt.verify_cached(&rsa_key().sign(&claims()), now()).is_ok());

    let rotated = TestKey::ec("ec-file");
    std::fs::write(&path, jwks(&[rsa_key(), &rotated]).to_string()).unwrap();
    assert_eq!(
        jwt.verify(&rotated.sign(&claims()), now())
            .await
            .unwrap()
            .id,
        "alice"
    );

    std::fs::write(&path, "[]").unwrap();
    let missing = dir.path().join("missing.json");
    assert!(
        JwtAuthenticator::from_config(&jwt_config(Some(JwksSource::File { path: missing })))
            .is_err()
    );
}
