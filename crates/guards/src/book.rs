//! What the guards remember of the tool definitions they saw in list results: the definition
//! (for schema validation of later calls), whether it was withheld, and the names every
//! upstream exposes (for shadowing checks).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use sallyport_detect::ArgumentSchema;
use serde_json::Value;

/// One tool as last listed.
#[derive(Debug)]
pub(crate) struct ToolEntry {
    /// The upstream-local definition.
    pub(crate) definition: Value,
    /// Why it was withheld from the client (poisoned definition), if it was.
    pub(crate) withheld: Option<String>,
    schema: OnceLock<Option<Arc<ArgumentSchema>>>,
}

impl ToolEntry {
    /// The compiled `inputSchema`, compiled on first use; `None` when absent or invalid.
    pub(crate) fn schema(&self) -> Option<Arc<ArgumentSchema>> {
        self.schema
            .get_or_init(|| {
                let schema = self.definition.get("inputSchema")?;
                ArgumentSchema::compile(schema).ok().map(Arc::new)
            })
            .clone()
    }
}

/// Definitions per upstream and tool name.
#[derive(Debug, Default)]
pub(crate) struct ToolBook {
    servers: Mutex<HashMap<String, HashMap<String, Arc<ToolEntry>>>>,
}

impl ToolBook {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, HashMap<String, Arc<ToolEntry>>>> {
        self.servers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a listed tool (replacing what was known under its name).
    pub(crate) fn record(
        &self,
        server: &str,
        name: &str,
        definition: Value,
        withheld: Option<String>,
    ) {
        let entry = ToolEntry {
            definition,
            withheld,
            schema: OnceLock::new(),
        };
        self.lock()
            .entry(server.to_owned())
            .or_default()
            .insert(name.to_owned(), Arc::new(entry));
    }

    /// The last listed definition of `server`'s `name`.
    pub(crate) fn get(&self, server: &str, name: &str) -> Option<Arc<ToolEntry>> {
        self.lock().get(server)?.get(name).cloned()
    }

    /// `(server, name)` of every tool of every upstream but `except`.
    pub(crate) fn others(&self, except: &str) -> Vec<(String, String)> {
        self.lock()
            .iter()
            .filter(|(s, _)| s.as_str() != except)
            .flat_map(|(s, tools)| tools.keys().map(move |t| (s.clone(), t.clone())))
            .collect()
    }
}
