#!/usr/bin/env bash
# capsrun against the PyTorch reference, side by side in one run, same
# threads and batches: prints both and the training-throughput ratio.
#   bash bench/compare.sh [THREADS] [BATCHES] [STEPS]     (default: all cores, 32,64,128, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}; batches=${2:-32,64,128}; steps=${3:-5}
python=${CAPSRUN_PYTHON:-/usr/bin/python3}
echo "# $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo none), $(lscpu | sed -n 's/^Model name: *//p')"
ours=$(build/capsrun bench/bench.lua --threads "$threads" --batches "$batches" --steps "$steps")
echo "$ours"
theirs=$("$python" bench/capsnet_torch.py bench "$threads" "$batches" "$steps")
echo "$theirs"
for b in ${batches//,/ }; do
  a=$(echo "$ours" | sed -n "s/^batch *$b: train \([0-9.]*\).*/\1/p")
  t=$(echo "$theirs" | sed -n "s/^batch *$b: train \([0-9.]*\).*/\1/p")
  awk -v b="$b" -v a="$a" -v t="$t" 'BEGIN { printf "batch %3d: capsrun / pytorch training throughput = %.2fx\n", b, a / t }'
done
# where the CPU runs bf16 natively, the bf16 path beside the f32 one, same run
if [ "$(build/capsrun -e 'io.write(capsrun.blas_info().native_bf16 and select(3, capsrun.precision()) and "yes" or "no")')" = yes ]; then
  bf=$(build/capsrun bench/bench.lua --threads "$threads" --batches "$batches" --steps "$steps" --precision bf16)
  echo "$bf"
  for b in ${batches//,/ }; do
    a=$(echo "$ours" | sed -n "s/^batch *$b: train \([0-9.]*\).*/\1/p")
    h=$(echo "$bf" | sed -n "s/^batch *$b: train \([0-9.]*\).*/\1/p")
    t=$(echo "$theirs" | sed -n "s/^batch *$b: train \([0-9.]*\).*/\1/p")
    awk -v b="$b" -v a="$a" -v h="$h" -v t="$t" 'BEGIN { printf "batch %3d: capsrun bf16 / capsrun f32 = %.2fx, bf16 / pytorch = %.2fx\n", b, h / a, h / t }'
  done
fi
