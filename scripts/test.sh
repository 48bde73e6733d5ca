#!/bin/sh
# Build and run every test: a gcc build, and a clang build with
# AddressSanitizer + UndefinedBehaviorSanitizer (and the libFuzzer targets)
# that runs the whole suite again. The last line is the combined summary.
set -u
cd "$(dirname "$0")/.."
sh scripts/deps.sh test || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
fail=0
summary=""
run_suite() { # name, cmake args...
	name=$1
	shift
	echo "=== $name build"
	cmake -S . -B "build-$name" -G Ninja "$@" >/dev/null || return 1
	cmake --build "build-$name" -j "$jobs" || return 1
	echo "=== $name tests"
	ctest --test-dir "build-$name" --output-on-failure -j "$jobs" 2>&1 | tee "build-$name/ctest.log"
	line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "build-$name/ctest.log" | tail -1)
	[ -n "$line" ] || return 1
	summary="$summary$name: $line
"
	echo "$line" | grep -q " 0 tests failed" || return 1
}
run_suite gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo || fail=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_suite sanitize -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIPFLOW_SANITIZE=ON -DIPFLOW_FUZZ=ON || fail=1
printf '%s' "$summary"
passed=0
failed=0
for n in $(printf '%s' "$summary" | sed -n 's/.*, \([0-9]*\) tests failed out of \([0-9]*\)/\1 \2/p' | tr ' ' ':'); do
	f=${n%%:*}
	t=${n##*:}
	failed=$((failed + f))
	passed=$((passed + t - f))
done
[ $fail -ne 0 ] && [ $failed -eq 0 ] && failed=1
echo "$passed passed, $failed failed"
exit $fail
