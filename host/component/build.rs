//! Builds the guest crate as a WebAssembly component so that `cargo build` at the root is all a
//! user runs. The guest is built with its own target directory: sharing the outer build's would
//! deadlock on cargo's lock.

mod wasm_build;

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use wasm_build::TARGET;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..").canonicalize().expect("the workspace root exists");
    for watched in ["guest/src", "guest/Cargo.toml", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    ensure_target();

    // `fault-injection` (cachet's tests ask for it) builds the guest with its feature of that name.
    // Each engine has a target directory of its own, so building one never overwrites the other.
    let (features, target_dir): (&[&str], _) = if env::var_os("CARGO_FEATURE_FAULT_INJECTION").is_some() {
        (&["fault-injection"], root.join("target/guest-fault-injection"))
    } else {
        (&[], root.join("target/guest"))
    };
    let built = wasm_build::build(&root, "cachet-guest", features, &target_dir).unwrap_or_else(|e| fail(&e));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("cachet_guest.wasm");
    std::fs::copy(&built, &out).unwrap_or_else(|e| fail(&format!("could not copy {}: {e}", built.display())));
}

/// Adds the wasm32-wasip2 standard library through rustup when it is missing.
fn ensure_target() {
    if target_installed() {
        return;
    }
    println!("cargo:warning=adding the {TARGET} target with rustup (needed once to build cachet's engine)");
    let added = Command::new("rustup").args(["target", "add", TARGET]).status();
    match added {
        Ok(status) if status.success() && target_installed() => {}
        Ok(_) => fail(&format!("`rustup target add {TARGET}` failed; run it by hand and build again")),
        Err(_) => fail(&format!(
            "the {TARGET} target is missing and rustup was not found: install the Rust standard library for \
             {TARGET} (with rustup: `rustup target add {TARGET}`) and build again"
        )),
    }
}

fn target_installed() -> bool {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc).args(["--print", "target-libdir", "--target", TARGET]).output();
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
