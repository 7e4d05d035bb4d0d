#!/usr/bin/env bash
# The unit tests under AddressSanitizer and UndefinedBehaviorSanitizer (issue 5): a separate
# build tree (build-asan) with -fsanitize=address,undefined. LibTorch itself is not instrumented;
# leak detection is off because LibTorch's static registries are never freed.
#   scripts/sanitize.sh [ctest args...]     e.g. scripts/sanitize.sh -L unit
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh >/dev/null
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DFOOL_SANITIZE=ON >/dev/null
ninja -C build-asan -j"$(nproc)" fool_unit_tests
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Only the unit suite: the cli suite runs the (uninstrumented-in-spirit) binary end to end.
ctest --test-dir build-asan -L unit --output-on-failure -j"$(nproc)" "${@}"
