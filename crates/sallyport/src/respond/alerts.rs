//! What the gateway does for a fired correlation rule beyond the security state: a log
//! line, an audit event per action, notifications, ended sessions.

use std::sync::Arc;

use anyhow::Context;
use sallyport_audit::AuditEvent;
use sallyport_correlate::KeyField;
use sallyport_incidents::{IncidentStore, IncidentsConfig, NewAlert};
use sallyport_notify::{Notification, Notifier};
use sallyport_respond::{ActionRecord, BlockTarget, Response, ResponseAction};
use sallyport_transport::Gateway;
use sallyport_transport::audit::AuditTrail;

/// The incident store and its grouping window.
pub(crate) struct Incidents {
    store: Arc<IncidentStore>,
    window_ms: u64,
}

impl Incidents {
    /// Opens the store `config` names (`memory`, a path, or `incidents.db` beside the pin
    /// store).
    pub(crate) fn open(config: &IncidentsConfig) -> anyhow::Result<Self> {
        let store = match &config.store {
            Some(p) if p.as_os_str() == "memory" => IncidentStore::in_memory(),
            Some(p) => IncidentStore::open(p),
            None => IncidentStore::open(&default_incident_store()),
        }
        .context("opening the incident store (incidents.store)")?;
        Ok(Self {
            store: Arc::new(store),
            window_ms: config.group_window_secs.saturating_mul(1000),
        })
    }

    /// The store (the admin API reads and changes it too).
    pub(crate) fn store(&self) -> Arc<IncidentStore> {
        self.store.clone()
    }

    /// Files the response's alert; the incident's id, or `None` when the store failed
    /// (logged).
    fn file(&self, r: &Response) -> Option<String> {
        let a = &r.alert;
        let alert = NewAlert {
            key: incident_key(r),
            rule_id: a.rule_id.clone(),
            title: a.title.clone(),
            severity: a.severity.as_str().to_owned(),
            mitre: a.mitre.clone(),
            time_ms: a.last_ms,
            detail: serde_json::to_string(r).unwrap_or_default(),
        };
        match self.store.record(&alert, self.window_ms) {
            Ok(incident) => Some(incident.id),
            Err(error) => {
                tracing::error!(%error, rule = %a.rule_id, "Alert not filed in an incident.");
                None
            }
        }
    }
}

/// `incidents.db` beside the default pin store.
pub(crate) fn default_incident_store() -> std::path::PathBuf {
    sallyport_guards::default_store_path().with_file_name("incidents.db")
}

/// What an incident is about: the alert's key, the principal with its tenant.
fn incident_key(r: &Response) -> String {
    let parts: Vec<String> = r
        .alert
        .key
        .iter()
        .map(|k| match (k.field, r.tenant.as_deref()) {
            (KeyField::Principal, Some(t)) => format!("principal={t}/{}", k.value),
            _ => format!("{}={}", k.field.as_str(), k.value),
        })
        .collect();
    parts.join(",")
}

/// Carries out the gateway's part of each response.
pub(super) struct Actions {
    pub(super) gw: Arc<Gateway>,
    pub(super) audit: Option<AuditTrail>,
    pub(super) notifier: Option<Arc<Notifier>>,
    pub(super) incidents: Option<Incidents>,
    pub(super) stats: Arc<sallyport_respond::ResponseStats>,
}

impl Actions {
    pub(super) async fn carry_out(&self, mut response: Response) {
        let principal = response
            .alert
            .key_value(KeyField::Principal)
            .map(str::to_owned);
        let incident = self.incidents.as_ref().and_then(|i| i.file(&response));
        let mut note = notification(&response);
        note.incident_id.clone_from(&incident);
        for outcome in &mut response.outcomes {
            match outcome.action {
                "invalidate_sessions" => {
                    let Some(p) = principal.as_deref() else {
                        outcome.status = "skipped";
                        continue;
                    };
                    let ended = self.gw.end_sessions_of(p, response.tenant.as_deref()).await;
                    outcome.status = if ended > 0 { "done" } else { "none_open" };
                }
                "revoke_key" => {
                    let Some(p) = principal.as_deref() else {
                        outcome.status = "skipped";
                        continue;
                    };
                    let revoked = self.revoke_keys_of(p, response.tenant.as_deref());
                    outcome.status = if revoked > 0 { "done" } else { "none_active" };
                }
                "alert" => {
                    let queued = self.notifier.as_ref().map_or(0, |n| n.notify(&note));
                    outcome.status = if queued > 0 { "done" } else { "logged" };
                }
                _ => {}
            }
        }
        self.stats.record(&response);
        log(&response, incident.as_deref());
        self.audit(&response, incident.as_deref()).await;
    }

    /// Revokes every active API key of a principal (its tenant's): its next request is
    /// refused at the edge. Returns how many were revoked.
    fn revoke_keys_of(&self, principal: &str, tenant: Option<&str>) -> usize {
        let core = self.gw.core();
        let Some(store) = core.auth.as_ref().and_then(|a| a.api_keys()) else {
            return 0;
        };
        let now = std::time::SystemTime::now();
        let mut revoked = 0;
        for key in store.list() {
            let theirs = key.principal_id == principal && key.tenant.as_deref() == tenant;
            if !theirs || key.revoked {
                continue;
            }
            match store.revoke(&key.prefix, now) {
                Ok(_) => {
                    revoked += 1;
                    tracing::warn!(prefix = %key.prefix, principal, "API key revoked by a correlation rule.");
                }
                Err(error) => {
                    tracing::error!(%error, prefix = %key.prefix, "API key not revoked.");
                }
            }
        }
        revoked
    }

    /// A `security_events` threshold was reached: an action other than `log` goes to the
    /// notification sinks, and every one is audited.
    pub(super) async fn threshold_reached(&self, r: &ActionRecord) {
        let kind = r.kind.as_str();
        let blocked = r.blocked.as_ref().map(|b| match b {
            BlockTarget::Ip { ip } => format!("ip:{ip}"),
            BlockTarget::Principal { id, tenant } => match tenant {
                Some(t) => format!("principal:{t}/{id}"),
                None => format!("principal:{id}"),
            },
        });
        if r.action != ResponseAction::Log
            && let Some(n) = &self.notifier
        {
            n.notify(&Notification {
                id: hex::encode(rand::random::<[u8; 16]>()),
                time_ms: r.event.time_unix_ms,
                rule_id: format!("security_events.{kind}"),
                title: format!("{kind}: {} events within {} s", r.count, r.window_secs),
                severity: r.severity,
                mitre: Vec::new(),
                key: vec![("key".to_owned(), r.key.clone())],
                summary: format!(
                    "security_events.{kind} reached its threshold ({} within {} s) for {}",
                    r.count, r.window_secs, r.key
                ),
                actions_taken: blocked.iter().map(|b| format!("block {b}")).collect(),
                incident_id: None,
            });
        }
        let Some(trail) = &self.audit else { return };
        let principal = r.event.principal.as_str();
        let mut event = AuditEvent::new("response_action", principal, r.action.as_str(), "success");
        event.tenant.clone_from(&r.event.tenant);
        event.source_ip = r.event.source_ip.map(|ip| ip.to_string());
        event.reason = Some(format!(
            "security_events.{kind} threshold ({} within {} s) for {}: {}{}",
            r.count,
            r.window_secs,
            r.key,
            r.action.as_str(),
            blocked.map(|b| format!(" {b}")).unwrap_or_default()
        ));
        if let Err(error) = trail.log().append(event).await {
            tracing::error!(%error, kind, "Response action not audited.");
        }
    }

    /// One audit event per action: `response_action`, outcome `success` or `skipped`.
    async fn audit(&self, response: &Response, incident: Option<&str>) {
        let Some(trail) = &self.audit else { return };
        let a = &response.alert;
        let principal = a.key_value(KeyField::Principal).unwrap_or("gateway");
        for outcome in &response.outcomes {
            let status = if outcome.status == "skipped" {
                "skipped"
            } else {
                "success"
            };
            let mut event = AuditEvent::new("response_action", principal, outcome.action, status);
            event.tenant.clone_from(&response.tenant);
            event.source_ip = a.key_value(KeyField::SourceIp).map(str::to_owned);
            event.reason = Some(format!(
                "correlation rule {} ({}; {}): {} {} ({}){}",
                a.rule_id,
                a.severity.as_str(),
                a.mitre.join(", "),
                outcome.action,
                outcome.target.as_deref().unwrap_or("-"),
                outcome.status,
                incident
                    .map(|i| format!("; incident {i}"))
                    .unwrap_or_default()
            ));
            if let Err(error) = trail.log().append(event).await {
                tracing::error!(%error, rule = %a.rule_id, "Response action not audited.");
            }
        }
    }
}

fn log(r: &Response, incident: Option<&str>) {
    let a = &r.alert;
    let key: Vec<String> = a
        .key
        .iter()
        .map(|k| format!("{}={}", k.field.as_str(), k.value))
        .collect();
    let done: Vec<String> = r
        .outcomes
        .iter()
        .map(|o| match &o.target {
            Some(t) => format!("{} {} ({})", o.action, t, o.status),
            None => format!("{} ({})", o.action, o.status),
        })
        .collect();
    tracing::warn!(
        rule = %a.rule_id, severity = a.severity.as_str(), mitre = %a.mitre.join(","),
        key = %key.join(" "), count = a.count, actions = %done.join("; "), incident,
        "Correlation rule fired: {}.", a.title
    );
}

/// The notification for a response.
fn notification(r: &Response) -> Notification {
    let a = &r.alert;
    let key: Vec<(String, String)> = a
        .key
        .iter()
        .map(|k| (k.field.as_str().to_owned(), k.value.clone()))
        .collect();
    let described: Vec<String> = key.iter().map(|(f, v)| format!("{f} {v}")).collect();
    Notification {
        id: hex::encode(rand::random::<[u8; 16]>()),
        time_ms: a.last_ms,
        rule_id: a.rule_id.clone(),
        title: a.title.clone(),
        severity: a.severity,
        mitre: a.mitre.clone(),
        key,
        summary: format!(
            "{} — {} ({} events between {} and {} ms since the epoch)",
            a.title,
            described.join(", "),
            a.count,
            a.first_ms,
            a.last_ms
        ),
        actions_taken: r
            .outcomes
            .iter()
            .filter(|o| o.action != "alert")
            .map(|o| match &o.target {
                Some(t) => format!("{} {t}", o.action),
                None => o.action.to_owned(),
            })
            .collect(),
        incident_id: None,
    }
}
