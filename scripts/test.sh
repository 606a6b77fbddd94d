#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds volta with AddressSanitizer +
# UndefinedBehaviorSanitizer, runs every unit and end-to-end test (ctest), then builds the
# libFuzzer targets with clang and runs each briefly on its seed corpus.
#
#   ./scripts/test.sh            everything
#   ./scripts/test.sh -R unit/   only the tests whose name matches (passed to ctest)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JOBS=$(nproc 2>/dev/null || echo 2)

./scripts/install-deps.sh

echo "== build (ASan + UBSan)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVOLTA_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$JOBS"

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
echo "== unit and end-to-end tests"
ctest --test-dir build-asan --output-on-failure -j"$JOBS" "$@" || status=1

if [ $# -eq 0 ]; then
  # the README's demo command builds with -O3 (Release): its warnings (e.g. maybe-uninitialized)
  # differ from the sanitizer build's, and they are errors
  echo "== release build (what ./scripts/demo.sh compiles)"
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DVOLTA_TESTS=OFF >/dev/null
  cmake --build build-release -j"$JOBS" --target volta || status=1

  echo "== fuzz targets (clang libFuzzer, ASan + UBSan)"
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DVOLTA_SANITIZE=ON -DVOLTA_FUZZ=ON -DVOLTA_TESTS=OFF >/dev/null
  cmake --build build-fuzz -j"$JOBS"
  # fuzzers write new inputs into their corpus directory; keep the repository's seeds untouched
  rm -f build-fuzz/crash-* build-fuzz/leak-* build-fuzz/oom-* build-fuzz/timeout-*
  if ! ctest --test-dir build-fuzz --output-on-failure -j"$JOBS"; then
    status=1
    # CI keeps only the tail of the output: repeat what a failing fuzzer found, last
    echo "== fuzz failure digest"
    grep -hE "^(==[0-9]+==ERROR|SUMMARY|[^ ]*runtime error|fuzz_[a-z]+:|artifact_prefix|Test unit written|Base64)" \
         build-fuzz/Testing/Temporary/LastTest.log | head -40 || true
    for f in build-fuzz/crash-* build-fuzz/leak-* build-fuzz/oom-* build-fuzz/timeout-*; do
      [ -f "$f" ] && { echo "$f (base64):"; base64 -w0 "$f" | head -c 4000; echo; }
    done
  fi
fi
exit $status
