#!/usr/bin/env bash
# The benchmark suite (issue 6): builds the host and the benchmark in the optimised `measure`
# profile, then measures cold start, the per-run sandbox cost against native Lua, SMS end to end
# against a native keep-alive client, memory per parked run and the component size, all in one
# run. Prints a table and one `BENCH <name> <value> <unit>` line per figure, also written to
# target/bench/latest.txt. `scripts/bench.sh --quick` is a short smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
cargo build --profile measure --package twilio-host --package twilio-bench --bins
mkdir -p "$target_dir/bench"
exec "$target_dir/measure/twilio-bench" \
    --host-bin "$target_dir/measure/twilio-host" \
    --out "$target_dir/bench/latest.txt" "$@"
