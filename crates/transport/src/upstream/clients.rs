//! HTTP clients for upstreams, one per connect timeout (reqwest sets the connect timeout
//! per client), sharing nothing but the settings every upstream gets.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// The gateway's HTTP clients towards upstreams, keyed by connect timeout. Upstreams with
/// the same connect timeout share a client and its connection pool.
#[derive(Debug, Default)]
pub struct HttpClients {
    by_connect_timeout: RwLock<HashMap<Duration, reqwest::Client>>,
}

impl HttpClients {
    /// The client that gives up connecting after `connect_timeout`.
    pub fn for_connect(&self, connect_timeout: Duration) -> reqwest::Client {
        if let Some(client) = self
            .by_connect_timeout
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&connect_timeout)
        {
            return client.clone();
        }
        let mut map = self
            .by_connect_timeout
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(connect_timeout)
            .or_insert_with(|| build(connect_timeout))
            .clone()
    }
}

/// No redirects (an upstream cannot send the gateway elsewhere), a pool per host, no Nagle.
fn build(connect_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .pool_max_idle_per_host(64)
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code")]
mod tests {
    use super::*;

    #[test]
    fn upstreams_with_one_connect_timeout_share_a_client() {
        let clients = HttpClients::default();
        let _a = clients.for_connect(Duration::from_secs(1));
        let _b = clients.for_connect(Duration::from_secs(1));
        let _c = clients.for_connect(Duration::from_secs(2));
        assert_eq!(clients.by_connect_timeout.read().unwrap().len(), 2);
    }
}
