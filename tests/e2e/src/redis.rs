//! A Redis server of a test's own, for tests that kill and restart it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Redis server of this test's own (the real `redis-server`, keeping nothing on disk), so
/// that killing it leaves the machine's shared Redis alone.
pub struct RedisProc {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Child,
}

impl RedisProc {
    /// Starts `redis-server` on `port` and waits until it accepts connections.
    pub async fn start_on(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (the CI script installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { port, child }
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no goodbye to its clients.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for RedisProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
