//! Compliance reports (seed 003): activity tagged GDPR, HIPAA, SOX, PCI_DSS (and every
//! other tag) over a period, with the chain's state, signed with the audit checkpoint key.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use sallyport_approvals::now_ms;
use sallyport_audit::canonical::to_canonical_json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::Authed;
use super::audit::{AuditEntryView, AuditQuery, search_audit, verify_chain};
use crate::error::{ApiError, ErrorBody};
use crate::extract::Params;
use crate::state::AdminState;

/// The signature domain of compliance reports.
pub(crate) const SIGNATURE_CONTEXT: &str = "compliance-report";
/// The frameworks every report lists, even with no activity.
const FRAMEWORKS: [&str; 4] = ["GDPR", "HIPAA", "SOX", "PCI_DSS"];
/// Events a report reads at most.
const MAX_EVENTS: u32 = 1000;

/// The period.
#[derive(Debug, Clone, Copy, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Period {
    /// Start (ms since the Unix epoch; default 30 days ago).
    pub from_ms: Option<u64>,
    /// End, exclusive (ms since the Unix epoch; default now).
    pub until_ms: Option<u64>,
}

/// Activity under one tag.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct FrameworkSummary {
    /// The tag (`GDPR`, `HIPAA`, `SOX`, `PCI_DSS`, `policy_violation`, …).
    pub tag: String,
    /// Events carrying it.
    pub events: u64,
    /// Of those, refused or held messages.
    pub refused: u64,
    /// Distinct principals.
    pub principals: u64,
    /// Events per resource.
    pub resources: BTreeMap<String, u64>,
}

/// The chain's state when the report was made.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ChainState {
    /// Whether the chain verified.
    pub ok: bool,
    /// Its head.
    pub head_seq: u64,
    /// Events checked.
    pub events_checked: u64,
    /// The signing key's id.
    pub key_id: String,
}

/// A compliance report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ComplianceReport {
    /// When it was made (ms since the Unix epoch).
    pub generated_ms: u64,
    /// Period start.
    pub from_ms: u64,
    /// Period end (exclusive).
    pub until_ms: u64,
    /// Tagged events in the period (at most 1000 read).
    pub tagged_events: u64,
    /// Per tag.
    pub frameworks: Vec<FrameworkSummary>,
    /// The most recent tagged events.
    pub recent: Vec<AuditEntryView>,
    /// The chain's state.
    pub chain: ChainState,
}

/// The report's Ed25519 signature over its canonical JSON.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ReportSignature {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// The audit checkpoint key's id (`sallyport audit verify` prints it).
    pub key_id: String,
    /// The domain the signature is made under: `sallyport-compliance-report-v1\n` precedes
    /// the canonical JSON of `report`.
    pub context: String,
    /// Base64.
    pub value: String,
}

/// A signed compliance report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct SignedReport {
    /// The report.
    pub report: ComplianceReport,
    /// Its signature.
    pub signature: ReportSignature,
}

/// A compliance report for a period, signed with the audit key.
#[utoipa::path(get, operation_id = "compliance_report", path = "/admin/compliance", tag = "audit", params(Period),
    responses((status = 200, body = SignedReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn report(
    _: Authed,
    State(state): State<Arc<AdminState>>,
    Params(period): Params<Period>,
) -> Result<Json<SignedReport>, ApiError> {
    Ok(Json(signed_report(&state, period).await?))
}

/// Builds and signs the report.
pub(crate) async fn signed_report(
    state: &AdminState,
    period: Period,
) -> Result<SignedReport, ApiError> {
    let now = now_ms();
    let until = period.until_ms.unwrap_or(now);
    let from = period
        .from_ms
        .unwrap_or(until.saturating_sub(30 * 86_400_000));
    if from >= until {
        return Err(ApiError::BadRequest(
            "from_ms must be before until_ms".into(),
        ));
    }
    let query = AuditQuery {
        since_ms: Some(from),
        until_ms: Some(until),
        limit: Some(MAX_EVENTS),
        ..AuditQuery::default()
    };
    let events = search_audit(state, query).await?;
    let tagged: Vec<AuditEntryView> = events
        .into_iter()
        .filter(|e| !e.compliance_tags.is_empty())
        .collect();
    let chain = verify_chain(state).await?;
    let report = ComplianceReport {
        generated_ms: now,
        from_ms: from,
        until_ms: until,
        tagged_events: tagged.len() as u64,
        frameworks: summarize(&tagged),
        recent: tagged.iter().take(50).cloned().collect(),
        chain: ChainState {
            ok: chain.ok,
            head_seq: chain.head_seq,
            events_checked: chain.events_checked,
            key_id: chain.key_id,
        },
    };
    let canonical =
        to_canonical_json(&report).map_err(|e| ApiError::internal("encoding the report", e))?;
    let log = state.audit_trail()?.log();
    let sig = log.sign_detached(SIGNATURE_CONTEXT, canonical.as_bytes());
    Ok(SignedReport {
        signature: ReportSignature {
            algorithm: "Ed25519".into(),
            key_id: log.verifying_key().key_id(),
            context: SIGNATURE_CONTEXT.into(),
            value: base64::engine::general_purpose::STANDARD.encode(sig),
        },
        report,
    })
}

fn summarize(events: &[AuditEntryView]) -> Vec<FrameworkSummary> {
    let mut tags: BTreeSet<String> = FRAMEWORKS.iter().map(|s| (*s).to_owned()).collect();
    tags.extend(
        events
            .iter()
            .flat_map(|e| e.compliance_tags.iter().cloned()),
    );
    tags.into_iter()
        .map(|tag| {
            let with: Vec<&AuditEntryView> = events
                .iter()
                .filter(|e| {
                    e.compliance_tags
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(&tag))
                })
                .collect();
            let mut resources = BTreeMap::new();
            for e in &with {
                let r = e.resource.clone().unwrap_or_else(|| "-".into());
                *resources.entry(r).or_insert(0) += 1;
            }
            FrameworkSummary {
                events: with.len() as u64,
                refused: with
                    .iter()
                    .filter(|e| matches!(e.outcome.as_str(), "deny" | "hold"))
                    .count() as u64,
                principals: with
                    .iter()
                    .map(|e| e.principal.as_str())
                    .collect::<BTreeSet<_>>()
                    .len() as u64,
                resources,
                tag,
            }
        })
        .collect()
}
