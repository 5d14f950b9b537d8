#!/usr/bin/env bash
# GPU checks of issues 18, 21, 31 and 36 (torch and jax), as run on a lent H100 (bench/RESULTS.md): the tests
# of the paths only a GPU takes (pytest -m gpu: CUDA graphs, JAX's grouped convolution, plots read late, data
# on the GPU; needs pytest), then the benchmarks: ResNet18 at 96x96, 2 epochs, num_gpus=1, d2lx against d2l
# 1.0.3 and a hand-written loop; softmax regression with and without jit_compile against hand-written;
# PyTorch's per-step host work (bench/step_overhead.py); section 10.2's GRU language model (rnn-lm, 5 epochs),
# d2lx against a hand-written loop, and against d2l 1.0.3 on torch. Run from the repository root on a machine
# with a GPU, PyTorch and JAX, after putting in .gpu/: fashion-mnist/ (the four .gz files, and timemachine.txt
# for rnn-lm), d2l/ (d2l 1.0.3 installed with bench/install-d2l.sh or pip's --target) and, where IPython is
# missing, stubs/ (modules IPython and matplotlib_inline with no-op display functions, so that d2l imports).
# Results go to $OUT (default ./out).
set -u
OUT=${OUT:-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg D2LX_PROGRESS=0
export D2LX_DATA_DIR=$PWD/.gpu/fashion-mnist
export PYTHONPATH=$PWD/.gpu/stubs:$PWD
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
python3 -c "import sys, torch, jax, flax, optax, numpy; print(sys.version.split()[0], 'torch', torch.__version__, 'jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, 'numpy', numpy.__version__, jax.devices())"
step() { echo "=== $1 ($(date +%T))"; }
for backend in torch jax; do
  step "pytest -m gpu --backend $backend"
  timeout 150 python3 -m pytest -q -p no:cacheprovider -m gpu --backend $backend -rs tests 2>&1 | tee $OUT/gpu_tests_$backend.log | tail -12
done
B="python3 bench/bench.py --repeat 1 --num-gpus 1"
step "torch resnet18, 2 epochs: d2lx, hand, d2l"
timeout 180 $B --backend torch --workload resnet18 --epochs 2 --batches 0 --libs d2lx hand d2l --d2l-path .gpu/d2l --timeout 120 --out $OUT/resnet18_torch.json 2>&1 | tee $OUT/resnet18_torch.log | tail -14
step "jax resnet18, 2 epochs: d2lx, hand"
timeout 170 $B --backend jax --workload resnet18 --epochs 2 --batches 0 --libs d2lx hand --timeout 120 --out $OUT/resnet18_jax.json 2>&1 | tee $OUT/resnet18_jax.log | tail -12
step "softmax, default loop: torch, jax (d2lx, hand)"
timeout 60 $B --backend torch --workload softmax --libs d2lx hand --timeout 55 --out $OUT/softmax_torch.json 2>&1 | tail -9
timeout 60 $B --backend jax --workload softmax --libs d2lx hand --timeout 55 --out $OUT/softmax_jax.json 2>&1 | tail -9
step "softmax, jit_compile=True: torch, jax (d2lx)"
BENCH_JIT_COMPILE=1 timeout 70 $B --backend torch --workload softmax --libs d2lx --timeout 65 --out $OUT/softmax_torch_jit.json 2>&1 | tail -8
BENCH_JIT_COMPILE=1 timeout 50 $B --backend jax --workload softmax --libs d2lx --timeout 45 --out $OUT/softmax_jax_jit.json 2>&1 | tail -8
step "torch per-step host work: d2lx, d2lx through torch.optim, hand (batch 256 and 16)"
timeout 90 python3 bench/step_overhead.py --num-gpus 1 --batch-size 256 --batches 2000 --out $OUT/step_overhead_256.json 2>&1 | tail -4
timeout 90 python3 bench/step_overhead.py --num-gpus 1 --batch-size 16 --batches 2000 --out $OUT/step_overhead_16.json 2>&1 | tail -4
step "GRU language model (rnn-lm), 5 epochs: torch (d2lx, hand, d2l), jax (d2lx, hand)"
timeout 150 $B --backend torch --workload rnn-lm --epochs 5 --libs d2lx hand d2l --d2l-path .gpu/d2l --timeout 90 --out $OUT/rnn_lm_torch.json 2>&1 | tee $OUT/rnn_lm_torch.log | tail -14
timeout 150 $B --backend jax --workload rnn-lm --epochs 5 --libs d2lx hand --timeout 90 --out $OUT/rnn_lm_jax.json 2>&1 | tee $OUT/rnn_lm_jax.log | tail -12
step done
