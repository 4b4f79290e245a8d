#!/usr/bin/env bash
# capsrun's MatrixCapsNet against its PyTorch peer (bench/matcaps_torch.py),
# side by side in one run, same threads, batches and model: prints both and
# the training-throughput ratio.
#   bash bench/em_compare.sh [THREADS] [BATCHES] [STEPS]     (default: all cores, 32, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}; batches=${2:-32}; steps=${3:-5}
python=${CAPSRUN_PYTHON:-/usr/bin/python3}
echo "# $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo none), $(lscpu | sed -n 's/^Model name: *//p')"
ours=$(build/capsrun bench/em_bench.lua --threads "$threads" --batches "$batches" --steps "$steps")
echo "$ours"
theirs=$("$python" bench/matcaps_torch.py bench "$threads" "$batches" "$steps" 2>/dev/null)
echo "$theirs"
for b in ${batches//,/ }; do
  a=$(echo "$ours" | sed -n "s/^batch *$b: train \([0-9.]*\).*/\1/p")
  t=$(echo "$theirs" | sed -n "s/^batch *$b: train \([0-9.]*\).*/\1/p")
  awk -v b="$b" -v a="$a" -v t="$t" 'BEGIN { printf "batch %3d: capsrun / pytorch EM training throughput = %.2fx\n", b, a / t }'
done
