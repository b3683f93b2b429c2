//! Obtaining JWKS documents: from a file, a URL, or through OpenID Connect discovery.
//!
//! This is the only asynchronous, networked part of the crate. Everything here returns
//! raw document bytes; parsing and key selection happen in [`super::KeySet`].

use std::future::Future;
use std::net::IpAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use url::Url;

use super::JwksError;

/// Largest JWKS or discovery document accepted, in bytes.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

/// The future a [`JwksFetcher`] returns: the raw JWKS document.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, JwksError>> + Send + 'a>>;

/// Something that produces the current JWKS document.
pub trait JwksFetcher: Send + Sync + 'static {
    /// Fetches the document.
    fn fetch(&self) -> FetchFuture<'_>;
    /// Where from, for logs and errors (a path or URL, never a secret).
    fn source_name(&self) -> String;
}

/// A JWKS document in a file.
#[derive(Debug, Clone)]
pub struct FileJwks {
    /// Path of the document.
    pub path: PathBuf,
}

impl JwksFetcher for FileJwks {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            let bytes = std::fs::read(&self.path).map_err(|e| JwksError::Fetch {
                source_name: self.source_name(),
                message: e.to_string(),
            })?;
            if bytes.len() > MAX_JWKS_BYTES {
                return Err(JwksError::TooLarge);
            }
            Ok(bytes)
        })
    }

    fn source_name(&self) -> String {
        self.path.display().to_string()
    }
}

/// A JWKS document at a URL.
#[derive(Debug, Clone)]
pub struct HttpJwks {
    client: reqwest::Client,
    url: Url,
}

impl HttpJwks {
    /// Fetches from `url` with `client` (see [`http_client`]). The URL must be HTTPS,
    /// or HTTP to a loopback address.
    pub fn new(client: reqwest::Client, url: &str) -> Result<Self, JwksError> {
        Ok(Self {
            client,
            url: allowed_url(url)?,
        })
    }
}

impl JwksFetcher for HttpJwks {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(get_capped(&self.client, &self.url))
    }

    fn source_name(&self) -> String {
        self.url.to_string()
    }
}

/// OpenID Connect discovery: `<issuer>/.well-known/openid-configuration` → `jwks_uri`.
///
/// Discovery runs on every fetch (fetches are rate-bounded by the cache), so a moved
/// `jwks_uri` is followed. The document's `issuer` must equal the configured issuer
/// exactly, or the keys are not used.
#[derive(Debug, Clone)]
pub struct OidcDiscoveryJwks {
    client: reqwest::Client,
    issuer: String,
    discovery_url: Url,
}

impl OidcDiscoveryJwks {
    /// Discovers the keys of `issuer` with `client`.
    pub fn new(client: reqwest::Client, issuer: &str) -> Result<Self, JwksError> {
        let discovery = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        Ok(Self {
            client,
            issuer: issuer.to_owned(),
            discovery_url: allowed_url(&discovery)?,
        })
    }

    async fn discover_and_fetch(&self) -> Result<Vec<u8>, JwksError> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let document = get_capped(&self.client, &self.discovery_url).await?;
        let discovery: Discovery =
            serde_json::from_slice(&document).map_err(|e| JwksError::Parse(e.to_string()))?;
        if discovery.issuer != self.issuer {
            return Err(JwksError::IssuerMismatch);
        }
        get_capped(&self.client, &allowed_url(&discovery.jwks_uri)?).await
    }
}

impl JwksFetcher for OidcDiscoveryJwks {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(self.discover_and_fetch())
    }

    fn source_name(&self) -> String {
        self.discovery_url.to_string()
    }
}

/// An HTTP client for key fetching: no redirects, short timeouts.
pub fn http_client() -> Result<reqwest::Client, JwksError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| JwksError::Fetch {
            source_name: "http client".to_owned(),
            message: e.to_string(),
        })
}

/// Whether keys may be fetched from `url`: HTTPS, or plain HTTP to a loopback host
/// (development identity providers).
pub fn is_allowed_fetch_url(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

fn allowed_url(url: &str) -> Result<Url, JwksError> {
    let parsed = Url::parse(url).map_err(|e| JwksError::Parse(format!("{url}: {e}")))?;
    if is_allowed_fetch_url(&parsed) {
        Ok(parsed)
    } else {
        Err(JwksError::InsecureUrl {
            url: url.to_owned(),
        })
    }
}

/// GET with a size cap on the body.
async fn get_capped(client: &reqwest::Client, url: &Url) -> Result<Vec<u8>, JwksError> {
    let fetch_error = |e: reqwest::Error| JwksError::Fetch {
        source_name: url.to_string(),
        message: e.without_url().to_string(),
    };
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(fetch_error)?;
    if !response.status().is_success() {
        return Err(JwksError::Status {
            source_name: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
    {
        return Err(JwksError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(fetch_error)? {
        if body.len() + chunk.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
