//! Building one request's Cedar entities and context.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::OnceLock;
use std::thread::LocalKey;

use cedar_policy::{Context, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};

use super::needs::Needs;
use super::value::{self, ValueLimits, record_where};
use super::{CedarInput, InputError};
use crate::classify::{Classification, TargetKind};
use crate::subject::{Phase, Subject, SubjectKind};
use crate::time::Timestamp;

pub(super) struct Types {
    user: EntityTypeName,
    service: EntityTypeName,
    role: EntityTypeName,
    action: EntityTypeName,
    tool: EntityTypeName,
    prompt: EntityTypeName,
    resource: EntityTypeName,
    path: EntityTypeName,
}

pub(super) fn types() -> Option<&'static Types> {
    static TYPES: OnceLock<Option<Types>> = OnceLock::new();
    TYPES
        .get_or_init(|| {
            let t = |s: &str| EntityTypeName::from_str(s).ok();
            Some(Types {
                user: t("User")?,
                service: t("Service")?,
                role: t("Role")?,
                action: t("Action")?,
                tool: t("Tool")?,
                prompt: t("Prompt")?,
                resource: t("Resource")?,
                path: t("Path")?,
            })
        })
        .as_ref()
}

fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
}

pub(super) fn rejected(e: impl std::fmt::Display) -> InputError {
    InputError::Cedar(e.to_string())
}

fn string_set<'a>(items: impl IntoIterator<Item = &'a str>) -> RestrictedExpression {
    RestrictedExpression::new_set(
        items
            .into_iter()
            .map(|s| RestrictedExpression::new_string(s.to_owned())),
    )
}

pub(super) fn principal(
    t: &Types,
    input: &CedarInput<'_>,
    out: &mut Vec<Entity>,
) -> Result<EntityUid, InputError> {
    let s = input.subject;
    let ty = if s.kind == SubjectKind::Service {
        &t.service
    } else {
        &t.user
    };
    let me = uid(ty, &s.id);
    let mut attrs = HashMap::with_capacity(5);
    attrs.insert("id".into(), RestrictedExpression::new_string(s.id.clone()));
    attrs.insert(
        "kind".into(),
        RestrictedExpression::new_string(s.kind.as_str().into()),
    );
    attrs.insert("roles".into(), string_set(input.roles.iter().copied()));
    if let Some(tenant) = &s.tenant {
        attrs.insert(
            "tenant".into(),
            RestrictedExpression::new_string(tenant.clone()),
        );
    }
    // Role entities themselves are not needed: `principal in Role::"x"` only looks at the
    // principal's ancestors, and fewer entities keep Cedar's transitive closure cheap.
    let parents: HashSet<EntityUid> = input.roles.iter().map(|r| uid(&t.role, r)).collect();
    out.push(Entity::new(me.clone(), attrs, parents).map_err(rejected)?);
    Ok(me)
}

pub(super) fn action(
    t: &Types,
    class: &Classification,
    group: &str,
    out: &mut Vec<Entity>,
) -> EntityUid {
    let me = uid(&t.action, class.action.as_str());
    out.push(Entity::new_no_attrs(
        me.clone(),
        HashSet::from([uid(&t.action, group)]),
    ));
    me
}

/// The resource entity, with every path of its lineage as a direct parent (already
/// transitively closed, so no `Path` entities are needed).
pub(super) fn resource(
    t: &Types,
    input: &CedarInput<'_>,
    id: &str,
    lineage: &[&str],
    out: &mut Vec<Entity>,
) -> Result<EntityUid, InputError> {
    let c = input.class;
    let ty = match c.kind {
        TargetKind::Tool => &t.tool,
        TargetKind::Prompt => &t.prompt,
        TargetKind::Resource => &t.resource,
    };
    let me = uid(ty, id);
    let str_ = |s: &str| RestrictedExpression::new_string(s.to_owned());
    let mut attrs = HashMap::with_capacity(8);
    attrs.insert("server".into(), str_(input.target.server));
    attrs.insert("name".into(), str_(input.target.name));
    attrs.insert("kind".into(), str_(c.kind.as_str()));
    attrs.insert("path".into(), str_(c.resource.as_str()));
    attrs.insert("action".into(), str_(c.action.as_str()));
    attrs.insert(
        "high_risk".into(),
        RestrictedExpression::new_bool(c.high_risk),
    );
    attrs.insert(
        "labels".into(),
        string_set(c.labels.iter().map(String::as_str)),
    );
    if let Some(tenant) = &c.tenant {
        attrs.insert("tenant".into(), str_(tenant));
    }
    let parents: HashSet<EntityUid> = lineage.iter().map(|p| uid(&t.path, p)).collect();
    out.push(Entity::new(me.clone(), attrs, parents).map_err(rejected)?);
    Ok(me)
}

/// The context, with only the members the applicable policies can read.
pub(super) fn context(
    input: &CedarInput<'_>,
    limits: &ValueLimits,
    needs: Needs,
) -> Result<Context, InputError> {
    let s = input.subject;
    let a = &s.attributes;
    let str_ = |s: &str| RestrictedExpression::new_string(s.to_owned());
    let mut pairs: Vec<(String, RestrictedExpression)> = Vec::with_capacity(10);
    let mut add = |key: &str, value: RestrictedExpression| pairs.push((key.to_owned(), value));
    if needs.has("phase") {
        add("phase", str_(input.phase.as_str()));
    }
    if needs.has("arguments") {
        let arguments = match input.phase {
            // Bounds are checked on every field; only the fields read are converted.
            Phase::Call => record_where(input.arguments, limits, |k| needs.has_argument(k))?,
            Phase::List => value::empty_record(),
        };
        add("arguments", arguments);
    }
    if needs.has("time") {
        let now = input.now;
        add("time", cached(&TIME, now.secs(), || time_record(now))?);
    }
    if let Some(ip) = a.source_ip.filter(|_| needs.has("source_ip")) {
        let ip = ip.to_canonical();
        add(
            "source_ip",
            cached(&IP, ip, || Ok(RestrictedExpression::new_ip(ip.to_string())))?,
        );
    }
    if let Some(c) = a.country.as_ref().filter(|_| needs.has("country")) {
        add("country", str_(&c.to_ascii_uppercase()));
    }
    if let Some(d) = a.device_id.as_ref().filter(|_| needs.has("device_id")) {
        add("device_id", str_(d));
    }
    if let Some(score) = input.trust_score.filter(|_| needs.has("trust_score")) {
        // Four decimals, as Cedar's decimal holds.
        let key = (score.clamp(0.0, 1.0) * 10_000.0).round() as i64;
        let value = cached(&SCORE, key, || {
            let text = format!("{}.{:04}", key / 10_000, key % 10_000);
            Ok(RestrictedExpression::new_decimal(text))
        })?;
        add("trust_score", value);
    }
    if let Some(tenant) = s.tenant.as_ref().filter(|_| needs.has("tenant")) {
        add("tenant", str_(tenant));
    }
    if needs.has("auth") {
        add("auth", auth_record(s, input.now, needs)?);
    }
    Context::from_pairs(pairs).map_err(rejected)
}

type Slot<K> = RefCell<Option<(K, RestrictedExpression)>>;

thread_local! {
    // Cedar parses the extension function's name (`ip`, `decimal`, `datetime`) with its
    // full grammar on every construction; the last value per thread is reused instead.
    static TIME: Slot<i64> = const { RefCell::new(None) };
    static IP: Slot<IpAddr> = const { RefCell::new(None) };
    static SCORE: Slot<i64> = const { RefCell::new(None) };
}

fn cached<K: PartialEq + Copy + 'static>(
    slot: &'static LocalKey<Slot<K>>,
    key: K,
    make: impl FnOnce() -> Result<RestrictedExpression, InputError>,
) -> Result<RestrictedExpression, InputError> {
    slot.with(|cell| {
        if let Some((k, v)) = cell.borrow().as_ref()
            && *k == key
        {
            return Ok(v.clone());
        }
        let v = make()?;
        *cell.borrow_mut() = Some((key, v.clone()));
        Ok(v)
    })
}

fn time_record(now: Timestamp) -> Result<RestrictedExpression, InputError> {
    let c = now.civil();
    let long = |v: u32| RestrictedExpression::new_long(i64::from(v));
    RestrictedExpression::new_record([
        ("hour".to_owned(), long(c.hour)),
        ("minute".to_owned(), long(c.minute)),
        ("minute_of_day".to_owned(), long(c.hour * 60 + c.minute)),
        (
            "weekday".to_owned(),
            RestrictedExpression::new_string(c.weekday.into()),
        ),
        ("date".to_owned(), RestrictedExpression::new_string(c.date)),
        (
            "unix".to_owned(),
            RestrictedExpression::new_long(now.secs()),
        ),
        (
            "now".to_owned(),
            RestrictedExpression::new_datetime(c.datetime),
        ),
    ])
    .map_err(rejected)
}

/// `context.auth`, with only the fields the applicable policies name (a record read only
/// through its attributes cannot observe the others).
fn auth_record(
    s: &Subject,
    now: Timestamp,
    needs: Needs,
) -> Result<RestrictedExpression, InputError> {
    let a = &s.attributes;
    let str_ = |v: &String| RestrictedExpression::new_string(v.clone());
    let mut fields = Vec::with_capacity(5);
    let mut add = |key: &str, value: &dyn Fn() -> Option<RestrictedExpression>| {
        if let Some(value) = needs.has_auth(key).then(value).flatten() {
            fields.push((key.to_owned(), value));
        }
    };
    let set = |items: &[String]| Some(string_set(items.iter().map(String::as_str)));
    add("amr", &|| set(&a.amr));
    add("scopes", &|| set(&a.scopes));
    add("method", &|| a.auth_method.as_ref().map(str_));
    add("acr", &|| a.acr.as_ref().map(str_));
    let age = |t: i64| RestrictedExpression::new_long(now.secs().saturating_sub(t));
    add("age_secs", &|| a.auth_time.map(age));
    RestrictedExpression::new_record(fields).map_err(rejected)
}
