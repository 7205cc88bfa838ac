#!/usr/bin/env bash
# Installs Debian's chromium if missing (idempotent): the headless browser the `carespace
# audit timeline` test renders its picture in, as an IG lead's browser would.
set -euo pipefail
if ! command -v chromium > /dev/null; then
  echo "installing Debian's chromium (headless rendering of the audit timeline)" >&2
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium > /dev/null
fi
chromium --version > /dev/null
