#!/usr/bin/env bash
# podman.sh - a private podman setup that runs containers with runt, used by test/integration/podman.test.ts and
# shown in the README. Nothing is written to /etc/containers or to podman's default storage: everything lives
# under $RUNT_PODMAN_DIR, and podman is pointed at it with two environment variables.
#
# Usage: test/engines/podman.sh [setup|env|image|clean]   (default: setup)
#   setup  write $RUNT_PODMAN_DIR/containers.conf and storage.conf, import the image; prints the env lines
#   env    print `export CONTAINERS_CONF=... CONTAINERS_STORAGE_CONF=...` (eval it to use podman by hand)
#   image  build localhost/runt-busybox:latest from test/fixtures/mk-rootfs.sh's rootfs (no registry needed)
#   clean  remove every container and image of the private store, unmount it, delete $RUNT_PODMAN_DIR
# Environment:
#   RUNT_PODMAN_DIR=/var/tmp/runt-podman   config, storage, run and tmp dirs
#   RUNT=<repo>/build/runt                 the runtime podman is given as "runt"
# Sourcing the file defines the functions and runs nothing (they expect `set -eo pipefail`).
#
# Why the config says what it says:
#   * runtime_supports_json lists "runt": podman then passes --log-format=json to runt and puts the `msg` of
#     runt's last JSON log line into its own error ("OCI runtime error: runt: ..."), as it does for crun/runc.
#   * default_ulimits: podman asks for RLIMIT_NOFILE/RLIMIT_NPROC of 1048576. Raising a hard limit needs
#     CAP_SYS_RESOURCE, which root lacks on some hosts (this one): keep nofile at the caller's hard limit and
#     nproc at 32768 (podman lowers its own RLIMIT_NPROC to that at start).
#   * cgroup_manager = "cgroupfs", events_logger = "file": hosts without systemd/journald.
#   * private graphroot/runroot/tmp_dir/network_config_dir: tests neither see nor change the host's podman.
# Idempotent.
RUNT_PODMAN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$RUNT_PODMAN_REPO/test/engines/common.sh"
RUNT_PODMAN_DIR=${RUNT_PODMAN_DIR:-/var/tmp/runt-podman}
RUNT=${RUNT:-$RUNT_PODMAN_REPO/build/runt}
RUNT_PODMAN_IMAGE=localhost/runt-busybox:latest
export CONTAINERS_CONF=$RUNT_PODMAN_DIR/containers.conf
export CONTAINERS_STORAGE_CONF=$RUNT_PODMAN_DIR/storage.conf

podman_conf() {
  mkdir -p "$RUNT_PODMAN_DIR"/{storage,run,tmp,networks}
  local nofile nproc
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] && nofile=1048576
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
  cat >"$CONTAINERS_CONF.tmp" <<EOF
# Written by test/engines/podman.sh: podman with runt as an OCI runtime.
[containers]
# root without CAP_SYS_RESOURCE cannot raise a hard rlimit: stay at or below the caller's
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$RUNT_PODMAN_DIR/tmp"
# podman reads runt's errors from its --log-format=json log (the list replaces podman's own: keep its entries)
runtime_supports_json = ["crun", "runc", "kata", "runsc", "krun", "runt"]

[engine.runtimes]
runt = ["$RUNT"]

[network]
network_config_dir = "$RUNT_PODMAN_DIR/networks"
EOF
  mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
  cat >"$CONTAINERS_STORAGE_CONF.tmp" <<EOF
# Written by test/engines/podman.sh: a private image and container store.
[storage]
driver = "overlay"
graphroot = "$RUNT_PODMAN_DIR/storage"
runroot = "$RUNT_PODMAN_DIR/run"
EOF
  mv "$CONTAINERS_STORAGE_CONF.tmp" "$CONTAINERS_STORAGE_CONF"
}

podman_env() {
  echo "export CONTAINERS_CONF=$CONTAINERS_CONF CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"
}

podman_image() {
  podman image exists "$RUNT_PODMAN_IMAGE" && return
  local rootfs=$RUNT_PODMAN_DIR/rootfs
  "$RUNT_PODMAN_REPO/test/fixtures/mk-rootfs.sh" "$rootfs"
  # podman import: a one-layer image from a tar stream; --change sets the image config
  tar -C "$rootfs" -c . | podman import --quiet --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$RUNT_PODMAN_IMAGE" >/dev/null
}

podman_setup() {
  podman_conf
  podman_image
}

podman_clean() {
  [ -d "$RUNT_PODMAN_DIR" ] || return 0
  if [ -f "$CONTAINERS_CONF" ] && [ -f "$CONTAINERS_STORAGE_CONF" ]; then
    podman rm --all --force --time 0 >/dev/null 2>&1 || true
    podman rmi --all --force >/dev/null 2>&1 || true
  fi
  # the overlay driver keeps its home (and any container's rootfs) mounted: unmount before deleting
  unmount_under "$RUNT_PODMAN_DIR"
  rm -rf "$RUNT_PODMAN_DIR"
  # podman passes runt no --root: runt's own default
  forget_runt_root /run/runt
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-setup}" in
    setup) podman_setup; podman_env ;;
    env) podman_env ;;
    image) podman_image ;;
    clean) podman_clean ;;
    *) echo "usage: $0 [setup|env|image|clean]" >&2; exit 2 ;;
  esac
fi
