//! The examples in docs/authorization.md parse: every Cedar block loads, every config block
//! is a valid `AuthzConfig`, and the `policy test` example evaluates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sallyport_policy::{AuthzConfig, AuthzPolicy, PolicyStore, Timestamp, explain_document};

const DOC: &str = include_str!("../../../docs/authorization.md");

fn blocks(lang: &str) -> Vec<String> {
    let fence = format!("```{lang}\n");
    DOC.split(&fence)
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn cedar_examples_load() {
    let cedar = blocks("cedar");
    assert!(!cedar.is_empty());
    for (i, text) in cedar.iter().enumerate() {
        let origin = format!("doc-{i}.cedar");
        let store = PolicyStore::from_sources([(origin.as_str(), text.as_str())])
            .unwrap_or_else(|e| panic!("block {i}: {e:?}"));
        assert!(!store.is_empty());
    }
}

#[test]
fn yaml_examples_are_valid() {
    let mut configs = 0;
    for (i, text) in blocks("yaml").iter().enumerate() {
        if text.trim_start().starts_with('-') {
            let policy = AuthzPolicy::shipped_default();
            let out = explain_document(&policy, text, Timestamp::from_secs(1_793_872_800))
                .unwrap_or_else(|e| panic!("block {i}: {e}"));
            assert!(!out.is_empty());
            continue;
        }
        let config = AuthzConfig::from_yaml(text, &format!("doc-{i}.yaml"))
            .unwrap_or_else(|e| panic!("block {i}: {e}"));
        AuthzPolicy::new(&config, PolicyStore::empty())
            .unwrap_or_else(|e| panic!("block {i}: {e:?}"));
        configs += 1;
    }
    assert!(configs >= 4, "{configs}");
}
