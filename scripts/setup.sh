#!/usr/bin/env bash
# Idempotent set-up: installs the system packages astroglia needs when they are
# missing (HDF5 for recordings, a software Vulkan device for the GPU backend).
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in libhdf5-dev pkg-config libvulkan1 mesa-vulkan-drivers; do
  have_pkg "$p" || need+=("$p")
done

if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "astroglia setup: missing system packages: ${need[*]}" >&2
    echo "install them with your package manager (HDF5 development files, pkg-config," >&2
    echo "the Vulkan loader and Mesa's Vulkan drivers), then run this again." >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "astroglia setup: need root to install: ${need[*]}" >&2
      echo "run: apt-get install -y ${need[*]}" >&2
      exit 1
    fi
  fi
  echo "astroglia setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# h5py lets the test suite check that recordings open in Python; optional.
if command -v python3 >/dev/null 2>&1 && ! python3 -c "import h5py" >/dev/null 2>&1; then
  python3 -m pip install --quiet h5py >&2 || echo "astroglia setup: h5py not installed (optional)" >&2
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "astroglia setup: cargo not found; install Rust (https://rustup.rs) and run this again." >&2
  exit 1
fi
