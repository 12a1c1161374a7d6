#!/usr/bin/env bash
# The native addon under sanitizers (docs/performance.md, "Memory safety"):
#   scripts/sanitize.sh [address,undefined | thread] [REPEAT]
# Builds the addon with the sanitizers, runs the test files that exercise it with the sanitizers' runtime
# preloaded into Node (a report stops the process, so its test fails), runs the signal tests (SIGINT, SIGTERM
# and SIGKILL during training, compression, decompression and generation; profiler signals during products)
# REPEAT more times, and builds the normal addon back whatever happened. Leak detection stays off: Node itself does not free everything at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
san=${1:-address,undefined}
repeat=${2:-0}
node scripts/build-native.mjs --sanitize="$san"
# the build runs without the sanitizers' runtimes (TSan's would stop node-gyp itself)
trap 'env -u LD_PRELOAD node scripts/build-native.mjs > /dev/null' EXIT
preload=()
for s in ${san//,/ }; do
  case $s in
    address) preload+=("$(${CXX:-c++} -print-file-name=libasan.so)") ;;
    undefined) preload+=("$(${CXX:-c++} -print-file-name=libubsan.so)") ;;
    thread) preload+=("$(${CXX:-c++} -print-file-name=libtsan.so)") ;;
  esac
done
export LD_PRELOAD="${preload[*]}"
export ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/tsan.supp"
# the files whose work runs in the addon: every kernel against the reference, the decoding pool, the exact
# kernels of compression, batched decoding, training with bf16, and the signal tests
files=(test/native-kernels.test.ts test/native-pool.test.ts test/native-signals.test.ts test/compress.test.ts
  test/decode.test.ts test/train-bf16.test.ts test/precision.test.ts test/cli-signals.test.ts)
if [[ $san == thread ]]; then
  # libgomp is not built with TSan: its barriers are invisible to it, so every OpenMP region would be reported.
  # One OpenMP thread leaves the addon's own threads (the decoding pool, products from several JavaScript
  # threads) to check.
  export OMP_NUM_THREADS=1
  files=(test/native-pool.test.ts test/native-kernels.test.ts test/decode.test.ts)
fi
node --import tsx --test --test-concurrency=1 "${files[@]}"
for ((i = 1; i <= repeat; i++)); do
  echo "signal tests, run $i of $repeat"
  node --import tsx --test --test-concurrency=1 --test-name-pattern 'SIGINT|SIGTERM|SIGKILL|profiler signals' \
    test/native-signals.test.ts test/train-cli.test.ts test/cli-signals.test.ts > /tmp/bgpt-sanitize-signals.log 2>&1 || { cat /tmp/bgpt-sanitize-signals.log; exit 1; }
done
echo "sanitizers ($san): no report"
