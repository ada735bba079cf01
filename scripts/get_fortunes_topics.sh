#!/usr/bin/env bash
# get_fortunes_topics.sh: real topic-labelled short texts for NeuroShard, from Debian's
# `fortunes` package (installed with apt-get when missing): the fortunes of four topic
# files (love, food, sports, science), each flattened to one line, the first 200 of each
# file in file order, every 5th one held out for test. Writes data/fortunes/{train,test}.tsv
# ("topic<TAB>text"), the format of datasets/neuroshard/.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=/usr/share/games/fortunes
TOPICS=(love food sports science)
if [ ! -f "$SRC/love" ]; then
  echo "get_fortunes_topics: installing Debian's fortunes"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends fortunes >/dev/null
fi
mkdir -p data/fortunes
: > data/fortunes/train.tsv
: > data/fortunes/test.tsv
for t in "${TOPICS[@]}"; do
  # Fortunes are separated by lines holding a single '%'; tabs and newlines become spaces.
  awk -v topic="$t" -v train=data/fortunes/train.tsv -v test=data/fortunes/test.tsv '
    function flush() {
      gsub(/[\t ]+/, " ", text); sub(/^ /, "", text); sub(/ $/, "", text)
      if (text != "" && n < 200) { n++; print topic "\t" text >> (n % 5 == 0 ? test : train) }
      text = ""
    }
    /^%$/ { flush(); next }
    { text = text " " $0 }
    END { flush() }' "$SRC/$t"
done
echo "get_fortunes_topics: data/fortunes/train.tsv $(wc -l < data/fortunes/train.tsv) texts, test.tsv $(wc -l < data/fortunes/test.tsv) texts ($(dpkg-query -W -f='${Version}' fortunes))"
