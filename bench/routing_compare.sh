#!/usr/bin/env bash
# The routings written in Lua, side by side in one run: (1) a whole CapsNet
# training step with dynamic routing in Lua against the fused C kernel;
# (2) each routing alone against its PyTorch peer (bench/routing_torch.py).
#   bash bench/routing_compare.sh [THREADS] [BATCHES] [STEPS]   (default: all cores, 32,128, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}; batches=${2:-32,128}; steps=${3:-5}
python=${CAPSRUN_PYTHON:-/usr/bin/python3}
echo "# $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo none), $(lscpu | sed -n 's/^Model name: *//p')"
c=$(build/capsrun bench/bench.lua --threads "$threads" --batches "$batches" --steps "$steps" --routing dynamic)
l=$(build/capsrun bench/bench.lua --threads "$threads" --batches "$batches" --steps "$steps" --routing dynamic-lua)
echo "$c" | grep -E "^batch|capsrun bench"; echo "$l" | grep -E "^batch|capsrun bench"
for b in ${batches//,/ }; do
  a=$(echo "$c" | sed -n "s/^batch *$b: train \([0-9.]*\).*/\1/p")
  t=$(echo "$l" | sed -n "s/^batch *$b: train \([0-9.]*\).*/\1/p")
  awk -v b="$b" -v a="$a" -v t="$t" 'BEGIN { printf "batch %3d: training step with dynamic routing in Lua / C kernel = %.2fx the time\n", b, a / t }'
done
for b in ${batches//,/ }; do
  for r in dynamic-lua self-attention inverted-dot; do
    ours=$(build/capsrun bench/routing_bench.lua "$r" "$threads" "$b" "$steps")
    peer=${r%-lua}
    theirs=$("$python" bench/routing_torch.py bench "$peer" "$threads" "$b" "$steps")
    echo "$ours"; echo "$theirs"
    awk -v r="$r" -v b="$b" -v a="$(echo "$ours" | sed 's/.*: \([0-9.]*\) ms.*/\1/')" \
        -v t="$(echo "$theirs" | sed 's/.*: \([0-9.]*\) ms.*/\1/')" \
        'BEGIN { printf "batch %3d: %s routing, pytorch / capsrun time = %.2fx\n", b, r, t / a }'
  done
  echo "$(build/capsrun bench/routing_bench.lua dynamic "$threads" "$b" "$steps") (the fused C kernel)"
done
