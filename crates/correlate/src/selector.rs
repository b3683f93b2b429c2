//! Compiled selectors: which events a rule or a step looks at.

use crate::config::{OneOrMany, SelectorConfig};
use crate::event::CorrelationEvent;
use crate::glob::{GlobMemo, has_bit};

/// No glob set: the predicate is absent.
const NO_SET: u32 = u32::MAX;

/// A compiled [`SelectorConfig`]. The kind is not checked here: the engine routes each
/// event only to the selectors that name its kind.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    pub(crate) kinds: Box<[Box<str>]>,
    /// Ids of the tool and server glob sets in the engine's memos, or [`NO_SET`]: the hot
    /// checks, kept inline.
    tool_set: u32,
    server_set: u32,
    /// The glob patterns, kept for binding.
    tool: Option<Box<[Box<str>]>>,
    server: Option<Box<[Box<str>]>>,
    /// The other predicates, if any (boxed: most selectors have none).
    fields: Option<Box<FieldPredicates>>,
}

/// Exact-match predicates.
#[derive(Debug, Clone)]
struct FieldPredicates {
    outcome: Option<Box<[Box<str>]>>,
    action: Option<Box<[Box<str>]>>,
    auth_method: Option<Box<[Box<str>]>>,
    labels: Option<Box<[Box<str>]>>,
}

impl Selector {
    /// Compiles a selector that has been validated.
    pub(crate) fn new(config: &SelectorConfig) -> Self {
        let list =
            |values: &Option<OneOrMany<String>>| values.as_ref().map(|v| strings(v.as_slice()));
        let fields = FieldPredicates {
            outcome: list(&config.outcome),
            action: list(&config.action),
            auth_method: list(&config.auth_method),
            labels: list(&config.labels),
        };
        let any_field = fields.outcome.is_some()
            || fields.action.is_some()
            || fields.auth_method.is_some()
            || fields.labels.is_some();
        Self {
            kinds: strings(config.kind.as_slice()),
            tool_set: NO_SET,
            server_set: NO_SET,
            tool: list(&config.tool),
            server: list(&config.server),
            fields: any_field.then(|| Box::new(fields)),
        }
    }

    /// Numbers the glob patterns in the engine's memos.
    pub(crate) fn bind(&mut self, tools: &mut GlobMemo, servers: &mut GlobMemo) {
        if let Some(patterns) = &self.tool {
            self.tool_set = tools.intern(patterns);
        }
        if let Some(patterns) = &self.server {
            self.server_set = servers.intern(patterns);
        }
    }

    /// Whether the selector has tool (or server) globs.
    pub(crate) fn uses_globs(&self) -> (bool, bool) {
        (self.tool.is_some(), self.server.is_some())
    }

    /// The ids of the tool and server glob sets (after [`bind`](Self::bind)).
    pub(crate) fn glob_sets(&self) -> (u32, u32) {
        (self.tool_set, self.server_set)
    }

    /// Whether the selector only matches events with labels.
    pub(crate) fn needs_labels(&self) -> bool {
        (self.fields.as_ref()).is_some_and(|fields| fields.labels.is_some())
    }

    /// Whether `event` (whose kind is one of this selector's) matches every predicate.
    /// `globs` holds the event's tool and server names matched against the memos. The
    /// glob checks (one bit each) come first; the others are out of line.
    #[inline(always)]
    pub(crate) fn matches(&self, event: &CorrelationEvent<'_>, globs: &EventGlobs<'_>) -> bool {
        set_matches(self.tool_set, globs.tool)
            && set_matches(self.server_set, globs.server)
            && self
                .fields
                .as_ref()
                .is_none_or(|fields| fields.matches(event))
    }
}

/// Whether glob set `set` (or no set) matches the name whose set bits are `bits`.
#[inline(always)]
pub(crate) fn set_matches(set: u32, bits: Option<&[u64]>) -> bool {
    set == NO_SET || bits.is_some_and(|bits| has_bit(bits, set))
}

impl FieldPredicates {
    fn matches(&self, event: &CorrelationEvent<'_>) -> bool {
        any_label(self.labels.as_deref(), event.labels)
            && any_exact(self.outcome.as_deref(), event.outcome)
            && any_exact(self.action.as_deref(), event.action)
            && any_exact(self.auth_method.as_deref(), event.auth_method)
    }
}

/// The event's tool and server names matched against every pattern: bits by pattern id,
/// `None` when the event has no such name (or no rule has such patterns).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EventGlobs<'m> {
    pub(crate) tool: Option<&'m [u64]>,
    pub(crate) server: Option<&'m [u64]>,
}

fn strings(values: &[String]) -> Box<[Box<str>]> {
    values.iter().map(|value| value.as_str().into()).collect()
}

#[inline]
fn any_exact(wanted: Option<&[Box<str>]>, value: Option<&str>) -> bool {
    match (wanted, value) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(wanted), Some(value)) => wanted.iter().any(|w| **w == *value),
    }
}

#[inline]
fn any_label(wanted: Option<&[Box<str>]>, labels: &[&str]) -> bool {
    match wanted {
        None => true,
        Some(wanted) => labels
            .iter()
            .any(|label| wanted.iter().any(|w| **w == **label)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OneOrMany;

    fn selector(yaml: &str) -> Selector {
        let config: SelectorConfig = serde_saphyr::from_str(yaml).unwrap();
        Selector::new(&config)
    }

    /// Matches as the engine does: names through the memos.
    fn matches(selector: &Selector, event: &CorrelationEvent<'_>) -> bool {
        let (mut tools, mut servers) = (GlobMemo::default(), GlobMemo::default());
        let mut selector = selector.clone();
        selector.bind(&mut tools, &mut servers);
        let tool = event.tool.map(|tool| tools.matches(tool).to_vec());
        let server = event.server.map(|server| servers.matches(server).to_vec());
        let globs = EventGlobs {
            tool: tool.as_deref(),
            server: server.as_deref(),
        };
        selector.matches(event, &globs)
    }

    #[test]
    fn every_predicate_must_match() {
        let egress = selector("{kind: tool_call, tool: ['*http*', '*send*'], outcome: allow}");
        let call = CorrelationEvent::new("tool_call", 0).with_tool("http_get");
        assert!(!matches(&egress, &call), "outcome missing");
        assert!(matches(&egress, &call.with_outcome("allow")));
        assert!(!matches(&egress, &call.with_outcome("deny")));
        let read = call.with_tool("read_file").with_outcome("allow");
        assert!(!matches(&egress, &read));
        assert_eq!(&*egress.kinds, [Box::<str>::from("tool_call")]);
    }

    #[test]
    fn labels_are_any_of() {
        let sensitive = selector("{kind: tool_call, labels: [secret, pii]}");
        let call = CorrelationEvent::new("tool_call", 0);
        assert!(!matches(&sensitive, &call));
        assert!(matches(&sensitive, &call.with_labels(&["x", "pii"])));
        assert!(!matches(
            &sensitive,
            &call.with_labels(&["prompt_injection"])
        ));
    }

    #[test]
    fn one_or_many_reads_both_forms() {
        let one: SelectorConfig = serde_saphyr::from_str("kind: a").unwrap();
        assert_eq!(one.kind, OneOrMany::One("a".into()));
        let many: SelectorConfig = serde_saphyr::from_str("kind: [a, b]").unwrap();
        assert_eq!(many.kind.as_slice(), ["a", "b"]);
    }
}
