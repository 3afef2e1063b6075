//! Builds a package of cachet's workspace for wasm32-wasip2 (or another Wasm target) with a nested
//! cargo. Shared by the
//! engine's build script and the compose test (`tests/compose.rs`), which both run while an outer
//! cargo holds the lock of the workspace's own target directory.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const TARGET: &str = "wasm32-wasip2";

/// What to build: a package of the workspace, its features, and the environment of its build.
#[derive(Default)]
pub struct Build<'a> {
    pub package: &'a str,
    pub features: &'a [&'a str],
    /// Builds without the package's default features (the guest's `lua`).
    pub no_default_features: bool,
    /// Variables for the nested cargo and the build scripts it runs (the C compiler for Lua).
    pub env: Vec<(String, String)>,
    /// Settings given to the nested cargo with `--config` (a profile setting, say).
    pub config: Vec<String>,
}

/// Builds `package` of the workspace at `root` (release profile, with `features`) into
/// `target_dir`, and returns the path of the `.wasm` it produced. `target_dir` must not be the
/// outer build's: the nested cargo would wait forever for its lock. On failure the error holds
/// what cargo printed.
#[allow(dead_code)] // Used by tests/compose.rs; the engine's build script builds with options.
pub fn build(root: &Path, package: &str, features: &[&str], target_dir: &Path) -> Result<PathBuf, String> {
    build_for(TARGET, root, &Build { package, features, ..Build::default() }, target_dir)
}

/// [`build`] for another Wasm target (`wasm32-unknown-unknown` gives a core module, with no WASI
/// in its standard library, that the caller makes a component), with the options of `what`.
pub fn build_for(target: &str, root: &Path, what: &Build, target_dir: &Path) -> Result<PathBuf, String> {
    let package = what.package;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--target", target, "--package", package, "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir);
    if !what.features.is_empty() {
        command.arg("--features").arg(what.features.join(","));
    }
    if what.no_default_features {
        command.arg("--no-default-features");
    }
    for setting in &what.config {
        command.arg("--config").arg(setting);
    }
    // The outer build's flags, target and jobserver are not meant for this one.
    for inherited in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "CARGO_MAKEFLAGS"] {
        command.env_remove(inherited);
    }
    command.envs(what.env.iter().map(|(k, v)| (k, v)));
    let output = command.output().map_err(|e| format!("could not run cargo to build {package}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building {package} for {target} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let wasm = target_dir.join(target).join("release").join(format!("{}.wasm", package.replace('-', "_")));
    if !wasm.is_file() {
        return Err(format!("cargo built {package} for {target} but {} is missing", wasm.display()));
    }
    Ok(wasm)
}
