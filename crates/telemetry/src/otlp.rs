//! OpenTelemetry trace export over OTLP/HTTP (protobuf).
//!
//! [`OtlpExport::start`] builds the span exporter, a batch span processor and a tracer
//! provider from plain [`OtlpSettings`]; [`OtlpExport::layer`] is the `tracing` layer that
//! turns spans into OpenTelemetry spans. The export owns a small Tokio runtime of its own (one
//! worker thread): the batch processor and the HTTP client run there, so the export works
//! before, during and after the gateway's runtime, and [`OtlpExport::shutdown`] can flush from
//! a plain thread once that runtime is gone.
//!
//! ```no_run
//! use tracing_subscriber::layer::SubscriberExt;
//! use sallyport_telemetry::otlp::{OtlpExport, OtlpSettings};
//!
//! let export = OtlpExport::start(OtlpSettings::new("http://127.0.0.1:4318/v1/traces"))?;
//! let subscriber = tracing_subscriber::registry().with(export.layer());
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info_span!("exchange", otel.name = "tools/call echo").in_scope(|| {});
//! });
//! export.shutdown()?; // flushes what is queued
//! # Ok::<(), sallyport_telemetry::otlp::OtlpError>(())
//! ```

use std::collections::HashMap;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::runtime::Tokio;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, Tracer};
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;

/// The instrumentation scope name of every span the gateway exports.
pub const SCOPE: &str = "sallyport";

/// What the export needs to know: where spans go and how they are described and sampled.
#[derive(Clone)]
pub struct OtlpSettings {
    /// The full OTLP/HTTP traces URL (`…/v1/traces`).
    pub endpoint: String,
    /// `service.name` of the resource.
    pub service_name: String,
    /// `service.version` of the resource, when known.
    pub service_version: Option<String>,
    /// Share of new traces that are sampled (0.0–1.0); a span with a remote parent follows
    /// the parent's sampled flag.
    pub sample_ratio: f64,
    /// Headers sent with every export (credentials of a hosted collector).
    pub headers: Vec<(String, String)>,
    /// How long one export may take.
    pub timeout: Duration,
}

impl OtlpSettings {
    /// Settings for `endpoint` with the defaults: service `sallyport`, every trace sampled,
    /// no headers, a 10 s timeout.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            service_name: "sallyport".into(),
            service_version: None,
            sample_ratio: 1.0,
            headers: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for OtlpSettings {
    /// Header values are credentials: only their names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OtlpSettings")
            .field("endpoint", &self.endpoint)
            .field("service_name", &self.service_name)
            .field("service_version", &self.service_version)
            .field("sample_ratio", &self.sample_ratio)
            .field("headers", &header_names)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the export could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// The export's own runtime could not be started.
    #[error("starting the OTLP export runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The exporter refused its configuration (endpoint, headers, HTTP client).
    #[error("building the OTLP exporter for {endpoint}: {source}")]
    Exporter {
        /// The configured endpoint.
        endpoint: String,
        /// What the exporter said.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// Flushing or shutting down the tracer provider failed (spans may be lost).
    #[error("shutting down the OTLP export: {0}")]
    Shutdown(#[source] opentelemetry_sdk::error::OTelSdkError),
}

/// A running OTLP export: the tracer provider and the runtime its batches are sent from.
/// Dropping it shuts it down (flushing), as [`OtlpExport::shutdown`] does.
pub struct OtlpExport {
    provider: SdkTracerProvider,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for OtlpExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpExport").finish_non_exhaustive()
    }
}

impl OtlpExport {
    /// Builds the exporter and the tracer provider and starts the batch processor. Nothing is
    /// sent until a span ends; an unreachable collector costs the spans of a batch, never the
    /// caller's time.
    pub fn start(settings: OtlpSettings) -> Result<Self, OtlpError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-export")
            .enable_all()
            .build()
            .map_err(OtlpError::Runtime)?;
        // The batch processor spawns its worker on the runtime it is built in.
        let entered = runtime.enter();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.endpoint.clone())
            .with_timeout(settings.timeout)
            .with_headers(settings.headers.iter().cloned().collect::<HashMap<_, _>>())
            .build()
            .map_err(|source| OtlpError::Exporter {
                endpoint: settings.endpoint.clone(),
                source,
            })?;
        let processor = BatchSpanProcessor::builder(exporter, Tokio).build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_sampler(sampler(settings.sample_ratio))
            .with_resource(resource(&settings))
            .build();
        drop(entered);
        Ok(Self {
            provider,
            runtime: Some(runtime),
        })
    }

    /// The `tracing` layer that exports spans through this provider. Add a per-layer filter
    /// to choose which spans leave the process.
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, Tracer>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer(SCOPE))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_tracked_inactivity(false)
    }

    /// Exports every span ended so far and stops the export.
    pub fn shutdown(mut self) -> Result<(), OtlpError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), OtlpError> {
        let Some(runtime) = self.runtime.take() else {
            return Ok(());
        };
        // Blocks until the processor's worker (on `runtime`) has sent the last batch.
        let result = self.provider.shutdown().map_err(OtlpError::Shutdown);
        runtime.shutdown_background();
        result
    }
}

impl Drop for OtlpExport {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// New traces sampled at `ratio`; continued traces follow their parent's decision.
fn sampler(ratio: f64) -> Sampler {
    let root = if ratio >= 1.0 {
        Sampler::AlwaysOn
    } else if ratio <= 0.0 {
        Sampler::AlwaysOff
    } else {
        Sampler::TraceIdRatioBased(ratio)
    };
    Sampler::ParentBased(Box::new(root))
}

fn resource(settings: &OtlpSettings) -> Resource {
    let mut builder = Resource::builder().with_service_name(settings.service_name.clone());
    if let Some(version) = &settings.service_version {
        builder = builder.with_attribute(KeyValue::new("service.version", version.clone()));
    }
    builder.build()
}
