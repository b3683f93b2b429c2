//! Pinning decisions over the store: is this listed definition the approved one, did it drift,
//! is it new; is this tool held; quarantine a tool. A cache in front of the store keeps calls
//! to trusted tools off SQLite; held tools are re-read on every call, so an approval given by
//! `sallyport pins approve` (another process) takes effect at once.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use sallyport_detect::{
    canonical_json, definition_hash, definition_hash_without_name, diff_definitions,
};
use serde_json::Value;

use crate::config::PinMode;
use crate::store::{HoldKind, Pin, PinStore, StoreError, now_ms};

/// A tool's standing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Standing {
    /// Approved (or pinned on first use); `note` says how when it is worth recording.
    Trusted { note: Option<String> },
    /// Held until an operator approves; `detail` is the diff or the findings.
    Held { kind: HoldKind, detail: String },
}

/// The pinning state shared by the guards.
#[derive(Debug)]
pub(crate) struct PinBook {
    store: PinStore,
    mode: PinMode,
    cache: Mutex<HashMap<(String, String), Standing>>,
}

type Key = (String, String);

impl PinBook {
    pub(crate) fn new(store: PinStore, mode: PinMode) -> Result<Self, StoreError> {
        let cache = store
            .list(None)?
            .into_iter()
            .map(|p| ((p.server.clone(), p.tool.clone()), standing_of(&p)))
            .collect();
        Ok(Self {
            store,
            mode,
            cache: Mutex::new(cache),
        })
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<Key, Standing>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, server: &str, tool: &str, standing: Standing) -> Standing {
        self.cache()
            .insert((server.to_owned(), tool.to_owned()), standing.clone());
        standing
    }

    /// The standing of a listed definition, pinning or holding it as the mode says.
    pub(crate) fn listed(
        &self,
        server: &str,
        tool: &str,
        def: &Value,
    ) -> Result<Standing, StoreError> {
        let hash = definition_hash(def);
        let standing = match self.store.get(server, tool)? {
            Some(pin) => self.known(pin, def, hash)?,
            None => self.unknown(server, tool, def, hash)?,
        };
        Ok(self.remember(server, tool, standing))
    }

    fn known(&self, mut pin: Pin, def: &Value, hash: String) -> Result<Standing, StoreError> {
        if pin.held.is_none() && pin.approved_hash.as_deref() == Some("") {
            // Approved after a quarantine that never saw the definition: this one is it.
            pin.approved_hash = Some(hash.clone());
            pin.approved_nameless = Some(definition_hash_without_name(def));
            pin.approved_definition = Some(canonical_json(def));
        }
        let approved = pin.approved_hash.as_deref() == Some(hash.as_str());
        match pin.held {
            None if approved => return Ok(Standing::Trusted { note: None }),
            // A rug pull undone: the approved definition is back.
            Some(HoldKind::Drift) if approved => {
                pin.held = None;
                pin.detail = None;
            }
            Some(kind) if pin.seen_hash == hash => {
                return Ok(Standing::Held {
                    kind,
                    detail: pin.detail.unwrap_or_default(),
                });
            }
            Some(HoldKind::New | HoldKind::Threat) => {
                pin.detail = Some("changed again while held".into())
            }
            Some(HoldKind::Drift) | None => {
                let before: Value = pin
                    .approved_definition
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or(Value::Null);
                let diff =
                    serde_json::to_string(&diff_definitions(&before, def)).unwrap_or_default();
                pin.held = Some(HoldKind::Drift);
                pin.detail = Some(diff);
            }
        }
        pin.seen_hash = hash;
        pin.seen_definition = canonical_json(def);
        pin.updated_ms = now_ms();
        self.store.put(&pin)?;
        Ok(standing_of(&pin))
    }

    fn unknown(
        &self,
        server: &str,
        tool: &str,
        def: &Value,
        hash: String,
    ) -> Result<Standing, StoreError> {
        let nameless = definition_hash_without_name(def);
        let renamed = self.store.list(Some(server))?.into_iter().find(|p| {
            p.held.is_none() && p.approved_nameless.as_deref() == Some(nameless.as_str())
        });
        let trusted = renamed.is_some()
            || (self.mode == PinMode::Tofu && !self.store.is_baselined(server)?);
        let canonical = canonical_json(def);
        let pin = Pin {
            server: server.to_owned(),
            tool: tool.to_owned(),
            held: (!trusted).then_some(HoldKind::New),
            approved_hash: trusted.then(|| hash.clone()),
            approved_nameless: trusted.then(|| nameless.clone()),
            approved_definition: trusted.then(|| canonical.clone()),
            seen_hash: hash,
            seen_definition: canonical,
            detail: match &renamed {
                Some(old) => Some(format!("renamed from {}", old.tool)),
                None if trusted => None,
                None => Some("new tool after the first listing".into()),
            },
            updated_ms: now_ms(),
        };
        self.store.put(&pin)?;
        Ok(match renamed {
            Some(old) => Standing::Trusted {
                note: Some(format!("{tool} is {} renamed", old.tool)),
            },
            None => standing_of(&pin),
        })
    }

    /// Marks `server`'s first complete listing as seen (TOFU baseline).
    pub(crate) fn list_complete(&self, server: &str) -> Result<(), StoreError> {
        if self.mode == PinMode::Tofu {
            self.store.set_baselined(server)
        } else {
            Ok(())
        }
    }

    /// The standing of a tool being called; `None` when nothing is known of it.
    pub(crate) fn called(&self, server: &str, tool: &str) -> Result<Option<Standing>, StoreError> {
        let cached = self
            .cache()
            .get(&(server.to_owned(), tool.to_owned()))
            .cloned();
        match cached {
            Some(s @ Standing::Trusted { .. }) => Ok(Some(s)),
            // Held, or never seen by this process: ask the store (an approval may be new).
            _ => match self.store.get(server, tool)? {
                Some(pin) => Ok(Some(self.remember(server, tool, standing_of(&pin)))),
                None => Ok(None),
            },
        }
    }

    /// Holds a tool because a threat guard found something.
    pub(crate) fn quarantine(
        &self,
        server: &str,
        tool: &str,
        def: Option<&Value>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let existing = self.store.get(server, tool)?;
        let mut pin = existing.unwrap_or_else(|| Pin {
            server: server.to_owned(),
            tool: tool.to_owned(),
            held: None,
            approved_hash: None,
            approved_nameless: None,
            approved_definition: None,
            seen_hash: String::new(),
            seen_definition: "null".into(),
            detail: None,
            updated_ms: 0,
        });
        if let Some(def) = def {
            pin.seen_hash = definition_hash(def);
            pin.seen_definition = canonical_json(def);
        }
        pin.held = Some(HoldKind::Threat);
        pin.detail = Some(detail.to_owned());
        pin.updated_ms = now_ms();
        self.store.put(&pin)?;
        self.remember(server, tool, standing_of(&pin));
        Ok(())
    }

    pub(crate) fn mode(&self) -> PinMode {
        self.mode
    }
}

fn standing_of(pin: &Pin) -> Standing {
    match pin.held {
        None => Standing::Trusted { note: None },
        Some(kind) => Standing::Held {
            kind,
            detail: pin.detail.clone().unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests;
