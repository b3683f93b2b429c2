//! Calls in flight per upstream and per tool: a registry of semaphores handing out owned
//! permits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::{ConcurrencyConfig, ConfigError};
use crate::pattern::most_specific;

/// Concurrency limits. A call first takes a slot of its upstream, then one of its tool; the
/// [`ConcurrencyPermit`] holds both and frees them when dropped.
///
/// With `max_wait_ms: 0` (the default) a full limit refuses at once; otherwise a call waits
/// up to that long (in FIFO order) for a slot, then is refused.
#[derive(Debug)]
pub struct ConcurrencyLimits {
    per_upstream: Vec<(String, u32)>,
    per_tool: Vec<(String, u32)>,
    max_wait: Duration,
    semaphores: Mutex<HashMap<SlotKey, Arc<Semaphore>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SlotKey {
    Upstream(String),
    Tool { server: String, tool: String },
}

/// Slots held by one call; dropping it frees them.
#[derive(Debug)]
pub struct ConcurrencyPermit {
    _upstream: Option<OwnedSemaphorePermit>,
    _tool: Option<OwnedSemaphorePermit>,
}

/// A call refused because a concurrency limit is full.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many calls in flight to this {scope:?} (limit {limit})")]
pub struct ConcurrencyRefusal {
    /// Which limit is full.
    pub scope: ConcurrencyScope,
    /// Its size.
    pub limit: u32,
}

/// Which concurrency limit refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConcurrencyScope {
    /// The upstream's limit.
    Upstream,
    /// The tool's limit.
    Tool,
}

impl ConcurrencyLimits {
    /// Compile `config`, collecting every error.
    pub fn new(config: &ConcurrencyConfig) -> Result<Self, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut check = |section: &str, map: &std::collections::BTreeMap<String, u32>| {
            for (pattern, &limit) in map {
                if limit == 0 {
                    errors.push(ConfigError::new(
                        format!("{section}.{pattern}"),
                        "must be at least 1",
                    ));
                }
            }
            map.iter().map(|(p, &l)| (p.clone(), l)).collect::<Vec<_>>()
        };
        let per_upstream = check("per_upstream", &config.per_upstream);
        let per_tool = check("per_tool", &config.per_tool);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            per_upstream,
            per_tool,
            max_wait: Duration::from_millis(config.max_wait_ms),
            semaphores: Mutex::new(HashMap::new()),
        })
    }

    /// Take the slots for a call to `tool` (if any) on `server` without waiting.
    pub fn try_acquire(
        &self,
        server: &str,
        tool: Option<&str>,
    ) -> Result<ConcurrencyPermit, ConcurrencyRefusal> {
        let [upstream, tool] = self.slots(server, tool);
        let take = |slot: Option<Slot>| -> Result<_, ConcurrencyRefusal> {
            slot.map(|slot| {
                slot.semaphore
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| slot.refusal())
            })
            .transpose()
        };
        let upstream = take(upstream)?;
        let tool = take(tool)?;
        Ok(ConcurrencyPermit {
            _upstream: upstream,
            _tool: tool,
        })
    }

    /// Take the slots for a call, waiting up to `max_wait_ms` in all for them.
    pub async fn acquire(
        &self,
        server: &str,
        tool: Option<&str>,
    ) -> Result<ConcurrencyPermit, ConcurrencyRefusal> {
        if self.max_wait.is_zero() {
            return self.try_acquire(server, tool);
        }
        let deadline = Instant::now() + self.max_wait;
        let [upstream, tool] = self.slots(server, tool);
        let upstream = wait_for(upstream, deadline).await?;
        let tool = wait_for(tool, deadline).await?;
        Ok(ConcurrencyPermit {
            _upstream: upstream,
            _tool: tool,
        })
    }

    /// The upstream and tool slots that apply, creating their semaphores on first use.
    fn slots(&self, server: &str, tool: Option<&str>) -> [Option<Slot>; 2] {
        let upstream = most_specific(&self.per_upstream, server).map(|&limit| {
            self.slot(
                SlotKey::Upstream(server.to_owned()),
                ConcurrencyScope::Upstream,
                limit,
            )
        });
        let tool = tool.and_then(|tool| {
            let limit = *most_specific(&self.per_tool, tool)?;
            let key = SlotKey::Tool {
                server: server.to_owned(),
                tool: tool.to_owned(),
            };
            Some(self.slot(key, ConcurrencyScope::Tool, limit))
        });
        [upstream, tool]
    }

    fn slot(&self, key: SlotKey, scope: ConcurrencyScope, limit: u32) -> Slot {
        let mut semaphores = self
            .semaphores
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let semaphore = semaphores
            .entry(key)
            .or_insert_with(|| {
                Arc::new(Semaphore::new(usize::try_from(limit).unwrap_or(usize::MAX)))
            })
            .clone();
        Slot {
            semaphore,
            scope,
            limit,
        }
    }
}

struct Slot {
    semaphore: Arc<Semaphore>,
    scope: ConcurrencyScope,
    limit: u32,
}

impl Slot {
    fn refusal(&self) -> ConcurrencyRefusal {
        ConcurrencyRefusal {
            scope: self.scope,
            limit: self.limit,
        }
    }
}

async fn wait_for(
    slot: Option<Slot>,
    deadline: Instant,
) -> Result<Option<OwnedSemaphorePermit>, ConcurrencyRefusal> {
    let Some(slot) = slot else { return Ok(None) };
    match tokio::time::timeout_at(deadline, slot.semaphore.clone().acquire_owned()).await {
        Ok(Ok(permit)) => Ok(Some(permit)),
        // Timed out, or the semaphore was closed (never done here).
        Ok(Err(_)) | Err(_) => Err(slot.refusal()),
    }
}
