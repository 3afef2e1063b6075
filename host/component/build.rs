//! Builds the guest crate as a WebAssembly component so that `cargo build` at the root is all a
//! user runs. The guest is built with its own target directory: sharing the outer build's would
//! deadlock on cargo's lock.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..").canonicalize().expect("the workspace root exists");
    for watched in ["guest/src", "guest/Cargo.toml", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    ensure_target();

    // Debug builds of cachet get an engine with fault injection (DEBUG PANIC traps the guest), so
    // tests can prove a fault is contained. Release builds never contain it.
    let fault_injection = env::var("PROFILE").as_deref() == Ok("debug");
    let target_dir = root.join(if fault_injection { "target/guest-debug" } else { "target/guest" });
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--release", "--target", TARGET, "--package", "cachet-guest", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    if fault_injection {
        build.args(["--features", "fault-injection"]);
    }
    println!("cargo:rerun-if-env-changed=PROFILE");
    for inherited in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_TARGET_DIR", "CARGO_BUILD_TARGET", "CARGO_MAKEFLAGS"] {
        build.env_remove(inherited);
    }
    let status = build.status().unwrap_or_else(|e| fail(&format!("could not run cargo to build the guest: {e}")));
    if !status.success() {
        fail("building the guest component failed; the errors are printed above");
    }
    let built = target_dir.join(TARGET).join("release/cachet_guest.wasm");
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
