//! The checked-in schema must match the types.
//!
//! Regenerate with `SALLYPORT_UPDATE_SCHEMA=1 cargo test -p sallyport-config --test schema`.

use std::path::PathBuf;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema/sallyport.schema.json")
}

#[test]
fn checked_in_schema_is_current() {
    let generated = serde_json::to_string_pretty(&sallyport_config::json_schema())
        .unwrap_or_else(|e| panic!("schema serialises: {e}"))
        + "\n";
    let path = schema_path();
    if std::env::var_os("SALLYPORT_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date with the config types; regenerate it with\n\n    \
         SALLYPORT_UPDATE_SCHEMA=1 cargo test -p sallyport-config --test schema\n",
        path.display()
    );
}

#[test]
fn schema_rejects_unknown_fields_and_documents_every_property() {
    let schema = sallyport_config::json_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], serde_json::json!(["servers"]));
    let definitions = schema["definitions"].as_object().into_iter().flatten();
    for (name, definition) in definitions.chain(
        [("Config", &schema)]
            .map(|(n, d)| (n.to_owned(), d))
            .iter()
            .map(|(n, d)| (n, *d)),
    ) {
        let Some(properties) = definition["properties"].as_object() else {
            continue;
        };
        assert_eq!(definition["additionalProperties"], false, "{name}");
        for (field, property) in properties {
            assert!(
                property["description"].is_string(),
                "{name}.{field} has no description"
            );
        }
    }
}
