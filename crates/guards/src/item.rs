//! What a pin is of: a tool, a prompt, a resource template or a resource. Each kind names the
//! list that carries it, the member that identifies it, the fields its hash covers, and its
//! key in the pin store. Keys are namespaced so kinds never collide: tools keep their bare
//! name (stores written before prompts were pinned keep working), the others are
//! `prompt:<name>`, `template:<uriTemplate>` and `resource:<uri>`, and a tool whose own name
//! starts with one of those prefixes (or `tool:`) is stored as `tool:<name>`.

use std::borrow::Cow;

use sallyport_detect::{definition_hash, diff_definitions};
use serde_json::{Map, Value, json};

/// The kinds of pinned definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    Tool,
    Prompt,
    Template,
    Resource,
}

/// The fields a prompt's hash covers.
const PROMPT_FIELDS: &[&str] = &["name", "title", "description", "arguments"];
/// The fields a resource template's hash covers (`annotations` and `_meta` left out: they
/// carry volatile hints such as `lastModified` and `priority`).
const TEMPLATE_FIELDS: &[&str] = &["uriTemplate", "name", "title", "description", "mimeType"];
/// The fields a resource's hash covers (`size`, `annotations` and `_meta` left out: volatile).
const RESOURCE_FIELDS: &[&str] = &["uri", "name", "title", "description", "mimeType"];

/// A member that `sallyport_detect`'s hash and diff cover, used to wrap the fields of the
/// kinds other than tools (some of which, like `mimeType`, it does not know); diff paths are
/// unwrapped again.
const WRAP: &str = "arguments";

/// Key prefixes; a bare key is a tool.
const PREFIXES: [(&str, ItemKind); 4] = [
    ("tool:", ItemKind::Tool),
    ("prompt:", ItemKind::Prompt),
    ("template:", ItemKind::Template),
    ("resource:", ItemKind::Resource),
];

/// What a pin store key is of, `tool`, `prompt`, `resource template` or `resource`, and the
/// item's own name or URI (the key without its kind prefix).
pub fn describe_pin_key(key: &str) -> (&'static str, &str) {
    PREFIXES
        .iter()
        .find_map(|(p, kind)| Some((kind.noun(), key.strip_prefix(p)?)))
        .unwrap_or((ItemKind::Tool.noun(), key))
}

impl ItemKind {
    /// The kind a list method returns.
    pub(crate) fn of_list(method: &str) -> Option<Self> {
        match method {
            "tools/list" => Some(Self::Tool),
            "prompts/list" => Some(Self::Prompt),
            "resources/templates/list" => Some(Self::Template),
            "resources/list" => Some(Self::Resource),
            _ => None,
        }
    }

    /// The kind of a store key.
    pub(crate) fn of_key(key: &str) -> Self {
        PREFIXES
            .iter()
            .find(|(p, _)| key.starts_with(p))
            .map_or(Self::Tool, |(_, k)| *k)
    }

    /// The result member holding the list.
    pub(crate) fn list_member(self) -> &'static str {
        match self {
            Self::Tool => "tools",
            Self::Prompt => "prompts",
            Self::Template => "resourceTemplates",
            Self::Resource => "resources",
        }
    }

    /// The member naming one item (upstream-local).
    pub(crate) fn id_member(self) -> &'static str {
        match self {
            Self::Tool | Self::Prompt => "name",
            Self::Template => "uriTemplate",
            Self::Resource => "uri",
        }
    }

    /// The member naming the item in a refusal's `data`: `tool`, `prompt`, `uriTemplate`,
    /// `uri`.
    pub(crate) fn id_field(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Template => "uriTemplate",
            Self::Resource => "uri",
        }
    }

    /// `tool`, `prompt`, `resource template`, `resource`.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Self::Tool => "tool",
            Self::Prompt => "prompt",
            Self::Template => "resource template",
            Self::Resource => "resource",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::Tool => "tool:",
            Self::Prompt => "prompt:",
            Self::Template => "template:",
            Self::Resource => "resource:",
        }
    }

    /// The store key of the item `id` (a tool or prompt name, a URI template, a URI).
    pub(crate) fn key(self, id: &str) -> Cow<'_, str> {
        let reserved = PREFIXES.iter().any(|(p, _)| id.starts_with(p));
        if self == Self::Tool && !reserved {
            Cow::Borrowed(id)
        } else {
            Cow::Owned(format!("{}{id}", self.prefix()))
        }
    }

    /// The key under which `server`'s first complete listing of this kind is recorded.
    /// Server names cannot hold `:`, so these never collide with the tools' (the bare name).
    pub(crate) fn baseline(self, server: &str) -> Cow<'_, str> {
        match self {
            Self::Tool => Cow::Borrowed(server),
            _ => Cow::Owned(format!("{}{server}", self.prefix())),
        }
    }

    /// What is stored and hashed of a listed definition: a tool whole (its hash covers
    /// detect's `PINNED_FIELDS`), the others' pinned fields only.
    pub(crate) fn view(self, def: &Value) -> Cow<'_, Value> {
        let fields = match self {
            Self::Tool => return Cow::Borrowed(def),
            Self::Prompt => PROMPT_FIELDS,
            Self::Template => TEMPLATE_FIELDS,
            Self::Resource => RESOURCE_FIELDS,
        };
        let view: Map<String, Value> = fields
            .iter()
            .filter_map(|f| def.get(*f).map(|v| ((*f).to_owned(), v.clone())))
            .collect();
        Cow::Owned(Value::Object(view))
    }

    /// `sha256:<hex>` of a view.
    pub(crate) fn hash(self, view: &Value) -> String {
        match self {
            Self::Tool => definition_hash(view),
            _ => definition_hash(&json!({ WRAP: view })),
        }
    }

    /// The structural diff of two views, as JSON (the drift's detail).
    pub(crate) fn diff(self, before: &Value, after: &Value) -> String {
        let changes = match self {
            Self::Tool => diff_definitions(before, after),
            _ => {
                let wrap = |v: &Value| json!({ WRAP: v });
                let unwrap = format!("/{WRAP}");
                let mut changes = diff_definitions(&wrap(before), &wrap(after));
                for c in &mut changes {
                    let path = c.path.strip_prefix(&unwrap).unwrap_or(&c.path);
                    c.path = if path.is_empty() { "/" } else { path }.to_owned();
                }
                changes
            }
        };
        serde_json::to_string(&changes).unwrap_or_default()
    }
}

/// Whether `uri` could be an expansion of `template` (RFC 6570): each `{…}` expression
/// matches any run of characters, the rest literally.
pub(crate) fn template_matches(template: &str, uri: &str) -> bool {
    let mut pattern = String::with_capacity(template.len());
    let mut inside = false;
    for c in template.chars() {
        match c {
            '{' if !inside => {
                inside = true;
                pattern.push('*');
            }
            '}' if inside => inside = false,
            _ if inside => {}
            c => pattern.push(c),
        }
    }
    sallyport_pipeline::glob::glob_match(&pattern, uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_keys_are_described_by_kind_and_own_name() {
        assert_eq!(describe_pin_key("add"), ("tool", "add"));
        assert_eq!(describe_pin_key("tool:prompt:add"), ("tool", "prompt:add"));
        assert_eq!(describe_pin_key("prompt:add"), ("prompt", "add"));
        assert_eq!(
            describe_pin_key("template:file:///logs/{day}"),
            ("resource template", "file:///logs/{day}")
        );
        assert_eq!(
            describe_pin_key("resource:file:///a"),
            ("resource", "file:///a")
        );
    }

    #[test]
    fn keys_are_namespaced_and_never_collide() {
        assert_eq!(ItemKind::Tool.key("add"), "add");
        assert_eq!(ItemKind::Prompt.key("add"), "prompt:add");
        assert_eq!(ItemKind::Tool.key("prompt:add"), "tool:prompt:add");
        assert_eq!(ItemKind::Resource.key("file:///a"), "resource:file:///a");
        for kind in [
            ItemKind::Tool,
            ItemKind::Prompt,
            ItemKind::Template,
            ItemKind::Resource,
        ] {
            for id in ["x", "prompt:x", "tool:x", "template:x"] {
                assert_eq!(ItemKind::of_key(&kind.key(id)), kind, "{id}");
            }
        }
        assert_eq!(ItemKind::Prompt.baseline("fs"), "prompt:fs");
        assert_eq!(ItemKind::Tool.baseline("fs"), "fs");
    }

    #[test]
    fn resource_hash_covers_mime_type_but_not_size() {
        let r = json!({"uri": "file:///a", "name": "a", "mimeType": "text/plain", "size": 1});
        let k = ItemKind::Resource;
        let mut bigger = r.clone();
        bigger["size"] = json!(2);
        bigger["annotations"] = json!({"lastModified": "2026-01-01T00:00:00Z"});
        assert_eq!(k.hash(&k.view(&r)), k.hash(&k.view(&bigger)));
        let mut html = r.clone();
        html["mimeType"] = json!("text/html");
        assert_ne!(k.hash(&k.view(&r)), k.hash(&k.view(&html)));
        let diff = k.diff(&k.view(&r), &k.view(&html));
        assert!(diff.contains(r#""path":"/mimeType""#), "{diff}");
    }

    #[test]
    fn templates_match_their_expansions() {
        assert!(template_matches(
            "file:///logs/{day}",
            "file:///logs/2026-01-01"
        ));
        assert!(template_matches(
            "db://{table}/rows{?limit}",
            "db://users/rows?limit=3"
        ));
        assert!(!template_matches("file:///logs/{day}", "file:///notes/1"));
    }
}
