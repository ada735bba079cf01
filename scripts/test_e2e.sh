#!/usr/bin/env bash
# test_e2e.sh: the browser end-to-end tests of moe serve's web UI (tests/e2e/*.test.mjs):
# each trains a tiny checkpoint, starts `moe serve` on a free port, drives headless
# chromium through the page with playwright-core, takes a screenshot and stops the server.
# Runs scripts/setup_e2e.sh first and builds build/moe (or $MOE_BUILD_DIR/moe) if needed.
# Exits non-zero when a test fails.
#
# Usage: scripts/test_e2e.sh [--screenshots]
#   screenshots go to build/e2e/, or with --screenshots to docs/screenshots/ (the README's).
#   E2E_LM_RUN=RUN_DIR (a run with checkpoint/ and metrics.jsonl) and
#   E2E_CLASSIFIER_CHECKPOINT=DIR serve those instead of the tiny models.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
start=$(date +%s)

export E2E_SCREENSHOTS="$ROOT/build/e2e"
case "${1:-}" in
  --screenshots) E2E_SCREENSHOTS="$ROOT/docs/screenshots" ;;
  "") ;;
  *) echo "usage: scripts/test_e2e.sh [--screenshots]" >&2; exit 2 ;;
esac

scripts/setup_e2e.sh
BUILD_DIR="${MOE_BUILD_DIR:-build}"
if [ -f "$BUILD_DIR/build.ninja" ]; then
  ninja -C "$BUILD_DIR" -j "$(nproc)" moe
else
  scripts/setup.sh
fi
export MOE_BIN="$ROOT/$BUILD_DIR/moe"
export E2E_WORK="$ROOT/build/e2e/work"
mkdir -p "$E2E_WORK" "$E2E_SCREENSHOTS"

cd tests/e2e
status=0
node --test --test-concurrency=1 --test-reporter=spec ./*.test.mjs || status=$?
[ $status -ne 0 ] || rm -rf "$E2E_WORK"  # kept after a failure, to look at
echo "e2e: $( [ $status -eq 0 ] && echo passed || echo FAILED ) in $(( $(date +%s) - start )) s; screenshots in $E2E_SCREENSHOTS"
exit $status
