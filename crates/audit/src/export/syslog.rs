//! RFC 5424 syslog over UDP (one datagram per event) or TCP (RFC 6587 octet counting).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

use crate::chain::ChainEntry;
use crate::export::{ExportError, ExportFormat, ExportFuture, Exporter, format_entry};

/// Largest UDP payload sent.
const MAX_UDP: usize = 65_000;
/// Structured-data id; 32473 is the private enterprise number reserved for documentation
/// (RFC 5612). Replace with a registered PEN when Sallyport has one.
const SD_ID: &str = "sallyport@32473";

/// A syslog receiver.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct SyslogConfig {
    /// `host:port` of the receiver.
    pub address: String,
    /// Transport.
    #[serde(default)]
    pub protocol: SyslogProtocol,
    /// Message body format.
    #[serde(default = "default_format")]
    pub format: ExportFormat,
    /// Syslog facility (default 13, "log audit").
    #[serde(default = "default_facility")]
    pub facility: u8,
    /// HOSTNAME field; `-` when absent.
    #[serde(default)]
    pub hostname: Option<String>,
}

fn default_format() -> ExportFormat {
    ExportFormat::Cef
}

fn default_facility() -> u8 {
    13
}

/// Syslog transport.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyslogProtocol {
    /// UDP, one event per datagram.
    #[default]
    Udp,
    /// TCP with octet-counting framing (`<len> <message>`).
    Tcp,
}

/// Sends events to a syslog receiver.
#[derive(Debug, Clone)]
pub struct SyslogExporter {
    config: SyslogConfig,
}

impl SyslogExporter {
    /// An exporter for `config`.
    pub fn new(config: SyslogConfig) -> Self {
        Self { config }
    }

    async fn send(&self, entries: &[ChainEntry]) -> Result<(), ExportError> {
        let messages = entries
            .iter()
            .map(|e| rfc5424(e, &self.config))
            .collect::<Result<Vec<_>, _>>()?;
        match self.config.protocol {
            SyslogProtocol::Udp => {
                let bind = if self.config.address.starts_with('[') {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                };
                let socket = UdpSocket::bind(bind).await?;
                socket.connect(&self.config.address).await?;
                for m in &messages {
                    if m.len() > MAX_UDP {
                        return Err(ExportError::TooLarge(m.len()));
                    }
                    socket.send(m.as_bytes()).await?;
                }
            }
            SyslogProtocol::Tcp => {
                let mut stream = TcpStream::connect(&self.config.address).await?;
                let mut buf = Vec::new();
                for m in &messages {
                    buf.extend_from_slice(format!("{} ", m.len()).as_bytes());
                    buf.extend_from_slice(m.as_bytes());
                }
                stream.write_all(&buf).await?;
                stream.flush().await?;
                stream.shutdown().await?;
            }
        }
        Ok(())
    }
}

impl Exporter for SyslogExporter {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn export<'a>(&'a self, entries: &'a [ChainEntry]) -> ExportFuture<'a> {
        Box::pin(self.send(entries))
    }
}

/// Render one entry as an RFC 5424 message:
/// `<PRI>1 TIMESTAMP HOSTNAME sallyport PROCID MSGID [sallyport@32473 seq="" hash=""] BODY`.
pub fn rfc5424(entry: &ChainEntry, config: &SyslogConfig) -> Result<String, ExportError> {
    let body = format_entry(entry, config.format)?;
    let event = entry.event().map_err(|source| ExportError::BadEvent {
        seq: entry.seq,
        source,
    })?;
    let severity = match event.severity() {
        9.. => 2,
        7..=8 => 3,
        4..=6 => 4,
        2..=3 => 5,
        _ => 6,
    };
    let pri = u32::from(config.facility.min(23)) * 8 + severity;
    let time = i64::try_from(entry.time_unix_ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "-".to_owned(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        );
    let host = header_field(config.hostname.as_deref().unwrap_or("-"), 255);
    let msgid = header_field(&entry.event_type, 32);
    Ok(format!(
        "<{pri}>1 {time} {host} sallyport {} {msgid} [{SD_ID} seq=\"{}\" hash=\"{}\"] {body}",
        std::process::id(),
        entry.seq,
        hex::encode(entry.hash),
    ))
}

/// Header fields are printable US-ASCII without spaces, bounded; `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let out: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if out.is_empty() { "-".to_owned() } else { out }
}
