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
    /// When the current link was established.
    connected_at: Option<Instant>,
    /// Recent crashes (connections lost), within `CRASH_WINDOW`.
    crashes: std::collections::VecDeque<Instant>,
    /// Crashes in a row of links that died young (a crash loop).
    crash_streak: u32,
}

/// Crashes older than this no longer count against `max_restarts`.
const CRASH_WINDOW: Duration = Duration::from_secs(600);
/// A link that lived this long before dying ends a crash streak.
const STABLE_AFTER: Duration = Duration::from_secs(30);

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
        let (max_restarts, initial, max) = self.backoff_params();
        if let Some(dead) = st.link.take() {
            tokio::spawn(async move { dead.shutdown().await });
            record_crash(&mut st, initial, max);
            warn!(server = %self.spec.name, crashes = st.crashes.len(), "Upstream connection lost; restarting.");
        }
        let now = Instant::now();
        while st
            .crashes
            .front()
            .is_some_and(|t| now.duration_since(*t) > CRASH_WINDOW)
        {
            st.crashes.pop_front();
        }
        let crashed_too_often = u32::try_from(st.crashes.len()).unwrap_or(u32::MAX) > max_restarts;
        if (st.connects > 0 && st.failures > max_restarts) || crashed_too_often {
            return Err(LinkError::Unavailable {
                server: self.spec.name.to_string(),
                reason: format!(
                    "restart limit reached ({max_restarts} within {} s)",
                    CRASH_WINDOW.as_secs()
                ),
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
            &gw.http,
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
                st.connected_at = Some(Instant::now());
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

/// Counts a lost connection; a link that died young lengthens the crash streak and the delay
/// before the next restart (exponential, capped).
fn record_crash(st: &mut SlotState, initial: Duration, max: Duration) {
    let now = Instant::now();
    st.crashes.push_back(now);
    let young = st
        .connected_at
        .is_some_and(|t| now.duration_since(t) < STABLE_AFTER);
    st.crash_streak = if young { st.crash_streak + 1 } else { 1 };
    if st.crash_streak > 1 {
        let exp = (st.crash_streak - 2).min(16);
        st.not_before = Some(now + initial.saturating_mul(1 << exp).min(max));
    }
}
