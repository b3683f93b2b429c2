#!/usr/bin/env bash
# Checks the shipped monitoring files in deploy/:
#   1. promtool check rules deploy/prometheus/*.yml    (installs Debian `prometheus` if needed)
#   2. promtool test rules deploy/prometheus/tests/*.yml
#   3. scripts/check_deploy_metrics.py: the Grafana dashboard parses and every query (and
#      every alert expression) uses only metrics and labels listed in deploy/metric-names.txt,
#      which `cargo test -p sallyport-telemetry` keeps in step with the registry.
# Prints `N passed, N failed` last; exits non-zero on any failure.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

if ! command -v promtool >/dev/null; then
  echo "check-deploy: installing promtool (Debian package prometheus)"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get install -y --no-install-recommends prometheus >/dev/null \
    || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y --no-install-recommends prometheus >/dev/null; } \
    || { echo "check-deploy: cannot install prometheus (promtool)" >&2; exit 1; }
fi

passed=0
failed=0
step() { # name cmd...
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1)); echo "  ok   $name"
  else
    failed=$((failed + 1)); echo "  FAIL $name"
  fi
}

for rules in deploy/prometheus/*.yml; do
  step "promtool check rules $rules" promtool check rules "$rules"
done
for tests in deploy/prometheus/tests/*.yml; do
  step "promtool test rules $tests" promtool test rules "$tests"
done
step "dashboard and rules use exported metrics" python3 scripts/check_deploy_metrics.py

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
