//! Temporary load probe (deleted after use).
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let url = sallyport_demo::spawn_http().await?;
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let conns = 16;
    let dur = Duration::from_secs(5);
    let mut tasks = Vec::new();
    for c in 0..conns {
        let authority = authority.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&authority).await?;
            let (r, mut w) = stream.into_split();
            let mut r = BufReader::new(r);
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < dur {
                let body = format!(r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"add","arguments":{{"a":1,"b":2}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}},"io.modelcontextprotocol/clientInfo":{{"name":"b","version":"0"}}}}}}}}"#, c * 1_000_000 + n);
                let req = format!("POST /mcp HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: add\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                w.write_all(req.as_bytes()).await?;
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    r.read_line(&mut line).await?;
                    if line == "\r\n" { break; }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") { len = v.trim().parse()?; }
                }
                let mut buf = vec![0; len];
                r.read_exact(&mut buf).await?;
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
        "modern JSON tools/call: {} req/s",
        total as f64 / dur.as_secs_f64()
    );
    Ok(())
}
