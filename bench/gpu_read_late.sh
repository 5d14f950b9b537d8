#!/usr/bin/env bash
# Issue 18: JAX ResNet18 and torch softmax on a GPU, plots read one call late (module.PlotPoint). Set up .gpu/
# as bench/gpu_checks.sh says; results go to $OUT (default ./out).
set -u
OUT=${OUT:-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg D2LX_PROGRESS=0
export D2LX_DATA_DIR=$PWD/.gpu/fashion-mnist PYTHONPATH=$PWD/.gpu/stubs:$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
B="python3 bench/bench.py --repeat 1 --num-gpus 1"
echo "=== jax resnet18 ($(date +%T))"
timeout 150 $B --backend jax --workload resnet18 --epochs 2 --batches 0 --libs d2lx hand --timeout 120 --out $OUT/resnet18_jax.json 2>&1 | tee $OUT/resnet18_jax.log | tail -12
echo "=== torch softmax ($(date +%T))"
timeout 60 $B --backend torch --workload softmax --libs d2lx hand --timeout 55 --out $OUT/softmax_torch.json 2>&1 | tail -9
echo "=== done ($(date +%T))"
