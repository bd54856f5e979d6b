#!/usr/bin/env bash
# Installs every Debian 12 package Precis needs to build, test and run (idempotent).
# The CUDA toolkit is not installed here: it is used when present (nvcc on PATH or /usr/local/cuda).
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config git
      qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev libqt6sql6-sqlite
      libopenblas-dev libsqlite3-dev nlohmann-json3-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
echo "install-deps: all packages present"
