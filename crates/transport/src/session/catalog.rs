//! Which tool and prompt names each upstream really has, so that a call to a name that does
//! not exist is answered by the gateway — with exactly the words used for a tool hidden by
//! policy. Otherwise the upstream's own "not found" text would tell the two apart (an oracle
//! for hidden tools).
//!
//! The catalog is the upstream's own list, taken without guards: existence does not depend on
//! who asks, and whether a caller may use an existing name is the guards' decision.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sallyport_mcp::{Message, RequestId};
use serde_json::{Value, json};

use super::{Session, lock};

/// A name missing from the catalog triggers at most one refresh per upstream per this long.
const REFRESH_INTERVAL: Duration = Duration::from_secs(2);
/// Most pages read in one refresh.
const MAX_PAGES: usize = 100;

/// Tools or prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Tools,
    Prompts,
}

impl Kind {
    pub(super) fn of(method: &str) -> Self {
        if method == "prompts/get" {
            Self::Prompts
        } else {
            Self::Tools
        }
    }

    fn list(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Tools => ("tools/list", "tools", "tools"),
            Self::Prompts => ("prompts/list", "prompts", "prompts"),
        }
    }
}

#[derive(Debug)]
struct Entry {
    names: HashSet<String>,
    taken: Instant,
}

/// The names per upstream and kind.
#[derive(Debug, Default)]
pub(super) struct Catalog(std::sync::Mutex<HashMap<(usize, Kind), Entry>>);

impl Catalog {
    fn lookup(&self, idx: usize, kind: Kind, name: &str) -> Option<(bool, Instant)> {
        lock(&self.0)
            .get(&(idx, kind))
            .map(|e| (e.names.contains(name), e.taken))
    }

    /// Forgets an upstream's names (its list changed, or it reconnected).
    pub(super) fn invalidate(&self, idx: usize) {
        lock(&self.0).retain(|(i, _), _| *i != idx);
    }
}

impl Session {
    /// Whether upstream `idx` has a tool or prompt called `name`, refreshing the catalog when
    /// the name is unknown (bounded by `REFRESH_INTERVAL`). Unreachable upstreams count as
    /// having it, so the call reports the real upstream error.
    pub(super) async fn upstream_has(self: &Arc<Self>, idx: usize, kind: Kind, name: &str) -> bool {
        match self.catalog.lookup(idx, kind, name) {
            Some((true, _)) => return true,
            Some((false, taken)) if taken.elapsed() < REFRESH_INTERVAL => return false,
            _ => {}
        }
        match self.list_names(idx, kind).await {
            Some(names) => {
                let found = names.contains(name);
                lock(&self.catalog.0).insert(
                    (idx, kind),
                    Entry {
                        names,
                        taken: Instant::now(),
                    },
                );
                found
            }
            None => true,
        }
    }

    /// Every name of one upstream list, following its cursors.
    async fn list_names(self: &Arc<Self>, idx: usize, kind: Kind) -> Option<HashSet<String>> {
        let (method, capability, key) = kind.list();
        let link = self.slots[idx]
            .link(&self.gw, &self.hello, &self.events_tx)
            .await
            .ok()?;
        if link.capabilities().get(capability).is_none() {
            return Some(HashSet::new());
        }
        let mut names = HashSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = cursor.as_ref().map(|c| json!({ "cursor": c }));
            let mut stream = link
                .call(Message::request(RequestId::Number(0), method, params))
                .await
                .ok()?;
            let mut page = None;
            while let Some(m) = stream.next().await {
                if m.is_response() {
                    page = Some(m.result_value()?.clone());
                }
            }
            let page = page?;
            let items = page.get(key).and_then(Value::as_array);
            names.extend(
                items
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned)),
            );
            cursor = page
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        Some(names)
    }
}
