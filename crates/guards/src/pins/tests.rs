use serde_json::json;

use super::*;

fn book(mode: PinMode) -> PinBook {
    PinBook::new(PinStore::in_memory().unwrap(), mode).unwrap()
}

fn tool(desc: &str) -> Value {
    json!({"name": "add", "description": desc, "inputSchema": {"type": "object"}})
}

fn held(s: &Standing) -> Option<HoldKind> {
    match s {
        Standing::Held { kind, .. } => Some(*kind),
        Standing::Trusted { .. } => None,
    }
}

#[test]
fn tofu_pins_first_listing_then_holds_drift_and_new_tools() {
    let b = book(PinMode::Tofu);
    assert_eq!(held(&b.listed("m", "add", &tool("Adds.")).unwrap()), None);
    b.list_complete("m").unwrap();
    assert_eq!(held(&b.listed("m", "add", &tool("Adds.")).unwrap()), None);
    let drift = b
        .listed("m", "add", &tool("Adds. <IMPORTANT>x</IMPORTANT>"))
        .unwrap();
    let Standing::Held {
        kind: HoldKind::Drift,
        detail,
    } = drift
    else {
        panic!("{drift:?}")
    };
    assert!(detail.contains("/description"), "{detail}");
    assert_eq!(
        held(&b.called("m", "add").unwrap().unwrap()),
        Some(HoldKind::Drift)
    );
    let mut other = tool("Subtracts.");
    other["name"] = json!("sub");
    assert_eq!(
        held(&b.listed("m", "sub", &other).unwrap()),
        Some(HoldKind::New)
    );
    // Reverting the rug pull releases the tool.
    assert_eq!(held(&b.listed("m", "add", &tool("Adds.")).unwrap()), None);
}

#[test]
fn approval_releases_and_renames_are_recognized() {
    let b = book(PinMode::Tofu);
    b.listed("m", "add", &tool("Adds.")).unwrap();
    b.list_complete("m").unwrap();
    b.listed("m", "add", &tool("Adds more.")).unwrap();
    assert_eq!(
        held(&b.called("m", "add").unwrap().unwrap()),
        Some(HoldKind::Drift)
    );
    crate::approve(&b.store, "m", "add").unwrap().unwrap();
    assert_eq!(held(&b.called("m", "add").unwrap().unwrap()), None);
    let mut renamed = tool("Adds more.");
    renamed["name"] = json!("plus");
    let s = b.listed("m", "plus", &renamed).unwrap();
    assert!(
        matches!(s, Standing::Trusted { note: Some(ref n) } if n.contains("renamed")),
        "{s:?}"
    );
}

#[test]
fn approve_mode_holds_everything_until_approved() {
    let b = book(PinMode::Approve);
    assert_eq!(
        held(&b.listed("m", "add", &tool("Adds.")).unwrap()),
        Some(HoldKind::New)
    );
    assert!(b.called("m", "never_listed").unwrap().is_none());
    b.quarantine("m", "x", None, "inj").unwrap();
    assert_eq!(
        held(&b.called("m", "x").unwrap().unwrap()),
        Some(HoldKind::Threat)
    );
}
