//! Sallyport's threat-detection guards: they apply the detectors of `sallyport-detect` to the
//! messages crossing the pipeline, and keep the pin store of tool definitions.
//!
//! | guard | sees | does |
//! |---|---|---|
//! | `tool_definition` | `tools/list`, `prompts/list` pages per upstream; upstream instructions; `tools/call` | removes (or redacts, quarantines) poisoned definitions, refuses calls to withheld tools |
//! | `tool_pin` | `tools/list`, `prompts/list`, `resources/list`, `resources/templates/list` pages; `tools/call`, `prompts/get`, `resources/read`, `resources/subscribe`, `completion/complete` | pins definitions (TOFU or approval), holds drifted and new ones, refuses uses of held ones (`tool_quarantined`) |
//! | `tool_arguments` | `tools/call` | schema validation against the listed `inputSchema`, injection, traversal, SSRF, secrets |
//! | `tool_flow` | `tools/call` | sensitive read then egress by one principal within a window |
//! | `tool_result` | results, notifications and requests from upstreams | injection/exfiltration, secrets and PII redaction, size, error sanitizing |
//!
//! Every action is configurable per tenant, server and tool ([`DetectionConfig`]).
//!
//! ```
//! use sallyport_guards::{DetectionConfig, build_with_store, PinStore};
//! let cfg = DetectionConfig::default();
//! let guards = build_with_store(&cfg, PinStore::in_memory().unwrap()).unwrap();
//! let names: Vec<_> = guards.iter().map(|g| g.name()).collect();
//! assert_eq!(names, ["tool_definition", "tool_pin", "tool_arguments", "tool_result"]);
//! ```
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod action;
mod arguments;
mod book;
mod config;
mod definition;
mod flow;
mod item;
mod pinning;
mod pins;
mod reason;
mod result;
mod store;

use std::sync::{Arc, Mutex};

use sallyport_pipeline::Guard;

pub use arguments::ArgumentGuard;
pub use config::{
    Action, ActionOverride, ArgumentRules, DefinitionRules, DetectionConfig, FlowRules,
    MinSeverity, PinMode, PinningConfig, ResultRules,
};
pub use definition::DefinitionGuard;
pub use flow::FlowGuard;
pub use item::describe_pin_key;
pub use pinning::PinGuard;
pub use result::ResultGuard;
pub use store::{HoldKind, Pin, PinStore, StoreError, default_store_path};

/// Why the detection guards cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The pin store cannot be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The tier-3 injection classifier the detector settings ask for cannot be loaded.
    #[error(transparent)]
    Tier3(#[from] sallyport_detect::Tier3Error),
}

/// Opens the pin store the config names (`memory`, a path, or the default path).
pub fn open_store(cfg: &DetectionConfig) -> Result<PinStore, StoreError> {
    match &cfg.pinning.store {
        Some(p) if p.as_os_str() == "memory" => PinStore::in_memory(),
        Some(p) => PinStore::open(p),
        None => PinStore::open(&default_store_path()),
    }
}

/// The detection guards, in stage order, sharing one pin store and one memory of listed
/// definitions. Put them after authorization.
pub fn build(cfg: &DetectionConfig) -> Result<Vec<Box<dyn Guard>>, BuildError> {
    build_with_store(cfg, open_store(cfg)?)
}

/// [`build`] with a given store.
pub fn build_with_store(
    cfg: &DetectionConfig,
    store: PinStore,
) -> Result<Vec<Box<dyn Guard>>, BuildError> {
    let actions = Arc::new(action::ActionTable::new(cfg));
    let book = Arc::new(book::ToolBook::default());
    let pins = Arc::new(pins::PinBook::new(store, cfg.pinning.mode)?);
    let mut guards: Vec<Box<dyn Guard>> = vec![
        // Poisoned definitions go first: what they withhold is never pinned.
        Box::new(DefinitionGuard {
            detect: cfg.detectors.clone(),
            actions: actions.clone(),
            book: book.clone(),
            pins: pins.clone(),
            instructions: cfg.definitions.instructions,
        }),
        // Pinning next: a held tool's call is refused before its arguments are looked at.
        Box::new(PinGuard {
            actions: actions.clone(),
            pins: pins.clone(),
        }),
        Box::new(ArgumentGuard {
            detect: cfg.detectors.clone(),
            rules: cfg.arguments,
            actions: actions.clone(),
            book,
            pins: pins.clone(),
        }),
    ];
    if let Some(flows) = &cfg.flows {
        // Flows after the argument checks: a refused call is no step of a flow.
        guards.push(Box::new(FlowGuard {
            rules: flows.clone(),
            actions: actions.clone(),
            last_source: Mutex::default(),
        }));
    }
    guards.push(Box::new(ResultGuard {
        // Tier 3 (MiniLM) is loaded once here, when configured; a build without the
        // `minilm` feature refuses a config that asks for it.
        tier3: load_tier3(&cfg.detectors)?,
        prompt_detect: result::prompt_settings(&cfg.detectors),
        detect: cfg.detectors.clone(),
        rules: cfg.results,
        actions,
        pins,
    }));
    Ok(guards)
}

/// The tier-3 classifier when the settings ask for it, with a warning about its cost.
fn load_tier3(
    detectors: &sallyport_detect::DetectConfig,
) -> Result<Option<Arc<sallyport_detect::Tier3>>, BuildError> {
    let tier3 = sallyport_detect::Tier3::load(detectors)?;
    if tier3.is_some() {
        tracing::warn!(
            "Tier-3 injection classifier (MiniLM) loaded: it adds 0.2-0.8 s of CPU to every \
             result tiers 1 and 2 let through; use it only where calls are rare."
        );
    }
    Ok(tier3.map(Arc::new))
}

/// Approves the last seen definition of `server`'s `item` in `store` (what `sallyport pins
/// approve` does); `None` when the store has no such item. `item` is the store key: a tool's
/// name, `prompt:<name>`, `template:<uriTemplate>` or `resource:<uri>`.
pub fn approve(store: &PinStore, server: &str, item: &str) -> Result<Option<Pin>, StoreError> {
    let Some(pin) = store.get(server, item)? else {
        return Ok(None);
    };
    // Only tools are matched across renames; the others keep no rename-resistant hash.
    let nameless = if item::ItemKind::of_key(item) == item::ItemKind::Tool {
        let def: serde_json::Value = serde_json::from_str(&pin.seen_definition).unwrap_or_default();
        sallyport_detect::definition_hash_without_name(&def)
    } else {
        String::new()
    };
    store.approve(server, item, &nameless)
}
