#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every busted
# spec inside the capsrun host (so the real host is tested too), and ends
# with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh || exit 1
bash tools/build.sh || exit 1
log=$(mktemp)
CAPSRUN_BIN="$PWD/build/capsrun" build/capsrun /usr/bin/busted -o utfTerminal "$@" spec 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
line=$(grep -aE '[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors?' "$log" | tail -1 | sed 's/\x1b\[[0-9;]*m//g')
rm -f "$log"
if [ -z "$line" ]; then echo "busted printed no totals"; echo "0 passed, 1 failed"; exit 1; fi
passed=$(echo "$line" | grep -oE '[0-9]+ success' | grep -oE '[0-9]+')
failures=$(echo "$line" | grep -oE '[0-9]+ failure' | grep -oE '[0-9]+')
errors=$(echo "$line" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+')
echo "$passed passed, $((failures + errors)) failed"
[ "$rc" -eq 0 ] && [ $((failures + errors)) -eq 0 ]
