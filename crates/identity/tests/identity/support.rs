//! Test fixtures: keys generated at test time, token minting, JWKS documents, a local
//! JWKS/OIDC HTTP server that counts requests, and certificates.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sallyport_identity::jwt::{ClaimMapping, JwksSource, JwtAlgorithm, JwtConfig};
use serde_json::{Value, json};

pub(crate) const ISSUER: &str = "https://idp.example.com";
pub(crate) const AUDIENCE: &str = "https://mcp.example.com/mcp";

/// A fixed "now" so tests do not depend on the wall clock.
pub(crate) fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_900_000_000)
}

pub(crate) fn unix(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A signing key generated at test time, with its public JWK.
pub(crate) struct TestKey {
    pub(crate) alg: Algorithm,
    pub(crate) kid: String,
    pub(crate) encoding: EncodingKey,
    pub(crate) jwk: Value,
    pub(crate) public_pem: String,
}

impl TestKey {
    pub(crate) fn rsa(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let encoding = EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes()).unwrap();
        let jwk =
            serde_json::to_value(Jwk::from_encoding_key(&encoding, Algorithm::RS256).unwrap())
                .unwrap();
        Self::finish(Algorithm::RS256, kid, encoding, jwk, &pair)
    }

    pub(crate) fn ec(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let encoding = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes()).unwrap();
        let point = pair.public_key_raw(); // 0x04 || X || Y
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        Self::finish(Algorithm::ES256, kid, encoding, jwk, &pair)
    }

    pub(crate) fn ed25519(kid: &str) -> Self {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let encoding = EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes()).unwrap();
        let jwk = json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
            "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw()),
        });
        Self::finish(Algorithm::EdDSA, kid, encoding, jwk, &pair)
    }

    fn finish(
        alg: Algorithm,
        kid: &str,
        encoding: EncodingKey,
        mut jwk: Value,
        pair: &rcgen::KeyPair,
    ) -> Self {
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        Self {
            alg,
            kid: kid.to_owned(),
            encoding,
            jwk,
            public_pem: pair.public_key_pem(),
        }
    }

    /// Signs `claims` with this key, naming its `kid`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// Signs `claims` with no `kid` in the header.
    pub(crate) fn sign_without_kid(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&Header::new(self.alg), claims, &self.encoding).unwrap()
    }
}

/// RSA generation is slow; share one RSA key per test binary.
pub(crate) fn rsa_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| TestKey::rsa("rsa-1"))
}

pub(crate) fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

/// Valid claims at [`now`]: one hour left, the test issuer and audience.
pub(crate) fn claims() -> Value {
    let now = unix(now());
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now - 60,
        "exp": now + 3600,
        "jti": "token-1",
        "roles": ["developer"],
        "scope": "tools:read tools:call",
    })
}

/// A config accepting the test issuer and audience with keys from `keys`.
pub(crate) fn jwt_config(keys: Option<JwksSource>) -> JwtConfig {
    serde_json::from_value::<JwtConfig>(json!({ "issuers": [ISSUER], "audience": AUDIENCE }))
        .map(|mut config| {
            config.keys = keys;
            config.claims = ClaimMapping::default();
            config
        })
        .unwrap()
}

pub(crate) fn with_algorithms(mut config: JwtConfig, algorithms: &[JwtAlgorithm]) -> JwtConfig {
    config.algorithms = algorithms.to_vec();
    config
}

/// A JWKS + OIDC discovery server on 127.0.0.1 that counts requests.
pub(crate) struct IdentityProvider {
    pub(crate) base: String,
    state: Arc<ProviderState>,
}

struct ProviderState {
    jwks: Mutex<Value>,
    issuer: Mutex<String>,
    jwks_hits: AtomicUsize,
    discovery_hits: AtomicUsize,
    base: String,
}

impl IdentityProvider {
    pub(crate) async fn start(jwks: Value) -> Self {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let state = Arc::new(ProviderState {
            jwks: Mutex::new(jwks),
            issuer: Mutex::new(base.clone()),
            jwks_hits: AtomicUsize::new(0),
            discovery_hits: AtomicUsize::new(0),
            base: base.clone(),
        });
        let jwks_state = Arc::clone(&state);
        let discovery_state = Arc::clone(&state);
        let router = axum::Router::new()
            .route(
                "/jwks",
                get(move || {
                    let state = Arc::clone(&jwks_state);
                    async move {
                        state.jwks_hits.fetch_add(1, Ordering::SeqCst);
                        axum::Json(state.jwks.lock().unwrap().clone())
                    }
                }),
            )
            .route(
                "/.well-known/openid-configuration",
                get(move || {
                    let state = Arc::clone(&discovery_state);
                    async move {
                        state.discovery_hits.fetch_add(1, Ordering::SeqCst);
                        let issuer = state.issuer.lock().unwrap().clone();
                        axum::Json(
                            json!({ "issuer": issuer, "jwks_uri": format!("{}/jwks", state.base) }),
                        )
                    }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { base, state }
    }

    pub(crate) fn set_jwks(&self, jwks: Value) {
        *self.state.jwks.lock().unwrap() = jwks;
    }

    pub(crate) fn set_issuer(&self, issuer: &str) {
        *self.state.issuer.lock().unwrap() = issuer.to_owned();
    }

    pub(crate) fn jwks_hits(&self) -> usize {
        self.state.jwks_hits.load(Ordering::SeqCst)
    }

    pub(crate) fn discovery_hits(&self) -> usize {
        self.state.discovery_hits.load(Ordering::SeqCst)
    }
}

/// A CA and leaf certificates signed by it.
pub(crate) struct TestCa {
    pub(crate) cert_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

pub(crate) struct Leaf {
    pub(crate) der: Vec<u8>,
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

impl TestCa {
    pub(crate) fn new(name: &str) -> Self {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
        ];
        let cert = params.self_signed(&key).unwrap();
        Self {
            cert_pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// A client certificate with these SANs (`spiffe://…` become URIs, others DNS) and CN.
    pub(crate) fn client(&self, sans: &[&str], cn: Option<&str>) -> Leaf {
        self.leaf(sans, cn, rcgen::ExtendedKeyUsagePurpose::ClientAuth, None)
    }

    pub(crate) fn leaf(
        &self,
        sans: &[&str],
        cn: Option<&str>,
        usage: rcgen::ExtendedKeyUsagePurpose,
        not_after: Option<(i32, u8, u8)>,
    ) -> Leaf {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        if let Some(cn) = cn {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, cn);
        }
        params.subject_alt_names = sans
            .iter()
            .map(|san| {
                if san.contains("://") {
                    rcgen::SanType::URI((*san).try_into().unwrap())
                } else {
                    rcgen::SanType::DnsName((*san).try_into().unwrap())
                }
            })
            .collect();
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        if let Some((y, m, d)) = not_after {
            params.not_before = rcgen::date_time_ymd(y - 1, m, d);
            params.not_after = rcgen::date_time_ymd(y, m, d);
        }
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            der: cert.der().to_vec(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}
