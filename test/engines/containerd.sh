#!/usr/bin/env bash
# containerd.sh - a private containerd on its own socket, and a busybox OCI image imported into it, for running
# containers with runt through `ctr run --runc-binary build/runt`. Used by test/integration/containerd.test.ts and
# shown in the README. The host's containerd (if any) is never touched: root, state, sockets, config, log and pid
# file are all under $RUNT_CTRD_DIR, and the image lives in the namespace $RUNT_CTRD_NS.
#
# Usage: test/engines/containerd.sh [all|start|image|stop|clean|status|entry]   (default: all = start, image)
#   start   write $RUNT_CTRD_DIR/config.toml and start containerd in the background (no-op if running)
#   image   build localhost/runt-busybox:latest with umoci from test/fixtures/mk-rootfs.sh's rootfs, import it
#   stop    kill and delete every task and container in $RUNT_CTRD_NS, then SIGTERM the recorded daemon pid
#   clean   stop, then delete $RUNT_CTRD_DIR
#   status  running or not
#   entry   print the runtime entry for a CRI config (what the README shows)
# Environment:
#   RUNT_CTRD_DIR=/var/tmp/runt-containerd   everything of this instance
#   RUNT_CTRD_NS=runt-test                   the containerd namespace
#   RUNT=<repo>/build/runt                   the runtime named in the config's runtime entry
# Then by hand: ctr -a $RUNT_CTRD_DIR/containerd.sock -n runt-test run --rm --runc-binary build/runt \
#                 localhost/runt-busybox:latest t1 echo hi
# Sourcing the file defines the functions and runs nothing (they expect `set -eo pipefail`).
#
# The config disables the CRI plugin (it wants CNI and a registry for the pause image). It still carries the
# runtime entry Kubernetes would use through a RuntimeClass named "runt" (ctrd_runtime_entry); ctr picks the
# binary per container with --runc-binary, which sets the same shim option (BinaryName).
# Idempotent.
RUNT_CTRD_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$RUNT_CTRD_REPO/test/engines/common.sh"
RUNT_CTRD_DIR=${RUNT_CTRD_DIR:-/var/tmp/runt-containerd}
RUNT_CTRD_NS=${RUNT_CTRD_NS:-runt-test}
RUNT=${RUNT:-$RUNT_CTRD_REPO/build/runt}
RUNT_CTRD_IMAGE=localhost/runt-busybox:latest
RUNT_CTRD_SOCK=$RUNT_CTRD_DIR/containerd.sock

ctrd() { ctr -a "$RUNT_CTRD_SOCK" -n "$RUNT_CTRD_NS" "$@"; }

ctrd_running() {
  [ -f "$RUNT_CTRD_DIR/containerd.pid" ] || return 1
  local pid; pid=$(cat "$RUNT_CTRD_DIR/containerd.pid")
  [ -d /proc/"$pid" ] && [ "$(cat /proc/"$pid"/comm)" = containerd ]
}

# The runtime entry a Kubernetes RuntimeClass with handler "runt" selects (the CRI plugin reads it): the runc
# shim v2, told to call runt instead of runc. `ctr run --runc-binary` sets the same option per container.
ctrd_runtime_entry() {
  cat <<EOF
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runt]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runt.options]
  BinaryName = "$RUNT"
EOF
}

ctrd_config() {
  mkdir -p "$RUNT_CTRD_DIR"/{root,state,opt}
  cat >"$RUNT_CTRD_DIR/config.toml.tmp" <<EOF
# Written by test/engines/containerd.sh: a private containerd for runt's tests.
version = 2
root = "$RUNT_CTRD_DIR/root"
state = "$RUNT_CTRD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$RUNT_CTRD_SOCK"
[ttrpc]
  address = "$RUNT_CTRD_SOCK.ttrpc"
[debug]
  address = "$RUNT_CTRD_DIR/debug.sock"
  level = "info"
[plugins."io.containerd.internal.v1.opt"]
  path = "$RUNT_CTRD_DIR/opt"

$(ctrd_runtime_entry)
EOF
  mv "$RUNT_CTRD_DIR/config.toml.tmp" "$RUNT_CTRD_DIR/config.toml"
}

ctrd_start() {
  ctrd_running && return
  ctrd_config
  # setsid and no inherited stdio: the caller (a test, a CI step) does not wait on the daemon's pipes
  setsid containerd --config "$RUNT_CTRD_DIR/config.toml" </dev/null >>"$RUNT_CTRD_DIR/containerd.log" 2>&1 &
  echo $! >"$RUNT_CTRD_DIR/containerd.pid"
  local i
  for i in $(seq 1 100); do
    ctr -a "$RUNT_CTRD_SOCK" version >/dev/null 2>&1 && return
    ctrd_running || break
    sleep 0.1
  done
  echo "containerd did not come up; the end of $RUNT_CTRD_DIR/containerd.log:" >&2
  tail -20 "$RUNT_CTRD_DIR/containerd.log" >&2
  return 1
}

# An OCI image layout made with umoci (one layer: the busybox rootfs), tarred and imported.
ctrd_image() {
  ctrd images ls -q | grep -qx "$RUNT_CTRD_IMAGE" && return
  local rootfs=$RUNT_CTRD_DIR/rootfs layout=$RUNT_CTRD_DIR/oci-layout tag=${RUNT_CTRD_IMAGE##*:}
  "$RUNT_CTRD_REPO/test/fixtures/mk-rootfs.sh" "$rootfs"
  rm -rf "$layout"
  umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci insert --image "$layout:$tag" "$rootfs" /
  umoci config --image "$layout:$tag" --config.cmd /bin/sh --config.env PATH=/usr/sbin:/usr/bin:/sbin:/bin
  umoci gc --layout "$layout"
  tar -C "$layout" -cf "$RUNT_CTRD_DIR/runt-busybox.tar" .
  # the layout names its manifest by tag only; --base-name gives the repository
  ctrd images import --base-name "${RUNT_CTRD_IMAGE%:*}" "$RUNT_CTRD_DIR/runt-busybox.tar" >/dev/null
}

ctrd_stop() {
  if ctrd_running; then
    local c i
    for c in $(ctrd containers ls -q 2>/dev/null); do
      ctrd task kill -s SIGKILL "$c" >/dev/null 2>&1 || true
      for i in $(seq 1 50); do
        ctrd task ls 2>/dev/null | awk -v c="$c" '$1 == c && $3 != "STOPPED" {f = 1} END {exit !f}' || break
        sleep 0.1
      done
      ctrd task delete "$c" >/dev/null 2>&1 || true
      ctrd containers delete "$c" >/dev/null 2>&1 || true
    done
    local pid; pid=$(cat "$RUNT_CTRD_DIR/containerd.pid")
    kill -TERM "$pid"
    for i in $(seq 1 50); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
    [ -d /proc/"$pid" ] && { echo "containerd $pid still runs 5 s after SIGTERM" >&2; return 1; }
  fi
  rm -f "$RUNT_CTRD_DIR/containerd.pid"
  # the runc shim gives the runtime --root /run/containerd/runc/<namespace>
  forget_runt_root "/run/containerd/runc/$RUNT_CTRD_NS"
}

ctrd_clean() {
  ctrd_stop || return 1
  # snapshots a killed daemon left mounted
  unmount_under "$RUNT_CTRD_DIR"
  rm -rf "$RUNT_CTRD_DIR"
}

ctrd_status() {
  if ctrd_running; then echo "running: pid $(cat "$RUNT_CTRD_DIR/containerd.pid"), socket $RUNT_CTRD_SOCK"; else echo "not running"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-all}" in
    all) ctrd_start; ctrd_image; ctrd_status ;;
    start) ctrd_start ;;
    image) ctrd_image ;;
    stop) ctrd_stop ;;
    clean) ctrd_clean ;;
    status) ctrd_status ;;
    entry) ctrd_runtime_entry ;;
    *) echo "usage: $0 [all|start|image|stop|clean|status|entry]" >&2; exit 2 ;;
  esac
fi
