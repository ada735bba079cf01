#!/usr/bin/env bash
# get_sentiment_data.sh: installs the labelled sentences of the npm package
# `sentiment` (5.0.2, MIT), its test fixtures, as data/sentiment/{imdb,yelp,amazon}.json
# (1,001 entries each): JSON arrays of
# {"text": ..., "class": 0 | 1 | null} (0 negative, 1 positive; one null per file,
# which the loader skips). Fetched with `npm pack` -- npm is the only network access.
#
# Idempotent: when the three files are present with the expected sha256 nothing is
# downloaded. Installs nodejs/npm with apt-get when npm is missing.
# Usage: scripts/get_sentiment_data.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE="sentiment@5.0.2"
OUT="data/sentiment"
declare -A SHA256=(
  [imdb]=44a7b9082ed732ee2de3c858ea5ee2e99aca34f239a1c4359d3a300bf099bdb5
  [yelp]=9f3f47983f21eeb819380767b74bfa648eca208f156241111454b3e122773ff7
  [amazon]=bc5eb0cac49fc45987301f1dc2d02cf5ca356ba6c882be179dce77d74e666ed9
)

have_expected() {
  for f in "${!SHA256[@]}"; do
    [ -f "$OUT/$f.json" ] || return 1
    [ "$(sha256sum "$OUT/$f.json" | cut -d' ' -f1)" = "${SHA256[$f]}" ] || return 1
  done
}

if have_expected; then
  echo "get_sentiment_data: $OUT/{imdb,yelp,amazon}.json are present (sha256 ok)"
  exit 0
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
. "$(dirname "$0")/npm_pack.sh"
npm_pack get_sentiment_data "$PACKAGE" "$TMP"
mkdir -p "$OUT"
for f in "${!SHA256[@]}"; do
  src="$TMP/package/test/fixtures/$f.json"
  [ -f "$src" ] || { echo "get_sentiment_data: $PACKAGE has no test/fixtures/$f.json" >&2; exit 1; }
  sha=$(sha256sum "$src" | cut -d' ' -f1)
  if [ "$sha" != "${SHA256[$f]}" ]; then
    echo "get_sentiment_data: $f.json has sha256 $sha, expected ${SHA256[$f]}" >&2
    exit 1
  fi
  cp "$src" "$OUT/$f.json.tmp"
  mv "$OUT/$f.json.tmp" "$OUT/$f.json"
done
echo "get_sentiment_data: wrote $OUT/{imdb,yelp,amazon}.json (3 x 1,000 labelled sentences)"
