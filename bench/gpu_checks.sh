#!/usr/bin/env bash
# The GPU checks of issues 31-36 (torch and JAX) as one short script, for a lent GPU machine (bench/RESULTS.md):
#   1. the tests of the paths only a GPU takes (pytest -m gpu: CUDA graphs, JAX's grouped convolution, plots read
#      late, data on the GPU), torch and JAX side by side;
#   2. section 10.2's GRU language model (rnn-lm), d2lx against a hand-written loop, and against d2l 1.0.3 on torch;
#   3. section 11.7's Transformer (transformer), d2lx against a hand-written loop;
#   4. section 11.8's ViT (vit) at 96x96, d2lx, and d2l 1.0.3 on torch;
#   5. bench/scaling.py on one GPU: the distributed path at k=1 against the plain loop;
#   6. softmax regression against a hand-written loop, and PyTorch's per-step host work (bench/step_overhead.py);
#   7. ResNet-18 at 96x96 (section 8.6), d2lx, hand-written and d2l 1.0.3, when GPU_CHECKS names it.
# In that order, most wanted first, so a run cut short by the machine's time limit still brings back the first.
# GPU_CHECKS picks steps by number (default "1 2 3 4 5 6"; "7" for ResNet-18). Run from the repository root on a
# machine with a GPU, PyTorch and JAX, after putting in .gpu/: fashion-mnist/ (the four .gz files, timemachine.txt
# and fra-eng.zip) and d2l/ (d2l 1.0.3 from bench/install-d2l.sh or pip's --target). Where IPython is missing, the
# script makes stand-ins (IPython and matplotlib_inline with no-op display functions, and the version_info that
# matplotlib reads) so that d2l imports; its board then draws into figures nobody shows. The log goes to
# $OUT/gpu_checks.log and every JSON, test log and table into $OUT/results.tgz, refreshed after each step (a lent
# machine returns a few files only); OUT defaults to ./out.
set -u
OUT=${OUT:-out}; mkdir -p "$OUT"
RES=$(mktemp -d)
CHECKS=" ${GPU_CHECKS:-1 2 3 4 5 6} "
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg D2LX_PROGRESS=0
export D2LX_DATA_DIR=$PWD/.gpu/fashion-mnist
export PYTHONPATH=$PWD
if ! python3 -c "import IPython, matplotlib_inline" 2>/dev/null; then
  mkdir -p "$RES/.stubs/IPython" "$RES/.stubs/matplotlib_inline"
  printf '%s\n' 'from . import display' 'version_info = (9, 0, 0)' 'def get_ipython(): return None' \
    >"$RES/.stubs/IPython/__init__.py"
  printf '%s\n' 'def display(*a, **k): pass' 'def clear_output(*a, **k): pass' 'def set_matplotlib_formats(*a, **k): pass' \
    >"$RES/.stubs/IPython/display.py"
  printf '%s\n' 'from . import backend_inline' >"$RES/.stubs/matplotlib_inline/__init__.py"
  printf '%s\n' 'def set_matplotlib_formats(*a, **k): pass' >"$RES/.stubs/matplotlib_inline/backend_inline.py"
  export PYTHONPATH=$RES/.stubs:$PWD
fi
exec > >(tee -a "$OUT/gpu_checks.log") 2>&1
pack() { tar -czf "$OUT/results.tgz.tmp" --exclude=.stubs -C "$RES" . && mv "$OUT/results.tgz.tmp" "$OUT/results.tgz"; }
step() { echo "=== $1 ($(date +%T), load $(cut -d' ' -f1-3 /proc/loadavg))"; }
want() { [[ $CHECKS == *" $1 "* ]]; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; nproc
grep -m1 "model name" /proc/cpuinfo
python3 -c "import sys, torch, jax, flax, optax, numpy; print(sys.version.split()[0], 'torch', torch.__version__, 'jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, 'numpy', numpy.__version__, jax.devices())"
git log -1 --format='tree of commit %h %s' 2>/dev/null || true
B="python3 bench/bench.py --repeat 1 --num-gpus 1"
if want 1; then
  step "1. pytest -m gpu, torch and jax side by side"
  pids=()
  for backend in torch jax; do
    XLA_PYTHON_CLIENT_PREALLOCATE=false timeout 120 python3 -m pytest -q -p no:cacheprovider -m gpu \
      --backend $backend -rs tests >"$RES/gpu_tests_$backend.log" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]}"  # a bare wait would also wait for the tee of the log (bash 5.1), for ever
  for backend in torch jax; do echo "--- $backend"; tail -12 "$RES/gpu_tests_$backend.log"; done
  pack
fi
if want 2; then
  step "2. GRU language model (rnn-lm), 4 epochs: torch (d2lx, hand, d2l)"
  timeout 100 $B --backend torch --workload rnn-lm --epochs 4 --libs d2lx hand d2l --d2l-path .gpu/d2l --timeout 60 \
    --out "$RES/rnn_lm_torch.json" 2>&1 | tail -14
  step "2. rnn-lm, 4 epochs: jax (d2lx, hand)"
  timeout 100 $B --backend jax --workload rnn-lm --epochs 4 --libs d2lx hand --timeout 60 \
    --out "$RES/rnn_lm_jax.json" 2>&1 | tail -12
  pack
fi
if want 3; then
  step "3. Transformer, 10 epochs: torch (d2lx, hand)"
  timeout 80 $B --backend torch --workload transformer --epochs 10 --libs d2lx hand --timeout 50 \
    --out "$RES/transformer_torch.json" 2>&1 | tail -14
  step "3. Transformer, 10 epochs: jax (d2lx, hand)"
  timeout 110 $B --backend jax --workload transformer --epochs 10 --libs d2lx hand --timeout 70 \
    --out "$RES/transformer_jax.json" 2>&1 | tail -12
  pack
fi
if want 4; then
  step "4. ViT at 96x96, 2 epochs of 200 + 5 batches: torch (d2lx, d2l)"
  timeout 100 $B --backend torch --workload vit --epochs 2 --batches 200 --libs d2lx d2l --d2l-path .gpu/d2l \
    --timeout 60 --out "$RES/vit_torch.json" 2>&1 | tail -14
  step "4. ViT: jax (d2lx)"
  timeout 80 $B --backend jax --workload vit --epochs 2 --batches 200 --libs d2lx --timeout 70 \
    --out "$RES/vit_jax.json" 2>&1 | tail -12
  pack
fi
if want 5; then
  step "5. scaling on one GPU: plain against the distributed path at k=1 (torch, jax)"
  timeout 110 python3 bench/scaling.py --backends torch jax --workers 1 --num-gpus 1 --batches 100 --epochs 3 \
    --repeat 2 --out "$RES/scaling.json" 2>&1 | tail -6
  pack
fi
if want 6; then
  step "6. softmax regression, 10 epochs: torch (d2lx, hand)"
  timeout 70 $B --backend torch --workload softmax --libs d2lx hand --timeout 55 --out "$RES/softmax_torch.json" 2>&1 \
    | tail -9
  step "6. torch per-step host work: d2lx, d2lx through torch.optim, hand (batch 256 and 16)"
  for batch in 256 16; do
    timeout 60 python3 bench/step_overhead.py --num-gpus 1 --batch-size $batch --batches 1000 \
      --out "$RES/step_overhead_$batch.json" 2>&1 | tail -4
  done
  pack
fi
if want 7; then
  step "7. ResNet-18, 2 epochs: torch (d2lx, hand, d2l), jax (d2lx, hand)"
  timeout 180 $B --backend torch --workload resnet18 --epochs 2 --batches 0 --libs d2lx hand d2l --d2l-path .gpu/d2l \
    --timeout 120 --out "$RES/resnet18_torch.json" 2>&1 | tail -14
  timeout 170 $B --backend jax --workload resnet18 --epochs 2 --batches 0 --libs d2lx hand --timeout 120 \
    --out "$RES/resnet18_jax.json" 2>&1 | tail -12
  pack
fi
step done
rm -rf "$RES"
