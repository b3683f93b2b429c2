//! Cedar policy files → one immutable `PolicySet` snapshot.

use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{Effect, PolicyId, PolicySet};
use miette::Diagnostic;
use serde::Serialize;

use super::cache::EntityCache;
use super::slice::Slicer;
use crate::config::read_capped;
use crate::error::{PolicyError, line_col};

/// Where a loaded policy came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyInfo {
    /// Its id: the `@id("…")` annotation, or `<file name>:<line>`.
    pub id: String,
    /// The file (or origin) it was read from.
    pub origin: String,
    /// 1-based line of its first character.
    pub line: usize,
    /// `permit` or `forbid`.
    pub effect: &'static str,
}

/// A set of Cedar policies, built once per load and shared read-only by every request.
/// Reloading builds a new store; the old snapshot stays valid for requests in flight.
#[derive(Debug, Clone)]
pub struct PolicyStore {
    slicer: Slicer,
    entities: EntityCache,
    ids: HashSet<String>,
    info: Vec<PolicyInfo>,
}

impl Default for PolicyStore {
    fn default() -> Self {
        Self::empty()
    }
}

impl PolicyStore {
    /// No policies (Cedar is then not consulted).
    pub fn empty() -> Self {
        Self {
            slicer: Slicer::default(),
            entities: EntityCache::default(),
            ids: HashSet::new(),
            info: Vec::new(),
        }
    }

    /// Reads `.cedar` files. Every problem in every file is reported, with file, line and
    /// column.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<Self, Vec<PolicyError>> {
        let mut sources = Vec::with_capacity(paths.len());
        let mut errors = Vec::new();
        for path in paths {
            let origin = path.as_ref().display().to_string();
            match read_capped(path.as_ref()) {
                Ok(text) => sources.push((origin, text)),
                Err(e) => errors.push(PolicyError::new(origin, e)),
            }
        }
        let built = Self::from_sources(sources.iter().map(|(o, t)| (o.as_str(), t.as_str())));
        match built {
            Ok(store) if errors.is_empty() => Ok(store),
            Ok(_) => Err(errors),
            Err(mut more) => {
                errors.append(&mut more);
                Err(errors)
            }
        }
    }

    /// Builds a store from `(origin, text)` pairs (no I/O).
    pub fn from_sources<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<PolicyError>> {
        let mut store = Self::empty();
        let mut errors = Vec::new();
        for (origin, text) in sources {
            store.add_source(origin, text, &mut errors);
        }
        if errors.is_empty() {
            Ok(store)
        } else {
            Err(errors)
        }
    }

    fn add_source(&mut self, origin: &str, text: &str, errors: &mut Vec<PolicyError>) {
        let parsed = match PolicySet::from_str(text) {
            Ok(p) => p,
            Err(e) => {
                for err in e.iter() {
                    errors.push(parse_error(origin, text, err));
                }
                return;
            }
        };
        if parsed.templates().next().is_some() {
            errors.push(PolicyError::new(
                origin,
                "policy templates (`?principal`, `?resource`) are not supported",
            ));
            return;
        }
        let mut policies: Vec<_> = parsed.policies().collect();
        // Default ids are `policy0`, `policy1`, … in source order.
        policies.sort_by_key(|p| {
            AsRef::<str>::as_ref(p.id())
                .strip_prefix("policy")
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(usize::MAX)
        });
        let file = Path::new(origin)
            .file_name()
            .map_or_else(|| origin.to_owned(), |f| f.to_string_lossy().into_owned());
        let mut cursor = 0;
        for policy in policies {
            let src = policy.to_cedar().unwrap_or_default();
            let offset = text
                .get(cursor..)
                .and_then(|rest| rest.find(src.as_str()))
                .map_or(cursor, |i| cursor + i);
            cursor = offset + src.len();
            let (line, column) = line_col(text, offset);
            let id = policy
                .annotation("id")
                .map_or_else(|| format!("{file}:{line}"), str::to_owned);
            if !self.ids.insert(id.clone()) {
                let message = format!("duplicate policy id {id:?}");
                errors.push(PolicyError::new(origin, message).at(line, column));
                continue;
            }
            self.slicer.push(policy.new_id(PolicyId::new(&id)));
            self.info.push(PolicyInfo {
                id,
                origin: origin.to_owned(),
                line,
                effect: match policy.effect() {
                    Effect::Permit => "permit",
                    Effect::Forbid => "forbid",
                },
            });
        }
    }

    /// True when there are no policies.
    pub fn is_empty(&self) -> bool {
        self.info.is_empty()
    }

    /// Number of policies.
    pub fn len(&self) -> usize {
        self.info.len()
    }

    /// Every policy's id and origin, in load order.
    pub fn policies(&self) -> &[PolicyInfo] {
        &self.info
    }

    pub(crate) fn slicer(&self) -> &Slicer {
        &self.slicer
    }

    pub(crate) fn entity_cache(&self) -> &EntityCache {
        &self.entities
    }
}

fn parse_error(origin: &str, text: &str, err: &cedar_policy::ParseError) -> PolicyError {
    let offset = err
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|l| l.offset());
    let mut e = PolicyError::new(origin, err.to_string());
    if let Some(offset) = offset {
        let (line, column) = line_col(text, offset);
        e = e.at(line, column);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_annotation_or_file_and_line() {
        let text = "// header\n@id(\"a\")\npermit(principal, action, resource);\n\nforbid(principal, action, resource) when { context.x == 1 };\n";
        let s = PolicyStore::from_sources([("dir/limits.cedar", text)]).unwrap();
        let ids: Vec<_> = s
            .policies()
            .iter()
            .map(|p| (p.id.as_str(), p.line, p.effect))
            .collect();
        assert_eq!(ids, [("a", 2, "permit"), ("limits.cedar:5", 5, "forbid")]);
    }

    #[test]
    fn parse_errors_carry_file_and_line() {
        let text = "permit(principal, action, resource);\n\nforbid(principal, action resource);\n";
        let errs = PolicyStore::from_sources([("bad.cedar", text)]).unwrap_err();
        assert_eq!(errs[0].origin, "bad.cedar");
        assert_eq!(errs[0].line, Some(3), "{}", errs[0]);
    }

    #[test]
    fn duplicate_ids_across_files_are_errors() {
        let a = "@id(\"x\") permit(principal, action, resource);";
        let errs = PolicyStore::from_sources([("a.cedar", a), ("b.cedar", a)]).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].origin, "b.cedar");
    }

    #[test]
    fn templates_are_rejected() {
        let t = "permit(principal == ?principal, action, resource);";
        assert!(PolicyStore::from_sources([("t.cedar", t)]).is_err());
    }
}
