//! The per-listener authenticator built from configuration: method selection,
//! anonymous access, 401/403 decisions and challenges.

use std::sync::Arc;
use std::time::SystemTime;

use sallyport_identity::api_key::NewApiKey;
use sallyport_identity::{
    AuthConfig, AuthError, AuthRequest, Authenticator, IdentityKind, KeyStore, SecretBytes,
};
use serde_json::json;

use super::support::{AUDIENCE, ISSUER, TestCa, claims, jwks, now, rsa_key};

fn request<'a>() -> AuthRequest<'a> {
    AuthRequest {
        authorization: None,
        x_api_key: None,
        peer_certificate: None,
        source_ip: Some("192.0.2.1".parse().unwrap()),
        now: now(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    config: AuthConfig,
}

/// A config with every method, from YAML-like JSON, as an operator would write it.
fn fixture(allow_anonymous: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(&jwks_path, jwks(&[rsa_key()]).to_string()).unwrap();
    let secret_path = dir.path().join("hmac.key");
    std::fs::write(&secret_path, "an-hmac-secret-that-is-32-bytes-long\n").unwrap();
    let ca = TestCa::new("Test CA");
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca.cert_pem).unwrap();
    let config: AuthConfig = serde_json::from_value(json!({
        "jwt": {
            "issuers": [ISSUER],
            "audience": AUDIENCE,
            "keys": { "type": "file", "path": jwks_path },
            "claims": { "role_mapping": { "roles": { "admin": "mcp_admin" }, "default_role": "mcp_guest" } }
        },
        "api_keys": { "store_path": dir.path().join("keys.json"), "hmac_secret": { "type": "file", "path": secret_path } },
        "mtls": { "client_ca_path": ca_path, "services": [{ "name": "docker-server", "dns_names": ["docker-server.mcp.local"] }] },
        "allow_anonymous": allow_anonymous,
        "resource": { "resource": AUDIENCE, "authorization_servers": [ISSUER], "scopes_supported": ["tools:call"] }
    }))
    .unwrap();
    Fixture { _dir: dir, config }
}

#[tokio::test]
async fn each_method_yields_its_identity() {
    let fixture = fixture(false);
    let authenticator = fixture.config.build().unwrap();

    let bearer = format!("Bearer {}", rsa_key().sign(&claims()));
    let user = authenticator
        .authenticate(&AuthRequest {
            authorization: Some(&bearer),
            ..request()
        })
        .await
        .unwrap();
    assert_eq!((user.id.as_str(), user.kind), ("alice", IdentityKind::User));
    assert_eq!(
        user.roles,
        ["mcp_guest"],
        "developer is unmapped in this listener's table"
    );
    assert_eq!(user.attributes.source_ip, request().source_ip);

    let store = authenticator.api_keys().unwrap();
    let (key, _) = store.create(NewApiKey::service("script"), now()).unwrap();
    let via_header = AuthRequest {
        x_api_key: Some(key.expose()),
        ..request()
    };
    assert_eq!(
        authenticator.authenticate(&via_header).await.unwrap().id,
        "api_key:script"
    );
    let bearer_key = format!("Bearer {}", key.expose());
    let via_bearer = AuthRequest {
        authorization: Some(&bearer_key),
        ..request()
    };
    assert_eq!(
        authenticator.authenticate(&via_bearer).await.unwrap().id,
        "api_key:script"
    );

    let ca_pem =
        std::fs::read_to_string(&fixture.config.mtls.as_ref().unwrap().client_ca_path).unwrap();
    assert!(ca_pem.contains("BEGIN CERTIFICATE"));
}

#[tokio::test]
async fn mtls_is_used_when_no_header_credential_is_present() {
    let ca = TestCa::new("Test CA");
    let registry = sallyport_identity::mtls::ServiceRegistry::new(vec![
        serde_json::from_value(
            json!({ "name": "docker-server", "dns_names": ["docker-server.mcp.local"] }),
        )
        .unwrap(),
    ])
    .unwrap();
    let authenticator =
        Authenticator::new().with_mtls(sallyport_identity::MtlsAuthenticator::new(registry));
    let leaf = ca.client(&["docker-server.mcp.local"], None);
    let with_cert = AuthRequest {
        peer_certificate: Some(&leaf.der),
        now: SystemTime::now(),
        ..request()
    };
    let identity = authenticator.authenticate(&with_cert).await.unwrap();
    assert_eq!(
        (identity.id.as_str(), identity.kind),
        ("docker-server", IdentityKind::Service)
    );
    assert_eq!(
        authenticator.authenticate(&request()).await.unwrap_err(),
        AuthError::MissingCredentials
    );
}

#[tokio::test]
async fn anonymous_only_when_allowed_and_never_after_a_bad_credential() {
    let closed = fixture(false);
    let closed = closed.config.build().unwrap();
    let error = closed.authenticate(&request()).await.unwrap_err();
    assert_eq!(
        (error.reason(), error.http_status()),
        ("missing_credentials", 401)
    );

    let open = fixture(true);
    let open = open.config.build().unwrap();
    let guest = open.authenticate(&request()).await.unwrap();
    assert_eq!(
        (guest.id.as_str(), guest.kind),
        ("anonymous", IdentityKind::Anonymous)
    );
    assert_eq!(guest.roles, ["mcp_guest"]);
    assert_eq!(guest.to_pipeline_principal().auth_method, "none");

    let mut wrong_audience = claims();
    wrong_audience["aud"] = json!("https://other.example/mcp");
    let bearer = format!("Bearer {}", rsa_key().sign(&wrong_audience));
    let error = open
        .authenticate(&AuthRequest {
            authorization: Some(&bearer),
            ..request()
        })
        .await
        .unwrap_err();
    assert_eq!(error, AuthError::WrongAudience);
}

#[tokio::test]
async fn a_credential_for_a_disabled_method_is_refused() {
    let authenticator = Authenticator::new().allow_anonymous(true);
    let key = AuthRequest {
        x_api_key: Some("sp_abcd1234_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ..request()
    };
    assert_eq!(
        authenticator.authenticate(&key).await.unwrap_err(),
        AuthError::MethodNotEnabled { method: "api_key" }
    );
    let jwt = AuthRequest {
        authorization: Some("Bearer a.b.c"),
        ..request()
    };
    assert_eq!(
        authenticator.authenticate(&jwt).await.unwrap_err(),
        AuthError::MethodNotEnabled { method: "jwt" }
    );
}

#[test]
fn challenges_name_the_resource_metadata() {
    let fixture = fixture(false);
    let authenticator = fixture.config.build().unwrap();
    let url = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    assert_eq!(
        authenticator
            .www_authenticate(&AuthError::MissingCredentials)
            .unwrap(),
        format!(r#"Bearer resource_metadata="{url}", scope="tools:call""#)
    );
    assert_eq!(
        authenticator.www_authenticate(&AuthError::Expired).unwrap(),
        format!(r#"Bearer error="invalid_token", resource_metadata="{url}", scope="tools:call""#)
    );
    assert_eq!(
        authenticator.www_authenticate(&AuthError::SourceNotAllowed),
        None
    );
    let paths = authenticator
        .protected_resource_metadata()
        .unwrap()
        .well_known_paths();
    assert_eq!(
        paths,
        [
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource"
        ]
    );
    assert_eq!(
        Authenticator::new()
            .www_authenticate(&AuthError::Expired)
            .unwrap(),
        r#"Bearer error="invalid_token""#
    );
}

#[test]
fn identities_convert_to_pipeline_principals() {
    let guest = sallyport_identity::Identity::anonymous(None, now());
    let principal = sallyport_pipeline::Principal::from(&guest);
    assert_eq!(principal.kind, sallyport_pipeline::PrincipalKind::Anonymous);
    assert_eq!(principal.roles, ["mcp_guest"]);
    let json = serde_json::to_value(&guest).unwrap();
    assert_eq!(json["attributes"]["auth_method"], "none");
    assert_eq!(
        json["attributes"]["auth_time"],
        json!(super::support::unix(now()))
    );
}

#[test]
fn configuration_is_strict_and_checked() {
    let unknown =
        serde_json::from_value::<AuthConfig>(json!({ "allow_anonymous": true, "alow": 1 }));
    assert!(unknown.is_err());
    assert!(
        AuthConfig::default().build().is_err(),
        "no method and no anonymous access"
    );

    let mut mismatch = fixture(false);
    mismatch.config.resource.as_mut().unwrap().resource = "https://elsewhere.example/mcp".into();
    let error = mismatch.config.build().unwrap_err();
    assert!(error.to_string().contains("auth.jwt.audience"), "{error}");

    let missing_env = serde_json::from_value::<AuthConfig>(json!({
        "api_keys": { "store_path": "/nonexistent/keys.json", "hmac_secret": { "type": "env", "var": "SALLYPORT_TEST_UNSET_VAR" } }
    }))
    .unwrap();
    assert!(missing_env.build().is_err());

    let schema = serde_json::to_value(schemars::schema_for!(AuthConfig)).unwrap();
    assert_eq!(schema["additionalProperties"], json!(false));
    assert!(schema.to_string().contains("canonical URI"));
}

#[test]
fn secrets_never_show_in_debug_output() {
    let secret = SecretBytes::new(*b"super-secret-value-super-secret-value");
    assert_eq!(format!("{secret:?}"), "<redacted>");
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(KeyStore::open(dir.path().join("k.json"), &secret).unwrap());
    assert!(!format!("{store:?}").contains("super-secret"));
    let (key, _) = store.create(NewApiKey::service("x"), now()).unwrap();
    let request = AuthRequest {
        x_api_key: Some(key.expose()),
        ..request()
    };
    assert!(!format!("{request:?}").contains(key.expose()));
}

#[test]
fn the_authenticator_can_be_shared_across_tasks() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: T) {}
    let authenticator = Authenticator::new().allow_anonymous(true);
    assert_send_sync(&authenticator);
    let request = request();
    assert_send(authenticator.authenticate(&request));
}
