//! The cost of authentication and authorization per exchange: the fixture shared by the
//! criterion bench (`benches/authn_authz.rs`) and the p99 tool
//! (`src/bin/authn_authz_latency.rs`).
//!
//! Everything is made at start, in a temporary directory:
//!
//! - RSA-2048, P-256 and Ed25519 signing keys, a JWKS file with their public halves, and
//!   one token per key. The file is read when the authenticator is built, so the key
//!   cache is warm: no call measured here fetches or re-reads keys ([`Fixture::check`]
//!   asserts it).
//! - An API key minted into a key store the way `sallyport keys create` does.
//! - A CA and a client certificate (DER leaf) whose SPIFFE id is a registered service.
//! - The shipped role policy (`policies/default.yaml`) alone, and with 100 Cedar policies
//!   ([`hundred_cedar_policies`]).
//!
//! One listener's [`Authenticator`] has all three methods enabled, built from an
//! [`AuthConfig`] as the gateway builds it. Its `authenticate` is `async` only for key
//! refreshes; with a warm cache the future is ready on its first poll, so it is polled
//! once, as an `.await` inside the gateway's request task would (no runtime, no
//! `block_on`). An exchange is what the edge and the authorization guard pay for one
//! `tools/call`: authenticate, identity → pipeline principal → subject, decide.

mod cedar;
pub(crate) mod credentials;

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail, ensure};
use futures::FutureExt;
use jsonwebtoken::Algorithm;
use sallyport_identity::jwt::JwtConfig;
use sallyport_identity::mtls::MtlsConfig;
use sallyport_identity::{AuthConfig, AuthRequest, Authenticator, Identity};
use sallyport_policy::{
    AuthzConfig, AuthzPolicy, AuthzRequest, DEFAULT_POLICY_YAML, Decision, Engine, PolicyStore,
    Subject, Timestamp,
};
use serde_json::{Value, json};
use tempfile::TempDir;

pub use cedar::hundred_cedar_policies;
use credentials::{SigningKey, ci_runner, claims, client_certificate, mint_api_key};

/// The token issuer.
pub const ISSUER: &str = "https://idp.example.com";
/// The audience tokens are issued for: the gateway's canonical URI.
pub const AUDIENCE: &str = "https://mcp.example.com/mcp";
/// The SPIFFE id of the client certificate, registered as service `ci-runner`.
pub const SPIFFE_ID: &str = "spiffe://example.org/ns/ci/sa/runner";
/// The upstream server and tool every decision is about.
pub const SERVER: &str = "fs";
/// See [`SERVER`].
pub const TOOL: &str = "read_file";

const SOURCE_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10));

/// An authentication method, with the credential the fixture presents for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `Authorization: Bearer <JWT>` signed with RSA-2048 (RS256).
    JwtRs256,
    /// The same with P-256 (ES256).
    JwtEs256,
    /// The same with Ed25519 (EdDSA).
    JwtEddsa,
    /// `X-API-Key: sp_<prefix>_<secret>`.
    ApiKey,
    /// A verified client certificate (the DER leaf rustls hands over).
    Mtls,
}

impl Method {
    /// Every method, in report order.
    pub const ALL: [Self; 5] = [
        Self::JwtRs256,
        Self::JwtEs256,
        Self::JwtEddsa,
        Self::ApiKey,
        Self::Mtls,
    ];

    /// Stable name, used in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::JwtRs256 => "jwt_rs256",
            Self::JwtEs256 => "jwt_es256",
            Self::JwtEddsa => "jwt_eddsa",
            Self::ApiKey => "api_key",
            Self::Mtls => "mtls",
        }
    }
}

/// An authorization policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The shipped role policy only.
    Rbac,
    /// The shipped role policy and [`hundred_cedar_policies`].
    Cedar100,
}

impl Policy {
    /// Stable name, used in benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rbac => "rbac",
            Self::Cedar100 => "cedar_100",
        }
    }
}

/// One measured path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `Authenticator::authenticate` alone.
    Authn(Method),
    /// `Engine::decide` alone, for the subject the RS256 token authenticates as.
    Authz(Policy),
    /// Both, as one `tools/call` exchange pays them.
    Exchange(Method, Policy),
}

impl Case {
    /// Every case, in report order: each method, each policy, then exchanges: RS256, API
    /// key and mTLS with RBAC only, and each method with RBAC + 100 Cedar policies.
    pub const ALL: [Self; 15] = [
        Self::Authn(Method::JwtRs256),
        Self::Authn(Method::JwtEs256),
        Self::Authn(Method::JwtEddsa),
        Self::Authn(Method::ApiKey),
        Self::Authn(Method::Mtls),
        Self::Authz(Policy::Rbac),
        Self::Authz(Policy::Cedar100),
        Self::Exchange(Method::JwtRs256, Policy::Rbac),
        Self::Exchange(Method::ApiKey, Policy::Rbac),
        Self::Exchange(Method::Mtls, Policy::Rbac),
        Self::Exchange(Method::JwtRs256, Policy::Cedar100),
        Self::Exchange(Method::JwtEs256, Policy::Cedar100),
        Self::Exchange(Method::JwtEddsa, Policy::Cedar100),
        Self::Exchange(Method::ApiKey, Policy::Cedar100),
        Self::Exchange(Method::Mtls, Policy::Cedar100),
    ];

    /// The criterion group: `authn`, `authz` or `authn_authz`.
    pub fn group(self) -> &'static str {
        match self {
            Self::Authn(_) => "authn",
            Self::Authz(_) => "authz",
            Self::Exchange(..) => "authn_authz",
        }
    }

    /// The name within the group: `jwt_rs256`, `cedar_100`, `jwt_rs256_cedar_100`.
    pub fn name(self) -> String {
        match self {
            Self::Authn(m) => m.name().to_owned(),
            Self::Authz(p) => p.name().to_owned(),
            Self::Exchange(m, p) => format!("{}_{}", m.name(), p.name()),
        }
    }

    /// `group/name`, as criterion prints it.
    pub fn label(self) -> String {
        format!("{}/{}", self.group(), self.name())
    }
}

/// Credentials, authenticator and engines, ready to measure.
pub struct Fixture {
    authenticator: Authenticator,
    rbac: Engine,
    cedar: Engine,
    /// `Authorization` values with RS256, ES256 and EdDSA tokens, in [`Method::ALL`] order.
    tokens: [String; 3],
    api_key: String,
    client_cert: Vec<u8>,
    now: SystemTime,
    timestamp: Timestamp,
    arguments: Value,
    subject: Subject,
    /// Holds the JWKS, key store and CA files.
    _dir: TempDir,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture")
            .field("authenticator", &self.authenticator)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl Fixture {
    /// Generates keys, credentials and policies, builds the authenticator (loading the
    /// key set) and the engines, and runs [`Fixture::check`].
    pub fn new() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let now = SystemTime::now();
        let keys = [
            SigningKey::generate(Algorithm::RS256, "rsa-1")?,
            SigningKey::generate(Algorithm::ES256, "ec-1")?,
            SigningKey::generate(Algorithm::EdDSA, "ed-1")?,
        ];
        let jwks = json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() });
        let jwks_path = dir.path().join("jwks.json");
        std::fs::write(&jwks_path, jwks.to_string()).context("writing the JWKS file")?;
        let claims = claims(now)?;
        let bearer =
            |key: &SigningKey| Ok::<_, anyhow::Error>(format!("Bearer {}", key.sign(&claims)?));
        let tokens = [bearer(&keys[0])?, bearer(&keys[1])?, bearer(&keys[2])?];
        let (api_keys, api_key) = mint_api_key(dir.path(), now)?;
        let (client_ca_path, client_cert) = client_certificate(dir.path())?;
        let config = AuthConfig {
            jwt: Some(serde_json::from_value::<JwtConfig>(json!({
                "issuers": [ISSUER],
                "audience": AUDIENCE,
                "keys": { "type": "file", "path": jwks_path },
            }))?),
            api_keys: Some(api_keys),
            mtls: Some(MtlsConfig {
                client_ca_path,
                require_client_cert: false,
                services: vec![ci_runner()],
            }),
            ..AuthConfig::default()
        };
        let authenticator = config.build().context("building the authenticator")?;
        let secs = now.duration_since(UNIX_EPOCH)?.as_secs();
        let mut fixture = Self {
            authenticator,
            rbac: Engine::new(policy("")?),
            cedar: Engine::new(policy(&hundred_cedar_policies())?),
            tokens,
            api_key,
            client_cert,
            now,
            timestamp: Timestamp::from_secs(i64::try_from(secs)?),
            arguments: json!({
                "path": "/srv/data/reports/2026-q3.csv",
                "encoding": "utf-8",
                "max_bytes": 65_536,
            }),
            subject: Subject::default(),
            _dir: dir,
        };
        let identity = fixture.authenticate(Method::JwtRs256)?;
        fixture.subject = Subject::from_principal(&identity.to_pipeline_principal());
        fixture.check()?;
        Ok(fixture)
    }

    /// What the edge knows about a request carrying `method`'s credential.
    pub fn request(&self, method: Method) -> AuthRequest<'_> {
        let mut request = AuthRequest {
            authorization: None,
            x_api_key: None,
            peer_certificate: None,
            source_ip: Some(SOURCE_IP),
            now: self.now,
        };
        match method {
            Method::JwtRs256 => request.authorization = Some(&self.tokens[0]),
            Method::JwtEs256 => request.authorization = Some(&self.tokens[1]),
            Method::JwtEddsa => request.authorization = Some(&self.tokens[2]),
            Method::ApiKey => request.x_api_key = Some(&self.api_key),
            Method::Mtls => request.peer_certificate = Some(&self.client_cert),
        }
        request
    }

    /// Authenticates a request carrying `method`'s credential.
    pub fn authenticate(&self, method: Method) -> anyhow::Result<Identity> {
        let request = self.request(method);
        // Ready on the first poll unless the key set needed a refresh (it never should).
        match self.authenticator.authenticate(&request).now_or_never() {
            Some(outcome) => Ok(outcome?),
            None => bail!("authentication waited: the key cache is not warm"),
        }
    }

    /// Decides the `tools/call` of `fs/read_file` for `subject` under `policy`.
    pub fn authorize(&self, policy: Policy, subject: &Subject) -> Decision {
        self.decide(policy, subject, &self.arguments)
    }

    /// One exchange: authenticate, map the identity to the subject the authorization
    /// guard sees, decide.
    pub fn exchange(&self, method: Method, policy: Policy) -> anyhow::Result<Decision> {
        let identity = self.authenticate(method)?;
        let subject = Subject::from_principal(&identity.to_pipeline_principal());
        Ok(self.authorize(policy, &subject))
    }

    /// Runs `case` once; true when the caller got in (and, with a decision, was allowed).
    pub fn run(&self, case: Case) -> bool {
        match case {
            Case::Authn(m) => self.authenticate(m).is_ok(),
            Case::Authz(p) => self.authorize(p, &self.subject).is_allowed(),
            Case::Exchange(m, p) => self.exchange(m, p).is_ok_and(|d| d.is_allowed()),
        }
    }

    /// The subject the RS256 token authenticates as (the [`Case::Authz`] subject).
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// Asserts that every case succeeds, that the Cedar policies are really evaluated
    /// (a path outside `/srv/data` and a foreign tenant are refused by them and not by
    /// RBAC), and that no key fetch happened.
    pub fn check(&self) -> anyhow::Result<()> {
        for case in Case::ALL {
            ensure!(self.run(case), "{} does not succeed", case.label());
        }
        for (arguments, policy_id) in [
            (json!({ "path": "/etc/passwd" }), "fs-confined-0"),
            (
                json!({ "path": "/srv/data/a", "tenant_id": "globex" }),
                "own-tenant",
            ),
        ] {
            ensure!(
                self.decide(Policy::Rbac, &self.subject, &arguments)
                    .is_allowed()
            );
            let denied = self.decide(Policy::Cedar100, &self.subject, &arguments);
            ensure!(
                !denied.is_allowed() && denied.policy_ids == [policy_id],
                "expected a denial by {policy_id}: {}",
                denied.summary()
            );
        }
        let jwt = self
            .authenticator
            .jwt()
            .ok_or_else(|| anyhow!("JWT not enabled"))?;
        ensure!(jwt.fetch_count() == 0, "the key set was fetched");
        Ok(())
    }

    /// Key-set fetches since start; stays 0 with a warm cache.
    pub fn jwks_fetches(&self) -> u64 {
        self.authenticator.jwt().map_or(0, |j| j.fetch_count())
    }

    fn decide(&self, policy: Policy, subject: &Subject, arguments: &Value) -> Decision {
        let engine = match policy {
            Policy::Rbac => &self.rbac,
            Policy::Cedar100 => &self.cedar,
        };
        let request = AuthzRequest::call(
            subject,
            SERVER,
            TOOL,
            Some(black_box(arguments)),
            self.timestamp,
        );
        engine.decide(&request)
    }
}

/// The shipped role policy, with `cedar` as its only Cedar source when not empty.
fn policy(cedar: &str) -> anyhow::Result<AuthzPolicy> {
    let config = AuthzConfig::from_yaml(DEFAULT_POLICY_YAML, "policies/default.yaml")?;
    let store = if cedar.is_empty() {
        PolicyStore::empty()
    } else {
        PolicyStore::from_sources([("bench.cedar", cedar)]).map_err(errors)?
    };
    AuthzPolicy::new(&config, store).map_err(errors)
}

fn errors(errors: Vec<sallyport_policy::PolicyError>) -> anyhow::Error {
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    anyhow!("invalid policy: {}", text.join("; "))
}
