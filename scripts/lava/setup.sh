#!/usr/bin/env bash
# Create the Python 3.10 virtual environment with Intel Lava (lava-nc 0.10.0)
# that scripts/lava/*.py need to regenerate tests/data/loihi/.
#
#   bash scripts/lava/setup.sh            # -> scripts/lava/.venv
#   LAVA_VENV=/some/path bash scripts/lava/setup.sh
#
# Idempotent: does nothing when the venv already has lava-nc 0.10.0.
# lava-nc 0.10.0 requires Python >=3.10,<3.11; a pyenv 3.10 is used (installed
# with `pyenv install -s 3.10` if none is there), or $PYTHON if set.
# Nothing else in the repository needs this venv: the Rust tests only read the
# JSON files it produced.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LAVA_VENV:-$here/.venv}"
LAVA_VERSION=0.10.0
# lava-nc 0.10.0 accepts numpy >=1.24.4,<2; pin the one the reference data was
# generated with (integer promotion rules matter for bit accuracy).
NUMPY_VERSION=1.26.4

have_lava() {
    [ -x "$venv/bin/python" ] && "$venv/bin/python" - <<PY 2>/dev/null
import importlib.metadata as m, sys
sys.exit(0 if m.version("lava-nc") == "$LAVA_VERSION" and m.version("numpy") == "$NUMPY_VERSION" else 1)
PY
}

if have_lava; then
    echo "lava venv ready: $venv"
    exit 0
fi

find_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return 0; fi
    local roots=()
    if command -v pyenv >/dev/null 2>&1; then roots+=("$(pyenv root)"); fi
    roots+=("${PYENV_ROOT:-$HOME/.pyenv}" /root/.pyenv)
    local r p
    for r in "${roots[@]}"; do
        for p in $(ls -d "$r"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
            [ -x "$p" ] && { echo "$p"; return 0; }
        done
    done
    if command -v pyenv >/dev/null 2>&1; then
        pyenv install -s 3.10 >&2
        r="$(pyenv root)"
        for p in $(ls -d "$r"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r); do
            [ -x "$p" ] && { echo "$p"; return 0; }
        done
    fi
    if command -v python3.10 >/dev/null 2>&1; then command -v python3.10; return 0; fi
    return 1
}

py="$(find_python)" || {
    echo "error: no Python 3.10 found (install pyenv, or set PYTHON=/path/to/python3.10)" >&2
    exit 1
}
case "$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" in
    3.10) ;;
    *) echo "error: $py is not Python 3.10 (lava-nc $LAVA_VERSION needs 3.10)" >&2; exit 1 ;;
esac

echo "creating $venv with $py"
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "lava-nc==$LAVA_VERSION" "numpy==$NUMPY_VERSION"
have_lava || { echo "error: lava-nc $LAVA_VERSION not importable in $venv" >&2; exit 1; }
echo "lava venv ready: $venv"
