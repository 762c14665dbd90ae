#!/usr/bin/env bash
# bench.sh: runt, runc and crun side by side in one run, on the same busybox bundle, timed from outside with
# hyperfine. Prints the machine, then per case the median, spread, min and max per runtime, and each median
# over runc's in the same run.
#
# Usage: test/bench/bench.sh [OUTDIR]          (default /tmp/runt-bench; root)
#   RUNS=40 WARMUP=3      hyperfine runs per command (in all), warm-ups per round
#   ROUNDS=4              rounds, each running every runtime's command in turn (every other round in reverse)
#   CASES="start-up state run cycle exec kill memory podman ctr docker phases"   a subset
#   PHASES_N=15           calls per command and runtime in the phases case
#   RUNTIMES="build/runt /usr/sbin/runc /usr/bin/crun"
#
# Cases:
#   start-up  the engine's bare start (a Bun-compiled empty program), the same with node:fs reading a /proc file
#             (the floor of any call that reads one), `runt --version`, `runc --version`
#   state     RT state ID on a container left in "created"
#   run       RT run ID: the container runs /bin/true, run deletes it
#   cycle     RT create; RT start; wait for the process to exit; RT delete (four runtime calls)
#   exec      RT exec ID /bin/true in a running container
#   kill      RT kill ID KILL of a running container (brought there, untimed, by --prepare)
#   memory    peak RSS of one call (state, run) of each runtime, and of the two floors above, from GNU time
#   phases    where a call's time goes: runt's timing build (scripts/build.mjs --phases: the same code, stamping
#             the engine's clock at its entry, once the command's chunk is loaded and when the command is done)
#             and runc, calls taken in turn, each also timed from outside; and the floor program, stamped alike
#   podman    podman --runtime RT run --rm --network none IMAGE echo hi (test/engines/podman.sh's setup)
#   ctr       ctr run --rm --runc-binary RT IMAGE id echo hi (test/engines/containerd.sh's private daemon)
#   docker    docker run --rm --runtime RT --network none IMAGE true (a private dockerd, its own data root and
#             socket, the image imported from the busybox rootfs)
# The whole run is in a private mount namespace without the cgroup2 mount of a hybrid host
# (/sys/fs/cgroup/unified; the host keeps it): crun 1.8 refuses the hybrid layout, and every runtime then
# sees the same plain v1 layout. KEEP_UNIFIED=1 runs on the host's layout instead (crun is then skipped).
# A runtime that cannot run a container here is skipped with its reason.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${1:-/tmp/runt-bench}
RUNS=${RUNS:-40}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-4}
CASES=${CASES:-start-up state run cycle exec kill memory podman ctr docker phases}
PHASES_N=${PHASES_N:-15}
RUNTIMES=${RUNTIMES:-$REPO/build/runt $(command -v runc || true) $(command -v crun || true)}
unset NODE_EXTRA_CA_CERTS NODE_OPTIONS
for tool in hyperfine jq /usr/bin/time unshare; do command -v $tool >/dev/null || { echo "bench: $tool is missing (apt-get install hyperfine jq time util-linux)" >&2; exit 1; }; done
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
if [ -z "${KEEP_UNIFIED:-}" ] && [ -z "${RUNT_BENCH_PRIVATE:-}" ] && mountpoint -q /sys/fs/cgroup/unified; then
  RUNT_BENCH_PRIVATE=1 exec unshare --mount --propagation private -- "$0" "$@"
fi
if [ -n "${RUNT_BENCH_PRIVATE:-}" ]; then
  # a throwaway tmpfs in its place: what crun, conmon or dockerd write under that path stays in this namespace
  umount -l /sys/fs/cgroup/unified
  mount -t tmpfs -o size=1m,mode=755 runt-bench-no-cgroup2 /sys/fs/cgroup/unified
fi

echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem:/ {print $2}') GiB, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "cgroups: $(if [ -n "${RUNT_BENCH_PRIVATE:-}" ]; then echo 'v1 (the run unmounted the hybrid cgroup2 mount in its private mount namespace)'; else stat -fc %T /sys/fs/cgroup; fi)"
for rt in $RUNTIMES; do echo "runtime: $rt: $("$rt" --version 2>/dev/null | head -1), $(du -h "$rt" | cut -f1)"; done

mkdir -p "$OUT"
"$REPO/test/fixtures/mk-rootfs.sh" "$OUT/rootfs"
# bundle ARGS_JSON DIR: runt's default spec on the busybox rootfs; ociVersion 1.0.2 so that crun 1.8 takes it
bundle() {
  mkdir -p "$2"; rm -f "$2/config.json"
  "$REPO/build/runt" spec --bundle "$2"
  jq --arg root "$OUT/rootfs" --argjson args "$1" \
    '.ociVersion = "1.0.2" | .root.path = $root | .process.terminal = false | .process.args = $args' \
    "$2/config.json" >"$2/config.json.tmp" && mv "$2/config.json.tmp" "$2/config.json"
}
bundle '["/bin/true"]' "$OUT/bundle"
bundle '["sleep", "1000"]' "$OUT/bundle-sleep"
B=$OUT/bundle S=$OUT/bundle-sleep

# cycle.sh RT BUNDLE ID PIDFILE [--no-delete]: create, start, wait for the process to exit, delete (the phases case
# leaves the delete to time it alone)
cat >"$OUT/cycle.sh" <<'SH'
#!/bin/bash
set -e
rt=$1 bundle=$2 id=$3 pidf=$4
"$rt" create --bundle "$bundle" --pid-file "$pidf" "$id" </dev/null >/dev/null
read -r pid <"$pidf" || true
"$rt" start "$id"
while read -r st 2>/dev/null <"/proc/$pid/stat"; do st=${st##*) }; [ "${st%% *}" = Z ] && break; done
[ "${5:-}" = --no-delete ] || "$rt" delete "$id"
SH
# running.sh RT BUNDLE ID: a fresh running container with that id (untimed preparation)
cat >"$OUT/running.sh" <<'SH'
#!/bin/bash
rt=$1 bundle=$2 id=$3
"$rt" delete -f "$id" >/dev/null 2>&1
"$rt" run -d --bundle "$bundle" "$id" </dev/null >/dev/null 2>&1
SH
chmod +x "$OUT/cycle.sh" "$OUT/running.sh"

usable=()
for rt in $RUNTIMES; do
  id=bench-probe-$(basename "$rt")
  if "$rt" run --bundle "$B" "$id" </dev/null >/dev/null 2>"$OUT/probe.err"; then usable+=("$rt")
  else echo "| skip | $(basename "$rt") cannot run here: $(head -c 200 "$OUT/probe.err" | tr '\n' ' ') |"; "$rt" delete -f "$id" >/dev/null 2>&1 || true; fi
done

summary() {  # hyperfine json → rows; ratio: each median over runc's in the same case (over the first without runc)
  jq -r --arg c "$1" '.results as $r
    | (([$r[] | select(.command | test("(^|\\s|/)runc(\\s|$)"))][0] // $r[0]).median) as $base
    | $r[] | "| \($c) | \(.command) | \(.median*1000|.*10|round/10) | \(.stddev*1000|.*10|round/10) | \(.min*1000|.*10|round/10) | \(.max*1000|.*10|round/10) | \((.median/$base)*100|round/100) |"' "$2"
}

# hf CASE [hyperfine args...]: the case's commands in ROUNDS rounds of RUNS/ROUNDS runs each, one command after
# the other in each round, so that a drift of the machine's speed (this VM's varies by a fifth within minutes)
# falls on every runtime alike; the statistics are over all the runs
hf() {
  local c=$1 r i; shift
  # hyperfine runs all of one command's runs, then the next one's: every other round takes the commands in the
  # reverse order, so that none is always first (this VM's speed changes within seconds: a burst, then slower)
  local groups=() group=()
  while (($#)); do
    case $1 in
      --prepare | -n) group+=("$1" "$2"); shift 2 ;;
      *) group+=("$1"); groups+=("$(printf '%q ' "${group[@]}")"); group=(); shift ;;
    esac
  done
  for ((r = 1; r <= ROUNDS; r++)); do
    local order=()
    for ((i = 0; i < ${#groups[@]}; i++)); do
      if ((r % 2)); then order+=("${groups[i]}"); else order+=("${groups[${#groups[@]} - 1 - i]}"); fi
    done
    eval "hyperfine -N --warmup \"\$WARMUP\" --runs \"$(((RUNS + ROUNDS - 1) / ROUNDS))\" --export-json \"\$OUT/\$c.\$r.json\" ${order[*]}" >"$OUT/$c.txt" 2>&1 || { cat "$OUT/$c.txt"; return 1; }
  done
  # each command's times from every round, in the first round's order
  jq -s '{results: [.[0].results[].command as $cmd | (map(.results[] | select(.command == $cmd) | .times) | add) as $t | ($t | sort) as $s
    | ($t | add / length) as $mean
    | {command: $cmd, times: $t, min: $s[0], max: $s[-1],
       median: (($s[(($s | length) - 1) / 2 | floor] + $s[($s | length) / 2 | floor]) / 2),
       stddev: (if ($t | length) > 1 then ($t | map((. - $mean) * (. - $mean)) | add / (length - 1) | sqrt) else 0 end)}]}' \
    "$OUT/$c".[0-9]*.json >"$OUT/$c.json"
  rm -f "$OUT/$c".[0-9]*.json
  summary "$c" "$OUT/$c.json"
}

# uncache FILE...: drops the files' pages from the page cache, so that the calls read them back from disk: a binary
# just written maps more of itself, and faults less, than one read back (an RSS ~5 MiB higher, instructions.sh),
# so a runtime built minutes before the bench would be measured otherwise than runc's long-installed binary
uncache() { for f in "$@"; do dd if="$f" iflag=nocache count=0 status=none; done; }

# the engine's bare start: an empty program compiled as build/runt is (scripts/build.mjs)
BUN=$(cd "$REPO" && node -p "require('path').join(require('path').dirname(require.resolve('@oven/bun-linux-x64/package.json')), 'bin', 'bun')")
echo >"$OUT/empty.cjs"
"$BUN" build "$OUT/empty.cjs" --compile --bytecode --format=cjs --outfile "$OUT/empty-bun" >/dev/null
# the floor of an engine-neutral call that reads a file: the same with node:fs, which reads a /proc file and
# writes a line (what `state` does at the least); with RUNT_PHASES_FILE set (the phases case) it also appends its
# stamps of the engine's clock there, as runt's timing build does (test/bench/phases.mjs)
cat >"$OUT/fs.cjs" <<'JS'
const first = performance.now();
const fs = require('node:fs');
const loaded = performance.now();
fs.writeSync(1, fs.readFileSync('/proc/self/stat', 'latin1').slice(0, 1) + '\n');
if (process.env.RUNT_PHASES_FILE) {
  const stamps = [['first line', first], ['node:fs', loaded], ['entry', loaded], ['command', performance.now()]];
  fs.appendFileSync(process.env.RUNT_PHASES_FILE, JSON.stringify({ origin: performance.timeOrigin, stamps }) + '\n');
}
JS
"$BUN" build "$OUT/fs.cjs" --compile --bytecode --format=cjs --compile-jit-policy=100 --outfile "$OUT/fs-bun" >/dev/null
# every program timed is read back from disk alike (uncache)
uncache "$OUT/empty-bun" "$OUT/fs-bun" $RUNTIMES

# phases: PHASES_N calls of each command by runt's timing build, by runc and by the floor program, the three in turn
# (the order rotating from one round to the next), each timed by bash's clock around the exec (and by the stamps of
# the timing build and the floor program), the container brought where the command needs it untimed
PHASES_IDS="state exec kill start delete create run"
phases() {
  local ph=$REPO/build/phases/runt runc dir=$OUT/phases cmd rt name id i k t0 t1 f status a rts
  local LC_ALL=C # EPOCHREALTIME's decimal point
  runc=
  for rt in "${usable[@]}"; do if [ "$(basename "$rt")" = runc ]; then runc=$rt; fi; done
  [ -n "$runc" ] || { echo "| phases | skipped: runc cannot run here |"; return; }
  (cd "$REPO" && node scripts/build.mjs --phases >/dev/null) || { echo "| phases | skipped: the timing build failed |"; return; }
  uncache "$ph"
  rm -rf "$dir"; mkdir -p "$dir"
  for rt in "$ph" "$runc"; do
    "$rt" delete -f bench-phases-state >/dev/null 2>&1 || true
    "$rt" create --bundle "$B" bench-phases-state </dev/null >/dev/null
    "$OUT/running.sh" "$rt" "$S" bench-phases-exec
    for ((i = 0; i < WARMUP; i++)); do "$rt" state bench-phases-state >/dev/null; done
  done
  for cmd in version state kill start delete create run exec; do
    id=bench-phases-$cmd
    for ((i = 0; i < PHASES_N; i++)); do
      rts=("$ph" "$runc" "$OUT/fs-bun")
      for ((k = 0; k < 3; k++)); do
        rt=${rts[(i + k) % 3]}
        case $rt in "$ph") name=runt ;; "$runc") name=runc ;; *) name=floor ;; esac
        a=()
        if [ "$name" != floor ]; then
          case $cmd in
            version) a=(--version) ;;
            state) a=(state "$id") ;;
            kill) "$OUT/running.sh" "$rt" "$S" "$id"; a=(kill "$id" KILL) ;;
            start) "$rt" delete -f "$id" >/dev/null 2>&1; "$rt" create --bundle "$B" "$id" </dev/null >/dev/null; a=(start "$id") ;;
            delete) "$rt" delete -f "$id" >/dev/null 2>&1; "$OUT/cycle.sh" "$rt" "$B" "$id" "$dir/pid" --no-delete; a=(delete "$id") ;;
            create | run) "$rt" delete -f "$id" >/dev/null 2>&1; a=("$cmd" --bundle "$B" "$id") ;;
            exec) a=(exec "$id" /bin/true) ;;
          esac
        fi
        f=$dir/$cmd.$name.$i.json
        status=0
        t0=${EPOCHREALTIME/./}
        RUNT_PHASES_FILE=$f "$rt" "${a[@]}" </dev/null >/dev/null 2>"$dir/stderr" || status=$?
        t1=${EPOCHREALTIME/./}
        echo "$cmd $name $t0 $t1 $status $f" >>"$dir/calls"
        [ "$status" = 0 ] || echo "phases: $name $cmd failed ($status): $(head -c 200 "$dir/stderr")" >&2
      done
    done
  done
  for rt in "$ph" "$runc"; do for cmd in $PHASES_IDS; do "$rt" delete -f "bench-phases-$cmd" >/dev/null 2>&1 || true; done; done
  node "$HERE/phases.mjs" "$dir"
}

# a private dockerd (its own data root, exec root and socket) with each usable runtime registered by name
DOCKER_DIR=/var/tmp/runt-bench-docker
docker_start() {
  mkdir -p "$DOCKER_DIR"
  jq -n --args '{runtimes: ([$ARGS.positional[] | {key: (split("/") | last), value: {path: .}}] | from_entries | del(.runc)),
    "exec-opts": ["native.cgroupdriver=cgroupfs"], iptables: false, ip6tables: false, bridge: "none"}' "${usable[@]}" >"$DOCKER_DIR/daemon.json"
  dockerd --config-file "$DOCKER_DIR/daemon.json" --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" \
    --pidfile "$DOCKER_DIR/docker.pid" -H "unix://$DOCKER_DIR/docker.sock" >"$DOCKER_DIR/dockerd.log" 2>&1 &
  local up=
  for _ in $(seq 300); do docker -H "unix://$DOCKER_DIR/docker.sock" version >/dev/null 2>&1 && { up=1; break; }; sleep 0.2; done
  [ -n "$up" ] || { echo "| docker | skipped: dockerd did not start: $(tail -n 2 "$DOCKER_DIR/dockerd.log" | tr '\n' ' ' | head -c 200) | | | | | |"; return 1; }
  tar -C "$OUT/rootfs" -c . | docker -H "unix://$DOCKER_DIR/docker.sock" import - runt-bench:latest >/dev/null
}
docker_stop() {
  [ -f "$DOCKER_DIR/docker.pid" ] || return 0
  local pid; pid=$(cat "$DOCKER_DIR/docker.pid")
  kill "$pid" 2>/dev/null; for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  umount "$DOCKER_DIR"/data/overlay2/*/merged 2>/dev/null || true
  # the /docker parent cgroup runc and crun leave behind (an empty one only)
  for d in /sys/fs/cgroup/*/docker; do [ -d "$d" ] && { rmdir "$d" 2>/dev/null || true; }; done
  rm -f "$DOCKER_DIR/docker.pid"
}

# each runtime's container for the cases that need one running (or created), cleaned up at the end
# shellcheck source=../engines/common.sh
source "$REPO/test/engines/common.sh"
cleanup() {
  for rt in "${usable[@]}"; do for c in state exec kill; do "$rt" delete -f "bench-$c-$(basename "$rt")" >/dev/null 2>&1; done; done
  for rt in "$REPO/build/phases/runt" "${usable[@]}"; do for c in $PHASES_IDS; do "$rt" delete -f "bench-phases-$c" >/dev/null 2>&1 || true; done; done
  docker_stop || true
  forget_runt_root /run/runt # the files runt keeps in its default root (src/sys/kept.ts), and the root if that empties it
}
trap cleanup EXIT

header() { echo "| case | command | median ms | ± ms | min ms | max ms | × runc |"; echo "|---|---|---|---|---|---|---|"; }
# the common table's header comes before the first case that prints to it, and again after `phases` (whose table
# has columns of its own)
need_header=1
for c in $CASES; do
  if [ "$c" != phases ] && [ -n "$need_header" ]; then header; need_header=; fi
  args=()
  case $c in
    start-up)
      args=(-n "bare engine start (Bun-compiled empty program)" "$OUT/empty-bun" -n "engine + node:fs (reads a /proc file, writes a line)" "$OUT/fs-bun"
        -n "runt --version" "$REPO/build/runt --version")
      command -v runc >/dev/null && args+=(-n "runc --version" "$(command -v runc) --version")
      hf start-up "${args[@]}" ;;
    state)
      for rt in "${usable[@]}"; do
        n=$(basename "$rt"); "$rt" delete -f "bench-state-$n" >/dev/null 2>&1 || true
        "$rt" create --bundle "$B" "bench-state-$n" </dev/null >/dev/null
        args+=(-n "$n state" "$rt state bench-state-$n")
      done
      hf state "${args[@]}" ;;
    run)
      for rt in "${usable[@]}"; do n=$(basename "$rt"); args+=(-n "$n run" "$rt run --bundle $B bench-run-$n"); done
      hf run "${args[@]}" ;;
    cycle)
      for rt in "${usable[@]}"; do n=$(basename "$rt"); args+=(-n "$n create+start+wait+delete" "$OUT/cycle.sh $rt $B bench-cycle-$n $OUT/$n.pid"); done
      hf cycle "${args[@]}" ;;
    exec)
      for rt in "${usable[@]}"; do
        n=$(basename "$rt"); "$OUT/running.sh" "$rt" "$S" "bench-exec-$n"
        args+=(-n "$n exec" "$rt exec bench-exec-$n /bin/true")
      done
      hf exec "${args[@]}" ;;
    kill)
      for rt in "${usable[@]}"; do
        n=$(basename "$rt"); args+=(--prepare "$OUT/running.sh $rt $S bench-kill-$n" -n "$n kill" "$rt kill bench-kill-$n KILL")
      done
      hf kill "${args[@]}" ;;
    memory)  # peak RSS in MiB, the median of 5 calls; the ratio is state's over runc's
      peak() { for _ in 1 2 3 4 5; do { /usr/bin/time -f %M "$@" </dev/null >/dev/null; } 2>&1 | tail -1; done | sort -n | sed -n 3p; }
      declare -A st ru
      for rt in "${usable[@]}"; do
        n=$(basename "$rt")
        "$rt" delete -f "bench-state-$n" >/dev/null 2>&1; "$rt" create --bundle "$B" "bench-state-$n" </dev/null >/dev/null
        st[$n]=$(peak "$rt" state "bench-state-$n")
        ru[$n]=$(peak "$rt" run --bundle "$B" "bench-mem-$n")
      done
      echo "| memory | bare engine start: peak RSS | $(awk -v k="$(peak "$OUT/empty-bun")" 'BEGIN {printf "%.1f MiB", k / 1024}') | | | | |"
      echo "| memory | engine + node:fs: peak RSS | $(awk -v k="$(peak "$OUT/fs-bun")" 'BEGIN {printf "%.1f MiB", k / 1024}') | | | | |"
      for rt in "${usable[@]}"; do
        n=$(basename "$rt")
        awk -v n="$n" -v s="${st[$n]}" -v r="${ru[$n]}" -v base="${st[runc]:-${st[$n]}}" \
          'BEGIN {printf "| memory | %s: peak RSS of one call | state %.1f MiB | | run %.1f MiB | | %.2f |\n", n, s / 1024, r / 1024, s / base}'
      done ;;
    podman)
      command -v podman >/dev/null || { echo "| podman | skipped: podman is not installed | | | | | |"; continue; }
      # shellcheck source=../engines/podman.sh
      ( set -eo pipefail; source "$REPO/test/engines/podman.sh"; podman_setup >/dev/null
        for rt in "${usable[@]}"; do n=$(basename "$rt"); args+=(-n "podman --runtime $n" "podman --runtime $rt run --rm --network none $RUNT_PODMAN_IMAGE echo hi"); done
        hf podman "${args[@]}"; forget_runt_root /run/runt ) ;;
    ctr)
      command -v containerd >/dev/null || { echo "| ctr | skipped: containerd is not installed | | | | | |"; continue; }
      # shellcheck source=../engines/containerd.sh
      ( set -eo pipefail; source "$REPO/test/engines/containerd.sh"; ctrd_start >/dev/null; ctrd_image >/dev/null
        for rt in "${usable[@]}"; do n=$(basename "$rt"); args+=(-n "ctr --runc-binary $n" "ctr -a $RUNT_CTRD_SOCK -n $RUNT_CTRD_NS run --rm --runc-binary $rt $RUNT_CTRD_IMAGE bench-ctr-$n echo hi"); done
        hf ctr "${args[@]}"; ctrd_stop >/dev/null
        # containerd puts a task's cgroup under /<namespace>; runc leaves that parent behind (runt removes it)
        for d in /sys/fs/cgroup/*/"$RUNT_CTRD_NS" /sys/fs/cgroup/"$RUNT_CTRD_NS"; do [ -d "$d" ] && { rmdir "$d" 2>/dev/null || true; }; done; true ) ;;
    docker)
      command -v dockerd >/dev/null || { echo "| docker | skipped: dockerd is not installed | | | | | |"; continue; }
      docker_start || continue
      for rt in "${usable[@]}"; do
        n=$(basename "$rt")
        cmd="docker -H unix://$DOCKER_DIR/docker.sock run --rm --runtime $n --network none runt-bench:latest true"
        if $cmd >/dev/null 2>"$OUT/docker-probe.err"; then args+=(-n "docker --runtime $n" "$cmd")
        else echo "| docker | skip: docker --runtime $n: $(head -c 200 "$OUT/docker-probe.err" | tr '\n' ' ') | | | | | |"; fi
      done
      [ ${#args[@]} -gt 0 ] && hf docker "${args[@]}"
      docker_stop ;;
    phases) echo; phases; echo; need_header=1 ;;
    *) echo "unknown case $c" >&2 ;;
  esac
done
