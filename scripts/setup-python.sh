#!/usr/bin/env bash
# Idempotent set-up of the Python bindings (python/, docs/guide/python.md):
# creates the virtual environment python/.venv, installs the build and test tools
# into it (maturin, numpy, pytest, scikit-learn, h5py) and builds the extension into it
# with `maturin develop`. Needs Python >= 3.9 with venv, and the Rust toolchain.
#
#   bash scripts/setup-python.sh             # release build (python/Cargo.toml)
#   ASTROGLIA_PY_PROFILE=ci bash scripts/setup-python.sh   # what scripts/test.sh builds
#   ASTROGLIA_PY_EXAMPLES=1 ...              # also matplotlib for python/examples/
set -euo pipefail
cd "$(dirname "$0")/.."
venv=python/.venv
py=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
  if ! "$py" -c 'import sys; assert sys.version_info >= (3, 9)' 2>/dev/null; then
    echo "astroglia setup-python: need Python >= 3.9 as $py (set PYTHON=...)" >&2
    exit 1
  fi
  "$py" -m venv "$venv" || {
    echo "astroglia setup-python: '$py -m venv' failed; install the venv module" \
      "(on Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  }
fi

want=(maturin numpy pytest scikit-learn h5py)
[ "${ASTROGLIA_PY_EXAMPLES:-0}" = 1 ] && want+=(matplotlib)
missing=()
for p in "${want[@]}"; do
  "$venv/bin/python" -m pip show -q "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "astroglia setup-python: installing ${missing[*]} into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
fi

# maturin builds python/ (its own cargo package, outside the root workspace) and
# installs it into the venv: the extension goes next to python/astroglia/*.py.
profile=${ASTROGLIA_PY_PROFILE:-release}
(
  cd python
  export VIRTUAL_ENV="$PWD/.venv"
  export PATH="$VIRTUAL_ENV/bin:$PATH"
  maturin develop --quiet --profile "$profile" >&2
)
