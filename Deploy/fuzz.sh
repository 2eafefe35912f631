#!/usr/bin/env bash
# Fuzzing (issue 6): builds the libFuzzer targets (Sources/Fuzz*) with `-sanitize=fuzzer,address` into .build-fuzz
# and runs each for a bounded time. Exits non-zero when any target crashes (a failed precondition, a trap, an
# AddressSanitizer report, a hang past the timeout or memory past the limit), printing the saved input.
#
#   Deploy/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]     default 30 seconds each, every target
#   Deploy/fuzz.sh 20                                   the bounded run for CI (Deploy/test.sh)
#   Deploy/fuzz.sh 600 FuzzRulePack                     a long run of one target
#
# Linux with a swift.org toolchain only (libFuzzer ships with it; Xcode's does not; elsewhere it skips). Environment:
#   FUZZ_SCRATCH  build directory (default .build-fuzz); corpora grow in $FUZZ_SCRATCH/corpus/<target> and are kept
#                 between runs, crash inputs land in $FUZZ_SCRATCH/crashes/<target>, logs in $FUZZ_SCRATCH/logs
#   FUZZ_CONFIG   release (default: several times the executions of debug; preconditions and bounds checks stay
#                 on, but a failure's message is not printed, so it is replayed with the ordinary debug build) or debug
#   FUZZ_SKIP=1   skip everything and succeed (as does 0 seconds), e.g. for machines without the fuzzing runtime
#
# Seeds come from Tests/FuzzCorpus/<target> (and Deploy/orders for FuzzRulePack), with a dictionary from
# Tests/FuzzCorpus/<target>.dict. A crash input is replayed without the sanitizers by the ordinary build:
#   swift build --product FuzzRulePack && .build/debug/FuzzRulePack .build-fuzz/crashes/FuzzRulePack/crash-…
# Once fixed, copy it into Tests/FuzzCorpus/<target> so every run replays it, and add a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${FUZZ_SKIP:-}" == 1 ]]; then echo "fuzz: skipped (FUZZ_SKIP=1)"; exit 0; fi

seconds="${1:-30}"
shift || true
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: Deploy/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]" >&2; exit 2; }
# (libFuzzer reads -max_total_time=0 as "no limit"; here 0 means no fuzzing.)
if [[ "$seconds" == 0 ]]; then echo "fuzz: skipped (0 seconds per target)"; exit 0; fi

all_targets=(FuzzRequestGrammar FuzzLineCodec FuzzRegistryJSON FuzzVolunteerCSV FuzzRulePack FuzzMatchInstance)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

# Longest input libFuzzer generates, per target (the longest seed must fit: the packs in Deploy/orders are < 3 KB).
max_len() {
    case "$1" in
        FuzzRequestGrammar | FuzzLineCodec) echo 2048 ;;
        FuzzRulePack | FuzzMatchInstance) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

scratch="${FUZZ_SCRATCH:-.build-fuzz}"
config="${FUZZ_CONFIG:-release}"
command -v swift >/dev/null || { echo "error: Swift is not installed (https://www.swift.org/install/)" >&2; exit 1; }
# Xcode's toolchain has no libFuzzer; skip rather than fail, so that Deploy/test.sh still passes on a Mac.
if [[ "$(uname)" != Linux ]]; then echo "fuzz: skipped (needs Linux and a swift.org toolchain)"; exit 0; fi

build_flags=(-c "$config" --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address)
start=$SECONDS
for target in "${targets[@]}"; do
    echo "fuzz: building $target"
    # (The linker warns about every sanitizer symbol it cannot export; those lines are noise.)
    if ! output="$(swift build "${build_flags[@]}" --product "$target" 2>&1)"; then
        grep -v "Cannot export local symbol" <<<"$output" | tail -40 >&2
        echo "fuzz: building $target failed" >&2
        exit 1
    fi
done
bin="$(swift build "${build_flags[@]}" --show-bin-path)"
echo "fuzz: built ${#targets[@]} target(s) in $((SECONDS - start)) s"

# Swift's own crash reporter would hold the process after a trap; libFuzzer reports crashes itself. Leak checks are
# off: LeakSanitizer after every input that allocates more than it frees makes runs 10 to 100 times slower (turn them
# on for a long run with ASAN_OPTIONS=detect_leaks=1).
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:handle_abort=1:symbolize=1}"

rm -rf "$scratch/seeds"
mkdir -p "$scratch/logs" "$scratch/seeds/FuzzRulePack-orders"
cp Deploy/orders/*.yaml "$scratch/seeds/FuzzRulePack-orders/"
failed=()
printf '%-20s %10s %10s %8s  %s\n' target executions "execs/s" corpus result
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    crashes="$scratch/crashes/$target"
    log="$scratch/logs/$target.log"
    mkdir -p "$corpus" "$crashes"
    seeds=("Tests/FuzzCorpus/$target")
    [[ "$target" == FuzzRulePack ]] && seeds+=("$scratch/seeds/FuzzRulePack-orders")
    options=(
        -max_total_time="$seconds" -max_len="$(max_len "$target")" -rss_limit_mb=2048 -malloc_limit_mb=2048
        -timeout=20 -print_final_stats=1 -artifact_prefix="$crashes/"
    )
    [[ -f "Tests/FuzzCorpus/$target.dict" ]] && options+=(-dict="Tests/FuzzCorpus/$target.dict")
    status=0
    "$bin/$target" "${options[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1 || status=$?
    executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    size="$(find "$corpus" -type f | wc -l)"
    if [[ $status -eq 0 ]]; then
        printf '%-20s %10s %10s %8s  %s\n' "$target" "${executions:-?}" "${rate:-?}" "$size" ok
    else
        printf '%-20s %10s %10s %8s  %s\n' "$target" "${executions:-?}" "${rate:-?}" "$size" "FAILED (exit $status)"
        failed+=("$target")
        # What broke, and the input that breaks it.
        grep -m1 -E "Precondition failed|Fatal error|Assertion failed|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY:" "$log" | sed 's/^/    /' || true
        input="$(sed -n "s/.*Test unit written to \(.*\)$/\1/p" "$log" | tail -1)"
        echo "    crash input: ${input:-(none saved; see $log)}"
        echo "    replay:      $bin/$target ${input:-<input>}   (log: $log)"
        # An optimised build does not print the failed precondition's message; the ordinary build's replay does
        # (it is there after `swift build`, as in Deploy/test.sh; it may be older than the sources).
        plain=".build/debug/$target"
        if [[ -n "$input" && -x "$plain" ]]; then
            # (In a child shell, so that its report of the trap stays out of this output.)
            bash -c 'timeout 120 "$0" "$1" 2>&1' "$plain" "$input" 2>/dev/null \
                | grep -m1 -E "Precondition failed|Fatal error|Assertion failed" | sed 's/^/    message:     /' || true
        fi
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: all ${#targets[@]} target(s) ran ${seconds} s without a failure ($((SECONDS - start)) s in all)"
