#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, BO_FUZZ=ON, in build-fuzz) and runs each for a while over a
# copy of its committed seed corpus (README.md).
#   tests/reliability/fuzz/run.sh          30 s per target: the CI form (ctest Reliability.Fuzz)
#   tests/reliability/fuzz/run.sh 600      the long form: 10 minutes per target
# Environment: FUZZ_BUILD_DIR (default <repo>/build-fuzz; not BUILD_DIR, which tools/test sets
# for the normal build), JOBS (build jobs; default 2 when nothing else is compiling on the
# machine, else 1), FUZZ_TARGETS (a space-separated subset).
# Prints one line per target, `FUZZ <target> runs=<n> seconds=<s> crashes=<c>`, and exits non-zero
# if any target crashed, hung, leaked or broke an invariant; the input that did it is kept (its
# path is printed) and replays with `<build>/tests/reliability/fuzz/<target> <file>`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
PER_TARGET="${1:-30}"
BUILD="${FUZZ_BUILD_DIR:-$REPO/build-fuzz}"
TARGETS="${FUZZ_TARGETS:-fuzz_event_view fuzz_ledger_events fuzz_projection fuzz_requests}"
WORK="$BUILD/fuzz-runs"

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (Debian: apt-get install clang)" >&2
  exit 1
fi
# ccache keys on paths: relative to the repo, a fresh clone elsewhere (CI) still hits the cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$REPO}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"

if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang CXX=clang++ cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DBO_FUZZ=ON >"$BUILD.configure.log" 2>&1 ||
    { cat "$BUILD.configure.log" >&2; exit 1; }
fi
# Two cores at most, and one while another build is compiling (the machine is shared).
if [ -z "${JOBS:-}" ]; then
  if pgrep -x cc1plus >/dev/null || pgrep -f 'clang[^ ]* .* -c ' >/dev/null; then JOBS=1; else JOBS=2; fi
fi
echo "fuzz: building in $BUILD (-j$JOBS)"
cmake --build "$BUILD" --target bo_fuzz -j "$JOBS"

# A UB report is already fatal (-fno-sanitize-recover); with a stack it says where.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
failed=0
for target in $TARGETS; do
  work="$WORK/$target"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/tmp"
  cp "$HERE/corpus/$target/"* "$work/corpus/"
  start=$(date +%s)
  rc=0
  # -timeout: one input taking 10 s is a hang. The projection's RocksDB goes under tmp/.
  FUZZ_TMPDIR="$work/tmp" "$BUILD/tests/reliability/fuzz/$target" \
    -dict="$HERE/protobuf.dict" -max_total_time="$PER_TARGET" -timeout=10 \
    -artifact_prefix="$work/" -print_final_stats=1 "$work/corpus" >"$work/log" 2>&1 || rc=$?
  seconds=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  crashes=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
    -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi  # died without a reproducer
  rm -rf "$work/tmp"
  echo "FUZZ $target runs=${runs:-0} seconds=$seconds crashes=$crashes"
  if [ "$crashes" -ne 0 ]; then
    failed=1
    grep -m1 -B2 -A30 -E 'INVARIANT BROKEN|runtime error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)' \
      "$work/log" >&2 || tail -40 "$work/log" >&2
    find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
      -o -name 'oom-*' \) -printf 'fuzz: reproducer %p\n' >&2
  fi
done
exit "$failed"
