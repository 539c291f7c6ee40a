#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ from the fixed seed corpus (fuzz/seed.sh, built from
# the conformance cases), FUZZ_SECONDS each (default 60: the short run CI does), with
# libFuzzer's memory cap at 2 GB. A crash, a timeout or an out-of-memory fails the run and
# leaves the input in fuzz/artifacts/<target>/; turn it into a case in tests/robustness.rs.
#
# The longer local run: FUZZ_SECONDS=3600 scripts/fuzz.sh (or one target:
# FUZZ_TARGETS=kustomize_build FUZZ_SECONDS=3600 scripts/fuzz.sh), with -jobs via FUZZ_ARGS.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-yaml kustomize_build refs_dotenv}"
bash "$here/setup-fuzz.sh"
cd "$here/../fuzz"
bash seed.sh
for t in $targets; do
  echo "fuzz: $t for ${seconds}s"
  # shellcheck disable=SC2086
  cargo +nightly fuzz run -O "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=20 -seed=1 \
    -print_final_stats=1 ${FUZZ_ARGS:-}
done
