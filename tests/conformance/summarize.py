#!/usr/bin/env python3
"""Summarise one `conformance server -o RAW_DIR` run into summary.json + failing.txt.

Usage: summarize.py RAW_DIR OUT_DIR LABEL VERSION URL

RAW_DIR holds one `server-<scenario>-<timestamp>/checks.json` per scenario (the
layout written by @modelcontextprotocol/conformance 0.2.0-alpha.12). Writes:

  OUT_DIR/summary.json   {"label","version","url","passed","failed","warnings","other",
                          "scenarios": {scenario: {"passed","failed","warnings"}},
                          "checks": [{"scenario","id","status","n"}]}
  OUT_DIR/failing.txt    one `scenario:check-id` per FAILURE, sorted, unique
  OUT_DIR/warnings.txt   same for WARNING

and prints exactly one line: `conformance LABEL VERSION: N passed, N failed`.
`passed` counts checks with status SUCCESS, `failed` those with FAILURE (the same
totals the conformance CLI prints); WARNING/INFO/SKIPPED are reported separately.
Standard library only, so it runs with any python3.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter

_DIR_RE = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:-\d+Z|Z)?$")


def scenario_name(dirname: str) -> str:
    m = _DIR_RE.match(dirname)
    return m.group("scenario") if m else dirname


def load_checks(raw_dir: str) -> list[dict]:
    checks: list[dict] = []
    for entry in sorted(os.listdir(raw_dir)):
        path = os.path.join(raw_dir, entry, "checks.json")
        if not os.path.isfile(path):
            continue
        scenario = scenario_name(entry)
        with open(path, encoding="utf-8") as fh:
            try:
                items = json.load(fh)
            except json.JSONDecodeError as exc:
                items = [{"id": "checks-json-unreadable", "status": "FAILURE", "errorMessage": str(exc)}]
        seen: Counter = Counter()
        for item in items:
            cid = str(item.get("id", "?"))
            seen[cid] += 1
            checks.append(
                {
                    "scenario": scenario,
                    "id": cid,
                    "n": seen[cid],
                    "status": str(item.get("status", "?")),
                    "error": item.get("errorMessage"),
                }
            )
    return checks


def main(argv: list[str]) -> int:
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    raw_dir, out_dir, label, version, url = argv[1:]
    if not os.path.isdir(raw_dir):
        print(f"summarize: no results directory {raw_dir}", file=sys.stderr)
        return 2
    checks = load_checks(raw_dir)
    if not checks:
        print(f"summarize: no checks.json under {raw_dir} - did the conformance run crash?", file=sys.stderr)
        return 2
    counts = Counter(c["status"] for c in checks)
    scenarios: dict[str, Counter] = {}
    for c in checks:
        scenarios.setdefault(c["scenario"], Counter())[c["status"]] += 1
    failing = sorted({f"{c['scenario']}:{c['id']}" for c in checks if c["status"] == "FAILURE"})
    warnings = sorted({f"{c['scenario']}:{c['id']}" for c in checks if c["status"] == "WARNING"})
    summary = {
        "label": label,
        "version": version,
        "url": url,
        "passed": counts.get("SUCCESS", 0),
        "failed": counts.get("FAILURE", 0),
        "warnings": counts.get("WARNING", 0),
        "other": {k: v for k, v in counts.items() if k not in ("SUCCESS", "FAILURE", "WARNING")},
        "scenarios": {
            s: {"passed": c.get("SUCCESS", 0), "failed": c.get("FAILURE", 0), "warnings": c.get("WARNING", 0)}
            for s, c in sorted(scenarios.items())
        },
        "checks": checks,
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as fh:
        json.dump(summary, fh, indent=1)
        fh.write("\n")
    with open(os.path.join(out_dir, "failing.txt"), "w", encoding="utf-8") as fh:
        fh.writelines(f"{f}\n" for f in failing)
    with open(os.path.join(out_dir, "warnings.txt"), "w", encoding="utf-8") as fh:
        fh.writelines(f"{w}\n" for w in warnings)
    print(f"conformance {label} {version}: {summary['passed']} passed, {summary['failed']} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
