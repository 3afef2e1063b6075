//! A disk cache of the compiled component.
//!
//! The file name is a hash of the component's bytes and of the engine's compatibility settings
//! (wasmtime version, target, tunables), so a stale or foreign file is never loaded: a new binary
//! or a different machine simply compiles again and writes a new entry.

use anyhow::{Context, Result};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

pub fn load_or_compile(engine: &Engine, wasm: &[u8], cache_dir: Option<&Path>) -> Result<Component> {
    let Some(dir) = cache_dir else { return compile(engine, wasm) };
    let path = entry_path(engine, wasm, dir);
    if path.exists() {
        // SAFETY: the file is only ever written by `store` below, from `Component::serialize` of
        // the same engine configuration (the name's hash guarantees it), into the user's own cache
        // directory.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(error) => tracing::warn!("ignoring unreadable compiled component {}: {error:#}", path.display()),
        }
    }
    let component = compile(engine, wasm)?;
    if let Err(error) = store(&component, &path) {
        tracing::debug!("could not cache the compiled component at {}: {error:#}", path.display());
    }
    Ok(component)
}

fn compile(engine: &Engine, wasm: &[u8]) -> Result<Component> {
    super::described(Component::new(engine, wasm), "compiling cachet's engine component")
}

/// Names the entry after the component and the engine's settings. cachet's own components carry a
/// digest made when they were built; other bytes are hashed here.
fn entry_path(engine: &Engine, wasm: &[u8], dir: &Path) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    match cachet_component::digest_of(wasm) {
        Some(digest) => digest.hash(&mut hasher),
        None => wasm.hash(&mut hasher),
    }
    engine.precompile_compatibility_hash().hash(&mut hasher);
    dir.join(format!("engine-{:016x}.cwasm", hasher.finish()))
}

/// Writes the entry under a temporary name and renames it, so a reader never sees half a file.
fn store(component: &Component, path: &Path) -> Result<()> {
    let dir = path.parent().context("cache path has no directory")?;
    std::fs::create_dir_all(dir)?;
    let bytes = super::described(component.serialize(), "serializing the compiled component")?;
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(&temp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_components_are_named_by_their_build_digest_and_other_bytes_by_their_hash() {
        let own = [
            cachet_component::WASM,
            cachet_component::WASM_WITHOUT_LUA,
            cachet_component::KEYVALUE,
            cachet_component::SERVER,
            cachet_component::CLIENT,
        ];
        let digests: std::collections::HashSet<&str> = own.iter().map(|wasm| cachet_component::digest_of(wasm).expect("a digest")).collect();
        assert_eq!(digests.len(), own.len(), "every component has a digest of its own");
        let copy = cachet_component::WASM.to_vec();
        assert_eq!(cachet_component::digest_of(&copy), None, "a copy elsewhere is hashed, not trusted");
        let engine = Engine::default();
        let dir = Path::new("/cache");
        assert_ne!(entry_path(&engine, cachet_component::WASM, dir), entry_path(&engine, cachet_component::WASM_WITHOUT_LUA, dir));
        let another_copy = cachet_component::WASM.to_vec();
        assert_eq!(entry_path(&engine, &copy, dir), entry_path(&engine, &another_copy, dir), "the same bytes, the same entry");
    }
}
