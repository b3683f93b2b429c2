//! Cedar ABAC: one request's entities and context, and the evaluation.
//!
//! The data model (no namespace), documented for policy authors in docs/authorization.md:
//!
//! * principal: `User::"<id>"` (users, the local operator, anonymous callers) or
//!   `Service::"<id>"`, with `kind`, `roles` (set), `tenant`?, and parents `Role::"<role>"`.
//! * action: `Action::"read" | "write" | "execute" | "delete"`, member of
//!   `Action::"call_tool" | "get_prompt" | "read_resource"`.
//! * resource: `Tool | Prompt | Resource::"<server>/<name>"` with `server`, `name`, `kind`,
//!   `path`, `action`, `high_risk`, `labels` (set), `tenant`?; member of `Path::"<p>"` for
//!   its path and every ancestor (`mcp.docker.run`, `mcp.docker`, `mcp`).
//! * context: `phase`, `arguments`, `time`, `source_ip`?, `country`?, `device_id`?,
//!   `trust_score`?, `tenant`?, `auth`.

mod cache;
mod needs;
mod request;
mod slice;
mod store;
mod value;

use cedar_policy::{AuthorizationError, Authorizer, Decision, Entities, Request};
use serde_json::Value;

use request::{action, context, principal, rejected, resource, types};
use slice::Facts;
pub use store::{PolicyInfo, PolicyStore};
pub use value::{ValueError, ValueLimits, record, to_cedar};

use crate::classify::{Classification, TargetKind};
use crate::subject::{Phase, Subject, SubjectKind, Target};
use crate::time::Timestamp;

/// Everything one Cedar evaluation looks at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CedarInput<'a> {
    pub(crate) subject: &'a Subject,
    pub(crate) roles: &'a [&'a str],
    pub(crate) target: &'a Target<'a>,
    pub(crate) class: &'a Classification,
    pub(crate) arguments: Option<&'a Value>,
    pub(crate) phase: Phase,
    pub(crate) now: Timestamp,
    pub(crate) trust_score: Option<f64>,
}

/// What Cedar said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CedarOutcome {
    /// Cedar's own decision (permit and no forbid).
    pub(crate) allowed: bool,
    /// The policies that determined it: satisfied permits when allowed, satisfied forbids
    /// when denied (empty when denied for lack of a permit).
    pub(crate) determining: Vec<String>,
    /// Policies that failed to evaluate: `(policy id, message)`.
    pub(crate) errors: Vec<(String, String)>,
}

/// Why Cedar could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InputError {
    /// Arguments out of bounds.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// Entities or context rejected by Cedar.
    #[error("policy input rejected: {0}")]
    Cedar(String),
}
/// Evaluates `store` for one request.
pub(crate) fn evaluate(
    store: &PolicyStore,
    input: &CedarInput<'_>,
    limits: &ValueLimits,
) -> Result<CedarOutcome, InputError> {
    let group = group_of(input.class.kind);
    let shape = store
        .entity_cache()
        .get_or_build(&entity_key(input, group), || build(store, input, group))?;
    let Some(b) = shape else {
        // No policy's scope matches: Cedar would deny for lack of a permit, and nothing
        // can fail to evaluate.
        return Ok(CedarOutcome {
            allowed: false,
            determining: Vec::new(),
            errors: Vec::new(),
        });
    };
    let context = context(input, limits, b.slice.needs)?;
    let (principal, action, resource) = (b.principal.clone(), b.action.clone(), b.resource.clone());
    let request = Request::new(principal, action, resource, context, None).map_err(rejected)?;
    let response = Authorizer::new().is_authorized(&request, &b.slice.set, &b.entities);
    let diagnostics = response.diagnostics();
    Ok(CedarOutcome {
        allowed: response.decision() == Decision::Allow,
        determining: diagnostics.reason().map(ToString::to_string).collect(),
        errors: diagnostics
            .errors()
            .map(|e| {
                let AuthorizationError::PolicyEvaluationError(pe) = e;
                (pe.policy_id().to_string(), pe.inner().to_string())
            })
            .collect(),
    })
}

/// The policies that can apply to the request's shape and, when there are any, its
/// entities; `None` when no policy's scope matches.
fn build(
    store: &PolicyStore,
    input: &CedarInput<'_>,
    group: &str,
) -> Result<Option<cache::Built>, InputError> {
    let t = types().ok_or_else(|| InputError::Cedar("entity types unavailable".into()))?;
    let c = input.class;
    let (principal_ty, resource_ty) = type_names(input.subject.kind, c.kind);
    let resource_id = format!("{}/{}", input.target.server, input.target.name);
    let lineage: Vec<&str> = c.resource.lineage().collect();
    let roles: Vec<(&str, &str)> = input.roles.iter().map(|r| ("Role", *r)).collect();
    let paths: Vec<(&str, &str)> = lineage.iter().map(|p| ("Path", *p)).collect();
    let facts = |ty, id, ancestors| Facts { ty, id, ancestors };
    let Some(slice) = store.slicer().slice(
        &facts(principal_ty, &input.subject.id, &roles),
        &facts("Action", c.action.as_str(), &[("Action", group)]),
        &facts(resource_ty, &resource_id, &paths),
    ) else {
        return Ok(None);
    };
    let mut entities = Vec::with_capacity(3);
    let principal = principal(t, input, &mut entities)?;
    let action = action(t, c, group, &mut entities);
    let resource = resource(t, input, &resource_id, &lineage, &mut entities)?;
    let entities = Entities::from_entities(entities, None).map_err(rejected)?;
    Ok(Some(cache::Built {
        slice,
        principal,
        action,
        resource,
        entities,
    }))
}

/// Everything the slice and the three entities are built from.
fn entity_key(input: &CedarInput<'_>, group: &str) -> String {
    let (s, c) = (input.subject, input.class);
    let mut key = String::with_capacity(160);
    cache::push_parts(
        &mut key,
        [
            s.kind.as_str(),
            &s.id,
            s.tenant.as_deref().unwrap_or("\u{0}"),
            group,
            c.action.as_str(),
            c.kind.as_str(),
            input.target.server,
            input.target.name,
            c.resource.as_str(),
            if c.high_risk { "1" } else { "0" },
            c.tenant.as_deref().unwrap_or("\u{0}"),
        ],
    );
    cache::push_parts(&mut key, input.roles.iter().copied());
    cache::push_parts(&mut key, c.labels.iter().map(String::as_str));
    key
}

fn type_names(subject: SubjectKind, target: TargetKind) -> (&'static str, &'static str) {
    let principal = if subject == SubjectKind::Service {
        "Service"
    } else {
        "User"
    };
    let resource = match target {
        TargetKind::Tool => "Tool",
        TargetKind::Prompt => "Prompt",
        TargetKind::Resource => "Resource",
    };
    (principal, resource)
}

fn group_of(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Tool => "call_tool",
        TargetKind::Prompt => "get_prompt",
        TargetKind::Resource => "read_resource",
    }
}
