#!/usr/bin/env bash
# Fuzzes astroglia's file readers with cargo-fuzz (libFuzzer), on stable Rust.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   (default 600 s, every target)
#
# Installs cargo-fuzz when missing, builds every target without a sanitizer
# (`-s none`: the only mode stable Rust supports) and with debug assertions
# (integer overflow is a crash), seeds fuzz/corpus/<target> from tests/data,
# models/ and fuzz/seeds/, then runs each target for the given time under a
# 2 GiB memory limit and a 30 s per-input timeout. Prints executions and time
# per target; exits 1 when any target crashed, leaked past the memory limit or
# timed out (the input is in fuzz/artifacts/<target>/, the log in fuzz/logs/).
# See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-600}"
shift || true
all=(model experiment nir nir_json nmnist shd idx)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi
if ! command -v c++ >/dev/null 2>&1; then
  echo "fuzz: libFuzzer needs a C++ compiler (c++): install g++ or clang" >&2
  exit 1
fi

# -s none: no sanitizer (ASan needs nightly). -a: debug assertions and overflow checks.
flags=(-s none -O -a)
start=$(date +%s)
if [ ${#targets[@]} -eq ${#all[@]} ]; then
  cargo fuzz build "${flags[@]}"
else
  for t in "${targets[@]}"; do cargo fuzz build "${flags[@]}" "$t"; done
fi
echo "fuzz: build took $(($(date +%s) - start)) s" >&2

seed() { # seed TARGET FILE...: copies the files that exist into the target's corpus
  local dir="fuzz/corpus/$1"
  shift
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] && cp "$f" "$dir/seed_$(echo "$f" | tr '/' '_')"
  done
  return 0
}
shopt -s nullglob globstar
tomls=(models/**/*.toml tests/data/bad_models/*.toml)
seed model "${tomls[@]}"
seed experiment "${tomls[@]}"
seed nir tests/data/nir/*.nir
seed nir_json fuzz/seeds/nir_json/*
seed nmnist tests/data/nmnist/*.bin
# SHD files are HDF5 like NIR files: both are useful starting points.
seed shd tests/data/shd_like/*.h5 tests/data/nir/lif_norse.nir
seed idx fuzz/seeds/idx/*

# Readers that take a path get a scratch file per input: keep it in memory.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then export ASTROGLIA_FUZZ_TMP=/dev/shm; fi

mkdir -p fuzz/logs
# -fork=1 with -ignore_*: a crash, timeout or out-of-memory input is saved and the run
# goes on (the known findings in fuzz/regressions/ would otherwise end every run early).
failed=()
summary=()
for t in "${targets[@]}"; do
  log="fuzz/logs/$t.log"
  mkdir -p "fuzz/artifacts/$t"
  echo "fuzz: $t for $secs s (log $log)" >&2
  rc=0
  cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=30 \
    -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
    -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || rc=$?
  # The fork driver's last status line: "#RUNS: cov: .. oom/timeout/crash: O/T/C time: Ss".
  last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
  runs=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
  took=$(grep -Eo 'exiting: [0-9]+ time: [0-9]+s' "$log" | tail -1 | grep -Eo '[0-9]+s$' || true)
  bad=$(grep -Eo 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' <<<"$last" | cut -d' ' -f2)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  line="$t: ${runs:-?} runs in ${took:-?}, oom/timeout/crash ${bad:-?}, corpus $corpus files"
  if [ "$rc" -ne 0 ] || [ -z "$last" ] || [ "${bad:-x}" != "0/0/0" ]; then
    failed+=("$t")
    line="$line: FAILED (exit $rc; inputs in fuzz/artifacts/$t/, log $log)"
  fi
  summary+=("$line")
done

echo "fuzz summary (${secs} s per target):"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in: ${failed[*]}" >&2
  exit 1
fi
