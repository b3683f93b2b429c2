# shellcheck shell=bash
# Helpers to start/stop the Python test fixtures from bash (sourced by scripts/test.sh).
#
#   start_fixture NAME SCRIPT [ARGS...]   start tests/fixtures/SCRIPT with --port 0, wait for its
#                                         `READY <url>` line, set FIXTURE_URL_<NAME>=<url>
#   stop_fixtures                         stop every fixture started here (by PID)
#
# Logs go to results/fixtures/NAME.{out,err}. Needs .venv (scripts/setup-test-env.sh).

_FIXTURE_PIDS=()

start_fixture() {
  local name=$1 script=$2
  shift 2
  local root=${REPO_ROOT:?REPO_ROOT not set}
  local logdir="$root/results/fixtures"
  mkdir -p "$logdir"
  local out="$logdir/$name.out" err="$logdir/$name.err"
  : >"$out"
  "$root/.venv/bin/python" "$root/tests/fixtures/$script" --port 0 "$@" >"$out" 2>"$err" </dev/null &
  local pid=$!
  _FIXTURE_PIDS+=("$pid")
  local i
  for ((i = 0; i < 300; i++)); do # up to 30 s (imports are slow while cargo builds)
    if grep -q '^READY ' "$out" 2>/dev/null; then
      local url
      url=$(awk '/^READY /{print $2; exit}' "$out")
      printf -v "FIXTURE_URL_${name}" '%s' "$url"
      export "FIXTURE_URL_${name}"
      echo "fixture $name ($script) ready at $url (pid $pid)" >&2
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "fixture $name ($script) exited before becoming ready; stderr:" >&2
      tail -n 20 "$err" >&2 || true
      return 1
    fi
    sleep 0.1
  done
  echo "fixture $name ($script) not ready after 30s; stderr:" >&2
  tail -n 20 "$err" >&2 || true
  return 1
}

stop_fixtures() {
  local pid
  for pid in "${_FIXTURE_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${_FIXTURE_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  _FIXTURE_PIDS=()
}
