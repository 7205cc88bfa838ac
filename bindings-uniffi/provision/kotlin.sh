#!/usr/bin/env bash
# Provisions Kotlin for the uniffi Kotlin tests: the JVM compiler from the npm package
# `kotlin-compiler` (its tarball holds bin/kotlinc and lib/*.jar, kotlin-test included),
# unpacked once under the cache, and JNA and JUnit 4 from Debian. Idempotent.
set -euo pipefail

cache="${CARESPACE_CACHE:-$HOME/.cache/carespace}"
version="2.4.20"
dir="$cache/kotlin-$version"

if [ ! -x "$dir/package/bin/kotlinc" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "kotlin-compiler@$version" > /dev/null && tar xzf "kotlin-compiler-$version.tgz")
  chmod +x "$dir"/package/bin/*
fi

missing=""
for pkg in libjna-java junit4; do
  dpkg -s "$pkg" > /dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq $missing > /dev/null
fi
test -f /usr/share/java/jna.jar && test -f /usr/share/java/junit4.jar
"$dir/package/bin/kotlinc" -version > /dev/null 2>&1
