//! How span fields are written into log lines: every field, except the exchange span's
//! export-only ones ([`exchange_span::EXPORT_ONLY_FIELDS`]).
//!
//! The log layer sees every exchange span (so that a line logged inside one carries its id,
//! whatever the filter) and formats the span's fields when the span opens and each time one is
//! recorded, whether or not a line is ever logged inside it. Leaving out what only exporters
//! and the access log need keeps that work small on the data path.

use std::fmt;

use sallyport_transport::exchange_span::EXPORT_ONLY_FIELDS;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing_subscriber::field::{RecordFields, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, JsonVisitor, Writer};
use tracing_subscriber::fmt::{FormatFields, FormattedFields};

/// Span and event fields of text log lines (`key=value`).
#[derive(Debug, Default)]
pub(crate) struct TextFields;

/// Span fields of JSON log lines (an object per span).
#[derive(Debug, Default)]
pub(crate) struct JsonFields;

impl<'w> FormatFields<'w> for TextFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut visitor = Logged(DefaultVisitor::new(writer, true));
        fields.record(&mut visitor);
        visitor.0.finish()
    }

    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        if !any_logged(fields) {
            return Ok(());
        }
        let is_empty = current.fields.is_empty();
        let mut visitor = Logged(DefaultVisitor::new(current.as_writer(), is_empty));
        fields.record(&mut visitor);
        visitor.0.finish()
    }
}

impl<'w> FormatFields<'w> for JsonFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        write_json(&mut writer, &fields)
    }

    /// Fields recorded later are merged into the span's object (the JSON event formatter
    /// parses it back), which the stock JSON fields do the same way.
    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        if !any_logged(fields) {
            return Ok(());
        }
        let mut added = String::new();
        write_json(&mut added, fields)?;
        if current.fields.is_empty() {
            current.fields = added;
            return Ok(());
        }
        let mut merged: Map<String, Value> =
            serde_json::from_str(&current.fields).map_err(|_| fmt::Error)?;
        let added: Map<String, Value> = serde_json::from_str(&added).map_err(|_| fmt::Error)?;
        merged.extend(added);
        current.fields = serde_json::to_string(&merged).map_err(|_| fmt::Error)?;
        Ok(())
    }
}

fn write_json<R: RecordFields>(writer: &mut dyn fmt::Write, fields: &R) -> fmt::Result {
    let mut visitor = Logged(JsonVisitor::new(writer));
    fields.record(&mut visitor);
    visitor.0.finish()
}

fn logged(field: &Field) -> bool {
    !EXPORT_ONLY_FIELDS.contains(&field.name())
}

/// Whether `fields` holds anything a log line shows.
fn any_logged(fields: &Record<'_>) -> bool {
    struct Any(bool);
    impl Visit for Any {
        fn record_debug(&mut self, field: &Field, _: &dyn fmt::Debug) {
            self.0 |= logged(field);
        }
    }
    let mut any = Any(false);
    fields.record(&mut any);
    any.0
}

/// Passes the fields a log line shows to the visitor that writes them.
struct Logged<V>(V);

/// Visit methods that hand a field on only when a log line shows it.
macro_rules! forward_logged {
    ($($method:ident($value:ty)),* $(,)?) => {$(
        fn $method(&mut self, field: &Field, value: $value) {
            if logged(field) {
                self.0.$method(field, value);
            }
        }
    )*};
}

impl<V: Visit> Visit for Logged<V> {
    forward_logged! {
        record_debug(&dyn fmt::Debug),
        record_str(&str),
        record_i64(i64),
        record_u64(u64),
        record_i128(i128),
        record_u128(u128),
        record_f64(f64),
        record_bool(bool),
        record_bytes(&[u8]),
        record_error(&(dyn std::error::Error + 'static)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// An exchange-like span: some fields given at open, some recorded later, one line inside.
    fn log_inside_a_span() {
        let span = tracing::info_span!(
            "exchange",
            exchange_id = "ab-1",
            otel.name = "tools/call echo",
            mcp.method.name = "tools/call",
            sallyport.outcome = tracing::field::Empty,
            later = tracing::field::Empty,
        );
        span.record("sallyport.outcome", "allow");
        span.record("later", 7);
        span.in_scope(|| tracing::warn!(server = "up0", "inside"));
    }

    #[test]
    fn text_lines_carry_the_span_without_its_export_only_fields() {
        let out = Captured::default();
        let writer = out.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .fmt_fields(TextFields)
            .with_writer(move || writer.clone());
        tracing::subscriber::with_default(
            tracing_subscriber::registry().with(layer),
            log_inside_a_span,
        );
        let text = out.text();
        assert!(
            text.contains(r#"exchange{exchange_id="ab-1" mcp.method.name="tools/call" later=7}"#),
            "{text}"
        );
        assert!(text.contains(r#"inside server="up0""#), "{text}");
        assert!(
            !text.contains("otel.name") && !text.contains("outcome"),
            "{text}"
        );
    }

    #[test]
    fn json_lines_carry_the_span_without_its_export_only_fields() {
        let out = Captured::default();
        let writer = out.clone();
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .fmt_fields(JsonFields)
            .with_writer(move || writer.clone());
        tracing::subscriber::with_default(
            tracing_subscriber::registry().with(layer),
            log_inside_a_span,
        );
        let line: Value = serde_json::from_str(out.text().trim()).unwrap();
        assert_eq!(
            line["span"],
            serde_json::json!({
                "name": "exchange",
                "exchange_id": "ab-1",
                "mcp.method.name": "tools/call",
                "later": 7,
            })
        );
        assert_eq!(line["fields"]["server"], "up0");
    }
}
