//! Extracting credentials from header values.

use sallyport_identity::{AuthError, Credential};

#[test]
fn bearer_jwts_and_api_keys_are_told_apart() {
    let key = "sp_abcd1234_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        Credential::from_headers(Some("Bearer a.b.c"), None),
        Ok(Some(Credential::Jwt("a.b.c")))
    );
    assert_eq!(
        Credential::from_headers(Some("bearer   a.b.c "), None),
        Ok(Some(Credential::Jwt("a.b.c")))
    );
    assert_eq!(
        Credential::from_headers(Some(&format!("Bearer {key}")), None),
        Ok(Some(Credential::ApiKey(key)))
    );
    assert_eq!(
        Credential::from_headers(None, Some(key)),
        Ok(Some(Credential::ApiKey(key)))
    );
    assert_eq!(
        Credential::from_headers(Some(&format!("Bearer {key}")), Some(key)),
        Ok(Some(Credential::ApiKey(key)))
    );
    assert_eq!(Credential::from_headers(None, None), Ok(None));
}

#[test]
fn unusable_headers_are_errors() {
    let cases: [(Option<&str>, Option<&str>, AuthError); 9] = [
        (
            Some("Basic dXNlcjpwYXNz"),
            None,
            AuthError::UnsupportedScheme,
        ),
        (Some("Digest x"), None, AuthError::UnsupportedScheme),
        (Some("Bearer"), None, AuthError::Malformed),
        (Some("Bearer "), None, AuthError::Malformed),
        (Some(""), None, AuthError::Malformed),
        (Some("Bearer not-a-jwt"), None, AuthError::Malformed),
        (
            Some("Bearer a.b.c\r\nX-Injected: 1"),
            None,
            AuthError::Malformed,
        ),
        (None, Some("not-a-key"), AuthError::Malformed),
        (
            Some("Bearer a.b.c"),
            Some("sp_abcd1234_x"),
            AuthError::Malformed,
        ),
    ];
    for (authorization, api_key, expected) in cases {
        assert_eq!(
            Credential::from_headers(authorization, api_key),
            Err(expected.clone()),
            "{authorization:?} {api_key:?}"
        );
    }
    let huge = format!(
        "Bearer {}.b.c",
        "a".repeat(sallyport_identity::MAX_CREDENTIAL_BYTES)
    );
    assert_eq!(
        Credential::from_headers(Some(&huge), None),
        Err(AuthError::Malformed)
    );
}

#[test]
fn debug_output_redacts_the_credential() {
    let credential = Credential::Jwt("secret.token.value");
    assert_eq!(format!("{credential:?}"), "Jwt(<redacted>)");
}
