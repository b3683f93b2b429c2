//! Policy slicing: only the policies whose scope (`principal …, action …, resource …`) can
//! match a request are given to the authorizer.
//!
//! This is exact, not a heuristic. Cedar evaluates a policy as
//! `scope && when && !unless`, short-circuiting, so a policy whose scope cannot match is
//! never satisfied and never raises an error. Slices are cached by the set of applicable
//! policies (bounded), and a request to which no policy applies skips Cedar entirely.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::needs::Needs;
use cedar_policy::{
    ActionConstraint, EntityUid, Policy, PolicySet, PrincipalConstraint, ResourceConstraint,
};

/// Most distinct slices cached; the cache is cleared when full.
const MAX_SLICES: usize = 1024;

/// The policies that apply to one shape of request, and what they read.
#[derive(Debug)]
pub(crate) struct Slice {
    pub(crate) set: PolicySet,
    pub(crate) needs: Needs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    ty: String,
    id: String,
}

impl Key {
    fn of(uid: &EntityUid) -> Self {
        Self {
            ty: uid.type_name().to_string(),
            id: uid.id().unescaped().to_owned(),
        }
    }

    fn is(&self, ty: &str, id: &str) -> bool {
        self.ty == ty && self.id == id
    }
}

#[derive(Debug, Clone)]
enum Scope {
    Any,
    Eq(Key),
    In(Key),
    Is(String),
    IsIn(String, Key),
}

/// One side of a request: an entity and its ancestors, as `(type, id)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts<'a> {
    pub(crate) ty: &'a str,
    pub(crate) id: &'a str,
    pub(crate) ancestors: &'a [(&'a str, &'a str)],
}

impl Facts<'_> {
    fn is_in(&self, k: &Key) -> bool {
        k.is(self.ty, self.id) || self.ancestors.iter().any(|(t, i)| k.is(t, i))
    }
}

impl Scope {
    fn matches(&self, f: &Facts<'_>) -> bool {
        match self {
            Self::Any => true,
            Self::Eq(k) => k.is(f.ty, f.id),
            Self::In(k) => f.is_in(k),
            Self::Is(t) => t == f.ty,
            Self::IsIn(t, k) => t == f.ty && f.is_in(k),
        }
    }
}

#[derive(Debug, Clone)]
struct PolicyScope {
    principal: Scope,
    action: Option<Vec<Key>>,
    resource: Scope,
    needs: Needs,
}

impl PolicyScope {
    fn of(p: &Policy) -> Self {
        let principal = match p.principal_constraint() {
            PrincipalConstraint::Any => Scope::Any,
            PrincipalConstraint::Eq(u) => Scope::Eq(Key::of(&u)),
            PrincipalConstraint::In(u) => Scope::In(Key::of(&u)),
            PrincipalConstraint::Is(t) => Scope::Is(t.to_string()),
            PrincipalConstraint::IsIn(t, u) => Scope::IsIn(t.to_string(), Key::of(&u)),
        };
        let resource = match p.resource_constraint() {
            ResourceConstraint::Any => Scope::Any,
            ResourceConstraint::Eq(u) => Scope::Eq(Key::of(&u)),
            ResourceConstraint::In(u) => Scope::In(Key::of(&u)),
            ResourceConstraint::Is(t) => Scope::Is(t.to_string()),
            ResourceConstraint::IsIn(t, u) => Scope::IsIn(t.to_string(), Key::of(&u)),
        };
        let action = match p.action_constraint() {
            ActionConstraint::Any => None,
            ActionConstraint::Eq(u) => Some(vec![Key::of(&u)]),
            ActionConstraint::In(us) => Some(us.iter().map(Key::of).collect()),
        };
        Self {
            principal,
            action,
            resource,
            needs: Needs::of_policy(p),
        }
    }

    fn matches(&self, principal: &Facts<'_>, action: &Facts<'_>, resource: &Facts<'_>) -> bool {
        self.principal.matches(principal)
            && self
                .action
                .as_ref()
                .is_none_or(|keys| keys.iter().any(|k| action.is_in(k)))
            && self.resource.matches(resource)
    }
}

/// The policies of a store with their scopes, and the cache of slices.
#[derive(Debug, Default)]
pub(crate) struct Slicer {
    policies: Vec<(Policy, PolicyScope)>,
    cache: Mutex<HashMap<Vec<u64>, Arc<Slice>>>,
}

impl Clone for Slicer {
    fn clone(&self) -> Self {
        Self {
            policies: self.policies.clone(),
            cache: Mutex::default(),
        }
    }
}

impl Slicer {
    pub(crate) fn push(&mut self, policy: Policy) {
        let scope = PolicyScope::of(&policy);
        self.policies.push((policy, scope));
    }

    /// The policies that can apply, or `None` when none can.
    pub(crate) fn slice(
        &self,
        principal: &Facts<'_>,
        action: &Facts<'_>,
        resource: &Facts<'_>,
    ) -> Option<Arc<Slice>> {
        let mut bits = vec![0u64; self.policies.len().div_ceil(64)];
        let mut any = false;
        for (i, (_, scope)) in self.policies.iter().enumerate() {
            if scope.matches(principal, action, resource) {
                bits[i / 64] |= 1 << (i % 64);
                any = true;
            }
        }
        if !any {
            return None;
        }
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(set) = cache.get(&bits) {
            return Some(set.clone());
        }
        let mut set = PolicySet::new();
        let mut needs = Needs::default();
        for (i, (policy, scope)) in self.policies.iter().enumerate() {
            if bits[i / 64] & (1 << (i % 64)) != 0 {
                // Ids are unique in the store, so adding cannot fail.
                let _ = set.add(policy.clone());
                needs = needs.union(scope.needs);
            }
        }
        let set = Arc::new(Slice { set, needs });
        if cache.len() >= MAX_SLICES {
            cache.clear();
        }
        cache.insert(bits, set.clone());
        Some(set)
    }
}
