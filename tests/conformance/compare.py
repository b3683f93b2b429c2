#!/usr/bin/env python3
"""Compare a conformance run through the gateway with a direct run against the upstream.

Usage:
    compare.py DIRECT_DIR GATEWAY_DIR EXPECTED_FAILURES_YML [--strict]
    compare.py --baseline RUN_DIR BASELINE_YML [--strict]

DIRECT_DIR / GATEWAY_DIR are either a label directory written by run.sh
(results/conformance/LABEL, containing one sub-directory per protocol revision)
or a single revision directory (containing summary.json).

A *regression* is a check (scenario + check id) that has no FAILURE in the direct run but
fails - or is missing entirely - in the gateway run, unless the expected-failures file
excuses it. With --strict, SUCCESS -> WARNING degradations count as regressions too
(otherwise they are only listed).

Expected-failures file (same entry syntax as the conformance CLI's --expected-failures):

    server:                        # applies to every revision
      - some-scenario              # the whole scenario may regress   # reason: ...
      - some-scenario:check-id     # only this check may regress      # reason: ...
    "2026-07-28":                  # applies to that revision only
      - server-stateless:sep-2575-server-sends-subscription-ack  # reason: ...

Every entry should carry a `# reason` comment. Entries that excuse nothing are reported as
stale (and fail the comparison with --strict).

Baseline mode (--baseline): judge one run on its own: every FAILURE must be excused by
BASELINE_YML (same syntax), e.g. tests/conformance/fixture-baseline.yml for the direct run
against our fixture. Prints `baseline LABEL VERSION: N passed, N failed, N excused` per
revision, where `failed` counts only unexcused failures.

Exit status: 0 no unexcused regressions, 1 regressions, 2 usage/input errors.
Standard library only.
"""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict


def parse_expected(path: str) -> dict[str, list[str]]:
    """Parse the tiny YAML subset used by expected-failures files."""
    sections: dict[str, list[str]] = defaultdict(list)
    if not path or not os.path.exists(path):
        return sections
    current: str | None = None
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
            if not line.strip():
                continue
            stripped = line.strip()
            if not raw[0].isspace() and stripped.endswith(":"):
                current = stripped[:-1].strip().strip("'\"")
                sections.setdefault(current, [])
                continue
            if not raw[0].isspace() and stripped.endswith(": []"):
                current = stripped[:-4].strip().strip("'\"")
                sections.setdefault(current, [])
                continue
            if stripped.startswith("- ") and current is not None:
                entry = stripped[2:].strip().strip("'\"")
                if ": " in entry:
                    raise ValueError(f"{path}:{lineno}: use 'scenario:check-id' without a space after ':'")
                sections[current].append(entry)
                continue
            raise ValueError(f"{path}:{lineno}: cannot parse line: {raw.rstrip()}")
    return sections


def load_runs(path: str) -> dict[str, dict]:
    """Return {version: summary} for a label dir or a single version dir."""
    if os.path.isfile(os.path.join(path, "summary.json")):
        with open(os.path.join(path, "summary.json"), encoding="utf-8") as fh:
            s = json.load(fh)
        return {s["version"]: s}
    runs: dict[str, dict] = {}
    if os.path.isdir(path):
        for entry in sorted(os.listdir(path)):
            p = os.path.join(path, entry, "summary.json")
            if os.path.isfile(p):
                with open(p, encoding="utf-8") as fh:
                    s = json.load(fh)
                runs[s["version"]] = s
    return runs


def by_check(summary: dict) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for c in summary["checks"]:
        out[(c["scenario"], c["id"])].append(c["status"])
    return out


def baseline_main(run_dir: str, baseline_path: str, strict: bool) -> int:
    try:
        expected = parse_expected(baseline_path)
    except ValueError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    runs = load_runs(run_dir)
    if not runs:
        print(f"compare: no summary.json under {run_dir}", file=sys.stderr)
        return 2
    used: set[tuple[str, str]] = set()
    unexcused_total = 0
    for version, s in sorted(runs.items()):
        allowed = [("server", e) for e in expected.get("server", [])] + [(version, e) for e in expected.get(version, [])]
        unexcused: list[str] = []
        excused = 0
        for (scenario, cid), statuses in sorted(by_check(s).items()):
            n_fail = statuses.count("FAILURE")
            if not n_fail:
                continue
            hits = [(sect, e) for sect, e in allowed if e in (scenario, f"{scenario}:{cid}")]
            if hits:
                used.update(hits)
                excused += n_fail
            else:
                unexcused.append(f"{scenario}:{cid}")
                unexcused_total += n_fail
        failed = sum(1 for c in s["checks"] if c["status"] == "FAILURE") - excused
        print(f"baseline {s['label']} {version}: {s['passed']} passed, {failed} failed, {excused} excused")
        for u in unexcused:
            print(f"  UNEXPECTED FAILURE: {u}")
    stale = [f"{sect}: {e}" for sect, entries in expected.items() for e in entries if (sect, e) not in used and (sect == "server" or sect in runs)]
    for st in stale:
        print(f"  stale baseline entry (now passing or absent): {st}")
    if strict:
        unexcused_total += len(stale)
    return 1 if unexcused_total else 0


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    strict = "--strict" in argv[1:]
    if "--baseline" in argv[1:]:
        if len(args) != 2:
            print(__doc__, file=sys.stderr)
            return 2
        return baseline_main(args[0], args[1], strict)
    if len(args) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    direct_dir, gateway_dir, expected_path = args
    try:
        expected = parse_expected(expected_path)
    except ValueError as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return 2
    direct = load_runs(direct_dir)
    gateway = load_runs(gateway_dir)
    if not direct:
        print(f"compare: no summary.json under {direct_dir}", file=sys.stderr)
        return 2
    if not gateway:
        print(f"compare: no summary.json under {gateway_dir}", file=sys.stderr)
        return 2

    used: set[tuple[str, str]] = set()
    total_regressions = 0
    total_degraded = 0
    for version in sorted(set(direct) | set(gateway)):
        if version not in gateway:
            print(f"[{version}] MISSING: gateway has no run for this revision")
            total_regressions += 1
            continue
        if version not in direct:
            print(f"[{version}] note: no direct run for this revision; nothing to compare against")
            continue
        d, g = direct[version], gateway[version]
        dchecks, gchecks = by_check(d), by_check(g)
        allowed = [("server", e) for e in expected.get("server", [])] + [
            (version, e) for e in expected.get(version, [])
        ]

        def excused(scenario: str, cid: str) -> bool:
            hit = False
            for sect, entry in allowed:
                if entry == scenario or entry == f"{scenario}:{cid}":
                    used.add((sect, entry))
                    hit = True
            return hit

        regressions: list[str] = []
        excused_list: list[str] = []
        degraded: list[str] = []
        improved: list[str] = []
        for key, dstat in sorted(dchecks.items()):
            scenario, cid = key
            gstat = gchecks.get(key)
            d_fail = dstat.count("FAILURE")
            if gstat is None:
                if d_fail == 0 and any(s in ("SUCCESS", "WARNING") for s in dstat):
                    (excused_list if excused(scenario, cid) else regressions).append(
                        f"{scenario}:{cid}  direct={','.join(dstat)}  gateway=<missing>"
                    )
                continue
            g_fail = gstat.count("FAILURE")
            if g_fail > d_fail:
                (excused_list if excused(scenario, cid) else regressions).append(
                    f"{scenario}:{cid}  direct={','.join(dstat)}  gateway={','.join(gstat)}"
                )
            elif gstat.count("WARNING") > dstat.count("WARNING"):
                line = f"{scenario}:{cid}  direct={','.join(dstat)}  gateway={','.join(gstat)}"
                if strict and not excused(scenario, cid):
                    regressions.append(line + "  (warning, --strict)")
                else:
                    degraded.append(line)
            elif g_fail < d_fail:
                improved.append(f"{scenario}:{cid}  direct={','.join(dstat)}  gateway={','.join(gstat)}")
        extra = sorted(k for k in gchecks if k not in dchecks and "FAILURE" in gchecks[k])
        for scenario, cid in extra:
            line = f"{scenario}:{cid}  direct=<missing>  gateway={','.join(gchecks[(scenario, cid)])}"
            (excused_list if excused(scenario, cid) else regressions).append(line)

        print(
            f"[{version}] direct {d['label']}: {d['passed']} passed, {d['failed']} failed | "
            f"gateway {g['label']}: {g['passed']} passed, {g['failed']} failed | "
            f"regressions: {len(regressions)}, excused: {len(excused_list)}, "
            f"warnings-only: {len(degraded)}, better-than-direct: {len(improved)}"
        )
        for title, items in (
            ("REGRESSION", regressions),
            ("excused (expected-failures)", excused_list),
            ("warning only", degraded),
            ("better than direct", improved),
        ):
            for item in items:
                print(f"  {title}: {item}")
        total_regressions += len(regressions)
        total_degraded += len(degraded)

    stale = [
        f"{sect}: {entry}"
        for sect, entries in expected.items()
        for entry in entries
        if (sect, entry) not in used
    ]
    for s in stale:
        print(f"  stale expected-failure (excused nothing): {s}")
    if strict and stale:
        total_regressions += len(stale)

    verdict = "FAIL" if total_regressions else "OK"
    print(f"compare: {verdict} - {total_regressions} unexcused regression(s), {total_degraded} warning-only difference(s)")
    return 1 if total_regressions else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
