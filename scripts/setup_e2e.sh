#!/usr/bin/env bash
# setup_e2e.sh: what the browser end-to-end tests need: Debian's chromium and nodejs/npm
# (installed with apt-get when missing, as scripts/setup.sh installs its packages), and
# playwright-core from npm into tests/e2e/node_modules (`npm ci`: exactly the versions of
# tests/e2e/package-lock.json; skipped when that lock file is already installed).
# Usage: scripts/setup_e2e.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# Checked by command, not by package: node and npm may come from a nodejs package that
# bundles npm (NodeSource's), where Debian's separate npm package would conflict.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup_e2e: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cd tests/e2e
STAMP=node_modules/.installed-package-lock.json
if ! cmp -s package-lock.json "$STAMP" 2>/dev/null; then
  echo "setup_e2e: npm ci in tests/e2e"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$STAMP"
fi
