#!/usr/bin/env bash
# apt-get.sh ARGS...: apt-get ARGS, waiting up to 10 minutes for another apt or dpkg (unattended-upgrades, a
# second CI job) to finish instead of failing at once. apt-get waits for the dpkg lock itself when told to
# (DPkg::Lock::Timeout); for the lists lock `update` takes it does not (apt 2.6), so an apt-get that failed on
# that lock is run again until the deadline.
set -uo pipefail
wait_s=600
deadline=$((SECONDS + wait_s))
err=$(mktemp -t runt-apt-get.XXXXXX)
trap 'rm -f "$err"' EXIT
while :; do
  apt-get -o "DPkg::Lock::Timeout=$wait_s" "$@" 2>"$err"
  status=$?
  if [ "$status" -eq 0 ] || ! grep -q '^E: Could not get lock /var/lib/apt/lists/lock' "$err" || [ "$SECONDS" -ge "$deadline" ]; then
    cat "$err" >&2
    exit "$status"
  fi
  sleep 2
done
