//! Names kept for evidence (tools, counted values), interned once for the whole engine so
//! per-key evidence records hold 4-byte ids instead of text.
//!
//! The table is bounded: after [`NAMES_PER_GENERATION`] names it starts a new generation,
//! and ids of the old one then resolve to nothing (an alert shows the event without its
//! tool rather than a wrong one). Names are cut to [`NAME_BYTES`].

use std::collections::HashMap;

use crate::event::{CorrelationEvent, KeyField};
use crate::key::FxBuildHasher;

/// A name's id: generation in the high 16 bits, index in the low 16.
pub(crate) type NameId = u32;
/// No name.
pub(crate) const NO_NAME: NameId = u32::MAX;
/// Names per generation (the index must fit 16 bits and never be `0xffff` of generation
/// `0xffff`, which is [`NO_NAME`]).
const NAMES_PER_GENERATION: usize = 0xffff;
/// Longest name kept, in bytes (cut at a character boundary).
pub(crate) const NAME_BYTES: usize = 64;
/// The key fields, for the per-event cache.
const FIELDS: usize = 6;

/// Interned names, and the current event's interned key fields.
#[derive(Debug, Default)]
pub(crate) struct NameTable {
    ids: HashMap<Box<str>, u16, FxBuildHasher>,
    names: Vec<Box<str>>,
    generation: u16,
    /// Per key field: the event epoch it was interned in, and its id.
    cached: [(u64, NameId); FIELDS],
    epoch: u64,
}

impl NameTable {
    /// Forgets the previous event's fields.
    #[inline]
    pub(crate) fn next_event(&mut self) {
        self.epoch += 1;
    }

    /// The id of `event`'s value of `field` ([`NO_NAME`] if absent), interned once per
    /// event.
    #[inline]
    pub(crate) fn field(&mut self, field: KeyField, event: &CorrelationEvent<'_>) -> NameId {
        let slot = field_index(field);
        let (epoch, id) = self.cached[slot];
        if epoch == self.epoch {
            return id;
        }
        let id = event.field(field).map_or(NO_NAME, |name| self.intern(name));
        self.cached[slot] = (self.epoch, id);
        id
    }

    /// The id of `name`, added if new.
    pub(crate) fn intern(&mut self, name: &str) -> NameId {
        let name = cut(name);
        if let Some(&index) = self.ids.get(name) {
            return self.id(index);
        }
        if self.names.len() >= NAMES_PER_GENERATION {
            self.ids.clear();
            self.names.clear();
            self.generation = self.generation.wrapping_add(1);
        }
        let index = self.names.len() as u16;
        self.names.push(name.into());
        self.ids.insert(name.into(), index);
        self.id(index)
    }

    /// The name of `id`, unless it is [`NO_NAME`] or from an older generation.
    pub(crate) fn resolve(&self, id: NameId) -> Option<&str> {
        if id == NO_NAME || (id >> 16) as u16 != self.generation {
            return None;
        }
        self.names.get((id & 0xffff) as usize).map(|name| &**name)
    }

    fn id(&self, index: u16) -> NameId {
        (u32::from(self.generation) << 16) | u32::from(index)
    }
}

fn field_index(field: KeyField) -> usize {
    match field {
        KeyField::Principal => 0,
        KeyField::SourceIp => 1,
        KeyField::Session => 2,
        KeyField::Server => 3,
        KeyField::Tool => 4,
        KeyField::Tenant => 5,
    }
}

/// `name` cut to [`NAME_BYTES`] at a character boundary.
fn cut(name: &str) -> &str {
    let mut len = name.len().min(NAME_BYTES);
    while !name.is_char_boundary(len) {
        len -= 1;
    }
    &name[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_until_their_generation_ends() {
        let mut table = NameTable::default();
        let read = table.intern("read_file");
        assert_eq!(table.intern("read_file"), read);
        assert_eq!(table.resolve(read), Some("read_file"));
        for n in 0..NAMES_PER_GENERATION {
            table.intern(&format!("tool-{n}"));
        }
        assert_eq!(
            table.resolve(read),
            None,
            "an old generation's id names nothing"
        );
        assert_eq!(table.resolve(NO_NAME), None);
        assert!(table.names.len() <= NAMES_PER_GENERATION);
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary() {
        let mut table = NameTable::default();
        let long = "ж".repeat(100);
        let id = table.intern(&long);
        let name = table.resolve(id).unwrap();
        assert!(name.len() <= NAME_BYTES && name.chars().all(|c| c == 'ж'));
    }

    #[test]
    fn fields_are_interned_once_per_event() {
        let mut table = NameTable::default();
        let event = CorrelationEvent::new("k", 0).with_tool("fetch");
        table.next_event();
        let id = table.field(KeyField::Tool, &event);
        assert_eq!(table.field(KeyField::Tool, &event), id);
        assert_eq!(table.field(KeyField::Principal, &event), NO_NAME);
        assert_eq!(table.resolve(id), Some("fetch"));
    }
}
