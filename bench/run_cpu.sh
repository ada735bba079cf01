#!/usr/bin/env bash
# bench/run_cpu.sh: the CPU speed benchmarks of BENCHMARKS.md / the README's Performance
# table (issue 8), on an existing build (default build/; MOE_BUILD_DIR to change), in
# the default environment. Each command's JSON summary is its last line; the log goes
# to stdout. Takes about two minutes on the 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
MOE="${MOE_BUILD_DIR:-build}/moe"
[ -x "$MOE" ] || { echo "run_cpu.sh: $MOE not found: build first (scripts/setup.sh)" >&2; exit 1; }
echo "== $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) CPUs  load $(cut -d' ' -f1-3 /proc/loadavg)"
"$MOE" --version
"$MOE" --threads 2 bench train --config configs/noisy_topk_char_lm.json --steps 30 --scaling --json
"$MOE" --threads 1 bench ops --json
"$MOE" --threads 1 bench small --steps 2000 --json
"$MOE" --threads 2 bench small --steps 2000 --json
"$MOE" --threads 2 bench generate --json
echo "== done $(date -u '+%H:%M UTC')  load $(cut -d' ' -f1-3 /proc/loadavg)"
