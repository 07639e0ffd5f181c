#!/usr/bin/env bash
# Install what the project needs on a fresh Debian/Ubuntu machine (or any machine with pip).
#   bash scripts/install.sh          # measuring, rendering, the site
#   bash scripts/install.sh --dev    # the same, plus pytest, Playwright and Chromium for the tests
# System packages (Chinese fonts for the charts; Chromium for the browser tests) are installed
# with apt-get when running as root; otherwise the script says what is missing and goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0; [ "${1:-}" = "--dev" ] && dev=1

pkgs=()
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || pkgs+=(fonts-noto-cjk)
[ $dev = 1 ] && [ ! -x /usr/bin/chromium ] && pkgs+=(chromium)
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install.sh: apt-get install ${pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  else
    echo "install.sh: please install ${pkgs[*]} (charts fall back to English labels without CJK fonts)" >&2
  fi
fi

req=requirements.txt; [ $dev = 1 ] && req=requirements-dev.txt
python3 -m pip install -q --disable-pip-version-check -r "$req"
