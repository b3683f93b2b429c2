//! Temporary load probe (deleted after use).
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(
    r: &mut R,
) -> anyhow::Result<(String, Vec<u8>)> {
    let mut len = None;
    let mut chunked = false;
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await?;
        if line.is_empty() {
            anyhow::bail!("eof");
        }
        if line == "\r\n" {
            break;
        }
        let l = line.to_ascii_lowercase();
        if let Some(v) = l.strip_prefix("content-length:") {
            len = Some(v.trim().parse()?);
        }
        if l.starts_with("transfer-encoding:") && l.contains("chunked") {
            chunked = true;
        }
        head.push_str(&line);
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut line = String::new();
            r.read_line(&mut line).await?;
            let size = usize::from_str_radix(line.trim(), 16)?;
            let mut buf = vec![0; size + 2];
            r.read_exact(&mut buf).await?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&buf[..size]);
        }
    } else if let Some(len) = len {
        body = vec![0; len];
        r.read_exact(&mut body).await?;
    }
    Ok((head, body))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "modern".into());
    let url = if mode == "modern-sse" {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let u = format!("http://{}/mcp", l.local_addr()?);
        tokio::spawn(sallyport_demo::serve_http_with(
            l,
            sallyport_demo::HttpOptions::default().with_json_response(false),
        ));
        u
    } else {
        sallyport_demo::spawn_http().await?
    };
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let conns = 16;
    let dur = Duration::from_secs(5);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let authority = authority.clone();
        let mode = mode.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&authority).await?;
            let (r, mut w) = stream.into_split();
            let mut r = BufReader::new(r);
            let mut session = String::new();
            if mode == "legacy" {
                let body = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"b","version":"0"}}}"#;
                let req = format!("POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                w.write_all(req.as_bytes()).await?;
                let (head, _) = read_response(&mut r).await?;
                let sid = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("mcp-session-id:").map(|s| s.trim().to_owned())).ok_or_else(|| anyhow::anyhow!("no session {head}"))?;
                session = format!("Mcp-Session-Id: {sid}\r\nMCP-Protocol-Version: 2025-11-25\r\n");
                let body = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
                let req = format!("POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{session}Content-Length: {}\r\n\r\n{body}", body.len());
                w.write_all(req.as_bytes()).await?;
                read_response(&mut r).await?;
            }
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < dur {
                let id = c * 1_000_000 + n + 1;
                let body = if mode == "legacy" {
                    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"add","arguments":{{"a":1,"b":2}}}}}}"#)
                } else {
                    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"add","arguments":{{"a":1,"b":2}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}},"io.modelcontextprotocol/clientInfo":{{"name":"b","version":"0"}}}}}}}}"#)
                };
                let hdrs = if mode == "legacy" { session.clone() } else { "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: add\r\n".to_owned() };
                let req = format!("POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n{hdrs}Content-Length: {}\r\n\r\n{body}", body.len());
                w.write_all(req.as_bytes()).await?;
                let (_, buf) = read_response(&mut r).await?;
                anyhow::ensure!(buf.windows(3).any(|w| w == b"sum"), "bad {}", String::from_utf8_lossy(&buf));
                n += 1;
            }
            anyhow::Ok(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    println!(
        "{mode} tools/call: {} req/s",
        total as f64 / dur.as_secs_f64()
    );
    Ok(())
}
