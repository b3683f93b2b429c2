//! Field path → source location, for errors found after deserialisation.
//!
//! Rather than wrapping chosen fields of the public types in `serde_saphyr::Spanned`
//! (which would leak the wrapper into every consumer and into the schema), the
//! document is parsed a second time into a bare tree of `Spanned` nodes. That gives
//! a location for *every* field path, with the types left plain.

use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de};
use serde_saphyr::Spanned;

use crate::error::Location;

/// Locations of every node, keyed by field path (`servers[2].stdio.command`).
#[derive(Debug, Default)]
pub(crate) struct LocationIndex(HashMap<String, Location>);

impl LocationIndex {
    /// Indexes `text` (already interpolated); empty if it does not parse.
    pub(crate) fn build(text: &str) -> Self {
        let mut index = Self::default();
        if let Ok(root) =
            serde_saphyr::from_str_with_options::<Spanned<Node>>(text, crate::load::yaml_options())
        {
            index.insert(String::new(), &root);
        }
        index
    }

    fn insert(&mut self, path: String, node: &Spanned<Node>) {
        let location = &node.referenced;
        if location.line() > 0 {
            let location = Location {
                line: usize::try_from(location.line()).unwrap_or(usize::MAX),
                column: usize::try_from(location.column()).unwrap_or(usize::MAX),
            };
            self.0.insert(path.clone(), location);
        }
        match &node.value {
            Node::Map(entries) => {
                for (key, child) in entries {
                    let child_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    self.insert(child_path, child);
                }
            }
            Node::Seq(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.insert(format!("{path}[{i}]"), child);
                }
            }
            Node::Leaf => {}
        }
    }

    /// The location of `path`, or of its nearest ancestor that exists in the text
    /// (a missing field is reported at its parent).
    pub(crate) fn find(&self, path: &str) -> Option<Location> {
        let mut path = path;
        loop {
            if let Some(location) = self.0.get(path) {
                return Some(*location);
            }
            if path.is_empty() {
                return None;
            }
            let cut = path.rfind(['.', '[']).unwrap_or(0);
            path = &path[..cut];
        }
    }
}

/// The shape of a YAML document, with a location on every node.
enum Node {
    Map(Vec<(String, Spanned<Node>)>),
    Seq(Vec<Spanned<Node>>),
    Leaf,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Key>()? {
            entries.push((key.0, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        let (IgnoredAny, variant) = data.variant::<IgnoredAny>()?;
        de::VariantAccess::newtype_variant::<IgnoredAny>(variant)?;
        Ok(Node::Leaf)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Leaf)
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Leaf)
    }
}

/// A mapping key of any scalar type, as text.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar mapping key")
            }

            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }

            fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }

            fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }

            fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }

            fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }

            fn visit_unit<E>(self) -> Result<Key, E> {
                Ok(Key(String::new()))
            }
        }

        deserializer.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: usize, column: usize) -> Option<Location> {
        Some(Location { line, column })
    }

    #[test]
    fn finds_paths_and_falls_back_to_ancestors() {
        let index = LocationIndex::build(
            "servers:\n  - name: a\n    stdio: { command: x, args: [p, q] }\n  - name: b\n",
        );
        assert_eq!(index.find("servers[0].name"), at(2, 11));
        assert_eq!(index.find("servers[0].stdio.args[1]"), at(3, 36));
        assert_eq!(index.find("servers[1]"), at(4, 5));
        assert_eq!(
            index.find("servers[1].http.url"),
            at(4, 5),
            "missing: the parent"
        );
        assert_eq!(
            index.find("listen.http"),
            at(1, 1),
            "missing section: the document"
        );
    }

    #[test]
    fn hostile_documents_give_an_empty_index() {
        let deep = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert!(LocationIndex::build(&deep).0.is_empty());

        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            let refs = vec![format!("*a{p}"); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(LocationIndex::build(&bomb).0.is_empty());
    }
}
