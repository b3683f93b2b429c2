//! Export: JSON Lines (verifiable offline), CEF, syslog (UDP and TCP) and a signed webhook
//! with retries, each against a receiver started here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{Backend, runtime};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use sallyport_audit::chain::entry_hash;
use sallyport_audit::export::{
    SyslogConfig, SyslogExporter, SyslogProtocol, WebhookExporter, webhook,
};
use sallyport_audit::{AuditEvent, AuditLog, ExportFormat, Exporter, StoreConfig};
use tokio::io::AsyncReadExt;

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn filled(backend: &Backend, dir: &std::path::Path) -> StoreConfig {
    let log = AuditLog::open(backend.config(dir)).await.unwrap();
    for i in 0..3 {
        let mut e = AuditEvent::new("authorization_denied", "alice", "tools/call", "deny");
        e.reason = Some(format!("rule|{i}=x"));
        log.append(e).await.unwrap();
    }
    log.close().await.unwrap();
    backend.store_config()
}

#[test]
fn jsonl_export_is_verifiable_offline_and_cef_is_escaped() {
    for backend in Backend::both() {
        let dir = tempfile::tempdir().unwrap();
        runtime().block_on(async {
            let store = filled(&backend, dir.path()).await;
            let buf = SharedBuf::default();
            let n = sallyport_audit::export_store(&store, ExportFormat::Jsonl, 1, buf.clone())
                .await
                .unwrap();
            assert_eq!(n, 3);
            let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
            let mut prev = [0u8; 32];
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let body = sallyport_audit::canonical::to_canonical_json(&v["event"]).unwrap();
                let seq = v["seq"].as_u64().unwrap();
                assert_eq!(v["prev_hash"].as_str().unwrap(), hex::encode(prev));
                let h = entry_hash(body.as_bytes(), seq, &prev);
                assert_eq!(
                    v["hash"].as_str().unwrap(),
                    hex::encode(h),
                    "offline re-hash"
                );
                prev = h;
            }
            let buf = SharedBuf::default();
            sallyport_audit::export_store(&store, ExportFormat::Cef, 2, buf.clone())
                .await
                .unwrap();
            let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
            let lines: Vec<_> = text.lines().collect();
            assert_eq!(lines.len(), 2);
            assert!(lines[0].starts_with(
                "CEF:0|Sallyport|Sallyport|0.1|authorization_denied|tools/call deny|5|"
            ));
            assert!(lines[0].contains(r"reason=rule|1\=x"), "{}", lines[0]);
        });
    }
}

#[test]
fn syslog_udp_and_tcp_receivers_get_rfc5424() {
    let backend = Backend::sqlite();
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let store = filled(&backend, dir.path()).await;
        // UDP
        let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let exporter = SyslogExporter::new(SyslogConfig {
            address: udp.local_addr().unwrap().to_string(),
            protocol: SyslogProtocol::Udp,
            format: ExportFormat::Cef,
            facility: 13,
            hostname: Some("gw-1".into()),
        });
        let next = sallyport_audit::push_store(&store, &exporter, 1, 100)
            .await
            .unwrap();
        assert_eq!(next, 4);
        let mut buf = vec![0u8; 65_536];
        for seq in 1..=3 {
            let n = tokio::time::timeout(Duration::from_secs(5), udp.recv(&mut buf))
                .await
                .unwrap()
                .unwrap();
            let msg = std::str::from_utf8(&buf[..n]).unwrap();
            // facility 13 * 8 + warning (4) = 108
            assert!(msg.starts_with("<108>1 "), "{msg}");
            assert!(msg.contains(" gw-1 sallyport "), "{msg}");
            assert!(
                msg.contains(&format!("[sallyport@32473 seq=\"{seq}\" hash=\"")),
                "{msg}"
            );
            assert!(msg.contains("] CEF:0|Sallyport|"), "{msg}");
        }
        // TCP with octet counting
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let exporter = SyslogExporter::new(SyslogConfig {
            address: tcp.local_addr().unwrap().to_string(),
            protocol: SyslogProtocol::Tcp,
            format: ExportFormat::Jsonl,
            facility: 13,
            hostname: None,
        });
        let receiver = tokio::spawn(async move {
            let (mut s, _) = tcp.accept().await.unwrap();
            let mut all = Vec::new();
            s.read_to_end(&mut all).await.unwrap();
            all
        });
        sallyport_audit::push_store(&store, &exporter, 1, 100)
            .await
            .unwrap();
        let all = receiver.await.unwrap();
        let mut rest = &all[..];
        let mut frames = Vec::new();
        while !rest.is_empty() {
            let sp = rest.iter().position(|b| *b == b' ').unwrap();
            let len: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
            frames.push(
                std::str::from_utf8(&rest[sp + 1..sp + 1 + len])
                    .unwrap()
                    .to_owned(),
            );
            rest = &rest[sp + 1 + len..];
        }
        assert_eq!(frames.len(), 3);
        assert!(
            frames[2].contains(" - sallyport ") && frames[2].contains(r#"{"seq":3,"#),
            "{}",
            frames[2]
        );
    });
}

#[test]
fn webhook_is_signed_and_retried() {
    let backend = Backend::sqlite();
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let store = filled(&backend, dir.path()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let attempts = Arc::new(AtomicU32::new(0));
        let received: Arc<Mutex<Vec<(String, String, Bytes)>>> = Arc::default();
        let (a, r) = (attempts.clone(), received.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (a, r) = (a.clone(), r.clone());
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                            let (a, r) = (a.clone(), r.clone());
                            async move {
                                let n = a.fetch_add(1, Ordering::SeqCst) + 1;
                                let ts = req.headers()[webhook::TIMESTAMP_HEADER]
                                    .to_str()
                                    .unwrap()
                                    .to_owned();
                                let sig = req.headers()[webhook::SIGNATURE_HEADER]
                                    .to_str()
                                    .unwrap()
                                    .to_owned();
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                r.lock().unwrap().push((ts, sig, body));
                                let status = if n < 3 {
                                    StatusCode::SERVICE_UNAVAILABLE
                                } else {
                                    StatusCode::OK
                                };
                                Ok::<_, hyper::Error>(
                                    Response::builder()
                                        .status(status)
                                        .body(Full::new(Bytes::new()))
                                        .unwrap(),
                                )
                            }
                        });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        let exporter = WebhookExporter::new(
            &format!("http://{addr}/audit"),
            b"s3cret",
            5,
            Duration::from_millis(20),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(exporter.name(), "webhook");
        sallyport_audit::push_store(&store, &exporter, 1, 100)
            .await
            .unwrap();
        assert_eq!(attempts.load(Ordering::SeqCst), 3, "two 503s then success");
        let got = received.lock().unwrap().clone();
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, b"s3cret");
        for (ts, sig, body) in &got {
            assert_eq!(sig, &webhook::sign(&key, ts, body));
            assert_eq!(std::str::from_utf8(body).unwrap().lines().count(), 3);
        }
        // A receiver that keeps failing exhausts the attempts and reports the status.
        let failing = WebhookExporter::new(
            &format!("http://{addr}/audit"),
            b"wrong",
            1,
            Duration::from_millis(1),
            Duration::from_secs(5),
        )
        .unwrap();
        attempts.store(0, Ordering::SeqCst);
        let err = sallyport_audit::push_store(&store, &failing, 1, 100)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("503"), "{err}");
    });
}
