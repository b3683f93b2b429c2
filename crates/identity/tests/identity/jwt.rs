//! JWT verification against a key set: every acceptance and rejection case.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sallyport_identity::jwt::{JwtAlgorithm, KeySet};
use sallyport_identity::{AuthError, AuthMethod, IdentityKind, JwtVerifier, SecretRef};
use serde_json::{Value, json};

use super::support::{
    AUDIENCE, ISSUER, TestKey, claims, jwks, jwt_config, now, rsa_key, unix, with_algorithms,
};

fn verifier() -> JwtVerifier {
    JwtVerifier::from_config(&jwt_config(None).with_test_keys()).unwrap()
}

trait WithTestKeys {
    fn with_test_keys(self) -> Self;
}

impl WithTestKeys for sallyport_identity::JwtConfig {
    fn with_test_keys(mut self) -> Self {
        self.keys = Some(sallyport_identity::jwt::JwksSource::File {
            path: "unused.json".into(),
        });
        self
    }
}

fn key_set(keys: &[&TestKey]) -> KeySet {
    KeySet::from_jwks_json(jwks(keys).to_string().as_bytes(), 32).unwrap()
}

fn verify(token: &str) -> Result<sallyport_identity::Identity, AuthError> {
    let ec = ec_key();
    let ed = ed_key();
    verifier().verify(token, &key_set(&[rsa_key(), ec, ed]), now())
}

fn ec_key() -> &'static TestKey {
    static KEY: std::sync::OnceLock<TestKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| TestKey::ec("ec-1"))
}

fn ed_key() -> &'static TestKey {
    static KEY: std::sync::OnceLock<TestKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| TestKey::ed25519("ed-1"))
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

#[test]
fn rs256_es256_and_eddsa_tokens_are_accepted() {
    for key in [rsa_key(), ec_key(), ed_key()] {
        let identity = verify(&key.sign(&claims())).unwrap();
        assert_eq!(identity.id, "alice");
        assert_eq!(identity.kind, IdentityKind::User);
        assert_eq!(
            identity.roles,
            ["mcp_operator"],
            "developer maps to mcp_operator"
        );
        assert_eq!(identity.attributes.auth_method, AuthMethod::Jwt);
        assert_eq!(identity.attributes.scopes, ["tools:read", "tools:call"]);
        assert_eq!(identity.attributes.issuer.as_deref(), Some(ISSUER));
        assert_eq!(
            identity.attributes.credential_id.as_deref(),
            Some("token-1")
        );
        assert_eq!(
            unix(identity.attributes.expires_at.unwrap()),
            unix(now()) + 3600
        );
    }
}

#[test]
fn expired_tokens_are_rejected_beyond_the_clock_skew() {
    let t = unix(now());
    let expired = rsa_key().sign(&with(claims(), "exp", json!(t - 61)));
    assert_eq!(verify(&expired).unwrap_err(), AuthError::Expired);
    let within_skew = rsa_key().sign(&with(claims(), "exp", json!(t - 30)));
    assert!(verify(&within_skew).is_ok());
    assert_eq!(AuthError::Expired.http_status(), 401);
    assert_eq!(AuthError::Expired.reason(), "token_expired");
}

#[test]
fn not_yet_valid_tokens_are_rejected_beyond_the_clock_skew() {
    let t = unix(now());
    let early = rsa_key().sign(&with(claims(), "nbf", json!(t + 120)));
    assert_eq!(verify(&early).unwrap_err(), AuthError::NotYetValid);
    let within_skew = rsa_key().sign(&with(claims(), "nbf", json!(t + 30)));
    assert!(verify(&within_skew).is_ok());
}

#[test]
fn exp_is_required_and_must_be_a_number() {
    let no_exp = rsa_key().sign(&without(claims(), "exp"));
    assert_eq!(
        verify(&no_exp).unwrap_err(),
        AuthError::MissingClaim { claim: "exp" }
    );
    let text_exp = rsa_key().sign(&with(claims(), "exp", json!("tomorrow")));
    assert_eq!(
        verify(&text_exp).unwrap_err(),
        AuthError::InvalidClaim { claim: "exp" }
    );
}

#[test]
fn tokens_for_another_audience_are_rejected() {
    let other = rsa_key().sign(&with(
        claims(),
        "aud",
        json!("https://other.example.com/mcp"),
    ));
    assert_eq!(verify(&other).unwrap_err(), AuthError::WrongAudience);
    let others = rsa_key().sign(&with(
        claims(),
        "aud",
        json!(["https://a.example", "https://b.example"]),
    ));
    assert_eq!(verify(&others).unwrap_err(), AuthError::WrongAudience);
    let no_aud = rsa_key().sign(&without(claims(), "aud"));
    assert_eq!(
        verify(&no_aud).unwrap_err(),
        AuthError::MissingClaim { claim: "aud" }
    );
    // A trailing slash is another URI: exact match only.
    let slash = rsa_key().sign(&with(claims(), "aud", json!(format!("{AUDIENCE}/"))));
    assert_eq!(verify(&slash).unwrap_err(), AuthError::WrongAudience);
    let ours_among_others = rsa_key().sign(&with(
        claims(),
        "aud",
        json!(["https://a.example", AUDIENCE]),
    ));
    assert!(verify(&ours_among_others).is_ok());
}

#[test]
fn tokens_from_another_issuer_are_rejected() {
    let other = rsa_key().sign(&with(claims(), "iss", json!("https://evil.example.com")));
    assert_eq!(verify(&other).unwrap_err(), AuthError::WrongIssuer);
    let no_iss = rsa_key().sign(&without(claims(), "iss"));
    assert_eq!(
        verify(&no_iss).unwrap_err(),
        AuthError::MissingClaim { claim: "iss" }
    );
    let array_iss = rsa_key().sign(&with(claims(), "iss", json!([ISSUER])));
    assert_eq!(
        verify(&array_iss).unwrap_err(),
        AuthError::InvalidClaim { claim: "iss" }
    );
}

#[test]
fn unknown_kid_is_rejected() {
    let stranger = TestKey::ec("not-in-set");
    assert_eq!(
        verify(&stranger.sign(&claims())).unwrap_err(),
        AuthError::UnknownKey
    );
}

#[test]
fn a_known_kid_with_a_foreign_key_fails_the_signature() {
    let impostor = TestKey::ec("ec-1");
    assert_eq!(
        verify(&impostor.sign(&claims())).unwrap_err(),
        AuthError::InvalidSignature
    );
}

#[test]
fn tampered_payloads_fail_the_signature() {
    let token = rsa_key().sign(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = b64(&with(claims(), "roles", json!(["admin"])));
    let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
    assert_eq!(verify(&tampered).unwrap_err(), AuthError::InvalidSignature);
}

#[test]
fn alg_none_is_rejected_in_every_spelling() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": "rsa-1" });
        for signature in ["", "AAAA"] {
            let token = format!("{}.{}.{signature}", b64(&header), b64(&claims()));
            assert_eq!(
                verify(&token).unwrap_err(),
                AuthError::AlgorithmNotAllowed,
                "{alg}"
            );
        }
    }
}

#[test]
fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    // The classic confusion: HMAC keyed with the (public) RSA key, naming the RSA kid.
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(rsa_key().kid.clone());
    let secret = EncodingKey::from_secret(rsa_key().public_pem.as_bytes());
    let forged = jsonwebtoken::encode(&header, &claims(), &secret).unwrap();
    assert_eq!(verify(&forged).unwrap_err(), AuthError::AlgorithmNotAllowed);

    // Even with HS256 enabled, only the configured secret is ever an HMAC key.
    let dir = tempfile::tempdir().unwrap();
    let secret_path = dir.path().join("hs256.key");
    std::fs::write(&secret_path, "0123456789abcdef0123456789abcdef-real").unwrap();
    let mut config = with_algorithms(
        jwt_config(None).with_test_keys(),
        &[JwtAlgorithm::Rs256, JwtAlgorithm::Hs256],
    );
    config.hs256_secret = Some(SecretRef::File { path: secret_path });
    let verifier = JwtVerifier::from_config(&config).unwrap();
    let keys = key_set(&[rsa_key()]);
    assert_eq!(
        verifier.verify(&forged, &keys, now()).unwrap_err(),
        AuthError::InvalidSignature
    );

    let genuine_secret = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef-real");
    let genuine =
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims(), &genuine_secret).unwrap();
    assert_eq!(verifier.verify(&genuine, &keys, now()).unwrap().id, "alice");
}

#[test]
fn hmac_keys_in_a_jwks_are_never_used() {
    let oct = json!({ "kty": "oct", "kid": "shared", "k": URL_SAFE_NO_PAD.encode(b"attacker-controlled-secret-bytes!!") });
    let document = json!({ "keys": [rsa_key().jwk.clone(), oct] });
    let keys = KeySet::from_jwks_json(document.to_string().as_bytes(), 32).unwrap();
    assert_eq!(keys.len(), 1);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("shared".into());
    let token = jsonwebtoken::encode(
        &header,
        &claims(),
        &EncodingKey::from_secret(b"attacker-controlled-secret-bytes!!"),
    )
    .unwrap();
    assert_eq!(
        verifier().verify(&token, &keys, now()).unwrap_err(),
        AuthError::AlgorithmNotAllowed
    );
}

#[test]
fn algorithms_outside_the_allowed_list_are_rejected() {
    let config = with_algorithms(jwt_config(None).with_test_keys(), &[JwtAlgorithm::Rs256]);
    let verifier = JwtVerifier::from_config(&config).unwrap();
    let keys = key_set(&[rsa_key(), ec_key()]);
    let es256 = ec_key().sign(&claims());
    assert_eq!(
        verifier.verify(&es256, &keys, now()).unwrap_err(),
        AuthError::AlgorithmNotAllowed
    );
    // An ES256 header naming the RSA key's kid is a confusion attempt too.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("rsa-1".into());
    let mismatched = jsonwebtoken::encode(&header, &claims(), &ec_key().encoding).unwrap();
    assert_eq!(
        verify(&mismatched).unwrap_err(),
        AuthError::AlgorithmNotAllowed
    );
}

#[test]
fn malformed_tokens_are_rejected() {
    let valid = rsa_key().sign(&claims());
    let parts: Vec<&str> = valid.split('.').collect();
    let crit = format!(
        "{}.{}.{}",
        b64(&json!({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]})),
        parts[1],
        parts[2]
    );
    let cases = [
        String::new(),
        "garbage".to_owned(),
        "a.b".to_owned(),
        format!("{valid}.extra"),
        format!("!!!.{}.{}", parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode("not json"),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            b64(&json!({"kid": "rsa-1"})),
            parts[1],
            parts[2]
        ),
        format!("{}.{}.", parts[0], parts[1]),
        format!("{}.{}.{}", parts[0], "%%%", parts[2]),
        crit,
        format!("{}.{}.{}", parts[0], "A".repeat(9000), parts[2]),
    ];
    for token in cases {
        let error = verify(&token).unwrap_err();
        assert!(
            matches!(error, AuthError::Malformed | AuthError::InvalidSignature),
            "{token:.40}: {error:?}"
        );
        assert_eq!(error.http_status(), 401);
    }
}

#[test]
fn revoked_jtis_are_rejected() {
    let mut config = jwt_config(None).with_test_keys();
    config.revoked_jtis = vec!["token-1".into()];
    let verifier = JwtVerifier::from_config(&config).unwrap();
    let keys = key_set(&[rsa_key()]);
    let token = rsa_key().sign(&claims());
    assert_eq!(
        verifier.verify(&token, &keys, now()).unwrap_err(),
        AuthError::TokenRevoked
    );

    let other = rsa_key().sign(&with(claims(), "jti", json!("token-2")));
    assert!(verifier.verify(&other, &keys, now()).is_ok());
    verifier.revoke_jti("token-2");
    assert_eq!(
        verifier.verify(&other, &keys, now()).unwrap_err(),
        AuthError::TokenRevoked
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("revoked.txt");
    std::fs::write(&file, "# revoked\n\ntoken-3\n").unwrap();
    let mut config = jwt_config(None).with_test_keys();
    config.revoked_jtis_file = Some(file);
    let verifier = JwtVerifier::from_config(&config).unwrap();
    let third = rsa_key().sign(&with(claims(), "jti", json!("token-3")));
    assert_eq!(
        verifier.verify(&third, &keys, now()).unwrap_err(),
        AuthError::TokenRevoked
    );
}

#[test]
fn claims_map_to_roles_tenant_device_and_scopes() {
    let mut config = jwt_config(None).with_test_keys();
    config.claims.roles_claim = "realm_access.roles".into();
    config.claims.tenant_claim = Some("tid".into());
    config.claims.device_id_claim = Some("https://example.com/device".into());
    let verifier = JwtVerifier::from_config(&config).unwrap();
    let keys = key_set(&[rsa_key()]);
    let mut token_claims = without(claims(), "scope");
    token_claims["realm_access"] = json!({ "roles": ["viewer", "admin", "intern"] });
    token_claims["tid"] = json!("acme");
    token_claims["https://example.com/device"] = json!("laptop-42");
    token_claims["scp"] = json!(["files:read"]);
    token_claims["acr"] = json!("urn:mfa");
    token_claims["amr"] = json!(["pwd", "otp"]);
    token_claims["auth_time"] = json!(unix(now()) - 100);
    let identity = verifier
        .verify(&rsa_key().sign(&token_claims), &keys, now())
        .unwrap();
    assert_eq!(identity.roles, ["mcp_readonly", "mcp_admin"]);
    assert_eq!(identity.tenant.as_deref(), Some("acme"));
    assert_eq!(identity.attributes.device_id.as_deref(), Some("laptop-42"));
    assert_eq!(identity.attributes.scopes, ["files:read"]);
    assert_eq!(identity.attributes.acr.as_deref(), Some("urn:mfa"));
    assert_eq!(identity.attributes.amr, ["pwd", "otp"]);
    assert_eq!(
        identity.attributes.auth_time,
        Some(now() - Duration::from_secs(100))
    );
}

#[test]
fn the_account_creation_claim_feeds_account_age_and_a_bad_one_is_refused() {
    let mut config = jwt_config(None).with_test_keys();
    config.claims.account_created_claim = Some("profile.created_at".into());
    let verifier = JwtVerifier::from_config(&config).unwrap();
    let keys = key_set(&[rsa_key()]);
    let created = unix(now()) - 400 * 86_400;
    let mut token_claims = claims();
    token_claims["profile"] = json!({ "created_at": created });
    let identity = verifier
        .verify(&rsa_key().sign(&token_claims), &keys, now())
        .unwrap();
    assert_eq!(
        identity.attributes.account_created,
        Some(now() - Duration::from_secs(400 * 86_400))
    );
    // Without the claim: no age, no error.
    let identity = verifier
        .verify(&rsa_key().sign(&claims()), &keys, now())
        .unwrap();
    assert_eq!(identity.attributes.account_created, None);
    // A claim that is not a time is refused, naming it.
    token_claims["profile"] = json!({ "created_at": "last spring" });
    assert_eq!(
        verifier
            .verify(&rsa_key().sign(&token_claims), &keys, now())
            .unwrap_err(),
        AuthError::InvalidClaim {
            claim: "account_created"
        }
    );
}

#[test]
fn unmapped_or_missing_roles_become_mcp_guest() {
    let intern = rsa_key().sign(&with(claims(), "roles", json!(["intern", "contractor"])));
    assert_eq!(verify(&intern).unwrap().roles, ["mcp_guest"]);
    let none = rsa_key().sign(&without(claims(), "roles"));
    assert_eq!(verify(&none).unwrap().roles, ["mcp_guest"]);
    let bad_type = rsa_key().sign(&with(claims(), "roles", json!({"admin": true})));
    assert_eq!(
        verify(&bad_type).unwrap_err(),
        AuthError::InvalidClaim { claim: "roles" }
    );
}

#[test]
fn a_subject_is_required() {
    let no_sub = rsa_key().sign(&without(claims(), "sub"));
    assert_eq!(
        verify(&no_sub).unwrap_err(),
        AuthError::MissingClaim { claim: "sub" }
    );
}

#[test]
fn tokens_without_kid_use_the_only_fitting_key() {
    assert!(verify(&ec_key().sign_without_kid(&claims())).is_ok());
    let second_ec = TestKey::ec("ec-2");
    let keys = key_set(&[ec_key(), &second_ec]);
    let token = ec_key().sign_without_kid(&claims());
    assert_eq!(
        verifier().verify(&token, &keys, now()).unwrap_err(),
        AuthError::UnknownKey
    );
}

#[test]
fn key_sets_are_bounded_and_filtered() {
    let many = json!({ "keys": vec![rsa_key().jwk.clone(); 5] });
    let error = KeySet::from_jwks_json(many.to_string().as_bytes(), 4).unwrap_err();
    assert!(
        error.to_string().contains("more than the maximum of 4"),
        "{error}"
    );
    let mut encryption = rsa_key().jwk.clone();
    encryption["use"] = json!("enc");
    let only_enc = json!({ "keys": [encryption] });
    assert!(KeySet::from_jwks_json(only_enc.to_string().as_bytes(), 4).is_err());
    assert!(KeySet::from_jwks_json(b"{\"keys\": 3}", 4).is_err());
    let unknown_kty = json!({ "keys": [{"kty": "XYZ", "kid": "x"}, ec_key().jwk.clone()] });
    assert_eq!(
        KeySet::from_jwks_json(unknown_kty.to_string().as_bytes(), 4)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn errors_never_contain_the_token() {
    let token = rsa_key().sign(&with(claims(), "aud", json!("https://other.example")));
    let error = verify(&token).unwrap_err();
    let signature = token.rsplit('.').next().unwrap();
    for rendered in [error.to_string(), format!("{error:?}")] {
        assert!(
            !rendered.contains(signature) && !rendered.contains("other.example"),
            "{rendered}"
        );
    }
}

#[test]
fn configuration_mistakes_are_refused() {
    let hs_without_secret =
        with_algorithms(jwt_config(None).with_test_keys(), &[JwtAlgorithm::Hs256]);
    assert!(JwtVerifier::from_config(&hs_without_secret).is_err());
    let mut secret_without_hs = jwt_config(None).with_test_keys();
    secret_without_hs.hs256_secret = Some(SecretRef::Env {
        var: "UNUSED".into(),
    });
    assert!(JwtVerifier::from_config(&secret_without_hs).is_err());
    let mut fragment = jwt_config(None).with_test_keys();
    fragment.audience = format!("{AUDIENCE}#frag");
    assert!(JwtVerifier::from_config(&fragment).is_err());
    let no_keys = jwt_config(None);
    assert!(JwtVerifier::from_config(&no_keys).is_err());

    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.key");
    std::fs::write(&short, "too-short").unwrap();
    let mut weak = with_algorithms(jwt_config(None), &[JwtAlgorithm::Hs256]);
    weak.hs256_secret = Some(SecretRef::File { path: short });
    let error = JwtVerifier::from_config(&weak).unwrap_err();
    assert!(error.to_string().contains("at least 32 bytes"), "{error}");
}
