#!/usr/bin/env bash
# instructions.sh: what one call of each runt command costs, counted rather than timed, so that two builds can
# be compared on a busy machine: the instructions runt's own process executes (valgrind's callgrind, every
# thread, the median of 3 calls) and its peak RSS (GNU time, the median of 3). JavaScriptCore's concurrent JIT
# and GC are off for the count (BUN_JSC_*: their threads' share otherwise varies from call to call by ±4 %);
# the RSS and the page faults (each a trap to the hypervisor on this VM, see README "Speed") are measured as users run it. Child processes (the shim, the container) are not counted.
#
# Usage: test/bench/instructions.sh [RUNT] [OUTDIR]     (default build/runt, /tmp/runt-instructions; root)
#   COMMANDS="version state kill pause resume exec create start delete run"   a subset
#
# Peak RSS depends on the page cache: of two copies of the same binary, one just written and one long
# cached, the first has ~4 MiB more mapped; compare binaries copied at the same time.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
RUNT=$(realpath "${1:-$REPO/build/runt}")
OUT=${2:-/tmp/runt-instructions}
COMMANDS=${COMMANDS:-version state kill pause resume exec create start delete run}
for tool in valgrind /usr/bin/time jq; do command -v $tool >/dev/null || { echo "instructions: $tool is missing (apt-get install valgrind time jq)" >&2; exit 1; }; done
[ "$(id -u)" = 0 ] || { echo "instructions: run as root" >&2; exit 1; }

mkdir -p "$OUT"
ROOT=$(mktemp -d "$OUT/root.XXXXXX")
"$REPO/test/fixtures/mk-rootfs.sh" "$OUT/rootfs"
bundle() {  # bundle ARGS_JSON DIR: runt's default spec on the busybox rootfs
  mkdir -p "$2"; rm -f "$2/config.json"
  "$RUNT" spec --bundle "$2"
  jq --arg root "$OUT/rootfs" --argjson args "$1" '.root.path = $root | .process.terminal = false | .process.args = $args' \
    "$2/config.json" >"$2/config.json.tmp" && mv "$2/config.json.tmp" "$2/config.json"
}
bundle '["/bin/true"]' "$OUT/bundle"
bundle '["sleep", "1000"]' "$OUT/bundle-sleep"
rt() { "$RUNT" --root "$ROOT" "$@" </dev/null >/dev/null 2>&1; }
cleanup() { for c in st ex pa k cr rn; do rt delete -f $c || true; done; rm -rf "$ROOT"; }
trap cleanup EXIT

count() {  # count CMD...: instructions of one call
  BUN_JSC_useConcurrentJIT=0 BUN_JSC_useConcurrentGC=0 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --log-file="$OUT/callgrind.log" "$@" </dev/null >/dev/null 2>&1 || true
  sed -n 's/.*Collected : //p' "$OUT/callgrind.log"
}
memory() {  # memory CMD...: peak RSS of one call (KiB) and its page faults
  /usr/bin/time -o "$OUT/time.out" -f '%M %R' "$@" </dev/null >/dev/null 2>&1 || true
  tail -1 "$OUT/time.out"
}
median() { sort -n | sed -n 2p; }

echo "runt: $RUNT ($("$RUNT" --version | head -1))"
echo "| command | instructions (M) | peak RSS (MiB) | page faults |"
echo "|---|---|---|---|"
for c in $COMMANDS; do
  counts=() peaks=() faults=()
  for i in 1 2 3 4 5 6; do
    # each call gets the container it needs, made untimed
    case $c in
      version) cmd=(--version) ;;
      state) [ "$i" = 1 ] && { rt delete -f st || true; rt create --bundle "$OUT/bundle" st; }; cmd=(state st) ;;
      exec) [ "$i" = 1 ] && { rt delete -f ex || true; rt run -d --bundle "$OUT/bundle-sleep" ex; }; cmd=(exec ex /bin/true) ;;
      pause) [ "$i" = 1 ] && { rt delete -f pa || true; rt run -d --bundle "$OUT/bundle-sleep" pa; }; rt resume pa || true; cmd=(pause pa) ;;
      resume) [ "$i" = 1 ] && { rt delete -f pa || true; rt run -d --bundle "$OUT/bundle-sleep" pa; }; rt pause pa || true; cmd=(resume pa) ;;
      kill) rt delete -f k || true; rt run -d --bundle "$OUT/bundle-sleep" k; cmd=(kill k KILL) ;;
      create) rt delete -f cr || true; cmd=(create --bundle "$OUT/bundle" cr) ;;
      start) rt delete -f cr || true; rt create --bundle "$OUT/bundle" cr; cmd=(start cr) ;;
      delete) rt delete -f cr || true; rt create --bundle "$OUT/bundle" cr; rt start cr; sleep 0.1; cmd=(delete cr) ;;
      run) rt delete -f rn || true; cmd=(run --bundle "$OUT/bundle" rn) ;;
      *) echo "instructions: unknown command $c" >&2; exit 1 ;;
    esac
    if [ "$i" -le 3 ]; then counts+=("$(count "$RUNT" --root "$ROOT" "${cmd[@]}")"); else read -r k f < <(memory "$RUNT" --root "$ROOT" "${cmd[@]}"); peaks+=("$k"); faults+=("$f"); fi
  done
  awk -v c="$c" -v n="$(printf '%s\n' "${counts[@]}" | median)" -v k="$(printf '%s\n' "${peaks[@]}" | median)" \
    -v f="$(printf '%s\n' "${faults[@]}" | median)" 'BEGIN {printf "| %s | %.2f | %.1f | %d |\n", c, n / 1e6, k / 1024, f}'
done
