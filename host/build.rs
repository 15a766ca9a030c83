//! Building the host builds the plugin: this script makes sure the wasm toolchain is set up
//! (scripts/setup-toolchain.sh, near-instant once done), builds `twilio-plugin` for
//! `wasm32-wasip2` with the `plugin` profile (optimised, stripped) into `target/plugin/`, and copies the component to `OUT_DIR`,
//! from where `src/plugin.rs` embeds it. `TWILIO_PLUGIN_WASM=/path/to/plugin.wasm` embeds a
//! prebuilt component instead.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir
        .parent()
        .expect("host/ sits in the workspace")
        .to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("twilio_plugin.wasm");
    println!("cargo:rerun-if-env-changed=TWILIO_PLUGIN_WASM");

    let component = match env::var_os("TWILIO_PLUGIN_WASM") {
        Some(prebuilt) => PathBuf::from(prebuilt),
        None => build_plugin(&workspace),
    };
    std::fs::copy(&component, &out)
        .unwrap_or_else(|e| panic!("copying {} to {}: {e}", component.display(), out.display()));
}

fn build_plugin(workspace: &Path) -> PathBuf {
    for input in [
        "plugin/src",
        "plugin/Cargo.toml",
        // The workspace manifest holds the plugin's profile.
        "Cargo.toml",
        "wit",
        "docs/lua-api.md",
        "docs/lua-api-additions.md",
        "scripts",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("plugin");

    let setup = workspace.join("scripts/setup-toolchain.sh");
    let exports = Command::new("bash")
        .arg(&setup)
        .output()
        .expect("running scripts/setup-toolchain.sh");
    if !exports.status.success() {
        panic!(
            "scripts/setup-toolchain.sh failed:\n{}",
            String::from_utf8_lossy(&exports.stderr)
        );
    }

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace)
        .args([
            "build",
            "--package",
            "twilio-plugin",
            "--target",
            "wasm32-wasip2",
            "--profile",
            "plugin",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    // Flags meant for the host build must not leak into the wasm build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
    ] {
        build.env_remove(var);
    }
    for (name, value) in parse_exports(&String::from_utf8_lossy(&exports.stdout)) {
        build.env(name, value);
    }
    let status = build.status().expect("running cargo for the plugin");
    assert!(
        status.success(),
        "building the plugin for wasm32-wasip2 failed"
    );
    target_dir.join("wasm32-wasip2/plugin/twilio_plugin.wasm")
}

/// Reads the `export NAME="value"` lines the setup script prints.
fn parse_exports(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.strip_prefix("export "))
        .filter_map(|assignment| assignment.split_once('='))
        .map(|(name, value)| (name.to_string(), value.trim_matches('"').to_string()))
        .collect()
}
