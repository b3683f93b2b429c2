//! The admin API of a test gateway: the `admin:` section with tokens, and a small client
//! that sends a credential (or none) and returns the status, headers and JSON body.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The admin token of the `ops` operator (role `admin`).
pub const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789abcdef0123456789";
/// The admin token of the `watcher` operator (role `viewer`).
pub const VIEWER_TOKEN: &str = "e2e-viewer-token-0123456789abcdef0123456789";

/// The `admin:` section: a listener on `127.0.0.1:port`, the `ops` (admin) and `watcher`
/// (viewer) tokens, gateway credentials accepted with the default roles.
pub fn admin_yaml(port: u16) -> String {
    format!(
        "admin:\n  listen: \"127.0.0.1:{port}\"\n  tokens:\n    - {{ name: ops, token: \"{ADMIN_TOKEN}\", role: admin }}\n    - {{ name: watcher, token: \"{VIEWER_TOKEN}\", role: viewer }}\n"
    )
}

/// One admin API answer.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The JSON body, or the text as a JSON string, or `null` when empty.
    pub body: Value,
}

impl Answer {
    /// Panics unless the status is `want`, showing the body.
    #[track_caller]
    pub fn expect(self, want: u16) -> Value {
        assert_eq!(self.status.as_u16(), want, "{}", self.body);
        self.body
    }
}

/// A client of the admin API at `http://127.0.0.1:PORT` with one credential.
#[derive(Debug, Clone)]
pub struct AdminClient {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The `Authorization` header value sent, if any.
    pub authorization: Option<String>,
    http: reqwest::Client,
}

impl AdminClient {
    /// A client sending `Authorization: Bearer <token>` (none for `None`).
    pub fn new(port: u16, token: Option<&str>) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            authorization: token.map(|t| format!("Bearer {t}")),
            http: reqwest::Client::new(),
        }
    }

    /// The same listener with another bearer token.
    pub fn with_token(&self, token: &str) -> Self {
        Self {
            authorization: Some(format!("Bearer {token}")),
            ..self.clone()
        }
    }

    /// A request to `path` (`/admin/...`) with this client's credential.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(auth) = &self.authorization {
            rb = rb.header("authorization", auth);
        }
        rb
    }

    /// Sends `rb` and reads the answer.
    pub async fn send(rb: reqwest::RequestBuilder) -> Answer {
        Self::try_send(rb).await.unwrap()
    }

    /// Sends `rb` and reads the answer, or says why none came (a dropped connection).
    pub async fn try_send(rb: reqwest::RequestBuilder) -> Result<Answer, reqwest::Error> {
        let resp = rb.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        Self::send(self.request(Method::GET, path)).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        Self::send(self.request(Method::POST, path).json(body)).await
    }

    /// `POST path` with no body.
    pub async fn post_empty(&self, path: &str) -> Answer {
        Self::send(self.request(Method::POST, path)).await
    }

    /// `POST path` with `body` sent as is, labelled `content_type`.
    pub async fn post_raw(&self, path: &str, content_type: &str, body: &str) -> Answer {
        Self::send(
            self.request(Method::POST, path)
                .header("content-type", content_type)
                .body(body.to_owned()),
        )
        .await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Answer {
        Self::send(self.request(Method::DELETE, path)).await
    }

    /// Waits until the admin listener answers `/admin/openapi.json`.
    pub async fn wait_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let ok = self
                .http
                .get(format!("{}/admin/openapi.json", self.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the admin listener at {} never answered",
                self.base
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
