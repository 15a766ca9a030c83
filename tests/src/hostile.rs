//! The hostile test guest (`tests/hostile`), built for `wasm32-wasip2` the first time a test
//! asks for it (the wasm toolchain is set up by then: building the host set it up).

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// The bytes of the hostile guest component.
pub fn hostile_guest() -> Vec<u8> {
    static BUILT: OnceLock<Vec<u8>> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> Vec<u8> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace");
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("plugin");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace)
        .args(["build", "--quiet", "--locked", "--package", "hostile-guest"])
        .args(["--target", "wasm32-wasip2", "--profile", "plugin"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building tests/hostile for wasm32-wasip2 failed"
    );
    let path = target_dir.join("wasm32-wasip2/plugin/hostile_guest.wasm");
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}
