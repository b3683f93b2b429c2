//! Credentials made at start: signing keys and tokens, an API key, a client certificate.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::bail;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sallyport_identity::api_key::NewApiKey;
use sallyport_identity::mtls::ServiceAccount;
use sallyport_identity::{ApiKeyConfig, KeyStore, SecretBytes, SecretRef};
use serde_json::{Value, json};

use super::{AUDIENCE, ISSUER, SPIFFE_ID};

const HMAC_SECRET: &[u8] = b"bench-api-key-hmac-secret-of-32+-bytes";

/// Claims of a user token valid for a day around `now`; the asserted role `developer`
/// maps to the gateway role `mcp_operator` (the shipped `operator`).
pub(crate) fn claims(now: SystemTime) -> anyhow::Result<Value> {
    let t = now.duration_since(UNIX_EPOCH)?.as_secs();
    Ok(json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": t - 60,
        "exp": t + 86_400,
        "jti": "bench-token-1",
        "roles": ["developer"],
        "scope": "tools:read tools:call",
    }))
}

/// A signing key generated now, with its public JWK.
pub(crate) struct SigningKey {
    alg: Algorithm,
    kid: &'static str,
    encoding: EncodingKey,
    pub(crate) jwk: Value,
}

impl SigningKey {
    pub(crate) fn generate(alg: Algorithm, kid: &'static str) -> anyhow::Result<Self> {
        let (encoding, mut jwk) = match alg {
            Algorithm::RS256 => {
                let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?;
                let encoding = EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes())?;
                let jwk = serde_json::to_value(Jwk::from_encoding_key(&encoding, alg)?)?;
                (encoding, jwk)
            }
            Algorithm::ES256 => {
                let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
                let encoding = EncodingKey::from_ec_pem(pair.serialize_pem().as_bytes())?;
                let point = pair.public_key_raw(); // 0x04 || X || Y
                let (x, y) = (point.get(1..33), point.get(33..65));
                let (Some(x), Some(y)) = (x, y) else {
                    bail!("unexpected P-256 public key length {}", point.len());
                };
                let jwk = json!({
                    "kty": "EC", "crv": "P-256", "alg": "ES256",
                    "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                });
                (encoding, jwk)
            }
            Algorithm::EdDSA => {
                let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519)?;
                let encoding = EncodingKey::from_ed_pem(pair.serialize_pem().as_bytes())?;
                let jwk = json!({
                    "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA",
                    "x": URL_SAFE_NO_PAD.encode(pair.public_key_raw()),
                });
                (encoding, jwk)
            }
            other => bail!("no bench key for {other:?}"),
        };
        jwk["kid"] = json!(kid);
        jwk["use"] = json!("sig");
        Ok(Self {
            alg,
            kid,
            encoding,
            jwk,
        })
    }

    pub(crate) fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.to_owned());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }
}

/// Creates a key store with one key, as `sallyport keys create --name ci-deploy --roles
/// mcp_operator --scopes tools:call` does; returns its config and the key.
pub(super) fn mint_api_key(dir: &Path, now: SystemTime) -> anyhow::Result<(ApiKeyConfig, String)> {
    let secret_path = dir.join("api-key-hmac.secret");
    std::fs::write(&secret_path, HMAC_SECRET)?;
    let config = ApiKeyConfig {
        store_path: dir.join("api-keys.json"),
        hmac_secret: SecretRef::File { path: secret_path },
    };
    let store = KeyStore::open(&config.store_path, &SecretBytes::new(HMAC_SECRET))?;
    let mut request = NewApiKey::service("ci-deploy");
    request.roles = vec!["mcp_operator".into()];
    request.scopes = vec!["tools:call".into()];
    request.expires_at = Some(now + Duration::from_secs(90 * 86_400));
    let (key, _record) = store.create(request, now)?;
    Ok((config, key.expose().to_owned()))
}

/// The service the client certificate is.
pub(super) fn ci_runner() -> ServiceAccount {
    ServiceAccount {
        name: "ci-runner".into(),
        spiffe_ids: vec![SPIFFE_ID.into()],
        dns_names: Vec::new(),
        common_names: Vec::new(),
        roles: vec!["mcp_operator".into()],
        permissions: Vec::new(),
        tenant: None,
    }
}

/// A CA (written as PEM; returns its path) and a client certificate it signed with
/// [`SPIFFE_ID`] as URI SAN (DER).
pub(super) fn client_certificate(dir: &Path) -> anyhow::Result<(PathBuf, Vec<u8>)> {
    let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut ca = rcgen::CertificateParams::default();
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "bench client CA");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let ca_path = dir.join("client-ca.pem");
    std::fs::write(&ca_path, ca_cert.pem())?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut leaf = rcgen::CertificateParams::default();
    leaf.distinguished_name = rcgen::DistinguishedName::new();
    leaf.subject_alt_names = vec![rcgen::SanType::URI(SPIFFE_ID.try_into()?)];
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    leaf.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let cert = leaf.signed_by(&key, &issuer)?;
    Ok((ca_path, cert.der().to_vec()))
}
