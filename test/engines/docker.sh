#!/usr/bin/env bash
# docker.sh - a private dockerd (Debian's docker.io 20.10) that runs every container with runt, used by
# test/integration/docker.test.ts and shown in the README. The host's Docker (if any) is never touched: the
# daemon's data-root, exec-root, socket, pid file, config, log and the CLI's config are all under
# $RUNT_DOCKER_DIR, and dockerd starts a containerd of its own (its sockets and state under the exec-root too).
#
# Usage: test/engines/docker.sh [all|start|image|stop|clean|status|config]   (default: all = start, image)
#   start   write $RUNT_DOCKER_DIR/daemon.json and start dockerd in the background (no-op if running)
#   image   import localhost/runt-busybox:latest (docker import of test/fixtures/mk-rootfs.sh's rootfs)
#   stop    remove every container (docker rm -f), then SIGTERM the daemon (it stops its containerd)
#   clean   stop, then unmount and delete $RUNT_DOCKER_DIR
#   status  running or not
#   config  print the daemon.json (what the README shows)
# Environment:
#   RUNT_DOCKER_DIR=/var/tmp/runt-docker   everything of this instance
#   RUNT=<repo>/build/runt                 the runtime the daemon is given as "runt" (and as its default)
# Then by hand: DOCKER_HOST=unix://$RUNT_DOCKER_DIR/docker.sock /usr/bin/docker run --rm localhost/runt-busybox echo hi
# Sourcing the file defines the functions and runs nothing (they expect `set -eo pipefail`).
#
# Why the config says what it says:
#   * "runtimes": {"runt": {"path": ...}} and "default-runtime": "runt": every container of this daemon runs
#     with runt, `docker run --runtime runt` or not (containerd's runc shim v2 calls runt as its BinaryName).
#   * "bridge": "none", "iptables"/"ip-masq"/"ip-forward": false: the daemon changes no host network setting;
#     containers get a network namespace with lo only (the test uses --network none explicitly as well).
#   * "cgroup-parent": containers go to /<basename of $RUNT_DOCKER_DIR>/<id> (cgroupfs driver: there is no
#     systemd), apart from a host Docker's /docker and from other instances.
#   * no "containerd": dockerd supervises a containerd of its own, whose root and state follow data-root
#     and exec-root; the runtime's state (runt --root) is <exec-root>/runtime-runt.
#   * the CLI is Debian's /usr/bin/docker (the docker.io package), its config in $RUNT_DOCKER_DIR/cli.
# Idempotent.
RUNT_DOCKER_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$RUNT_DOCKER_REPO/test/engines/common.sh"
RUNT_DOCKER_DIR=${RUNT_DOCKER_DIR:-/var/tmp/runt-docker}
RUNT=${RUNT:-$RUNT_DOCKER_REPO/build/runt}
RUNT_DOCKER_IMAGE=localhost/runt-busybox:latest
RUNT_DOCKER_SOCK=$RUNT_DOCKER_DIR/docker.sock
RUNT_DOCKER_CLI=/usr/bin/docker
# the cgroup parent of this instance's containers, named after its dir (so two instances never share one)
RUNT_DOCKER_CGROUP=/$(basename "$RUNT_DOCKER_DIR")

dockr() { DOCKER_CONFIG=$RUNT_DOCKER_DIR/cli "$RUNT_DOCKER_CLI" -H "unix://$RUNT_DOCKER_SOCK" "$@"; }

docker_running() {
  [ -f "$RUNT_DOCKER_DIR/dockerd.pid" ] || return 1
  local pid; pid=$(cat "$RUNT_DOCKER_DIR/dockerd.pid")
  [ -n "$pid" ] && [ -d /proc/"$pid" ] && [ "$(cat /proc/"$pid"/comm)" = dockerd ]
}

docker_config() {
  cat <<EOF
{
  "data-root": "$RUNT_DOCKER_DIR/data",
  "exec-root": "$RUNT_DOCKER_DIR/exec",
  "pidfile": "$RUNT_DOCKER_DIR/dockerd.pid",
  "hosts": ["unix://$RUNT_DOCKER_SOCK"],
  "bridge": "none",
  "iptables": false,
  "ip-masq": false,
  "ip-forward": false,
  "userland-proxy": false,
  "cgroup-parent": "$RUNT_DOCKER_CGROUP",
  "exec-opts": ["native.cgroupdriver=cgroupfs"],
  "runtimes": { "runt": { "path": "$RUNT" } },
  "default-runtime": "runt"
}
EOF
}

docker_start() {
  docker_running && return
  mkdir -p "$RUNT_DOCKER_DIR"/{data,exec,cli}
  docker_config >"$RUNT_DOCKER_DIR/daemon.json.tmp"
  mv "$RUNT_DOCKER_DIR/daemon.json.tmp" "$RUNT_DOCKER_DIR/daemon.json"
  # setsid and no inherited stdio: the caller (a test, a CI step) does not wait on the daemon's pipes. The
  # daemon writes its pid file itself; a stale one from a killed run is removed first.
  rm -f "$RUNT_DOCKER_DIR/dockerd.pid"
  setsid dockerd --config-file "$RUNT_DOCKER_DIR/daemon.json" </dev/null >>"$RUNT_DOCKER_DIR/dockerd.log" 2>&1 &
  local pid=$! i
  for i in $(seq 1 300); do
    dockr version >/dev/null 2>&1 && return
    [ -d /proc/"$pid" ] || break
    sleep 0.1
  done
  echo "dockerd did not come up; the end of $RUNT_DOCKER_DIR/dockerd.log:" >&2
  tail -20 "$RUNT_DOCKER_DIR/dockerd.log" >&2
  return 1
}

# A one-layer image from the busybox rootfs: docker import of a tar stream, --change for the image config.
docker_image() {
  dockr image inspect "$RUNT_DOCKER_IMAGE" >/dev/null 2>&1 && return
  local rootfs=$RUNT_DOCKER_DIR/rootfs
  "$RUNT_DOCKER_REPO/test/fixtures/mk-rootfs.sh" "$rootfs"
  tar -C "$rootfs" -c . | dockr import --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$RUNT_DOCKER_IMAGE" >/dev/null
}

docker_stop() {
  if docker_running; then
    local ids pid i
    ids=$(dockr ps -aq 2>/dev/null) || true
    [ -z "$ids" ] || dockr rm -f $ids >/dev/null 2>&1 || true
    pid=$(cat "$RUNT_DOCKER_DIR/dockerd.pid")
    kill -TERM "$pid"
    for i in $(seq 1 100); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
    [ -d /proc/"$pid" ] && { echo "dockerd $pid still runs 10 s after SIGTERM" >&2; return 1; }
  fi
  rm -f "$RUNT_DOCKER_DIR/dockerd.pid"
}

# What a daemon killed before its stop leaves: its containerd, the containers' shims and processes (found
# by their cgroups under $RUNT_DOCKER_CGROUP), mounts (overlay2, the exec-root's netns and shm), the cgroup dirs.
docker_clean() {
  docker_stop || return 1
  local p c
  for p in $(pgrep -f "containerd --config $RUNT_DOCKER_DIR/exec/" ; pgrep -f "containerd-shim-runc-v2 .*-address $RUNT_DOCKER_DIR/"); do
    kill -KILL "$p" 2>/dev/null || true
  done
  for c in /sys/fs/cgroup/*$RUNT_DOCKER_CGROUP /sys/fs/cgroup$RUNT_DOCKER_CGROUP; do
    [ -d "$c" ] || continue
    for p in $(find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  done
  unmount_under "$RUNT_DOCKER_DIR"
  local i
  for i in $(seq 1 50); do # a killed process leaves its cgroup a moment later
    for c in /sys/fs/cgroup/*$RUNT_DOCKER_CGROUP /sys/fs/cgroup$RUNT_DOCKER_CGROUP; do
      [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    compgen -G "/sys/fs/cgroup/*$RUNT_DOCKER_CGROUP" >/dev/null || [ -d "/sys/fs/cgroup$RUNT_DOCKER_CGROUP" ] || break
    sleep 0.1
  done
  rm -rf "$RUNT_DOCKER_DIR"
}

docker_status() {
  if docker_running; then echo "running: pid $(cat "$RUNT_DOCKER_DIR/dockerd.pid"), socket $RUNT_DOCKER_SOCK"; else echo "not running"; fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-all}" in
    all) docker_start; docker_image; docker_status ;;
    start) docker_start ;;
    image) docker_image ;;
    stop) docker_stop ;;
    clean) docker_clean ;;
    status) docker_status ;;
    config) docker_config ;;
    *) echo "usage: $0 [all|start|image|stop|clean|status|config]" >&2; exit 2 ;;
  esac
fi
