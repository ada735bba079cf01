#!/usr/bin/env bash
# setup.sh: installs the Debian packages moe.cpp builds with (only those missing),
# then configures and builds into build/ (or $MOE_BUILD_DIR).
# Usage: scripts/setup.sh [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  libopenblas-openmp-dev   # GEMM; the OpenMP build, linked explicitly (see CMakeLists.txt)
  libcli11-dev nlohmann-json3-dev libfmt-dev
  libsentencepiece-dev     # BPE tokenizer training and encoding
  libpng-dev               # heatmap images (moe report)
  zlib1g-dev               # gzip-compressed IDX files (MNIST-style datasets)
  libcpp-httplib-dev       # moe serve
  libjemalloc-dev          # malloc for the tape's many small objects (CMake MOE_JEMALLOC)
  dataset-fashion-mnist    # Fashion-MNIST IDX files under /usr/share/datasets/fashion-mnist
  hershey-fonts-data       # Hershey stroke fonts: the few-shot glyph classes
  libgtest-dev libbenchmark-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR="${MOE_BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C "$BUILD_DIR" -j "$(nproc)"
