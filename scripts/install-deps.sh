#!/usr/bin/env bash
# Installs the Debian packages volta needs to build, test and benchmark.
# Idempotent: apt-get is called only for packages that are missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev sqlite3 libzstd-dev libjansson-dev zlib1g-dev
  libpcre2-dev libxxhash-dev libsodium-dev
  libcmocka-dev
  python3 python3-pytest python3-requests python3-influxdb
  influxdb influxdb-client
  curl procps wrk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# influxdb's package starts a system service on install where an init system runs; volta's tests
# start their own influxd with a temporary config, so a policy-rc.d keeps the package from starting one.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
