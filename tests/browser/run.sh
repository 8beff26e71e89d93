#!/usr/bin/env bash
# meson's browser test: runs dashboard_test.mjs with Debian's Chromium and
# playwright-core (installed here by tools/setup_browser.sh). Exits 77
# (skipped) only when Chromium, node or playwright-core are missing and
# cannot be installed on this machine.
#   run.sh OBSERVED_NODE SCREENSHOT_PATH
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if ! command -v node >/dev/null || [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ] \
   || [ ! -d "$here/node_modules/playwright-core" ]; then
  bash "$root/tools/setup_browser.sh" >&2 || true
fi
if ! command -v node >/dev/null; then
  echo "SKIP: node is not installed and could not be (apt-get install nodejs npm)" >&2
  exit 77
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "SKIP: Chromium is not installed and could not be (apt-get install chromium)" >&2
  exit 77
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "SKIP: playwright-core is not installed and could not be (npm install in $here)" >&2
  exit 77
fi
exec node "$here/dashboard_test.mjs" "$@"
