//! The responder: counts events against their rules and performs the actions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sallyport_pipeline::DecisionRecord;
use serde::Serialize;

use crate::config::{EventRules, ResponseAction};
use crate::event::{SecurityEvent, SecurityEventKind, Severity, classify};
use crate::state::{BlockTarget, SecurityState};
use crate::window::{ThresholdKey, Windows};

/// What the responder did when a threshold was reached: the alert, and the block if any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRecord {
    /// The event kind.
    pub kind: SecurityEventKind,
    /// Its configured severity.
    pub severity: Severity,
    /// The configured action.
    pub action: ResponseAction,
    /// What was counted (`principal:tenant/id` or `ip:…`).
    pub key: String,
    /// Events counted within the window.
    pub count: u32,
    /// The window, in seconds.
    pub window_secs: u64,
    /// The block placed, if the action blocks and a target was known.
    pub blocked: Option<BlockTarget>,
    /// How long the block lasts; `None` with `blocked` set means until restart or unblock.
    pub block_secs: Option<u64>,
    /// The event that reached the threshold.
    pub event: SecurityEvent,
}

/// Applies the rules to a stream of events. Single-owner: run it on its own task.
#[derive(Debug)]
pub struct Responder {
    rules: EventRules,
    state: Arc<SecurityState>,
    windows: Windows,
    epoch: Instant,
    actions: [u64; 5],
}

impl Responder {
    /// A responder acting on `state`, which it caps at the rules' `max_blocks`.
    pub fn new(rules: EventRules, state: Arc<SecurityState>) -> Self {
        state.set_max_blocks(rules.max_blocks);
        Self {
            windows: Windows::new(rules.max_tracked_keys),
            rules,
            state,
            epoch: Instant::now(),
            actions: [0; 5],
        }
    }

    /// How long its temporary blocks last (`block_duration_secs`).
    pub fn block_duration(&self) -> Duration {
        self.rules.block_duration
    }

    /// The security state it writes.
    pub fn state(&self) -> &Arc<SecurityState> {
        &self.state
    }

    /// How many times `action` was performed.
    pub fn actions_taken(&self, action: ResponseAction) -> u64 {
        self.actions[action.index()]
    }

    /// How many `(kind, key)` windows are tracked.
    pub fn tracked_keys(&self) -> usize {
        self.windows.len()
    }

    /// Classifies one decision record and handles the event it raises, now.
    pub fn observe(&mut self, record: &DecisionRecord) -> Option<ActionRecord> {
        let event = classify(record)?;
        self.handle(&event, Instant::now())
    }

    /// Counts `event` at `now`; when its kind's threshold is reached for its key, performs
    /// the action, logs it and returns what was done.
    pub fn handle(&mut self, event: &SecurityEvent, now: Instant) -> Option<ActionRecord> {
        if !self.rules.enabled {
            return None;
        }
        if !event.is_anonymous() && event.auth_method != "stdio" {
            // Every event counts against its principal's reputation (trust score).
            self.state
                .record_violation(&event.principal, event.tenant.as_deref(), now);
        }
        let rule = *self.rules.rule(event.kind);
        let key = threshold_key(event, rule.action)?;
        let now_ms = u64::try_from(now.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX);
        let count =
            self.windows
                .hit(event.kind, key.clone(), now_ms, rule.window, rule.threshold)?;
        let (blocked, block_secs) = self.perform(rule.action, event, now);
        self.actions[rule.action.index()] += 1;
        let record = ActionRecord {
            kind: event.kind,
            severity: rule.severity,
            action: rule.action,
            key: key.to_string(),
            count,
            window_secs: rule.window.as_secs(),
            blocked,
            block_secs,
            event: event.clone(),
        };
        log(&record);
        Some(record)
    }

    /// Places the block the action calls for, if it has a target.
    fn perform(
        &self,
        action: ResponseAction,
        event: &SecurityEvent,
        now: Instant,
    ) -> (Option<BlockTarget>, Option<u64>) {
        let temporary = Some(self.rules.block_duration);
        let duration = match action {
            ResponseAction::Log | ResponseAction::Alert => return (None, None),
            ResponseAction::BlockAndAlert | ResponseAction::BlockIp => temporary,
            ResponseAction::BlockUserAndAlert => None,
        };
        let reason = event.kind.as_str();
        let by_ip = action == ResponseAction::BlockIp || event.is_anonymous();
        let target = if by_ip {
            let Some(ip) = event.source_ip else {
                return (None, None);
            };
            self.state.block_ip(ip, duration, reason, now);
            BlockTarget::Ip { ip }
        } else if event.auth_method == "stdio" {
            // The stdio client is the local operator: nothing at the HTTP edge to block.
            return (None, None);
        } else {
            self.state.block_principal(
                &event.principal,
                event.tenant.as_deref(),
                duration,
                reason,
                now,
            );
            BlockTarget::Principal {
                id: event.principal.clone(),
                tenant: event.tenant.clone(),
            }
        };
        (Some(target), duration.as_ref().map(Duration::as_secs))
    }
}

/// What an event counts against: its address for address-keyed kinds, `block_ip` rules and
/// events without an established principal; else its principal within its tenant. `None`
/// when the address is needed but unknown (such events cannot be pinned on anyone).
fn threshold_key(event: &SecurityEvent, action: ResponseAction) -> Option<ThresholdKey> {
    if event.kind.keyed_by_ip() || action == ResponseAction::BlockIp || event.is_anonymous() {
        return event.source_ip.map(ThresholdKey::Ip);
    }
    Some(ThresholdKey::Principal {
        id: event.principal.clone(),
        tenant: event.tenant.clone(),
    })
}

fn log(r: &ActionRecord) {
    let blocked = r.blocked.as_ref().map(|b| match b {
        BlockTarget::Ip { ip } => format!("ip:{ip}"),
        BlockTarget::Principal { id, tenant } => match tenant {
            Some(t) => format!("principal:{t}/{id}"),
            None => format!("principal:{id}"),
        },
    });
    let e = &r.event;
    let (event, severity, action) = (r.kind.as_str(), r.severity.as_str(), r.action.as_str());
    let deny_code = e.deny_code.map(sallyport_pipeline::DenyCode::as_str);
    if r.action == ResponseAction::Log {
        tracing::info!(
            event, severity, action, key = %r.key, count = r.count, window_secs = r.window_secs,
            principal = %e.principal, server = e.server.as_deref(), tool = e.tool.as_deref(),
            deny_code, "Security event threshold reached."
        );
    } else {
        tracing::warn!(
            event, severity, action, key = %r.key, count = r.count, window_secs = r.window_secs,
            principal = %e.principal, tenant = e.tenant.as_deref(),
            source_ip = e.source_ip.map(|ip| ip.to_string()), server = e.server.as_deref(),
            tool = e.tool.as_deref(), deny_code, blocked, block_secs = r.block_secs,
            "Security alert."
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
