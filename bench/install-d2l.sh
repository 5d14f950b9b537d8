#!/usr/bin/env bash
# Install d2l 1.0.3 for the benchmark into a private folder, leaving the virtualenv untouched.
#
#   bench/install-d2l.sh PYTHON DIR
#
# PYTHON is the virtualenv's interpreter (e.g. /tmp/venv-torch/bin/python), DIR the folder to
# fill (then run bench.py with --d2l-path DIR). d2l 1.0.3 pins 2023 versions (numpy==1.23.5,
# matplotlib==3.7.2, pandas==2.0.3, ...) that would downgrade the environment or do not install at
# all, so everything goes in with --no-deps: d2l itself, plus only the modules its import needs
# that this environment lacks (torchvision matching the installed torch, scipy, requests).
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 PYTHON DIR" >&2
    exit 2
fi
python=$1
dir=$2
mkdir -p "$dir"

has() { "$python" -c "import $1" >/dev/null 2>&1; }

packages=(d2l==1.0.3)
if has requests; then :; else packages+=(requests charset-normalizer idna urllib3 certifi); fi
if has torch; then
    if ! has torchvision; then
        # torchvision 0.N+15 goes with torch 2.N; the PyPI wheel runs on the CPU build of torch
        # (its compiled ops may not load; d2l's datasets and transforms do not need them)
        minor=$("$python" -c "import torch; print(int(torch.__version__.split('.')[1]))")
        packages+=("torchvision==0.$((minor + 15)).*")
    fi
    if ! has scipy; then packages+=(scipy); fi  # d2l/torch.py imports scipy.spatial
fi
echo "installing into $dir: ${packages[*]}"
if "$python" -m pip --version >/dev/null 2>&1; then
    "$python" -m pip install --quiet --no-deps --target "$dir" "${packages[@]}"
else  # an environment that uv made (nox's, where uv is installed) has no pip of its own
    uv pip install --quiet --python "$python" --no-deps --target "$dir" "${packages[@]}"
fi
