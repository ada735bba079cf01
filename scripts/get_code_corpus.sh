#!/usr/bin/env bash
# get_code_corpus.sh: gathers a Python source-code corpus for the BPE language models as
# data/python_stdlib.txt (data/ is git-ignored): the Python 3.11 standard library's .py
# files as Debian 12 ships them, no network beyond apt-get.
#
# Which files: those that the packages libpython3.11-minimal and libpython3.11-stdlib
# install under /usr/lib/python3.11 (asked of dpkg, so files that other packages add
# there -- distutils, lib2to3, tkinter, idlelib -- never change the corpus), without any
# test/, tests/, idle_test/, site-packages/ or dist-packages/ directory, and capped to
# the top-level modules (os.py, typing.py, ...) plus the packages in $PACKAGES below:
# 5,404,455 bytes, 215 files with 3.11.2-6+deb12u6. Order: LC_ALL=C sort of the paths
# relative to /usr/lib/python3.11. Each file is preceded by a line "# file: <path>" and
# ends with a newline.
#
# Installs libpython3.11-stdlib with apt-get when /usr/lib/python3.11 is missing.
# Idempotent: the corpus is rebuilt in a temp file and replaces data/python_stdlib.txt
# only when it differs. Prints size, file count, sha256 and the package version.
# Usage: scripts/get_code_corpus.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=/usr/lib/python3.11
OUT=data/python_stdlib.txt
PACKAGES=(collections concurrent importlib json logging re)
DEB_PACKAGES=(libpython3.11-minimal libpython3.11-stdlib)

if [ ! -d "$ROOT" ] || ! dpkg-query -W -f='${Status}' libpython3.11-stdlib 2>/dev/null | grep -q "install ok installed"; then
  echo "get_code_corpus: installing libpython3.11-stdlib"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libpython3.11-stdlib >/dev/null
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

package_pattern="$(IFS='|'; echo "${PACKAGES[*]}")"
dpkg -L "${DEB_PACKAGES[@]}" |
  sed -n "s|^$ROOT/||p" |
  grep -E '\.py$' |
  grep -Ev '(^|/)(test|tests|idle_test|site-packages|dist-packages)/' |
  grep -E "^([^/]+|($package_pattern)/.+)\$" |
  LC_ALL=C sort -u >"$TMP/files"

count=0
: >"$TMP/corpus"
while IFS= read -r rel; do
  [ -f "$ROOT/$rel" ] || { echo "get_code_corpus: dpkg lists $ROOT/$rel but it is missing" >&2; exit 1; }
  printf '# file: %s\n' "$rel" >>"$TMP/corpus"
  cat "$ROOT/$rel" >>"$TMP/corpus"
  [ -z "$(tail -c 1 "$ROOT/$rel")" ] || printf '\n' >>"$TMP/corpus"  # end every file with a newline
  count=$((count + 1))
done <"$TMP/files"
[ "$count" -gt 0 ] || { echo "get_code_corpus: no files found under $ROOT" >&2; exit 1; }

mkdir -p data
if [ -f "$OUT" ] && cmp -s "$TMP/corpus" "$OUT"; then
  state="unchanged"
else
  cp "$TMP/corpus" "$OUT.tmp"  # then a same-filesystem rename: no torn $OUT
  mv "$OUT.tmp" "$OUT"
  state="wrote"
fi
version="$(dpkg-query -W -f='${Version}' libpython3.11-stdlib)"
echo "get_code_corpus: $state $OUT: $(stat -c %s "$OUT") bytes, $count files" \
     "(libpython3.11-stdlib $version), sha256 $(sha256sum "$OUT" | cut -d' ' -f1)"
