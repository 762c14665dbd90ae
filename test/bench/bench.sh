#!/usr/bin/env bash
# bench.sh: runt, runc and crun side by side in one run, on the same busybox bundle, timed from outside with
# hyperfine. Prints min / median / max per runtime and case, and each runtime's median over runt's.
#
# Usage: test/bench/bench.sh [OUTDIR]          (default /tmp/runt-bench; root)
#   RUNS=40 WARMUP=3      hyperfine runs per command
#   CASES="start-up state run cycle"   a subset
#   RUNTIMES="build/runt /usr/sbin/runc /usr/bin/crun"
#
# Cases:
#   start-up  `node` on an empty file vs `runt --version`: what runt adds to Node's own start
#   state     RT state ID on a container left in "created"
#   run       RT run ID: the container runs /bin/true, run deletes it
#   cycle     RT create; RT start; wait for the process to exit; RT delete (four runtime calls)
# crun 1.8 refuses hybrid cgroup hosts (see ../shared/clients/cgroup-hybrid-fix.sh): its rows then say so.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-/tmp/runt-bench}
RUNS=${RUNS:-40}
WARMUP=${WARMUP:-3}
CASES=${CASES:-start-up state run cycle}
RUNTIMES=${RUNTIMES:-$REPO/build/runt $(command -v runc || true) $(command -v crun || true)}
unset NODE_EXTRA_CA_CERTS NODE_OPTIONS
for tool in hyperfine jq; do command -v $tool >/dev/null || { echo "bench: $tool is missing (apt-get install $tool)" >&2; exit 1; }; done
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }

mkdir -p "$OUT"
"$REPO/test/fixtures/mk-rootfs.sh" "$OUT/rootfs"
bundle="$OUT/bundle"
mkdir -p "$bundle"
rm -f "$bundle/config.json"
"$REPO/build/runt" spec --bundle "$bundle"
jq --arg root "$OUT/rootfs" '.root.path = $root | .process.terminal = false | .process.args = ["/bin/true"]' \
  "$bundle/config.json" >"$bundle/config.json.tmp" && mv "$bundle/config.json.tmp" "$bundle/config.json"

# cycle.sh RT ID: create, start, wait for the process to exit, delete
cat >"$OUT/cycle.sh" <<'SH'
#!/bin/bash
set -e
rt=$1 bundle=$2 id=$3 pidf=$4
"$rt" create --bundle "$bundle" --pid-file "$pidf" "$id" </dev/null >/dev/null
read -r pid <"$pidf" || true
"$rt" start "$id"
while read -r st 2>/dev/null <"/proc/$pid/stat"; do st=${st##*) }; [ "${st%% *}" = Z ] && break; done
"$rt" delete "$id"
SH
chmod +x "$OUT/cycle.sh"

usable=()
for rt in $RUNTIMES; do
  id=bench-probe-$(basename "$rt")
  if "$rt" run --bundle "$bundle" "$id" </dev/null >/dev/null 2>"$OUT/probe.err"; then usable+=("$rt")
  else echo "| skip | $(basename "$rt") cannot run here: $(head -c 200 "$OUT/probe.err" | tr '\n' ' ') |"; "$rt" delete -f "$id" >/dev/null 2>&1 || true; fi
done

summary() {  # hyperfine json → rows, ratios against the first command
  jq -r --arg c "$1" '.results as $r | $r[0].median as $base
    | $r[] | "| \($c) | \(.command) | \(.min*1000|.*10|round/10) | \(.median*1000|.*10|round/10) | \(.max*1000|.*10|round/10) | \((.median/$base)*100|round/100) |"' "$2"
}

hf() {  # hf CASE [hyperfine args...]
  local c=$1; shift
  hyperfine -N --warmup "$WARMUP" --runs "$RUNS" --export-json "$OUT/$c.json" "$@" >"$OUT/$c.txt" 2>&1 || { cat "$OUT/$c.txt"; return 1; }
  summary "$c" "$OUT/$c.json"
}

echo "| case | command | min ms | median ms | max ms | median / first |"
echo "|---|---|---|---|---|---|"
for c in $CASES; do
  args=()
  case $c in
    start-up)
      echo >"$OUT/empty.js"
      hf start-up -n "node (empty file)" "$(command -v node) $OUT/empty.js" -n "runt --version" "$REPO/build/runt --version" ;;
    state)
      for rt in "${usable[@]}"; do
        n=$(basename "$rt"); "$rt" delete -f "bench-state-$n" >/dev/null 2>&1 || true
        "$rt" create --bundle "$bundle" "bench-state-$n" </dev/null >/dev/null
        args+=(-n "$n state" "$rt state bench-state-$n")
      done
      hf state "${args[@]}" || true
      for rt in "${usable[@]}"; do "$rt" delete -f "bench-state-$(basename "$rt")" >/dev/null 2>&1 || true; done ;;
    run)
      for rt in "${usable[@]}"; do n=$(basename "$rt"); args+=(-n "$n run" "$rt run --bundle $bundle bench-run-$n"); done
      hf run "${args[@]}" ;;
    cycle)
      for rt in "${usable[@]}"; do n=$(basename "$rt"); args+=(-n "$n create+start+delete" "$OUT/cycle.sh $rt $bundle bench-cycle-$n $OUT/$n.pid"); done
      hf cycle "${args[@]}" ;;
    *) echo "unknown case $c" >&2 ;;
  esac
done
