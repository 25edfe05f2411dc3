#!/usr/bin/env bash
# One GPU check that fits in 8 minutes: the CUDA tests, then `gatelab bench --device cuda` for the
# gated kernels at 2^24 elements in float32 and bfloat16. Writes its tables into the folder named
# by its argument (default gpu-check/). Never run by CI; see README "Performance".
#
#   bash benchmarks/gpu_check.sh OUT_DIR
set -uo pipefail
out="${1:-gpu-check}"
mkdir -p "$out"
cd "$(dirname "$0")/.."
{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  python -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__, torch.cuda.get_device_name())"
} > "$out/device.txt" 2>&1
cat "$out/device.txt"
# Triton kernels compiled for the GPU (not the interpreter), and the transform matrix on CUDA.
TRITON_INTERPRET=0 timeout 240 python -m pytest -q -x tests/test_kernels/test_triton.py \
  -p no:cacheprovider 2>&1 | tail -n 15 | tee "$out/tests.txt"
for dtype in float32 bfloat16; do
  timeout 100 gatelab bench gelu silu gem e_gem se_gem --device cuda --dtype "$dtype" \
    --numel 16777216 --impls gatelab,native,naive --no-memory \
    2>&1 | tee "$out/bench-$dtype.md"
  timeout 100 gatelab bench gelu silu gem e_gem se_gem --device cuda --dtype "$dtype" \
    --numel 16777216 --impls gatelab,native,naive --no-memory --json > "$out/bench-$dtype.jsonl"
done
echo "wrote $out/"
