#!/usr/bin/env bash
# The benchmark suite (issue 6): builds the host and the benchmark in the optimised `measure`
# profile, then measures cold start, the per-run sandbox cost against native Lua, SMS end to end
# against a native keep-alive client, memory per parked run and the component size, all in one
# run. Prints a table and one `BENCH <name> <value> <unit>` line per figure, also written to
# target/bench/latest.txt. `scripts/bench.sh --quick` is a short smoke run.
#
# The peers, Twilio's own SDKs sending the same message to the same simulator, are installed here
# into target/bench/peers when node (npm) or python3 (pip) is present: twilio-node and
# twilio-python at pinned versions. Without them the suite skips them and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
cargo build --profile measure --package twilio-host --package twilio-bench --bins
mkdir -p "$target_dir/bench"
peers="$target_dir/bench/peers"
if command -v npm >/dev/null && [ ! -f "$peers/node/node_modules/twilio/package.json" ]; then
    npm install --prefix "$peers/node" --no-audit --no-fund --silent twilio@6.3.1 \
        || echo "bench.sh: twilio-node could not be installed; the suite skips it" >&2
fi
if command -v python3 >/dev/null && [ ! -f "$peers/python/twilio/__init__.py" ]; then
    python3 -m pip install --quiet --disable-pip-version-check --target "$peers/python" \
        twilio==9.13.0 \
        || echo "bench.sh: twilio-python could not be installed; the suite skips it" >&2
fi
exec "$target_dir/measure/twilio-bench" \
    --host-bin "$target_dir/measure/twilio-host" \
    --out "$target_dir/bench/latest.txt" --peers "$peers" "$@"
