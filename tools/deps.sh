#!/usr/bin/env bash
# Installs the Debian packages capsrun needs, when they are missing.
# python3-torch (the reference specs and the benchmark) and lua-check (the
# lint spec) are never dependencies of capsrun itself: installed when CI=true
# or WITH_TORCH=1.
set -euo pipefail
pkgs=(build-essential cmake pkg-config lua5.4 liblua5.4-dev lua-busted libopenblas-dev libopenblas0-openmp
      libpng-dev libjpeg62-turbo-dev libmicrohttpd-dev libjs-chart.js zlib1g-dev libreadline-dev libcurl4-openssl-dev libcairo2-dev gzip openmpi-bin libopenmpi-dev
      libdnnl-dev)   # oneDNN: optional at build time (bf16 and faster f32 GEMMs), installed by default
if [ "${CI:-}" = "true" ] || [ "${WITH_TORCH:-0}" = "1" ]; then pkgs+=(python3-torch python3-numpy lua-check); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "capsrun: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
