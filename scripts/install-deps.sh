#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and running itmo-ledger needs, starting from a
# minimal Debian 12 with no compiler. Idempotent, non-interactive; uses sudo when not root.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang clang-format
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libsodium-dev libabsl-dev libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  libtomlplusplus-dev libspdlog-dev
  python3 procps iproute2 nftables curl
  python3-grpcio python3-grpc-tools python3-nacl python3-protobuf
  spin
)
# clients/typescript: Debian nodejs and npm, unless a node with npm is already there (e.g. NodeSource's
# nodejs, which bundles npm and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo" >&2; exit 1; }
  SUDO=(sudo)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
