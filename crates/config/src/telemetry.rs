//! The `tracing` section: OpenTelemetry trace export (docs/operations.md).
//!
//! Its values are checked while the file is read (an endpoint that is not an `http(s)` URL, a
//! sampling percentage over 100), so a bad section fails with its line like any syntax error.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::secret::SecretString;

/// OpenTelemetry tracing: a span per exchange with MCP attributes, exported over OTLP/HTTP
/// (protobuf). Absent: no spans leave the process (logs and W3C `traceparent` pass-through
/// are unchanged). Changes take effect at the next restart.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct TracingConfig {
    /// OTLP/HTTP traces endpoint, the full URL spans are POSTed to, e.g.
    /// `http://127.0.0.1:4318/v1/traces` (an OpenTelemetry Collector or Jaeger's OTLP port).
    #[serde(deserialize_with = "http_url")]
    pub otlp_endpoint: String,
    /// `service.name` of the exported spans.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// Share of new traces that are sampled, in percent (0–100). A request that continues a
    /// client's trace follows the client's sampling decision (the `traceparent` flags).
    #[serde(default = "default_sample_ratio_percent", deserialize_with = "percent")]
    #[schemars(range(max = 100))]
    pub sample_ratio_percent: u8,
    /// Extra headers sent with every export, such as `Authorization` for a hosted collector.
    /// Values are treated as secrets: write them as `${ENV_VAR}` references.
    #[serde(default, deserialize_with = "header_map")]
    pub headers: BTreeMap<String, SecretString>,
    /// How long one export may take before it is abandoned (the spans of that batch are lost).
    #[serde(default = "default_timeout_secs", deserialize_with = "positive")]
    #[schemars(range(min = 1))]
    pub timeout_secs: u64,
}

fn default_service_name() -> String {
    "sallyport".into()
}

fn default_sample_ratio_percent() -> u8 {
    100
}

fn default_timeout_secs() -> u64 {
    10
}

fn http_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    match url::Url::parse(&text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(text),
        Ok(url) => Err(serde::de::Error::custom(format!(
            "otlp_endpoint must be an http:// or https:// URL with a host, not {:?}",
            url.scheme()
        ))),
        Err(error) => Err(serde::de::Error::custom(format!(
            "otlp_endpoint is not a URL: {error}"
        ))),
    }
}

fn percent<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u8, D::Error> {
    let value = u8::deserialize(deserializer)?;
    if value > 100 {
        return Err(serde::de::Error::custom(format!(
            "sample_ratio_percent is a percentage (0–100), not {value}"
        )));
    }
    Ok(value)
}

fn positive<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    match u64::deserialize(deserializer)? {
        0 => Err(serde::de::Error::custom("timeout_secs must be at least 1")),
        secs => Ok(secs),
    }
}

/// Header names are HTTP tokens and values hold no control characters, so that no header is
/// silently dropped by the exporter (the error names the header, never its value).
fn header_map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, SecretString>, D::Error> {
    let headers = BTreeMap::<String, SecretString>::deserialize(deserializer)?;
    for (name, value) in &headers {
        let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token) {
            return Err(serde::de::Error::custom(format!(
                "headers: {name:?} is not a valid HTTP header name"
            )));
        }
        if value.expose().chars().any(|c| c.is_control() && c != '\t') {
            return Err(serde::de::Error::custom(format!(
                "headers: the value of {name:?} holds a control character"
            )));
        }
    }
    Ok(headers)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<TracingConfig, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_fill_everything_but_the_endpoint() {
        let c = parse("otlp_endpoint: http://127.0.0.1:4318/v1/traces").unwrap();
        assert_eq!(c.service_name, "sallyport");
        assert_eq!(c.sample_ratio_percent, 100);
        assert!(c.headers.is_empty());
        assert_eq!(c.timeout_secs, 10);
    }

    #[test]
    fn header_values_are_secrets() {
        let c = parse(
            "otlp_endpoint: https://otel.example/v1/traces\nheaders: { authorization: Bearer t0k3n }",
        )
        .unwrap();
        assert_eq!(c.headers["authorization"].expose(), "Bearer t0k3n");
        assert!(!format!("{c:?}").contains("t0k3n"));
    }

    #[test]
    fn bad_values_are_refused() {
        let over = parse("otlp_endpoint: http://h/v1/traces\nsample_ratio_percent: 101");
        assert!(over.unwrap_err().contains("0–100"));
        let scheme = parse("otlp_endpoint: grpc://h:4317");
        assert!(scheme.unwrap_err().contains("http://"));
        assert!(parse("otlp_endpoint: not a url").is_err());
        assert!(parse("otlp_endpoint: http://h\nexporter: x").is_err());
        assert!(parse("otlp_endpoint: http://h\ntimeout_secs: 0").is_err());
        let name = parse("otlp_endpoint: http://h\nheaders: { \"bad name\": v }");
        assert!(name.unwrap_err().contains("header name"));
        let value = parse("otlp_endpoint: http://h\nheaders: { x-key: \"a\\nb\" }");
        let error = value.unwrap_err();
        assert!(
            error.contains("control character") && !error.contains("a\nb"),
            "{error}"
        );
    }
}
