#!/usr/bin/env bash
# The whole test suite, from a fresh clone: set-up included (scripts/setup-redis.sh installs
# redis-server for the shared-quota tests when missing; host/build.rs runs
# scripts/setup-toolchain.sh and builds the wasm plugin), then every test of every crate:
# plugin unit tests (native), simulator tests, host unit and CLI tests, and the end-to-end tests
# that run the real component in the real host against the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-redis.sh
cargo test --workspace --locked "$@"
