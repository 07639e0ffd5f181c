#!/usr/bin/env bash
# Install what the project needs into its own virtual environment, .venv/, on a fresh
# Debian/Ubuntu machine (or any machine with Python 3.10+):
#   bash scripts/install.sh          # measuring, rendering, the site
#   bash scripts/install.sh --dev    # the same, plus pytest, Playwright, Chromium and, from npm
#                                    # into node_modules/, axe-core and pdf.js for the browser tests
# Then run everything with .venv/bin/python. A virtual environment, because a distribution's
# own Python refuses pip installs (PEP 668) and because the project's pins should not touch
# the system. System packages (Chinese fonts for the charts; Chromium for the browser tests;
# python3-venv where it is missing) are installed with apt-get when running as root;
# otherwise the script says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0; [ "${1:-}" = "--dev" ] && dev=1

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install.sh: apt-get install $*"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "install.sh: please install $* (as root: apt-get install $*)" >&2
    return 1
  fi
}

pkgs=()
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || pkgs+=(fonts-noto-cjk)
[ $dev = 1 ] && [ ! -x /usr/bin/chromium ] && pkgs+=(chromium)
[ $dev = 1 ] && ! command -v npm >/dev/null && pkgs+=(npm)
if [ ${#pkgs[@]} -gt 0 ]; then
  apt_install "${pkgs[@]}" || echo "install.sh: going on; charts fall back to English labels without CJK fonts" >&2
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv 2>/dev/null || {
    rm -rf .venv
    apt_install python3-venv && python3 -m venv .venv
  }
fi
req=requirements.txt; [ $dev = 1 ] && req=requirements-dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
if [ $dev = 1 ]; then
  # package-lock.json pins them; nothing optional (pdf.js's canvas for node is not needed:
  # the tests run pdf.js inside Chromium)
  npm ci --no-audit --no-fund --omit=optional --loglevel=error
fi
echo "install.sh: ready; run with .venv/bin/python"
