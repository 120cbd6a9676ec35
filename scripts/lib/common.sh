# Shared by scripts/run, scripts/test and scripts/bench: installs the Debian
# packages wsgate needs when any is missing, and builds one configuration.
# Source it; do not run it.

WSGATE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Packages to build and run the gateway (openssl makes scripts/run's
# throw-away certificate).
WSGATE_BUILD_DEPS=(build-essential cmake pkg-config libuv1-dev libssl-dev libyaml-cpp-dev
  libspdlog-dev libgtest-dev libgmock-dev node-llhttp libcli11-dev zlib1g-dev nlohmann-json3-dev libhiredis-dev
  openssl)
# Packages the tests use: real clients (chromium: a browser's permessage-deflate),
# fuzzing compiler, man page linter, prometheus (promtool and a real scraper).
WSGATE_TEST_DEPS=(python3 python3-websockets python3-pytest nodejs npm openssl curl websockify
  clang libclang-rt-dev mandoc libbenchmark-dev procps systemd logrotate websocketd
  redis-server python3-redis chromium prometheus)

# install_debs PKG...: apt-get installs the packages not yet installed.
install_debs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  # Node comes from NodeSource on some machines and from Debian on others;
  # either provides node and npm, so do not fight over the package names.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    local keep=()
    for p in "${missing[@]}"; do [[ $p == nodejs || $p == npm ]] || keep+=("$p"); done
    missing=("${keep[@]}")
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build_wsgate DIR [CMAKE_ARGS...]: configures and builds into DIR.
build_wsgate() {
  local dir=$1
  shift
  cmake -S "$WSGATE_ROOT" -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
}

# make_dev_certificate DIR: writes DIR/localhost.crt and DIR/localhost.key, a
# self-signed ECDSA P-256 certificate for localhost and 127.0.0.1 valid for
# 90 days, unless a certificate there is still valid for another day. For
# trying wss:// on this machine only: nothing trusts it.
make_dev_certificate() {
  local dir=$1
  if [ -f "$dir/localhost.crt" ] && [ -f "$dir/localhost.key" ] &&
    openssl x509 -checkend 86400 -noout -in "$dir/localhost.crt" >/dev/null 2>&1; then
    return 0
  fi
  mkdir -p "$dir"
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/localhost.key" -out "$dir/localhost.crt" 2>/dev/null)
  echo "made a self-signed certificate for localhost in $dir (90 days)"
}
