#!/usr/bin/env bash
# The whole test suite, from a fresh clone: set-up included (host/build.rs runs
# scripts/setup-toolchain.sh and builds the wasm plugin), then every test of every crate:
# plugin unit tests (native), simulator tests, host unit and CLI tests, and the end-to-end tests
# that run the real component in the real host against the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
