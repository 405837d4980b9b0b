#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, run the CUDA tests and the engine and model benchmarks on
# the GPU, and write their tables to benchmarks/results/gpu_check.md (paste it into docs/performance.md).
#   bash benchmarks/gpu_check.sh            # after `make setup` (a CUDA build of torch is needed on that machine)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=benchmarks/results/gpu_check.md
mkdir -p benchmarks/results
$PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: torch.cuda.is_available() is False')"
{
  echo "# GPU check ($(date -u '+%Y-%m-%d %H:%M UTC'))"
  $PY -c "import torch; print(f'torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.get_device_name(0)}')"
  echo; echo '## CUDA tests'; echo '```'
  $PY -m pytest -q -p no:cacheprovider -m cuda tests/test_cuda.py 2>&1 | tail -5
  echo '```'; echo; echo '## Engine (qhybrid on the GPU)'
  $PY benchmarks/bench_engine.py --device cuda --json benchmarks/results/bench_engine_cuda.json | sed -n '/^|/p'
  echo; echo '## Model step vs classical twin (GPU)'
  $PY benchmarks/bench_models.py --device cuda --json benchmarks/results/bench_models_cuda.json | sed -n '/^|/p'
} | tee "$OUT"
echo "wrote $OUT"
