#!/usr/bin/env bash
# Headless Chromium for tests/browser: Debian's `chromium` and `chromium-driver` packages, and nothing from elsewhere
# (no downloaded browsers or drivers). Installs them with apt-get when missing: as root, or with sudo when available.
# `make browser` runs this; `make test` / `make pytest` run it first when CI=true.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  echo "browser: $(/usr/bin/chromium --version 2>/dev/null | head -1) and $(/usr/bin/chromedriver --version | head -1) are installed"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: headless Chromium is missing and this is not a Debian-like system (no apt-get)." >&2
  echo "       tests/browser needs /usr/bin/chromium and /usr/bin/chromedriver (Debian packages chromium, chromium-driver)." >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "error: headless Chromium is missing, and installing it needs root. Run as root (or install sudo), or run:" >&2
  echo "       apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver" >&2
  exit 1
fi
echo "browser: installing Debian's chromium and chromium-driver with apt-get"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "error: apt-get finished but /usr/bin/chromium or /usr/bin/chromedriver is missing (on Ubuntu, chromium is a snap:" >&2
  echo "       use a Debian image, or Debian's packages)." >&2
  exit 1
fi
echo "browser: $(/usr/bin/chromium --version 2>/dev/null | head -1) installed"
