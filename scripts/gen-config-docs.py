#!/usr/bin/env python3
"""Render docs/configuration.md from schema/sallyport.schema.json (the schema is generated
from the config types, so this page cannot drift from the code).

Usage: python3 scripts/gen-config-docs.py [--check]
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "schema/sallyport.schema.json").read_text())
DEFS = SCHEMA.get("definitions") or SCHEMA.get("$defs") or {}


def resolve(node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 10:
        node = DEFS[node["$ref"].split("/")[-1]]
        seen += 1
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(node, dict) and key in node and "properties" not in node:
            for alt in node[key]:
                r = resolve(alt)
                if r.get("type") != "null":
                    merged = dict(r)
                    if "description" in node:
                        merged["description"] = node["description"]
                    return merged
    return node


def type_name(node):
    n = resolve(node)
    t = n.get("type")
    if isinstance(t, list):
        t = "/".join(x for x in t if x != "null")
    if t == "array":
        return f"list of {type_name(n.get('items', {}))}"
    if "enum" in n:
        return " \\| ".join(f"`{v}`" for v in n["enum"])
    if t == "object" and "additionalProperties" in n and isinstance(n["additionalProperties"], dict):
        return f"map of {type_name(n['additionalProperties'])}"
    return t or "object"


def rows(node, path, out, depth=0):
    n = resolve(node)
    props = n.get("properties") or {}
    for name, prop in props.items():
        p = resolve(prop)
        desc = (prop.get("description") or p.get("description") or "").replace("\n", " ")
        default = prop.get("default", p.get("default"))
        dflt = "" if default is None else f"`{json.dumps(default)}`"
        full = f"{path}.{name}" if path else name
        out.append(f"| `{full}` | {type_name(prop)} | {dflt} | {desc} |")
        if depth < 4 and (p.get("properties") or (p.get("type") == "array" and resolve(p.get("items", {})).get("properties"))):
            child = p if p.get("properties") else resolve(p["items"])
            rows(child, full + ("[]" if p.get("type") == "array" else ""), out, depth + 1)


def main():
    out = [
        "# Configuration reference",
        "",
        "Generated from `schema/sallyport.schema.json` by `scripts/gen-config-docs.py`; do not edit by hand.",
        "Editors with the YAML language server validate as you type when the file starts with",
        "`# yaml-language-server: $schema=<path>/schema/sallyport.schema.json`.",
        "",
        "`${VAR}` and `${VAR:-default}` are replaced from the environment before parsing; `$${` is a literal `${`.",
        "Check a file with `sallyport check -c FILE`; print the schema with `sallyport schema`.",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    rows(SCHEMA, "", out)
    text = "\n".join(out) + "\n"
    target = ROOT / "docs/configuration.md"
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != text:
            print("docs/configuration.md is stale: run python3 scripts/gen-config-docs.py", file=sys.stderr)
            sys.exit(1)
        return
    target.write_text(text)


main()
