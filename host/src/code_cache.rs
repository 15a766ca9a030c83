//! Compiling the component once per machine: the machine code Cranelift produces is kept in a
//! cache directory, keyed by the component's hash and the engine's compatibility hash, so a
//! second start deserialises it in milliseconds instead of compiling it again.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::private_fs::{check_trusted, create_private_dir, write_private_file};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The default cache directory: `$TWILIO_HOST_CACHE_DIR`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/twilio-lua-wasm/compiled`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TWILIO_HOST_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("twilio-lua-wasm").join("compiled"))
}

/// Loads `bytes` as a component, pre-initialised by `pre_initialise` (which returns the
/// snapshot; if it fails, the component is used as it is): from `cache_dir` when a matching
/// compiled copy is there, otherwise built, compiled and then stored there (best effort: a
/// read-only or missing cache only costs time). The host executes what the cache holds, so a
/// cache directory or file that someone else could have written ([`check_trusted`]) is not
/// used at all: a warning, then the component is compiled in memory.
pub fn load_component(
    engine: &Engine,
    bytes: &[u8],
    cache_dir: Option<&Path>,
    pre_initialise: impl FnOnce(&[u8]) -> wasmtime::Result<Vec<u8>>,
) -> wasmtime::Result<Component> {
    // The component, and whether it is the pre-initialised one (only that one is cached).
    let build = |bytes: &[u8]| match pre_initialise(bytes) {
        Ok(snapshot) => Ok((Component::new(engine, &snapshot)?, true)),
        Err(error) => {
            tracing::warn!(%error, "could not pre-initialise the plugin; every run builds its sandbox");
            Ok((Component::new(engine, bytes)?, false))
        }
    };
    let Some(dir) = cache_dir else {
        return build(bytes).map(|(component, _)| component);
    };
    let path = dir.join(format!("{}.cwasm", cache_key(engine, bytes)));
    let cached = path.is_file();
    let trusted = create_private_dir(dir)
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))
        .and_then(|()| check_trusted(if cached { &path } else { dir }));
    if let Err(why) = trusted {
        tracing::warn!(dir = %dir.display(), "not using the compiled-code cache: {why}; compiling in memory");
        return build(bytes).map(|(component, _)| component);
    }
    if cached {
        // SAFETY: the file was written by `store` below from `Component::serialize` for an
        // engine with the same compatibility hash (it is in the file name), and wasmtime checks
        // the header again. Only the user running the host can have written it: it and every
        // directory above it passed `check_trusted`. It is mapped, not read: `store` only ever
        // replaces a cache file by renaming a new one over it, so a mapped file is never
        // modified.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => {
                tracing::debug!(path = %path.display(), "compiled component loaded from the cache");
                return Ok(component);
            }
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "ignoring unusable compiled-code cache entry")
            }
        }
    }
    let (component, pre_initialised) = build(bytes)?;
    if pre_initialised && let Err(error) = store(&path, &component) {
        tracing::debug!(path = %path.display(), %error, "could not write the compiled-code cache");
    }
    Ok(component)
}

/// Writes `component` to `path` (owner-only) through a temporary file renamed over it.
fn store(path: &Path, component: &Component) -> anyhow::Result<()> {
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    write_private_file(&temporary, &component.serialize()?)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}

fn cache_key(engine: &Engine, bytes: &[u8]) -> String {
    let mut engine_hasher = DefaultHasher::new();
    engine
        .precompile_compatibility_hash()
        .hash(&mut engine_hasher);
    let mut digest = Sha256::new();
    digest.update(bytes);
    digest.update(engine_hasher.finish().to_le_bytes());
    // What is cached is the pre-initialised component: a new snapshot scheme needs a new key.
    digest.update(b"pre-initialised v1");
    hex::encode(&digest.finalize()[..20])
}
