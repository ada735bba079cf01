#!/usr/bin/env bash
# test.sh: sets up (installs what is missing, builds) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh "$@"
cd "${MOE_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)"
