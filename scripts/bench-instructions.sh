#!/usr/bin/env bash
# Instructions the gateway executes per tools/call, counted by valgrind's callgrind.
#
#   bash scripts/bench-instructions.sh [GATEWAY_BIN] [ERA]
#
# GATEWAY_BIN defaults to the release `sallyport` in $CARGO_TARGET_DIR (or ./target); ERA is
# `modern` (default) or `legacy`. The load harness (`load`, built with
# `cargo build --release -p sallyport-bench`) runs the gateway under callgrind. The script
# zeroes the counters once the gateway's saturation phase is under way, dumps them 5 s later
# and divides every instruction the gateway's threads executed in between (the access-log and
# metrics threads included) by the calls it parsed in that window (two bodies per call: the
# request and the upstream's answer).
#
# Unlike CPU time, the count does not move with what else the machine is doing, so two
# builds can be compared on a busy host. The callgrind file is kept as
# results/callgrind/<era>.out for `callgrind_annotate --inclusive=yes`.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release
GATEWAY=$(realpath "${1:-$TARGET/sallyport}")
ERA=${2:-modern}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
[ -x "$TARGET/load" ] || { echo "build the harness first: cargo build --release -p sallyport-bench" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The harness starts the gateway through this wrapper; valgrind runs in the background so
# that the gateway outlives the harness's kill and is stopped (and dumps) below.
cat > "$WORK/gateway" <<EOF
#!/usr/bin/env bash
valgrind --tool=callgrind --callgrind-out-file=$WORK/out.%p "$GATEWAY" "\$@" &
echo \$! > $WORK/pid
wait
EOF
chmod +x "$WORK/gateway"

"$TARGET/load" --upstreams 1 --eras "$ERA" --methods call --duration-secs 8 --warmup-secs 3 \
    --rate 50 --gateway-bin "$WORK/gateway" > "$WORK/load.log" 2>&1 &
LOAD=$!
until [ -s "$WORK/pid" ]; do sleep 0.2; done
PID=$(cat "$WORK/pid")
# The harness measures direct first; the gateway's phase (3 s warm-up, 8 s) follows.
until grep -q "direct sat" "$WORK/load.log"; do sleep 0.2; done
sleep 1
callgrind_control -z "$PID" >/dev/null
sleep 5
callgrind_control -d "$PID" >/dev/null
wait "$LOAD" || { cat "$WORK/load.log" >&2; exit 1; }
kill -INT "$PID" 2>/dev/null || true
sleep 2

OUT=$(ls "$WORK"/out."$PID".* | head -1)
mkdir -p "$REPO_ROOT/results/callgrind"
cp "$OUT" "$REPO_ROOT/results/callgrind/$ERA.out"
python3 - "$OUT" "$ERA" <<'PY'
import re, sys
path, era = sys.argv[1], sys.argv[2]
names, total, parses, callee = {}, 0, 0, None
for line in open(path, errors="replace"):
    if line.startswith(("fn=", "cfn=")):
        m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.strip())
        if m and m.group(2):
            names[m.group(1)] = m.group(2)
        callee = names.get(m.group(1), "") if m and line.startswith("cfn=") else None
    elif line.startswith("calls=") and callee is not None:
        if callee.endswith("sallyport_mcp::parse::parse_body"):
            parses += int(line[6:].split()[0])
        callee = None
    elif line.startswith("summary:"):
        total = int(line.split()[1])
calls = parses // 2
if calls == 0:
    sys.exit("no tools/call was parsed in the window")
print(f"{era}: {total:,} instructions over {calls} calls = {total // calls:,} per tools/call")
PY
