//! The key cache in front of a [`JwtVerifier`]: refresh on unknown `kid` and on age,
//! bounded to one fetch per interval, one fetch at a time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use super::config::{JwksSource, JwtAlgorithm, JwtConfig};
use super::fetch::{FileJwks, HttpJwks, JwksFetcher, OidcDiscoveryJwks, http_client};
use super::verified::VerifiedTokens;
use super::{JwksError, JwtVerifier, KeySet, TokenHeader};
use crate::error::{AuthError, BuildError};
use crate::identity::Identity;

/// JWT authentication with a cached, self-refreshing key set.
pub struct JwtAuthenticator {
    verifier: JwtVerifier,
    keys: RwLock<Arc<KeySet>>,
    refresh: Mutex<RefreshState>,
    /// Serialises fetches so concurrent requests with a new `kid` cause one fetch.
    fetch_gate: tokio::sync::Mutex<()>,
    fetcher: Option<Arc<dyn JwksFetcher>>,
    min_refresh_interval: Duration,
    max_key_age: Duration,
    max_keys: usize,
    fetches: AtomicU64,
    verified: VerifiedTokens,
}

#[derive(Default)]
struct RefreshState {
    last_attempt: Option<SystemTime>,
    fetched_at: Option<SystemTime>,
}

impl std::fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthenticator")
            .field("verifier", &self.verifier)
            .field("source", &self.fetcher.as_ref().map(|f| f.source_name()))
            .finish_non_exhaustive()
    }
}

impl JwtAuthenticator {
    /// Builds the verifier and its key source. A `file` key set is read now (and must be
    /// valid); `url` and `oidc_discovery` sets are fetched on first use or by
    /// [`JwtAuthenticator::refresh`].
    pub fn from_config(config: &JwtConfig) -> Result<Self, BuildError> {
        let verifier = JwtVerifier::from_config(config)?;
        let fetcher: Option<Arc<dyn JwksFetcher>> = match &config.keys {
            None => None,
            Some(JwksSource::File { path }) => Some(Arc::new(FileJwks { path: path.clone() })),
            Some(JwksSource::Url { url }) => Some(Arc::new(HttpJwks::new(http_client()?, url)?)),
            Some(JwksSource::OidcDiscovery { issuer }) => {
                if !config.issuers.contains(issuer) {
                    return Err(BuildError::invalid(
                        "jwt.keys.issuer",
                        "the discovery issuer must also be listed in jwt.issuers",
                    ));
                }
                Some(Arc::new(OidcDiscoveryJwks::new(http_client()?, issuer)?))
            }
        };
        let mut authenticator = Self::new(verifier, fetcher, config);
        if let Some(JwksSource::File { path }) = &config.keys {
            let document = std::fs::read(path).map_err(|source| BuildError::Read {
                path: path.clone(),
                source,
            })?;
            authenticator.keys = RwLock::new(Arc::new(KeySet::from_jwks_json(
                &document,
                config.max_keys,
            )?));
            authenticator.refresh = Mutex::new(RefreshState {
                last_attempt: None,
                fetched_at: Some(SystemTime::now()),
            });
        }
        Ok(authenticator)
    }

    /// An authenticator over `verifier` that fetches keys with `fetcher`, using the
    /// refresh settings of `config`. Starts with an empty key set.
    pub fn new(
        verifier: JwtVerifier,
        fetcher: Option<Arc<dyn JwksFetcher>>,
        config: &JwtConfig,
    ) -> Self {
        Self {
            verifier,
            keys: RwLock::new(Arc::new(KeySet::default())),
            refresh: Mutex::new(RefreshState::default()),
            fetch_gate: tokio::sync::Mutex::new(()),
            fetcher,
            min_refresh_interval: Duration::from_secs(config.min_refresh_interval_secs),
            max_key_age: Duration::from_secs(config.max_key_age_secs),
            max_keys: config.max_keys,
            fetches: AtomicU64::new(0),
            verified: VerifiedTokens::default(),
        }
    }

    /// Verifies a token, refreshing the key set first when it is empty or old, and once
    /// more when the token's `kid` is unknown (both within the refresh rate bound).
    pub async fn verify(&self, token: &str, now: SystemTime) -> Result<Identity, AuthError> {
        // Shape and algorithm first: `alg: none` or a garbage token never causes a fetch.
        let header = self.verifier.peek_header(token)?;
        if header.alg == JwtAlgorithm::Hs256 {
            return self.verify_cached(token, now);
        }
        if self.is_stale(now) {
            self.refresh_bounded(now, None).await;
        }
        match self.verify_cached(token, now) {
            Err(AuthError::UnknownKey) => {
                self.refresh_bounded(now, Some(&header)).await;
                if self.key_set().is_empty() {
                    return Err(AuthError::KeysUnavailable);
                }
                self.verify_cached(token, now)
            }
            other => other,
        }
    }

    /// Verifies a token with the keys in the cache, never fetching. A token verified before
    /// with the same key set skips the signature check, but not expiry and revocation
    /// (see `verified.rs`).
    pub fn verify_cached(&self, token: &str, now: SystemTime) -> Result<Identity, AuthError> {
        let keys = self.key_set();
        let digest = VerifiedTokens::digest(token);
        let skew = self.verifier.clock_skew;
        let revoked = |jti: &str| self.verifier.is_jti_revoked(jti);
        if let Some(identity) = self.verified.get(&digest, &keys, now, skew, revoked) {
            return Ok(identity);
        }
        let identity = self.verifier.verify(token, &keys, now)?;
        self.verified.insert(digest, &keys, &identity, now);
        Ok(identity)
    }

    /// Fetches the key set now, ignoring the rate bound (start-up warm-up, admin reload).
    /// On failure the previous keys stay in use.
    pub async fn refresh(&self, now: SystemTime) -> Result<usize, JwksError> {
        let Some(fetcher) = &self.fetcher else {
            return Ok(self.key_set().len());
        };
        let _gate = self.fetch_gate.lock().await;
        self.record_attempt(now);
        self.fetch_and_store(fetcher.as_ref(), now).await
    }

    /// The keys currently cached.
    pub fn key_set(&self) -> Arc<KeySet> {
        self.keys.read().map(|k| Arc::clone(&k)).unwrap_or_default()
    }

    /// How many fetches were attempted since start (for metrics and tests).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The verifier, e.g. to revoke a `jti`.
    pub fn verifier(&self) -> &JwtVerifier {
        &self.verifier
    }

    fn is_stale(&self, now: SystemTime) -> bool {
        if self.fetcher.is_none() {
            return false;
        }
        let fetched_at = self
            .refresh
            .lock()
            .map(|s| s.fetched_at)
            .unwrap_or_default();
        match fetched_at {
            None => true,
            Some(at) => distance(now, at) >= self.max_key_age,
        }
    }

    /// Refreshes unless another task just did what we need, or the rate bound says no.
    async fn refresh_bounded(&self, now: SystemTime, wanted: Option<&TokenHeader>) {
        let Some(fetcher) = &self.fetcher else {
            return;
        };
        let _gate = self.fetch_gate.lock().await;
        let satisfied = match wanted {
            Some(h) => self.key_set().find(h.kid.as_deref(), h.alg).is_some(),
            None => !self.is_stale(now),
        };
        if satisfied || !self.claim_attempt(now) {
            return;
        }
        if let Err(error) = self.fetch_and_store(fetcher.as_ref(), now).await {
            tracing::warn!(source = fetcher.source_name(), %error, "JWKS refresh failed; keeping previous keys.");
        }
    }

    /// Takes the refresh slot if the last attempt is at least the minimum interval
    /// away from `now` (either way, so a clock stepping back does not block refreshes).
    fn claim_attempt(&self, now: SystemTime) -> bool {
        let Ok(mut state) = self.refresh.lock() else {
            return false;
        };
        if state
            .last_attempt
            .is_some_and(|last| distance(now, last) < self.min_refresh_interval)
        {
            return false;
        }
        state.last_attempt = Some(now);
        true
    }

    fn record_attempt(&self, now: SystemTime) {
        if let Ok(mut state) = self.refresh.lock() {
            state.last_attempt = Some(now);
        }
    }

    async fn fetch_and_store(
        &self,
        fetcher: &dyn JwksFetcher,
        now: SystemTime,
    ) -> Result<usize, JwksError> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let document = fetcher.fetch().await?;
        let keys = KeySet::from_jwks_json(&document, self.max_keys)?;
        let count = keys.len();
        if let Ok(mut current) = self.keys.write() {
            *current = Arc::new(keys);
        }
        if let Ok(mut state) = self.refresh.lock() {
            state.fetched_at = Some(now);
        }
        tracing::debug!(
            source = fetcher.source_name(),
            keys = count,
            "JWKS refreshed."
        );
        Ok(count)
    }
}

fn distance(a: SystemTime, b: SystemTime) -> Duration {
    a.duration_since(b)
        .or_else(|_| b.duration_since(a))
        .unwrap_or_default()
}
