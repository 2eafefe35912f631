#!/usr/bin/env bash
# The whole test suite: unit tests, and integration tests against a throwaway PostgreSQL cluster that the tests
# start themselves (as the postgres OS user when run as root) and a real musterd spoken to over TCP.
#
#   Deploy/test.sh [swift test options...]
set -euo pipefail
cd "$(dirname "$0")/.."

Deploy/install-deps.sh
command -v swift >/dev/null || { echo "error: Swift is not installed (https://www.swift.org/install/)" >&2; exit 1; }

swift build --build-tests
swift test --skip-build "$@"
Deploy/fuzz.sh "${MUSTER_FUZZ_SECONDS:-20}"   # bounded fuzzing; MUSTER_FUZZ_SECONDS=0 or FUZZ_SKIP=1 skips it; Deploy/fuzz.sh 600 for a longer run
