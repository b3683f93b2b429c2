//! Every `examples/*/sallyport.yaml` loads and validates.

use std::path::{Path, PathBuf};

/// Variables the examples need, passed without touching the process environment.
const EXAMPLE_ENV: &[(&str, &str)] = &[("TIME_MCP_TOKEN", "example-token")];

const SCHEMA_HEADER: &str = "# yaml-language-server: $schema=../../schema/sallyport.schema.json\n";

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn every_example_validates() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .unwrap_or_else(|e| panic!("examples/ is readable: {e}"))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.join("sallyport.yaml").is_file())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 2,
        "expected the example folders, found {dirs:?}"
    );
    for dir in dirs {
        let file = dir.join("sallyport.yaml");
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            text.starts_with(SCHEMA_HEADER),
            "{} lacks the $schema header",
            file.display()
        );
        let env = |name: &str| {
            EXAMPLE_ENV
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        };
        let origin = file.display().to_string();
        if let Err(errors) = sallyport_config::load_str_with_env(&text, &origin, env) {
            panic!("{errors}");
        }
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
        assert!(
            readme.starts_with("Run with"),
            "{}/README.md must start with \"Run with\"",
            dir.display()
        );
    }
}
