#!/usr/bin/env bash
# Runs a shell command inside the Swift chroot with /proc mounted (Swift needs it),
# unmounting on the way out whatever happens; exits with the command's status.
set -euo pipefail
root="${CARESPACE_CACHE:-$HOME/.cache/carespace}/swift-trixie"
[ -f "$root/.carespace-ready" ] || { echo "in-swift-chroot.sh: run provision/swift.sh first" >&2; exit 1; }
unmount() { umount "$root/proc" 2> /dev/null || true; }
trap unmount EXIT
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
chroot "$root" /bin/bash -o pipefail -c "$1"
