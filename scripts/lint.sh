#!/usr/bin/env bash
# Formatting and clippy for the host side and for the plugin as the wasm32-wasip2 component.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup-toolchain.sh)"
cargo fmt --all -- --check
# With the plugin's `fuzzing` feature, as the fuzz targets (fuzz/, a workspace of its own) build
# it: one pass over the workspace's own feature resolution, no second build of its dependencies.
cargo clippy --workspace --all-targets --features twilio-plugin/fuzzing --locked -- -D warnings
# The wasm check uses the profile host/build.rs builds the component with, so that it reuses that
# build's build scripts (Lua's C code) and proc macros instead of building them again.
cargo clippy --package twilio-plugin --target wasm32-wasip2 --profile plugin --locked \
    --target-dir target/plugin -- -D warnings
