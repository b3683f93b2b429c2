//! Wires the response orchestrator into a running gateway: a task that reads the decision
//! bus, turns records into security events and places blocks in the gateway's security
//! state. It never touches the data path: a lagging subscription loses the oldest records,
//! counted and warned about (at most once every ten seconds).

use std::time::{Duration, Instant};

use sallyport_pipeline::DecisionRecord;
use sallyport_respond::{EventRulesConfig, Responder};
use sallyport_transport::Gateway;
use tokio::sync::broadcast::{Receiver, error::RecvError};

/// How often a lagging subscription is reported.
const LAG_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Starts the responder for `config` on its own task, reading `records`.
pub(crate) fn spawn(config: &EventRulesConfig, gw: &Gateway, records: Receiver<DecisionRecord>) {
    if !config.enabled {
        tracing::info!("Security events are disabled (security_events.enabled: false).");
        return;
    }
    let responder = Responder::new(config.build(), gw.security().clone());
    tokio::spawn(run(responder, records));
}

async fn run(mut responder: Responder, mut records: Receiver<DecisionRecord>) {
    let mut lost: u64 = 0;
    let mut last_report: Option<Instant> = None;
    loop {
        match records.recv().await {
            Ok(record) => {
                let _ = responder.observe(&record);
            }
            Err(RecvError::Lagged(n)) => {
                lost += n;
                if last_report.is_none_or(|t| t.elapsed() >= LAG_REPORT_INTERVAL) {
                    last_report = Some(Instant::now());
                    tracing::warn!(
                        lost,
                        "Security events fell behind the decision bus; the oldest records were not counted."
                    );
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}
