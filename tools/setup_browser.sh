#!/usr/bin/env bash
# Installs what the dashboard's browser test needs on a fresh Debian 12:
# Node.js, npm and Chromium from apt, and playwright-core from npm into
# tests/browser/node_modules (ignored by git). Safe to run again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup_browser: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ! -d "$root/tests/browser/node_modules/playwright-core" ]; then
  echo "setup_browser: installing playwright-core"
  (cd "$root/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
