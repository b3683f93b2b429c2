//! Which rules an event visits: rules are indexed by the kinds their selectors name, and
//! the cheapest predicates (tool and server glob sets, one bit each; labels present) are
//! checked here, so a rule is only called when one of its selectors may match.

use std::collections::HashMap;

use crate::evidence::KindId;
use crate::key::FxBuildHasher;
use crate::selector::{EventGlobs, Selector, set_matches};

/// Every kind named by a rule, and its routes.
#[derive(Debug, Default)]
pub(crate) struct Routes {
    by_kind: HashMap<Box<str>, KindRoutes, FxBuildHasher>,
    /// Kind names by id.
    kinds: Vec<Box<str>>,
}

/// The selectors one kind is routed to, grouped by rule in rule order.
#[derive(Debug, Default)]
pub(crate) struct KindRoutes {
    pub(crate) kind: KindId,
    selectors: Vec<SelectorRoute>,
    /// Whether one of those selectors has tool (server) globs.
    pub(crate) tool_globs: bool,
    pub(crate) server_globs: bool,
}

/// One selector of one rule, with its quick checks.
#[derive(Debug, Clone, Copy)]
struct SelectorRoute {
    rule: u32,
    /// The selector's bit in the rule (bit `i` is selector `i`).
    bit: u32,
    tool_set: u32,
    server_set: u32,
    needs_labels: bool,
}

impl Routes {
    /// Routes `selector` (bit `bit` of rule `rule`) from each kind it names. Rules must be
    /// added in order.
    pub(crate) fn add(&mut self, rule: u32, bit: u32, selector: &Selector) {
        let (tool_set, server_set) = selector.glob_sets();
        for kind in &selector.kinds {
            let kinds = &mut self.kinds;
            let entry = self.by_kind.entry(kind.clone()).or_insert_with(|| {
                kinds.push(kind.clone());
                KindRoutes {
                    kind: (kinds.len() - 1) as KindId,
                    ..KindRoutes::default()
                }
            });
            entry.selectors.push(SelectorRoute {
                rule,
                bit,
                tool_set,
                server_set,
                needs_labels: selector.needs_labels(),
            });
            let (tools, servers) = selector.uses_globs();
            entry.tool_globs |= tools;
            entry.server_globs |= servers;
        }
    }

    /// The routes of `kind`, if a rule names it.
    #[inline]
    pub(crate) fn get(&self, kind: &str) -> Option<&KindRoutes> {
        self.by_kind.get(kind)
    }

    /// Kind names by [`KindId`].
    pub(crate) fn kind_names(&self) -> &[Box<str>] {
        &self.kinds
    }
}

impl KindRoutes {
    /// Calls `visit(rule, mask)` for every rule with a selector that passes the quick
    /// checks, `mask` holding those selectors' bits.
    #[inline]
    pub(crate) fn for_each_candidate(
        &self,
        globs: &EventGlobs<'_>,
        has_labels: bool,
        mut visit: impl FnMut(u32, u32),
    ) {
        let mut current = u32::MAX;
        let mut mask = 0;
        for route in &self.selectors {
            let possible = set_matches(route.tool_set, globs.tool)
                && set_matches(route.server_set, globs.server)
                && (has_labels || !route.needs_labels);
            if !possible {
                continue;
            }
            if route.rule != current {
                if mask != 0 {
                    visit(current, mask);
                }
                current = route.rule;
                mask = 0;
            }
            mask |= route.bit;
        }
        if mask != 0 {
            visit(current, mask);
        }
    }
}
