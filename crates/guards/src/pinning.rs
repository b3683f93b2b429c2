//! `tool_pin`: pins each upstream's tool, prompt, resource-template and resource definitions
//! (trust on first use, or by approval) and holds one whose definition drifts, or that appears
//! after the first listing of its kind: it is removed from lists, and uses of it (`tools/call`,
//! `prompts/get`, `resources/read`, `resources/subscribe`, and `completion/complete` naming it)
//! are refused with `tool_quarantined` until an operator approves the new version. A read of
//! a URI no listed resource names is refused when it expands a held resource template. Uses
//! of items a threat guard quarantined are refused here too. One path serves every kind,
//! described by [`ItemKind`].

use std::sync::Arc;

use sallyport_pipeline::{Direction, Exchange, Guard, GuardError, Verdict};
use serde_json::Value;
use tracing::warn;

use crate::action::{ActionTable, Kind, Scope};
use crate::config::{Action, PinMode};
use crate::definition::store_error;
use crate::item::ItemKind;
use crate::pins::{PinBook, Standing};
use crate::reason::quarantined;
use crate::store::HoldKind;

/// The pinning guard.
#[derive(Debug)]
pub struct PinGuard {
    pub(crate) actions: Arc<ActionTable>,
    pub(crate) pins: Arc<PinBook>,
}

/// Changes listed in a reason.
const MAX_CHANGES: usize = 4;

/// One list page sorted by standing.
#[derive(Default)]
struct Triage {
    /// Ids removed from the list.
    held: Vec<String>,
    /// What the reason says of held and renamed items.
    notes: Vec<String>,
    /// Drifted or new items passed under `log`.
    flagged: Vec<String>,
}

impl PinGuard {
    /// The drift action for one item; overrides match its store key in `tool` (a tool's
    /// name, `prompt:<name>`, `template:<uriTemplate>`, `resource:<uri>`).
    fn action(&self, ex: &Exchange<'_>, server: &str, key: &str) -> Action {
        let scope = Scope {
            tenant: ex.principal.tenant.as_deref(),
            server,
            tool: Some(key),
        };
        self.actions.resolve(Kind::Drift, scope)
    }

    /// Whether a drifted or new item is held (every action but `allow` and `log`).
    fn holds(&self, ex: &Exchange<'_>, server: &str, key: &str) -> bool {
        !matches!(self.action(ex, server, key), Action::Allow | Action::Log)
    }

    /// Whether a drifted or new item passes but is flagged (`log`: a WARN line and the
    /// decision record).
    fn logs(&self, ex: &Exchange<'_>, server: &str, kind: ItemKind, key: &str) -> bool {
        let log = self.action(ex, server, key) == Action::Log;
        if log {
            warn!(
                server,
                item = key,
                kind = kind.noun(),
                "Definition drifted (action log)."
            );
        }
        log
    }

    fn list(&self, ex: &Exchange<'_>, server: &str, kind: ItemKind) -> Result<Verdict, GuardError> {
        let Some(result) = ex.message.result_value() else {
            return Ok(Verdict::Allow);
        };
        let items = result
            .get(kind.list_member())
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut t = Triage::default();
        for def in items {
            let Some(id) = def.get(kind.id_member()).and_then(Value::as_str) else {
                continue;
            };
            self.sort(ex, server, kind, id, def, &mut t)?;
        }
        if result.get("nextCursor").is_none_or(Value::is_null) {
            self.pins.list_complete(server, kind).map_err(store_error)?;
        }
        let what = kind.list_member();
        if t.held.is_empty() {
            if t.flagged.is_empty() {
                return Ok(Verdict::Allow);
            }
            return Ok(Verdict::Flag {
                reason: format!(
                    "{what} of {server} flagged (action log): {}",
                    t.flagged.join(" | ")
                ),
            });
        }
        let mut message = ex.message.clone();
        if let Some(Value::Array(list)) = message.result_mut().and_then(|r| r.get_mut(what)) {
            list.retain(|item| {
                item.get(kind.id_member())
                    .and_then(Value::as_str)
                    .is_none_or(|id| !t.held.iter().any(|h| h == id))
            });
        }
        Ok(Verdict::Rewrite {
            message,
            reason: format!("{what} of {server}: {}", t.notes.join(" | ")),
        })
    }

    /// Pins or checks one listed definition and files it in `t`.
    fn sort(
        &self,
        ex: &Exchange<'_>,
        server: &str,
        kind: ItemKind,
        id: &str,
        def: &Value,
        t: &mut Triage,
    ) -> Result<(), GuardError> {
        let key = kind.key(id);
        match self
            .pins
            .listed(server, kind, id, def)
            .map_err(store_error)?
        {
            Standing::Trusted { note } => t.notes.extend(note),
            Standing::Held { kind: hold, detail } if self.holds(ex, server, &key) => {
                let why = summary(&detail);
                t.notes
                    .push(format!("held {id} ({}): {why}", hold.as_str()));
                t.held.push(id.to_owned());
            }
            Standing::Held { kind: hold, detail } if self.logs(ex, server, kind, &key) => {
                let why = summary(&detail);
                t.flagged.push(format!("{id} ({}): {why}", hold.as_str()));
            }
            Standing::Held { .. } => {}
        }
        Ok(())
    }

    /// A use of an item (see [`Use`]).
    fn call(&self, ex: &Exchange<'_>, server: &str, used: Use<'_>) -> Result<Verdict, GuardError> {
        let (kind, id, standing) = self.standing(server, used.kind, used.id)?;
        let key = kind.key(&id);
        let (use_of, label) = (used.verb, label(kind));
        let (why, detail) = match standing {
            Some(Standing::Trusted { .. }) => return Ok(Verdict::Allow),
            // A resource never listed (read through a template) has no pin of its own.
            None if self.pins.mode() == PinMode::Approve && kind != ItemKind::Resource => {
                ("it has not been approved yet", String::new())
            }
            None => return Ok(Verdict::Allow),
            Some(Standing::Held { kind: hold, detail }) => {
                if hold != HoldKind::Threat && !self.holds(ex, server, &key) {
                    if !self.logs(ex, server, kind, &key) {
                        return Ok(Verdict::Allow);
                    }
                    return Ok(Verdict::Flag {
                        reason: format!(
                            "{use_of} {label}{server}/{id} flagged (action log): {} {}; {}",
                            hold.as_str(),
                            kind.noun(),
                            summary(&detail)
                        ),
                    });
                }
                (held_why(hold), detail)
            }
        };
        let audit = format!(
            "{use_of} held {label}{server}/{id}: {why}; {}",
            summary(&detail)
        );
        Ok(Verdict::Deny(quarantined(kind, server, &id, why, audit)))
    }

    /// What answers for a use of `id`: its own pin, or for a resource no listing named, the
    /// held template it expands (if any).
    fn standing(
        &self,
        server: &str,
        kind: ItemKind,
        id: &str,
    ) -> Result<(ItemKind, String, Option<Standing>), GuardError> {
        let own = self.pins.called(server, kind, id).map_err(store_error)?;
        if own.is_none() && kind == ItemKind::Resource {
            let held = self.pins.held_template(server, id).map_err(store_error)?;
            if let Some((template, s)) = held {
                return Ok((ItemKind::Template, template, Some(s)));
            }
        }
        Ok((kind, id.to_owned(), own))
    }
}

/// `prompt ` before a prompt's `server/id` in reasons (nothing for tools, as before).
fn label(kind: ItemKind) -> String {
    match kind {
        ItemKind::Tool => String::new(),
        k => format!("{} ", k.noun()),
    }
}

fn held_why(hold: HoldKind) -> &'static str {
    match hold {
        HoldKind::Drift => "its definition changed since it was approved",
        HoldKind::New => "it is new and has not been approved yet",
        HoldKind::Threat => "a threat guard flagged it",
    }
}

/// The item a request uses, with the verb reasons name the use by.
#[derive(Debug, Clone, Copy)]
struct Use<'a> {
    kind: ItemKind,
    /// A tool or prompt name (upstream-local, as routed), or the upstream's own URI or URI
    /// template.
    id: &'a str,
    verb: &'static str,
}

/// What `ex` (a request routed to an upstream) uses, if it uses a pinnable item: a tool
/// call, a prompt get, a resource read or subscription, or a completion for a prompt's or a
/// resource template's (or resource's) arguments.
fn use_of<'a>(ex: &Exchange<'a>) -> Option<Use<'a>> {
    let (kind, id, verb) = match ex.method? {
        "tools/call" => (ItemKind::Tool, ex.tool?, "call to"),
        "prompts/get" => (ItemKind::Prompt, ex.tool?, "get of"),
        "resources/read" => (ItemKind::Resource, ex.message.param_str("uri")?, "read of"),
        "resources/subscribe" => (
            ItemKind::Resource,
            ex.message.param_str("uri")?,
            "subscription to",
        ),
        "completion/complete" => {
            let reference = ex.message.params()?.get("ref")?;
            match reference.get("type")?.as_str()? {
                "ref/prompt" => (
                    ItemKind::Prompt,
                    reference.get("name")?.as_str()?,
                    "completion for",
                ),
                "ref/resource" => {
                    let id = reference.get("uri")?.as_str()?;
                    let kind = if id.contains('{') {
                        ItemKind::Template
                    } else {
                        ItemKind::Resource
                    };
                    (kind, id, "completion for")
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(Use { kind, id, verb })
}

impl Guard for PinGuard {
    fn name(&self) -> &'static str {
        "tool_pin"
    }

    fn applies_to(&self, ex: &Exchange<'_>) -> bool {
        ex.server.is_some()
            && match ex.direction {
                Direction::ServerToClient => {
                    self.pins.mode() != PinMode::Off
                        && ex.message.is_response()
                        && ex.method.and_then(ItemKind::of_list).is_some()
                }
                Direction::ClientToServer => use_of(ex).is_some(),
            }
    }

    fn check(&self, ex: &Exchange<'_>) -> Result<Verdict, GuardError> {
        let (Some(server), Some(method)) = (ex.server, ex.method) else {
            return Ok(Verdict::Allow);
        };
        match ex.direction {
            Direction::ServerToClient => match ItemKind::of_list(method) {
                Some(kind) => self.list(ex, server, kind),
                None => Ok(Verdict::Allow),
            },
            Direction::ClientToServer => match use_of(ex) {
                Some(used) => self.call(ex, server, used),
                None => Ok(Verdict::Allow),
            },
        }
    }
}

/// A drift's diff as `changed /description, added /inputSchema/properties/x`; other details
/// (findings, notes) shortened.
pub(crate) fn summary(detail: &str) -> String {
    if let Ok(Value::Array(changes)) = serde_json::from_str::<Value>(detail) {
        let mut parts: Vec<String> = changes
            .iter()
            .take(MAX_CHANGES)
            .map(|c| {
                format!(
                    "{} {}",
                    c["kind"].as_str().unwrap_or("changed"),
                    c["path"].as_str().unwrap_or("")
                )
            })
            .collect();
        if changes.len() > MAX_CHANGES {
            parts.push(format!("+{} more", changes.len() - MAX_CHANGES));
        }
        return parts.join(", ");
    }
    let mut s: String = detail.chars().take(160).collect();
    if detail.chars().nth(160).is_some() {
        s.push('…');
    }
    s
}
