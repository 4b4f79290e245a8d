#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every busted
# spec inside the capsrun host (so the real host is tested too), and ends
# with "N passed, N failed". Pending specs are counted on the line before it;
# under CI=true a pending spec fails the run (counted as failed).
set -uo pipefail
cd "$(dirname "$0")/.."
WITH_TORCH=1 bash tools/deps.sh || exit 1   # the PyTorch reference specs are part of the suite
bash tools/browser_deps.sh || exit 1        # chromium and puppeteer-core for the board's browser spec
bash tools/build.sh || exit 1
log=$(mktemp)
CAPSRUN_BIN="$PWD/build/capsrun" build/capsrun /usr/bin/busted -o utfTerminal "$@" spec 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
line=$(grep -aE '[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' "$log" | tail -1 | sed 's/\x1b\[[0-9;]*m//g')
rm -f "$log"
if [ -z "$line" ]; then echo "busted printed no totals"; echo "0 passed, 1 failed"; exit 1; fi
passed=$(echo "$line" | grep -oE '[0-9]+ success' | grep -oE '[0-9]+')
failures=$(echo "$line" | grep -oE '[0-9]+ failure' | grep -oE '[0-9]+')
errors=$(echo "$line" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+')
pending=$(echo "$line" | grep -oE '[0-9]+ pending' | grep -oE '[0-9]+')
failed=$((failures + errors))
echo "$pending pending"
if [ "${CI:-}" = "true" ] && [ "$pending" -gt 0 ]; then
  echo "CI=true: a pending spec is a failure"
  failed=$((failed + pending))
fi
echo "$passed passed, $failed failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]
