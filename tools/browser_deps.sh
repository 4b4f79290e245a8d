#!/usr/bin/env bash
# The board's browser specs need Debian's chromium, Node.js and npm, and
# puppeteer-core (npm, the version pinned in spec/browser/package-lock.json).
# Installs what is missing; never needed to build or run capsrun itself.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs=(chromium)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  if [ "$p" = chromium ] && [ -x /usr/bin/chromium ]; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "capsrun: installing ${missing[*]} (the board's browser specs)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -d spec/browser/node_modules/puppeteer-core ]; then
  echo "capsrun: npm ci in spec/browser (puppeteer-core)"
  # puppeteer-core downloads no browser: the system's chromium is used
  (cd spec/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
