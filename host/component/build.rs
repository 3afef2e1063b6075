//! Builds the guest crate as a WebAssembly component so that `cargo build` at the root is all a
//! user runs. The guest is built with its own target directory: sharing the outer build's would
//! deadlock on cargo's lock.
//!
//! Besides the engine (every world, for wasm32-wasip2), each world is built alone for
//! wasm32-unknown-unknown, whose standard library imports no WASI, and made a component here with
//! wit-component: `cachet component --world keyvalue` writes one whose only imports are the ones
//! its world names.

mod wasm_build;

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use wasm_build::TARGET;

/// The target of the one-world engines: a core module whose standard library imports nothing.
const CORE_TARGET: &str = "wasm32-unknown-unknown";

/// Each world built alone: its name in the file written to OUT_DIR, and the guest's feature.
const WORLDS: [(&str, &str); 3] = [("keyvalue", "world-keyvalue"), ("server", "world-server"), ("client", "world-client")];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..").canonicalize().expect("the workspace root exists");
    for watched in ["guest/src", "guest/Cargo.toml", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    ensure_target(TARGET);
    ensure_target(CORE_TARGET);

    // `fault-injection` (cachet's tests ask for it) builds the guest with its feature of that name.
    // Each engine has a target directory of its own, so building one never overwrites the other.
    let (features, target_dir): (&[&str], _) = if env::var_os("CARGO_FEATURE_FAULT_INJECTION").is_some() {
        (&["fault-injection"], root.join("target/guest-fault-injection"))
    } else {
        (&[], root.join("target/guest"))
    };
    let built = wasm_build::build(&root, "cachet-guest", features, &target_dir).unwrap_or_else(|e| fail(&e));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let out = out_dir.join("cachet_guest.wasm");
    std::fs::copy(&built, &out).unwrap_or_else(|e| fail(&format!("could not copy {}: {e}", built.display())));

    // One target directory for the three: the guest's dependencies are built once. Each build
    // overwrites the last one's .wasm, so each is made a component before the next starts.
    for (world, feature) in WORLDS {
        let core = wasm_build::build_for(CORE_TARGET, &root, "cachet-guest", &[feature], &root.join("target/guest-worlds"))
            .unwrap_or_else(|e| fail(&e));
        let component = componentize(&core).unwrap_or_else(|e| fail(&format!("making the {world} world's component: {e}")));
        let out = out_dir.join(format!("cachet_{world}.wasm"));
        std::fs::write(&out, component).unwrap_or_else(|e| fail(&format!("could not write {}: {e}", out.display())));
    }
}

/// A component from a core module that wit-bindgen built: its world is in the module's custom
/// section, and every import the module has must be one that world names.
fn componentize(core: &Path) -> Result<Vec<u8>, String> {
    let module = std::fs::read(core).map_err(|e| format!("could not read {}: {e}", core.display()))?;
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.module(&module).map_err(|e| format!("{e:#}"))?;
    encoder.validate(true).encode().map_err(|e| format!("{e:#}"))
}

/// Adds a target's standard library through rustup when it is missing.
fn ensure_target(target: &str) {
    if target_installed(target) {
        return;
    }
    println!("cargo:warning=adding the {target} target with rustup (needed once to build cachet's engine)");
    let added = Command::new("rustup").args(["target", "add", target]).status();
    match added {
        Ok(status) if status.success() && target_installed(target) => {}
        Ok(_) => fail(&format!("`rustup target add {target}` failed; run it by hand and build again")),
        Err(_) => fail(&format!(
            "the {target} target is missing and rustup was not found: install the Rust standard library for \
             {target} (with rustup: `rustup target add {target}`) and build again"
        )),
    }
}

fn target_installed(target: &str) -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).args(["--print", "target-libdir", "--target", target]).output();
    match output {
        Ok(out) if out.status.success() => {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Path::new(&dir).read_dir().is_ok_and(|mut entries| entries.any(|e| {
                e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
            }))
        }
        _ => false,
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
