//! Pinning decisions over the store: is this listed definition (of a tool, prompt, resource
//! template or resource: [`ItemKind`]) the approved one, did it drift, is it new; is this item
//! held; quarantine one. A cache in front of the store keeps uses of trusted items off SQLite;
//! held ones are re-read on every use, so an approval given by `sallyport pins approve`
//! (another process) takes effect at once. An in-memory store, which nothing else can write,
//! also remembers which items it does not hold until its next write.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use sallyport_detect::{canonical_json, definition_hash_without_name};
use serde_json::Value;

use crate::config::PinMode;
use crate::item::{ItemKind, template_matches};
use crate::store::{HoldKind, Pin, PinStore, StoreError, now_ms};

/// An item's standing.
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
    /// Items the store did not hold, with its [`PinStore::version`] then (in-memory stores
    /// only): a use of a never-listed tool need not run a SQLite query each time (at 1,000
    /// calls/s that query cost ~10 µs a call, run with cold CPU caches).
    absent: Mutex<HashMap<(String, String), u64>>,
}

type Key = (String, String);

/// Most remembered absences; the memo is emptied when full.
const MAX_ABSENT: usize = 4096;

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
            absent: Mutex::default(),
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

    /// The standing of a listed definition of `kind` named `id`, pinning or holding it as
    /// the mode says.
    pub(crate) fn listed(
        &self,
        server: &str,
        kind: ItemKind,
        id: &str,
        def: &Value,
    ) -> Result<Standing, StoreError> {
        let key = kind.key(id);
        let view = kind.view(def);
        let hash = kind.hash(&view);
        let standing = match self.store.get(server, &key)? {
            Some(pin) => self.known(kind, pin, &view, hash)?,
            None => self.unknown(server, kind, &key, &view, hash)?,
        };
        Ok(self.remember(server, &key, standing))
    }

    fn known(
        &self,
        kind: ItemKind,
        mut pin: Pin,
        def: &Value,
        hash: String,
    ) -> Result<Standing, StoreError> {
        if pin.held.is_none() && pin.approved_hash.as_deref() == Some("") {
            // Approved after a quarantine that never saw the definition: this one is it.
            pin.approved_hash = Some(hash.clone());
            pin.approved_nameless = nameless(kind, def);
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
                pin.held = Some(HoldKind::Drift);
                pin.detail = Some(kind.diff(&before, def));
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
        kind: ItemKind,
        key: &str,
        def: &Value,
        hash: String,
    ) -> Result<Standing, StoreError> {
        let nameless = nameless(kind, def);
        // Rename-resistant matching is for tools only (and only against tools).
        let renamed = match &nameless {
            Some(n) => self.store.list(Some(server))?.into_iter().find(|p| {
                p.held.is_none()
                    && ItemKind::of_key(&p.tool) == ItemKind::Tool
                    && p.approved_nameless.as_ref() == Some(n)
            }),
            None => None,
        };
        let trusted = renamed.is_some()
            || (self.mode == PinMode::Tofu && !self.store.is_baselined(&kind.baseline(server))?);
        let canonical = canonical_json(def);
        let pin = Pin {
            server: server.to_owned(),
            tool: key.to_owned(),
            held: (!trusted).then_some(HoldKind::New),
            approved_hash: trusted.then(|| hash.clone()),
            approved_nameless: nameless.filter(|_| trusted),
            approved_definition: trusted.then(|| canonical.clone()),
            seen_hash: hash,
            seen_definition: canonical,
            detail: match &renamed {
                Some(old) => Some(format!("renamed from {}", old.tool)),
                None if trusted => None,
                None => Some(format!("new {} after the first listing", kind.noun())),
            },
            updated_ms: now_ms(),
        };
        self.store.put(&pin)?;
        Ok(match renamed {
            Some(old) => Standing::Trusted {
                note: Some(format!("{key} is {} renamed", old.tool)),
            },
            None => standing_of(&pin),
        })
    }

    /// Marks `server`'s first complete listing of `kind` as seen (TOFU baseline).
    pub(crate) fn list_complete(&self, server: &str, kind: ItemKind) -> Result<(), StoreError> {
        if self.mode == PinMode::Tofu {
            self.store.set_baselined(&kind.baseline(server))
        } else {
            Ok(())
        }
    }

    /// The standing of an item being used; `None` when nothing is known of it.
    pub(crate) fn called(
        &self,
        server: &str,
        kind: ItemKind,
        id: &str,
    ) -> Result<Option<Standing>, StoreError> {
        let key = (server.to_owned(), kind.key(id).into_owned());
        let cached = self.cache().get(&key).cloned();
        match cached {
            Some(s @ Standing::Trusted { .. }) => Ok(Some(s)),
            // Held, or never seen by this process: ask the store (an approval may be new).
            Some(Standing::Held { .. }) => self.lookup(key),
            None if self.known_absent(&key) => Ok(None),
            None => self.lookup(key),
        }
    }

    /// The store's pin of `key`, remembered.
    fn lookup(&self, key: Key) -> Result<Option<Standing>, StoreError> {
        let version = self.store.version();
        match self.store.get(&key.0, &key.1)? {
            Some(pin) => Ok(Some(self.remember(&key.0, &key.1, standing_of(&pin)))),
            None => {
                if let Some(v) = version {
                    let mut absent = self.absent_lock();
                    // Tool names come from clients: keep the memo bounded.
                    if absent.len() >= MAX_ABSENT {
                        absent.clear();
                    }
                    absent.insert(key, v);
                }
                Ok(None)
            }
        }
    }

    /// Whether the store did not hold `key` when last asked and has not been written since.
    fn known_absent(&self, key: &Key) -> bool {
        let Some(now) = self.store.version() else {
            return false;
        };
        self.absent_lock().get(key) == Some(&now)
    }

    fn absent_lock(&self) -> MutexGuard<'_, HashMap<Key, u64>> {
        self.absent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A held resource template of `server` that `uri` expands, as its URI template and
    /// standing: what a read of a never-listed resource answers to.
    pub(crate) fn held_template(
        &self,
        server: &str,
        uri: &str,
    ) -> Result<Option<(String, Standing)>, StoreError> {
        let prefix = ItemKind::Template.key("");
        let candidates: Vec<String> = self
            .cache()
            .iter()
            .filter(|((s, key), standing)| {
                s == server
                    && matches!(standing, Standing::Held { .. })
                    && key
                        .strip_prefix(prefix.as_ref())
                        .is_some_and(|t| template_matches(t, uri))
            })
            .map(|((_, key), _)| key[prefix.len()..].to_owned())
            .collect();
        for template in candidates {
            if let Some(s @ Standing::Held { .. }) =
                self.called(server, ItemKind::Template, &template)?
            {
                return Ok(Some((template, s)));
            }
        }
        Ok(None)
    }

    /// Holds an item because a threat guard found something.
    pub(crate) fn quarantine(
        &self,
        server: &str,
        kind: ItemKind,
        id: &str,
        def: Option<&Value>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let key = kind.key(id);
        let existing = self.store.get(server, &key)?;
        let mut pin = existing.unwrap_or_else(|| Pin {
            server: server.to_owned(),
            tool: key.clone().into_owned(),
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
            let view = kind.view(def);
            pin.seen_hash = kind.hash(&view);
            pin.seen_definition = canonical_json(&view);
        }
        pin.held = Some(HoldKind::Threat);
        pin.detail = Some(detail.to_owned());
        pin.updated_ms = now_ms();
        self.store.put(&pin)?;
        self.remember(server, &key, standing_of(&pin));
        Ok(())
    }

    pub(crate) fn mode(&self) -> PinMode {
        self.mode
    }
}

/// The rename-resistant hash of a tool's definition; `None` for the other kinds.
fn nameless(kind: ItemKind, def: &Value) -> Option<String> {
    (kind == ItemKind::Tool).then(|| definition_hash_without_name(def))
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
