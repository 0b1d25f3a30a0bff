#!/usr/bin/env bash
# Installs the system Chromium the browser tests drive (`@anfang/testing/chromium`: playwright-core
# with executablePath /usr/bin/chromium), when it is missing. Idempotent: a machine that has it
# returns at once. Debian/Ubuntu (apt) only; needs root or passwordless sudo.
set -euo pipefail

CHROMIUM="${ANFANG_CHROMIUM:-/usr/bin/chromium}"
# The dashboard is Chinese by default: without a CJK font the screenshots show empty boxes.
has_cjk_font() { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; }
if [ -x "$CHROMIUM" ] && has_cjk_font; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM or a CJK font is missing and this machine has no apt-get; install Chromium (set ANFANG_CHROMIUM) and a CJK font" >&2
  exit 1
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    echo "ensure-chromium: $CHROMIUM or a CJK font is missing; run as root: apt-get install -y chromium fonts-noto-cjk" >&2
    exit 1
  fi
fi

echo "ensure-chromium: installing chromium and fonts-noto-cjk with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# Debian names the package chromium; Ubuntu's chromium is a snap shim, so prefer Debian's name
# and fail loudly rather than install something that cannot run headless in CI.
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >&2
if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get installed chromium but $CHROMIUM is still missing" >&2
  exit 1
fi
