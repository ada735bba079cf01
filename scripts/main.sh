#!/usr/bin/env bash
# main.sh: sets up (installs what is missing, builds) and runs the main job.
# Until the language-model issue lands, the main job is the foundation's demo: a
# 2-layer MLP trained on generated spirals, printing its loss as it falls.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
"${MOE_BUILD_DIR:-build}/moe" --version
"${MOE_BUILD_DIR:-build}/moe" train "$@"
