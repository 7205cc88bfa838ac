#!/usr/bin/env bash
# Provisions Swift for the uniffi Swift tests: Debian bookworm has no Swift, so a
# Debian trixie chroot with `swiftlang` is built once under the cache and reused
# (a ready-stamp marks it complete). Idempotent; fails loudly if it cannot be had.
set -euo pipefail

cache="${CARESPACE_CACHE:-$HOME/.cache/carespace}"
root="$cache/swift-trixie"
stamp="$root/.carespace-ready"
[ -f "$stamp" ] && exit 0

# The mirror this machine's own apt uses (deb822 or one-line format).
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || { echo "provision/swift.sh: no Debian mirror found in /etc/apt" >&2; exit 1; }

if ! command -v debootstrap > /dev/null; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap > /dev/null
fi

mkdir -p "$root"
if [ ! -x "$root/usr/bin/apt-get" ]; then
  echo "provision/swift.sh: debootstrap trixie into $root (about a minute)"
  debootstrap --variant=minbase trixie "$root" "$mirror" > "$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
fi

unmount() { umount "$root/proc" 2> /dev/null || true; }
trap unmount EXIT
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
echo "provision/swift.sh: installing swiftlang in the chroot (a few minutes, once)"
chroot "$root" apt-get -o Dpkg::Use-Pty=0 update -qq
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends swiftlang libc6-dev > /dev/null
chroot "$root" apt-get clean
chroot "$root" swift --version > /dev/null
touch "$stamp"
