#!/usr/bin/env bash
# Formatting and clippy for the host side and for the plugin as the wasm32-wasip2 component.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(scripts/setup-toolchain.sh)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --package twilio-plugin --target wasm32-wasip2 --locked --target-dir target/plugin -- -D warnings
