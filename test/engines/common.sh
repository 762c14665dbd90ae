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
