#!/usr/bin/env bash
# common.sh - what the engine set-ups of this folder share (sourced by podman.sh, containerd.sh, docker.sh).

# Unmounts (lazily, deepest first) everything mounted under DIR: what an engine's storage driver or a daemon
# killed before its stop left behind (overlay homes, snapshots, containers' root filesystems, netns files).
unmount_under() {
  local m
  for m in $(awk -v d="$1" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
}

# Removes what runt keeps in a state root that an engine chose on the host (ffi-rs's binding and the shim's
# executable, src/sys/kept.ts), then the root itself if that leaves it empty: an engine's tests and bench runs
# leave the host's roots as they found them (the files are a cache: the next call writes them again).
forget_runt_root() {
  rm -f "$1"/~ffi-rs-*.node "$1"/~runt-shim-*
  rmdir "$1" 2>/dev/null || true
}
