#!/usr/bin/env bash
# The load and soak test: 10,000 runs over 50 tenants against the simulator with injected faults
# (429s, 5xx, resets, stalls, malformed bodies). Prints runs, sent, duplicates, lost, phantoms,
# foreign data and RSS at start, after warm-up and at the end; exits non-zero on any duplicate,
# loss, phantom, cross-tenant leak or RSS growth after warm-up.
#
#   scripts/load.sh                          # the soak: --runs 10000 --tenants 50
#   scripts/load.sh --runs 300 --tenants 10  # a quick one
#
# It builds the dev profile (dependencies, wasmtime included, are optimised there; see Cargo.toml),
# which shares the test build; pass LOAD_PROFILE=release for a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
if [[ "${LOAD_PROFILE:-dev}" == "release" ]]; then
    profile=(--release)
fi
exec cargo run -q "${profile[@]}" -p twilio-e2e --bin load -- "$@"
