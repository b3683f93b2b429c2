//! One upstream's place in a session: connects lazily and reconnects with back-off.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, mpsc};
use tracing::{info, warn};

use crate::Gateway;
use crate::upstream::{ClientHello, Link, LinkError, LinkEvent, UpstreamKind, UpstreamSpec};

/// How many consecutive failures are tolerated for non-stdio upstreams before back-off caps.
const HTTP_MAX_BACKOFF: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
struct SlotState {
    link: Option<Arc<Link>>,
    failures: u32,
    not_before: Option<Instant>,
    connects: u32,
}

/// The connection to one upstream within a session.
#[derive(Debug)]
pub(crate) struct LinkSlot {
    pub(crate) idx: usize,
    pub(crate) spec: Arc<UpstreamSpec>,
    state: Mutex<SlotState>,
}

impl LinkSlot {
    pub(crate) fn new(idx: usize, spec: Arc<UpstreamSpec>) -> Self {
        Self {
            idx,
            spec,
            state: Mutex::new(SlotState::default()),
        }
    }

    /// The live link, connecting (or reconnecting after a crash) when needed.
    pub(crate) async fn link(
        &self,
        gw: &Gateway,
        hello: &ClientHello,
        events: &mpsc::Sender<(usize, LinkEvent)>,
    ) -> Result<Arc<Link>, LinkError> {
        let mut st = self.state.lock().await;
        if let Some(link) = st.link.as_ref().filter(|l| !l.is_closed()) {
            return Ok(link.clone());
        }
        if let Some(dead) = st.link.take() {
            warn!(server = %self.spec.name, "Upstream connection lost; reconnecting.");
            tokio::spawn(async move { dead.shutdown().await });
        }
        let (max_restarts, initial, max) = self.backoff_params();
        if st.connects > 0 && st.failures > max_restarts {
            return Err(LinkError::Unavailable {
                server: self.spec.name.to_string(),
                reason: "restart limit reached".into(),
            });
        }
        if let Some(t) = st.not_before {
            let now = Instant::now();
            if t > now {
                // Wait out the back-off rather than fail: the caller has a request timeout.
                tokio::time::sleep(t - now).await;
            }
        }
        st.connects += 1;
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(forward_events(self.idx, rx, events.clone()));
        match Link::connect(
            self.spec.clone(),
            hello.clone(),
            gw.http.clone(),
            tx,
            &gw.era_cache,
        )
        .await
        {
            Ok(link) => {
                if st.connects > 1 {
                    info!(server = %self.spec.name, era = link.era().as_str(), "Upstream reconnected.");
                }
                st.failures = 0;
                st.not_before = None;
                st.link = Some(link.clone());
                Ok(link)
            }
            Err(e) => {
                st.failures += 1;
                let exp = st.failures.saturating_sub(1).min(16);
                let delay = initial.saturating_mul(1 << exp).min(max);
                st.not_before = Some(Instant::now() + delay);
                Err(e)
            }
        }
    }

    /// The current link without connecting.
    pub(crate) async fn current(&self) -> Option<Arc<Link>> {
        self.state
            .lock()
            .await
            .link
            .clone()
            .filter(|l| !l.is_closed())
    }

    /// Closes the link, if any.
    pub(crate) async fn shutdown(&self) {
        let link = self.state.lock().await.link.take();
        if let Some(l) = link {
            l.shutdown().await;
        }
    }

    fn backoff_params(&self) -> (u32, Duration, Duration) {
        match &self.spec.kind {
            UpstreamKind::Stdio(s) => (s.max_restarts, s.initial_backoff, s.max_backoff),
            UpstreamKind::Http(_) | UpstreamKind::Sse(_) => {
                (u32::MAX, Duration::from_millis(250), HTTP_MAX_BACKOFF)
            }
        }
    }
}

async fn forward_events(
    idx: usize,
    mut rx: mpsc::Receiver<LinkEvent>,
    tx: mpsc::Sender<(usize, LinkEvent)>,
) {
    while let Some(ev) = rx.recv().await {
        if tx.send((idx, ev)).await.is_err() {
            break;
        }
    }
}
