//! The live authorizer: the current policy snapshot (swapped atomically on reload), the
//! trust profiles and the annotation hints seen in lists (both survive reloads).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use arc_swap::ArcSwap;

use crate::authorizer::{AuthzPolicy, TrustInput};
use crate::classify::ToolHints;
use crate::decision::Decision;
use crate::subject::{AuthzRequest, Phase};
use crate::trust::TrustProfiles;

/// Most `(server, tool)` hint entries remembered.
pub(crate) const MAX_HINTS: usize = 65_536;

/// Tool annotations seen in `tools/list` results, merged so that they only ever get
/// stricter (a destructive hint, once seen, stays until restart).
#[derive(Debug, Default)]
pub struct HintCache {
    inner: RwLock<HashMap<String, HashMap<String, ToolHints>>>,
}

impl HintCache {
    /// The hints known for `tool` of `server`.
    pub fn get(&self, server: &str, tool: &str) -> Option<ToolHints> {
        let map = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        map.get(server).and_then(|m| m.get(tool)).copied()
    }

    /// Merges `hints` into what is known; returns the merged hints. When the cache is full,
    /// new tools are not remembered (known ones still merge).
    pub fn record(&self, server: &str, tool: &str, hints: ToolHints) -> ToolHints {
        let mut map = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let total: usize = map.values().map(HashMap::len).sum();
        if let Some(known) = map.get_mut(server).and_then(|m| m.get_mut(tool)) {
            *known = known.stricter(hints);
            return *known;
        }
        if total < MAX_HINTS && hints != ToolHints::default() {
            map.entry(server.to_owned())
                .or_default()
                .insert(tool.to_owned(), hints);
        }
        hints
    }
}

/// The authorizer shared by every session.
#[derive(Debug)]
pub struct Engine {
    policy: ArcSwap<AuthzPolicy>,
    profiles: Arc<TrustProfiles>,
    hints: Arc<HintCache>,
}

impl Engine {
    /// An engine starting with `policy`.
    pub fn new(policy: AuthzPolicy) -> Self {
        let capacity = policy.trust().map_or(10_000, |t| t.config().max_profiles);
        Self {
            policy: ArcSwap::from_pointee(policy),
            profiles: Arc::new(TrustProfiles::new(capacity)),
            hints: Arc::default(),
        }
    }

    /// An engine deciding with `policy` that shares this one's trust profiles and
    /// annotation hints: what a configuration reload builds, so that behaviour baselines,
    /// known devices and networks, recent violations and upstream hints carry over, while
    /// the old engine keeps serving until the new configuration is swapped in whole. The
    /// profiles keep their original capacity.
    pub fn successor(&self, policy: AuthzPolicy) -> Self {
        Self {
            policy: ArcSwap::from_pointee(policy),
            profiles: Arc::clone(&self.profiles),
            hints: Arc::clone(&self.hints),
        }
    }

    /// Replaces the policy; requests in flight finish on the old snapshot.
    pub fn reload(&self, policy: AuthzPolicy) {
        self.policy.store(Arc::new(policy));
    }

    /// The current policy snapshot.
    pub fn policy(&self) -> Arc<AuthzPolicy> {
        self.policy.load_full()
    }

    /// The trust profiles.
    pub fn profiles(&self) -> &TrustProfiles {
        &self.profiles
    }

    /// The annotation hints seen so far.
    pub fn hints(&self) -> &HintCache {
        &self.hints
    }

    /// Decides `req`. Hints not given in the request are taken from the cache; calls are
    /// recorded in the caller's trust profile.
    pub fn decide(&self, req: &AuthzRequest<'_>) -> Decision {
        let cached;
        let mut req = *req;
        if req.target.hints.is_none() {
            cached = self.hints.get(req.target.server, req.target.name);
            req.target.hints = cached.as_ref();
        }
        let trust = match req.phase {
            Phase::Call => TrustInput::Record(&self.profiles),
            Phase::List => TrustInput::Peek(&self.profiles),
        };
        self.policy.load().decide(&req, trust)
    }
}
